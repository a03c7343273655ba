import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread for `file`: a `.js` file as it is; a TypeScript file (npm start, tests)
 * through a bootstrap that registers tsx in the thread, then imports the file (`--import tsx`
 * in `execArgv` does not reach a worker's loader on Node 20). tsx's ESM API is the `.mjs`
 * beside the `.cjs` that `require.resolve` finds.
 */
export const startThread = (file: URL, options: WorkerOptions): Worker => {
  if (!file.pathname.endsWith('.ts')) return new Worker(file, options);
  const api = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const bootstrap =
    `import(${JSON.stringify(pathToFileURL(api).href)})` +
    `.then((tsx) => tsx.register()).then(() => import(${JSON.stringify(file.href)}))`;
  return new Worker(bootstrap, { ...options, eval: true });
};

/** The file beside `base` named `name`, with the extension `base` has (`.ts` or `.js`). */
export const siblingFile = (name: string, base: string): URL =>
  new URL(`./${name}.${base.endsWith('.ts') ? 'ts' : 'js'}`, base);

/**
 * The environment of a thread: the main thread's, without the multi-concurrency setting of
 * local mode's handlers (invocations.ts), which a thread turns on for itself if it needs it.
 */
export const threadEnv = (): NodeJS.ProcessEnv => {
  const { AWS_LAMBDA_MAX_CONCURRENCY: _, ...env } = process.env;
  return env;
};
