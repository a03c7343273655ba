import type { Finding, SecuritySummary } from '../security/model';

/** Canonical, format-independent results that every parser produces. */

export const FORMATS = [
  'junit',
  'jest',
  'istanbul',
  'lcov',
  'cobertura',
  'k6',
  'artillery',
  'benchmark',
  'playwright',
  'go-test',
  'go-cover',
  'go-bench',
  'google-benchmark',
  'gcovr',
  'clover',
  'sonarqube',
  'jacoco',
  'trx',
  'sarif',
  'zap',
  'npm-audit',
  'trivy',
  'grype',
] as const;
export type FormatId = (typeof FORMATS)[number];

export type ReportKind = 'tests' | 'coverage' | 'load' | 'benchmark' | 'security';

export type TestStatus = 'passed' | 'failed' | 'skipped';

export interface TestCase {
  /** Name of the innermost enclosing suite ('' when none). */
  suite: string;
  classname: string;
  name: string;
  status: TestStatus;
  /** Passed, but only after failing at least once (reruns, retries). */
  flaky: boolean;
  durationMs: number;
  /** Extra attempts seen in the report (reruns, flaky attempts, Jest invocations - 1). */
  retries: number;
  /** First line of the failure/error message, capped; only for failed tests. */
  message?: string;
  /**
   * The failure's full text (assertion output, stack trace) when it says more than `message`,
   * capped at DETAIL_MAX_CHARS; only for the first DETAILS_MAX_TESTS failed tests of a report.
   */
  details?: string;
  file?: string;
  /** 1-based line in `file`: where the failure happened when the report says, else the test. */
  line?: number;
}

export interface TestSummary {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  flaky: number;
  durationMs: number;
}

export interface CoverageMetric {
  /**
   * Percentage rounded to 2 decimals; `null` when the tool did not measure this metric (no data,
   * or 0 of 0): then `reason` says why. Never 100 for nothing measured.
   */
  pct: number | null;
  covered: number;
  total: number;
  /** Why `pct` is null. */
  reason?: string;
}

export interface CoverageSummary {
  lines: CoverageMetric;
  branches: CoverageMetric;
  functions: CoverageMetric;
  statements?: CoverageMetric;
}

export interface LoadThreshold {
  /** e.g. `http_req_duration: p(95)<500` or `p99 < 200`. */
  name: string;
  passed: boolean;
}

export interface LoadSummary {
  requests: number;
  failedRequests: number;
  /** 0..1 */
  errorRate: number;
  durationMs?: number;
  requestsPerSecond?: number;
  latencyMs: {
    avg?: number;
    min?: number;
    med?: number;
    max?: number;
    p90?: number;
    p95?: number;
    p99?: number;
  };
  thresholds: LoadThreshold[];
}

export interface Benchmark {
  name: string;
  /** e.g. `ns`, `ms`, `s`, `ops/s`, or a custom unit from the report. */
  unit: string;
  /** The central value (mean for sampled benchmarks). */
  value: number;
  /** Number of samples behind `value`, when known. */
  samples?: number;
  stddev?: number;
  /** From the report when it says (customBiggerIsBetter), otherwise left to the analysis. */
  direction?: 'smaller' | 'bigger';
}

export interface BenchmarkSummary {
  benchmarks: Benchmark[];
}

interface ParsedBase<K extends ReportKind, S> {
  kind: K;
  format: FormatId;
  /** Finer producer name when known, e.g. `surefire`, `pytest`, `vitest`, `hyperfine`. */
  dialect?: string;
  summary: S;
  /** Things the user should know: count mismatches, ignored parts. */
  warnings: string[];
}

/**
 * An error outside any test that failed the run, which the tool does not count as a test: a
 * failing `beforeAll`/`afterAll` hook, a test file that did not load (Vitest: `Test Files 1
 * failed` with `Tests` unchanged). The tests gate fails on it.
 */
export interface TestRunError {
  /** The suite (describe block) whose hook failed, or the file that failed. */
  name: string;
  file?: string;
  /** First line of the error message, capped. */
  message?: string;
}

