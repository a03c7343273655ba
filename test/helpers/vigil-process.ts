import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { threadScript } from '../../functions/adapters/local/threads';
import { childEnv } from './child-env';

export interface VigilProcess {
  child: ChildProcess;
  /**
   * The first match of `pattern` on stdout, as soon as it is printed; rejects when the process
   * exits first or after `ms` (default a minute: a start takes seconds under a heavy load).
   */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; out: string; err: string }>;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** In node_modules, so that the packages the files import resolve from there. */
const CACHE = join(ROOT, 'node_modules/.cache/vigil-test');

/**
 * `text` as `<CACHE>/<name>-<hash of text>/<file>`, written once (parallel workers share it,
 * the first to finish its folder wins); the folders of earlier versions of `name` are removed.
 * Returns the folder.
 */
const cached = async (name: string, file: string, text: string): Promise<string> => {
  const dir = join(
    CACHE,
    `${name}-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`,
  );
  if (!(await stat(dir).catch(() => undefined))) {
    const temp = `${dir}.${process.pid}`;
    await mkdir(temp, { recursive: true });
    await writeFile(join(temp, file), text);
    await rename(temp, dir).catch(() => rm(temp, { recursive: true, force: true }));
    const older = new RegExp(`^${name}-[0-9a-f]{16}(\\.mjs)?$`);
    for (const old of await readdir(CACHE))
      if (older.test(old) && join(CACHE, old) !== dir)
        await rm(join(CACHE, old), { recursive: true, force: true });
  }
  return dir;
};

/**
 * The folder of a worker thread's script (`name`.js beside `thread`, the module that starts
 * it): built once per test process and written once per version, instead of by every child
 * process that starts the thread (~0.25 s of CPU each, seconds of wall time on a busy machine).
 */
const threadFolders = new Map<string, Promise<string>>();
const threadFolder = (thread: string, name: string): Promise<string> => {
  const worker = join(dirname(thread), `${name}.ts`);
  let folder = threadFolders.get(worker);
  if (folder === undefined) {
    folder = cached(name, `${name}.js`, threadScript(pathToFileURL(worker)));
    threadFolders.set(worker, folder);
  }
  return folder;
};

/**
 * Each project file's `import.meta.url` stays its own once bundled (web/build.ts finds web/main.ts
 * by it), but for a module that starts a worker thread (`siblingFile('<worker>', import.meta.url)`,
 * functions/adapters/local/threads.ts): it is placed in the folder of the worker's script, which
 * the thread then runs as it is.
 */
const ownUrls: Plugin = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      const contents = await readFile(path, 'utf8');
      const worker = /siblingFile\('([\w-]+)', import\.meta\.url\)/.exec(contents)?.[1];
      const url = worker
        ? join(await threadFolder(path, worker), `${basename(path, '.ts')}.js`)
        : path;
      return {
        contents: contents.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(url).href)),
        loader: 'ts',
      };
    });
  },
};

const bundles = new Map<string, Promise<string>>();

/**
 * A TypeScript module and the project files it imports as one ES module (packages stay
 * imports), in node_modules/.cache so that they resolve; named by its content, so parallel
 * workers share it. A child process runs the same code without tsx's loader: `vigil dev`
 * listens after ~1.2 s of CPU instead of ~2.6 s, a script using the store starts in ~0.3 s
 * instead of ~1 s (test/e2e/npm-start.test.ts runs `npm start` itself, through tsx).
 * `source` is the module's text, its relative imports from the project's root; `name` names
 * the file (a new bundle of a name removes that name's older ones).
 */
export const bundleModule = (name: string, source: string): Promise<string> => {
  const key = `${name}\0${source}`;
  let bundled = bundles.get(key);
  if (bundled === undefined) {
    bundled = (async () => {
      const { build } = await import('esbuild');
      const { outputFiles } = await build({
        stdin: { contents: source, resolveDir: ROOT, loader: 'ts', sourcefile: `${name}.ts` },
        bundle: true,
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: 'node20',
        write: false,
        plugins: [ownUrls],
        logLevel: 'warning',
      });
      return join(await cached(name, `${name}.mjs`, outputFiles[0]?.text ?? ''), `${name}.mjs`);
    })();
    bundles.set(key, bundled);
  }
  return bundled;
};

/** `vigil dev` as a real process (one node process, as `npm start` runs it, from a bundle). */
export const spawnVigil = async (env: Record<string, string>): Promise<VigilProcess> => {
  const child = spawn(
    process.execPath,
    [await bundleModule('vigil', "import './bin/vigil.ts';"), 'dev'],
    {
      cwd: ROOT,
      env: childEnv({ PORT: '0', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const waitFor = (pattern: RegExp, ms = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const started = Date.now();
      const timer = setInterval(() => {
        const m = pattern.exec(out);
        const failure =
          child.exitCode !== null
            ? `vigil exited ${child.exitCode}`
            : Date.now() - started > ms
              ? `timed out waiting for ${pattern}`
              : undefined;
        if (m || failure) clearInterval(timer);
        if (m) resolve(m);
        else if (failure) reject(new Error(`${failure}; stdout: ${out}; stderr: ${err}`));
      }, 25);
    });
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out, err })),
  );
  return { child, waitFor, exited };
};
