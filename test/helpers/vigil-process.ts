import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { childEnv } from './child-env';

export interface VigilProcess {
  child: ChildProcess;
  /** The first match of `pattern` on stdout; rejects when the process exits first or on timeout. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; out: string; err: string }>;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Each project file's `import.meta.url` stays its own once bundled (web/build.ts finds web/main.ts by it). */
const ownUrls: Plugin = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async ({ path }) => ({
      contents: (await readFile(path, 'utf8')).replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(path).href),
      ),
      loader: 'ts',
    }));
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
      const text = outputFiles[0]?.text ?? '';
      const cache = join(ROOT, 'node_modules/.cache/vigil-test');
      const file = join(
        cache,
        `${name}-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.mjs`,
      );
      if (!(await stat(file).catch(() => undefined))) {
        await mkdir(cache, { recursive: true });
        await writeFile(`${file}.${process.pid}`, text);
        await rename(`${file}.${process.pid}`, file);
        // The bundles of earlier versions of the code.
        for (const old of await readdir(cache))
          if (old.startsWith(`${name}-`) && old.endsWith('.mjs') && join(cache, old) !== file)
            await rm(join(cache, old), { force: true });
      }
      return file;
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
  const waitFor = (pattern: RegExp, ms = 15_000) =>
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
