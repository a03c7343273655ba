import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Clock, systemClock } from '../../../core/ports';
import { logger } from '../../../shared/powertools';
import { FileArchive } from '../archive';
import { LocalMetricStore } from '../metric-store';
import { SqliteAlertStore } from './alert-store';
import { type OpenOptions, retentionReference, StoreDb, storeFailure } from './database';
import { EventLog } from './event-log';
import { SqliteHeartbeatStore } from './heartbeat-store';
import { SqliteHistoryStore } from './history-store';
import { SqliteRunLedger } from './ledger';
import { type ImportReport, importLegacy } from './legacy';
import { type DataDirLock, lockDataDir } from './lock';
import { SqliteIncidentStore, SqliteProbeHistoryStore, SqliteRunCatalog } from './status-store';

/**
 * Local mode's state in one place: `<dataDir>/vigil.db` (ledger, event log and cursors,
 * history, alert state, heartbeat state, metrics, probe results) and `<dataDir>/archive/` (raw reports as
 * content-addressed files). `open` takes the data directory's lock, checks the database,
 * imports a file-format data directory once, and hands the alert sends a previous process
 * left half done back to the outbox.
 */

export interface RetentionOptions {
  /** Raw metric points, days (then rolled up per hour). Default 30. */
  metricDays?: number;
  /** Hourly metric rollups, days. Default 400. */
  rollupDays?: number;
  /** Delivered events, hours (kept for replay and debugging). Default 24. */
  eventHours?: number;
  /** Probe rollups, failures and resolved incidents, days. Default 90. */
  statusDays?: number;
}

export interface LocalStoreOptions extends OpenOptions {
  clock?: Clock;
  /** Take the data directory's lock (default true; a worker thread of the owner passes false). */
  lock?: boolean;
  /** Notifications kept in the alert history. Default 200. */
  alertHistoryLimit?: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The clock is warned about when it is this far behind the newest record... */
const BEHIND_WARN_MS = DAY_MS;
/** ...or this far past it (the store idle that long, or the clock ahead). */
const AHEAD_WARN_MS = 7 * DAY_MS;

/** Warns when the clock is far from the newest record's time (the data's newest of `times`). */
const warnOfClockSkew = (now: number, times: readonly (number | undefined)[]): void => {
  const known = times.filter((t): t is number => t !== undefined && Number.isFinite(t));
  if (known.length === 0) return;
  const newest = Math.max(...known);
  const at = new Date(newest).toISOString();
  if (now < newest - BEHIND_WARN_MS)
    logger.warn(
      'the clock is behind the newest record: check the system clock; what it writes is dated in the past and goes once newer data is past its retention',
      {
        now: new Date(now).toISOString(),
        newestRecord: at,
        behindHours: Math.round((newest - now) / HOUR_MS),
      },
    );
  else if (now > newest + AHEAD_WARN_MS)
    logger.warn(
      'the clock is far past the newest record: retention counts from that record, so nothing is dropped for it; if the clock is wrong, fix it before new data arrives',
      {
        now: new Date(now).toISOString(),
        newestRecord: at,
        aheadDays: Math.round((now - newest) / DAY_MS),
      },
    );
};

export class LocalStore {
  readonly dataDir: string;
  readonly db: StoreDb;
  readonly log: EventLog;
  readonly ledger: SqliteRunLedger;
  readonly history: SqliteHistoryStore;
  readonly alerts: SqliteAlertStore;
  readonly heartbeats: SqliteHeartbeatStore;
  readonly metrics: LocalMetricStore;
  readonly archive: FileArchive;
  /** The dashboard's data: probe rollups, incidents, the run catalog. */
  readonly status: {
    probes: SqliteProbeHistoryStore;
    incidents: SqliteIncidentStore;
    catalog: SqliteRunCatalog;
  };
  /** What was imported from a file-format data directory at this open, if anything. */
  readonly imported: ImportReport | undefined;
  readonly #lock: DataDirLock | undefined;
  readonly #clock: Clock;

