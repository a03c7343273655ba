import { closeSync, openSync, readlinkSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'libsql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DB_FILE,
  parseRecord,
  StoreDb,
  storeFailure,
} from '../../functions/adapters/local/store/database';
import { VigilError } from '../../functions/core/errors';

/** The store database's small promises: durability option, idempotent close, error mapping. */

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('StoreDb', () => {
  it('commits with synchronous=NORMAL (durable batches flush the WAL), and can be closed twice', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-db-'));
    const db = new StoreDb(dir);
    // SQLite's NORMAL is 1.
    expect(db.q('PRAGMA synchronous').get()).toMatchObject({ synchronous: 1 });
    expect(db.problems).toEqual([]);
    db.close();
    expect(() => db.close()).not.toThrow();
  });

  it('opens a new store while another process holds its write lock before its switch to WAL', async () => {
    // Prepare: another connection (a thread here) created the file and holds the write lock in
    // rollback mode, as a second process opening the same new store at the same moment does.
    dir = await mkdtemp(join(tmpdir(), 'vigil-db-'));
    const thread = new Worker(
      `const { parentPort, workerData: { path } } = require('node:worker_threads');
       const db = new (require('libsql'))(path);
       db.exec('BEGIN IMMEDIATE');
       db.exec('CREATE TABLE early (x)');
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
       db.exec('COMMIT');
       db.close();`,
      { eval: true, workerData: { path: join(dir, DB_FILE) } },
    );
    await new Promise((r) => thread.once('message', r));
    // Act: SQLite refuses the switch at once, without its busy handler.
    const db = new StoreDb(dir);
    // Assess
    expect(db.q('PRAGMA journal_mode').get()).toMatchObject({ journal_mode: 'wal' });
    expect(db.q("SELECT name FROM sqlite_master WHERE name = 'early'").get()).toBeDefined();
    db.close();
    await new Promise((r) => thread.once('exit', r));
  });

  it('opens a store with a damaged page, reporting what its integrity check found', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-db-'));
    const path = join(dir, DB_FILE);
    const raw = new Database(path);
    raw.exec('CREATE TABLE t (a TEXT); CREATE INDEX ti ON t (a)');
    const insert = raw.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 200; i++) insert.run(`row ${i}`.padEnd(60));
    const { rootpage } = raw
      .prepare("SELECT rootpage FROM sqlite_master WHERE name = 'ti'")
      .get() as {
      rootpage: number;
    };
    raw.close();
    // Overwrite the index's root page (4 KiB pages) with garbage.
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, (rootpage - 1) * 4096);
    closeSync(fd);
    const told: [string, Record<string, unknown>][] = [];

    const db = new StoreDb(dir, { onProblem: (m, d) => told.push([m, d]) });
    db.close();

    expect(db.problems).toHaveLength(1);
    expect(db.problems[0]).toContain(`page ${rootpage}`);
    expect(told).toEqual([
      [
        'the store failed its integrity check; damaged records will be skipped',
        { problems: db.problems },
      ],
    ]);
  });
});

