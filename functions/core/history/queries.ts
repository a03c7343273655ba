import { createHash } from 'node:crypto';
import type { VigilConfig } from '../config';
import { quarantineFor } from '../config-access';
import { VigilError } from '../errors';
import type { Benchmark } from '../formats/types';
import type { Clock } from '../ports';
import { canonicalProject } from '../project';
import { invalid, onlyKnown, wholeNumber } from '../query-params';
import { findQuarantine } from './quarantine';
import { mad, median } from './stats';
import type {
  HistoryReader,
  Page,
  RunKind,
  RunQuery,
  RunRecord,
  TestOutcome,
  TestRecord,
  TestStatusFilter,
} from './types';

/**
 * The history API's read side, pure over `HistoryReader`: which route a path names, the query
 * parameters each route accepts (validated, with the failing parameter as the error location),
 * and the shape of each answer. The ingest handler serves it on AWS and locally alike.
 */

/** Every history route lives under this prefix. */
export const HISTORY_PATH_PREFIX = '/v1/projects/';

export type HistoryRoute =
  | { route: 'tests'; project: string }
  | { route: 'runs'; project: string }
  | { route: 'benchmark'; project: string; name: string }
  | { route: 'benchmarks'; project: string };

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 500;
/** The store's cursor (2048) plus the listing and scope in front of it. */
const MAX_CURSOR_LENGTH = 2048 + 64;
const MAX_BENCHMARK_NAME_LENGTH = 256;

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const FREE_TEXT = /^[^\u0000-\u001f\u007f]{1,256}$/;
/** Cursors are opaque to clients; `openCursor` and the store check their content, this only their form. */
const CURSOR = /^[\x21-\x7e]+$/;

/** `decodeURIComponent`, or the text unchanged when it is not valid percent-encoding. */
export const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/**
 * The route named by a request path, or undefined when it names none.
 *
 * API Gateway HTTP APIs hand the function the path percent-decoded once (the local runtime
 * does the same), so a project `shop/web` sent as `shop%2Fweb` arrives as `shop/web/tests`.
 * Both forms are read:
 * - one segment per name (`shop%2Fweb/benchmarks/fib%2010`, i.e. names encoded twice by the
 *   client, or a runtime that kept the encoding): exact, whatever the names contain;
 * - the decoded form: `tests` and `runs` are the last segment and the project everything
 *   before it; for benchmarks the first `benchmarks` segment after the project splits the
 *   project from the benchmark name (so a benchmark name may contain `/`).
 */
export const parseHistoryPath = (rawPath: string): HistoryRoute | undefined => {
  if (!rawPath.startsWith(HISTORY_PATH_PREFIX)) return undefined;
  const segments = rawPath.slice(HISTORY_PATH_PREFIX.length).split('/');
  const [first, second, third] = segments;
  if (!first) return undefined;

  // One segment per name.
  if (segments.length === 2 && (second === 'tests' || second === 'runs' || second === 'benchmarks'))
    return { route: second, project: safeDecode(first) };
  if (segments.length === 3 && second === 'benchmarks' && third)
    return { route: 'benchmark', project: safeDecode(first), name: safeDecode(third) };

  // Decoded: names spread over several segments.
  const split = segments.indexOf('benchmarks', 1);
  if (split > 0 && split < segments.length - 1) {
    return {
      route: 'benchmark',
      project: segments.slice(0, split).join('/'),
      name: segments.slice(split + 1).join('/'),
    };
  }
  const last = segments.at(-1);
  if (last === 'tests' || last === 'runs' || last === 'benchmarks')
    return { route: last, project: segments.slice(0, -1).join('/') };
  return undefined;
};

// --- query parameters ----------------------------------------------------------------------

export type Query = Readonly<Record<string, string | undefined>>;

export const readLimit = (query: Query): number =>
  wholeNumber(query, 'limit', { min: 1, max: MAX_LIMIT, fallback: DEFAULT_LIMIT });

const readCursor = (query: Query): string | undefined => {
  const raw = query.cursor;
  if (raw === undefined || raw === '') return undefined;
  if (raw.length > MAX_CURSOR_LENGTH || !CURSOR.test(raw))
    throw invalid('cursor', 'pass back the cursor of the previous page unchanged');
  return raw;
};

const readText = (query: Query, key: string): string | undefined => {
  const raw = query[key];
  if (raw === undefined || raw === '') return undefined;
  if (!FREE_TEXT.test(raw)) throw invalid(key, 'printable text of at most 256 characters');
  return raw;
};

