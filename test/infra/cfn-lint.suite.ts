import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackNameFor } from '../../lib/config';
import { requireTools, TOOLS } from '../helpers/requires';
import { STAGES_UNDER_TEST, stageConfig, synthesize } from './synth';

const cfnLintAvailable = requireTools('cfn-lint (test/infra/cdk.test.ts)', [TOOLS.cfnLint]);

/**
 * W3005 (redundant DependsOn) is ignored: CDK itself adds DependsOn on a function's role and
 * policy next to the GetAtt, so the policy exists before the function is invoked.
 */
const IGNORED_CHECKS = ['W3005'];

let outdir = '';
let linted: Promise<{ code: number | string; output: string }>;

// The first hook of cdk.test.ts: cfn-lint (a Python process, the longest part of the file)
// starts as soon as the two templates exist and lints while the other suites synthesize and
// test; `describeCfnLint` (the file's last suite) only waits for its answer.
beforeAll(async () => {
  if (!cfnLintAvailable) return;
  outdir = mkdtempSync(join(tmpdir(), 'vigil-cfn-lint-'));
  const config = await stageConfig();
  const templates: string[] = [];
  for (const stage of STAGES_UNDER_TEST) {
    const file = join(outdir, `${stackNameFor(stage)}.template.json`);
    writeFileSync(file, JSON.stringify((await synthesize(stage, config)).template.toJSON()));
    templates.push(file);
  }
  linted = new Promise((resolve) =>
    execFile(
      'cfn-lint',
      ['--ignore-checks', ...IGNORED_CHECKS, '--', ...templates],
      { encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ code: error?.code ?? 0, output: `${stdout}${stderr}` }),
    ),
  );
});

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** The verdict, registered after the other suites so that their tests run while cfn-lint works. */
export const describeCfnLint = (): void => {
  describe.skipIf(!cfnLintAvailable)('cfn-lint', () => {
    it('finds no errors or warnings in the dev and prod templates', async () => {
      const { code, output } = await linted;
      expect(code, `cfn-lint exited ${code}:\n${output}`).toBe(0);
      // Alone ~4 s; many times that on a 2-core machine that other suites keep busy.
    }, 120_000);
  });
};
