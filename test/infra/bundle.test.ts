import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type VigilConfig } from '../../functions/core/config';
import { configJsonHash } from '../../functions/core/config-access';
import { SIDE_FILES } from '../../functions/core/side-files';
import { BROWSER_EXTERNALS, browserAfterBundling } from '../../lib/browser-checks';
import {
  BUNDLING,
  bundleLikeNodejsFunction,
  cliAfterBundling,
  functionEntry,
  lambdaLoadSnippet,
  REPO_ROOT,
  runBundlingCommands,
} from '../../lib/function-defaults';
import { buildDashboardInto } from '../../lib/web';
import { isDependency, type SourceMapV3, trimSourceMapFile } from '../../scripts/trim-source-map';
import { repoConfig } from '../helpers/repo-config';

/**
 * The functions' assets, built outside CDK as NodejsFunction builds them (the same esbuild
 * options, the same after-bundling commands), all side by side in the hook; then ONE Node
 * process with the Lambda environment loads every bundle (each by its own `import()`, as
 * Lambda does), throws in the notify handler and serves the dashboard from the web bundle.
 *
 * Every function, the browser one too, comes out of ONE esbuild build (several entry points
 * share the parsing of the modules they have in common: a third of the CPU of one build per
 * function). The browser function's externals then apply to all; that changes no other bundle
 * as long as none imports them, which the browser asset test checks.
 */

const FUNCTIONS = [
  'ingest',
  'authorizer',
  'metrics',
  'history',
  'probe',
  'heartbeat',
  'alert',
  'notify',
  'web',
] as const;
type FunctionName = (typeof FUNCTIONS)[number];
/**
 * Bundled with `BUNDLING`'s real after-bundling command (scripts/after-bundling.ts, a process
 * of its own: the source-map trim and the side files); the others' maps are trimmed in this
 * process by the same `trimSourceMapFile`, and their side files (the same for every bundle)
 * are not built again.
 */
const AFTER_BUNDLING_BY_COMMAND: FunctionName = 'notify';
/** Above this a bundle is reported (cold start), not failed. */
const SIZE_BUDGET_BYTES = 1024 * 1024;
/** A module name of BROWSER_EXTERNALS as an import or require leaves it in a bundle. */
const EXTERNAL_IMPORT = new RegExp(`["'](${BROWSER_EXTERNALS.join('|')})(/[^"']*)?["']`);
/** The browser check the browser function's asset bundles. */
const CHECK_SCRIPT = resolve(import.meta.dirname, '../fixtures/browser/login.check.ts');

const outdir = mkdtempSync(join(tmpdir(), 'vigil-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const browserDir = join(outdir, 'browser');
/** The CLI beside the ingest handler, the dashboard beside the web handler: as the stack puts them. */
const ingestDir = join(outdir, 'ingest');
const webDir = join(outdir, 'web');

const entries = (names: readonly string[]) =>
  Object.fromEntries(names.map((name) => [name, functionEntry(name)]));

/** The browser function's own after-bundling commands: its packages, its check script. */
const browserCommands = (repoConfig: VigilConfig): string[] =>
  browserAfterBundling(
    parseConfig({
      ...repoConfig,
      probes: [{ name: 'login', type: 'browser', script: CHECK_SCRIPT }],
    }),
  )(REPO_ROOT, browserDir);

/** Dummy values for what the stack sets; nothing is called at import time. */
const lambdaEnv = (repoConfig: VigilConfig): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  NODE_OPTIONS: '--enable-source-maps',
  AWS_REGION: 'us-east-1',
  POWERTOOLS_SERVICE_NAME: 'vigil',
  POWERTOOLS_METRICS_NAMESPACE: 'Vigil',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  VIGIL_STAGE: 'dev',
  VIGIL_CONFIG_JSON: JSON.stringify(repoConfig),
  // As synth sets it: the config is not validated again (the schema's side file is tested apart).
  VIGIL_CONFIG_SHA256: configJsonHash(JSON.stringify(repoConfig)),
  EVENT_BUS_NAME: 'vigil-test-bus',
  ARCHIVE_BUCKET: 'vigil-test-archive',
  ARCHIVE_BUCKET_DOMAIN: 'vigil-test-archive.s3.us-east-1.amazonaws.com',
  LEDGER_TABLE: 'vigil-test-ledger',
  HISTORY_TABLE: 'vigil-test-history',
  STATUS_TABLE: 'vigil-test-status',
  HEARTBEAT_TABLE: 'vigil-test-heartbeats',
  READ_TOKENS_SECRET_ARN:
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:vigil-test-read-AbCdEf',
  TOKENS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:vigil-test-AbCdEf',
  SECRETS_PREFIX: 'vigil/dev/',
  ALERT_TABLE: 'vigil-test-alerts',
  IDEMPOTENCY_TABLE: 'vigil-test-idempotency',
  CRITICAL_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:vigil-test-critical',
  WARNING_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:vigil-test-warning',
});

