import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { LocalBus } from '../../adapters/local/bus';
import { invocationScopes } from '../../adapters/local/invocations';
import type { Datapoint } from '../../adapters/local/metric-store';
import { LocalStore } from '../../adapters/local/store';
import { lowerThreadPriority } from '../../adapters/local/threads';
import type { VigilConfig } from '../../core/config';
import { flushSpans } from '../../shared/otel/spans';
import { logger } from '../../shared/powertools';
import { logDeliveryError, subscribe } from './subscribers';

/**
 * The bus worker thread of local mode: the bus's delivery (the metrics, alerts, history and
 * status handlers, and the alert dispatcher's timer) on an event loop of its own, with its own
 * connection to the store, so the HTTP endpoint answers within its budget however far behind
 * the subscribers are. The main thread commits the events (ingest, probes, heartbeats) and
 * sends `wake`; the events the handlers publish here are committed and delivered here. The
 * data directory's lock stays with the main thread's connection. See bus-thread.ts for the
 * main thread's side.
 */

export interface BusWorkerData {
  config: VigilConfig;
  dataDir: string;
  /** The main thread's connection's `gate`: the worker's transactions step aside for it. */
  gate?: Int32Array;
  /** Where secrets come from (`VIGIL_SECRET_*`). */
  env: NodeJS.ProcessEnv;
  echoMetrics?: boolean;
  /** The main thread's log level. */
  logLevel?: string;
  /** The dashboard's address for the links in alert messages. */
  dashboardUrl?: string;
  /** Delivery attempts and the delay between them (LocalBus's defaults when absent). */
  maxAttempts?: number;
  retryDelayMs?: number;
  /**
   * A module (path or file URL) whose `subscribe(bus, store)` adds more subscribers in this
   * thread: tests give it handlers that fail or block.
   */
  extraSubscribers?: string;
}

export type ToWorker =
  | { type: 'open'; data: BusWorkerData }
  | { type: 'wake' }
  | { type: 'drain' | 'idle' | 'stop'; id: number };

export interface BusStats {
  /** Events dead-lettered by this thread. */
  deadLetters: number;
  /** Failed delivery attempts per subscriber. */
  deliveryFailures: [string, number][];
  /** Alert deliveries made and dead-lettered. */
  alerts: { delivered: number; deadLetters: number };
}

export type FromWorker =
  | { type: 'ready'; subscribers: string[] }
  | { type: 'points'; points: readonly Datapoint[] }
  | { type: 'stats'; stats: BusStats }
  | { type: 'done'; id: number; stats: BusStats }
  | { type: 'failed'; id: number; error: string };

export interface WorkerPort {
  postMessage(message: FromWorker): void;
  on(event: 'message', listener: (message: ToWorker) => void): unknown;
  off(event: 'message', listener: (message: ToWorker) => void): unknown;
}

/**
 * Opens the store, subscribes the handlers, starts delivering and answers `port`'s requests
 * until `stop`; the thread then waits for the next `open` (bus-thread.ts reuses an idle thread:
 * loading the handlers' modules in a new one costs more than the rest of a start).
 */
export const runBusWorker = async (data: BusWorkerData, port: WorkerPort): Promise<void> => {
  if (data.logLevel) logger.setLogLevel(data.logLevel as LogLevel);
  const scope = await invocationScopes();
  const store = LocalStore.open(data.dataDir, {
    lock: false,
    yieldTo: data.gate,
  });
  const stats = (): BusStats => ({
    deadLetters: bus.deadLetters,
    deliveryFailures: [...bus.deliveryFailures],
    alerts: { ...alerts.stats },
  });
  const bus: LocalBus = new LocalBus({
    db: store.db,
    log: store.log,
    scope,
    withProgress: () => store.metrics.writeFailed(),
    ...(data.maxAttempts ? { maxAttempts: data.maxAttempts } : {}),
    ...(data.retryDelayMs !== undefined ? { retryDelayMs: data.retryDelayMs } : {}),
    onDeliveryError: (...args) => {
      logDeliveryError(...args);
      port.postMessage({ type: 'stats', stats: stats() });
    },
    onDeadLetter: () => port.postMessage({ type: 'stats', stats: stats() }),
  });
  store.metrics.onPoints((points) => port.postMessage({ type: 'points', points }));
  const { alerts, retireRemoved } = subscribe({ ...data, store, bus });
  if (data.extraSubscribers) {
    const url = data.extraSubscribers.startsWith('file:')
      ? data.extraSubscribers
      : pathToFileURL(data.extraSubscribers).href;
    const extra = (await import(url)) as { subscribe(bus: LocalBus, store: LocalStore): void };
    extra.subscribe(bus, store);
  }
  const stop = async () => {
    await bus.stop();
    await alerts.stop();
    // The last spans (OpenTelemetry export on) leave before the thread does.
    await flushSpans();
    store.close();
  };
  const listener = (message: ToWorker): void => {
    if (message.type === 'open') return;
    if (message.type === 'wake') {
      bus.wake();
      return;
    }
    if (message.type === 'stop') port.off('message', listener);
    const work =
      message.type === 'drain' ? bus.drain() : message.type === 'idle' ? alerts.idle() : stop();
    work.then(
      () => port.postMessage({ type: 'done', id: message.id, stats: stats() }),
      (error: unknown) =>
        port.postMessage({
          type: 'failed',
          id: message.id,
          error: error instanceof Error ? error.message : String(error),
        }),
    );
  };
  port.on('message', listener);
  bus.start();
  await alerts.start();
  // Before the pipeline says it runs: the alerts of checks gone from the config are closed.
  await retireRemoved();
  port.postMessage({ type: 'ready', subscribers: Object.keys(bus.backlog()) });
};

/** Marks the thread's data, so that importing this file elsewhere does nothing. */
export const BUS_WORKER = 'vigil-bus-worker';

if (parentPort && workerData === BUS_WORKER) {
  // The endpoint first: the backlog waits when the cores are busy (docs/architecture.md).
  lowerThreadPriority();
  const port = parentPort as unknown as WorkerPort;
  port.on('message', (message) => {
    if (message.type !== 'open') return;
    runBusWorker(message.data, port).catch((error: unknown) => {
      logger.error('the bus worker thread could not start', { error });
      throw error;
    });
  });
}
