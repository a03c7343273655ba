import type { AlertNotification, ProbeCompletedDetail } from '../../core/events';
import { type Clock, systemClock } from '../../core/ports';
import type { RunHeadline } from '../../core/status/api';
import {
  headlineOf,
  latestKey,
  newer,
  type RunCatalog,
  type RunEntry,
} from '../../core/status/catalog';
import { applyNotification, byFiredDesc, overlaps } from '../../core/status/incidents';
import {
  type BucketCounts,
  bucketStartMs,
  failureOf,
  latencyBin,
  latestOf,
  MAX_FAILURES_KEPT,
  MINUTE_RETENTION_DAYS,
  RESOLUTIONS,
  sampleKey,
  toRollup,
} from '../../core/status/rollup';
import type {
  Incident,
  IncidentStore,
  ProbeCounts,
  ProbeFailure,
  ProbeHistoryStore,
  ProbeLatest,
  ProbeRollup,
  Resolution,
  RollupRange,
} from '../../core/status/types';

/**
 * The status ports in memory: the contract suite's reference and the bench's (local mode keeps
 * the same data in the embedded store: store/status-store.ts).
 */

const probeKey = (project: string, probe: string): string => `${project}\n${probe}`;

export class MemoryProbeHistoryStore implements ProbeHistoryStore {
  private readonly seen = new Map<string, number>();
  private readonly buckets = new Map<string, Map<number, BucketCounts>>();
  private readonly latestByProbe = new Map<string, ProbeLatest>();
  private readonly failuresByProbe = new Map<string, ProbeFailure[]>();

  constructor(private readonly clock: Clock = systemClock) {}

  async record(sample: ProbeCompletedDetail): Promise<void> {
    this.recordSync(sample);
  }

  /** `record` without the promise (bulk loads). */
  recordSync(sample: ProbeCompletedDetail): void {
    const key = sampleKey(sample);
    const at = Date.parse(sample.metadata.checkedAt);
    if (this.seen.has(key)) return;
    this.seen.set(key, at);
    const { project, probe } = sample.metadata;
    const pk = probeKey(project, probe);
    const bin = latencyBin(sample.latencyMs);
    for (const resolution of RESOLUTIONS) {
      const series = this.series(pk, resolution);
      const start = bucketStartMs(at, resolution);
      const counts = series.get(start) ?? { checks: 0, failures: 0, hist: {} };
      counts.checks++;
      if (sample.status === 'down') counts.failures++;
      counts.hist[bin] = (counts.hist[bin] ?? 0) + 1;
      series.set(start, counts);
    }
    const latest = this.latestByProbe.get(pk);
    if (!latest || latest.checkedAt <= sample.metadata.checkedAt)
      this.latestByProbe.set(pk, latestOf(sample));
    const failure = failureOf(sample);
    if (failure) {
      const list = this.failuresByProbe.get(pk) ?? [];
      list.push(failure);
      list.sort((a, b) => (a.checkedAt < b.checkedAt ? 1 : a.checkedAt > b.checkedAt ? -1 : 0));
      this.failuresByProbe.set(pk, list.slice(0, MAX_FAILURES_KEPT));
    }
  }

  async counts(q: RollupRange): Promise<ProbeCounts> {
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    const series = this.buckets.get(`${probeKey(q.project, q.probe)}\n${q.resolution}`);
    const sum = { checks: 0, failures: 0 };
    for (const [start, c] of series ?? [])
      if (start >= from && start < to) {
        sum.checks += c.checks;
        sum.failures += c.failures;
      }
    return sum;
  }

  private series(pk: string, resolution: Resolution): Map<number, BucketCounts> {
    const key = `${pk}\n${resolution}`;
    let series = this.buckets.get(key);
    if (!series) {
      series = new Map();
      this.buckets.set(key, series);
    }
    return series;
  }

