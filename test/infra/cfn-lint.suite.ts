import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, TOOLS } from '../helpers/requires';
// Nothing here loads CDK (synth.ts is imported in the hook): cfn-lint starts before it loads.
import { STAGES_UNDER_TEST } from './stages';

const cfnLintAvailable = requireTools('cfn-lint (test/infra/cdk.test.ts)', [TOOLS.cfnLint]);

/**
 * W3005 (redundant DependsOn) is ignored: CDK itself adds DependsOn on a function's role and
 * policy next to the GetAtt, so the policy exists before the function is invoked.
 */
const IGNORED_CHECKS = ['W3005'];

/**
 * cfn-lint (a Python process, the longest part of cdk.test.ts) starts when cdk.test.ts loads
 * this file, first: its own start (importing its rules and schemas, a third of its CPU) runs
 * while CDK loads and synthesizes. It lints a one-resource template first, read from a named
 * pipe that the hook writes once the stages' templates are in their files: until then cfn-lint
 * waits at that pipe. `describeCfnLint` (the file's last suite) waits for its verdict.
 */
const GATE_TEMPLATE = { Resources: { Gate: { Type: 'AWS::SNS::Topic' } } };

const outdir = cfnLintAvailable ? mkdtempSync(join(tmpdir(), 'vigil-cfn-lint-')) : '';
// cfn-lint lints its files in sorted order: this one first (were it not, the stages' templates
// would still be empty files, and cfn-lint would say so).
const gate = join(outdir, '0-gate.template.json');
const templateOf = (stage: string): string => join(outdir, `${stage}.template.json`);
let child: ChildProcess | undefined;
let exited = false;

const startCfnLint = (): Promise<{ code: number | string; output: string }> => {
  execFileSync('mkfifo', [gate]);
  // cfn-lint expands its arguments when it starts: the files must exist.
  const templates = STAGES_UNDER_TEST.map(templateOf);
  for (const file of templates) writeFileSync(file, '');
  return new Promise((resolve) => {
    const args = ['--ignore-checks', ...IGNORED_CHECKS, '--', gate, ...templates];
    child = execFile('cfn-lint', args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      exited = true;
      resolve({ code: error?.code ?? 0, output: `${stdout}${stderr}` });
    });
  });
};

const linted = cfnLintAvailable ? startCfnLint() : undefined;

/** Open the gate for writing once cfn-lint reads it (without a reader that fails: ENXIO). */
const openGate = async (): Promise<number> => {
  for (;;) {
    try {
      return openSync(gate, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      // After an early exit, cfn-lint's output says why.
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || exited) throw error;
      await sleep(20);
    }
  }
};

const writeGate = async (): Promise<void> => {
  const pipe = new Socket({ fd: await openGate(), readable: false, writable: true });
  await new Promise<void>((resolve, reject) => {
    pipe.on('error', reject);
    pipe.end(JSON.stringify(GATE_TEMPLATE), resolve);
  });
};

/** Why the gate could not be written, if it could not. */
let gateWritten: Promise<string | undefined> = Promise.resolve(undefined);

// The first hook of cdk.test.ts: the two templates, then the gate. Not waiting for cfn-lint to
// read it, so the other suites' hooks and tests run while it lints.
beforeAll(async () => {
  if (!linted) return;
  const { stageConfig, synthesize } = await import('./synth');
  const config = await stageConfig();
  for (const stage of STAGES_UNDER_TEST) {
    const { template } = await synthesize(stage, config);
    writeFileSync(templateOf(stage), JSON.stringify(template.toJSON()));
  }
  gateWritten = writeGate().then(
    () => undefined,
    (error: unknown) => `writing ${gate}: ${error}`,
  );
});

afterAll(() => {
  if (!exited) child?.kill(); // the hook failed before opening the gate
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** The verdict, registered after the other suites so that their tests run while cfn-lint works. */
export const describeCfnLint = (): void => {
  describe.skipIf(!cfnLintAvailable)('cfn-lint', () => {
    it('finds no errors or warnings in the dev and prod templates', async () => {
      const gateError = await gateWritten;
      const { code, output } = (await linted) ?? { code: 'not run', output: '' };
      expect(code, `cfn-lint exited ${code}:\n${output}\n${gateError ?? ''}`).toBe(0);
      expect(gateError).toBeUndefined();
      // Alone ~4 s; many times that on a 2-core machine that other suites keep busy.
    }, 120_000);
  });
};
