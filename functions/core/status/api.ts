import type { HeartbeatSchedule } from '../check-key';
import type { ArchivePointer, Gate } from '../events';
import type { FlakyReason } from '../history/types';
import type { Incident, ProbeFailure } from './types';

/**
 * The dashboard API: the answer of every route the dashboard pages, the status page and the
 * badges read. Served by the ingest handler (same bearer tokens; read-only tokens may call
 * every GET route) on AWS and locally alike. All times are ISO 8601 UTC; every string that
 * came from a report (project, suite, test names, messages) is untrusted text: render it as
 * text, never as HTML.
 *
 * Routes (query parameters in brackets; unknown parameters are refused with 400):
 * - `GET /v1/projects`                                  → `ProjectsAnswer`
 * - `GET /v1/projects/{project}/runs/{runId}`           → `RunDetailAnswer`
 * - `GET /v1/projects/{project}/runs/{runId}/report`    → the raw report as received (text/plain)
 * - `GET /v1/probes`                                    → `ProbesAnswer`
 * - `GET /v1/probes/{project}/{probe}`                  → `ProbeDetailAnswer`
 * - `GET /v1/incidents` [open, project, days, limit]    → `IncidentsAnswer`
 * - `GET /v1/status` (no token; only with `statusPage`) → `PublicStatus`
 * Badges (`functions/core/status/badges.ts`, rendered to SVG by the page code): `gateBadge`,
 * `coverageBadge` and `uptimeBadge` answer `BadgeData`; `badgeIsPublic` says whether a badge
 * may be served without a token (config `badges.public.projects` / `.probes`).
 * Coverage and load series: `GET /v1/projects/{project}/runs?kind=coverage|load&branch=…`
 * (the history API) already answers them with each run's summary.
 */

/** A run as the overview and run lists show it. */
export interface RunHeadline {
  project: string;
  runId: string;
  kind: 'tests' | 'coverage' | 'load' | 'benchmark' | 'security';
  format: string;
  suite?: string;
  branch?: string;
  commit?: string;
  ingestedAt: string;
  correlationId: string;
  gate: Gate['status'];
  /** The figures a list shows for the run's kind. */
  facts: RunFacts;
}

/** One kind's headline figures (only the run's kind is set). */
export interface RunFacts {
  tests?: { total: number; passed: number; failed: number; skipped: number; flaky: number };
  /** Suite duration (tests runs). */
  durationMs?: number;
  /** Coverage percentages (coverage runs). */
  coverage?: {
    lines: number | null;
    branches: number | null;
    functions: number | null;
    statements?: number | null;
  };
  /** Load test figures (load runs): error rate 0..1, latency percentiles in ms when reported. */
  load?: { requests: number; errorRate: number; p95Ms?: number; p99Ms?: number };
  /** How many benchmarks the run reported (benchmark runs). */
  benchmarks?: number;
  /** Security findings (security runs): all, by severity, new and fixed against base, suppressed. */
  security?: {
    findings: number;
    bySeverity: { critical: number; high: number; medium: number; low: number; info: number };
    new: number;
    fixed: number;
    suppressed: number;
  };
}

/** One point of a project's trend on its default branch, oldest first. */
export interface TrendPoint {
  at: string;
  runId: string;
  commit?: string;
  /** The run's suite: a unit and an e2e suite are two lines of a chart, not one. */
  suite?: string;
  /** passed / (total − skipped), 0..1 (tests runs; absent when nothing ran). */
  passRate?: number;
  durationMs?: number;
  /** Line coverage percent (coverage runs). */
  linesPct?: number;
}

export interface ProjectOverview {
  project: string;
  /** The config's `defaultBranch`: the branch the trends follow. */
  defaultBranch: string;
  /** Latest run per branch, kind and suite; branches with the newest run first. */
  branches: { branch: string; latest: RunHeadline[] }[];
  /** Default-branch trends (at most 30 points each), oldest first. */
  trends: { tests: TrendPoint[]; coverage: TrendPoint[] };
  /** Tests currently found flaky (at most `flakyCapped ? 500+ : exact`). */
  flakyTests: number;
  flakyCapped: boolean;
  /** Incidents of this project firing now. */
  openIncidents: number;
}

/** `GET /v1/projects`: every project that posted a run within the retention. */
export interface ProjectsAnswer {
  generatedAt: string;
  projects: ProjectOverview[];
}

/** A failed test of a run, from the archived normalized result. */
export interface FailedTest {
  suite: string;
  classname: string;
  name: string;
  message?: string;
  /** Stack trace or failure details, when the report format carries them. */
  details?: string;
  file?: string;
  /** 1-based line in `file` where the test failed (or the test's line). */
  line?: number;
  durationMs: number;
  /**
   * Set when the history finds the test flaky now (its rules, docs/history-and-flaky-tests.md):
   * this failure may not be the change's. Looked up among the project's first 500 flaky tests.
   */
  flaky?: { reason: FlakyReason; since: string };
}

