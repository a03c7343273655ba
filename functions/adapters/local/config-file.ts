import { access, readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VigilConfig } from '../../core/config';
import { checkConfig } from '../../core/config-check';
import { loadCronParser } from '../../core/cron';
import { VigilError } from '../../core/errors';

/**
 * Load `vigil.config.ts` / `.js` / `.json` from anywhere on disk. Code configs are imported
 * with tsx's own loader (`tsImport`), so a file outside the clone, with or without a
 * package.json, loads as ESM or CommonJS alike; the default export (or `config`) is validated
 * with every problem reported at once.
 */
export const loadConfigFile = async (
  path: string,
  loaders: CodeLoaders = {},
): Promise<VigilConfig> => {
  const full = resolve(path);
  if (!CONFIG_EXTENSIONS.includes(extname(full)))
    throw new VigilError(
      'bad_request',
      `Cannot read config file ${full}: a config is a ${CONFIG_EXTENSIONS.join(', ')} file` +
        (/\.ya?ml$/i.test(full) ? ' (YAML is not read: write it as JSON)' : ''),
    );
  let raw: unknown;
  try {
    if (extname(full) === '.json') {
      const text = await readFile(full, 'utf8');
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw new VigilError(
          'bad_request',
          `Invalid JSON in config file ${full}: ${withLineAndColumn((e as Error).message, text)}`,
        );
      }
    } else {
      const mod = (await importCode(full, loaders)) as Exported & { default?: Exported };
      // A CommonJS-typed file (no "type": "module" nearby) arrives wrapped in `default`; one
      // written with `export` is marked `__esModule` there, even when it has no default export.
      const exported = isExports(mod.default) || isTranspiled(mod.default) ? mod.default : mod;
      raw = exported.default ?? exported.config;
      // Else the check would read `undefined` as an empty config, or say `(root): ...`.
      if (raw === undefined || raw === null) {
        const names = Object.keys(exported).filter((k) => k !== 'default' && k !== '__esModule');
        throw new VigilError(
          'bad_request',
          `Invalid Vigil config in ${full}: the file has no default export` +
            (names.length ? ` (it exports ${names.join(', ')})` : '') +
            ': write export default defineConfig({ ... })',
        );
      }
      // `export default loadConfig()` of an async function: what it resolves to is the config.
      if (isThenable(raw)) raw = await raw;
      if (raw === undefined || raw === null)
        throw new VigilError(
          'bad_request',
          `Invalid Vigil config in ${full}: the default export resolves to ${raw}, not an ` +
            'object: write export default defineConfig({ ... })',
        );
      if (!isPlainObject(raw))
        throw new VigilError(
          'bad_request',
          `Invalid Vigil config in ${full}: the default export is ${describe(raw)}, not an ` +
            'object: write export default defineConfig({ ... })',
        );
    }
  } catch (e) {
    if (e instanceof VigilError) throw e;
    if (
      (e as { code?: string }).code === 'ENOENT' ||
      (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
    )
      throw new VigilError('bad_request', `Config file not found: ${full}`);
    throw new VigilError('bad_request', `Cannot read config file ${full}: ${(e as Error).message}`);
  }
  await loadCronParser();
  return resolveScripts(checkConfig(raw, full), full);
};

/** The files `loadConfigFile` reads: JSON, or code tsx (or Node) imports. */
const CONFIG_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json'];

/**
 * JSON.parse's message with the line and column of its `position N` (Node 20 gives only the
 * offset; a comment or a trailing comma is found faster by line).
 */
const withLineAndColumn = (message: string, text: string): string => {
  const at = /position (\d+)/.exec(message);
  if (!at || /line \d+/.test(message)) return message;
  const before = text.slice(0, Number(at[1])).split('\n');
  return `${message} (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
};

/**
 * Browser checks name their script relative to the config file: make each path absolute, so the
 * runner (local mode, `vigil probe --once`, CDK bundling) finds it from any working directory,
 * and report every script that is not there.
 */
const resolveScripts = async (config: VigilConfig, full: string): Promise<VigilConfig> => {
  const problems: string[] = [];
  const probes = await Promise.all(
    config.probes.map(async (probe, i) => {
      if (probe.script === undefined) return probe;
      const script = resolve(dirname(full), probe.script);
      await access(script).catch(() =>
        problems.push(`probes.${i}.script: ${probe.script} does not exist (looked for ${script})`),
      );
      return { ...probe, script };
    }),
  );
  if (problems.length)
    throw new VigilError('bad_request', `Invalid Vigil config in ${full}: ${problems.join('; ')}`);
  return { ...config, probes };
};

/** How code configs are imported; tests replace these (this machine may lack a Node feature). */
export interface CodeLoaders {
  /** tsx's API. Default: `import('tsx/esm/api')`, which throws where tsx is not installed. */
  loadTsx?: () => Promise<Pick<typeof import('tsx/esm/api'), 'tsImport'>>;
  /**
   * Whether this Node strips TypeScript types itself (`process.features.typescript`: 'strip'
   * or 'transform' from Node 22.18 / 23.6, else undefined or false).
   */
  typeStripping?: boolean;
  /** Node's own import of a file URL. */
  importNative?: (url: string) => Promise<unknown>;
}

const nodeStripsTypes = (): boolean =>
  Boolean((process.features as { typescript?: string | false }).typescript);

/**
 * tsx's loader where it is installed; without it (the single-file CLI in an empty directory)
 * JavaScript configs load natively, and so does a TypeScript one where Node strips types
 * itself; elsewhere a TypeScript config says what it needs.
 */
const importCode = async (full: string, loaders: CodeLoaders): Promise<unknown> => {
  const importNative = loaders.importNative ?? ((url: string) => import(url));
  let tsx: Pick<typeof import('tsx/esm/api'), 'tsImport'> | undefined;
  try {
    tsx = await (loaders.loadTsx ?? (() => import('tsx/esm/api')))();
  } catch {
    if (/\.[cm]?ts$/.test(full) && !(loaders.typeStripping ?? nodeStripsTypes()))
      throw new Error(
        'a TypeScript config needs tsx (npm install --save-dev tsx) or Node.js with type ' +
          'stripping (22.18 or later); or write it as .mjs or .json',
      );
  }
  return tsx ? tsx.tsImport(full, import.meta.url) : importNative(pathToFileURL(full).href);
};

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof (v as { then?: unknown } | null)?.then === 'function';

/** An object literal (or JSON's): a Map, a Date or a class instance would read as `{}`. */
const isPlainObject = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  [Object.prototype, null].includes(Object.getPrototypeOf(v) as object | null);

const describe = (v: unknown): string => {
  const kind = typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;
  return `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;
};

interface Exported {
  default?: unknown;
  config?: unknown;
}

const isTranspiled = (v: unknown): v is Exported =>
  typeof v === 'object' && v !== null && (v as { __esModule?: unknown }).__esModule === true;

const isExports = (v: unknown): v is Exported =>
  typeof v === 'object' && v !== null && ('default' in v || 'config' in v);
