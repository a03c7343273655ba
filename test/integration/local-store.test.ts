import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBus } from '../../functions/adapters/local/bus';
import { LocalStore } from '../../functions/adapters/local/store';
import { DB_FILE, storeFailure } from '../../functions/adapters/local/store/database';
import { parseConfig } from '../../functions/core/config';
import type { VigilError } from '../../functions/core/errors';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { childEnv } from '../helpers/child-env';
import { bundleModule } from '../helpers/vigil-process';

/**
 * The embedded store's own promises: one process per data dir, the import of a file-format
 * data dir, damaged files that never stop a start, and a full disk that answers 503 and
 * recovers by itself.
 */

const tempDir = () => mkdtemp(join(tmpdir(), 'vigil-store-'));
const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});
const open = (dir: string) => {
  const store = LocalStore.open(dir);
  opened.push(store);
  return store;
};

describe('the data directory lock', () => {
  it('refuses a second owner, naming the process that holds it', async () => {
    const dir = await tempDir();
    open(dir);
    expect(() => LocalStore.open(dir)).toThrow(`already open in this process (pid ${process.pid})`);
  });

  it('refuses a live process of another pid and takes over the lock of a dead one', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'vigil.lock'), '1\n'); // pid 1 is alive
    expect(() => LocalStore.open(dir)).toThrow(/in use by another Vigil process \(pid 1\)/);
    const dead = execFileSync(
      process.execPath,
      ['-e', 'process.stdout.write(String(process.pid))'],
      {
        encoding: 'utf8',
      },
    );
    await writeFile(join(dir, 'vigil.lock'), `${dead}\n`);
    const store = open(dir);
    expect(store.problems).toEqual([]);
  });
});

describe('opening a damaged store', () => {
  it('moves a file that is not a database aside and starts empty', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, DB_FILE), 'this is not a database, just text that got here');
    const store = open(dir);
    await store.history.putRun(
      {
        project: 'p',
        runId: 'r1',
        format: 'junit',
        ingestedAt: '2026-11-25T10:00:00.000Z',
        correlationId: 'c',
        gate: 'pass',
        kind: 'tests',
        summary: { total: 1, passed: 1, failed: 0, skipped: 0, flaky: 0, durationMs: 1 },
      },
      30,
    );
    expect((await readdir(dir)).some((f) => f.startsWith(`${DB_FILE}.corrupt-`))).toBe(true);
    expect((await store.history.listRuns('p', { limit: 5 })).items).toHaveLength(1);
  });

  it('ignores a torn tail of the write-ahead log: what was committed is there', async () => {
    // Prepare: committed events, then the WAL of a crashed writer grows a torn frame
    const dir = await tempDir();
    const child = await bundleModule(
      'torn-wal-writer',
      `import { LocalStore } from './functions/adapters/local/store';
const store = LocalStore.open(process.argv[2] as string);
await store.log.publish([{ source: 'vigil.ingest', detailType: 'Coverage Reported', detail: { n: 1 } }]);
await store.log.publish([{ source: 'vigil.ingest', detailType: 'Coverage Reported', detail: { n: 2 } }]);
process.kill(process.pid, 'SIGKILL');`,
    );
    try {
      execFileSync(process.execPath, [child, dir], { env: childEnv(), stdio: 'ignore' });
    } catch {
      // killed, as intended
    }
    expect(existsSync(join(dir, `${DB_FILE}-wal`))).toBe(true);
    await appendFile(join(dir, `${DB_FILE}-wal`), Buffer.alloc(3000, 0xab));

    // Act
    const store = open(dir);

    // Assess
    expect(store.problems).toEqual([]);
    expect(store.log.all().map((e) => (e.detail as { n: number }).n)).toEqual([1, 2]);
  });
});

