import type { AlertNotification, ProbeCompletedDetail } from '../events';

/**
 * Probe history and incidents: what the dashboard, the status page and the uptime badges
 * read. Written by a bus subscriber on every `Probe Completed` and `Alert State Changed`
 * event; read by the status API. DynamoDB on AWS, the embedded store locally, memory in tests.
 *
 * Every read is indexed by (project, probe) and time: no read scans all probes' samples.
 */

export type Resolution = 'minute' | 'hour' | 'day';

/** Counts and latency over one bucket of one probe. Buckets are aligned to UTC. */
export interface ProbeRollup {
  project: string;
  probe: string;
  resolution: Resolution;
  /** ISO start of the bucket (minute, hour or UTC day). */
  bucketStart: string;
  checks: number;
  failures: number;
  /** Latency quantiles over the bucket's samples, in ms (null when the bucket has none). */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
}

/** One failed sample, kept for the "recent failures" list (bounded per probe). */
export interface ProbeFailure {
  project: string;
  probe: string;
  checkedAt: string;
  correlationId: string;
  assertion: string;
  message: string;
  latencyMs: number;
  statusCode?: number;
  /** The step that failed (browser and multi-step checks). */
  step?: string;
  /** Each step's outcome and duration, in order (browser and multi-step checks). */
  steps?: { name: string; status: 'up' | 'down' | 'skipped'; latencyMs: number }[];
  /** A failed browser check's screenshot: its path on the artifact route (token needed). */
  screenshot?: string;
}

/** The latest sample of a probe (its status now). */
export interface ProbeLatest {
  project: string;
  probe: string;
  checkedAt: string;
  status: 'up' | 'down';
  latencyMs: number;
}

/** One incident: FIRING through RESOLVED (open while `resolvedAt` is absent). */
export interface Incident {
  incidentId: string;
  checkKey: string;
  project: string;
  source: AlertNotification['source'];
  severity: AlertNotification['severity'];
  title: string;
  since: string;
  firedAt: string;
  resolvedAt?: string;
  downtimeSeconds?: number;
  lastError?: string;
}

/** One probe's buckets of one resolution in [from, to). */
export interface RollupRange {
  project: string;
  probe: string;
  resolution: Resolution;
  from: string;
  to: string;
}

export interface ProbeCounts {
  checks: number;
  failures: number;
}

export interface ProbeHistoryStore {
  /** Record one sample: bumps its minute/hour/day rollups, the latest and (if down) the failures. Idempotent per correlationId. */
  record(sample: ProbeCompletedDetail): Promise<void>;
  /** Rollups of one probe in [from, to), oldest first. */
  rollups(q: {
    project: string;
    probe: string;
    resolution: Resolution;
    from: string;
    to: string;
  }): Promise<ProbeRollup[]>;
  /**
   * Checks and failures of one probe's rollups in [from, to), summed, without their latency:
   * uptime over a window, without reading (or computing quantiles of) every bucket's histogram.
   */
  counts(q: RollupRange): Promise<ProbeCounts>;
  /** The latest sample of every probe of a project (or of all projects when omitted). */
  latest(project?: string): Promise<ProbeLatest[]>;
  /** The newest failures of one probe, newest first. */
  failures(q: { project: string; probe: string; limit: number }): Promise<ProbeFailure[]>;
  /** Drop rollups and failures older than the retention (minute rollups keep at most 2 days). */
  prune(olderThan: string): Promise<void>;
}

export interface IncidentStore {
  /** Apply a FIRING (opens) or RESOLVED (closes) notification; REMINDER/NOTICE are ignored. Idempotent. */
  apply(notification: AlertNotification): Promise<void>;
  /** Incidents that overlap [from, to), newest first; `project` and `checkKey` narrow it. */
  list(q: {
    from: string;
    to: string;
    project?: string;
    checkKey?: string;
    limit?: number;
  }): Promise<Incident[]>;
}