export interface ParsedTests extends ParsedBase<'tests', TestSummary> {
  cases: TestCase[];
  /** Errors outside the tests (not in `summary`), present only when there are some. */
  errors?: TestRunError[];
  /**
   * How `summary.durationMs` was measured (wall time when the report has it), for the gate;
   * NO_DURATION when the report has no valid time at all (`durationMs` is then 0).
   */
  durationSource?: string;
}

/** The `durationSource` of a test report without one valid time: the duration gate skips it. */
export const NO_DURATION = 'no valid time in the report';
export type ParsedCoverage = ParsedBase<'coverage', CoverageSummary>;
export type ParsedLoad = ParsedBase<'load', LoadSummary>;
export type ParsedBenchmark = ParsedBase<'benchmark', BenchmarkSummary>;

export interface ParsedSecurity extends ParsedBase<'security', SecuritySummary> {
  /** Every finding, in report order (the normalized archive keeps them all). */
  findings: Finding[];
  /**
   * Why the scan did not complete (SARIF: a failed invocation, an error-level tool
   * notification), present only when it did not: the security gate cannot pass then.
   */
  toolErrors?: string[];
}

export type ParsedReport =
  | ParsedTests
  | ParsedCoverage
  | ParsedLoad
  | ParsedBenchmark
  | ParsedSecurity;

/**
 * How deep a report may nest (XML elements, Playwright suites): real reports stay far below it,
 * and a recursive reader stays far from the stack's limit.
 */
export const MAX_NESTING_DEPTH = 200;

/* Shared helpers for parsers. */

/** `n` to 2 decimals; from 1e15 on, a double has none left (and `n * 100` may overflow). */
export const round2 = (n: number): number => (Math.abs(n) < 1e15 ? Math.round(n * 100) / 100 : n);

/**
 * The longest duration a report may give, in ms (about 31 years; JUnit: a `time` below 1e9 s).
 * A longer one is an error in the report, and sums or conversions of it may not stay finite.
 */
export const MAX_DURATION_MS = 1e12;

/**
 * A reported duration (`value` in units of `msPerUnit` ms: 1000 for seconds) in milliseconds,
 * when it is one: a finite number from 0 to MAX_DURATION_MS. Else undefined: the parser then
 * counts the duration as unknown, with a warning, or refuses the report, as it does for its
 * other bad values.
 */
export const validDurationMs = (value: unknown, msPerUnit = 1): number | undefined => {
  if (typeof value !== 'number') return undefined;
  const ms = value * msPerUnit;
  return ms >= 0 && ms <= MAX_DURATION_MS ? ms : undefined;
};

/**
 * `count` per second over `durationMs`, to 2 decimals; undefined without a duration, or when the
 * rate is no finite number (a duration of 1e-320 ms is valid, and divides into Infinity).
 */
export const perSecond = (count: number, durationMs: number | undefined): number | undefined => {
  if (!durationMs || durationMs <= 0) return undefined;
  const rate = count / (durationMs / 1000);
  return Number.isFinite(rate) ? round2(rate) : undefined;
};

/**
 * The largest magnitude of a benchmark value, in any unit: the mean, standard deviation and
 * ratios to a baseline of values up to it stay finite. A larger one is refused.
 */
export const MAX_BENCHMARK_VALUE = 1e15;

/**
 * A coverage percentage to 2 decimals that never claims more or less than the counts: below
 * 100 while something is missed (99999 of 100000 is 99.99, not 100) and above 0 once something
 * is covered (1 of 100000 is 0.01, not 0), as gcovr and lcov print 99.9%, never 100%.
 */
export const coveragePct = (pct: number, covered: number, total: number): number => {
  if (covered < total && pct >= 100) return 99.99;
  if (covered > 0 && pct <= 0) return 0.01;
  return pct;
};

/** A measured metric; with total 0, not measured (`reason`, or a generic one). */
export const coverageMetric = (covered: number, total: number, reason?: string): CoverageMetric =>
  total === 0
    ? notMeasured(reason ?? 'nothing to measure: 0 of 0')
    : { pct: coveragePct(round2((covered / total) * 100), covered, total), covered, total };

/**
 * A metric of an Istanbul-made report (nyc, Jest, Vitest, c8): its percentage truncated to 2
 * decimals as istanbul-lib-coverage's `percent` does (2 of 3 is 66.66), so that a gate at the
 * figure the tool printed agrees with it. 0 of 0 stays not measured (Istanbul says 100).
 */
