import { Session } from 'node:inspector';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import type { AfterSuiteRunMeta } from 'vitest';
import type { CoverageProvider, CoverageProviderModule } from 'vitest/node';

/**
 * Vitest's V8 coverage, taken once per shared worker (`isolate: false`) when the worker stops,
 * instead of after each of its files. Taking V8's precise coverage walks every function of
 * every script the worker has loaded, whatever ran since the last take: 40-80 ms per file here,
 * ~10 s of CPU over a run (docs/performance.md). V8 keeps counting between takes, so one take at
 * the end holds what the takes after each file would have held together; the report is the same.
 *
 * Worker side: after a file it sends a marker saying that this worker holds coverage; when the
 * worker stops (Vitest's cleanup hook, run before the worker answers "stopped"), it takes the
 * coverage and sends it as a normal result. Main side: the V8 provider, which waits for every
 * worker that sent a marker before it merges the results, and fails the run with the workers'
 * ids when one never sends them (a crashed worker). Isolated workers take after each file, as
 * Vitest does.
 *
 * It reaches two internals of Vitest 4 (the worker state's `onCleanup` and `rpc`), checked when
 * a shared worker first needs them: an upgrade that changes them fails the run here, loudly.
 * The main side also answers Vitest's file filter itself (`withGlobsCompiledOnce`, below).
 */

/** What V8 reports for one script, with the offset of Vitest's module wrapper. */
interface ScriptCoverage {
  url: string;
  startOffset?: number;
}
type ExecutionInfo = Map<string, { startOffset: number }>;
interface Taken {
  result: ScriptCoverage[];
  /** Set on the one result a shared worker sends when it stops. */
  flushedBy?: string;
}
/** What a shared worker sends after each file: it holds the coverage. */
interface Held {
  heldBy: string;
}
/** This worker, process or thread (pool `threads`). */
const WORKER_ID = `${process.pid}/${threadId}`;

/** The worker's state, on globalThis: a test's `vi.resetModules()` may load this module again. */
interface WorkerCoverage {
  session: Session;
  isolate: boolean;
  executionInfo?: ExecutionInfo;
  flushRegistered?: boolean;
}
const STATE = Symbol.for('vigil.test.coverage');
const holder = globalThis as { [STATE]?: WorkerCoverage };

/** A request on an in-thread inspector session: the callback runs before `post` returns. */
const post = <T>(session: Session, method: string, params?: object): T => {
  let outcome: { error: Error | null; result: T } | undefined;
  session.post(method, params, (error, result) => {
    outcome = { error, result: result as T };
  });
  if (outcome === undefined) throw new Error(`inspector ${method}: no synchronous answer`);
  if (outcome.error) throw outcome.error;
  return outcome.result;
};

/** Vitest's own filter: only the project's modules, not node_modules or Vite's internals. */
const isProjectScript = ({ url }: ScriptCoverage): boolean =>
  url.startsWith('file://') &&
  !url.includes('/node_modules/') &&
  !url.includes('/@id/@vitest/') &&
  !url.includes('/@vite/client');

const take = (state: WorkerCoverage, info = state.executionInfo): Taken => {
  const { result } = post<{ result: ScriptCoverage[] }>(
    state.session,
    'Profiler.takePreciseCoverage',
  );
  return {
    result: result.filter(isProjectScript).map((script) => ({
      ...script,
      startOffset: info?.get(fileURLToPath(script.url))?.startOffset ?? 0,
    })),
  };
};

/** The parts of Vitest's worker state used here (`globalThis.__vitest_worker__`). */
interface VitestWorker {
  onCleanup: (listener: () => unknown) => void;
  rpc: { onAfterSuiteRun: { asEvent: (meta: AfterSuiteRunMeta) => void } };
  environment: { name: string; viteEnvironment?: string };
  ctx: { projectName?: string };
}

const vitestWorker = (): VitestWorker => {
  const worker = (globalThis as { __vitest_worker__?: Partial<VitestWorker> }).__vitest_worker__;
  if (
    typeof worker?.onCleanup !== 'function' ||
    typeof worker.rpc?.onAfterSuiteRun?.asEvent !== 'function' ||
    worker.environment === undefined ||
    worker.ctx === undefined
  ) {
    throw new Error(
      'test/helpers/coverage.ts: Vitest changed its worker state (onCleanup, rpc); update this file',
    );
  }
  return worker as VitestWorker;
};

/** Once per shared worker: send the coverage when the worker stops. */
const flushOnStop = (state: WorkerCoverage): void => {
  if (state.flushRegistered) return;
  state.flushRegistered = true;
  const worker = vitestWorker();
  const environment = worker.environment.viteEnvironment ?? worker.environment.name;
  const projectName = worker.ctx.projectName;
  worker.onCleanup(() => {
    const coverage: Taken = { ...take(state), flushedBy: WORKER_ID };
    worker.rpc.onAfterSuiteRun.asEvent({
      coverage,
      testFiles: [`worker ${WORKER_ID}`],
      environment,
      projectName,
    });
  });
};

