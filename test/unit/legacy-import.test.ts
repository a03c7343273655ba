import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreDb } from '../../functions/adapters/local/store/database';
import { importLegacy } from '../../functions/adapters/local/store/legacy';

/**
 * The import of a file-format data dir when its records are odd: torn lines, missing files,
 * records without their optional fields, records of the wrong shape, a crash between the
 * import and the move of the old files.
 */

let dir: string;
let db: StoreDb | undefined;
afterEach(async () => {
  db?.close();
  db = undefined;
  await rm(dir, { recursive: true, force: true });
});

const setup = async (files: Record<string, string>): Promise<StoreDb> => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-legacy-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  db = new StoreDb(dir);
  return db;
};

const jsonl = (...records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n');
const rows = (d: StoreDb, sql: string) => d.q(sql).all();

describe('importLegacy', () => {
  it('does nothing for a data dir without old files', async () => {
    const d = await setup({});
    expect(importLegacy(d, dir)).toBeUndefined();
    expect(existsSync(join(dir, 'legacy-files'))).toBe(false);
  });

  it('skips ledger entries that are not done, corrupt or not objects', async () => {
    const d = await setup({
      'runs/a.json': JSON.stringify({ state: 'done', key: 'shop#r1', response: { ok: 1 } }),
      'runs/b.json': JSON.stringify({ state: 'claimed', key: 'shop#r2' }),
      'runs/c.json': '{"state":"do',
      'runs/d.json': '42',
      'runs/notes.txt': 'ignored',
    });
    expect(importLegacy(d, dir)).toMatchObject({ ledger: 1, skipped: 2 });
    // A ledger entry without a claim time keeps 0 rather than NaN.
    expect(rows(d, 'SELECT key, fingerprint, done_at FROM ledger')).toEqual([
      { key: 'shop#r1', fingerprint: 'undefined', done_at: 0 },
    ]);
  });

  it('fills the defaults of history records and skips those without a key or a project', async () => {
    const test = { project: 'shop', id: 'unit > a', outcomes: [] };
    const d = await setup({
      'history/shop/runs.jsonl': jsonl(
        { key: 'k1', run: { project: 'shop', kind: 'tests' } },
        { run: { project: 'shop' } },
        { key: 'k3', run: {} },
      ),
      'history/shop/tests.jsonl': jsonl(
        { record: test },
        { record: { ...test, id: 'unit > b', flaky: { since: 'x' }, version: 4 } },
        { record: { project: 'shop', id: 'unit > c' } },
        { expiresAt: 9 },
      ),
    });
    expect(importLegacy(d, dir)).toMatchObject({ runs: 1, tests: 2, skipped: 4 });
    expect(rows(d, 'SELECT key, expires_at, branch, suite FROM runs')).toEqual([
      { key: 'k1', expires_at: 0, branch: null, suite: null },
    ]);
    expect(rows(d, 'SELECT id, expires_at, version, latest, flaky FROM tests ORDER BY id')).toEqual(
      [
        { id: 'unit > a', expires_at: 0, version: 1, latest: null, flaky: 0 },
        { id: 'unit > b', expires_at: 0, version: 4, latest: null, flaky: 1 },
      ],
    );
  });

  it('gives alert states a version and metrics their defaults, skipping odd ones', async () => {
    const d = await setup({
      'alerts/state/a.json': JSON.stringify({ checkKey: 'probe:shop/api', status: 'OK' }),
      'alerts/state/b.json': JSON.stringify({ status: 'FIRING' }),
      'metrics.ndjson': jsonl(
        { name: 'TestsFailed', timestamp: 5, value: 2 },
        { name: 'TestsFailed', timestamp: 'now', value: 1 },
        { timestamp: 5, value: 1 },
        { name: 'TestsFailed', timestamp: 5 },
      ),
    });
    expect(importLegacy(d, dir)).toMatchObject({ alertStates: 1, metrics: 1, skipped: 3 });
    expect(rows(d, 'SELECT check_key, version FROM alert_state')).toEqual([
      { check_key: 'probe:shop/api', version: 1 },
    ]);
    expect(rows(d, 'SELECT name, dims, unit, namespace, value FROM metrics')).toEqual([
      { name: 'TestsFailed', dims: '{}', unit: 'None', namespace: '', value: 2 },
    ]);
  });

  it('starts the subscribers at 0 when the old bus log was empty', async () => {
    const d = await setup({ 'events.ndjson': '\n' });
    expect(importLegacy(d, dir)).toMatchObject({ events: 0, skipped: 0 });
    expect(rows(d, "SELECT seq FROM cursors WHERE subscriber = 'metrics'")).toEqual([{ seq: 0 }]);
  });

  it('after a crash between the import and the move, moves the files again without importing twice', async () => {
    const event = JSON.stringify({ id: 'e1' });
    const d = await setup({ 'events.ndjson': event });
    expect(importLegacy(d, dir)).toMatchObject({ events: 1 });
    // The old file is back, as if the process died before renaming it.
    await writeFile(join(dir, 'events.ndjson'), event);
    expect(importLegacy(d, dir)).toMatchObject({ events: 0 });
    expect(rows(d, 'SELECT count(*) AS n FROM events')).toEqual([{ n: 1 }]);
    expect(existsSync(join(dir, 'events.ndjson'))).toBe(false);
    expect((await readdir(join(dir, 'legacy-files'))).length).toBeGreaterThanOrEqual(1);
  });
});