  private constructor(dataDir: string, opts: LocalStoreOptions) {
    this.dataDir = resolve(dataDir);
    this.#clock = opts.clock ?? systemClock;
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    this.#lock = opts.lock === false ? undefined : lockDataDir(this.dataDir);
    if (this.#lock) ownerOnly(this.dataDir);
    try {
      // The owner's connection tells clients what it stored (an ingest's 202): its writes are
      // on disk before they resolve.
      this.db = new StoreDb(this.dataDir, { durableBatches: this.#lock !== undefined, ...opts });
      if (this.#lock) {
        this.imported = importLegacy(this.db, this.dataDir);
        if (this.imported)
          logger.info('imported a file-format data directory', { ...this.imported });
        const released = SqliteAlertStore.releaseSenders(this.db);
        if (released)
          logger.info('alert sends of the previous process go back to the outbox', { released });
      }
    } catch (e) {
      this.#lock?.release();
      throw e;
    }
    this.log = new EventLog(this.db);
    this.ledger = new SqliteRunLedger(this.db, this.log);
    this.history = new SqliteHistoryStore(this.db, { clock: this.#clock });
    this.alerts = new SqliteAlertStore(this.db, { historyLimit: opts.alertHistoryLimit });
    this.heartbeats = new SqliteHeartbeatStore(this.db);
    this.metrics = new LocalMetricStore(this.db);
    this.archive = new FileArchive(this.dataDir);
    this.status = {
      probes: new SqliteProbeHistoryStore(this.db, this.#clock),
      incidents: new SqliteIncidentStore(this.db),
      catalog: new SqliteRunCatalog(this.db, this.#clock),
    };
  }

  static open(dataDir: string, opts: LocalStoreOptions = {}): LocalStore {
    return new LocalStore(dataDir, opts);
  }

  /** Problems the integrity check found at open (empty: healthy). */
  get problems(): readonly string[] {
    return this.db.problems;
  }

  /**
   * Drops what is past its retention; returns what went (the dashboard's data in the background:
   * `dashboard` settles when it is done).
   * Retention counts from the clock, but never past the newest record of the data it applies to
   * (`retentionReference`): a clock far ahead drops nothing, and a record goes only once newer
   * data is past its retention. A clock far from the newest record is warned about. Each part
   * is pruned on its own: one that fails (a damaged page, a full disk) is logged, the others go on.
   */
  prune(retention: RetentionOptions = {}): {
    events: number;
    metrics: number;
    /** Runs and tests past their retention. */
    history: number;
    /** Parts of the tests' outcome windows no test holds any more: space, not records. */
    historyWindowParts: number;
    /** The dashboard's data, pruned in the background: settles when done (never rejects). */
    dashboard: Promise<void>;
  } {
    const now = this.#clock.now().getTime();
    const step = (what: string, fn: () => number): number => {
      try {
        return fn();
      } catch (e) {
        logger.error(`pruning ${what} failed; will try again`, {
          error: storeFailure(e, `prune ${what}`),
        });
        return 0;
      }
    };
    const newest: (number | undefined)[] = [];
    let historyWindowParts = 0;
    const statusCutoff = new Date(now - (retention.statusDays ?? 90) * DAY_MS).toISOString();
    const dashboard = Promise.all([
      this.status.probes.prune(statusCutoff),
      this.status.incidents.prune(statusCutoff, now),
      this.status.catalog.prune(),
    ]).then(
      () => undefined,
      (error: unknown) =>
        logger.error('pruning the dashboard data failed; will try again', {
          error: storeFailure(error, 'prune the dashboard data'),
        }),
    );
    const pruned = {
      events: step('the event log', () => {
        const time = this.log.newestTime();
        newest.push(time);
        const reference = retentionReference(now, time);
        return this.db.tx(() => this.log.prune(reference - (retention.eventHours ?? 24) * HOUR_MS));
      }),
      metrics: step('the metrics', () => {
        const { t } = this.db
          .q(
            `SELECT coalesce((SELECT max(ts) FROM metrics), (SELECT max(hour) + ${HOUR_MS} FROM metric_rollups)) AS t`,
          )
          .get() as { t: number | null };
        const reference = retentionReference(now, t);
        newest.push(t ?? undefined);
        return this.metrics.prune(
          reference - (retention.metricDays ?? 30) * DAY_MS,
          reference - (retention.rollupDays ?? 400) * DAY_MS,
        );
      }),
      history: step('the history', () => {
        newest.push(this.history.newest());
        const { records, windowParts } = this.db.tx(() => this.history.prune());
        historyWindowParts = windowParts;
        return records;
      }),
    };
    warnOfClockSkew(now, newest);
    return { ...pruned, historyWindowParts, dashboard };
  }

  close(): void {
    this.db.close();
    this.#lock?.release();
  }
}

/**
 * The data directory holds every report, the history and the alert state, which the API serves
 * only with a token: other local users may not read it (reports, tokens in its `token` file).
 * Made owner-only at each start, so a directory made by an earlier version (or with a wide
 * umask) is closed too; one this user cannot change is said so, and used as it is.
 */
const ownerOnly = (dir: string): void => {
  try {
    if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  } catch (error) {
    logger.warn(
      'could not make the data directory owner-only (chmod 700): other users may read it',
      {
        dir,
        error: error instanceof Error ? error.message : String(error),
      },
    );
  }
};
