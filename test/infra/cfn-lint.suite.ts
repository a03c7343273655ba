import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, TOOLS } from '../helpers/requires';

const cfnLintAvailable = requireTools('cfn-lint (test/infra/cdk.test.ts)', [TOOLS.cfnLint]);

/**
 * W3005 (redundant DependsOn) is ignored: CDK itself adds DependsOn on a function's role and
 * policy next to the GetAtt, so the policy exists before the function is invoked.
 */
const IGNORED_CHECKS = ['W3005'];

/**
 * The templates cfn-lint reads, one named pipe (FIFO) per stage of STAGES_UNDER_TEST (synth.ts).
 * Named here, not imported: this module starts cfn-lint before anything loads CDK (below).
 */
const TEMPLATES = ['dev', 'prod'].map((stage) => `${stage}.template.json`);

interface Verdict {
  /** Exit code, or why cfn-lint did not start (e.g. `ENOENT`); null when a signal ended it. */
  code: number | string | null;
  signal: NodeJS.Signals | null;
  output: string;
}

interface CfnLint {
  dir: string;
  fifos: string[];
  /** Kill cfn-lint if it still runs (a failed synthesis left it waiting for a template). */
  stop: () => void;
  verdict: Promise<Verdict>;
}

/**
 * cfn-lint starts as soon as cdk.test.ts imports this file, before CDK loads: its own start
 * (~2 s of CPU importing its rules and schemas) overlaps with CDK's load and the syntheses. It
 * then waits, opening the first FIFO, until the beforeAll below writes that template into it.
 */
const startCfnLint = (): CfnLint => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cfn-lint-'));
  const fifos = TEMPLATES.map((name) => join(dir, name));
  execFileSync('mkfifo', fifos);
  const child = spawn('cfn-lint', ['--ignore-checks', ...IGNORED_CHECKS, '--', ...fifos]);
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const verdict = new Promise<Verdict>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ code: e.code ?? e.message, signal: null, output }),
    );
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
  return { dir, fifos, stop: () => child.kill(), verdict };
};

const lint = cfnLintAvailable ? startCfnLint() : undefined;

/**
 * Write each stage's template into its FIFO once synthesized. A FIFO's writer waits until a
 * reader opens it: if cfn-lint ends first (a crash, a signal), each FIFO is opened and closed
 * for reading so that a waiting write fails (EPIPE) instead of hanging, and no write starts
 * after that. The verdict is cfn-lint's exit, given by the test below.
 */
const feedTemplates = async ({ fifos, verdict }: CfnLint): Promise<void> => {
  // Loaded here, after cfn-lint has started.
  const { STAGES_UNDER_TEST, stageConfig, synthesize } = await import('./synth');
  expect(STAGES_UNDER_TEST.map((stage) => `${stage}.template.json`)).toEqual(TEMPLATES);
  let state: 'feeding' | 'fed' | 'lint ended' = 'feeding';
  const ended = verdict.then(() => {
    if (state !== 'feeding') return;
    state = 'lint ended';
    for (const fifo of fifos) closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
  });
  const feed = async (): Promise<void> => {
    const config = await stageConfig();
    for (const [i, stage] of STAGES_UNDER_TEST.entries()) {
      const template = JSON.stringify((await synthesize(stage, config)).template.toJSON());
      if (state !== 'feeding') return;
      await writeFile(fifos[i] as string, template);
    }
    state = 'fed';
  };
  await Promise.race([
    feed().catch((e) => (state === 'lint ended' ? undefined : Promise.reject(e))),
    ended,
  ]);
};

// The first hook of cdk.test.ts: cfn-lint lints each template while the other suites test;
// `describeCfnLint` (the file's last suite) only waits for its verdict.
beforeAll(async () => {
  if (lint) await feedTemplates(lint);
});

afterAll(async () => {
  if (!lint) return;
  lint.stop();
  await lint.verdict;
  rmSync(lint.dir, { recursive: true, force: true });
});

/** The verdict, registered after the other suites so that their tests run while cfn-lint works. */
export const describeCfnLint = (): void => {
  describe.skipIf(!lint)('cfn-lint', () => {
    it('finds no errors or warnings in the dev and prod templates', async () => {
      const { code, signal, output } = await (lint as CfnLint).verdict;
      // Killed by a signal (code null) is a failure too.
      expect({ code, signal }, `cfn-lint ended with ${code ?? signal}:\n${output}`).toEqual({
        code: 0,
        signal: null,
      });
      // Alone ~4 s; many times that on a 2-core machine that other suites keep busy.
    }, 120_000);
  });
};
