import type { AlertNotification, ProbeCompletedDetail } from '../../../core/events';
import { type Clock, systemClock } from '../../../core/ports';
import type { RunHeadline } from '../../../core/status/api';
import {
  headlineOf,
  latestKey,
  newer,
  type RunCatalog,
  type RunEntry,
} from '../../../core/status/catalog';
import type { RunDigest } from '../../../core/status/digest';
import { applyNotification } from '../../../core/status/incidents';
import {
  type BucketCounts,
  bucketStartMs,
  failureOf,
  type Histogram,
  latencyBin,
  latestOf,
  MAX_FAILURES_KEPT,
  MINUTE_RETENTION_DAYS,
  RESOLUTIONS,
  sampleKey,
  toRollup,
} from '../../../core/status/rollup';
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
} from '../../../core/status/types';
import { parseRecord, retentionReference, type StoreDb } from './database';

/**
 * The dashboard's data in the embedded store: probe rollups (minute, hour, day buckets with a
 * latency histogram), each probe's latest sample and newest failures, incidents and the run
 * catalog. Every write is one group-committed transaction (`batch`); every read is a key or
 * range lookup on an index. The stores are idempotent, as the bus delivers at least once.
 */

const DAY_MS = 86_400_000;

export class SqliteProbeHistoryStore implements ProbeHistoryStore {
  readonly #db: StoreDb;
  readonly #clock: Clock;

  constructor(db: StoreDb, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
  }

  record(sample: ProbeCompletedDetail): Promise<void> {
    return this.#db.batch(() => this.#record(sample));
  }

  #record(sample: ProbeCompletedDetail): void {
    const db = this.#db;
    const at = Date.parse(sample.metadata.checkedAt);
    const seen = db
      .q('INSERT OR IGNORE INTO probe_seen (key, at) VALUES (?, ?)')
      .run(sampleKey(sample), at);
    if (seen.changes === 0) return;
    const { project, probe } = sample.metadata;
    const bin = latencyBin(sample.latencyMs);
    const read = db.q(
      'SELECT checks, failures, hist FROM probe_buckets WHERE project = ? AND probe = ? AND resolution = ? AND start = ?',
    );
    const write = db.q(
      'INSERT OR REPLACE INTO probe_buckets (project, probe, resolution, start, checks, failures, hist) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const resolution of RESOLUTIONS) {
      const start = bucketStartMs(at, resolution);
      const row = read.get(project, probe, resolution, start) as BucketRow | undefined;
      const counts = row ? countsOf(row) : { checks: 0, failures: 0, hist: {} };
      counts.checks++;
      if (sample.status === 'down') counts.failures++;
      counts.hist[bin] = (counts.hist[bin] ?? 0) + 1;
      write.run(
        project,
        probe,
        resolution,
        start,
        counts.checks,
        counts.failures,
        JSON.stringify(counts.hist),
      );
    }
    const latest = latestOf(sample);
    db.q(
      `INSERT INTO probe_latest (project, probe, checked_at, body) VALUES (?, ?, ?, ?)
       ON CONFLICT (project, probe) DO UPDATE SET checked_at = excluded.checked_at, body = excluded.body
       WHERE excluded.checked_at >= probe_latest.checked_at`,
    ).run(project, probe, latest.checkedAt, JSON.stringify(latest));
    const failure = failureOf(sample);
    if (failure) {
      db.q(
        'INSERT OR IGNORE INTO probe_failures (project, probe, checked_at, key, body) VALUES (?, ?, ?, ?, ?)',
      ).run(project, probe, failure.checkedAt, sampleKey(sample), JSON.stringify(failure));
      // Only the newest MAX_FAILURES_KEPT per probe stay.
      db.q(
        `DELETE FROM probe_failures WHERE project = ? AND probe = ? AND (checked_at, key) NOT IN (
           SELECT checked_at, key FROM probe_failures WHERE project = ? AND probe = ?
           ORDER BY checked_at DESC, key DESC LIMIT ?)`,
      ).run(project, probe, project, probe, MAX_FAILURES_KEPT);
    }
  }

  async rollups(q: {
    project: string;
    probe: string;
    resolution: Resolution;
    from: string;
    to: string;
  }): Promise<ProbeRollup[]> {
    const rows = this.#db
      .q(
        `SELECT start, checks, failures, hist FROM probe_buckets
         WHERE project = ? AND probe = ? AND resolution = ? AND start >= ? AND start < ?
         ORDER BY start`,
      )
      .all(q.project, q.probe, q.resolution, Date.parse(q.from), Date.parse(q.to)) as (BucketRow & {
      start: number;
    })[];
    return rows.map((row) =>
      toRollup(
        {
          project: q.project,
          probe: q.probe,
          resolution: q.resolution,
          bucketStart: new Date(row.start).toISOString(),
        },
        countsOf(row),
      ),
    );
  }

  async counts(q: RollupRange): Promise<ProbeCounts> {
    const row = this.#db
      .q(
        `SELECT COALESCE(SUM(checks), 0) AS checks, COALESCE(SUM(failures), 0) AS failures
         FROM probe_buckets WHERE project = ? AND probe = ? AND resolution = ? AND start >= ? AND start < ?`,
      )
      .get(q.project, q.probe, q.resolution, Date.parse(q.from), Date.parse(q.to)) as ProbeCounts;
    return { checks: row.checks, failures: row.failures };
  }

  async latest(project?: string): Promise<ProbeLatest[]> {
    const rows = (
      project === undefined
        ? this.#db.q('SELECT body FROM probe_latest ORDER BY project, probe').all()
        : this.#db.q('SELECT body FROM probe_latest WHERE project = ? ORDER BY probe').all(project)
    ) as { body: string }[];
    return documents<ProbeLatest>(rows, 'probe latest');
  }

  async failures(q: { project: string; probe: string; limit: number }): Promise<ProbeFailure[]> {
    const rows = this.#db
      .q(
        `SELECT body FROM probe_failures WHERE project = ? AND probe = ?
         ORDER BY checked_at DESC, key DESC LIMIT ?`,
      )
      .all(q.project, q.probe, q.limit) as { body: string }[];
    return documents<ProbeFailure>(rows, 'probe failure');
  }

  /**
   * Drops what is older than `olderThan` (and minute buckets past theirs). Retention counts from
   * the newest sample when the clock is past it (`retentionReference`): a clock far ahead drops
   * nothing.
   */
  async prune(olderThan: string): Promise<void> {
    await this.#db.batch(() => {
      const now = this.#clock.now().getTime();
      const newest = this.#db
        .q(`SELECT max(start) AS t FROM probe_buckets WHERE resolution = 'minute'`)
        .get() as { t: number | null };
      const reference = retentionReference(now, newest.t === null ? undefined : newest.t + 60_000);
      const cutoff = Date.parse(olderThan) - (now - reference);
      const minuteCutoff = Math.max(cutoff, reference - MINUTE_RETENTION_DAYS * DAY_MS);
      const cutoffIso = new Date(cutoff).toISOString();
      this.#db
        .q('DELETE FROM probe_buckets WHERE resolution = ? AND start < ?')
        .run('minute', minuteCutoff);
      this.#db
        .q("DELETE FROM probe_buckets WHERE resolution <> 'minute' AND start < ?")
        .run(cutoff);
      this.#db.q('DELETE FROM probe_failures WHERE checked_at < ?').run(cutoffIso);
      this.#db.q('DELETE FROM probe_seen WHERE at < ?').run(minuteCutoff);
    });
  }
}

