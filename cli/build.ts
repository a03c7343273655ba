import { fileURLToPath } from 'node:url';
import type { BuildOptions, Metafile, Plugin } from 'esbuild';

/**
 * The single-file builds of the CLI: `dist/vigil.mjs` (report, probe --once) and the GitHub
 * Action's entry `action/dist/index.mjs`. One ES module each, for Node.js 20+, with no
 * dependency left to install. Used by `npm run build:cli`, by local mode (which serves the
 * file at GET /v1/cli/vigil.mjs) and by the CDK bundling of the ingest function.
 */

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export const CLI_ENTRY = here('./standalone/main.ts');
export const ACTION_ENTRY = here('./action-main.ts');
export const CLI_OUTFILE = here('../dist/vigil.mjs');
export const ACTION_OUTFILE = here('../action/dist/index.mjs');

/** Packages that must never end up in the file (they are megabytes and need AWS). */
const FORBIDDEN =
  /node_modules\/(@aws-sdk|@aws-lambda-powertools|aws-xray-sdk|@smithy|@sentry|aws-cdk-lib)\//;

/** functions/shared/powertools.ts → a stand-in without Powertools (the CLI never traces). */
const noPowertools: Plugin = {
  name: 'vigil-no-powertools',
  setup(build) {
    build.onResolve({ filter: /\/powertools$/ }, (args) =>
      args.importer.includes('/functions/shared/')
        ? { path: here('./standalone/powertools.ts') }
        : undefined,
    );
  },
};

const options = (entry: string): BuildOptions => ({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  mainFields: ['module', 'main'],
  banner: { js: '#!/usr/bin/env node' },
  plugins: [noPowertools],
  // Loaded only for a TypeScript config, where the project has tsx (functions/adapters/local/config-file.ts).
  external: ['tsx', 'tsx/*'],
  metafile: true,
  logLevel: 'warning',
});

/** Throws when a forbidden package got in (says which files brought it). */
export const checkInputs = (metafile: Metafile): void => {
  const bad = Object.keys(metafile.inputs).filter((p) => FORBIDDEN.test(p));
  if (bad.length > 0)
    throw new Error(
      `The CLI bundle must not contain AWS SDK/Powertools/Sentry code, found: ${bad.slice(0, 5).join(', ')}`,
    );
};

/** Build one single file to `outfile`; returns its size and esbuild's metafile. */
export const buildFile = async (
  entry: string,
  outfile: string,
): Promise<{ bytes: number; metafile: Metafile }> => {
  const { build } = await import('esbuild');
  const result = await build({ ...options(entry), outfile });
  const metafile = result.metafile as Metafile;
  checkInputs(metafile);
  return { bytes: Object.values(metafile.outputs)[0]?.bytes ?? 0, metafile };
};

/** The CLI file's text, built in memory (local mode serves it). */
export const buildCliText = async (): Promise<string> => {
  const { build } = await import('esbuild');
  const result = await build({ ...options(CLI_ENTRY), write: false, outfile: 'vigil.mjs' });
  checkInputs(result.metafile as Metafile);
  return result.outputFiles?.[0]?.text ?? '';
};

let cached: Promise<string> | undefined;

/** `buildCliText`, built once per process (a failed build is tried again on the next call). */
export const cachedCliText = (): Promise<string> => {
  cached ??= buildCliText().catch((e: unknown) => {
    cached = undefined;
    throw e;
  });
  return cached;
};