const oneOf = <T extends string, F extends T | undefined>(
  query: Query,
  key: string,
  values: readonly T[],
  fallback: F,
): T | F => {
  const raw = query[key];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw))
    throw invalid(key, `one of ${values.join(', ')}`);
  return raw as T;
};

/** The canonical project name of the path (NFC), or a 400 saying what is wrong with it. */
export const checkProject = (project: string): string => canonicalProject(project, 'path.project');

const STATUS_FILTERS = ['flaky', 'failing', 'passing', 'all'] as const satisfies TestStatusFilter[];
const RUN_KINDS = [
  'tests',
  'coverage',
  'load',
  'benchmark',
  'security',
] as const satisfies RunKind[];

// --- cursors ---------------------------------------------------------------------------------

/** The listings that page with a cursor. */
type Listing = 'tests' | 'runs';

/**
 * A cursor pages one listing: the route, the project and the filters that shaped its pages (not
 * `limit`, which may change from page to page). The store's own cursor goes out as
 * `<listing>.<scope>.<store cursor>`, the scope a short hash of the project and the filters, so
 * a cursor handed to another listing, project or filter is a 400 instead of a page of the wrong
 * list. (Store cursors carry only a sort key: the store alone cannot tell.)
 */
const cursorScope = (project: string, filters: Readonly<Record<string, unknown>>): string =>
  createHash('sha256')
    .update(JSON.stringify([project, filters]))
    .digest('base64url')
    .slice(0, 16);

const sealCursor = (
  listing: Listing,
  project: string,
  filters: Readonly<Record<string, unknown>>,
  storeCursor: string | undefined,
): { cursor?: string } =>
  storeCursor ? { cursor: `${listing}.${cursorScope(project, filters)}.${storeCursor}` } : {};

const startAgain = 'start again from the first page, without cursor';

/** The store's cursor inside `cursor`, when this listing issued it for this project and filters. */
const openCursor = (
  listing: Listing,
  project: string,
  filters: Readonly<Record<string, unknown>>,
  cursor: string | undefined,
): string | undefined => {
  if (cursor === undefined) return undefined;
  const first = cursor.indexOf('.');
  const second = first < 0 ? -1 : cursor.indexOf('.', first + 1);
  const issuedBy = cursor.slice(0, first);
  if (second < 0 || (issuedBy !== 'tests' && issuedBy !== 'runs'))
    // Before cursors were bound, the API handed out the store's cursor bare.
    throw invalid('cursor', `not a cursor this API issues (an old one, or altered): ${startAgain}`);
  if (issuedBy !== listing)
    throw invalid(
      'cursor',
      `it pages the ${issuedBy} listing, not ${listing}: pass back the cursor of the previous ${listing} page, or ${startAgain}`,
    );
  if (cursor.slice(first + 1, second) !== cursorScope(project, filters))
    throw invalid(
      'cursor',
      `it was issued for another project or other filters (${Object.keys(filters).join(', ')}); keep them unchanged while paging, or ${startAgain}`,
    );
  return cursor.slice(second + 1);
};

/**
 * What shapes the pages of a listing. An absent filter drops out of the hash (JSON leaves out
 * `undefined`), so it differs from any value, and `suite: null` (runs without one) from both.
 */
const testsFilters = (query: TestsQuery) => ({ status: query.status, q: query.q });
const runsFilters = (query: RunQuery) => ({
  kind: query.kind,
  branch: query.branch,
  suite: query.suite,
});

export interface TestsQuery {
  status: TestStatusFilter;
  limit: number;
  cursor?: string;
  /** Only the tests whose id holds this text (any case). */
  q?: string;
}

/** `GET …/tests`: `status` (default `all`), `q`, `limit`, `cursor`. */
export const readTestsQuery = (query: Query): TestsQuery => {
  onlyKnown(query, ['status', 'q', 'limit', 'cursor']);
  const cursor = readCursor(query);
  const q = readText(query, 'q');
  return {
    status: oneOf(query, 'status', STATUS_FILTERS, 'all'),
    limit: readLimit(query),
    ...(cursor ? { cursor } : {}),
    ...(q ? { q } : {}),
  };
};