/** The notify function refuses an SNS message that is not JSON: a throw in its handler.ts. */
const NOT_JSON = { Records: [{ Sns: { MessageId: 'm-1', Message: 'not json' } }] };
const GET_DASHBOARD = {
  version: '2.0',
  rawPath: '/',
  headers: { 'accept-encoding': 'gzip' },
  requestContext: { http: { method: 'GET', path: '/' } },
};

/** What the Lambda-like process reports, as one JSON line after `RESULT `. */
interface Loaded {
  /** `typeof handler` of each bundle, or the stack of what its import threw. */
  handlers: Record<string, string>;
  /** The stack of the notify handler's throw. */
  notifyStack: string;
  /** The next 02:30 UTC after 2026-01-01, from the cron-parser side file beside notify's bundle. */
  cronNext: string;
  /** What the config schema side file beside notify's bundle says of a probe without a url. */
  configError: string;
  dashboard: { status?: number; type?: string; html?: string; error?: string };
}

/**
 * An ES module script that loads every bundle as Lambda does, then calls notify (whose throw
 * goes to Sentry through the side file beside its bundle) and web, and loads the cron-parser
 * side file.
 */
const lambdaScript = (files: Record<FunctionName, string>): string => {
  const load = (name: FunctionName) => lambdaLoadSnippet(files[name]);
  return [
    'const handlers = {};',
    ...FUNCTIONS.map(
      (name) =>
        `try { handlers.${name} = typeof (${load(name)}).handler; } ` +
        `catch (e) { handlers.${name} = String(e?.stack ?? e); }`,
    ),
    'let notifyStack = "";',
    `try { await (${load('notify')}).handler(${JSON.stringify(NOT_JSON)}); } ` +
      'catch (e) { notifyStack = String(e?.stack ?? e); }',
    'const { CronExpressionParser } = await import(' +
      `new URL("./cron-parser.mjs", ${JSON.stringify(pathToFileURL(files.notify).href)}));`,
    'const cronNext = CronExpressionParser.parse("30 2 * * *", ' +
      '{ currentDate: "2026-01-01T00:00:00Z", tz: "UTC" }).next().toISOString();',
    'const { parseConfig } = await import(' +
      `new URL("./config-schema.mjs", ${JSON.stringify(pathToFileURL(files.notify).href)}));`,
    'let configError = "";',
    'try { parseConfig({ probes: [{ name: "no-url" }] }, "VIGIL_CONFIG_JSON"); } ' +
      'catch (e) { configError = String(e?.message ?? e); }',
    'let dashboard;',
    'try {',
    `  const r = await (${load('web')}).handler(${JSON.stringify(GET_DASHBOARD)});`,
    '  const html = (await import("node:zlib")).gunzipSync(Buffer.from(r.body, "base64")).toString();',
    '  dashboard = { status: r.statusCode, type: r.headers["content-type"], html };',
    '} catch (e) { dashboard = { error: String(e?.stack ?? e) }; }',
    'console.log("RESULT " + JSON.stringify({ handlers, notifyStack, cronNext, configError, dashboard }));',
  ].join('\n');
};