interface BucketRow {
  checks: number;
  failures: number;
  hist: string;
}

const countsOf = (row: BucketRow): BucketCounts => ({
  checks: row.checks,
  failures: row.failures,
  hist: parseRecord<Histogram>(row.hist, 'probe bucket histogram') ?? {},
});

/** The parsed documents of rows; a corrupt one is reported and skipped. */
const documents = <T>(rows: readonly { body: string }[], what: string): T[] =>
  rows.map((r) => parseRecord<T>(r.body, what)).filter((d): d is T & {} => d !== undefined);

export class SqliteIncidentStore implements IncidentStore {
  readonly #db: StoreDb;

  constructor(db: StoreDb) {
    this.#db = db;
  }

  apply(notification: AlertNotification): Promise<void> {
    return this.#db.batch(() => {
      const row = this.#db
        .q('SELECT body FROM incidents WHERE incident_id = ?')
        .get(notification.incidentId) as { body: string } | undefined;
      const current = row ? parseRecord<Incident>(row.body, 'incident') : undefined;
      const next = applyNotification(current, notification);
      if (!next) return;
      this.#db
        .q(
          `INSERT OR REPLACE INTO incidents (incident_id, project, check_key, fired_at, resolved_at, body)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(
          next.incidentId,
          next.project,
          next.checkKey,
          next.firedAt,
          next.resolvedAt ?? null,
          JSON.stringify(next),
        );
    });
  }

  async list(q: {
    from: string;
    to: string;
    project?: string;
    checkKey?: string;
    limit?: number;
  }): Promise<Incident[]> {
    // Fired before the end, and open or resolved after the start: the index narrows by time.
    const rows = this.#db
      .q(
        `SELECT body FROM incidents WHERE fired_at < ? AND (resolved_at IS NULL OR resolved_at >= ?)
         AND (? IS NULL OR project = ?) AND (? IS NULL OR check_key = ?)
         ORDER BY fired_at DESC, incident_id DESC LIMIT ?`,
      )
      .all(
        q.to,
        q.from,
        q.project ?? null,
        q.project ?? null,
        q.checkKey ?? null,
        q.checkKey ?? null,
        q.limit ?? -1,
      ) as { body: string }[];
    // The query is `overlaps` and `byFiredDesc` (core/status/incidents.ts) in SQL.
    return documents<Incident>(rows, 'incident');
  }

  /**
   * Drops incidents resolved before `olderThan`, counted from the newest incident's start when
   * `now` (default: the clock) is past it (`retentionReference`).
   */
  prune(olderThan: string, now = Date.now()): Promise<void> {
    return this.#db.batch(() => {
      const newest = this.#db.q('SELECT max(fired_at) AS t FROM incidents').get() as {
        t: string | null;
      };
      const reference = retentionReference(
        now,
        newest.t === null ? undefined : Date.parse(newest.t),
      );
      const cutoff = new Date(Date.parse(olderThan) - (now - reference)).toISOString();
      this.#db.q('DELETE FROM incidents WHERE resolved_at < ?').run(cutoff);
    });
  }
}

export class SqliteRunCatalog implements RunCatalog {
  readonly #db: StoreDb;
  readonly #clock: Clock;

  constructor(db: StoreDb, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
  }

  record(entry: RunEntry, ttlDays: number): Promise<void> {
    return this.#db.batch(() => {
      const headline = headlineOf(entry);
      const expiresAt = this.#clock.now().getTime() + ttlDays * DAY_MS;
      // The digest (up to 256 KB) in its own table: trends read many runs' bodies.
      const { digest, ...body } = entry;
      const inserted = this.#db
        .q(
          `INSERT OR IGNORE INTO run_catalog (project, run_id, kind, branch, ingested_at, expires_at, body)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          entry.project,
          entry.runId,
          entry.kind,
          entry.branch ?? null,
          entry.ingestedAt,
          expiresAt,
          JSON.stringify(body),
        );
      if (inserted.changes === 0) return;
      if (digest)
        this.#db
          .q('INSERT INTO run_digests (project, run_id, expires_at, body) VALUES (?, ?, ?, ?)')
          .run(entry.project, entry.runId, expiresAt, JSON.stringify(digest));
      const key = latestKey(headline);
      const row = this.#db.q('SELECT body FROM run_latest WHERE series = ?').get(key) as
        | { body: string }
        | undefined;
      const current = row ? parseRecord<RunHeadline>(row.body, 'latest run') : undefined;
      if (current && !newer(headline, current)) return;
      this.#db
        .q('INSERT OR REPLACE INTO run_latest (series, body) VALUES (?, ?)')
        .run(key, JSON.stringify(headline));
    });
  }

  async get(project: string, runId: string): Promise<RunEntry | undefined> {
    const row = this.#db
      .q(
        `SELECT c.body, d.body AS digest FROM run_catalog c
         LEFT JOIN run_digests d ON d.project = c.project AND d.run_id = c.run_id
         WHERE c.project = ? AND c.run_id = ?`,
      )
      .get(project, runId) as { body: string; digest: string | null } | undefined;
    if (!row) return undefined;
    const entry = parseRecord<RunEntry>(row.body, `run ${project}/${runId}`);
    // A corrupt digest is skipped (reported): the run detail then reads the archive.
    const digest =
      row.digest === null
        ? undefined
        : parseRecord<RunDigest>(row.digest, `run digest ${project}/${runId}`);
    return entry && digest ? { ...entry, digest } : entry;
  }

  async latest(): Promise<RunHeadline[]> {
    return documents<RunHeadline>(
      this.#db.q('SELECT body FROM run_latest').all() as { body: string }[],
      'latest run',
    );
  }

  async trend(q: {
    project: string;
    kind: RunHeadline['kind'];
    branch: string;
    limit: number;
  }): Promise<RunHeadline[]> {
    const rows = this.#db
      .q(
        `SELECT body FROM run_catalog WHERE project = ? AND kind = ? AND branch = ?
         ORDER BY ingested_at DESC, run_id DESC LIMIT ?`,
      )
      .all(q.project, q.kind, q.branch, q.limit) as { body: string }[];
    return documents<RunEntry>(rows, 'run').map(headlineOf);
  }

  /**
   * Drops runs past their time to live (the latest of a series stays: the overview needs it),
   * measured at the clock but never past the newest run (`retentionReference`).
   */
  prune(): Promise<void> {
    return this.#db.batch(() => {
      const newest = this.#db.q('SELECT max(ingested_at) AS t FROM run_catalog').get() as {
        t: string | null;
      };
      const now = retentionReference(
        this.#clock.now().getTime(),
        newest.t === null ? undefined : Date.parse(newest.t),
      );
      this.#db.q('DELETE FROM run_catalog WHERE expires_at < ?').run(now);
      this.#db.q('DELETE FROM run_digests WHERE expires_at < ?').run(now);
    });
  }
}
