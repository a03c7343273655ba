import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  appendFile,
  open as fsOpen,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBridgePublisher } from '../../functions/adapters/aws/eventbridge-publisher';
import { LocalBus } from '../../functions/adapters/local/bus';
import { LocalStore } from '../../functions/adapters/local/store';
import {
  DB_FILE,
  StoreUnavailable,
  storeFailure,
} from '../../functions/adapters/local/store/database';
import { processObservation } from '../../functions/core/alerts/service';
import type { Observation } from '../../functions/core/alerts/state';
import { initialState } from '../../functions/core/checks/heartbeat';
import { parseConfig } from '../../functions/core/config';
import type { VigilError } from '../../functions/core/errors';
import { eventBytes } from '../../functions/core/event-size';
import {
  type AlertNotification,
  MAX_EVENT_BYTES,
  type ProbeCompletedDetail,
} from '../../functions/core/events';
import type { TestRecord } from '../../functions/core/history/types';
import type { RunEntry } from '../../functions/core/status/catalog';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { logger } from '../../functions/shared/powertools';
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

describe('what the owner acknowledges', () => {
  it("is on disk before its write resolves; a worker thread's connection does not wait for the disk", async () => {
    // Prepare: each connection's flushes of the WAL counted.
    const dir = await tempDir();
    const ownerFlush = vi.fn(async () => undefined);
    const workerFlush = vi.fn(async () => undefined);
    const owner = LocalStore.open(dir, { flushWal: ownerFlush });
    opened.push(owner);
    const worker = LocalStore.open(dir, { lock: false, flushWal: workerFlush });
    opened.push(worker);
    // Act: a run committed by each (the owner's ingest answers 202 after this).
    await owner.ledger.commit?.('shop#r1', 'fingerprint', { status: 202 }, []);
    await worker.ledger.complete('shop#r2', 'fingerprint', { status: 202 });
    // Assess
    expect(ownerFlush).toHaveBeenCalledTimes(1);
    expect(workerFlush).not.toHaveBeenCalled();
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
      // Under SQLite's page limit, the reports' rows first take the space left in its pages.
      for (let i = 0; !mounted && i < 500; i++) if ((await post(`fill-${i}`)).status !== 202) break;
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
      const { items } = await pipeline.store.history.listRuns('shop', { limit: 1000 });
      expect(items.map((r) => r.runId)).toContain('full-1');
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

  it("refuses an event over EventBridge's size limit as the AWS publisher does, and keeps none of the batch", async () => {
    // Prepare
    const store = open(await tempDir());
    const event = (text: string) =>
      ({ source: 'vigil.ingest', detailType: 'Coverage Reported', detail: { text } }) as never;
    const small = event('ok');
    // At the limit with the envelope EventBridge counts, then one byte over it.
    const overhead = eventBytes('vigil.ingest', 'Coverage Reported', JSON.stringify({ text: '' }));
    const fits = event('x'.repeat(MAX_EVENT_BYTES - overhead));
    const over = event('x'.repeat(MAX_EVENT_BYTES - overhead + 1));
    const aws = new EventBridgePublisher({
      busName: 'bus',
      client: { send: async () => ({ $metadata: {}, FailedEntryCount: 0, Entries: [{}, {}] }) },
    });

    // Act
    const local = await store.log.publish([small, over]).catch((e: unknown) => e);
    const remote = await aws.publish([small, over]).catch((e: unknown) => e);
    await store.log.publish([fits]);

    // Assess: the same 413, and only the event at the limit stored
    expect(local).toMatchObject({ code: 'payload_too_large', status: 413 });
    expect((local as Error).message).toBe((remote as Error).message);
    expect(store.log.all()).toHaveLength(1);
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

describe('deliveries while the disk is full', () => {
  /** Every commit of `store`'s connection fails with SQLITE_FULL while `disk.full`. */
  const failingCommits = (store: LocalStore) => {
    const disk = { full: false, failed: 0 };
    const exec = store.db.db.exec.bind(store.db.db);
    store.db.db.exec = ((sql: string) => {
      if (disk.full && sql === 'COMMIT') {
        disk.failed++;
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      }
      return exec(sql);
    }) as typeof store.db.db.exec;
    return disk;
  };
  const until = async (what: string, ok: () => boolean) => {
    for (const started = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 5)))
      if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`);
  };
  const emf = (n: number) =>
    JSON.stringify({
      _aws: {
        Timestamp: 1_000 + n,
        CloudWatchMetrics: [
          { Namespace: 'Vigil', Dimensions: [['run']], Metrics: [{ Name: 'TestRuns' }] },
        ],
      },
      run: String(n),
      TestRuns: 1,
    });
  const event = (i: number) =>
    ({ source: 'vigil.ingest', detailType: 'Run Completed', detail: { n: i } }) as never;
  /**
   * A started bus on `store` with a history subscriber (an idempotent store write) and a metrics
   * subscriber (EMF points, committed with the bus's progress), counting their calls.
   */
  const startBus = (store: LocalStore, calls = { history: 0, metrics: 0 }) => {
    const bus = new LocalBus({
      db: store.db,
      log: store.log,
      maxAttempts: 2,
      retryDelayMs: 1,
      withProgress: () => store.metrics.writeFailed(),
    });
    bus.subscribe('history', { source: ['vigil.ingest'] }, async (e) => {
      calls.history++;
      const { n: i } = e.detail as { n: number };
      await store.db.batch(() =>
        store.db.q('INSERT OR IGNORE INTO delivered_runs (n) VALUES (?)').run(i),
      );
    });
    bus.subscribe('metrics', { source: ['vigil.ingest'] }, async (e) => {
      calls.metrics++;
      store.metrics.ingestLine(emf((e.detail as { n: number }).n));
    });
    bus.start();
    return bus;
  };
  const numbers = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);
  /** What reached history and metrics. */
  const delivered = (store: LocalStore) => ({
    runs: (store.db.q('SELECT n FROM delivered_runs ORDER BY n').all() as { n: number }[]).map(
      (r) => r.n,
    ),
    points: store.metrics
      .query({ name: 'TestRuns' })
      .map((p) => Number(p.dimensions.run))
      .sort((a, b) => a - b),
  });

  it('loses no run from history or metrics: what could not be saved stays undelivered until it is', async () => {
    // Prepare: 12 acknowledged events; 3 more come once the disk has space again
    const store = open(await tempDir());
    store.db.db.exec('CREATE TABLE delivered_runs (n INTEGER PRIMARY KEY)');
    const disk = failingCommits(store);
    await store.log.publish(numbers(1, 12).map(event));
    const calls = { history: 0, metrics: 0 };

    // Act 1: the disk fills before the bus delivers them
    disk.full = true;
    const errors = vi.spyOn(logger, 'error');
    const bus = startBus(store, calls);
    await until('every delivery to fail', () => calls.metrics >= 12 && calls.history >= 2 * 12);
    // The dead letters fail too, and the progress saves keep failing (every 100 ms).
    await until('several failed saves', () => disk.failed > 3);
    const progressErrors = errors.mock.calls.filter(([m]) =>
      String(m).startsWith('could not save the bus progress'),
    ).length;
    errors.mockRestore();
    const whileFull = {
      backlog: bus.backlog().history,
      saved: [store.log.progress('history').cursor, store.log.progress('metrics').cursor],
      failedPoints: store.metrics.failedPoints,
    };

    // Act 2: space returns, more runs come in
    disk.full = false;
    await store.log.publish(numbers(13, 15).map(event));
    await bus.drain();
    await bus.stop();
    const afterRecovery = { ...calls };

    // Act 3: a restart on the same store delivers nothing again
    const again = startBus(store, calls);
    await again.drain();
    await again.stop();

    // Assess: the cursors never passed an event not done, and nothing was lost or counted twice
    expect(delivered(store)).toEqual({ runs: numbers(1, 15), points: numbers(1, 15) });
    // A failing save is logged once per outage, not at every retry.
    expect(progressErrors).toBe(1);
    expect(store.log.deadLetters()).toEqual([]);
    expect(store.log.progress('history').cursor).toBe(15);
    expect(store.log.progress('metrics').cursor).toBe(15);
    expect(whileFull).toMatchObject({ backlog: 12, saved: [0, 0] });
    expect(whileFull.failedPoints).toBeGreaterThan(0);
    expect(store.metrics.failedPoints).toBe(0);
    expect(calls).toEqual(afterRecovery);
  });

  it('spends no attempt on a write the store refused for now: delivered once there is space, never dead-lettered', async () => {
    // Prepare: a subscriber whose writes the store refuses three times (more than its two
    // attempts), while the dead letters could be written (space came back in between)
    const store = open(await tempDir());
    await store.log.publish([event(1)]);
    const bus = new LocalBus({ db: store.db, log: store.log, maxAttempts: 2, retryDelayMs: 1 });
    let calls = 0;
    bus.subscribe('history', { source: ['vigil.ingest'] }, async () => {
      if (++calls <= 3) throw new StoreUnavailable('The data directory is full.');
    });

    // Act
    bus.start();
    await bus.drain();
    await bus.stop();

    // Assess
    expect(calls).toBe(4);
    expect(store.log.deadLetters()).toEqual([]);
    expect(store.log.progress('history').cursor).toBe(1);
  });

  it('redelivers, once, what a process that died while the disk was full left undone', async () => {
    // Prepare: 12 acknowledged events, and a process whose connection cannot commit
    const dir = await tempDir();
    const store = open(dir);
    store.db.db.exec('CREATE TABLE delivered_runs (n INTEGER PRIMARY KEY)');
    await store.log.publish(numbers(1, 12).map(event));
    const dying = LocalStore.open(dir, { lock: false });
    const disk = failingCommits(dying);
    disk.full = true;
    const calls = { history: 0, metrics: 0 };
    const bus = startBus(dying, calls);
    await until('every delivery to fail', () => calls.metrics >= 12 && calls.history >= 2 * 12);

    // Act: it dies (its memory is gone), space returns, the next process starts
    const stopped = bus.stop();
    dying.close();
    await stopped;
    const next = startBus(store);
    await next.drain();
    await next.stop();

    // Assess
    expect(disk.failed).toBeGreaterThan(0);
    expect(delivered(store)).toEqual({ runs: numbers(1, 12), points: numbers(1, 12) });
    expect(store.log.deadLetters()).toEqual([]);
    expect(store.log.progress('history').cursor).toBe(12);
    expect(store.log.progress('metrics').cursor).toBe(12);
  });
});

describe('a corrupt record does not block its key', () => {
  const T = Date.parse('2026-11-25T10:00:00.000Z');
  const clock = { now: () => new Date(T) };
  let n = 0;
  const failing = (checkKey: string, minute: number): Observation => ({
    id: `obs-${++n}`,
    checkKey,
    ok: false,
    at: new Date(T + minute * 60_000).toISOString(),
    source: 'probe',
    project: 'shop',
    severity: 'critical',
    title: 'Probe checkout-api',
    error: 'status: expected 200, got 503',
    correlationId: `corr-${n}`,
    policy: { failureThreshold: 2, recoveryThreshold: 1 },
    tags: [],
    probe: 'checkout-api',
  });

  it('alerts again for a check whose stored state was torn (the write replaces it)', async () => {
    // Prepare: a FIRING check, then its state torn on disk
    const store = open(await tempDir());
    const sent: string[] = [];
    const deps = {
      store: store.alerts,
      dispatch: async (x: AlertNotification) => {
        sent.push(x.kind);
      },
      clock,
      maintenance: [],
      repeatMinutes: 60,
    };
    const key = 'probe:shop/checkout-api';
    await processObservation(failing(key, 0), deps);
    await processObservation(failing(key, 1), deps);
    expect(sent).toEqual(['FIRING']);
    store.db.q('UPDATE alert_state SET body = substr(body, 1, 100)').run();

    // Act: the probe is still down
    const first = await processObservation(failing(key, 2), deps);
    await processObservation(failing(key, 3), deps);
    const { active } = await store.alerts.list();

    // Assess: it starts over from a fresh state and fires again
    expect(first.state).toMatchObject({ status: 'PENDING', consecutiveFailures: 1, version: 1 });
    expect(active).toEqual([expect.objectContaining({ checkKey: key, status: 'FIRING' })]);
    expect(sent).toEqual(['FIRING', 'FIRING']);
  });

  it('lets a heartbeat whose stored state is corrupt be written again, only once', async () => {
    const store = open(await tempDir());
    const key = 'shop/nightly';
    expect(
      await store.heartbeats.putIfVersion({ ...initialState(key, clock.now()), version: 1 }, 0),
    ).toBe(true);
    store.db.q(`UPDATE heartbeat_state SET body = '{torn', version = 7`).run();

    const stored = await store.heartbeats.get(key);
    const fresh = { ...initialState(key, clock.now()), version: 1 };
    const results = await Promise.all([
      store.heartbeats.putIfVersion(fresh, 0),
      store.heartbeats.putIfVersion(fresh, 0),
    ]);

    expect(stored).toBeUndefined();
    expect(results).toEqual([true, false]); // still a compare-and-swap
    expect(await store.heartbeats.get(key)).toEqual(fresh);
  });

  it('replaces a test record whose body or window is corrupt, as a new test', async () => {
    // Prepare: two tests, one with a torn body, one with a damaged window, read after a restart
    // (the connection that wrote them would serve them from memory)
    const dir = await tempDir();
    let store = open(dir);
    const outcome = (runId: string) => ({
      runId,
      at: new Date(T).toISOString(),
      status: 'passed' as const,
      retried: false,
      durationMs: 3,
    });
    const record = (id: string, version: number, runs: string[]): TestRecord => ({
      project: 'burst',
      id,
      suite: 'c',
      classname: 'c',
      name: id,
      outcomes: runs.map(outcome),
      version,
    });
    const ids = ['burst > c > k1-0-a', 'burst > c > k1-0-b'];
    await store.history.putTests(
      ids.map((id) => ({ record: record(id, 1, ['r1']), expectedVersion: 0 })),
      90,
    );
    await store.history.putTest(record(ids[0] as string, 2, ['r1', 'r2']), 1, 90);
    store.db.q(`UPDATE tests SET body = '{torn' WHERE id = ?`).run(ids[0]);
    store.db.q(`UPDATE tests SET window = '[1, 2' WHERE id = ?`).run(ids[1]);
    store.close();
    store = open(dir);

    // Act: the next run's delivery reads them (skipped) and writes them as new tests
    const read = await store.history.getTests('burst', ids);
    const written = await store.history.putTests(
      ids.map((id) => ({ record: record(id, 1, ['r3']), expectedVersion: 0 })),
      90,
    );
    const again = await store.history.putTests(
      ids.map((id) => ({ record: record(id, 1, ['r3']), expectedVersion: 0 })),
      90,
    );
    const after = await store.history.getTests('burst', ids);

    // Assess
    expect(read.size).toBe(0);
    expect(written).toEqual([true, true]);
    expect(again).toEqual([false, false]); // the version check holds once it is readable
    expect(
      [...after.values()].map((t) => [t.id, t.version, t.outcomes.map((o) => o.runId)]),
    ).toEqual([
      [ids[0], 1, ['r3']],
      [ids[1], 1, ['r3']],
    ]);
  });
});

describe('a damaged page of the database', () => {
  it('answers a 503 naming the problem and the runbook, and the prune goes on', async () => {
    // Prepare: 300 runs over many pages, then one leaf page of `runs` overwritten (the store
    // stopped), deterministically
    const dir = await tempDir();
    const first = LocalStore.open(dir);
    for (let i = 0; i < 300; i++)
      await first.history.putRun(
        {
          project: 'burst',
          runId: `r${String(i).padStart(3, '0')}`,
          format: 'junit',
          ingestedAt: new Date(Date.now() - (300 - i) * 60_000).toISOString(),
          correlationId: 'c'.repeat(200),
          gate: 'pass',
          kind: 'tests',
          summary: { total: 1, passed: 1, failed: 0, skipped: 0, flaky: 0, durationMs: 1 },
        },
        90,
      );
    const { page_size: pageSize } = first.db.db.prepare('PRAGMA page_size').get() as {
      page_size: number;
    };
    const leaves = first.db.db
      .prepare(
        `SELECT pageno FROM dbstat WHERE name = 'runs' AND pagetype = 'leaf' ORDER BY pageno`,
      )
      .all() as { pageno: number }[];
    first.db.db.exec('PRAGMA wal_checkpoint(TRUNCATE)'); // every page in vigil.db itself
    first.close();
    expect(leaves.length).toBeGreaterThan(3);
    const page = (leaves[Math.floor(leaves.length / 2)] as { pageno: number }).pageno;
    const file = await fsOpen(join(dir, DB_FILE), 'r+');
    await file.write(
      Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 0xf1) & 0xff)),
      0,
      300,
      (page - 1) * pageSize,
    );
    await file.close();

    // Act
    const store = open(dir);
    const listing = store.history.listRuns('burst', { limit: 500 }).catch((e: unknown) => e);
    const pruned = store.prune();

    // Assess
    expect(await readdir(dir)).not.toContainEqual(expect.stringContaining('corrupt-'));
    expect(store.problems.length).toBeGreaterThan(0);
    const error = (await listing) as VigilError;
    expect(error).toMatchObject({ code: 'unavailable', status: 503 });
    expect(error.message).toMatch(/damaged \(SQLITE_CORRUPT.*\).*docs\/operating\.md/);
    expect(pruned).toMatchObject({ history: 0 });
  });
});

describe('retention and a wrong clock', () => {
  const T = Date.parse('2026-11-25T10:00:00.000Z');
  const DAY = 86_400_000;
  const runAt = (ms: number, runId: string) =>
    ({
      project: 'shop',
      runId,
      format: 'junit',
      ingestedAt: new Date(ms).toISOString(),
      correlationId: 'c',
      gate: 'pass',
      kind: 'tests',
      summary: { total: 1, passed: 1, failed: 0, skipped: 0, flaky: 0, durationMs: 1 },
    }) as const;
  const test = (ms: number, runId: string): TestRecord => ({
    project: 'shop',
    id: 'unit > a',
    suite: 'unit',
    classname: 'c',
    name: 'a',
    outcomes: [
      { runId, at: new Date(ms).toISOString(), status: 'passed', retried: false, durationMs: 1 },
    ],
    version: 1,
  });
  const emf = (ms: number) =>
    JSON.stringify({
      _aws: {
        Timestamp: ms,
        CloudWatchMetrics: [{ Namespace: 'Vigil', Dimensions: [['p']], Metrics: [{ Name: 'M' }] }],
      },
      p: 'shop',
      M: 1,
    });
  const probe = (ms: number): ProbeCompletedDetail => ({
    metadata: {
      project: 'shop',
      probe: 'api',
      correlationId: `c${ms}`,
      checkedAt: new Date(ms).toISOString(),
      location: 'test',
    },
    url: 'https://example.com/',
    method: 'GET',
    status: 'down',
    statusCode: 503,
    failure: { assertion: 'status', message: '503' },
    latencyMs: 5,
    attempt: 1,
    warnings: [],
    severity: 'critical',
    tags: [],
  });
  /** A store holding a run, a test, a metric point, a probe sample and a catalog entry written at `ms`. */
  const fill = async (dir: string, ms: number) => {
    const store = LocalStore.open(dir, { clock: { now: () => new Date(ms) } });
    await store.history.putRun(runAt(ms, 'r1'), 90);
    await store.history.putTest(test(ms, 'r1'), 0, 90);
    store.metrics.ingestLine(emf(ms));
    await store.status.probes.record(probe(ms));
    await store.status.catalog.record(
      { ...runAt(ms, 'r1'), suite: undefined } as unknown as RunEntry,
      90,
    );
    store.close();
  };
  const what = async (store: LocalStore) => ({
    runs: (await store.history.listRuns('shop', { limit: 5 })).items.map((r) => r.runId),
    tests: [...(await store.history.getTests('shop', ['unit > a'])).keys()],
    points: store.metrics.query({ name: 'M' }).length,
    rollups: (store.db.q('SELECT count(*) AS n FROM metric_rollups').get() as { n: number }).n,
    failures: (await store.status.probes.failures({ project: 'shop', probe: 'api', limit: 5 }))
      .length,
    catalog: (await store.status.catalog.get('shop', 'r1')) === undefined ? 0 : 1,
  });

  it('drops nothing when the clock is far ahead of the newest record, and warns', async () => {
    // Prepare
    const dir = await tempDir();
    await fill(dir, T);
    const warn = vi.spyOn(logger, 'warn');

    // Act: started with the clock 400 days ahead
    const store = LocalStore.open(dir, { clock: { now: () => new Date(T + 400 * DAY) } });
    opened.push(store);
    await store.prune().dashboard;

    // Assess
    expect(await what(store)).toEqual({
      runs: ['r1'],
      tests: ['unit > a'],
      points: 1,
      rollups: 0,
      failures: 1,
      catalog: 1,
    });
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/clock is far past the newest record/),
      expect.objectContaining({ aheadDays: 400 }),
    );
    warn.mockRestore();
  });

  it('keeps what a clock behind wrote until newer data is past its retention, and warns', async () => {
    // Prepare: written under a clock 200 days behind
    const dir = await tempDir();
    await fill(dir, T - 200 * DAY);

    // Act: a normal start, then the same store after a newer run came in
    const store = LocalStore.open(dir, { clock: { now: () => new Date(T) } });
    opened.push(store);
    await store.prune().dashboard;
    const kept = await what(store);
    await store.history.putRun(runAt(T, 'r2'), 90);
    const warn = vi.spyOn(logger, 'warn');
    const behind = LocalStore.open(await tempDir(), {
      clock: { now: () => new Date(T - DAY * 3) },
    });
    opened.push(behind);
    await behind.history.putRun(runAt(T, 'r9'), 90);
    await Promise.all([behind.prune().dashboard, store.prune().dashboard]);

    // Assess
    expect(kept).toEqual({
      runs: ['r1'],
      tests: ['unit > a'],
      points: 1,
      rollups: 0,
      failures: 1,
      catalog: 1,
    });
    expect((await what(store)).runs).toEqual(['r2']); // r1 is 200 days older than r2
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/clock is behind the newest record/),
      expect.objectContaining({ behindHours: 72 }),
    );
    warn.mockRestore();
  });
});