let files = {} as Record<FunctionName, string>;
let loaded: Loaded;
/** What a loopback Sentry received from the Lambda-like process: each envelope's body. */
const sentryEnvelopes: string[] = [];

beforeAll(async () => {
  const config = await repoConfig();
  // The commands that do not read the bundles run while esbuild builds them.
  const [built] = await Promise.all([
    bundleLikeNodejsFunction(entries([...FUNCTIONS, 'browser']), outdir, BROWSER_EXTERNALS, [
      AFTER_BUNDLING_BY_COMMAND,
    ]),
    runBundlingCommands(cliAfterBundling(REPO_ROOT, ingestDir)),
    runBundlingCommands(buildDashboardInto(REPO_ROOT, webDir)),
    runBundlingCommands(browserCommands(config)),
  ]);
  files = built as Record<FunctionName, string>;
  for (const name of FUNCTIONS) {
    if (name !== AFTER_BUNDLING_BY_COMMAND) trimSourceMapFile(`${files[name]}.map`);
  }

  const sentry = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const gzipped = req.headers['content-encoding'] === 'gzip';
      sentryEnvelopes.push((gzipped ? gunzipSync(body) : body).toString());
      res.end('{}');
    });
  });
  await new Promise<void>((ok) => sentry.listen(0, '127.0.0.1', ok));
  const { port } = sentry.address() as AddressInfo;
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', lambdaScript(files)],
      {
        cwd: outdir, // no repo node_modules nearby
        env: { ...lambdaEnv(config), SENTRY_DSN: `http://public@127.0.0.1:${port}/1` },
        encoding: 'utf8',
      },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (line === undefined)
      throw new Error(`the Lambda-like process printed no result:\n${stdout}`);
    loaded = JSON.parse(line.slice('RESULT '.length)) as Loaded;
  } finally {
    sentry.close();
  }
}, 120_000);

