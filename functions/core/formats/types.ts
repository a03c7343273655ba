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
  'jacoco',
  'trx',
  'sarif',
  'zap',
  'npm-audit',
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
  file?: string;
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

export interface ParsedTests extends ParsedBase<'tests', TestSummary> {
  cases: TestCase[];
  /** How `summary.durationMs` was measured (wall time when the report has it), for the gate. */
  durationSource?: string;
}
export type ParsedCoverage = ParsedBase<'coverage', CoverageSummary>;
export type ParsedLoad = ParsedBase<'load', LoadSummary>;
export type ParsedBenchmark = ParsedBase<'benchmark', BenchmarkSummary>;

export interface ParsedSecurity extends ParsedBase<'security', SecuritySummary> {
  /** Every finding, in report order (the normalized archive keeps them all). */
  findings: Finding[];
}

export type ParsedReport =
  | ParsedTests
  | ParsedCoverage
  | ParsedLoad
  | ParsedBenchmark
  | ParsedSecurity;

/** Shared helpers for parsers. */
export const round2 = (n: number): number => Math.round(n * 100) / 100;

/** A measured metric; with total 0, not measured (`reason`, or a generic one). */
export const coverageMetric = (covered: number, total: number, reason?: string): CoverageMetric =>
  total === 0
    ? notMeasured(reason ?? 'nothing to measure: 0 of 0')
    : { pct: round2((covered / total) * 100), covered, total };

/** A metric the report has no data for. */
export const notMeasured = (reason: string): CoverageMetric => ({
  pct: null,
  covered: 0,
  total: 0,
  reason,
});

export const MESSAGE_MAX_CHARS = 500;

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
