import type { VigilConfig } from '../functions/core/config';

/**
 * How the browser function is built (see functions/browser/index.ts): Chromium for Lambda
 * (`@sparticuz/chromium`, x86_64 only, brotli-packed under its `bin/`) and playwright-core stay
 * outside the bundle and are copied beside it with their dependencies; each browser check's
 * script is bundled to `checks/<probe>.mjs`.
 */

/** Where browser checks put their artifacts in the archive bucket (see functions/ingest/index.ts). */
export const ARTIFACTS_PREFIX = 'artifacts/';

/** Packages the browser function loads from its own node_modules. */
export const BROWSER_EXTERNALS = ['@sparticuz/chromium', 'playwright-core'];

/** Chromium, its unpacked files and a page's cache in /tmp. */
export const BROWSER_EPHEMERAL_MB = 2048;
/** Chromium wants memory, and Lambda's CPU share grows with it. */
export const BROWSER_MEMORY_MB = 2048;

export const browserProbes = (config: VigilConfig) =>
  config.probes.filter((p) => p.type === 'browser');

/** After-bundling commands: the external packages, then one module per check script. */
export const browserAfterBundling =
  (config: VigilConfig) =>
  (inputDir: string, outputDir: string): string[] => [
    `cd "${inputDir}" && node --import tsx scripts/copy-node-modules.ts "${outputDir}" ${BROWSER_EXTERNALS.join(' ')}`,
    ...browserProbes(config).map(
      (p) =>
        `"${inputDir}/node_modules/.bin/esbuild" "${p.script}" --bundle --platform=node ` +
        `--format=esm --target=node22 --external:playwright-core --log-level=warning ` +
        `--outfile="${outputDir}/checks/${p.name}.mjs"`,
    ),
  ];
