import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG_FAMILIES, sampleName } from '../../functions/core/metrics/prometheus';
import { requireTools, TOOLS } from '../helpers/requires';
import { parseMarkdown, readDoc } from './markdown';

/** docs/prometheus-grafana.md cannot drift: its name table and its scrape config are checked. */

const DOC = 'docs/prometheus-grafana.md';
const text = readDoc(DOC);

describe(DOC, () => {
  it('lists every catalog metric with its Prometheus name, type and labels', () => {
    const rows = text
      .split('\n')
      .filter((l) => /^\| `[A-Z]\w+` \|/.test(l))
      .map((l) => l.split('|').map((c) => c.trim().replace(/`/g, '')));
    const documented = rows.map(([, source, unit, name, type, labels]) => ({
      source,
      unit,
      name,
      type,
      labels,
    }));
    expect(documented).toEqual(
      CATALOG_FAMILIES.map((f) => ({
        source: f.source,
        unit: f.sourceUnit,
        name: sampleName(f),
        type: f.type,
        labels: f.labels.join(', '),
      })),
    );
  });

  const ok = requireTools('the scrape config of the docs', [TOOLS.promtool]);
  it.skipIf(!ok)('shows a scrape config that promtool accepts', async () => {
    const block = parseMarkdown(text).blocks.find((b) => b.body.includes('scrape_configs:'));
    const dir = await mkdtemp(join(tmpdir(), 'vigil-prom-doc-'));
    try {
      // Prepare: the token file it names, somewhere this test may write.
      const token = join(dir, 'vigil-metrics.token');
      await writeFile(token, 'a-token\n');
      const config = join(dir, 'prometheus.yml');
      await writeFile(
        config,
        (block?.body ?? '').replace('/etc/prometheus/vigil-metrics.token', token),
      );

      // Act
      const check = spawnSync('promtool', ['check', 'config', config], { encoding: 'utf8' });

      // Assess
      expect(check.stdout + check.stderr).toContain('SUCCESS');
      expect(check.status).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
