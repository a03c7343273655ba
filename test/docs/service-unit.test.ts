import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requireTools, TOOLS } from '../helpers/requires';
import { parseMarkdown, ROOT, readDoc } from './markdown';

/**
 * The systemd unit of docs/local-mode.md (`<!-- service -->`): it runs what `npm start` runs,
 * sets only variables the page documents, and systemd's own checker accepts it.
 */
const PAGE = 'docs/local-mode.md';
const page = readDoc(PAGE);
const units = parseMarkdown(page).blocks.filter((b) => b.markers.service !== undefined);
const unit = units[0]?.body ?? '';
const setting = (key: string): string[] =>
  [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] ?? '');

describe(`the service unit in ${PAGE}`, () => {
  it('runs the npm start script with the documented variables', async () => {
    const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(units).toHaveLength(1);
    // `exec node …` in package.json: the same command, node by its path, npm left out.
    expect(setting('ExecStart')).toEqual([
      (scripts.start ?? '').replace(/^exec node /, '/usr/bin/node '),
    ]);
    const names = setting('Environment').flatMap((line) =>
      line.split(/\s+/).map((pair) => pair.split('=')[0]),
    );
    expect(names).toEqual(['VIGIL_DATA_DIR', 'HOST', 'PORT']);
    for (const name of names) expect(page, name).toContain(`| \`${name}\``);
    // The data directory is systemd's state directory, owner-only as Vigil makes it.
    expect(setting('StateDirectory')).toEqual(['vigil']);
    expect(setting('StateDirectoryMode')).toEqual(['0700']);
  });

  const ok = requireTools(`systemd-analyze verify (${PAGE})`, [TOOLS.systemdAnalyze]);
  it.skipIf(!ok)('passes systemd-analyze verify with nothing to say', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-unit-'));
    try {
      await writeFile(join(dir, 'vigil.service'), `${unit}\n`);
      const { stdout, stderr } = await promisify(execFile)(
        'systemd-analyze',
        ['verify', join(dir, 'vigil.service')],
        { timeout: 20_000 },
      );
      // It exits 0 on unknown keys and bad values, and says so on stderr.
      expect(`${stdout}${stderr}`).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
