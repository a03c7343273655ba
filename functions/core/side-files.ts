/**
 * Side files: modules that a Lambda bundle carries as files of their own beside its index.mjs,
 * for code that few invocations run: the Sentry SDK (only when an error is sent), cron-parser
 * with luxon (only where a maintenance window has a cron) and the config schema (only when
 * `VIGIL_CONFIG_JSON` no longer has the hash synth gave it: shared/lambda-config.ts). V8 parses
 * every byte of index.mjs at a cold start, code never run included (about 9 ms per 100 KiB, see
 * docs/performance.md); a side file is read and parsed only by the invocation that imports it.
 *
 * esbuild defines `VIGIL_SIDE_FILES` for the Lambda bundles only (`BUNDLING.define` in
 * lib/function-defaults.ts, which builds the side files after bundling). A call site tests it
 * inline, so that esbuild drops the ordinary `import()` from the bundle:
 *
 *     typeof VIGIL_SIDE_FILES === 'undefined' ? import('./x') : import(sideFileUrl('x'))
 *
 * Everywhere else (local mode, the tests, the CLI and worker builds) it is undefined and the
 * ordinary `import()` runs.
 */
declare global {
  var VIGIL_SIDE_FILES: true | undefined;
}

/** Side file name → its entry, relative to the repository root. */
export const SIDE_FILES = {
  'sentry-client': 'functions/shared/sentry-client.ts',
  'cron-parser': 'functions/core/cron-parser.ts',
  'config-schema': 'functions/core/config.ts',
} as const;

export type SideFile = keyof typeof SIDE_FILES;

/** The URL of side file `name` beside the bundle that runs this code. */
export const sideFileUrl = (name: SideFile): string =>
  new URL(`./${name}.mjs`, import.meta.url).href;
