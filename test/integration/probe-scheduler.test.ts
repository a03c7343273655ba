import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { ProbeScheduler, probeOffsetMs } from '../../functions/adapters/local/probe-scheduler';
import { ProbeWorker } from '../../functions/adapters/local/probe-thread';
import {
  type ProbeAnswerMessage,
  probeRequestHandler,
} from '../../functions/adapters/local/probe-worker';
import { parseConfig } from '../../functions/core/config';
import type { ProbeCompletedDetail } from '../../functions/core/events';
import { createLimiter } from '../../functions/core/pool';
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
const ctx = { correlationId: 'c-1', location: 'local', defaultProject: 'shop' };

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
    // Assess: the later runs start at the offset of the name within the second (±150 ms
    // for a busy machine), whatever the start time was.
    const offset = probeOffsetMs('offset-check', 1000);
    for (const r of results.slice(1)) {
      const ms = Date.parse(r.metadata.checkedAt) % 1000;
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

describe('probes in a worker thread', () => {
  it('returns what the probe measured in the worker', async () => {
    // Prepare
    const worker = new ProbeWorker({ env: { VIGIL_SECRET_TOKEN: 's3cret' } });
    const [probe] = configOf([
      {
        name: 'private',
        url: `${base}/secret`,
        headers: { authorization: 'Bearer {{secret:token}}' },
      },
    ]).probes;
    // Act
    const result = await worker.run(probe as never, ctx);
    await worker.close();
    // Assess
    expect(result).toMatchObject({ status: 'up', statusCode: 200, url: `${base}/secret` });
    expect(result.metadata).toMatchObject({ probe: 'private', correlationId: 'c-1' });
    expect(result.latencyMs).toBeGreaterThan(0);
  });

  it('reports a failing probe as down, with the reason', async () => {
    // Prepare
    const worker = new ProbeWorker({ env: {} });
    const [failing, refused] = configOf([
      { name: 'failing', url: `${base}/broken` },
      { name: 'refused', url: 'http://127.0.0.1:9/' },
    ]).probes;
    // Act
    const results = await Promise.all([
      worker.run(failing as never, ctx),
      worker.run(refused as never, ctx),
    ]);
    await worker.close();
    // Assess
    expect(results[0]).toMatchObject({
      status: 'down',
      statusCode: 503,
      failure: { assertion: 'status' },
    });
    expect(results[1]).toMatchObject({
      status: 'down',
      failure: { message: expect.stringContaining('connection refused') },
    });
  });

  it('rejects the runs in flight when the worker dies, and starts a new one for the next', async () => {
    // Prepare: a worker that exits on its first message.
    const dying = new URL(
      'data:text/javascript,import{parentPort}from"node:worker_threads";parentPort.on("message",()=>process.exit(3));',
    );
    const worker = new ProbeWorker({ env: {}, file: dying });
    const [probe] = configOf([{ name: 'any', url: `${base}/ok` }]).probes;
    // Act
    const first = worker.run(probe as never, ctx);
    await expect(first).rejects.toThrow('the probe worker thread exited (code 3)');
    const second = worker.run(probe as never, ctx);
    // Assess: the next run went to a new thread (which died the same way)
    await expect(second).rejects.toThrow('exited (code 3)');
    await worker.close();
  });

  it('rejects a run with the error the worker answers, and ignores answers to no run', async () => {
    // Prepare: a worker that first answers an unknown id, then fails the run it was sent.
    const failing = new URL(
      'data:text/javascript,import{parentPort}from"node:worker_threads";parentPort.on("message",(m)=>{parentPort.postMessage({id:m.id+1000,detail:{}});parentPort.postMessage({id:m.id,error:"no route to probe"});});',
    );
    const worker = new ProbeWorker({ env: {}, file: failing });
    const [probe] = configOf([{ name: 'any', url: `${base}/ok` }]).probes;
    // Act
    const run = worker.run(probe as never, ctx);
    // Assess
    await expect(run).rejects.toThrow('no route to probe');
    await worker.close();
  });

  it('the scheduler publishes what its worker measured', async () => {
    // Prepare
    const publisher = new MemoryPublisher();
    const results: ProbeCompletedDetail[] = [];
    const scheduler = new ProbeScheduler({
      config: configOf([{ name: 'health', url: `${base}/ok` }]),
      publisher,
      secrets: new EnvSecretResolver({}),
      worker: { env: {} },
      onResult: (d) => results.push(d),
    });
    // Act
    scheduler.start();
    await vi.waitFor(() => expect(results).toHaveLength(1), { timeout: 15000 });
    await scheduler.stop();
    // Assess
    expect(results[0]).toMatchObject({ status: 'up', statusCode: 200 });
    expect(publisher.events).toHaveLength(1);
    expect(scheduler.stats.runFailures).toBe(0);
  });

  it('logs and counts a run the worker could not finish', async () => {
    // Prepare
    const errors: unknown[] = [];
    vi.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => {
      errors.push(args);
    });
    const scheduler = new ProbeScheduler({
      config: configOf([{ name: 'health', url: `${base}/ok` }]),
      publisher: new MemoryPublisher(),
      secrets: new EnvSecretResolver({}),
      worker: { env: {} },
    });
    const dead = vi
      .spyOn(ProbeWorker.prototype, 'run')
      .mockRejectedValue(new Error('the probe worker thread exited (code 1)'));
    // Act
    scheduler.start();
    await vi.waitFor(() => expect(scheduler.stats.runFailures).toBe(1));
    await scheduler.stop();
    dead.mockRestore();
    vi.mocked(logger.error).mockRestore();
    // Assess
    expect(JSON.stringify(errors)).toContain('probe run failed');
  });
});

