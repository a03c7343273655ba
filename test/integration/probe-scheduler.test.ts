import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { probeOffsetMs } from '../../functions/adapters/local/probe-schedule';
import { ProbeScheduler, WORKER_RESTART_MS } from '../../functions/adapters/local/probe-scheduler';
import {
  type FromProbeWorker,
  probeWorkerHandler,
} from '../../functions/adapters/local/probe-worker';
import { parseConfig } from '../../functions/core/config';
import type { ProbeCompletedDetail } from '../../functions/core/events';
import { createLimiter } from '../../functions/core/pool';
import { judged } from '../../functions/core/probes/outcome';
import { SecretError } from '../../functions/core/probes/secrets';
import type { probeHttp } from '../../functions/shared/http-probe';
import { logger } from '../../functions/shared/powertools';
import { MemoryPublisher } from '../helpers/fakes';

let target: Server;
let base = '';

beforeAll(async () => {
  target = createServer((req, res) => {
    if (req.url === '/secret')
      res.writeHead(req.headers.authorization === 'Bearer s3cret' ? 200 : 401).end();
    else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 60);
    else res.writeHead(req.url === '/ok' ? 200 : 503).end('hello');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => target.close(() => resolve()));
});

const configOf = (probes: Record<string, unknown>[]) => parseConfig({ project: 'shop', probes });

describe('probeOffsetMs', () => {
  it('is stable for a name and inside the interval', () => {
    // Act
    const offsets = ['api', 'web', 'db'].map((n) => probeOffsetMs(n, 5000));
    // Assess
    expect(offsets).toEqual(['api', 'web', 'db'].map((n) => probeOffsetMs(n, 5000)));
    for (const o of offsets) expect(o).toBeGreaterThanOrEqual(0);
    for (const o of offsets) expect(o).toBeLessThan(5000);
  });

  it('spreads 200 probes over the interval instead of one instant', () => {
    // Act: how many of 200 probes fall in each tenth of a 5 s interval (20 expected in each).
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 200; i++) {
      const o = probeOffsetMs(`probe-${i}`, 5000);
      buckets[Math.floor(o / 500)] = (buckets[Math.floor(o / 500)] ?? 0) + 1;
    }
    // Assess
    expect(Math.max(...buckets)).toBeLessThanOrEqual(35);
    expect(Math.min(...buckets)).toBeGreaterThanOrEqual(8);
  });
});

describe('createLimiter', () => {
  it('runs at most `limit` at once, the others in the order they came', async () => {
    // Prepare
    const limit = createLimiter(2);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const job = (i: number) => async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return i;
    };
    // Act
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => limit(job(i))));
    // Assess
    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
    expect(limit.running).toBe(0);
    expect(limit.waiting).toBe(0);
  });

  it('frees the slot of a call that throws', async () => {
    const limit = createLimiter(1);
    await expect(limit(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limit(async () => 'next')).toBe('next');
  });
});

describe('ProbeScheduler timing and bound', () => {
  it('applies the concurrency bound across probes', async () => {
    // Prepare
    let running = 0;
    let most = 0;
    const slow: typeof probeHttp = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      return { statusCode: 200, headers: {}, body: '', latencyMs: 30 };
    };
    const results: ProbeCompletedDetail[] = [];
    const scheduler = new ProbeScheduler({
      config: configOf(
        Array.from({ length: 10 }, (_, i) => ({ name: `p${i}`, url: `${base}/ok` })),
      ),
      publisher: new MemoryPublisher(),
      secrets: new EnvSecretResolver({}),
      probeHttp: slow,
      concurrency: 3,
      onResult: (d) => results.push(d),
    });
    // Act
    scheduler.start();
    // Every probe runs at start; a probe whose offset comes during that first round runs again
    // once its run ends, so there may be more than ten results.
    await vi.waitFor(() => expect(new Set(results.map((r) => r.metadata.probe)).size).toBe(10), {
      timeout: 3000,
    });
    await scheduler.stop();
    // Assess
    expect(most).toBe(3);
  });

  it('runs at start, then at the probe offset within each interval', async () => {
    // Prepare
    const results: ProbeCompletedDetail[] = [];
    const scheduler = new ProbeScheduler({
      config: configOf([{ name: 'offset-check', url: `${base}/ok`, intervalSeconds: 1 }]),
      publisher: new MemoryPublisher(),
      secrets: new EnvSecretResolver({}),
      onResult: (d) => results.push(d),
    });
    // Act
    scheduler.start();
    await vi.waitFor(() => expect(results).toHaveLength(3), { timeout: 3500 });
    await scheduler.stop();
    // Assess: the later runs are due at the offset of the name within the second, whatever the
    // start time was. A run the busy machine started more than 100 ms late says by how much
    // (`lateMs`); within that, ±150 ms.
    const offset = probeOffsetMs('offset-check', 1000);
    for (const r of results.slice(1)) {
      const ms = (Date.parse(r.metadata.checkedAt) - (r.metadata.lateMs ?? 0)) % 1000;
      const distance = Math.min(Math.abs(ms - offset), 1000 - Math.abs(ms - offset));
      expect(distance).toBeLessThan(150);
    }
  });
});

