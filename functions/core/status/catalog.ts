import type {
  ArchivePointer,
  BenchmarkDetail,
  CoverageDetail,
  Gate,
  LoadDetail,
  SecurityDetail,
  TestRunDetail,
} from '../events';
import type { RunFacts, RunHeadline } from './api';
import type { RunDigest } from './digest';

/**
 * The run catalog: what the overview and a run's page need to find a run without reading the
 * project's history: every project's latest run per (branch, kind, suite), a run by its id
 * (with its gate checks and archive pointers), and short default-branch trends. Written by the
 * status subscriber from the ingest events; all reads are key lookups or one-partition queries.
 */

export interface RunEntry extends RunHeadline {
  /** The full gate (checks with messages, actual values, thresholds). */
  gateChecks: Gate;
  /** The report as received. */
  archive: ArchivePointer;
  /** The normalized result (every test case), written by ingest. */
  normalized: ArchivePointer;
  /** Its warnings and first failed tests, taken when recorded (absent: read `normalized`). */
  digest?: RunDigest;
}

export interface RunCatalog {
  /** Record a run (idempotent: the same run overwrites itself). Expires after `ttlDays`. */
  record(entry: RunEntry, ttlDays: number): Promise<void>;
  /** One run by id. */
  get(project: string, runId: string): Promise<RunEntry | undefined>;
  /** The latest run of every (project, branch, kind, suite): the overview. */
  latest(): Promise<RunHeadline[]>;
  /** The newest runs of one (project, kind, branch) over all suites, newest first. */
  trend(q: {
    project: string;
    kind: RunHeadline['kind'];
    branch: string;
    limit: number;
  }): Promise<RunHeadline[]>;
}

type IngestDetail = TestRunDetail | CoverageDetail | LoadDetail | BenchmarkDetail | SecurityDetail;

const factsOf = (kind: RunHeadline['kind'], detail: IngestDetail): RunFacts => {
  switch (kind) {
    case 'tests': {
      const { durationMs, ...tests } = (detail as TestRunDetail).summary;
      return { tests, durationMs };
    }
    case 'coverage': {
      const s = (detail as CoverageDetail).summary;
      return {
        coverage: {
          lines: s.lines.pct,
          branches: s.branches.pct,
          functions: s.functions.pct,
          ...(s.statements ? { statements: s.statements.pct } : {}),
        },
      };
    }
    case 'load': {
      const s = (detail as LoadDetail).summary;
      const p95 = s.latencyMs.p95;
      const p99 = s.latencyMs.p99;
      return {
        load: {
          requests: s.requests,
          errorRate: s.errorRate,
          ...(p95 === undefined ? {} : { p95Ms: p95 }),
          ...(p99 === undefined ? {} : { p99Ms: p99 }),
        },
      };
    }
    case 'benchmark': {
      const d = detail as BenchmarkDetail;
      return { benchmarks: d.benchmarksTotal ?? d.summary.benchmarks.length };
    }
    case 'security': {
      const {
        findings,
        bySeverity,
        new: added,
        fixed,
        suppressed,
      } = (detail as SecurityDetail).summary;
      return { security: { findings, bySeverity, new: added, fixed, suppressed } };
    }
  }
};

/** The catalog entry of an ingest event. */
export const runEntryOf = (kind: RunHeadline['kind'], detail: IngestDetail): RunEntry => {
  const m = detail.metadata;
  return {
    project: m.project,
    runId: m.runId,
    kind,
    format: m.format,
    ...(m.suite === undefined ? {} : { suite: m.suite }),
    ...(m.branch === undefined ? {} : { branch: m.branch }),
    ...(m.commit === undefined ? {} : { commit: m.commit }),
    ingestedAt: m.ingestedAt,
    correlationId: m.correlationId,
    gate: detail.gate.status,
    facts: factsOf(kind, detail),
    gateChecks: detail.gate,
    archive: m.archive,
    normalized: m.normalized,
  };
};

/** A headline without the entry's private parts (pointers, checks, digest). */
export const headlineOf = (e: RunEntry): RunHeadline => {
  const { gateChecks: _g, archive: _a, normalized: _n, digest: _d, ...headline } = e;
  return headline;
};

/** The key of "latest of its series" in the overview. */
export const latestKey = (r: RunHeadline): string =>
  JSON.stringify([r.project, r.branch ?? '', r.kind, r.suite ?? '']);

/** Is `a` newer than `b` (ingestion time, then run id)? */
export const newer = (a: RunHeadline, b: RunHeadline): boolean =>
  a.ingestedAt === b.ingestedAt ? a.runId > b.runId : a.ingestedAt > b.ingestedAt;
