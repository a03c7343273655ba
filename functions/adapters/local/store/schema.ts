import { logger } from '../../../shared/powertools';
import type { StoreDb } from './database';
import { compactWindows } from './test-windows';

/**
 * The store's tables. Documents are JSON text (`body`), so fields added to a record are kept
 * without a schema change; the other columns are what queries filter and sort on. Text keys
 * sort by their UTF-8 bytes (SQLite's BINARY collation), as DynamoDB sorts string keys. A
 * test's `body` is its record without the window, which is in `window` (see test-windows.ts).
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS ledger (
  key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, done_at INTEGER NOT NULL, response TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (subscriber TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS acks (
  subscriber TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (subscriber, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY, subscriber TEXT NOT NULL, seq INTEGER, at TEXT NOT NULL,
  error TEXT NOT NULL, body TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
  project TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL, kind TEXT NOT NULL,
  branch TEXT, suite TEXT, body TEXT NOT NULL, PRIMARY KEY (project, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tests (
  project TEXT NOT NULL, id TEXT NOT NULL, expires_at INTEGER NOT NULL, version INTEGER NOT NULL,
  latest TEXT, flaky INTEGER NOT NULL, body TEXT NOT NULL, window TEXT, min_ref INTEGER,
  PRIMARY KEY (project, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS window_runs (
  ref INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, run_id TEXT NOT NULL,
  at TEXT NOT NULL, branch TEXT, commit_id TEXT
);
CREATE INDEX IF NOT EXISTS window_runs_by_run ON window_runs (project, run_id);
CREATE INDEX IF NOT EXISTS tests_by_latest ON tests (project, latest, id);
CREATE INDEX IF NOT EXISTS tests_by_flaky ON tests (project, flaky, id);

CREATE TABLE IF NOT EXISTS alert_state (
  check_key TEXT PRIMARY KEY, version INTEGER NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS heartbeat_state (
  key TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS metrics (
  name TEXT NOT NULL, ts INTEGER NOT NULL, dims TEXT NOT NULL, unit TEXT NOT NULL,
  namespace TEXT NOT NULL, value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_by_name ON metrics (name, ts);
CREATE INDEX IF NOT EXISTS metrics_by_ts ON metrics (ts);
CREATE TABLE IF NOT EXISTS metric_rollups (
  name TEXT NOT NULL, dims TEXT NOT NULL, unit TEXT NOT NULL, namespace TEXT NOT NULL,
  hour INTEGER NOT NULL, count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL,
  max REAL NOT NULL, PRIMARY KEY (name, dims, hour)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS probe_seen (key TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS probe_seen_by_at ON probe_seen (at);
CREATE TABLE IF NOT EXISTS probe_buckets (
  project TEXT NOT NULL, probe TEXT NOT NULL, resolution TEXT NOT NULL, start INTEGER NOT NULL,
  checks INTEGER NOT NULL, failures INTEGER NOT NULL, hist TEXT NOT NULL,
  PRIMARY KEY (project, probe, resolution, start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS probe_buckets_by_start ON probe_buckets (resolution, start);
CREATE TABLE IF NOT EXISTS probe_latest (
  project TEXT NOT NULL, probe TEXT NOT NULL, checked_at TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (project, probe)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS probe_failures (
  project TEXT NOT NULL, probe TEXT NOT NULL, checked_at TEXT NOT NULL, key TEXT NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (project, probe, checked_at, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS probe_failures_by_time ON probe_failures (checked_at);
CREATE TABLE IF NOT EXISTS incidents (
  incident_id TEXT PRIMARY KEY, project TEXT NOT NULL, check_key TEXT NOT NULL,
  fired_at TEXT NOT NULL, resolved_at TEXT, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS incidents_by_fired ON incidents (fired_at);
CREATE TABLE IF NOT EXISTS run_catalog (
  project TEXT NOT NULL, run_id TEXT NOT NULL, kind TEXT NOT NULL, branch TEXT,
  ingested_at TEXT NOT NULL, expires_at INTEGER NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (project, run_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_catalog_trend ON run_catalog (project, kind, branch, ingested_at, run_id);
CREATE INDEX IF NOT EXISTS run_catalog_by_expiry ON run_catalog (expires_at);
CREATE TABLE IF NOT EXISTS run_latest (series TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_digests (
  project TEXT NOT NULL, run_id TEXT NOT NULL, expires_at INTEGER NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (project, run_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_digests_by_expiry ON run_digests (expires_at);
`;

/** The schema's version, in `PRAGMA user_version`; `migrate` brings an older store up to it. */
export const SCHEMA_VERSION = 1;

const userVersion = (db: StoreDb): number =>
  (db.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;

/**
 * Upgrades a store written by an older version in place, in one transaction, at open (after
 * `SCHEMA` created what was missing). Version 1: compact test windows (columns `window` and
 * `min_ref`, table `window_runs`; the windows kept in `body` until then are converted).
 */
export const migrate = (db: StoreDb): void => {
  if (userVersion(db) >= SCHEMA_VERSION) return;
  db.tx(() => {
    if (userVersion(db) >= SCHEMA_VERSION) return; // another connection did it meanwhile
    const columns = db.db.prepare('PRAGMA table_info(tests)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'window'))
      db.db.exec(
        'ALTER TABLE tests ADD COLUMN window TEXT; ALTER TABLE tests ADD COLUMN min_ref INTEGER',
      );
    const converted = compactWindows(db);
    if (converted > 0) logger.info('test windows stored compactly', { tests: converted });
    db.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
};
