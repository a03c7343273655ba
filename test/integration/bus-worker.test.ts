import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalStore } from '../../functions/adapters/local/store';
import { parseConfig } from '../../functions/core/config';
import type { VigilEvent } from '../../functions/core/events';
import { BusThread } from '../../functions/runtime/local/bus-thread';
import {
  type BusWorkerData,
  type FromWorker,
  runBusWorker,
} from '../../functions/runtime/local/bus-worker';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { saveEnv } from '../helpers/env';
import { startSentryReceiver } from '../helpers/sentry-receiver';

/**
 * The bus worker thread of local mode (bus-thread.ts, bus-worker.ts): a handler that throws
 * there is retried and dead-lettered as in the main thread, the main thread answers while a
 * handler blocks the worker's event loop, and a thread that dies is replaced and redelivers.
 * The extra subscribers are test/fixtures/bus-worker/subscribers.mjs.
 */

const FIXTURE = fileURLToPath(new URL('../fixtures/bus-worker/subscribers.mjs', import.meta.url));
const config = parseConfig({ project: 'shop' });

/** A `test.worker` event for the fixture's subscriber. */
const event = (detailType: string, detail: Record<string, unknown>) =>
  ({ source: 'test.worker', detailType, detail }) as unknown as VigilEvent;

/** One EMF document with one point of `name`. */
const emf = (name: string) =>
  JSON.stringify({
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        { Namespace: 'Vigil', Dimensions: [['service']], Metrics: [{ Name: name, Unit: 'Count' }] },
      ],
    },
    service: 'vigil',
    [name]: 1,
  });

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bus-worker-'));
  dirs.push(dir);
  return dir;
};
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** The worker's side on a message channel, in this thread; `request` waits for the answer. */
const inProcess = async (dir: string, data: Partial<BusWorkerData> = {}) => {
  const store = LocalStore.open(dir);
  cleanups.push(() => store.close());
  const { port1, port2 } = new MessageChannel();
  const messages: FromWorker[] = [];
  port2.on('message', (m: FromWorker) => messages.push(m));
  cleanups.push(() => port2.close());
  const request = (type: 'drain' | 'idle' | 'stop', id: number) =>
    new Promise<FromWorker>((resolve) => {
      port2.on('message', (m: FromWorker) => {
        if ('id' in m && m.id === id) resolve(m);
      });
      port2.postMessage({ type, id });
    });
  await runBusWorker(
    { config, dataDir: dir, env: {}, maxAttempts: 2, retryDelayMs: 1, ...data },
    port1,
  );
  return { store, messages, request, wake: () => port2.postMessage({ type: 'wake' }) };
};

describe('the bus worker (in this thread, over a message channel)', () => {
  it('retries a handler that throws, dead-letters the event and reports its counters', async () => {
    // Prepare: the main side's store, and the worker's side on a channel.
    const dir = await tempDir();
    const { store, messages, request, wake } = await inProcess(dir, {
      extraSubscribers: FIXTURE,
    });

    // Act: the main side commits, then wakes the worker.
    await store.log.publish([
      event('Throw', { dir }),
      event('Metric', { dir, emf: emf('IngestCount') }),
    ]);
    wake();
    const drained = await request('drain', 1);

    // Assess: two attempts, then the dead letters, with the counters sent back.
    expect(messages[0]).toEqual({
      type: 'ready',
      subscribers: ['metrics', 'alerts', 'history', 'status', 'test-worker'],
    });
    expect(drained).toEqual({
      type: 'done',
      id: 1,
      stats: {
        deadLetters: 1,
        deliveryFailures: [['test-worker', 2]],
        alerts: { delivered: 0, deadLetters: 0 },
      },
    });
    expect(store.log.deadLetters()).toMatchObject([
      { subscriber: 'test-worker', error: 'Error: the handler refused the event' },
    ]);
    expect(messages.filter((m) => m.type === 'stats')).toHaveLength(3);
    const points = messages.flatMap((m) => (m.type === 'points' ? m.points : []));
    expect(points.map((p) => p.name)).toEqual(['IngestCount']);
    expect(await request('idle', 2)).toMatchObject({ type: 'done', id: 2 });
    expect(await request('stop', 3)).toMatchObject({ type: 'done', id: 3 });
  });

  it('dead-letters the ingest events its handlers cannot read, with or without a project', async () => {
    // Prepare
    const dir = await tempDir();
    const { store, request, wake } = await inProcess(dir, { echoMetrics: true });
    const broken = (metadata: Record<string, unknown>) =>
      ({
        source: 'vigil.ingest',
        detailType: 'Test Run Reported',
        detail: { metadata },
      }) as unknown as VigilEvent;

    // A Sentry endpoint: the subscribers' errors go there too when SENTRY_DSN is set.
    const sentry = await startSentryReceiver();
    cleanups.push(sentry.close);
    const restore = saveEnv();
    cleanups.push(restore);
    process.env.SENTRY_DSN = sentry.dsn;
    delete process.env.VIGIL_STAGE;

    // Act: two ingest events the handlers cannot read, one naming its project
    await store.log.publish([broken({ project: 'shop' }), broken({})]);
    wake();
    await request('drain', 1);

    // Assess: each subscriber of ingest events gave up on both, after its attempts
    const dead = store.log.deadLetters().filter((d) => d.subscriber === 'history');
    expect(dead).toHaveLength(2);
    expect(dead.map((d) => d.seq).sort()).toEqual([1, 2]);
    // ...and each failed attempt was sent, tagged with its function and project.
    const envelopes = sentry.envelopes.map(String);
    expect(
      envelopes.some((e) => /"function":"history"/.test(e) && /"project":"shop"/.test(e)),
    ).toBe(true);
    expect(envelopes.every((e) => /"stage":"local"/.test(e))).toBe(true);
  });
});