describe('ProbeScheduler: late and skipped runs (fake timers)', () => {
  const name = 'late-check';
  // Start exactly at the probe's offset: its ticks come at t0 + 1000, t0 + 2000...
  const t0 = Date.UTC(2026, 0, 1) + probeOffsetMs(name, 1000);
  /** Let every promise settle (setImmediate is not faked). */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** A scheduler whose HTTP calls are held until `answer(i)`; it counts overlapping calls. */
  const setup = () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(t0);
    const answers: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const held: typeof probeHttp = () =>
      new Promise((resolve) => {
        running++;
        most = Math.max(most, running);
        answers.push(() => {
          running--;
          resolve({ statusCode: 200, headers: {}, body: '', latencyMs: 1 });
        });
      });
    const warnings: unknown[][] = [];
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
    const results: ProbeCompletedDetail[] = [];
    const scheduler = new ProbeScheduler({
      config: configOf([{ name, url: `${base}/ok`, intervalSeconds: 1, timeoutMs: 10_000 }]),
      publisher: new MemoryPublisher(),
      secrets: new EnvSecretResolver({}),
      probeHttp: held,
      onResult: (d) => results.push(d),
    });
    const answer = async (i: number) => {
      answers[i]?.();
      await settle();
    };
    return { scheduler, results, warnings, answer, calls: () => answers.length, most: () => most };
  };

  it('runs a tick that came during the previous run as soon as it ends, late, saying how late', async () => {
    // Prepare
    const { scheduler, results, warnings, answer, calls, most } = setup();
    scheduler.start();
    await settle();
    // Act: the tick at t0 + 1000 comes while the start run is going; that run ends 300 ms later.
    await vi.advanceTimersByTimeAsync(1000);
    const callsDuringRun = calls();
    await vi.advanceTimersByTimeAsync(300);
    await answer(0);
    await answer(1);
    // The next tick, at t0 + 2000, is on time.
    await vi.advanceTimersByTimeAsync(700);
    await answer(2);
    await scheduler.stop();
    // Assess
    expect(callsDuringRun).toBe(1);
    expect(most()).toBe(1);
    expect(results.map((r) => r.metadata.lateMs)).toEqual([undefined, 300, undefined]);
    expect(results[1]?.metadata.checkedAt).toBe(new Date(t0 + 1300).toISOString());
    expect(scheduler.stats).toMatchObject({
      runs: 3,
      lateRuns: 1,
      maxLateMs: 300,
      skippedTicks: 0,
    });
    expect(warnings).toEqual([
      ['probe run started late', expect.objectContaining({ probe: name, lateMs: 300 })],
    ]);
  });

  it('skips, counts and logs a waiting tick only when the next tick comes too', async () => {
    // Prepare
    const { scheduler, results, warnings, answer } = setup();
    scheduler.start();
    await settle();
    // Act: ticks at t0 + 1000 and t0 + 2000 come while the start run is going.
    await vi.advanceTimersByTimeAsync(2200);
    await answer(0);
    await answer(1);
    await scheduler.stop();
    // Assess: the first waiting tick was skipped; the second ran 200 ms late.
    expect(scheduler.stats).toMatchObject({
      runs: 2,
      skippedTicks: 1,
      lateRuns: 1,
      maxLateMs: 200,
    });
    expect(results.map((r) => r.metadata.lateMs)).toEqual([undefined, 200]);
    expect(warnings[0]).toEqual([
      'probe run skipped: its previous run was still going at the next tick',
      { probe: name, dueAt: new Date(t0 + 1000).toISOString() },
    ]);
  });

  it('runs the latest time a late timer passed, and counts and logs the earlier ones as skipped', async () => {
    // Prepare
    const { scheduler, results, warnings, answer } = setup();
    scheduler.start();
    await settle();
    await answer(0);
    // Act: the clock jumps 3.5 s while the timer due at t0 + 1000 waits (a blocked event loop),
    // so it fires at t0 + 4500, past the times t0 + 1000, 2000, 3000 and 4000.
    vi.setSystemTime(t0 + 3500);
    await vi.advanceTimersByTimeAsync(1000);
    await answer(1);
    // The next timer is at t0 + 5000, on time.
    await vi.advanceTimersByTimeAsync(500);
    await answer(2);
    await scheduler.stop();
    // Assess
    expect(results.map((r) => r.metadata.lateMs)).toEqual([undefined, 500, undefined]);
    expect(results[2]?.metadata.checkedAt).toBe(new Date(t0 + 5000).toISOString());
    expect(scheduler.stats).toMatchObject({ runs: 3, skippedTicks: 3, lateRuns: 1 });
    expect(warnings[0]).toEqual([
      'probe run skipped: the timer fired more than an interval late',
      { probe: name, dueAt: new Date(t0 + 1000).toISOString(), count: 3 },
    ]);
  });

  it('leaves at least half an interval between the start run and the first scheduled one', async () => {
    // Prepare: start 5 ms before the probe's offset point (t0).
    const { scheduler, results, answer, calls } = setup();
    vi.setSystemTime(t0 - 5);
    scheduler.start();
    await settle();
    await answer(0);

    // Act: past the offset point just after the start, then to the next one.
    await vi.advanceTimersByTimeAsync(100);
    const callsAfterStart = calls();
    await vi.advanceTimersByTimeAsync(905);
    await answer(1);
    await scheduler.stop();

    // Assess: one check at start; the next at the offset point one interval on.
    expect(callsAfterStart).toBe(1);
    expect(results.map((r) => r.metadata.checkedAt)).toEqual([
      new Date(t0 - 5).toISOString(),
      new Date(t0 + 1000).toISOString(),
    ]);
  });

  it("logs a probe's late runs at most once a minute, the next line with how many were not", async () => {
    // Prepare: checks that take 1.15 s of a 1 s interval, so each run starts later than the last.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(t0);
    let holdMs = 1150;
    const slow: typeof probeHttp = () =>
      new Promise((resolve) =>
        setTimeout(() => resolve({ statusCode: 200, headers: {}, body: '', latencyMs: 1 }), holdMs),
      );
    const warnings: unknown[][] = [];
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
    const scheduler = new ProbeScheduler({
      config: configOf([{ name, url: `${base}/ok`, intervalSeconds: 1, timeoutMs: 10_000 }]),
      publisher: new MemoryPublisher(),
      secrets: new EnvSecretResolver({}),
      probeHttp: slow,
    });

    // Act: 5 s of late runs, a minute on time, then late again.
    scheduler.start();
    await vi.advanceTimersByTimeAsync(5000);
    holdMs = 10;
    await vi.advanceTimersByTimeAsync(60_000);
    const lateRuns = scheduler.stats.lateRuns;
    holdMs = 1150;
    await vi.advanceTimersByTimeAsync(2500);
    const stopping = scheduler.stop();
    await vi.advanceTimersByTimeAsync(1150); // the run in flight ends
    await stopping;

    // Assess: the first late run logged, the others of that minute counted in the next line.
    expect(lateRuns).toBeGreaterThan(3);
    expect(warnings).toEqual([
      ['probe run started late', expect.not.objectContaining({ repeated: expect.anything() })],
      ['probe run started late', expect.objectContaining({ probe: name, repeated: lateRuns - 1 })],
    ]);
  });

  it('does not count a run within a tenth of its interval as late', async () => {
    // Prepare
    const { scheduler, results, answer } = setup();
    scheduler.start();
    await settle();
    // Act: the start run ends 100 ms after the tick at t0 + 1000 came.
    await vi.advanceTimersByTimeAsync(1100);
    await answer(0);
    await answer(1);
    await scheduler.stop();
    // Assess
    expect(results.map((r) => r.metadata.lateMs)).toEqual([undefined, undefined]);
    expect(scheduler.stats.lateRuns).toBe(0);
  });

  it('serves runAll() with the run in flight, and stop() waits for it and drops a waiting tick', async () => {
    // Prepare
    const { scheduler, results, answer, calls } = setup();
    scheduler.start();
    await settle();
    // Act
    const all = scheduler.runAll();
    await vi.advanceTimersByTimeAsync(1000);
    const stopping = scheduler.stop();
    await answer(0);
    await Promise.all([all, stopping]);
    // Assess: one call, one result; the tick waiting at stop never ran.
    expect(calls()).toBe(1);
    expect(results).toHaveLength(1);
    expect(scheduler.stats).toMatchObject({ runs: 1, skippedTicks: 0 });
  });
});

