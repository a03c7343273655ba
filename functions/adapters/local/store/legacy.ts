import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { dimsKey } from '../metric-store';
import type { StoreDb } from './database';
import { compactWindows } from './test-windows';

/**
 * Imports a data directory written by the file-based local mode (before the embedded store):
 * `runs/*.json` (ledger), `events.ndjson` (bus log), `dead-letter.ndjson`, `history/<project>/
 * runs.jsonl|tests.jsonl`, `alerts/state/*.json`, `alerts/history.ndjson`, `metrics.ndjson`.
 * Runs once, in one transaction; torn or corrupt lines are counted and skipped. The old files
 * then move to `legacy-files/` (kept for the user to delete). `archive/` stays where it is:
 * the old pointers still point into it.
 *
 * The old bus delivered its events in the process that wrote them: imported events count as
 * delivered (every subscriber's cursor starts after them).
 */

export const LEGACY_ENTRIES = [
  'runs',
  'events.ndjson',
  'dead-letter.ndjson',
  'history',
  'alerts',
  'metrics.ndjson',
] as const;

export interface ImportReport {
  ledger: number;
  events: number;
  deadLetters: number;
  runs: number;
  tests: number;
  alertStates: number;
  alertHistory: number;
  metrics: number;
  /** Lines or files that could not be read (torn, corrupt), skipped. */
  skipped: number;
  movedTo: string;
}

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** Parsed JSON lines of a file; unreadable lines are counted in `bad.skipped`. */
const lines = (path: string, bad: { skipped: number }): unknown[] => {
  const out: unknown[] = [];
  for (const line of read(path).split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      bad.skipped++;
    }
  }
  return out;
};

const SUBSCRIBERS = ['metrics', 'alerts', 'history', 'status'];

export const hasLegacyFiles = (dataDir: string): boolean =>
  LEGACY_ENTRIES.some((e) => existsSync(join(dataDir, e)));

export const importLegacy = (db: StoreDb, dataDir: string): ImportReport | undefined => {
  if (!hasLegacyFiles(dataDir)) return undefined;
  const done = db.q(`SELECT value FROM meta WHERE key = 'legacy_import'`).get() as
    | { value: string }
    | undefined;
  const report: ImportReport = {
    ledger: 0,
    events: 0,
    deadLetters: 0,
    runs: 0,
    tests: 0,
    alertStates: 0,
    alertHistory: 0,
    metrics: 0,
    skipped: 0,
    movedTo: join(dataDir, 'legacy-files'),
  };
  if (!done) db.tx(() => importAll(db, dataDir, report));
  // Move the old files aside (again, if a crash came between the import and the move).
  mkdirSync(report.movedTo, { recursive: true });
  for (const entry of LEGACY_ENTRIES) {
    const from = join(dataDir, entry);
    if (existsSync(from)) renameSync(from, join(report.movedTo, `${entry}.${Date.now()}`));
  }
  return report;
};

