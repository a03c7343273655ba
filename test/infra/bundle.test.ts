import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, expect, it } from 'vitest';
import { loadVigilConfig } from '../../lib/config';
import { esbuildOptions, functionEntry } from '../../lib/function-defaults';

const FUNCTIONS = ['ingest', 'metrics', 'probe', 'alert', 'notify'] as const;
/** Above this a bundle is reported (cold start), not failed. */
const SIZE_BUDGET_BYTES = 1024 * 1024;

const outdir = mkdtempSync(join(tmpdir(), 'vigil-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

it('bundles every function as NodejsFunction does, and each bundle loads and exports handler', async () => {
  await build({
    ...esbuildOptions(),
    entryPoints: Object.fromEntries(FUNCTIONS.map((name) => [name, functionEntry(name)])),
    outdir,
    outExtension: { '.js': '.mjs' },
  });

  // Dummy values for what the stack sets; nothing is called at import time.
  const env = {
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
    TOKENS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:vigil-test-AbCdEf',
    SECRETS_PREFIX: 'vigil/dev/',
    ALERT_TABLE: 'vigil-test-alerts',
    IDEMPOTENCY_TABLE: 'vigil-test-idempotency',
    CRITICAL_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:vigil-test-critical',
    WARNING_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:vigil-test-warning',
  };

  for (const name of FUNCTIONS) {
    const file = join(outdir, `${name}.mjs`);
    const script =
      `const m = await import(${JSON.stringify(pathToFileURL(file).href)});\n` +
      `if (typeof m.handler !== 'function') { console.error('handler is ' + typeof m.handler); process.exit(3); }\n` +
      `console.log('handler ok');`;
    // A fresh process with only the Lambda-like environment (no repo node_modules nearby).
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: outdir,
      env,
      encoding: 'utf8',
    });
    expect(result.status, `${name}: ${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('handler ok');

    const bytes = statSync(file).size;
    const size = `${(bytes / 1024).toFixed(0)} KiB`;
    if (bytes > SIZE_BUDGET_BYTES) {
      console.warn(`${name} bundle is ${size}, above the 1 MiB budget (reported, not failed).`);
    } else {
      console.info(`${name} bundle: ${size}`);
    }
  }
});