describe('the schedule in the probe worker thread', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A scheduler whose timing and checks run in the probe worker thread. */
  const threaded = (
    probes: Record<string, unknown>[],
    more: Partial<ConstructorParameters<typeof ProbeScheduler>[0]> = {},
  ) => {
    const results: ProbeCompletedDetail[] = [];
    const publisher = new MemoryPublisher();
    const scheduler = new ProbeScheduler({
      config: configOf(probes),
      publisher,
      secrets: new EnvSecretResolver({}),
      worker: { env: {} },
      onResult: (d) => results.push(d),
      ...more,
    });
    return { scheduler, results, publisher };
  };

  it('starts runs on time while the main thread is blocked; on the main thread they start late', async () => {
    // Prepare: the same probe (so the same due times) in the worker and on this thread. Its
    // interval sets the schedule's lateness bound (a tenth: 500 ms), wide enough for a thread
    // that waits for a core on a loaded 2-core machine (289 ms once with 2 s and 200 ms).
    const probe = { name: 'steady', url: `${base}/ok`, intervalSeconds: 5 };
    const inWorker = threaded([probe]);
    const onMain = threaded([probe], { worker: undefined });
    inWorker.scheduler.start();
    onMain.scheduler.start();
    // The worker is up once a first run is in (more if this thread was held up meanwhile).
    await vi.waitFor(() => expect(inWorker.results.length).toBeGreaterThanOrEqual(1), {
      timeout: 15_000,
    });
    // A due time both schedules keep: at least half an interval after their start runs.
    const offset = probeOffsetMs(probe.name, 5000);
    let due = Date.now() - (Date.now() % 5000) + offset;
    while (due < Date.now() + 2500) due += 5000;
    await new Promise((r) => setTimeout(r, due - 20 - Date.now()));
    const [before, beforeOnMain] = [inWorker.results.length, onMain.results.length];
    // Act: this thread is busy from 20 ms before the due time to 600 ms after it.
    while (Date.now() < due + 600);
    const blockEnd = Date.now();
    await vi.waitFor(() => expect(inWorker.results.length).toBeGreaterThan(before), {
      timeout: 3000,
    });
    await vi.waitFor(() => expect(onMain.results.length).toBeGreaterThan(beforeOnMain), {
      timeout: 3000,
    });
    await Promise.all([inWorker.scheduler.stop(), onMain.scheduler.stop()]);
    // Assess: the worker's run started during the block, on time (under a tenth of the interval
    // late); the one timed on this thread started when the block ended, late.
    const started = (d: ProbeCompletedDetail | undefined) =>
      Date.parse(d?.metadata.checkedAt ?? '');
    const [workerRun, mainRun] = [inWorker.results[before], onMain.results[beforeOnMain]];
    console.log(
      `main thread blocked 620 ms: the worker's run started ${started(workerRun) - due} ms ` +
        `after its time, the main thread's ${started(mainRun) - due} ms`,
    );
    expect(started(workerRun)).toBeLessThan(blockEnd);
    expect(started(workerRun) - due).toBeLessThan(500);
    expect(workerRun?.metadata.lateMs).toBeUndefined();
    expect(inWorker.scheduler.stats).toMatchObject({ lateRuns: 0, maxLateMs: 0 });
    expect(started(mainRun)).toBeGreaterThanOrEqual(blockEnd);
    expect(mainRun?.metadata.lateMs).toBeGreaterThanOrEqual(600);
  });

  it('publishes what the worker measured (secrets from the env it was given); browser checks run here', async () => {
    // Prepare: HTTP probes, and browser checks that a runner here passes or fails by throwing.
    const browser = vi.fn(async (probe: { name: string }) => {
      if (probe.name === 'no-secret') throw new SecretError('pw', 'secret pw is not set');
      if (probe.name === 'broken') throw 'bare failure';
      return judged(12);
    });
    const { scheduler, results, publisher } = threaded(
      [
        {
          name: 'private',
          url: `${base}/secret`,
          headers: { authorization: 'Bearer {{secret:token}}' },
        },
        { name: 'failing', url: `${base}/broken`, project: 'web' },
        { name: 'refused', url: 'http://127.0.0.1:9/' },
        ...['login', 'no-secret', 'broken'].map((name) => ({
          name,
          type: 'browser',
          script: 'checks/x.check.ts',
        })),
      ],
      { worker: { env: { VIGIL_SECRET_TOKEN: 's3cret' } }, location: 'lab', browser },
    );
    // Act
    scheduler.start();
    scheduler.start(); // idempotent
    await vi.waitFor(() => expect(results.length).toBeGreaterThanOrEqual(6), { timeout: 15_000 });
    // runAll waits until every run it asked for has been published.
    await scheduler.runAll();
    const afterRunAll = publisher.events.length;
    await scheduler.stop();
    // Assess
    const by = new Map(results.map((r) => [r.metadata.probe, r]));
    expect(by.get('private')).toMatchObject({
      status: 'up',
      statusCode: 200,
      metadata: { project: 'shop', location: 'lab' },
    });
    expect(by.get('failing')).toMatchObject({
      status: 'down',
      statusCode: 503,
      failure: { assertion: 'status' },
      metadata: { project: 'web' },
    });
    expect(by.get('refused')?.failure?.message).toContain('connection refused');
    expect(by.get('login')).toMatchObject({ status: 'up', method: 'BROWSER' });
    expect(by.get('no-secret')?.failure).toEqual({
      assertion: 'secret',
      message: 'secret pw is not set',
    });
    expect(by.get('broken')?.failure).toEqual({ assertion: 'error', message: 'bare failure' });
    expect(new Set(results.map((r) => r.metadata.correlationId)).size).toBe(results.length);
    expect(afterRunAll).toBeGreaterThanOrEqual(12);
    expect(publisher.events).toHaveLength(results.length);
    expect(scheduler.stats).toMatchObject({ runs: results.length, runFailures: 0 });
  });

  it('counts and logs the skips and failures the worker reports', async () => {
    // Prepare: a worker that reports one skip and one failed run, and answers requests.
    const fake = new URL(
      `data:text/javascript,import{parentPort as p}from"node:worker_threads";p.on("message",(m)=>{if(m.type==="start"){p.postMessage({type:"skipped",probe:"a",dueAt:0,count:2,why:"busy"});p.postMessage({type:"failed",probe:"a",error:"boom"});}else p.postMessage({type:"done",id:m.id});});`,
    );
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const error = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const { scheduler } = threaded([{ name: 'a', url: `${base}/ok` }], {
      worker: { env: {}, file: fake },
    });
    // Act
    scheduler.start();
    await vi.waitFor(() => expect(scheduler.stats.runFailures).toBe(1), { timeout: 15_000 });
    await scheduler.runAll();
    await scheduler.stop();
    // Assess
    expect(scheduler.stats.skippedTicks).toBe(2);
    expect(warn).toHaveBeenCalledWith('probe run skipped: busy', {
      probe: 'a',
      dueAt: new Date(0).toISOString(),
      count: 2,
    });
    expect(error).toHaveBeenCalledWith('probe run failed', { probe: 'a', error: 'boom' });
  });

  it('starts a new thread with the schedule when the worker dies, and not after stop', async () => {
    // Prepare: a worker that reports a failure for each start, then exits.
    const dying = new URL(
      'data:text/javascript,import{parentPort as p}from"node:worker_threads";p.on("message",()=>{p.postMessage({type:"failed",probe:"any",error:"dying"});setTimeout(()=>process.exit(3),5);});',
    );
    const error = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const { scheduler } = threaded([{ name: 'any', url: `${base}/ok` }], {
      worker: { env: {}, file: dying },
    });
    // Act
    scheduler.start();
    await vi.waitFor(() => expect(scheduler.stats.runFailures).toBe(2), { timeout: 15_000 });
    await scheduler.stop();
    const failures = scheduler.stats.runFailures;
    await new Promise((r) => setTimeout(r, WORKER_RESTART_MS + 100));
    // Assess: it died, was restarted once or more, and not once stopped.
    expect(error).toHaveBeenCalledWith(
      'the probe worker thread died: a new one takes the schedule over',
      {
        error: expect.objectContaining({
          message: 'the probe worker thread exited (code 3)',
        }),
        restartInMs: WORKER_RESTART_MS,
      },
    );
    expect(scheduler.stats.runFailures).toBe(failures);
  });

  it('does not run before start', async () => {
    const { scheduler, results } = threaded([{ name: 'a', url: `${base}/ok` }], {
      worker: undefined,
    });
    await scheduler.runAll();
    expect(results).toHaveLength(0);
  });

  it('does nothing with no probes', async () => {
    const { scheduler } = threaded([]);
    scheduler.start();
    await scheduler.runAll();
    await scheduler.stop();
    expect(scheduler.stats.runs).toBe(0);
  });
});

