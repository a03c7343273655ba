/**
 * `npm run bench:cold-start`: bundle size and module-initialisation time of every handler.
 *
 * Each entry is bundled with exactly the esbuild options NodejsFunction uses
 * (`esbuildOptions()` from lib/function-defaults.ts), next to an empty handler
 * (`export const handler = async () => {}`). Each bundle is then imported RUNS times, every
 * time in a fresh Node process with only a Lambda-like environment, and the median time of the
 * `import()` is printed with the ratio to the empty handler's.
 *
 * The table is printed twice: without Sentry configured, and with `SENTRY_DSN` set (a loopback
 * DSN nothing listens on: importing must not touch the network anyway).
 *
 * Targets: every bundle ≤ 1 MiB; every handler's init ≤ 2× the empty handler's.
 * Options (env): BENCH_RUNS (default 7).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { loadVigilConfig } from '../lib/config';
import { esbuildOptions, functionEntry } from '../lib/function-defaults';

const FUNCTIONS = ['ingest', 'metrics', 'probe', 'alert', 'notify'] as const;
const EMPTY = 'empty';
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const SIZE_BUDGET_BYTES = 1024 * 1024;
const INIT_BUDGET_RATIO = 2;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

const outdir = mkdtempSync(join(tmpdir(), 'vigil-cold-start-'));
try {
  const emptyEntry = join(outdir, 'empty-entry.ts');
  writeFileSync(emptyEntry, 'export const handler = async () => {};\n');
  await build({
    ...esbuildOptions(),
    entryPoints: {
      ...Object.fromEntries(FUNCTIONS.map((name) => [name, functionEntry(name)])),
      [EMPTY]: emptyEntry,
    },
    outdir: join(outdir, 'dist'),
    outExtension: { '.js': '.mjs' },
  });

  // What the stack sets, with dummy values: nothing is called at import time.
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_OPTIONS: '--enable-source-maps',
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'vigil-bench',
    POWERTOOLS_SERVICE_NAME: 'vigil',
    POWERTOOLS_METRICS_NAMESPACE: 'Vigil',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    VIGIL_STAGE: 'dev',
    VIGIL_CONFIG_JSON: JSON.stringify(await loadVigilConfig()),
    EVENT_BUS_NAME: 'vigil-bench-bus',
    ARCHIVE_BUCKET: 'vigil-bench-archive',
    LEDGER_TABLE: 'vigil-bench-ledger',
    TOKENS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:vigil-bench-AbCdEf',
    SECRETS_PREFIX: 'vigil/dev/',
    ALERT_TABLE: 'vigil-bench-alerts',
    IDEMPOTENCY_TABLE: 'vigil-bench-idempotency',
    CRITICAL_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:vigil-bench-critical',
    WARNING_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:vigil-bench-warning',
  };

  /** Median milliseconds of `await import(bundle)` in fresh processes. */
  const initMs = (file: string, env: Record<string, string>): number => {
    const script =
      'const t = performance.now();\n' +
      `await import(${JSON.stringify(pathToFileURL(file).href)});\n` +
      'console.log(performance.now() - t);';
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: outdir,
        env,
        encoding: 'utf8',
      });
      if (result.status !== 0) throw new Error(`${file}: ${result.stdout}${result.stderr}`);
      samples.push(Number(result.stdout.trim().split('\n').at(-1)));
    }
    return median(samples);
  };

  const table = (title: string, env: Record<string, string>): boolean => {
    console.log(`\n${title} (median of ${RUNS} fresh processes)`);
    const emptyFile = join(outdir, 'dist', `${EMPTY}.mjs`);
    const empty = initMs(emptyFile, env);
    const rows: string[][] = [['handler', 'bundle KiB', 'init ms', 'x empty', '']];
    let ok = true;
    for (const name of [EMPTY, ...FUNCTIONS]) {
      const file = join(outdir, 'dist', `${name}.mjs`);
      const bytes = statSync(file).size;
      const ms = name === EMPTY ? empty : initMs(file, env);
      const ratio = ms / empty;
      const over = [
        bytes > SIZE_BUDGET_BYTES ? 'size > 1 MiB' : '',
        ratio > INIT_BUDGET_RATIO ? `init > ${INIT_BUDGET_RATIO}x empty` : '',
      ].filter(Boolean);
      if (over.length) ok = false;
      rows.push([
        name,
        (bytes / 1024).toFixed(0),
        ms.toFixed(1),
        ratio.toFixed(2),
        over.join(', ') || 'ok',
      ]);
    }
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
    for (const row of rows)
      console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | '));
    return ok;
  };

  const withoutDsn = table('without Sentry (SENTRY_DSN unset)', baseEnv);
  const withDsn = table('with SENTRY_DSN set', {
    ...baseEnv,
    SENTRY_DSN: 'http://publickey@127.0.0.1:9/1',
  });
  console.log(
    `\nbudgets (bundle ≤ 1 MiB, init ≤ ${INIT_BUDGET_RATIO}x empty): ` +
      (withoutDsn && withDsn ? 'met' : 'NOT met (see the rows above)'),
  );
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
