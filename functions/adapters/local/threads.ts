import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getPriority, setPriority } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId, Worker, type WorkerOptions } from 'node:worker_threads';
import { logger } from '../../shared/powertools';

/** The CommonJS script of a worker for each TypeScript file, built once per process. */
const bundles = new Map<string, string>();
/** Made when used: in a thread's CommonJS script, `import.meta` is empty. */
const packageJson = (): string => fileURLToPath(new URL('../../../package.json', import.meta.url));

/**
 * The packages a bundle leaves to `require` (each name and its subpaths): the project's
 * dependencies, all but zod. zod's CommonJS build is 95 files, which every new thread
 * resolved, read and compiled again: bundled, a bus worker thread is ready after ~95 ms of CPU
 * instead of ~130 ms.
 */
const externalPackages = (): string[] => {
  const { dependencies = {}, devDependencies = {} } = JSON.parse(
    readFileSync(packageJson(), 'utf8'),
  ) as Record<string, Record<string, string> | undefined>;
  return Object.keys({ ...dependencies, ...devDependencies })
    .filter((name) => name !== 'zod')
    .flatMap((name) => [name, `${name}/*`]);
};

/** Where scripts built from TypeScript are kept for the next process: beside the packages. */
const scriptCache = (): string =>
  fileURLToPath(new URL('../../../node_modules/.cache/vigil/threads/', import.meta.url));

/** What a script was built from: every input file, and the digest of their contents. */
interface Manifest {
  inputs: string[];
  digest: string;
}

/** The digest of `inputs`' paths and contents (throws when one cannot be read). */
const digestOf = (inputs: readonly string[]): string => {
  const hash = createHash('sha256');
  for (const input of inputs) hash.update(`${input}\0`).update(readFileSync(input));
  return hash.digest('hex');
};

/** The names of `entry`'s files in the cache: `<key>.json` (its manifest), `<key>-<digest>.js`. */
const keyOf = (entry: string): string =>
  createHash('sha256').update(entry).digest('hex').slice(0, 16);

/** The script cached for `entry` in `dir`, while every file it was built from is unchanged. */
const cachedScript = (dir: string, entry: string): string | undefined => {
  const key = keyOf(entry);
  try {
    const manifest = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as Manifest;
    if (digestOf(manifest.inputs) !== manifest.digest) return undefined;
    return readFileSync(join(dir, `${key}-${manifest.digest.slice(0, 16)}.js`), 'utf8');
  } catch {
    return undefined; // none yet, a source gone, or replaced meanwhile by another process
  }
};

/**
 * Keeps `code` for `entry` in `dir`: the script (named by its inputs' digest), then its manifest,
 * each renamed into place, so that a reader sees whole files. Best effort: a folder that cannot be
 * written only means the next process builds again.
 */
const keepScript = (dir: string, entry: string, code: string, inputs: string[]): void => {
  const key = keyOf(entry);
  const tmp = join(dir, `${key}.${process.pid}.${threadId}.tmp`);
  try {
    const digest = digestOf(inputs);
    const script = `${key}-${digest.slice(0, 16)}.js`;
    mkdirSync(dir, { recursive: true });
    // Each renamed into place: another process may be reading the same names meanwhile.
    writeFileSync(tmp, code);
    renameSync(tmp, join(dir, script));
    writeFileSync(tmp, JSON.stringify({ inputs, digest } satisfies Manifest));
    renameSync(tmp, join(dir, `${key}.json`));
    // The scripts of earlier versions of the entry.
    for (const old of readdirSync(dir))
      if (old.startsWith(`${key}-`) && old !== script) rmSync(join(dir, old), { force: true });
  } catch {
    // Not kept: the next process builds again (its temporary file gone, if it was made).
    rmSafely(tmp);
  }
};

const rmSafely = (path: string): void => {
  try {
    rmSync(path, { force: true });
  } catch {
    // in a folder that is not one (the cache path runs through a file)
  }
};

/**
 * The script of a worker for the TypeScript file at `path`: the cached one while none of the
 * files it was built from changed (the sources, zod's, package.json, tsconfig.json and this
 * module: its options), else built and kept in `cacheDir`. Checking them costs a few ms,
 * building ~0.2-0.5 s of CPU.
 */
export const scriptFor = (path: string, cacheDir: string): string => {
  const cached = cachedScript(cacheDir, path);
  if (cached !== undefined) return cached;
  const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const { outputFiles, metafile, warnings } = buildSync({
    entryPoints: [path],
    bundle: true,
    external: externalPackages(),
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // `import.meta` is empty in CommonJS. The one use in the threads' modules is the side
    // files' URL (core/side-files.ts), which only a Lambda bundle ever takes.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  const code = `(function (require) {\n${outputFiles[0]?.text}\n})(require('node:module').createRequire(${JSON.stringify(path)}));`;
  if (warnings.length > 0) {
    // Said at every start: a script with warnings is not kept.
    logger.warn('worker thread script built with warnings', {
      file: path,
      warnings: warnings.map((w) => `${w.location?.file}:${w.location?.line}: ${w.text}`),
    });
    return code;
  }
  keepScript(cacheDir, path, code, [
    ...Object.keys(metafile.inputs).map((input) => resolve(input)),
    packageJson(),
    fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)),
    fileURLToPath(import.meta.url),
  ]);
  return code;
};

/**
 * The script of a worker for a TypeScript file (npm start, tests): the file and the project
 * files it imports, bundled by esbuild (tsx's own compiler) into one script, packages but zod
 * left to `require` from the file's folder (externalPackages). The thread starts in ~0.1 s;
 * registering tsx's loader in it took ~2 s and 1 s of CPU (each module through the loader's own
 * thread). Once per file and process, from node_modules/.cache/vigil/threads while its
 * sources are unchanged (`scriptFor`): the test workers and each `npm start` share one build.
 */
export const threadScript = (file: URL): string => {
  const path = fileURLToPath(file);
  let code = bundles.get(path);
  if (code === undefined) {
    code = scriptFor(path, scriptCache());
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