describe('the probe worker message handler (in-process)', () => {
  /** A handler started with `probes`, and what it posted. */
  const started = async (probes: Record<string, unknown>[], env = {}) => {
    const posted: FromProbeWorker[] = [];
    const handle = probeWorkerHandler({ env }, (m) => posted.push(m));
    await handle({
      type: 'start',
      probes: configOf(probes).probes,
      location: 'local',
      defaultProject: 'shop',
    });
    const of = <T extends FromProbeWorker['type']>(type: T) =>
      posted.filter((m): m is Extract<FromProbeWorker, { type: T }> => m.type === type);
    return { handle, posted, of };
  };

  it('runs the probes at start, answers runAll and stop when their runs are posted', async () => {
    // Prepare
    const { handle, posted, of } = await started(
      [
        {
          name: 'private',
          url: `${base}/secret`,
          headers: { authorization: 'Bearer {{secret:token}}' },
        },
      ],
      { VIGIL_SECRET_TOKEN: 's3cret' },
    );
    await vi.waitFor(() => expect(of('result')).toHaveLength(1));
    // Act
    await handle({ type: 'runAll', id: 1 });
    await handle({ type: 'stop', id: 2 });
    // Assess
    expect(of('result').map((m) => m.detail.statusCode)).toEqual([200, 200]);
    expect(posted.slice(-2)).toEqual([
      { type: 'done', id: 1 },
      { type: 'done', id: 2 },
    ]);
  });

  it('posts the runs its timers skipped', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { handle, of } = await started([{ name: 'late', url: `${base}/ok`, intervalSeconds: 1 }]);
    // The start run's result, waited for without moving the fake clock (vi.waitFor would advance
    // it, and the probe's next tick, at its offset in the interval, could then come first).
    const until = performance.now() + 5000;
    while (of('result').length === 0 && performance.now() < until)
      await new Promise((r) => setImmediate(r));
    expect(of('result')).toHaveLength(1);
    // Act: the clock jumps 2.5 s while the next timer (half to one and a half intervals after
    // the start run) waits, as if the thread was blocked.
    vi.setSystemTime(Date.now() + 2500);
    await vi.advanceTimersByTimeAsync(1500);
    await handle({ type: 'stop', id: 1 });
    vi.useRealTimers();
    // Assess
    expect(of('skipped')).toEqual([
      expect.objectContaining({
        probe: 'late',
        count: 2,
        why: 'the timer fired more than an interval late',
      }),
    ]);
  });

  it('posts a run that could not be made', async () => {
    // Prepare: a probe that skipped the config's parsing (no tags).
    const posted: FromProbeWorker[] = [];
    const handle = probeWorkerHandler({ env: {} }, (m) => posted.push(m));
    const raw = { name: 'raw', url: `${base}/ok`, intervalSeconds: 60, timeoutMs: 100 };
    // Act
    await handle({
      type: 'start',
      probes: [raw as never],
      location: 'local',
      defaultProject: 'shop',
    });
    await handle({ type: 'stop', id: 1 });
    // Assess
    expect(posted).toEqual([
      { type: 'failed', probe: 'raw', error: expect.stringContaining('not iterable') },
      { type: 'done', id: 1 },
    ]);
  });

  it('answers a request that comes before the start', async () => {
    // Prepare: nothing started yet.
    const posted: FromProbeWorker[] = [];
    const handle = probeWorkerHandler({ env: {} }, (m) => posted.push(m));
    // Act
    await handle({ type: 'runAll', id: 4 });
    // Assess
    expect(posted).toEqual([{ type: 'done', id: 4 }]);
  });
});
