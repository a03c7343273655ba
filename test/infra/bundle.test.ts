import { execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadVigilConfig } from '../../lib/config';
import {
  bundleLikeNodejsFunction,
  functionEntry,
  lambdaLoadSnippet,
  REPO_ROOT,
} from '../../lib/function-defaults';
import { buildDashboardInto } from '../../lib/web';
import { isDependency, type SourceMapV3 } from '../../scripts/trim-source-map';

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
/** Above this a bundle is reported (cold start), not failed. */
const SIZE_BUDGET_BYTES = 1024 * 1024;

const outdir = mkdtempSync(join(tmpdir(), 'vigil-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

let files: Record<string, string> = {};
let env: Record<string, string> = {};

beforeAll(async () => {
  files = await bundleLikeNodejsFunction(
    Object.fromEntries(FUNCTIONS.map((name) => [name, functionEntry(name)])),
    outdir,
  );
  // Dummy values for what the stack sets; nothing is called at import time.
  env = {
    PATH: process.env.PATH ?? '',
    NODE_OPTIONS: '--enable-source-maps',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_SERVICE_NAME: 'vigil',
    POWERTOOLS_METRICS_NAMESPACE: 'Vigil',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    VIGIL_STAGE: 'dev',
    VIGIL_CONFIG_JSON: JSON.stringify(await loadVigilConfig()),
    EVENT_BUS_NAME: 'vigil-test-bus',
    ARCHIVE_BUCKET: 'vigil-test-archive',
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
  };
});

/** Run `script` (ESM) in a fresh process with only the Lambda-like environment. */
const runNode = (script: string) =>
  spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: outdir, // no repo node_modules nearby
    env,
    encoding: 'utf8',
  });

const fileOf = (name: string): string => {
  const file = files[name];
  if (!file) throw new Error(`no bundle for ${name}`);
  return file;
};

it('bundles every function as NodejsFunction does, and each bundle loads as Lambda loads it and exports handler', () => {
  for (const name of FUNCTIONS) {
    const file = fileOf(name);
    const result = runNode(
      `const m = ${lambdaLoadSnippet(file)};\n` +
        `if (typeof m.handler !== 'function') { console.error('handler is ' + typeof m.handler); process.exit(3); }\n` +
        `console.log('handler ok');`,
    );
    expect(result.status, `${name}: ${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('handler ok');

    const bytes = statSync(file).size;
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

it("ships a source map of Vigil's own sources only (parsed at every cold start)", () => {
  for (const name of FUNCTIONS) {
    const map = JSON.parse(readFileSync(`${fileOf(name)}.map`, 'utf8')) as SourceMapV3;
    expect(map.sources.filter(isDependency), name).toEqual([]);
    expect(
      map.sources.some((s) => s.endsWith(`functions/${name}/index.ts`)),
      name,
    ).toBe(true);
    expect(map.sourcesContent, name).toBeUndefined();
  }
});

it('maps a stack trace of the bundled code to the TypeScript sources', () => {
  // The notify function refuses an SNS message that is not JSON: a throw in its handler.ts,
  // without any network call (no channel needs a secret, no Sentry DSN).
  const event = { Records: [{ Sns: { MessageId: 'm-1', Message: 'not json' } }] };
  const result = runNode(
    `const m = ${lambdaLoadSnippet(fileOf('notify'))};\n` +
      `try { await m.handler(${JSON.stringify(event)}); } catch (e) { console.log(e.stack); }`,
  );

  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toContain('SNS message m-1 is not JSON');
  expect(result.stdout).toMatch(/functions\/notify\/handler\.ts:\d+:\d+/);
});

it('serves the dashboard from the files built next to the web bundle, as the stack builds them', () => {
  for (const command of buildDashboardInto(REPO_ROOT, dirname(fileOf('web'))))
    execSync(command, { cwd: REPO_ROOT, stdio: 'ignore' });
  const event = {
    version: '2.0',
    rawPath: '/',
    headers: { 'accept-encoding': 'gzip' },
    requestContext: { http: { method: 'GET', path: '/' } },
  };
  const result = runNode(
    `const m = ${lambdaLoadSnippet(fileOf('web'))};\n` +
      `const r = await m.handler(${JSON.stringify(event)});\n` +
      'const html = (await import("node:zlib")).gunzipSync(Buffer.from(r.body, "base64")).toString();\n' +
      'console.log(JSON.stringify({ status: r.statusCode, type: r.headers["content-type"], html }));',
  );
  expect(result.status, result.stderr).toBe(0);
  const answer = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<
    string,
    string
  >;
  expect(answer).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
  expect(answer.html).toMatch(/<script type="module" src="\/assets\/main-\w+\.js">/);
});
