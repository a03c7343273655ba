import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestModule, Vitest } from 'vitest/node';
import { JUnitReporter } from 'vitest/reporters';
import JUnitFileReporter from '../helpers/junit-reporter';

/** Two files of tasks as Vitest hands them to a reporter: passed, skipped, logs, an annotation. */
const modules = (root: string): TestModule[] => {
  const file = (name: string, tests: object[]) => {
    const task = {
      type: 'suite',
      name,
      filepath: join(root, name),
      mode: 'run',
      result: { state: 'pass', duration: 12.5 },
      projectName: 'shared',
      tasks: [] as object[],
    };
    task.tasks = [
      {
        type: 'suite',
        name: 'a suite <with> "markup" & more',
        mode: 'run',
        file: task,
        result: { state: 'pass' },
        tasks: tests.map((t) => ({ type: 'test', mode: 'run', annotations: [], file: task, ...t })),
      },
    ];
    return { task } as unknown as TestModule;
  };
  return [
    file('test/unit/a.test.ts', [
      { name: 'passes', result: { state: 'pass', duration: 3.25 } },
      {
        name: 'logs & notes',
        result: { state: 'pass', duration: 0.5 },
        logs: [
          { type: 'stdout', content: 'out <b>&</b>' },
          { type: 'stderr', content: "err 'quoted'" },
        ],
        annotations: [{ type: 'notice', message: 'see <here>' }],
      },
    ]),
    file('test/unit/b.test.ts', [{ name: 'is skipped', mode: 'skip', result: undefined }]),
  ];
};

describe('the JUnit report written at once (test/helpers/junit-reporter.ts)', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vigil-junit-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const report = async (Reporter: typeof JUnitReporter, outputFile: string): Promise<string> => {
    const reporter = new Reporter({ outputFile, suiteName: 'vigil', hostname: 'ci' });
    const ctx = { config: { root }, logger: { log: () => undefined } } as unknown as Vitest;
    await reporter.onInit(ctx);
    await reporter.onTestRunEnd(modules(root));
    // The only attribute that differs run to run: when each suite was written.
    return (await readFile(join(root, outputFile), 'utf8')).replace(/timestamp="[^"]*"/g, 'T');
  };

  it('writes the file Vitest’s own reporter writes, line for line', async () => {
    const vitest = await report(JUnitReporter, 'vitest.xml');
    const ours = await report(JUnitFileReporter, 'ours.xml');
    expect(ours).toBe(vitest);
    // The cases are all there, escaped as Vitest escapes them.
    expect(ours.match(/<testcase /g)).toHaveLength(3);
    expect(ours).toContain('<skipped/>');
    expect(ours).toContain('out &lt;b&gt;&amp;&lt;/b&gt;');
    expect(ours).toContain('value="see &lt;here&gt;"');
  });

  it('refuses to run without a file to write', async () => {
    const reporter = new JUnitFileReporter({});
    const ctx = { config: { root }, logger: { log: () => undefined } } as unknown as Vitest;
    await expect(reporter.onInit(ctx)).rejects.toThrow(/changed its JUnit reporter/);
  });
});