describe('function bundles', () => {
  it('bundles every function as NodejsFunction does, and each bundle loads as Lambda loads it and exports handler', () => {
    expect(loaded.handlers).toEqual(Object.fromEntries(FUNCTIONS.map((n) => [n, 'function'])));
    for (const name of FUNCTIONS) {
      const bytes = statSync(files[name]).size;
      const size = `${(bytes / 1024).toFixed(0)} KiB`;
      if (bytes > SIZE_BUDGET_BYTES) {
        // Past the console: the run shows no console output of passing tests.
        process.stderr.write(
          `${name} bundle is ${size}, above the 1 MiB budget (reported, not failed).\n`,
        );
      } else {
        console.info(`${name} bundle: ${size}`);
      }
    }
  });

  it('traces: every bundle has the X-Ray SDK, the tracer its Lambda entry installs (local mode has none)', () => {
    for (const name of FUNCTIONS)
      expect(readFileSync(files[name], 'utf8'), name).toContain('AWS_XRAY_DAEMON_ADDRESS');
  });

  it('runs one after-bundling command, the source-map trim and the side files', () => {
    // The shared after-bundling is scripts/after-bundling.ts alone: for the bundles built
    // without it, trimSourceMapFile here is all that differs (the side files are the same).
    expect(BUNDLING.commandHooks.afterBundling('IN', 'OUT')).toEqual([
      expect.stringMatching(/^cd "IN" && .*scripts\/after-bundling\.ts "OUT"$/),
    ]);
  });

  it('reads the archive without the S3 SDK in the history function, which only reads it', () => {
    // The S3 client's service id; the ingest function, which writes the archive, has it.
    const s3Sdk = 'com.amazonaws.s3';
    expect(readFileSync(files.history, 'utf8')).not.toContain(s3Sdk);
    expect(readFileSync(files.ingest, 'utf8')).toContain(s3Sdk);
  });

  it('leaves the Sentry SDK, cron-parser and the config schema out of every bundle, in side files beside it', () => {
    for (const name of FUNCTIONS) {
      const { sources } = JSON.parse(readFileSync(`${files[name]}.map`, 'utf8')) as SourceMapV3;
      for (const entry of Object.values(SIDE_FILES))
        expect(
          sources.filter((s) => s.endsWith(entry)),
          name,
        ).toEqual([]);
      // The packages themselves, reached by no other path either (their own strings).
      const code = readFileSync(files[name], 'utf8');
      expect(code, name).not.toContain('Invalid cron expression');
      expect(code, name).not.toContain('sentry.javascript');
    }
    expect(readdirSync(dirname(files[AFTER_BUNDLING_BY_COMMAND]))).toEqual(
      expect.arrayContaining(Object.keys(SIDE_FILES).map((name) => `${name}.mjs`)),
    );
    expect(loaded.cronNext).toBe('2026-01-01T02:30:00.000Z');
    expect(loaded.configError).toMatch(/Invalid Vigil config in VIGIL_CONFIG_JSON: probes\.0/);
  });

  it('reports a thrown error to Sentry through the side file beside the bundle', () => {
    expect(sentryEnvelopes).toHaveLength(1);
    expect(sentryEnvelopes[0]).toContain('SNS message m-1 is not JSON');
    expect(sentryEnvelopes[0]).toContain('"function":"notify"');
  });

  it("ships a source map of Vigil's own sources only (parsed at every cold start)", () => {
    for (const name of FUNCTIONS) {
      const map = JSON.parse(readFileSync(`${files[name]}.map`, 'utf8')) as SourceMapV3;
      expect(map.sources.filter(isDependency), name).toEqual([]);
      expect(
        map.sources.some((s) => s.endsWith(`functions/${name}/index.ts`)),
        name,
      ).toBe(true);
      expect(map.sourcesContent, name).toBeUndefined();
    }
  });

  it('maps a stack trace of the bundled code to the TypeScript sources', () => {
    // No network call but the loopback Sentry: no channel needs a secret.
    expect(loaded.notifyStack).toContain('SNS message m-1 is not JSON');
    expect(loaded.notifyStack).toMatch(/functions\/notify\/handler\.ts:\d+:\d+/);
  });

  it('serves the dashboard from the files built next to the web bundle, as the stack builds them', () => {
    expect(loaded.dashboard).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(loaded.dashboard.html).toMatch(/<script type="module" src="\/assets\/main-\w+\.js">/);
  });
});

describe('CLI asset', () => {
  it('builds vigil.mjs into the ingest bundle directory, without AWS code', () => {
    const text = readFileSync(join(ingestDir, 'vigil.mjs'), 'utf8');
    expect(text.startsWith('#!/usr/bin/env node')).toBe(true);
    expect(text).not.toMatch(/@aws-sdk|aws-xray-sdk/);
  });
});

describe('browser function asset', () => {
  it('ships the packed Chromium, playwright-core and the check script; the probe bundle has no Playwright, no other bundle imports it', () => {
    const modules = join(browserDir, 'node_modules');
    expect(existsSync(join(modules, '@sparticuz/chromium/bin/chromium.br'))).toBe(true);
    expect(existsSync(join(modules, 'playwright-core/package.json'))).toBe(true);
    // Its dependencies came along (tar-fs unpacks the fonts and libraries at run time).
    expect(existsSync(join(modules, 'tar-fs/package.json'))).toBe(true);
    expect(readFileSync(join(browserDir, 'checks/login.mjs'), 'utf8')).toContain('see welcome');
    const handler = readFileSync(join(browserDir, 'index.mjs'), 'utf8');
    expect(handler).toContain('@sparticuz/chromium');
    expect(handler).toMatch(EXTERNAL_IMPORT);
    expect(handler.length).toBeLessThan(3 * 1024 * 1024);

    expect(readFileSync(files.probe, 'utf8')).not.toMatch(/playwright|sparticuz/i);
    // No other function imports the browser's packages: built with its externals (one build),
    // such an import would stay an import in its bundle instead of being bundled.
    for (const name of FUNCTIONS) {
      expect(readFileSync(files[name], 'utf8'), name).not.toMatch(EXTERNAL_IMPORT);
    }
  });
});