describe('StoreDb group commits', () => {
  const open = async (opts: ConstructorParameters<typeof StoreDb>[1] = {}) => {
    dir ??= await mkdtemp(join(tmpdir(), 'vigil-db-'));
    const db = new StoreDb(dir, opts);
    db.db.exec('CREATE TABLE IF NOT EXISTS t (v TEXT)');
    return db;
  };
  const insert = (db: StoreDb, v: string) => () => db.q('INSERT INTO t VALUES (?)').run(v);
  const rows = (db: StoreDb) => (db.q('SELECT v FROM t').all() as { v: string }[]).map((r) => r.v);
  /** This thread's connection, and one attached to it (as the bus worker's) holding the lock. */
  const lockedByAttached = async () => {
    const main = await open();
    const other = await open({ yieldTo: main.gate });
    other.db.exec('BEGIN IMMEDIATE');
    insert(other, 'other')();
    return { main, other };
  };

  it('commits the writes still queued when it closes; a write after close is refused clearly', async () => {
    // Prepare
    const db = await open();
    // Act: closed in the same turn as the write, before the group commit would run.
    const queued = db.batch(insert(db, 'queued'));
    db.close();
    // Assess: committed (not "database connection is not open" a moment later) and kept.
    await expect(queued).resolves.toMatchObject({ changes: 1 });
    await expect(db.batch(insert(db, 'late'))).rejects.toThrow('The local store is closed.');
    const reopened = await open();
    expect(rows(reopened)).toEqual(['queued']);
    reopened.close();
  });

  it('commits in transactions of txBudgetMs, the `last` writes together in the final one', async () => {
    // Prepare: every transaction ends after its first write (a budget of 0 ms).
    const db = await open({ txBudgetMs: 0 });
    const order: string[] = [];
    const exec = db.db.exec.bind(db.db);
    vi.spyOn(db.db, 'exec').mockImplementation((sql: string) => {
      if (sql === 'BEGIN IMMEDIATE' || sql === 'COMMIT') order.push(sql);
      return exec(sql);
    });
    const write = (v: string) => () => {
      order.push(v);
      return insert(db, v)();
    };
    // Act
    await Promise.all([
      db.batch(write('a')),
      db.batch(write('progress'), { last: true }),
      db.batch(write('b')),
      db.batch(write('points'), { last: true }),
      db.batch(write('c')),
    ]);
    // Assess: the others first, one per transaction; the last ones in the final transaction.
    expect(order).toEqual([
      ...['BEGIN IMMEDIATE', 'a', 'COMMIT', 'BEGIN IMMEDIATE', 'b', 'COMMIT'],
      ...['BEGIN IMMEDIATE', 'c', 'progress', 'points', 'COMMIT'],
    ]);
    expect(rows(db).sort()).toEqual(['a', 'b', 'c', 'points', 'progress']);
    db.close();
  });

  it('keeps the transactions committed before one that failed; rejects that one and the rest', async () => {
    // Prepare
    const db = await open({ txBudgetMs: 0 });
    const full = () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    // Act
    const outcomes = await Promise.allSettled([
      db.batch(insert(db, 'kept')),
      db.batch(full),
      db.batch(insert(db, 'after')),
    ]);
    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({
      message: expect.stringContaining('The data directory is full'),
    });
    expect(rows(db)).toEqual(['kept']);
    db.close();
  });

  it('steps aside while the connection it yields to waits for the lock, for at most yieldMaxMs', async () => {
    // Prepare: a writer of another thread waits (its gate is up) until that thread lets go.
    const main = await open();
    const worker = await open({ yieldTo: main.gate, yieldMaxMs: 5_000 });
    // Set by the other thread right before it lowers the gate (no clocks: see below).
    const releasing = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(main.gate, 0, 1);
    const thread = new Worker(
      `const { parentPort, workerData: { gate, releasing } } = require('node:worker_threads');
       parentPort.once('message', () => setTimeout(() => {
         Atomics.store(releasing, 0, 1);
         Atomics.store(gate, 0, 0); Atomics.notify(gate, 0); parentPort.close(); }, 20));
       parentPort.postMessage('ready');`,
      { eval: true, workerData: { gate: main.gate, releasing } },
    );
    await new Promise((r) => thread.once('message', r));
    thread.postMessage('go');
    // Act: the yielding connection's transaction begins only once the gate is down.
    const began = worker.tx(() => Atomics.load(releasing, 0));
    // Assess
    expect(began).toBe(1);
    await new Promise((r) => thread.once('exit', r));
    worker.close();
    // A gate that stays up holds it back yieldMaxMs, no more.
    const bounded = await open({ yieldTo: main.gate, yieldMaxMs: 30 });
    Atomics.store(main.gate, 0, 1);
    const started = performance.now();
    bounded.tx(() => undefined);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    // Its own transactions leave its gate down once they hold the lock.
    Atomics.store(main.gate, 0, 0);
    expect(bounded.tx(() => Atomics.load(bounded.gate, 0))).toBe(0);
    bounded.close();
    main.close();
  });

  it('lets its thread run while a group commit waits for an attached connection to commit', async () => {
    // Prepare: a connection attached to this one (as the bus worker's) holds the write lock.
    const { main, other } = await lockedByAttached();
    // Act: a group commit, then this thread's timers while it waits.
    const write = main.batch(insert(main, 'main'));
    let settled = false;
    write.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 50));
    // Assess: still waiting, the gate up (the other steps aside); committed once the other did.
    expect(settled).toBe(false);
    expect(Atomics.load(main.gate, 0)).toBe(1);
    other.db.exec('COMMIT');
    await expect(write).resolves.toMatchObject({ changes: 1 });
    expect(rows(main)).toEqual(['other', 'main']);
    expect(Atomics.load(main.gate, 0)).toBe(0);
    other.close();
    main.close();
  });

  it('ends its wait for the lock when the connection it waited for has gone', async () => {
    // Prepare: an attached connection (the bus worker's) holds the write lock while a group
    // commit waits for it; then it commits and closes (a pipeline stopping its worker).
    const { main, other } = await lockedByAttached();
    const first = main.batch(insert(main, 'first'));
    await new Promise((r) => setTimeout(r, 30));
    other.db.exec('COMMIT');
    other.close();

    // Act: the waiting write goes through alone; then another write.
    await first;
    const next = main.batch(insert(main, 'next'));
    const settled = await Promise.race([
      next.then(() => 'committed'),
      new Promise((r) => setTimeout(() => r('still queued'), 1_000)),
    ]);

    // Assess: its gate is down again (no later worker steps aside for it) and writes flow.
    expect(Atomics.load(main.gate, 0)).toBe(0);
    expect(settled).toBe('committed');
    expect(rows(main)).toEqual(['other', 'first', 'next']);
    main.close();
  });

  it('waits for the end of a transaction of a connection attached from another thread', async () => {
    // Prepare: another thread's connection, attached to this one, holds the write lock 50 ms.
    const main = await open();
    // Set by the other thread right before its COMMIT: ordering without clocks, which differ
    // between threads by up to a millisecond (each thread's own performance.timeOrigin).
    const committing = new Int32Array(new SharedArrayBuffer(4));
    const thread = new Worker(
      `const { parentPort, workerData: { path, gate, committing } } = require('node:worker_threads');
       const db = new (require('libsql'))(path);
       Atomics.add(gate, 2, 1);
       db.exec('BEGIN IMMEDIATE');
       db.exec("INSERT INTO t VALUES ('other')");
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
       Atomics.store(committing, 0, 1);
       db.exec('COMMIT');
       Atomics.add(gate, 1, 1); Atomics.notify(gate, 1);
       Atomics.sub(gate, 2, 1); db.close();`,
      {
        eval: true,
        workerData: { path: join(dir as string, DB_FILE), gate: main.gate, committing },
      },
    );
    await new Promise((r) => thread.once('message', r));
    // Act
    const began = main.tx(() => {
      insert(main, 'main')();
      return Atomics.load(committing, 0);
    });
    // Assess: it began once the other committed; SQLite's own wait is set back for the rest.
    expect(began).toBe(1);
    expect(rows(main)).toEqual(['other', 'main']);
    expect(main.q('PRAGMA busy_timeout').get()).toMatchObject({ timeout: 10_000 });
    await new Promise((r) => thread.once('exit', r));
    // An error other than a busy lock is not waited on.
    Atomics.add(main.gate, 2, 1);
    main.db.exec('BEGIN');
    expect(() => main.tx(() => undefined)).toThrow(/within a transaction/);
    main.db.exec('ROLLBACK');
    main.close();
  });
});