const importAll = (db: StoreDb, dataDir: string, report: ImportReport): void => {
  const object = (text: string): Record<string, unknown> | undefined => {
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === 'object') return v as Record<string, unknown>;
    } catch {
      // counted below
    }
    report.skipped++;
    return undefined;
  };

  const ledger = db.q(
    'INSERT OR REPLACE INTO ledger (key, fingerprint, done_at, response) VALUES (?, ?, ?, ?)',
  );
  for (const file of list(join(dataDir, 'runs')).filter((f) => f.endsWith('.json'))) {
    const e = object(read(join(dataDir, 'runs', file)));
    if (e?.state !== 'done' || typeof e.key !== 'string') continue;
    ledger.run(e.key, String(e.fingerprint), Number(e.claimedAt) || 0, JSON.stringify(e.response));
    report.ledger++;
  }

  const event = db.q('INSERT INTO events (body) VALUES (?)');
  for (const e of lines(join(dataDir, 'events.ndjson'), report)) {
    event.run(JSON.stringify(e));
    report.events++;
  }
  const last = (db.q('SELECT max(seq) AS s FROM events').get() as { s: number | null }).s ?? 0;
  const cursor = db.q('INSERT OR REPLACE INTO cursors (subscriber, seq) VALUES (?, ?)');
  for (const s of SUBSCRIBERS) cursor.run(s, last);

  const dead = db.q(
    'INSERT INTO dead_letters (subscriber, seq, at, error, body) VALUES (?, NULL, ?, ?, ?)',
  );
  for (const d of lines(join(dataDir, 'dead-letter.ndjson'), report) as Record<string, unknown>[]) {
    dead.run(String(d.rule), new Date().toISOString(), String(d.error), JSON.stringify(d.event));
    report.deadLetters++;
  }

  const run = db.q(
    `INSERT OR REPLACE INTO runs (project, key, expires_at, kind, branch, suite, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const test = db.q(
    `INSERT OR REPLACE INTO tests (project, id, expires_at, version, latest, flaky, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const dir of list(join(dataDir, 'history'))) {
    for (const l of lines(join(dataDir, 'history', dir, 'runs.jsonl'), report)) {
      const {
        key,
        expiresAt,
        run: r,
      } = l as { key?: string; expiresAt?: number; run?: Record<string, unknown> };
      if (typeof key !== 'string' || typeof r?.project !== 'string') {
        report.skipped++;
        continue;
      }
      run.run(
        r.project,
        key,
        expiresAt ?? 0,
        String(r.kind),
        r.branch ?? null,
        r.suite ?? null,
        JSON.stringify(r),
      );
      report.runs++;
    }
    for (const l of lines(join(dataDir, 'history', dir, 'tests.jsonl'), report)) {
      const { expiresAt, record: t } = l as {
        expiresAt?: number;
        record?: {
          project?: string;
          id?: string;
          version?: number;
          flaky?: unknown;
          outcomes?: { status?: string }[];
        };
      };
      if (
        typeof t?.project !== 'string' ||
        typeof t.id !== 'string' ||
        !Array.isArray(t.outcomes)
      ) {
        report.skipped++;
        continue;
      }
      test.run(
        t.project,
        t.id,
        expiresAt ?? 0,
        t.version ?? 1,
        t.outcomes.at(-1)?.status ?? null,
        t.flaky === undefined ? 0 : 1,
        JSON.stringify(t),
      );
      report.tests++;
    }
  }
  compactWindows(db); // the windows just imported, in the form the store keeps them

  const state = db.q(
    'INSERT OR REPLACE INTO alert_state (check_key, version, status, body) VALUES (?, ?, ?, ?)',
  );
  const stateDir = join(dataDir, 'alerts', 'state');
  for (const file of list(stateDir).filter((f) => f.endsWith('.json'))) {
    const s = object(read(join(stateDir, file)));
    if (typeof s?.checkKey !== 'string') continue;
    state.run(s.checkKey, Number(s.version) || 1, String(s.status), JSON.stringify(s));
    report.alertStates++;
  }
  const history = db.q('INSERT INTO alert_history (body) VALUES (?)');
  for (const n of lines(join(dataDir, 'alerts', 'history.ndjson'), report)) {
    history.run(JSON.stringify(n));
    report.alertHistory++;
  }

  const metric = db.q(
    'INSERT INTO metrics (name, ts, dims, unit, namespace, value) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const p of lines(join(dataDir, 'metrics.ndjson'), report) as Record<string, unknown>[]) {
    if (
      typeof p.name !== 'string' ||
      typeof p.timestamp !== 'number' ||
      typeof p.value !== 'number'
    ) {
      report.skipped++;
      continue;
    }
    const dims = (p.dimensions ?? {}) as Record<string, string>;
    metric.run(
      p.name,
      p.timestamp,
      dimsKey(dims),
      String(p.unit ?? 'None'),
      String(p.namespace ?? ''),
      p.value,
    );
    report.metrics++;
  }
  db.q(`INSERT INTO meta (key, value) VALUES ('legacy_import', ?)`).run(JSON.stringify(report));
};