/** `GET …/runs`: `kind`, `branch`, `suite` (`suite=` alone: runs without a suite), `limit`, `cursor`. */
export const readRunsQuery = (query: Query): RunQuery => {
  onlyKnown(query, ['kind', 'branch', 'suite', 'limit', 'cursor']);
  const kind = oneOf(query, 'kind', RUN_KINDS, undefined);
  const branch = readText(query, 'branch');
  const suite = query.suite === '' ? null : readText(query, 'suite');
  const cursor = readCursor(query);
  return {
    limit: readLimit(query),
    ...(kind ? { kind } : {}),
    ...(branch ? { branch } : {}),
    ...(suite !== undefined ? { suite } : {}),
    ...(cursor ? { cursor } : {}),
  };
};

export interface BenchmarkQuery {
  branch: string;
  suite?: string;
  limit: number;
}

/** `GET …/benchmarks/{name}`: `branch` (default: the config's `defaultBranch`), `suite`, `limit`. */
export const readBenchmarkQuery = (
  query: Query,
  defaultBranch: string,
  more: readonly string[] = [],
): BenchmarkQuery => {
  onlyKnown(query, ['branch', 'suite', 'limit', ...more]);
  const suite = readText(query, 'suite');
  return {
    branch: readText(query, 'branch') ?? defaultBranch,
    limit: readLimit(query),
    ...(suite ? { suite } : {}),
  };
};

export interface BenchmarksQuery extends BenchmarkQuery {
  /** Only the benchmarks whose name holds this text (any case). */
  q?: string;
  /** Series answered: the first `max` names. */
  max: number;
}

const DEFAULT_SERIES = 12;
const MAX_SERIES = 50;

/** `GET …/benchmarks`: those of `GET …/benchmarks/{name}`, plus `q` and `max` (1-50, default 12). */
export const readBenchmarksQuery = (query: Query, defaultBranch: string): BenchmarksQuery => {
  const benchmark = readBenchmarkQuery(query, defaultBranch, ['q', 'max']);
  const q = readText(query, 'q');
  const max = wholeNumber(query, 'max', { min: 1, max: MAX_SERIES, fallback: DEFAULT_SERIES });
  return { ...benchmark, max, ...(q ? { q } : {}) };
};

// --- answers -------------------------------------------------------------------------------

export interface HistoryQueryDeps {
  history: HistoryReader;
  config: VigilConfig;
  clock: Clock;
}

/** One letter per outcome, oldest first: `P` passed, `R` passed after a retry, `F` failed, `S` skipped. */
const outcomeLetter = (o: TestOutcome): string =>
  o.status === 'failed' ? 'F' : o.status === 'skipped' ? 'S' : o.retried ? 'R' : 'P';

export interface TestView {
  id: string;
  suite: string;
  classname: string;
  name: string;
  flaky?: { reason: string; explanation: string; since: string; flipRate?: number };
  quarantine?: { test: string; owner: string; reason: string; expires: string; expired: boolean };
  last?: { status: string; at: string; runId: string; branch?: string; commit?: string };
  /** Over the outcomes kept (`history.flaky.window`). */
  counts: { passed: number; failed: number; skipped: number; retried: number };
  /** The kept outcomes, oldest first, one letter each (see `outcomeLetter`). */
  outcomes: string;
}

export interface TestsAnswer {
  project: string;
  status: TestStatusFilter;
  tests: TestView[];
  cursor?: string;
}

export const testView = (record: TestRecord, config: VigilConfig, now: Date): TestView => {
  const counts = { passed: 0, failed: 0, skipped: 0, retried: 0 };
  for (const o of record.outcomes) {
    counts[o.status]++;
    if (o.retried) counts.retried++;
  }
  const last = record.outcomes.at(-1);
  const q = findQuarantine(quarantineFor(config, record.project), record.id, now);
  const flaky = record.flaky;
  return {
    id: record.id,
    suite: record.suite,
    classname: record.classname,
    name: record.name,
    ...(flaky
      ? {
          flaky: {
            reason: flaky.reason,
            explanation: flaky.explanation,
            since: flaky.since,
            ...(flaky.flipRate === undefined ? {} : { flipRate: flaky.flipRate }),
          },
        }
      : {}),
    ...(q ? { quarantine: { ...q.entry, expired: q.expired } } : {}),
    ...(last
      ? {
          last: {
            status: last.status,
            at: last.at,
            runId: last.runId,
            ...(last.branch ? { branch: last.branch } : {}),
            ...(last.commit ? { commit: last.commit } : {}),
          },
        }
      : {}),
    counts,
    outcomes: record.outcomes.map(outcomeLetter).join(''),
  };
};

const noData = (project: string): VigilError =>
  new VigilError('not_found', `No history for project "${project}".`, { path: 'path.project' });

