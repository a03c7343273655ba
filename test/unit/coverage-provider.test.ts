import type { AfterSuiteRunMeta } from 'vitest';
import { describe, expect, it } from 'vitest';
import type { CoverageProvider } from 'vitest/node';
import { withHeldCoverage } from '../helpers/coverage';

/** A provider that records the results it is given; its merge answers how many it got. */
const recording = (timeoutMs: number) => {
  const results: unknown[] = [];
  const inner = {
    onAfterSuiteRun: (meta: AfterSuiteRunMeta) => {
      results.push(meta.coverage);
    },
    generateCoverage: async () => results.length,
  } as unknown as CoverageProvider;
  return { provider: withHeldCoverage(inner, timeoutMs), results };
};
const meta = (coverage: object): AfterSuiteRunMeta => ({
  coverage,
  testFiles: ['test/unit/a.test.ts'],
  environment: 'ssr',
  projectName: 'shared',
});
const settled = (promise: Promise<unknown>): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((r) => setTimeout(r, 20, false))]);

describe('coverage taken once per shared worker (test/helpers/coverage.ts)', () => {
  it('merges once every worker that holds coverage has sent it, and not before', async () => {
    const { provider, results } = recording(5_000);
    provider.onAfterSuiteRun(meta({ heldBy: '101/0' }));
    provider.onAfterSuiteRun(meta({ heldBy: '102/0' }));
    provider.onAfterSuiteRun(meta({ heldBy: '101/0' }));
    // The markers are not results.
    expect(results).toEqual([]);

    const merged = Promise.resolve(provider.generateCoverage({}));
    provider.onAfterSuiteRun(meta({ result: [{ url: 'file:///a.ts' }], flushedBy: '101/0' }));
    expect(await settled(merged)).toBe(false);
    provider.onAfterSuiteRun(meta({ result: [{ url: 'file:///b.ts' }], flushedBy: '102/0' }));

    await expect(merged).resolves.toBe(2);
    expect(results).toEqual([
      { result: [{ url: 'file:///a.ts' }], flushedBy: '101/0' },
      { result: [{ url: 'file:///b.ts' }], flushedBy: '102/0' },
    ]);
  });

  it('passes an isolated worker’s results through, and merges at once when no worker holds any', async () => {
    const { provider, results } = recording(5_000);
    provider.onAfterSuiteRun(meta({ result: [{ url: 'file:///c.ts' }] }));
    await expect(Promise.resolve(provider.generateCoverage({}))).resolves.toBe(1);
    expect(results).toEqual([{ result: [{ url: 'file:///c.ts' }] }]);
  });

  it('fails the run, naming the workers, when held coverage never arrives', async () => {
    const { provider } = recording(50);
    provider.onAfterSuiteRun(meta({ heldBy: '7/0' }));
    provider.onAfterSuiteRun(meta({ heldBy: '8/2' }));
    provider.onAfterSuiteRun(meta({ result: [], flushedBy: '8/2' }));
    await expect(Promise.resolve(provider.generateCoverage({}))).rejects.toThrow(
      'coverage of Vitest worker(s) 7/0 never arrived (a crash?)',
    );
  });
});
