import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Clock, systemClock } from '../../../core/ports';
import { logger } from '../../../shared/powertools';
import { FileArchive } from '../archive';
import { LocalMetricStore } from '../metric-store';
import { SqliteAlertStore } from './alert-store';
import { type OpenOptions, StoreDb } from './database';
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
    mkdirSync(this.dataDir, { recursive: true });
    this.#lock = opts.lock === false ? undefined : lockDataDir(this.dataDir);
    try {
      this.db = new StoreDb(this.dataDir, opts);
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

  /** Drops what is past its retention; returns what went (the dashboard's data in the background). */
  prune(retention: RetentionOptions = {}): { events: number; metrics: number; history: number } {
    const now = this.#clock.now().getTime();
    const statusCutoff = new Date(now - (retention.statusDays ?? 90) * DAY_MS).toISOString();
    void Promise.all([
      this.status.probes.prune(statusCutoff),
      this.status.incidents.prune(statusCutoff),
      this.status.catalog.prune(),
    ]).catch((error) =>
      logger.error('pruning the dashboard data failed; will try again', { error }),
    );
    return {
      events: this.db.tx(() => this.log.prune(now - (retention.eventHours ?? 24) * 3_600_000)),
      metrics: this.metrics.prune(
        now - (retention.metricDays ?? 30) * DAY_MS,
        now - (retention.rollupDays ?? 400) * DAY_MS,
      ),
      history: this.db.tx(() => this.history.prune()),
    };
  }

  close(): void {
    this.db.close();
    this.#lock?.release();
  }
}