/** An empty first page is a 404 only when the project has no runs at all. */
const assertProjectKnown = async (history: HistoryReader, project: string): Promise<void> => {
  const { items } = await history.listRuns(project, { limit: 1 });
  if (items.length === 0) throw noData(project);
};

/**
 * Store pages one `q` answer reads at most (10,000 tests at `limit=500`); then it answers what
 * it found with the cursor to go on, so one request stays short on a large list.
 */
const MAX_SEARCH_READS = 20;

/**
 * The tests of the list whose id holds `q` (any case), read page after page until `limit` of
 * them or the end. Each read asks only for as many tests as matches are still missing, so a
 * page never holds more matches than fit and the store's cursor after it skips none. After
 * `MAX_SEARCH_READS` reads it answers what it found (maybe nothing) with the cursor to go on.
 */
const searchTests = async (
  history: HistoryReader,
  project: string,
  query: TestsQuery & { q: string },
): Promise<Page<TestRecord>> => {
  const needle = query.q.toLowerCase();
  const items: TestRecord[] = [];
  let cursor = query.cursor;
  for (let reads = 0; reads < MAX_SEARCH_READS; reads++) {
    const page = await history.listTests(project, {
      status: query.status,
      limit: query.limit - items.length,
      ...(cursor ? { cursor } : {}),
    });
    items.push(...page.items.filter((t) => t.id.toLowerCase().includes(needle)));
    cursor = page.cursor;
    if (!cursor || items.length >= query.limit) break;
  }
  return { items, ...(cursor ? { cursor } : {}) };
};

export const queryTests = async (
  deps: HistoryQueryDeps,
  project: string,
  query: TestsQuery,
): Promise<TestsAnswer> => {
  project = checkProject(project);
  const filters = testsFilters(query);
  const cursor = openCursor('tests', project, filters, query.cursor);
  const { cursor: _, ...rest } = query;
  const storeQuery = { ...rest, ...(cursor === undefined ? {} : { cursor }) };
  const page =
    storeQuery.q === undefined
      ? await deps.history.listTests(project, storeQuery)
      : await searchTests(deps.history, project, { ...storeQuery, q: storeQuery.q });
  if (page.items.length === 0 && !query.cursor) await assertProjectKnown(deps.history, project);
  const now = deps.clock.now();
  return {
    project,
    status: query.status,
    tests: page.items.map((t) => testView(t, deps.config, now)),
    ...sealCursor('tests', project, filters, page.cursor),
  };
};

export interface RunsAnswer {
  project: string;
  runs: RunRecord[];
  cursor?: string;
}

export const queryRuns = async (
  deps: HistoryQueryDeps,
  project: string,
  query: RunQuery,
): Promise<RunsAnswer> => {
  project = checkProject(project);
  const filters = runsFilters(query);
  const cursor = openCursor('runs', project, filters, query.cursor);
  const { cursor: _, ...rest } = query;
  const page = await deps.history.listRuns(project, {
    ...rest,
    ...(cursor === undefined ? {} : { cursor }),
  });
  if (page.items.length === 0 && !query.cursor) {
    const filtered =
      query.kind !== undefined || query.branch !== undefined || query.suite !== undefined;
    if (!filtered) throw noData(project);
    await assertProjectKnown(deps.history, project);
  }
  return { project, runs: page.items, ...sealCursor('runs', project, filters, page.cursor) };
};

export interface BenchmarkPoint {
  at: string;
  runId: string;
  /** The run's gate (a failed one is marked on the chart). */
  gate: RunRecord['gate'];
  commit?: string;
  value: number;
  samples?: number;
  stddev?: number;
}

export interface BenchmarkAnswer {
  project: string;
  name: string;
  branch: string;
  /** `null`: the series of runs posted without a suite. */
  suite: string | null;
  unit: string;
  /** Oldest first (ready for a chart). */
  points: BenchmarkPoint[];
  /**
   * Median and median absolute deviation of the latest `history.baselineRuns` points, the runs
   * the next run on this branch is compared against (the gate compares with their mean, or the
   * pooled mean of their samples: `detectRegression`).
   */
  baseline: { runs: number; median: number; mad: number };
}

