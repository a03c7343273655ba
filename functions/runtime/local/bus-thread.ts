import type { Worker } from 'node:worker_threads';
import type { Datapoint } from '../../adapters/local/metric-store';
import type { HealthSource } from '../../adapters/local/prometheus';
import type { LocalStore } from '../../adapters/local/store';
import { siblingFile, startThread, threadEnv } from '../../adapters/local/threads';
import type { VigilEvent } from '../../core/events';
import type { EventPublisher } from '../../core/ports';
import { logger } from '../../shared/powertools';
import {
  BUS_WORKER,
  type BusStats,
  type BusWorkerData,
  type FromWorker,
  type ToWorker,
} from './bus-worker';

/**
 * The main thread's side of the bus worker (bus-worker.ts): publishing commits the events in
 * the main thread's store and wakes the worker, which delivers them. The worker reports the
 * metric points its handlers emit (`onPoints`: the Prometheus registry lives here) and its
 * counters; the backlog is read from the store's saved cursors. If the thread dies, the
 * requests in flight reject and a new thread starts a second later, taking over from the
 * saved cursors (at least once, as after a crash).
 */

export interface BusThreadOptions {
  /** The main thread's store (the one holding the data directory's lock). */
  store: LocalStore;
  worker: Omit<BusWorkerData, 'dataDir'>;
  onPoints?: (points: readonly Datapoint[]) => void;
  /** Delay before a dead thread is replaced, ms. Default 1 000. */
  restartMs?: number;
}

type Request = 'drain' | 'idle' | 'stop';

const WORKER_FILE = siblingFile('bus-worker', import.meta.url);

/** How long a stopped pipeline's thread waits for the next one to reuse it, ms. */
const PARK_MS = 30_000;

/**
 * The thread of the last pipeline stopped cleanly in this process, for the next to take (tests
 * start many; loading the handlers' modules in a new thread costs ~0.1 s of CPU), with the
 * environment it was started with: a thread started in another one is not reused.
 */
let parked: { worker: Worker; env: string; timer: NodeJS.Timeout; forget: () => void } | undefined;

const unpark = (): Worker | undefined => {
  const thread = parked;
  parked = undefined;
  if (!thread) return undefined;
  clearTimeout(thread.timer);
  thread.worker.off('exit', thread.forget).off('error', thread.forget);
  return thread.worker;
};

const park = (worker: Worker, env: string): void => {
  unpark()?.terminate();
  const timer = setTimeout(() => unpark()?.terminate(), PARK_MS);
  timer.unref();
  // A parked thread that ends is forgotten.
  const forget = () => {
    if (parked?.worker === worker) unpark();
  };
  worker.on('exit', forget).on('error', forget);
  parked = { worker, env, timer, forget };
};

/**
 * A thread for `env`: the parked one if it was started with it, else a new one. Vitest numbers
 * each test file in `VITEST_WORKER_ID`, which nothing in the thread reads: left out of the
 * comparison, a file's pipeline takes the thread the previous file parked (16 of the suite's
 * ~55 starts were new threads for that variable alone).
 */
const threadFor = (env: NodeJS.ProcessEnv): { worker: Worker; key: string } => {
  const { VITEST_WORKER_ID: _, ...compared } = env;
  const key = JSON.stringify(compared);
  const reused = parked?.env === key ? unpark() : undefined;
  return { worker: reused ?? startThread(WORKER_FILE, { workerData: BUS_WORKER, env }), key };
};

