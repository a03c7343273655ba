import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromProbeWorker, ProbeWorkerData, ToProbeWorker } from './probe-worker';

/**
 * One worker thread that holds the probes' schedule and runs them (probe-worker.ts) for the local
 * scheduler: `post` sends it a message, `request` one that it answers `done`; every other message
 * it sends goes to `onMessage`. If the thread dies (an uncaught error, an exit), every request in
 * flight rejects with an error saying so, `onExit` is told, and the next message starts a new
 * thread.
 */

const WORKER_FILE = new URL(
  `./probe-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
  import.meta.url,
);

/** The CommonJS script of a worker for each TypeScript file, built once per process. */
const bundles = new Map<string, string>();

/**
 * A worker for a TypeScript file (npm start, tests): the file and the project files it imports,
 * bundled by esbuild (tsx's own compiler) into one script, packages left to `require` from the
 * file's folder. The thread starts in ~0.1 s; registering tsx's loader in it took ~2 s and 1 s of
 * CPU (each module through the loader's own thread). Built once per file (~0.1 s).
 */
const typescriptWorker = (file: URL, options: ConstructorParameters<typeof Worker>[1]): Worker => {
  const path = fileURLToPath(file);
  let code = bundles.get(path);
  if (code === undefined) {
    const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const [output] = buildSync({
      entryPoints: [path],
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'warning',
    }).outputFiles;
    code = `(function (require) {\n${output?.text}\n})(require('node:module').createRequire(${JSON.stringify(path)}));`;
    bundles.set(path, code);
  }
  return new Worker(code, { ...options, eval: true });
};

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
    const file = this.#opts.file ?? WORKER_FILE;
    // The thread's process.env is the main thread's, without the multi-concurrency setting of
    // local mode's handlers (invocations.ts): Powertools there would expect an invocation store.
    const { AWS_LAMBDA_MAX_CONCURRENCY: _, ...env } = process.env;
    const options = {
      workerData: {
        env: this.#opts.env,
        tls: this.#opts.tls,
        concurrency: this.#opts.concurrency,
      } satisfies ProbeWorkerData,
      env,
    };
    const worker = file.pathname.endsWith('.ts')
      ? typescriptWorker(file, options)
      : new Worker(file, options);
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
