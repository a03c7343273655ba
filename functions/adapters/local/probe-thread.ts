import type { Worker } from 'node:worker_threads';
import type { FromProbeWorker, ProbeWorkerData, ToProbeWorker } from './probe-worker';
import { siblingFile, startThread, threadEnv } from './threads';

/**
 * One worker thread that holds the probes' schedule and runs them (probe-worker.ts) for the local
 * scheduler: `post` sends it a message, `request` one that it answers `done`; every other message
 * it sends goes to `onMessage`. If the thread dies (an uncaught error, an exit), every request in
 * flight rejects with an error saying so, `onExit` is told, and the next message starts a new
 * thread.
 */

const WORKER_FILE = siblingFile('probe-worker', import.meta.url);

export interface ProbeWorkerOptions extends ProbeWorkerData {
  /** The worker's script. Default probe-worker.ts beside this file (tests pass others). */
  file?: URL;
  /** Every message of the thread but the answers to requests. */
  onMessage?: (message: ProbeWorkerEvent) => void;
  /** The thread died (not when closed). */
  onExit?: (error: Error) => void;
}

/** A message of the thread that is not the answer to a request. */
export type ProbeWorkerEvent = Exclude<FromProbeWorker, { type: 'done' }>;

type Pending = Map<number, { resolve: () => void; reject: (e: Error) => void }>;

export class ProbeWorker {
  readonly #opts: ProbeWorkerOptions;
  /** The live thread and the runs sent to it. */
  #current: { worker: Worker; pending: Pending } | undefined;
  #nextId = 0;

  constructor(opts: ProbeWorkerOptions) {
    this.#opts = opts;
  }

  post(message: ToProbeWorker): void {
    this.#thread().worker.postMessage(message);
  }

  /** Send `runAll` or `stop`; resolves when the thread answers that it is done. */
  request(type: 'runAll' | 'stop'): Promise<void> {
    const { worker, pending } = this.#thread();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ type, id } satisfies ToProbeWorker);
    });
  }

  /** Stop the thread (runs in flight reject). */
  async close(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.worker.terminate();
  }

  #thread(): { worker: Worker; pending: Pending } {
    if (this.#current) return this.#current;
    // Powertools in the thread must not expect an invocation store (see threadEnv).
    const worker = startThread(this.#opts.file ?? WORKER_FILE, {
      workerData: {
        env: this.#opts.env,
        tls: this.#opts.tls,
        concurrency: this.#opts.concurrency,
      } satisfies ProbeWorkerData,
      env: threadEnv(),
    });
    const pending: Pending = new Map();
    // The HTTP server keeps the process alive; an idle probe thread should not.
    worker.unref();
    worker.on('message', (message: FromProbeWorker) => {
      if (message.type === 'done') {
        pending.get(message.id)?.resolve();
        pending.delete(message.id);
      } else this.#opts.onMessage?.(message);
    });
    const died = (why: string): void => {
      const error = new Error(`the probe worker thread ${why}`);
      for (const run of pending.values()) run.reject(error);
      pending.clear();
      if (this.#current?.worker !== worker) return;
      this.#current = undefined;
      this.#opts.onExit?.(error);
    };
    worker.on('error', (e) => died(`failed: ${e instanceof Error ? e.message : String(e)}`));
    worker.on('exit', (code) => died(`exited (code ${code})`));
    this.#current = { worker, pending };
    return this.#current;
  }
}