export class BusThread implements EventPublisher, HealthSource {
  deadLetters = 0;
  deliveryFailures = new Map<string, number>();
  /** The alert dispatcher of the thread: its counters and `idle` (every due delivery made). */
  readonly alerts = {
    stats: { delivered: 0, deadLetters: 0 },
    idle: (): Promise<void> => this.#request('idle'),
  };
  readonly #opts: BusThreadOptions;
  readonly #pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** The thread, the environment it was started with, and a function removing our listeners. */
  #worker: { thread: Worker; env: string; off: () => void } | undefined;
  #subscribers: string[] = [];
  #nextId = 0;
  #stopping = false;
  /** A wake message is due at the end of this microtask queue. */
  #waking = false;
  #restart: NodeJS.Timeout | undefined;
  #unlisten: (() => void) | undefined;
  #ready: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(opts: BusThreadOptions) {
    this.#opts = opts;
  }

  /**
   * Starts the thread; commits in this thread wake it, with one message per group commit: the
   * writes of one commit resolve together, and each notifies (one message each cost the main
   * thread a structured clone and the worker a turn of its loop).
   */
  start(): void {
    this.#unlisten ??= this.#opts.store.log.onAppend(() => {
      if (this.#waking) return;
      this.#waking = true;
      queueMicrotask(() => {
        this.#waking = false;
        this.#worker?.thread.postMessage({ type: 'wake' });
      });
    });
    if (this.#ready) return;
    let resolve = () => {};
    let reject: (e: Error) => void = () => {};
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    this.#ready = { promise, resolve, reject };
    this.#spawn();
  }

  /** The id of the thread delivering now (undefined while there is none). */
  get threadId(): number | undefined {
    return this.#worker?.thread.threadId;
  }

  /** Resolves when the first thread delivers; rejects if it died before (e.g. it could not start). */
  ready(): Promise<void> {
    return this.#ready?.promise ?? Promise.reject(new Error('the bus thread was not started'));
  }

  async publish(events: VigilEvent[]): Promise<void> {
    await this.#opts.store.log.publish(events);
  }

  /** Per subscriber: events committed that its saved progress does not cover yet. */
  backlog(): Record<string, number> {
    const { log } = this.#opts.store;
    const last = log.lastSeq();
    return Object.fromEntries(
      this.#subscribers.map((name) => {
        const { cursor, acked } = log.progress(name);
        return [name, Math.max(0, last - cursor - acked.size)];
      }),
    );
  }

  /** Resolves when every committed event is done and the progress saved (tests, shutdown). */
  drain(): Promise<void> {
    return this.#request('drain');
  }

  /** Finishes the deliveries under way, saves the progress and ends the thread. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restart);
    this.#unlisten?.();
    const worker = this.#worker;
    if (!worker) return;
    const stopped = await this.#request('stop').then(
      () => true,
      (error: unknown) => {
        logger.error('the bus worker thread did not stop cleanly', { error });
        return false;
      },
    );
    this.#worker = undefined;
    worker.off();
    if (stopped) park(worker.thread, worker.env);
    else await worker.thread.terminate();
  }

  #request(type: Request): Promise<void> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new Error('the bus worker thread is not running'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.thread.postMessage({ type, id });
    });
  }

  #stats(stats: BusStats): void {
    this.deadLetters = stats.deadLetters;
    this.deliveryFailures = new Map(stats.deliveryFailures);
    Object.assign(this.alerts.stats, stats.alerts);
  }

  #spawn(): void {
    const { store } = this.#opts;
    const data: BusWorkerData = {
      ...this.#opts.worker,
      dataDir: store.dataDir,
      gate: store.db.gate,
    };
    const { worker, key } = threadFor(threadEnv());
    worker.postMessage({ type: 'open', data } satisfies ToWorker);
    // The HTTP server keeps the process alive; the thread alone should not.
    worker.unref();
    const onMessage = (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          this.#subscribers = message.subscribers;
          this.#ready?.resolve();
          return;
        case 'points':
          this.#opts.onPoints?.(message.points);
          return;
        case 'stats':
          this.#stats(message.stats);
          return;
        case 'done':
          this.#stats(message.stats);
          this.#pending.get(message.id)?.resolve();
          break;
        case 'failed':
          this.#pending.get(message.id)?.reject(new Error(message.error));
          break;
      }
      this.#pending.delete(message.id);
    };
    const died = (why: string): void => {
      if (this.#worker?.thread !== worker) return;
      this.#worker = undefined;
      const error = new Error(`the bus worker thread ${why}`);
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
      // Rejects only if the thread never got ready (a settled promise ignores it).
      this.#ready?.reject(error);
      if (this.#stopping) return;
      logger.error(`${error.message}; a new one starts shortly`);
      this.#restart = setTimeout(() => this.#spawn(), this.#opts.restartMs ?? 1_000);
      this.#restart.unref();
    };
    const onError = (e: unknown) => died(`failed: ${e instanceof Error ? e.message : String(e)}`);
    const onExit = (code: number) => died(`exited (code ${code})`);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    const off = () => worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    this.#worker = { thread: worker, env: key, off };
  }
}