describe('StoreDb durable batches', () => {
  /** A flush of the WAL that ends when the test says, counting how many began. */
  const controlledFlush = () => {
    const pending: { fd: number; end: (e?: Error) => void }[] = [];
    const flush = (fd: number) =>
      new Promise<void>((ok, fail) => pending.push({ fd, end: (e) => (e ? fail(e) : ok()) }));
    return { flush, pending };
  };
  const open = async (flush: (fd: number) => Promise<void>) => {
    dir ??= await mkdtemp(join(tmpdir(), 'vigil-db-'));
    const db = new StoreDb(dir, { durableBatches: true, flushWal: flush });
    db.db.exec('CREATE TABLE IF NOT EXISTS t (v TEXT)');
    return db;
  };
  const insert = (db: StoreDb, v: string) => () => db.q('INSERT INTO t VALUES (?)').run(v);
  const settled = async (p: Promise<unknown>) => {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    // Past the group commit (setImmediate) and the folder's flush (libuv's pool).
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 2));
    return done;
  };

  it('resolves a batch once the WAL is flushed after its commit; batches share flushes', async () => {
    // Prepare
    const { flush, pending } = controlledFlush();
    const db = await open(flush);
    // Act: two batches in one group commit, then a third while their flush is under way.
    const first = db.batch(insert(db, 'a'));
    const second = db.batch(insert(db, 'b'));
    // Assess: committed (readable) but not resolved until the flush ends.
    expect(await settled(first)).toBe(false);
    expect(pending).toHaveLength(1);
    expect(readlinkSync(`/proc/self/fd/${pending[0]?.fd}`)).toBe(`${db.path}-wal`);
    const third = db.batch(insert(db, 'c'));
    expect(await settled(third)).toBe(false);
    // The flush under way may have begun before the third commit: it waits for the next one.
    pending[0]?.end();
    await expect(first).resolves.toMatchObject({ changes: 1 });
    await expect(second).resolves.toMatchObject({ changes: 1 });
    expect(await settled(third)).toBe(false);
    expect(pending).toHaveLength(2);
    pending[1]?.end();
    await expect(third).resolves.toMatchObject({ changes: 1 });
    db.close();
  });

  it('rejects the batches of a failed flush with a retryable 503, and flushes again for the next', async () => {
    // Prepare
    const { flush, pending } = controlledFlush();
    const db = await open(flush);
    // Act
    const failed = db.batch(insert(db, 'a'));
    await settled(failed);
    pending[0]?.end(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    // Assess
    await expect(failed).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('(EIO)'),
    });
    const next = db.batch(insert(db, 'b'));
    await settled(next);
    pending[1]?.end();
    await expect(next).resolves.toMatchObject({ changes: 1 });
    // An error that names no cause is still a 503.
    const odd = db.batch(insert(db, 'c'));
    await settled(odd);
    pending[2]?.end(new Error('odd'));
    await expect(odd).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('odd'),
    });
    db.close();
  });

  it('flushes at close: what it committed resolves, and a flush under way still ends its batches', async () => {
    // Prepare
    const { flush, pending } = controlledFlush();
    const db = await open(flush);
    const flushing = db.batch(insert(db, 'a'));
    await settled(flushing);
    const waiting = db.batch(insert(db, 'b'));
    await settled(waiting);
    // Act: closed while the first flush is under way and the second batch waits for the next.
    const queued = db.batch(insert(db, 'c'));
    db.close();
    pending[0]?.end();
    // Assess
    await expect(flushing).resolves.toMatchObject({ changes: 1 });
    await expect(waiting).resolves.toMatchObject({ changes: 1 });
    await expect(queued).resolves.toMatchObject({ changes: 1 });
    expect(pending).toHaveLength(1);
  });

  it('rejects the writes a failed flush was for with a 503, at close too', async () => {
    // Prepare: the WAL's name points to /dev/null, which fdatasync refuses (EINVAL); SQLite
    // still writes to the file it opened.
    const { flush, pending } = controlledFlush();
    const db = await open(flush);
    unlinkSync(`${db.path}-wal`);
    symlinkSync('/dev/null', `${db.path}-wal`);
    const flushing = db.batch(insert(db, 'a'));
    await settled(flushing);
    const waiting = db.batch(insert(db, 'b'));
    await settled(waiting);
    // Act: closed while the first flush is under way; the second write's flush is made then.
    db.close();
    pending[0]?.end();
    // Assess
    await expect(flushing).resolves.toMatchObject({ changes: 1 });
    await expect(waiting).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('could not flush its writes to disk (EINVAL)'),
    });
    expect(pending).toHaveLength(1);
  });

  it('flushes with fdatasync by default', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-db-'));
    const db = new StoreDb(dir, { durableBatches: true });
    db.db.exec('CREATE TABLE t (v TEXT)');
    await expect(db.batch(insert(db, 'a'))).resolves.toMatchObject({ changes: 1 });
    db.close();
  });
});

describe('storeFailure', () => {
  it('keeps an error that already says what went wrong', () => {
    const e = new VigilError('unavailable', 'busy');
    expect(storeFailure(e, 'write')).toBe(e);
  });

  it('makes a locked database a retryable 503', () => {
    const e = storeFailure(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' }), 'save the run');
    expect(e).toBeInstanceOf(VigilError);
    expect((e as VigilError).message).toBe(
      'The local store could not save the run (SQLITE_BUSY); nothing was stored, retry later.',
    );
  });
});

describe('parseRecord', () => {
  it('skips a record that is not JSON text', () => {
    expect(parseRecord('{"a":1}', 'test')).toEqual({ a: 1 });
    expect(parseRecord('{"a":', 'test')).toBeUndefined();
    expect(parseRecord(null, 'test')).toBeUndefined();
    expect(parseRecord(Buffer.from('{}'), 'test')).toBeUndefined();
  });
});
