import { createRequire } from 'node:module';
import type { AfterSuiteRunMeta } from 'vitest';
import { describe, expect, it } from 'vitest';
import { BaseCoverageProvider, type CoverageProvider } from 'vitest/node';
import config from '../../vitest.config';
import { withGlobsCompiledOnce, withHeldCoverage } from '../helpers/coverage';

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

describe('the coverage file filter, its globs compiled once (test/helpers/coverage.ts)', () => {
  const ROOT = '/work/repo';
  const { include, exclude } = (config.test?.coverage ?? {}) as {
    include: string[];
    exclude: string[];
  };
  /** Vitest's own filter (`BaseCoverageProvider.isIncluded`) with this project's globs. */
  const vitestFilter = (changedFiles?: string[]) =>
    Object.assign(Object.create(BaseCoverageProvider.prototype), {
      options: { include, exclude, allowExternal: false },
      roots: [ROOT],
      globCache: new Map(),
      changedFiles,
    }) as { isIncluded(filename: string, root?: string): boolean };
  const NAMES = [
    'functions/core/gates/evaluate.ts',
    'functions/web/index.ts',
    'cli/main.ts',
    'cli/standalone/vigil.ts',
    'cli/action-main.ts',
    'lib/vigil-stack.ts',
    'lib/types.d.ts',
    'bin/app.ts',
    'bin/vigil.ts',
    'test/unit/gates.test.ts',
    'web/main.ts',
    'functions/core/formats/junit.ts?v=3',
    'functions/ingest/handler.ts#x',
  ].map((n) => `${ROOT}/${n}`);

  it('answers as Vitest does for this project’s include and exclude, compiling them once', () => {
    let compiled = 0;
    const picomatch = createRequire(createRequire(import.meta.url).resolve('vitest/package.json'))(
      'picomatch',
    );
    const counting = (glob: string | string[], options: object) => {
      compiled++;
      return picomatch(glob, options);
    };
    const ours = withGlobsCompiledOnce(vitestFilter() as unknown as CoverageProvider, counting);
    const isIncluded = (ours as unknown as ReturnType<typeof vitestFilter>).isIncluded;
    const names = [
      ...NAMES,
      // Outside the root, and Windows separators.
      '/elsewhere/functions/core/x.ts',
      `${ROOT}\\functions\\core\\x.ts`,
    ];
    const expected = names.map((n) => vitestFilter().isIncluded(n));
    expect(names.map((n) => isIncluded(n))).toEqual(expected);
    // Asked again: the same answers from the cache.
    expect(names.map((n) => isIncluded(n))).toEqual(expected);
    expect(names.filter((_, i) => expected[i]).map((n) => n.slice(ROOT.length + 1))).toEqual([
      'functions/core/gates/evaluate.ts',
      'functions/web/index.ts',
      'cli/main.ts',
      'lib/vigil-stack.ts',
      'bin/app.ts',
      'functions/core/formats/junit.ts?v=3',
      'functions/ingest/handler.ts#x',
      'functions\\core\\x.ts',
    ]);
    expect(compiled).toBe(1);
    // Vitest's getUntestedFiles passes the root it globbed in.
    expect(isIncluded('/other/functions/core/y.ts', '/other')).toBe(true);
  });

  it('fails loudly when Vitest’s provider no longer has the options and roots it reads', () => {
    const changed = Object.assign(vitestFilter(), { roots: undefined });
    const ours = withGlobsCompiledOnce(changed as unknown as CoverageProvider) as unknown as {
      isIncluded(filename: string): boolean;
    };
    expect(() => ours.isIncluded(NAMES[0] as string)).toThrow(
      /Vitest changed its coverage provider/,
    );
  });

  it('leaves a run of changed files only (--changed) to Vitest’s own filter', () => {
    const changed = [`${ROOT}/functions/core/gates/evaluate.ts`];
    const ours = withGlobsCompiledOnce(vitestFilter(changed) as unknown as CoverageProvider, () => {
      throw new Error('not compiled for a --changed run');
    }) as unknown as ReturnType<typeof vitestFilter>;
    expect(NAMES.filter((n) => ours.isIncluded(n))).toEqual(changed);
  });
});
