import { writeFile } from 'node:fs/promises';
import type { TestModule, Vitest } from 'vitest/node';
import { JUnitReporter } from 'vitest/reporters';

/** The parts of Vitest's JUnit reporter replaced here (private in its types). */
interface JUnitInternals {
  baseLog: (text: string) => Promise<void>;
  logger: { baseLog: (text: string) => Promise<void> };
  reportFile?: string;
}

/**
 * Vitest's JUnit reporter, its file written at once when the run ends. Vitest's own awaits one
 * write per line: ~6,000 writes for this suite, ~0.6 s at the serial end of the run, after the
 * last file (timed around its `onTestRunEnd`, docs/performance.md). The lines are Vitest's;
 * only where they go changes. It reaches two internals of Vitest 4's reporter (`baseLog`, and
 * the indented logger's), checked at start: an upgrade that changes them fails the run here.
 */
export default class JUnitFileReporter extends JUnitReporter {
  #lines: string[] = [];

  override async onInit(ctx: Vitest): Promise<void> {
    await super.onInit(ctx);
    const reporter = this as unknown as Partial<JUnitInternals>;
    if (
      typeof reporter.baseLog !== 'function' ||
      typeof reporter.logger?.baseLog !== 'function' ||
      reporter.reportFile === undefined
    ) {
      throw new Error(
        'test/helpers/junit-reporter.ts: Vitest changed its JUnit reporter (baseLog, logger, reportFile), or no outputFile was given; update this file',
      );
    }
    const collect = async (text: string): Promise<void> => {
      this.#lines.push(text);
    };
    reporter.baseLog = collect;
    reporter.logger.baseLog = collect;
  }

  override async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
    this.#lines = [];
    await super.onTestRunEnd(testModules);
    const { reportFile } = this as unknown as JUnitInternals;
    await writeFile(reportFile as string, `${this.#lines.join('\n')}\n`);
  }
}