describe('importing a file-format data directory', () => {
  it('imports ledger, events, history, alerts and metrics once, skipping torn lines', async () => {
    // Prepare: what the file-based local mode left
    const dir = await tempDir();
    await mkdir(join(dir, 'runs'));
    await writeFile(
      join(dir, 'runs', 'a.json'),
      JSON.stringify({
        key: 'shop#r1',
        fingerprint: 'f1',
        state: 'done',
        claimedAt: 1,
        response: { runId: 'r1' },
      }),
    );
    await writeFile(
      join(dir, 'runs', 'b.json'),
      JSON.stringify({ key: 'shop#r2', fingerprint: 'f2', state: 'in_progress', claimedAt: 1 }),
    );
    await writeFile(join(dir, 'runs', 'c.json'), ''); // the empty file of a full disk
    const event = {
      id: 'e1',
      source: 'vigil.ingest',
      'detail-type': 'Coverage Reported',
      detail: {},
    };
    await writeFile(join(dir, 'events.ndjson'), `${JSON.stringify(event)}\n{"id":"e2","sou`);
    await mkdir(join(dir, 'history', 'shop'), { recursive: true });
    const run = {
      project: 'shop',
      runId: 'r1',
      format: 'junit',
      ingestedAt: '2026-11-25T10:00:00.000Z',
      correlationId: 'c',
      gate: 'pass',
      kind: 'tests',
      summary: { total: 1, passed: 1, failed: 0, skipped: 0, flaky: 0, durationMs: 1 },
    };
    const far = Date.now() + 86_400_000;
    await writeFile(
      join(dir, 'history', 'shop', 'runs.jsonl'),
      `${JSON.stringify({ key: `${run.ingestedAt}#r1`, expiresAt: far, run })}\n`,
    );
    const test = {
      project: 'shop',
      id: 'unit > a',
      suite: 'unit',
      classname: '',
      name: 'a',
      outcomes: [
        { runId: 'r1', at: run.ingestedAt, status: 'failed', retried: false, durationMs: 1 },
      ],
      version: 1,
    };
    await writeFile(
      join(dir, 'history', 'shop', 'tests.jsonl'),
      `${JSON.stringify({ expiresAt: far, record: test })}\n`,
    );
    await mkdir(join(dir, 'alerts', 'state'), { recursive: true });
    await writeFile(
      join(dir, 'alerts', 'state', 'x.json'),
      JSON.stringify({ checkKey: 'probe:shop/api', status: 'FIRING', version: 3, outbox: [] }),
    );
    await writeFile(
      join(dir, 'alerts', 'history.ndjson'),
      `${JSON.stringify({ kind: 'FIRING' })}\n`,
    );
    const point = {
      namespace: 'Vigil',
      name: 'TestsFailed',
      unit: 'Count',
      dimensions: { Project: 'shop' },
      timestamp: 5,
      value: 1,
    };
    await writeFile(join(dir, 'metrics.ndjson'), `${JSON.stringify(point)}\n{"namespace":"Vi`);

    // Act
    const store = open(dir);
    const report = store.imported;
    store.close();
    opened.pop();
    const again = open(dir);

    // Assess
    expect(report).toMatchObject({
      ledger: 1,
      events: 1,
      runs: 1,
      tests: 1,
      alertStates: 1,
      alertHistory: 1,
      metrics: 1,
      skipped: 3,
    });
    expect(again.imported).toBeUndefined();
    expect(await again.ledger.claim('shop#r1', 'f1')).toEqual({
      state: 'duplicate',
      response: { runId: 'r1' },
    });
    expect(await again.ledger.claim('shop#r2', 'f2')).toEqual({ state: 'new' });
    expect((await again.history.listRuns('shop', { limit: 5 })).items).toEqual([run]);
    expect((await again.history.listTests('shop', { status: 'failing', limit: 5 })).items).toEqual([
      test,
    ]);
    expect((await again.alerts.list()).active.map((s) => s.checkKey)).toEqual(['probe:shop/api']);
    expect(
      again.metrics.query({ name: 'TestsFailed', dimensions: { Project: 'shop' } }),
    ).toHaveLength(1);
    expect(again.log.all().map((e) => e.id)).toEqual(['e1']);
    expect(existsSync(join(dir, 'events.ndjson'))).toBe(false);
    expect((await readdir(join(dir, 'legacy-files'))).length).toBe(5);
  });
});

/** A small tmpfs as the data dir when this machine lets us mount one (root), else undefined. */
const mountTmpfs = async (): Promise<string | undefined> => {
  const dir = await tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
};