/** One benchmark's series in `runs` (newest first), or undefined when none of them has it. */
const seriesOf = (
  runs: readonly RunRecord[],
  name: string,
  baselineRuns: number,
): Pick<BenchmarkAnswer, 'name' | 'unit' | 'points' | 'baseline'> | undefined => {
  // The newest point's unit decides (a unit change starts anew).
  const found: { run: RunRecord; bench: Benchmark }[] = [];
  for (const run of runs) {
    if (run.kind !== 'benchmark') continue;
    const bench = run.summary.benchmarks.find((b) => b.name === name);
    if (bench && (found.length === 0 || bench.unit === found[0]?.bench.unit))
      found.push({ run, bench });
  }
  const newest = found[0];
  if (!newest) return undefined;
  const baselineValues = found.slice(0, baselineRuns).map((f) => f.bench.value);
  return {
    name,
    unit: newest.bench.unit,
    points: found.reverse().map(({ run, bench }) => ({
      at: run.ingestedAt,
      runId: run.runId,
      gate: run.gate,
      ...(run.commit ? { commit: run.commit } : {}),
      value: bench.value,
      ...(bench.samples === undefined ? {} : { samples: bench.samples }),
      ...(bench.stddev === undefined ? {} : { stddev: bench.stddev }),
    })),
    baseline: {
      runs: baselineValues.length,
      median: median(baselineValues),
      mad: mad(baselineValues),
    },
  };
};

const benchmarkRuns = (deps: HistoryQueryDeps, project: string, query: BenchmarkQuery) =>
  deps.history.series(project, 'benchmark', query.suite, query.branch, query.limit);

export const queryBenchmark = async (
  deps: HistoryQueryDeps,
  project: string,
  name: string,
  query: BenchmarkQuery,
): Promise<BenchmarkAnswer> => {
  project = checkProject(project);
  if (name.length === 0 || name.length > MAX_BENCHMARK_NAME_LENGTH || !FREE_TEXT.test(name))
    throw new VigilError(
      'bad_request',
      `The benchmark name in the path is invalid: printable text of at most ${MAX_BENCHMARK_NAME_LENGTH} characters.`,
      { path: 'path.name' },
    );
  const runs = await benchmarkRuns(deps, project, query);
  const series = seriesOf(runs, name, deps.config.history.baselineRuns);
  if (!series)
    throw new VigilError(
      'not_found',
      `No benchmark "${name}" for project "${project}" on branch "${query.branch}"` +
        `${query.suite ? ` (suite "${query.suite}")` : ' (runs without a suite)'}.`,
      { path: 'path.name' },
    );
  return { project, branch: query.branch, suite: query.suite ?? null, ...series };
};

export interface BenchmarksAnswer {
  project: string;
  branch: string;
  suite: string | null;
  /** Every benchmark of the runs looked at (those whose name holds `q`), sorted. */
  names: string[];
  /** The series of the first `max` of `names`, in that order (each as `benchmarks/{name}` answers it). */
  benchmarks: Pick<BenchmarkAnswer, 'name' | 'unit' | 'points' | 'baseline'>[];
}

/** Several benchmarks' series from one read of the runs: a dashboard page's charts in one call. */
export const queryBenchmarks = async (
  deps: HistoryQueryDeps,
  project: string,
  query: BenchmarksQuery,
): Promise<BenchmarksAnswer> => {
  project = checkProject(project);
  const runs = await benchmarkRuns(deps, project, query);
  if (runs.length === 0) await assertProjectKnown(deps.history, project);
  const all = new Set<string>();
  for (const run of runs)
    if (run.kind === 'benchmark') for (const b of run.summary.benchmarks) all.add(b.name);
  const needle = query.q?.toLowerCase();
  const names = [...all]
    .filter((n) => needle === undefined || n.toLowerCase().includes(needle))
    .sort();
  return {
    project,
    branch: query.branch,
    suite: query.suite ?? null,
    names,
    benchmarks: names
      .slice(0, query.max)
      .flatMap((n) => seriesOf(runs, n, deps.config.history.baselineRuns) ?? []),
  };
};

/** Answer a history route with its validated query. */
export const queryHistory = async (
  deps: HistoryQueryDeps,
  route: HistoryRoute,
  query: Query,
): Promise<TestsAnswer | RunsAnswer | BenchmarkAnswer | BenchmarksAnswer> => {
  switch (route.route) {
    case 'tests':
      return queryTests(deps, route.project, readTestsQuery(query));
    case 'runs':
      return queryRuns(deps, route.project, readRunsQuery(query));
    case 'benchmark':
      return queryBenchmark(
        deps,
        route.project,
        route.name,
        readBenchmarkQuery(query, deps.config.defaultBranch),
      );
    case 'benchmarks':
      return queryBenchmarks(
        deps,
        route.project,
        readBenchmarksQuery(query, deps.config.defaultBranch),
      );
  }
};