  async rollups(q: {
    project: string;
    probe: string;
    resolution: Resolution;
    from: string;
    to: string;
  }): Promise<ProbeRollup[]> {
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    const series = this.buckets.get(`${probeKey(q.project, q.probe)}\n${q.resolution}`);
    if (!series) return [];
    return [...series.entries()]
      .filter(([start]) => start >= from && start < to)
      .sort((a, b) => a[0] - b[0])
      .map(([start, counts]) =>
        toRollup(
          {
            project: q.project,
            probe: q.probe,
            resolution: q.resolution,
            bucketStart: new Date(start).toISOString(),
          },
          counts,
        ),
      );
  }

  async latest(project?: string): Promise<ProbeLatest[]> {
    return [...this.latestByProbe.values()]
      .filter((l) => project === undefined || l.project === project)
      .sort((a, b) => (probeKey(a.project, a.probe) < probeKey(b.project, b.probe) ? -1 : 1));
  }

  async failures(q: { project: string; probe: string; limit: number }): Promise<ProbeFailure[]> {
    return (this.failuresByProbe.get(probeKey(q.project, q.probe)) ?? []).slice(0, q.limit);
  }

  async prune(olderThan: string): Promise<void> {
    const cutoff = Date.parse(olderThan);
    const minuteCutoff = Math.max(
      cutoff,
      this.clock.now().getTime() - MINUTE_RETENTION_DAYS * 86_400_000,
    );
    for (const [key, series] of this.buckets) {
      const limit = key.endsWith('\nminute') ? minuteCutoff : cutoff;
      for (const start of series.keys()) if (start < limit) series.delete(start);
    }
    for (const [key, list] of this.failuresByProbe)
      this.failuresByProbe.set(
        key,
        list.filter((f) => Date.parse(f.checkedAt) >= cutoff),
      );
    for (const [key, at] of this.seen) if (at < minuteCutoff) this.seen.delete(key);
  }
}

export class MemoryIncidentStore implements IncidentStore {
  private readonly byId = new Map<string, Incident>();

  async apply(notification: AlertNotification): Promise<void> {
    this.applySync(notification);
  }

  applySync(notification: AlertNotification): void {
    const next = applyNotification(this.byId.get(notification.incidentId), notification);
    if (next) this.byId.set(next.incidentId, next);
  }

  async list(q: {
    from: string;
    to: string;
    project?: string;
    checkKey?: string;
    limit?: number;
  }): Promise<Incident[]> {
    return [...this.byId.values()]
      .filter(
        (i) =>
          overlaps(i, q.from, q.to) &&
          (q.project === undefined || i.project === q.project) &&
          (q.checkKey === undefined || i.checkKey === q.checkKey),
      )
      .sort(byFiredDesc)
      .slice(0, q.limit ?? Number.POSITIVE_INFINITY);
  }
}

export class MemoryRunCatalog implements RunCatalog {
  private readonly byId = new Map<string, RunEntry>();
  private readonly latestRuns = new Map<string, RunHeadline>();
  private readonly trends = new Map<string, RunHeadline[]>();

  async record(entry: RunEntry): Promise<void> {
    this.recordSync(entry);
  }

  recordSync(entry: RunEntry): void {
    const id = `${entry.project}\n${entry.runId}`;
    if (this.byId.has(id)) return;
    this.byId.set(id, entry);
    const headline = headlineOf(entry);
    const lk = latestKey(headline);
    const current = this.latestRuns.get(lk);
    if (!current || newer(headline, current)) this.latestRuns.set(lk, headline);
    if (entry.branch !== undefined) {
      const tk = `${entry.project}\n${entry.kind}\n${entry.branch}`;
      const list = this.trends.get(tk) ?? [];
      list.push(headline);
      this.trends.set(tk, list);
    }
  }

  async get(project: string, runId: string): Promise<RunEntry | undefined> {
    return this.byId.get(`${project}\n${runId}`);
  }

  async latest(): Promise<RunHeadline[]> {
    return [...this.latestRuns.values()];
  }

  async trend(q: {
    project: string;
    kind: RunHeadline['kind'];
    branch: string;
    limit: number;
  }): Promise<RunHeadline[]> {
    const list = this.trends.get(`${q.project}\n${q.kind}\n${q.branch}`) ?? [];
    return [...list].sort((a, b) => (newer(a, b) ? -1 : 1)).slice(0, q.limit);
  }
}