describe('a full disk', () => {
  let pipeline: LocalPipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('answers 503 with a clear message, keeps running, and accepts again once there is space', async () => {
    // Prepare: a 4 MB tmpfs filled up (or, where none can be mounted, SQLite's page limit)
    const mounted = await mountTmpfs();
    const dataDir = mounted ?? (await tempDir());
    pipeline = await startLocal({
      config: parseConfig({}),
      dataDir,
      port: 0,
      probes: false,
      tokens: ['t'],
    });
    const { store } = pipeline;
    const filler = join(dataDir, 'filler');
    const fill = async () => {
      if (!mounted) {
        const { page_count } = store.db.q('PRAGMA page_count').get() as { page_count: number };
        store.db.db.exec(`PRAGMA max_page_count = ${page_count}`);
        return;
      }
      for (;;)
        try {
          await appendFile(filler, Buffer.alloc(64 * 1024));
        } catch {
          return;
        }
    };
    const free = async () => {
      if (!mounted) store.db.db.exec('PRAGMA max_page_count = 1073741823');
      await rm(filler, { force: true });
    };
    const post = (runId: string) =>
      fetch(`${pipeline?.url}/v1/results?project=shop&runId=${runId}`, {
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        body: `<testsuite name="s" tests="1"><testcase name="${runId}-${'x'.repeat(20_000)}"/></testsuite>`,
      });

    try {
      // Act
      await fill();
      const full = await post('full-1');
      const body = (await full.json()) as { error: { code: string; message: string } };
      const health = await fetch(`${pipeline.url}/v1/health`);
      await free();
      const after = await post('full-1');

      // Assess
      expect(full.status).toBe(503);
      expect(body.error.code).toBe('unavailable');
      expect(body.error.message).toMatch(/data directory is full/);
      expect(after.status).toBe(202);
      // The health check's probe file is removed also when its write failed.
      expect(health.status).toBe(mounted ? 503 : 200);
      expect((await readdir(dataDir)).filter((f) => f.startsWith('.health-'))).toEqual([]);
      await pipeline.bus.drain();
      expect(await pipeline.store.history.listRuns('shop', { limit: 5 })).toMatchObject({
        items: [expect.objectContaining({ runId: 'full-1' })],
      });
    } finally {
      await pipeline.close();
      pipeline = undefined;
      if (mounted) execFileSync('umount', ['-l', mounted]);
    }
  });
});

describe('store failures and the event log', () => {
  it('maps a full disk and I/O errors to retryable 503s and lets other errors through', () => {
    const full = storeFailure(
      Object.assign(new Error('x'), { code: 'ENOSPC' }),
      'write',
    ) as VigilError;
    const io = storeFailure(
      Object.assign(new Error('x'), { code: 'SQLITE_IOERR_WRITE' }),
      'write',
    ) as VigilError;
    const other = new Error('bug');
    expect([full.status, io.status]).toEqual([503, 503]);
    expect(full.message).toMatch(/data directory is full: could not write/);
    expect(io.message).toMatch(/SQLITE_IOERR_WRITE/);
    expect(storeFailure(other, 'write')).toBe(other);
  });

  it('skips a corrupt event for every subscriber, and prunes only delivered old events', async () => {
    // Prepare
    const store = open(await tempDir());
    const got: number[] = [];
    const bus = new LocalBus({ db: store.db, log: store.log });
    bus.subscribe('all', { source: ['vigil.ingest'] }, async (e) => {
      got.push((e.detail as { n: number }).n);
    });
    const event = (n: number) =>
      ({ source: 'vigil.ingest', detailType: 'Coverage Reported', detail: { n } }) as never;
    await store.log.publish([event(1), event(2)]);
    store.db.q(`UPDATE events SET body = '{"torn' WHERE seq = 1`).run();

    // Act
    bus.start();
    await bus.drain();
    await store.log.publish([event(3)]);
    await bus.stop();
    const pruned = store.log.prune(Date.now() + 1000);
    await store.log.publish([event(4)]);
    const young = store.log.prune(Date.now() - 60_000);

    // Assess
    expect(got).toEqual([2, 3]);
    expect(pruned).toBe(3); // every subscriber is past them, and they are old enough
    expect(young).toBe(0);
    expect(store.log.all().map((e) => (e.detail as { n: number }).n)).toEqual([4]);
  });
});
