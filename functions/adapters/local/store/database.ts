import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  renameSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'libsql';
import { VigilError } from '../../../core/errors';
import { logger } from '../../../shared/powertools';
import { syncDir } from '../sync-dir';
import { migrate, SCHEMA } from './schema';

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
   * A committed transaction survives a crash of the process (kill -9, OOM); a power cut can lose
   * the last ones (SQLite's `synchronous=NORMAL` in WAL mode). With `durableBatches`, a `batch`
   * resolves only once its transaction is on disk: after the commit, the WAL file is flushed
   * (fdatasync) in libuv's thread pool, one flush for every commit made before it began. What a
   * client is told was stored (an ingest's 202) then survives a power cut, and the event loop
   * never waits for the disk.
   */
  durableBatches?: boolean;
  /** How the WAL file is flushed (tests). Default: fdatasync. */
  flushWal?: (fd: number) => Promise<void>;
  /** Told about damage found (and skipped) at start. Default: the shared logger. */
  onProblem?: (message: string, details: Record<string, unknown>) => void;
  /**
   * The `gate` of another connection to the same file (the main thread's, for the bus worker's
   * connection): this one steps aside while that one waits for the write lock (see `tx`).
   */
  yieldTo?: Int32Array;
  /** How long it steps aside at most, ms. Default 100. */
  yieldMaxMs?: number;
  /** How long a group commit's transaction runs before it commits and lets others in. Default 5 ms. */
  txBudgetMs?: number;
}

export interface BatchOptions {
  /**
   * Run after the other writes of the group commit, in its last transaction: writes that must
   * commit together (the bus's progress and the metric points of the deliveries it covers).
   */
  last?: boolean;
}

interface Queued {
  fn: () => unknown;
  last: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const code = (e: unknown): string => String((e as { code?: unknown }).code ?? '');

/** How long a writer waits for the write lock before it gives up (SQLITE_BUSY: a 503). */
const BUSY_TIMEOUT_MS = 10_000;

/** The slots of `StoreDb.gate`. */
const WAITING = 0;
const ENDED = 1;
const ATTACHED = 2;

/** Atomics.waitAsync (V8, Node 16 on); TypeScript declares it from its ES2024 library. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeoutMs: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync.bind(Atomics);

/** Errors that mean "no space": SQLite's SQLITE_FULL (any extended code) and the file system's. */
export const isDiskFull = (e: unknown): boolean =>
  code(e).startsWith('SQLITE_FULL') || code(e) === 'ENOSPC' || code(e) === 'EDQUOT';

/** Errors that mean the database file is damaged: SQLite's SQLITE_CORRUPT (any extended code) and SQLITE_NOTADB. */
export const isCorrupt = (e: unknown): boolean =>
  code(e).startsWith('SQLITE_CORRUPT') || code(e) === 'SQLITE_NOTADB';

/** What a read or write that met a damaged page throws: a 503 naming the problem and the runbook. */
const corruptFailure = (e: unknown, what: string): VigilError =>
  new VigilError(
    'unavailable',
    `The local store's database is damaged (${code(e)}): could not ${what}. The rest of the store still answers; see "A damaged local store" in docs/operating.md to repair it.`,
  );

/**
 * A write the store cannot make for now (a full disk, an I/O error, the lock held too long): the
 * same write may well succeed later. A 503 like the others; the bus does not count it against
 * the delivery (it is not the subscriber's failure) and tries again until it succeeds.
 */
export class StoreUnavailable extends VigilError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

/**
 * What the store throws when it cannot write: a full disk (or an I/O error) is a retryable 503
 * with a message saying what to do; the process keeps running and the next write tries again.
 */
export const storeFailure = (e: unknown, what: string): unknown => {
  if (e instanceof VigilError) return e;
  if (isCorrupt(e)) return corruptFailure(e, what);
  if (isDiskFull(e))
    return new StoreUnavailable(
      `The data directory is full: could not ${what}. Nothing was stored; free some disk space and retry (Vigil resumes by itself).`,
    );
  if (code(e).startsWith('SQLITE_IOERR') || code(e) === 'EIO' || code(e).startsWith('SQLITE_BUSY'))
    return new StoreUnavailable(
      `The local store could not ${what} (${code(e)}); nothing was stored, retry later.`,
    );
  return e;
};

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Ends what waited for a flush of the WAL: rejected with the flush's failure, if it failed. */
const settle = (waiters: readonly Waiter[], failure: unknown): void => {
  for (const w of waiters)
    if (failure === undefined) w.resolve();
    else w.reject(failure);
};

/** fdatasync in libuv's thread pool. */
const fdatasyncInPool = promisify(fdatasync);

/** What the batches of a failed flush of the WAL reject with: a retryable 503. */
const flushFailure = (e: unknown): unknown => {
  const failure = storeFailure(e, 'flush the local store to disk');
  return failure instanceof VigilError
    ? failure
    : new StoreUnavailable(
        `The local store could not flush its writes to disk (${code(e) || String(e)}); retry later.`,
      );
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

/**
 * The time retention counts from: the clock, or the time of the newest record it applies to when
 * that is earlier. A record goes only once a newer one is past its retention: a clock far ahead
 * (or a store left idle) drops nothing, and a clock behind keeps what it wrote.
 */
export const retentionReference = (now: number, newest: number | null | undefined): number =>
  typeof newest === 'number' && Number.isFinite(newest) ? Math.min(now, newest) : now;

/** A value of the `meta` table (undefined when it has none). */
export const metaValue = (db: StoreDb, key: string): string | undefined =>
  (db.q('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;

/** Adds one to a counter of the `meta` table (in a write transaction). */
export const bumpMeta = (db: StoreDb, key: string): void => {
  db.q(
    `INSERT INTO meta (key, value) VALUES (?, '1')
     ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1`,
  ).run(key);
};

/** Whether a stored JSON document parses (what `parseRecord` would return it for). */
export const parses = (text: unknown): boolean => {
  if (typeof text !== 'string') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/**
 * The version a version-checked write (a compare-and-swap) compares with: the stored row's, or
 * 0 when there is none, or when its record is corrupt. `get` reports a corrupt record and
 * skips it, so its caller writes as if there were none (expected version 0): the write then
 * replaces the corrupt record (reported once, here) instead of losing the race for good.
 * `readable`: whether the row's record can be read (default: its body parses). In the write's
 * transaction.
 */
export const storedVersion = <R extends { version: number }>(
  row: R | undefined,
  where: string,
  readable: (row: R) => boolean = (r) => parses((r as { body?: unknown }).body),
): number => {
  if (!row) return 0;
  if (readable(row)) return row.version;
  logger.error('corrupt record replaced', { where, version: row.version });
  return 0;
};

/**
 * A prepared statement whose damaged-page errors (SQLITE_CORRUPT, SQLITE_NOTADB) become a 503
 * naming the problem: one damaged page answers a clear, retryable error, not a 500. Other
 * errors go through as they are (a full disk is mapped where the transaction ends).
 */
const checked = (s: Statement): Statement => {
  const call =
    <A extends unknown[], R>(fn: (...args: A) => R, what: string) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (e) {
        throw isCorrupt(e) ? corruptFailure(e, what) : e;
      }
    };
  return {
    run: call(s.run.bind(s), 'write to the local store'),
    get: call(s.get.bind(s), 'read the local store'),
    all: call(s.all.bind(s), 'read the local store'),
  };
};

/** A database with a statement cache: `q(sql)` prepares once per connection. */
export class StoreDb {
  readonly db: Db;
  readonly path: string;
  /** Problems `PRAGMA quick_check` found at open (empty when healthy). */
  readonly problems: string[];
  /**
   * Shared memory between this connection and those of other threads given it as `yieldTo`:
   * how many writers of this one wait for SQLite's write lock (they step aside meanwhile), how
   * many transactions theirs ended (this one wakes at each instead of sleeping in SQLite's busy
   * handler) and how many of them are open.
   */
  readonly gate = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  readonly #statements = new Map<string, Statement>();
  readonly #yieldTo: Int32Array | undefined;
  readonly #yieldMaxMs: number;
  readonly #budgetMs: number;
  #queue: Queued[] = [];
  /** The deadline of the group commit waiting, off the event loop, for the write lock. */
  #lockWaitUntil: number | undefined;
  /** `durableBatches` (see `#acknowledge`): the flush function, when on. */
  readonly #flushWal: ((fd: number) => Promise<void>) | undefined;
  /** The WAL file, opened at the first flush; the folder is flushed once, with the first. */
  #walFd: number | undefined;
  #folderFlushed = false;
  /** A flush of the WAL under way, and the batches waiting for the next one. */
  #flushing = false;
  #flushWaiters: Waiter[] = [];

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
    this.#yieldTo = opts.yieldTo;
    if (this.#yieldTo) Atomics.add(this.#yieldTo, ATTACHED, 1);
    this.#yieldMaxMs = opts.yieldMaxMs ?? 100;
    this.#budgetMs = opts.txBudgetMs ?? 5;
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.#flushWal = opts.durableBatches ? (opts.flushWal ?? fdatasyncInPool) : undefined;
    this.db.exec(SCHEMA);
    migrate(this);
  }

  q(sql: string): Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      try {
        s = checked(this.db.prepare(sql) as unknown as Statement);
      } catch (e) {
        throw isCorrupt(e) ? corruptFailure(e, 'read the local store') : e;
      }
      this.#statements.set(sql, s);
    }
    return s;
  }

  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE: takes the write lock up front). A
   * connection that yields to another waits first while that one waits for the lock.
   */
  tx<T>(fn: () => T): T {
    this.#stepAside();
    this.#begin();
    return this.#inTx(fn);
  }

  /** Runs `fn` in the transaction just begun: commits, or rolls back if it throws. */
  #inTx<T>(fn: () => T): T {
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
    } finally {
      if (this.#yieldTo) {
        Atomics.add(this.#yieldTo, ENDED, 1);
        Atomics.notify(this.#yieldTo, ENDED);
      }
    }
  }

  /**
   * Takes the write lock, saying so in `gate` while it waits. With connections of other threads
   * attached, it waits for the end of their transaction (Atomics.wait) rather than in SQLite's
   * busy handler, which sleeps in steps of up to 100 ms and may miss a short free moment.
   */
  #begin(): void {
    const gate = this.gate;
    Atomics.add(gate, WAITING, 1);
    try {
      if (Atomics.load(gate, ATTACHED) === 0) {
        this.db.exec('BEGIN IMMEDIATE');
        return;
      }
      this.db.exec('PRAGMA busy_timeout = 0');
      try {
        const until = performance.now() + BUSY_TIMEOUT_MS;
        for (;;) {
          const ended = Atomics.load(gate, ENDED);
          try {
            this.db.exec('BEGIN IMMEDIATE');
            return;
          } catch (e) {
            const left = until - performance.now();
            if (!code(e).startsWith('SQLITE_BUSY') || left <= 0) throw e;
            Atomics.wait(gate, ENDED, ended, Math.min(left, 10));
          }
        }
      } finally {
        this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
    } finally {
      Atomics.sub(gate, WAITING, 1);
      Atomics.notify(gate, WAITING);
    }
  }

  /**
   * Takes the write lock for a group commit, as `tx` does, except while a connection of another
   * thread attached to this one holds it: then this thread does not block (it answers HTTP
   * meanwhile). It says so in `gate` (that connection steps aside after its transaction), waits
   * for that transaction's end with Atomics.waitAsync and flushes again; false until then.
   * Throws SQLite's busy error after the busy timeout, as `tx` does. `block`: waits as `tx`.
   */
  #lockForBatch(block: boolean): boolean {
    const gate = this.gate;
    if (block || Atomics.load(gate, ATTACHED) === 0) {
      this.#stepAside();
      this.#begin();
      // A wait begun while a connection was attached ends here too, when that one has gone
      // meanwhile: else the gate stayed up and later writes were never flushed.
      this.#endLockWait();
      return true;
    }
    const ended = Atomics.load(gate, ENDED);
    this.db.exec('PRAGMA busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.#endLockWait();
      return true;
    } catch (e) {
      if (this.#lockWaitUntil === undefined) {
        this.#lockWaitUntil = performance.now() + BUSY_TIMEOUT_MS;
        Atomics.add(gate, WAITING, 1);
      }
      const left = this.#lockWaitUntil - performance.now();
      if (!code(e).startsWith('SQLITE_BUSY') || left <= 0) {
        this.#endLockWait();
        throw e;
      }
      const wait = waitAsync(gate, ENDED, ended, Math.min(left, 10));
      if (wait.async) void wait.value.then(() => this.#flush());
      else setImmediate(() => this.#flush());
      return false;
    } finally {
      this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /** The group commit no longer waits for the lock: the gate says so. */
  #endLockWait(): void {
    if (this.#lockWaitUntil === undefined) return;
    this.#lockWaitUntil = undefined;
    Atomics.sub(this.gate, WAITING, 1);
    Atomics.notify(this.gate, WAITING);
  }

  /** Waits (this thread only, at most `yieldMaxMs`) while the connection it yields to waits. */
  #stepAside(): void {
    const gate = this.#yieldTo;
    if (!gate) return;
    const until = performance.now() + this.#yieldMaxMs;
    for (
      let waiting = Atomics.load(gate, WAITING);
      waiting > 0;
      waiting = Atomics.load(gate, WAITING)
    ) {
      const left = until - performance.now();
      if (left <= 0) return;
      Atomics.wait(gate, WAITING, waiting, left);
    }
  }

  /**
   * Group commit: `fn` runs with the other writes queued in the same turn of the event loop, each
   * in its own savepoint (one that throws undoes only itself), in transactions of about
   * `txBudgetMs` each: between them a waiting writer of another thread gets the lock, so no
   * thread waits long for this one. Resolves once its transaction is committed; a failed commit
   * (full disk) rejects the writes of that transaction and of those after it.
   */
  batch<T>(fn: () => T, opts: BatchOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        fn,
        last: opts.last === true,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      if (this.#queue.length === 1 && this.#lockWaitUntil === undefined)
        setImmediate(() => this.#flush());
    });
  }

  /**
   * Resolves the writes of a group commit: at once, or with `durableBatches` once every commit
   * made before is on disk, by a flush of the WAL begun after it. Group commits share flushes:
   * those that end while one is under way wait for the next, which starts when it ends. A
   * failed flush rejects its writes with a retryable 503 (their commits may not survive a power
   * cut; a retried ingest is then answered as a duplicate).
   */
  #acknowledge(done: readonly { item: Queued; value: unknown }[]): void {
    if (done.length === 0) return;
    if (!this.#flushWal) {
      for (const d of done) d.item.resolve(d.value);
      return;
    }
    this.#flushWaiters.push({
      resolve: () => {
        for (const d of done) d.item.resolve(d.value);
      },
      reject: (e) => {
        for (const d of done) d.item.reject(e);
      },
    });
    if (!this.#flushing) void this.#flushRound();
  }

  async #flushRound(): Promise<void> {
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    this.#flushing = true;
    let failure: unknown;
    try {
      const fd = this.#wal();
      // The first flush also makes the files' entries in the folder durable (a new store).
      if (!this.#folderFlushed) {
        await syncDir(dirname(this.path));
        this.#folderFlushed = true;
      }
      await (this.#flushWal as (fd: number) => Promise<void>)(fd);
    } catch (e) {
      failure = flushFailure(e);
    }
    this.#flushing = false;
    settle(waiters, failure);
    // Closed meanwhile: close() flushed for the others.
    if (!this.db.open) this.#closeWal();
    else if (this.#flushWaiters.length > 0) void this.#flushRound();
  }

  /** The WAL file's descriptor (opened once; SQLite keeps the file while a connection is open). */
  #wal(): number {
    this.#walFd ??= openSync(`${this.path}-wal`, 'r');
    return this.#walFd;
  }

  #closeWal(): void {
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    this.#walFd = undefined;
  }

  /**
   * Commits the queued writes. `block` (close): waits for the write lock in this thread, as
   * `tx` does, rather than flushing again once another thread's transaction ended.
   */
  #flush(block = false): void {
    const queued = this.#queue;
    this.#queue = [];
    if (queued.length === 0) return; // flushed by close()
    if (!this.db.open) {
      for (const item of queued)
        item.reject(new VigilError('unavailable', 'The local store is closed.'));
      return;
    }
    const items = [...queued.filter((i) => !i.last), ...queued.filter((i) => i.last)];
    let next = 0;
    let first = 0;
    /** The writes committed, resolved together at the end (`#acknowledge`). */
    const done: { item: Queued; value: unknown }[] = [];
    try {
      while (next < items.length) {
        first = next;
        if (!this.#lockForBatch(block)) {
          // Flushed again once the other thread's transaction ended.
          this.#queue = [...items.slice(next), ...this.#queue];
          return;
        }
        const outcomes: { ok: boolean; value: unknown }[] = [];
        this.#inTx(() => {
          const started = performance.now();
          do outcomes.push(this.#run(items[next++] as Queued));
          while (
            next < items.length &&
            (items[next]?.last || performance.now() - started < this.#budgetMs)
          );
        });
        outcomes.forEach((o, i) => {
          const item = items[first + i] as Queued;
          if (o.ok) done.push({ item, value: o.value });
          else item.reject(storeFailure(o.value, 'write to the local store'));
        });
      }
    } catch (e) {
      // This transaction failed: its writes and those after it were not stored.
      const failure = storeFailure(e, 'write to the local store');
      for (const item of items.slice(first)) item.reject(failure);
    }
    this.#acknowledge(done);
  }

  /** One queued write in its own savepoint; a full disk fails the whole transaction. */
  #run(item: Queued): { ok: boolean; value: unknown } {
    this.db.exec('SAVEPOINT item');
    try {
      const value = item.fn();
      this.db.exec('RELEASE item');
      return { ok: true, value };
    } catch (e) {
      if (isDiskFull(e)) throw e;
      this.db.exec('ROLLBACK TO item');
      this.db.exec('RELEASE item');
      return { ok: false, value: e };
    }
  }

  /** Commits the writes still queued, then closes. */
  close(): void {
    if (!this.db.open) return;
    this.#endLockWait();
    this.#flush(true);
    // The writes waiting for the next flush (one is under way) get one now.
    const waiting = this.#flushWaiters.splice(0);
    if (waiting.length > 0) {
      let failure: unknown;
      try {
        fdatasyncSync(this.#wal());
      } catch (error) {
        failure = flushFailure(error);
      }
      settle(waiting, failure);
    }
    this.#statements.clear();
    this.db.close();
    // A flush under way closes it when it ends.
    if (!this.#flushing) this.#closeWal();
    if (this.#yieldTo) Atomics.sub(this.#yieldTo, ATTACHED, 1);
  }
}

/**
 * Switches to WAL. SQLite does not call the busy handler when the switch meets another
 * connection's write lock on a store still in rollback mode (two processes opening one new store
 * at once: "database is locked" at once), so the switch is tried again for the busy timeout.
 */
const toWal = (db: Db): void => {
  const until = performance.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (e) {
      if (!code(e).startsWith('SQLITE_BUSY') || performance.now() > until) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
};

/** Opens and checks the database; undefined when the file is not a database. */
const openChecked = (
  path: string,
  onProblem: NonNullable<OpenOptions['onProblem']>,
): { db: Db; problems: string[] } | undefined => {
  const db = new Database(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    toWal(db);
    // Its schema must be readable; a damaged page elsewhere is reported, and what reads it
    // answers a 503 (see `checked`): one bad page must not cost the whole store.
    db.prepare('SELECT count(*) AS n FROM sqlite_master').get();
    let problems: string[];
    try {
      const rows = db.prepare('PRAGMA quick_check').all() as { quick_check: string }[];
      problems = rows.map((r) => r.quick_check).filter((p) => p !== 'ok');
    } catch (e) {
      if (!isCorrupt(e)) throw e;
      problems = [`quick_check stopped: ${(e as Error).message} (${code(e)})`];
    }
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
