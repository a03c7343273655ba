import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { loadVigilConfig, stackNameFor } from '../../lib/config';
import { requireTools, TOOLS } from '../helpers/requires';
import { buildApp } from './synth';

const cfnLintAvailable = requireTools('cfn-lint.test.ts', [TOOLS.cfnLint]);

/**
 * W3005 (redundant DependsOn) is ignored: CDK itself adds DependsOn on a function's role and
 * policy next to the GetAtt, so the policy exists before the function is invoked.
 */
const IGNORED_CHECKS = ['W3005'];

describe.skipIf(!cfnLintAvailable)('cfn-lint', () => {
  let outdir = '';
  const templates: string[] = [];

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'vigil-cfn-lint-'));
    // dev also gets a heartbeat (its route, table, schedule and evaluator); prod as configured.
    const base = await loadVigilConfig();
    const withHeartbeat = parseConfig({
      ...base,
      heartbeats: [{ name: 'backup', periodSeconds: 3600, tokenSecret: 'BACKUP_HB' }],
    });
    for (const stage of ['dev', 'prod'] as const) {
      const { app } = await buildApp(stage, {
        outdir: join(outdir, stage),
        ...(stage === 'dev' ? { config: withHeartbeat } : {}),
      });
      app.synth();
      templates.push(join(outdir, stage, `${stackNameFor(stage)}.template.json`));
    }
  });

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('finds no errors or warnings in the dev and prod templates', () => {
    const result = spawnSync(
      'cfn-lint',
      ['--ignore-checks', ...IGNORED_CHECKS, '--', ...templates],
      { encoding: 'utf8' },
    );
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status, `cfn-lint exited ${result.status}:\n${output}`).toBe(0);
    // cfn-lint takes ~4 s per run alone, several times that on a busy 2-core machine.
  }, 60_000);
});