/**
 * Main side: the provider, its merge waiting for every shared worker's coverage (a marker from
 * each worker that holds some, then its result when it stops), at most `timeoutMs`.
 */
export const withHeldCoverage = (
  provider: CoverageProvider,
  timeoutMs = 30_000,
): CoverageProvider => {
  /** Workers that hold coverage not sent yet. */
  const holding = new Set<string>();
  let arrived = (): void => {};
  const onAfterSuiteRun = provider.onAfterSuiteRun.bind(provider);
  const generateCoverage = provider.generateCoverage.bind(provider);
  provider.onAfterSuiteRun = (meta) => {
    const coverage = meta.coverage as Held | Taken;
    if ('heldBy' in coverage) {
      holding.add(coverage.heldBy);
      return;
    }
    if (coverage.flushedBy !== undefined) holding.delete(coverage.flushedBy);
    const result = onAfterSuiteRun(meta);
    if (holding.size === 0) arrived();
    return result;
  };
  provider.generateCoverage = async (context) => {
    // The last workers stop as their last files end; their coverage follows within a second.
    let timer: NodeJS.Timeout | undefined;
    if (holding.size > 0) {
      await new Promise<void>((resolve, reject) => {
        arrived = resolve;
        timer = setTimeout(() => {
          const workers = [...holding].join(', ');
          reject(new Error(`coverage of Vitest worker(s) ${workers} never arrived (a crash?)`));
        }, timeoutMs);
      }).finally(() => clearTimeout(timer));
    }
    return generateCoverage(context);
  };
  return provider;
};

/** The parts of Vitest's coverage provider its file filter reads (`BaseCoverageProvider`). */
interface FileFilter {
  options: { include?: string[]; exclude: string[]; allowExternal?: boolean };
  roots: string[];
  changedFiles?: string[];
  isIncluded(filename: string, root?: string): boolean;
}
type Matcher = (path: string) => boolean;
type Picomatch = (glob: string | string[], options: object) => Matcher;

/**
 * Vitest's `isIncluded` answers whether a file is in `coverage.include` and not in `exclude`
 * with `picomatch.isMatch`, which compiles the globs again for each file name: ~1 ms a name,
 * ~0.7 s of the serial seconds between the last file and the report (a CPU profile of the
 * Vitest process, docs/performance.md). This answers the same question with the globs compiled
 * once, by the picomatch Vitest loads and with its options. A run with `--changed` (a list of
 * changed files) keeps Vitest's own filter.
 */
export const withGlobsCompiledOnce = (
  provider: CoverageProvider,
  picomatch: Picomatch = createRequire(
    createRequire(import.meta.url).resolve('vitest/package.json'),
  )('picomatch'),
): CoverageProvider => {
  const filter = provider as unknown as FileFilter;
  const vitestIsIncluded = filter.isIncluded.bind(filter);
  const answers = new Map<string, boolean>();
  let matches: Matcher | undefined;
  filter.isIncluded = (filename, root) => {
    if (filter.changedFiles !== undefined) return vitestIsIncluded(filename, root);
    // As Vitest: forward slashes, no query or hash, one answer per name.
    const name = filename.replaceAll('\\', '/').replace(/[?#].*$/, '');
    let included = answers.get(name);
    if (included === undefined) {
      if (filter.options === undefined || !Array.isArray(filter.roots))
        throw new Error(
          'test/helpers/coverage.ts: Vitest changed its coverage provider (options, roots); update this file',
        );
      const { include = ['**'], exclude, allowExternal } = filter.options;
      matches ??= picomatch(include, { contains: true, dot: true, ignore: exclude });
      const roots = root === undefined ? filter.roots : [root];
      included =
        (allowExternal !== false || roots.some((r) => name.startsWith(r))) && matches(name);
      answers.set(name, included);
    }
    return included;
  };
  return provider;
};

const coverage: CoverageProviderModule = {
  async getProvider() {
    const { default: v8 } = await import('@vitest/coverage-v8');
    return withHeldCoverage(withGlobsCompiledOnce(await v8.getProvider()));
  },
  startCoverage({ isolate }) {
    // A shared worker starts it before each file; once is enough.
    if (holder[STATE] !== undefined) return;
    const session = new Session();
    session.connect();
    post(session, 'Profiler.enable');
    post(session, 'Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    holder[STATE] = { session, isolate };
  },
  takeCoverage(options) {
    const state = holder[STATE];
    if (state === undefined) return undefined;
    if (state.isolate) return take(state, options?.moduleExecutionInfo);
    state.executionInfo = options?.moduleExecutionInfo;
    flushOnStop(state);
    return { heldBy: WORKER_ID } satisfies Held;
  },
  stopCoverage({ isolate }) {
    const state = holder[STATE];
    if (!isolate || state === undefined) return;
    post(state.session, 'Profiler.stopPreciseCoverage');
    post(state.session, 'Profiler.disable');
    state.session.disconnect();
    holder[STATE] = undefined;
  },
};

export default coverage;
