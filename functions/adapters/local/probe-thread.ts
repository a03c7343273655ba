import type { Worker } from 'node:worker_threads';
import type { ProbeConfig } from '../../core/config';
import type { ProbeCompletedDetail } from '../../core/events';
import type { RunContext } from '../../core/probes/run';
import type { ProbeRequestMessage, ProbeWorkerData } from './probe-worker';
import { siblingFile, startThread, threadEnv } from './threads';

/**
 * One worker thread that runs probes (probe-worker.ts) for the local scheduler: `run` sends it
 * a probe and resolves with the result it measured. If the thread dies (an uncaught error, an
 * exit), every run in flight rejects with an error saying so, and the next run starts a new
 * thread.
 */

type Answer = { id: number; detail: ProbeCompletedDetail } | { id: number; error: string };

const WORKER_FILE = siblingFile('probe-worker', import.meta.url);

export interface ProbeWorkerOptions extends ProbeWorkerData {
  /** The worker's script. Default probe-worker.ts beside this file (tests pass others). */
  file?: URL;
}

type Pending = Map<
  number,
  { resolve: (d: ProbeCompletedDetail) => void; reject: (e: Error) => void }
>;

export class ProbeWorker {
  readonly #opts: ProbeWorkerOptions;
  /** The live thread and the runs sent to it. */
  #current: { worker: Worker; pending: Pending } | undefined;
  #nextId = 0;

  constructor(opts: ProbeWorkerOptions) {
    this.#opts = opts;
  }

  run(probe: ProbeConfig, ctx: RunContext): Promise<ProbeCompletedDetail> {
    const { worker, pending } = this.#thread();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, probe, ctx } satisfies ProbeRequestMessage);
    });
  }

  /** Start the thread now rather than at the first run (it takes a moment to load). */
  start(): void {
    this.#thread();
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
    worker.on('message', (answer: Answer) => {
      const run = pending.get(answer.id);
      pending.delete(answer.id);
      if (!run) return;
      if ('detail' in answer) run.resolve(answer.detail);
      else run.reject(new Error(answer.error));
    });
    const died = (why: string): void => {
      if (this.#current?.worker === worker) this.#current = undefined;
      const error = new Error(`the probe worker thread ${why}`);
      for (const run of pending.values()) run.reject(error);
      pending.clear();
    };
    worker.on('error', (e) => died(`failed: ${e instanceof Error ? e.message : String(e)}`));
    worker.on('exit', (code) => died(`exited (code ${code})`));
    this.#current = { worker, pending };
    return this.#current;
  }
}