describe('the probe worker message handler (in-process)', () => {
  const answers: ProbeAnswerMessage[] = [];
  const handle = probeRequestHandler({ env: { VIGIL_SECRET_TOKEN: 's3cret' } }, (a) =>
    answers.push(a),
  );
  const [probe] = configOf([
    {
      name: 'private',
      url: `http://127.0.0.1:1/`,
      headers: { authorization: 'Bearer {{secret:token}}' },
    },
  ]).probes;

  it('answers the probe detail, with secrets from the env it was given', async () => {
    // Prepare
    const [secret] = configOf([
      {
        name: 'private',
        url: `${base}/secret`,
        headers: { authorization: 'Bearer {{secret:token}}' },
      },
    ]).probes;
    answers.length = 0;
    // Act
    await handle({ id: 7, probe: secret as never, ctx });
    // Assess
    expect(answers).toEqual([
      { id: 7, detail: expect.objectContaining({ status: 'up', statusCode: 200 }) },
    ]);
  });

  it('bounds the checks in flight in the worker itself', async () => {
    // Prepare: one slot; two checks of a target answering after 60 ms.
    const bounded: ProbeAnswerMessage[] = [];
    const handleOne = probeRequestHandler({ env: {}, concurrency: 1 }, (a) => bounded.push(a));
    const [slow] = configOf([{ name: 'slow', url: `${base}/slow` }]).probes;
    // Act
    await Promise.all([1, 2].map((id) => handleOne({ id, probe: slow as never, ctx })));
    // Assess: the second check started once the first had ended.
    const [first, second] = bounded.map((a) => Date.parse(a.detail?.metadata.checkedAt ?? ''));
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(55);
  });

  it('answers why a run could not be made, whatever was thrown', async () => {
    // Prepare: a run context whose attempt numbering throws (an Error, then a bare value).
    answers.length = 0;
    const throwing = (value: unknown) => ({
      ...ctx,
      attempt: () => {
        throw value;
      },
    });
    // Act
    await handle({ id: 1, probe: probe as never, ctx: throwing(new Error('bad attempt')) });
    await handle({ id: 2, probe: probe as never, ctx: throwing('bare failure') });
    // Assess
    expect(answers).toEqual([
      { id: 1, error: 'bad attempt' },
      { id: 2, error: 'bare failure' },
    ]);
  });
});
