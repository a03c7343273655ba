import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import { afterEach, describe, expect, it } from 'vitest';
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
  it('syncs every commit with synchronous: full, and can be closed twice', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-db-'));
    const full = new StoreDb(dir, { synchronous: 'full' });
    // SQLite's FULL is 2, NORMAL is 1.
    expect(full.q('PRAGMA synchronous').get()).toMatchObject({ synchronous: 2 });
    full.close();
    const normal = new StoreDb(dir);
    expect(normal.q('PRAGMA synchronous').get()).toMatchObject({ synchronous: 1 });
    expect(normal.problems).toEqual([]);
    normal.close();
    expect(() => normal.close()).not.toThrow();
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
