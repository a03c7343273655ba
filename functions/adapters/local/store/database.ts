import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import { VigilError } from '../../../core/errors';
import { logger } from '../../../shared/powertools';
import { SCHEMA } from './schema';

/**
 * The embedded store's database: `<dataDir>/vigil.db`, SQLite (through libsql, which ships
 * prebuilt binaries in its npm packages) in WAL mode. Every write is a short transaction;
 * SQLite lets one writer at a time in (the others wait up to `busy_timeout`), readers never
 * wait. After a crash SQLite replays the WAL's complete transactions and ignores a torn tail,
 * so a transaction is either wholly there or not at all.
 */

export type Db = InstanceType<typeof Database>;
/** A prepared statement (positional parameters). */
export interface Statement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export const DB_FILE = 'vigil.db';

export interface OpenOptions {
  /**
   * `normal` (default): a committed transaction survives a crash of the process (kill -9, OOM);
   * a power cut can lose the last ones. `full`: it also survives a power cut (one fsync per
   * commit, several times slower).
   */
  synchronous?: 'normal' | 'full';
  /** Told about damage found (and skipped) at start. Default: the shared logger. */
  onProblem?: (message: string, details: Record<string, unknown>) => void;
}

const code = (e: unknown): string => String((e as { code?: unknown }).code ?? '');

/** Errors that mean "no space": SQLite's SQLITE_FULL (any extended code) and the file system's. */
export const isDiskFull = (e: unknown): boolean =>
  code(e).startsWith('SQLITE_FULL') || code(e) === 'ENOSPC' || code(e) === 'EDQUOT';

/**
 * What the store throws when it cannot write: a full disk (or an I/O error) is a retryable 503
 * with a message saying what to do; the process keeps running and the next write tries again.
 */
export const storeFailure = (e: unknown, what: string): unknown => {
  if (e instanceof VigilError) return e;
  if (isDiskFull(e))
    return new VigilError(
      'unavailable',
      `The data directory is full: could not ${what}. Nothing was stored; free some disk space and retry (Vigil resumes by itself).`,
    );
  if (code(e).startsWith('SQLITE_IOERR') || code(e) === 'EIO' || code(e).startsWith('SQLITE_BUSY'))
    return new VigilError(
      'unavailable',
      `The local store could not ${what} (${code(e)}); nothing was stored, retry later.`,
    );
  return e;
};

/** Runs `fn`, turning store failures into retryable errors. */
export const guarded = <T>(what: string, fn: () => T): T => {
  try {
    return fn();
  } catch (e) {
    throw storeFailure(e, what);
  }
};

const defaultProblem = (message: string, details: Record<string, unknown>) =>
  logger.error(message, details);

/**
 * Parses a stored JSON document; a corrupt one is reported and skipped (undefined), never
 * thrown: one bad record must not take a listing, or the server, down with it.
 */
export const parseRecord = <T>(text: unknown, where: string): T | undefined => {
  if (typeof text === 'string')
    try {
      return JSON.parse(text) as T;
    } catch {
      // reported below
    }
  logger.error('corrupt record skipped', { where });
  return undefined;
};

/** A database with a statement cache: `q(sql)` prepares once per connection. */
export class StoreDb {
  readonly db: Db;
  readonly path: string;
  /** Problems `PRAGMA quick_check` found at open (empty when healthy). */
  readonly problems: string[];
  readonly #statements = new Map<string, Statement>();
  #queue: { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];

  constructor(dataDir: string, opts: OpenOptions = {}) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, DB_FILE);
    const onProblem = opts.onProblem ?? defaultProblem;
    let opened = openChecked(this.path, onProblem);
    if (!opened) {
      // Not a database at all (overwritten, truncated header): keep it aside, start anew.
      const aside = `${this.path}.corrupt-${Date.now()}`;
      for (const suffix of ['', '-wal', '-shm'])
        if (existsSync(this.path + suffix)) renameSync(this.path + suffix, aside + suffix);
      onProblem('the store was unreadable and was moved aside; starting with an empty one', {
        movedTo: aside,
      });
      opened = openChecked(this.path, onProblem);
      if (!opened) throw new Error(`cannot create the store at ${this.path}`);
    }
    this.db = opened.db;
    this.problems = opened.problems;
    this.db.exec(`PRAGMA synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(SCHEMA);
  }

  q(sql: string): Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql) as unknown as Statement;
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE: takes the write lock up front). */
  tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (e) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // SQLite already rolled it back (it does on some errors, e.g. a full disk).
      }
      throw e;
    }
  }

  /**
   * Group commit: `fn` runs, with the other writes queued in the same turn of the event loop,
   * in one transaction (each in its own savepoint, so one that throws undoes only itself).
   * Resolves once the transaction is committed; a failed commit (full disk) rejects them all.
   */
  batch<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.tx(() => {
        for (const item of queue) {
          this.db.exec('SAVEPOINT item');
          try {
            outcomes.push({ ok: true, value: item.fn() });
            this.db.exec('RELEASE item');
          } catch (e) {
            if (isDiskFull(e)) throw e;
            this.db.exec('ROLLBACK TO item');
            this.db.exec('RELEASE item');
            outcomes.push({ ok: false, value: e });
          }
        }
      });
    } catch (e) {
      const failure = storeFailure(e, 'write to the local store');
      for (const item of queue) item.reject(failure);
      return;
    }
    queue.forEach((item, i) => {
      const o = outcomes[i] as { ok: boolean; value: unknown };
      if (o.ok) item.resolve(o.value);
      else item.reject(storeFailure(o.value, 'write to the local store'));
    });
  }

  close(): void {
    this.#statements.clear();
    if (this.db.open) this.db.close();
  }
}

/** Opens and checks the database; undefined when the file is not a database. */
const openChecked = (
  path: string,
  onProblem: NonNullable<OpenOptions['onProblem']>,
): { db: Db; problems: string[] } | undefined => {
  const db = new Database(path);
  try {
    db.exec('PRAGMA busy_timeout = 10000');
    db.exec('PRAGMA journal_mode = WAL');
    const rows = db.prepare('PRAGMA quick_check').all() as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((p) => p !== 'ok');
    if (problems.length)
      onProblem('the store failed its integrity check; damaged records will be skipped', {
        problems: problems.slice(0, 20),
      });
    return { db, problems };
  } catch (e) {
    db.close();
    if (code(e) === 'SQLITE_NOTADB' || code(e).startsWith('SQLITE_CORRUPT')) return undefined;
    throw e;
  }
};