describe('the bus worker thread', { timeout: 60_000 }, () => {
  it('replaces a thread that died; the event it was delivering is delivered again', async () => {
    // Prepare
    const dir = await tempDir();
    const store = LocalStore.open(dir);
    cleanups.push(() => store.close());
    const thread = new BusThread({
      store,
      worker: { config, env: {}, extraSubscribers: FIXTURE },
      restartMs: 10,
    });
    await expect(thread.ready()).rejects.toThrow('the bus thread was not started');
    thread.start();
    cleanups.push(() => thread.stop());
    await thread.ready();

    // Act: the handler ends its thread the first time.
    await thread.publish([event('Exit', { dir })]);
    await expect(thread.drain()).rejects.toThrow('the bus worker thread exited (code 3)');

    // Assess: a new thread took over from the saved cursor and delivered it.
    await expect.poll(() => existsSync(join(dir, 'delivered')), { timeout: 15_000 }).toBe(true);
    await thread.drain();
    expect(thread.backlog()).toEqual({
      metrics: 0,
      alerts: 0,
      history: 0,
      status: 0,
      'test-worker': 0,
    });
    await thread.stop();
    await expect(thread.drain()).rejects.toThrow('the bus worker thread is not running');
  });

  it('wakes the thread once per group commit, not once per event', async () => {
    // Prepare
    const dir = await tempDir();
    const store = LocalStore.open(dir);
    cleanups.push(() => store.close());
    const thread = new BusThread({ store, worker: { config, env: {} } });
    thread.start();
    cleanups.push(() => thread.stop());
    await thread.ready();
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    cleanups.push(() => posted.mockRestore());
    const wakes = () => posted.mock.calls.filter(([m]) => m?.type === 'wake').length;

    // Act: ten publishes in one turn of the event loop (one group commit), then one more.
    const tenTogether = Array.from({ length: 10 }, (_, i) =>
      thread.publish([event('Noop', { i })]),
    );
    await Promise.all(tenTogether);
    const afterTen = wakes();
    await thread.publish([event('Noop', { i: 10 })]);

    // Assess: one message each time, and every event was delivered.
    expect(afterTen).toBe(1);
    expect(wakes()).toBe(2);
    await thread.drain();
    expect(Object.values(thread.backlog())).toEqual([0, 0, 0, 0]);
  });

  describe('behind startLocal', () => {
    let pipeline: LocalPipeline | undefined;
    afterEach(async () => {
      await pipeline?.close();
      pipeline = undefined;
    });

    it('answers GET /v1/health while a handler blocks the worker, and counts dead letters', async () => {
      // Prepare
      const dir = await tempDir();
      pipeline = await startLocal({
        config,
        dataDir: join(dir, 'data'),
        port: 0,
        tokens: ['t'],
        probes: false,
        webFiles: new Map(),
        busWorker: { maxAttempts: 2, retryDelayMs: 1, extraSubscribers: FIXTURE },
      });
      const auth = { authorization: 'Bearer t' };

      // Act: a handler blocks the worker's event loop until the test releases it.
      await pipeline.bus.publish([event('Block', { dir }), event('Throw', { dir })]);
      await expect.poll(() => existsSync(join(dir, 'blocked')), { timeout: 10_000 }).toBe(true);
      const health = await fetch(`${pipeline.url}/v1/health`, { headers: auth });

      // Assess: answered while the worker is still blocked (it is released only now).
      expect(health.status).toBe(200);
      expect(existsSync(join(dir, 'release'))).toBe(false);
      await writeFile(join(dir, 'release'), '');
      await pipeline.bus.drain();
      expect(pipeline.bus.deadLetters).toBe(1);
      expect(pipeline.bus.deliveryFailures).toEqual(new Map([['test-worker', 2]]));
      const scrape = await (await fetch(`${pipeline.url}/metrics`, { headers: auth })).text();
      expect(scrape).toMatch(/vigil_event_dead_letters_total 1\b/);
      expect(scrape).toMatch(/vigil_event_delivery_failures_total\{subscriber="test-worker"\} 2\b/);
      expect(scrape).toMatch(/vigil_event_backlog\{subscriber="test-worker"\} 0\b/);
    });

    it('hands the thread of a stopped pipeline to the next one, which delivers into its own store', async () => {
      // Prepare: a pipeline whose thread delivered, then closed.
      const options = { config, port: 0, tokens: ['t'], probes: false, webFiles: new Map() };
      const first = await startLocal({ ...options, dataDir: await tempDir() });
      const threadId = first.bus.threadId;
      await first.close();
      expect(first.bus.threadId).toBeUndefined();

      // Act: the next pipeline of this process, on another data directory.
      const dir = await tempDir();
      pipeline = await startLocal({
        ...options,
        dataDir: dir,
        busWorker: { extraSubscribers: FIXTURE },
      });
      await pipeline.bus.publish([event('Metric', { dir, emf: emf('ReusedThread') })]);
      await pipeline.bus.drain();

      // Assess: the same thread, now with this pipeline's store and subscribers.
      expect(pipeline.bus.threadId).toBe(threadId);
      expect(pipeline.metricStore.query({ name: 'ReusedThread' }).map((p) => p.value)).toEqual([1]);
    });

    it('fails to start, with the reason, when the worker cannot start; the directory is free again', async () => {
      const dir = await tempDir();
      const options = {
        config,
        dataDir: dir,
        port: 0,
        tokens: ['t'],
        probes: false,
        webFiles: new Map(),
      };
      await expect(
        startLocal({ ...options, busWorker: { extraSubscribers: join(dir, 'missing.mjs') } }),
      ).rejects.toThrow(/the bus worker thread (failed|exited)/);
      pipeline = await startLocal(options);
    });
  });
});