export const istanbulMetric = (covered: number, total: number, reason?: string): CoverageMetric => {
  const m = coverageMetric(covered, total, reason);
  if (m.pct !== null)
    m.pct = coveragePct(Math.floor((1000 * 100 * covered) / total / 10) / 100, covered, total);
  return m;
};

/** A metric the report has no data for. */
export const notMeasured = (reason: string): CoverageMetric => ({
  pct: null,
  covered: 0,
  total: 0,
  reason,
});

const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;?]*[ -/]*[@-~]`, 'g');
/** Without terminal colour codes (Jest, Vitest and Playwright colour their messages). */
export const stripAnsi = (s: string): string => (s.includes(ESC) ? s.replace(ANSI, '') : s);

export const MESSAGE_MAX_CHARS = 500;
export const DETAIL_MAX_CHARS = 4000;
/** Failed tests of one report that keep their detail: the archived result stays bounded. */
export const DETAILS_MAX_TESTS = 200;

/** A failure's full text, trimmed and capped; undefined when it adds nothing to its first line. */
export const detailOf = (text: string | undefined): string | undefined => {
  const t = text?.trim();
  if (!t?.includes('\n')) return undefined;
  return t.length > DETAIL_MAX_CHARS ? `${t.slice(0, DETAIL_MAX_CHARS - 1)}…` : t;
};

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A line number a report gives: a positive integer, or undefined. */
export const lineNumber = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && /^\d{1,7}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 9_999_999 ? n : undefined;
};

/**
 * A path with a directory and an extension, then `:line` (`(/w/src/sum.test.js:10:5)`,
 * `./spec/calc_spec.rb:12:in`, `file:///w/a.mjs:3:1`); or a bare file name in a JavaScript stack
 * frame with a column (`(calc.test.js:13:43)`, Vitest's `❯ calc.test.js:12:57`), which JavaScript
 * tools write relative to where they ran; or a bare Python file at the start of a line, as
 * pytest ends a traceback section (`test_calc.py:12: AssertionError`, `test_calc.py:9: in f`).
 */
const FRAME =
  /(?:^|[\s(])(?:file:\/\/)?((?:[A-Za-z]:)?[\w.@~+-]*[\\/][^\s():]*\.\w{1,8}):(\d{1,7})\b|(?:\(|❯ )([\w.@~+-]+\.\w{1,8}):(\d{1,7}):\d{1,7}\b|^([\w.@~+-]+\.py):(\d{1,7}): /gmu;

/**
 * The first stack frame of a failure text that points into the project, outside node_modules and
 * Node's internals.
 */
export const frameIn = (text: string | undefined): { file: string; line: number } | undefined => {
  if (!text) return undefined;
  for (const m of text.matchAll(FRAME)) {
    const file = (m[1] ?? m[3] ?? m[5]) as string;
    const path = file.replaceAll('\\', '/');
    if (path.includes('/node_modules/') || path.startsWith('internal/')) continue;
    const line = lineNumber(Number(m[2] ?? m[4] ?? m[6]));
    if (line !== undefined) return { file, line };
  }
  return undefined;
};

/**
 * The first line of `file` that a failure text names: `test_x.py:12`, `(/w/sum.test.js:10:5)`,
 * `File "/w/test_x.py", line 12`. The file is matched by its base name, so a stack frame written
 * with another prefix (absolute, relative) still counts.
 */
export const lineIn = (text: string | undefined, file: string | undefined): number | undefined => {
  if (!text || !file) return undefined;
  const base = file.replaceAll('\\', '/').split('/').pop();
  if (!base) return undefined;
  const name = escapeRegExp(base);
  const m = new RegExp(`(?:^|[\\s/\\\\("'])${name}(?::(\\d{1,7})|", line (\\d{1,7}))`).exec(text);
  return m ? lineNumber(Number(m[1] ?? m[2])) : undefined;
};

/** First non-empty line of a failure message, capped so events stay small. */
export const firstLine = (text: string | undefined): string | undefined => {
  if (!text) return undefined;
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  if (!line) return undefined;
  return line.length > MESSAGE_MAX_CHARS ? `${line.slice(0, MESSAGE_MAX_CHARS - 1)}…` : line;
};