/** `GET /v1/projects/{project}/runs/{runId}`. */
export interface RunDetailAnswer {
  run: RunHeadline;
  /** Every gate check with its verdict, message, actual value and threshold. */
  gate: Gate;
  /** Parser warnings about the report (skipped lines, unknown elements…). */
  warnings: string[];
  /**
   * The first failed tests (tests runs): at most 200 and 256 KB of JSON (`DIGEST_LIMITS` in
   * `digest.ts`); `failedTestsTotal` says how many there were.
   */
  failedTests: FailedTest[];
  failedTestsTotal: number;
  /** Path of the raw report as received: `GET` it with the same token. */
  reportPath: string;
  /** Size and checksum of the raw report. */
  report: Pick<ArchivePointer, 'bytes' | 'sha256'>;
}

export type ProbeStatusNow = 'up' | 'down' | 'unknown';

/** One latency point: start of the bucket and its p95 (null: no samples). */
export interface LatencyPoint {
  at: string;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface ProbeSummary {
  project: string;
  probe: string;
  /** From the config, when the probe is configured and checks a URL. */
  url?: string;
  /** From the config: the check's `runbookUrl` (an http(s) URL), when it has one. */
  runbookUrl?: string;
  /** From the config: a heartbeat's schedule (`periodSeconds` or `cron`, and its grace). */
  schedule?: HeartbeatSchedule;
  tags: string[];
  /**
   * A probe or a heartbeat (heartbeat results are recorded beside the probes'); absent for a row
   * the config no longer names, whose kind is not recorded.
   */
  kind?: 'probe' | 'heartbeat';
  /** Whether the config still names it: false for a check since removed, whose history stays. */
  configured: boolean;
  status: ProbeStatusNow;
  /** Latest sample. */
  checkedAt?: string;
  latencyMs?: number;
  /** Share of successful checks, 0..1 (null: no checks in the window). */
  uptime: { h24: number | null; d7: number | null; d30: number | null };
  /** Hourly p95 latency over the last 24 h (24 points, oldest first). */
  sparkline: LatencyPoint[];
  /** An incident of this probe is firing now. */
  incidentOpen: boolean;
}

/** `GET /v1/probes`. */
export interface ProbesAnswer {
  generatedAt: string;
  probes: ProbeSummary[];
}

/** One day of a probe (UTC). `uptime` null: no checks that day. */
export interface DayBar {
  day: string;
  checks: number;
  failures: number;
  uptime: number | null;
  /** Worst state that day: `up` (no failure), `degraded` (< 1% failed), `down`, `none`. */
  state: 'up' | 'degraded' | 'down' | 'none';
}

/** A maintenance window from the config, as the pages announce it. */
export interface MaintenanceView {
  reason?: string;
  /** Fixed windows: start and end; recurring windows: cron (UTC) and duration. */
  start?: string;
  end?: string;
  cron?: string;
  durationMinutes?: number;
  /** Active right now. */
  active: boolean;
}

/** `GET /v1/probes/{project}/{probe}`. */
export interface ProbeDetailAnswer {
  summary: ProbeSummary;
  /** 90 days, oldest first, one per UTC day (days without checks have state `none`). */
  days: DayBar[];
  /** Hourly latency over the last 7 days, oldest first. */
  latency: LatencyPoint[];
  /** Newest first, at most 50. */
  failures: ProbeFailure[];
  /** Incidents of this probe over 90 days, newest first. */
  incidents: Incident[];
  /** Maintenance windows that cover this probe. */
  maintenance: MaintenanceView[];
}

/** `GET /v1/incidents`: `open=true` lists only firing ones; `project` narrows; `days` (default 30, max 90). */
export interface IncidentsAnswer {
  from: string;
  to: string;
  incidents: Incident[];
}

/** A status page component: the worst of its probes now. */
export interface PublicComponent {
  name: string;
  status: 'operational' | 'degraded' | 'outage' | 'maintenance' | 'unknown';
  /** 90 days of the component (all its probes merged), oldest first. */
  days: DayBar[];
  /** Over the 90 days (null: no checks). */
  uptime: number | null;
}

/** An incident as the public page shows it: component names and times only. */
export interface PublicIncident {
  components: string[];
  severity: 'critical' | 'warning';
  startedAt: string;
  resolvedAt?: string;
  downtimeSeconds?: number;
}

/**
 * `GET /v1/status` (no token; 404 unless the config has `statusPage`): only what the config
 * makes public. No URLs, probe names, error texts or project data.
 */
export interface PublicStatus {
  title: string;
  generatedAt: string;
  /** The worst component status. */
  overall: PublicComponent['status'];
  components: PublicComponent[];
  /** Incidents of the components' probes over 90 days, newest first. */
  incidents: PublicIncident[];
  /** Announced maintenance windows covering a component, now or later. */
  maintenance: (MaintenanceView & { components: string[] })[];
  /** Whether the page may be framed by other sites (`statusPage.allowFraming`). */
  allowFraming: boolean;
}

/** What a badge says; the page code renders it as SVG. */
export interface BadgeData {
  label: string;
  message: string;
  /** `good` green, `warn` amber, `bad` red, `unknown` grey. */
  tone: 'good' | 'warn' | 'bad' | 'unknown';
}
