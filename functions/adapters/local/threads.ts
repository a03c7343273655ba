import { createRequire } from 'node:module';
import { getPriority, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { logger } from '../../shared/powertools';

/** The CommonJS script of a worker for each TypeScript file, built once per process. */
const bundles = new Map<string, string>();

/**
 * The packages a bundle leaves to `require` (each name and its subpaths): the project's
 * dependencies, all but zod. zod's CommonJS build is 95 files, which every new thread
 * resolved, read and compiled again: bundled, a bus worker thread is ready after ~95 ms of CPU
 * instead of ~130 ms.
 */
const externalPackages = (): string[] => {
  const { dependencies = {}, devDependencies = {} } = createRequire(import.meta.url)(
    '../../../package.json',
  ) as Record<string, Record<string, string> | undefined>;
  return Object.keys({ ...dependencies, ...devDependencies })
    .filter((name) => name !== 'zod')
    .flatMap((name) => [name, `${name}/*`]);
};

/**
 * The script of a worker for a TypeScript file (npm start, tests): the file and the project
 * files it imports, bundled by esbuild (tsx's own compiler) into one script, packages but zod
 * left to `require` from the file's folder (externalPackages). The thread starts in ~0.1 s;
 * registering tsx's loader in it took ~2 s and 1 s of CPU (each module through the loader's own
 * thread). Built once per file (and by the tests once per run for their child processes:
 * test/helpers/vigil-process.ts).
 */
export const threadScript = (file: URL): string => {
  const path = fileURLToPath(file);
  let code = bundles.get(path);
  if (code === undefined) {
    const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const [output] = buildSync({
      entryPoints: [path],
      bundle: true,
      external: externalPackages(),
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'warning',
      // `import.meta` is empty in CommonJS. The one use in the threads' modules is the side
      // files' URL (core/side-files.ts), which only a Lambda bundle ever takes.
      logOverride: { 'empty-import-meta': 'silent' },
    }).outputFiles;
    code = `(function (require) {\n${output?.text}\n})(require('node:module').createRequire(${JSON.stringify(path)}));`;
    bundles.set(path, code);
  }
  return code;
};

/** A worker thread for `file`: a `.js` file as it is; a TypeScript file as its bundle. */
export const startThread = (file: URL, options: WorkerOptions): Worker =>
  file.pathname.endsWith('.ts')
    ? new Worker(threadScript(file), { ...options, eval: true })
    : new Worker(file, options);

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

/** How many steps of `nice` below the HTTP endpoint the bus worker's thread runs. */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the calling thread's CPU priority by `BACKGROUND_NICE` (at most to 19), so that when
 * the threads want more than the cores, the scheduler favours the others: the bus worker's
 * backlog then waits, not the HTTP answers (Linux's scheduler gives a thread at nice 10 about a
 * tenth of a contended core). Linux only: there a nice value is the thread's own (setpriority
 * with who = 0 changes the calling thread); elsewhere it is the whole process's, which this must
 * not slow down. If the system refuses, the thread keeps its priority, and says so.
 */
export const lowerThreadPriority = (): void => {
  if (process.platform !== 'linux') return;
  try {
    setPriority(Math.min(19, getPriority() + BACKGROUND_NICE));
  } catch (error) {
    logger.warn("could not lower the bus worker thread's CPU priority; it keeps the server's", {
      error,
    });
  }
};
