import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { flakyNotice, formatDuration, slackPayload } from '../../functions/core/alerts/messages';
import { parseConfig } from '../../functions/core/config';
import { checkConfig } from '../../functions/core/config-check';
import { loadCronParser } from '../../functions/core/cron';
import type { TestCase } from '../../functions/core/formats/types';
import { DEFAULT_CONTEXT } from '../../functions/core/gates/checks';
import { coverageChecks } from '../../functions/core/gates/coverage';
import { testChecks } from '../../functions/core/gates/tests';
import type { LocalPipeline } from '../../functions/runtime/local/runtime';
import shippedConfig from '../fixtures/config/vigil.config';
import { saveEnv } from '../helpers/env';
import { storedEvents } from '../helpers/local-store';
import { type CodeBlock, docFiles, parseMarkdown, ROOT, readDoc } from './markdown';

/**
 * Examples that cannot drift. In README.md and docs/:
 * - a code block under `<!-- example: ID -->` is compared with what the program really prints
 *   for ID (produced below, against the local pipeline running in this process), volatile
 *   parts (ids, times, ports, tokens, latencies) normalised on both sides;
 * - a code block under `<!-- config -->` (a whole `vigil.config.ts`, or a fragment of its
 *   object) must pass the full check of a loaded file (`checkConfig`: the schema, crons, names,
 *   references), as `npm start` and `cdk deploy` would load it; a fragment without `probes` is
 *   checked with the walkthrough's (`checkout-api`), which the reader has by then;
 *   `<!-- config: defaults -->` must also show the defaults, and `<!-- config: NAME -->` names
 *   a block a scenario below runs (the probe walkthrough).
 *
 * `npm start` here reads test/fixtures/config/vigil.config.ts (the shipped vigil.config.ts's
 * content), never the root vigil.config.ts: that one is the user's to edit.
 */

/** The config `npm start` reads here; its output names it as the shipped file. */
const FIXTURE_CONFIG = 'test/fixtures/config/vigil.config.ts';

// Metrics carry the service name as a dimension: `npm start`'s, not the test run's. The local
// pipeline reads it when imported: these are imported fresh in beforeAll, once it is set.
let runDev: typeof import('../../cli/dev').runDev;
let runProbeCli: typeof import('../../cli/probe').runProbeCli;
let runReport: typeof import('../../cli/report').runReport;
let startLocal: typeof import('../../functions/runtime/local/runtime').startLocal;
let restoreEnv: () => void;

interface Found extends CodeBlock {
  file: string;
}

const allBlocks: Found[] = docFiles().flatMap((file) =>
  parseMarkdown(readDoc(file)).blocks.map((b) => ({ ...b, file })),
);
const examples = allBlocks.filter((b) => b.markers.example !== undefined);
const configs = allBlocks.filter((b) => b.markers.config !== undefined);

/** The named config block (`<!-- config: NAME -->`), evaluated. */
const namedConfig = (name: string): Record<string, unknown> => {
  const block = configs.find((b) => b.markers.config === name);
  if (!block) throw new Error(`no <!-- config: ${name} --> block in the docs`);
  return evaluateConfig(block.body) as Record<string, unknown>;
};

/** Evaluate a config block: a module with `export default defineConfig({...})`, or a fragment. */
function evaluateConfig(source: string): unknown {
  const module = /export\s+default/.test(source)
    ? source.replace(/^import .*$/gm, '')
    : `export default {\n${source}\n};`;
  const { code } = transformSync(module, { loader: 'ts', format: 'cjs' });
  const mod: { exports: { default?: unknown } } = { exports: {} };
  new Function('module', 'exports', 'defineConfig', code)(mod, mod.exports, (c: unknown) => c);
  return mod.exports.default;
}

// --- normalising -----------------------------------------------------------------------------

const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3600, m: 60, s: 1 };

/** Whether `text` is what formatDuration prints for some number of seconds. */
const isDuration = (text: string): boolean => {
  const seconds = text
    .split(' ')
    .reduce(
      (sum, part) => sum + Number(part.slice(0, -1)) * (UNIT_SECONDS[part.slice(-1)] ?? NaN),
      0,
    );
  return Number.isFinite(seconds) && formatDuration(seconds) === text;
};

const TEXT_RULES: [RegExp, string | ((match: string, ...groups: string[]) => string)][] = [
  [/\b00-[0-9a-f]{32}-[0-9a-f]{16}-01\b/g, '<traceparent>'],
  [/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>'],
  [/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g, '<time>'],
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>'],
  [/\binc-[0-9a-z]+-[0-9a-z]+/g, '<incident>'],
  [/\b[0-9a-f]{32}\b/g, '<run-id>'],
  [/vgl_[A-Za-z0-9_-]+/g, 'vgl_<token>'],
  [/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>'],
  [/\b\d+(\.\d+)? ms\b/g, '<n> ms'],
  [/data dir: .*/g, 'data dir: <dir>'],
  [/vigil\.config\.(ts|json)/g, 'vigil.config'],
  // A duration as formatDuration prints it (`45s`, `1m`, `12m 30s`, `3h 5m`, `2d 4h`): any such
  // value stands for any other, since the test runs an outage in milliseconds while the docs
  // show one at the walkthrough's pace. A text formatDuration never prints (`1m 0s`, `90s`)
  // stays as it is, and so differs from the real output.
  [
    / after (\d+[dhms]\b(?: \d+[dhms]\b)*)/g,
    (m, d: string) => (isDuration(d) ? ' after <duration>' : m),
  ],
];

const normaliseText = (s: string): string => {
  let out = s;
  // Two calls: String.replace's overloads take a string or a function, not their union.
  for (const [pattern, replacement] of TEXT_RULES)
    out =
      typeof replacement === 'string'
        ? out.replace(pattern, replacement)
        : out.replace(pattern, replacement);
  return out
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trimEnd())
    .join('\n')
    .trim();
};

/** Keys whose values are measured: compared by presence and type only. */
const VOLATILE = new Set(['latencyMs', 'downtimeSeconds']);

const normaliseJson = (value: unknown, key?: string): unknown => {
  if (key !== undefined && VOLATILE.has(key)) return `<${typeof value}>`;
  if (typeof value === 'string') return normaliseText(value);
  if (Array.isArray(value)) return value.map((v) => normaliseJson(v));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normaliseJson(v, k)]));
  return value;
};

/** JSON blocks compare as data, so layout is free; others as text. */
const normalise = (lang: string, text: string): unknown =>
  lang === 'json' ? normaliseJson(JSON.parse(text)) : normaliseText(text);

// --- producing the real output --------------------------------------------------------------

const produced = new Map<string, string>();
const cleanups: (() => Promise<void> | void)[] = [];

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  cleanups.push(() => new Promise<void>((ok) => server.close(() => ok())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const capture = () => {
  let text = '';
  return {
    write: (s: string) => {
      text += s;
    },
    text: () => text,
  };
};

let dev: LocalPipeline;
let token: string;

/** The body of a request to the `npm start` pipeline, with its token. */
const request = async (path: string, init: RequestInit = {}): Promise<string> => {
  const res = await fetch(`${dev.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...init.headers },
  });
  return res.text();
};

beforeAll(async () => {
  restoreEnv = saveEnv();
  process.env.POWERTOOLS_SERVICE_NAME = 'vigil';
  vi.resetModules();
  ({ runDev } = await import('../../cli/dev'));
  ({ runProbeCli } = await import('../../cli/probe'));
  ({ runReport } = await import('../../cli/report'));
  ({ startLocal } = await import('../../functions/runtime/local/runtime'));
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-docs-'));
  // `npm start` with the shipped vigil.config.ts (its fixture copy; PORT=0: a free port).
  vi.stubEnv('PORT', '0');
  const startOutput = capture();
  dev = await runDev({
    env: { PORT: '0', VIGIL_CONFIG: FIXTURE_CONFIG, VIGIL_DATA_DIR: dataDir },
    stdout: startOutput.write,
    stderr: () => {},
    terminal: true,
  });
  cleanups.push(() => dev.close());
  vi.unstubAllEnvs();
  token = dev.tokens[0] ?? '';
  produced.set(
    'npm-start',
    startOutput
      .text()
      .split(FIXTURE_CONFIG)
      .join('vigil.config.ts')
      .split(ROOT)
      .join('/home/you/vigil/'),
  );

  const sample = await readFile(join(ROOT, 'test/fixtures/corpus/junit/datadog-java-gradle.xml'));
  produced.set(
    'ingest-answer',
    await request('/v1/results?project=vigil&branch=main', { method: 'POST', body: sample }),
  );
  await dev.bus.drain();
  produced.set('metrics-answer', await request('/v1/metrics?project=vigil&name=TestsFailed'));

  produced.set('config-error', await configError(await mkdtemp(join(tmpdir(), 'vigil-docs-'))));
  await reportFromCi(sample);
  await benchmarkFromPr();
  await history(dataDir);
  await probeWithSlack(await mkdtemp(join(tmpdir(), 'vigil-docs-')));
  gateMessages();
  produced.set('flaky-notice', flakyNoticeText());
  // A whole pipeline, two CLI runs and a probe outage: ~10 s alone, 40 s and more on a machine
  // busy with other test runs.
}, 120_000);

/** Gate messages of gates.md, from the gate rules themselves (pure functions). */
const gateMessages = () => {
  const now = new Date('2026-11-28T12:00:00Z');
  const pays = { suite: 'api', classname: 'Checkout', name: 'pays' };
  /** `total` tests, the first `failed` of them failed, "api > Checkout > pays" first. */
  const run = (total: number, failed: number) => {
    const cases: TestCase[] = Array.from({ length: total }, (_, i) => ({
      ...(i === 0 ? pays : { suite: 'api', classname: 'Cart', name: `case ${i}` }),
      status: i < failed ? 'failed' : 'passed',
      flaky: false,
      durationMs: 1,
      retries: 0,
    }));
    const summary = { total, passed: total - failed, failed, skipped: 0, flaky: 0, durationMs: 1 };
    return { kind: 'tests' as const, format: 'junit' as const, summary, warnings: [], cases };
  };
  const quarantined = (owner: string, expires: string) => ({
    ...DEFAULT_CONTEXT,
    now,
    quarantine: parseConfig({
      quarantine: [{ test: 'api > Checkout > pays', owner, reason: 'sandbox flaky', expires }],
    }).quarantine,
  });
  const gates = parseConfig({}).gates;
  const failedMessage = (total: number, failed: number, owner: string, expires: string) =>
    testChecks(run(total, failed), gates, quarantined(owner, expires)).find(
      (c) => c.id === 'tests.failed',
    )?.message;
  produced.set(
    'gate-quarantine',
    [failedMessage(40, 3, 'ana', '2026-12-01'), failedMessage(6, 4, 'cy', '2026-11-24')].join('\n'),
  );
  const lines = (pct: number) => {
    const metric = { pct, covered: pct * 10, total: 1000 };
    return { lines: metric, branches: metric, functions: metric };
  };
  const drop = coverageChecks(
    lines(91.2),
    { ...gates, coverageMetrics: ['lines'], maxCoverageDrop: 1 },
    {
      ...DEFAULT_CONTEXT,
      now,
      suite: 'unit',
      baseline: [
        {
          kind: 'coverage',
          project: 'shop',
          runId: 'main-1',
          format: 'istanbul',
          suite: 'unit',
          branch: 'main',
          ingestedAt: now.toISOString(),
          correlationId: 'c',
          gate: 'pass',
          summary: lines(92.7),
        },
      ],
    },
  );
  produced.set(
    'gate-coverage-drop',
    drop.find((c) => c.id === 'coverage.drop.lines')?.message ?? '',
  );
};

/**
 * The NOTICE of a flaky test on the default branch (flip-rate rule): Slack's `text` as Slack
 * shows it (the payload escapes `&`, `<`, `>`).
 */
const flakyNoticeText = (): string =>
  unescapeSlack(
    slackPayload(
      flakyNotice(
        {
          metadata: {
            project: 'shop',
            runId: 'r-8',
            branch: 'main',
            correlationId: 'c',
            detectedAt: '2026-11-28T12:00:00.000Z',
          },
          test: {
            id: 'cart > CartTest > checkout',
            suite: 'cart',
            classname: 'CartTest',
            name: 'checkout',
          },
          reason: 'flip-rate',
          explanation: '3 flips in 8 runs on main (flip rate 43%, threshold 30%).',
          flipRate: 3 / 7,
          quarantined: { owner: 'team-cart', expires: '2026-12-31' },
          batch: { index: 1, total: 1 },
        },
        'event-1',
      ),
    ).text,
  );

const unescapeSlack = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** What `vigil probe` says of a config with a bad field (the path as in a clone). */
const configError = async (dir: string): Promise<string> => {
  await writeFile(join(dir, 'vigil.config.json'), JSON.stringify({ gates: { minCoverage: 120 } }));
  const out = capture();
  await runProbeCli(['--once'], {
    env: { VIGIL_CONFIG: 'vigil.config.json' },
    cwd: dir,
    stdout: out.write,
    stderr: out.write,
  });
  return out.text().split(dir).join('/home/you/vigil');
};

/** The history API and the flaky-test event of history-and-flaky-tests.md. */
const history = async (dataDir: string) => {
  const post = (query: string, body: string | Buffer) =>
    request(`/v1/results?${query}`, { method: 'POST', body });
  const flaky = await readFile(
    join(ROOT, 'test/fixtures/corpus/junit/enricomi-surefire-rerun-flaky.xml'),
  );
  await post('project=shop%2Fweb&branch=main&commit=4f2a9c1e77b0&runId=mvn-1', flaky);
  for (const [i, value] of [40.8, 42, 41.5].entries())
    await post(
      `project=shop%2Fweb&branch=main&commit=b1b2c3${i + 1}&runId=bench-${i + 1}`,
      JSON.stringify([{ name: 'parse 10k rows [json]', unit: 'ms', value }]),
    );
  await dev.bus.drain();
  produced.set('history-tests', await request('/v1/projects/shop%2Fweb/tests?status=flaky'));
  produced.set('dashboard-run', await request('/v1/projects/shop%2Fweb/runs/mvn-1'));
  produced.set(
    'history-benchmark',
    await request(
      `/v1/projects/shop%2Fweb/benchmarks/${encodeURIComponent('parse 10k rows [json]')}?branch=main`,
    ),
  );
  const notice = storedEvents(dataDir).find((e) => e['detail-type'] === 'Test Flaky Detected');
  produced.set(
    'flaky-event',
    JSON.stringify({
      source: notice?.source,
      'detail-type': notice?.['detail-type'],
      detail: notice?.detail,
    }),
  );
};

/** `vigil report` in a GitHub Actions job, against the local pipeline. */
const reportFromCi = async (junit: Buffer) => {
  const files: Record<string, string> = {
    'junit.xml': 'test/fixtures/corpus/junit/datadog-java-gradle.xml',
    'coverage/coverage-summary.json': 'test/fixtures/corpus/istanbul/tsinjex-coverage-summary.json',
  };
  const out = capture();
  await runReport(
    ['junit.xml', 'coverage/coverage-summary.json', '--endpoint', dev.url, '--project', 'shop'],
    {
      env: {
        VIGIL_TOKEN: token,
        GITHUB_ACTIONS: 'true',
        GITHUB_REF_NAME: 'main',
        GITHUB_SHA: '3f2a9c1d0e4b5a6978877665544332211ffeedd0',
        GITHUB_WORKFLOW: 'CI',
        GITHUB_JOB: 'test',
        GITHUB_RUN_ID: '7001',
        GITHUB_RUN_ATTEMPT: '1',
      },
      stdout: out.write,
      stderr: out.write,
      readFile: async (path) =>
        path === 'junit.xml' ? junit : readFile(join(ROOT, files[path] ?? path)),
    },
  );
  produced.set('report-output', out.text().split(dev.url).join('https://vigil.example.com'));
  const json = capture();
  await runReport(['junit.xml', '--json', '--endpoint', dev.url, '--project', 'shop'], {
    env: { VIGIL_TOKEN: token },
    stdout: json.write,
    stderr: () => {},
    readFile: async () => junit,
  });
  produced.set('report-json', json.text());
};

/**
 * A benchmark compared with the base branch in a pull request (reporting-from-ci.md): four
 * hyperfine reports on `main` (10 runs each, as hyperfine's default), then the same benchmark
 * 1.5× slower from a pull request. The docs show the report's header, gate and check lines.
 */
const benchmarkFromPr = async () => {
  const hyperfine = (scale: number, seed: number) => {
    // Deterministic spread of about ±2% around 1.2 s.
    const times = Array.from(
      { length: 10 },
      (_, i) => 1.2 * scale * (1 + 0.02 * Math.sin(seed * 7 + i * 1.3)),
    );
    const mean = times.reduce((a, b) => a + b) / times.length;
    const stddev = Math.sqrt(times.reduce((a, t) => a + (t - mean) ** 2, 0) / (times.length - 1));
    const sorted = [...times].sort((a, b) => a - b);
    const result = { command: 'python parse.py rows.csv', mean, stddev, times };
    return Buffer.from(
      JSON.stringify({
        results: [{ ...result, median: sorted[5], min: sorted[0], max: sorted[9] }],
      }),
    );
  };
  const send = (
    file: string,
    body: Buffer,
    env: Record<string, string>,
    out: (s: string) => void,
  ) =>
    runReport([file, '--endpoint', dev.url, '--project', 'bench'], {
      env: { VIGIL_TOKEN: token, GITHUB_ACTIONS: 'true', GITHUB_RUN_ATTEMPT: '1', ...env },
      stdout: out,
      stderr: () => {},
      readFile: async () => body,
    });
  for (let i = 1; i <= 4; i++)
    await send(
      'bench.json',
      hyperfine(1, i),
      { GITHUB_REF_NAME: 'main', GITHUB_SHA: `${i}`.repeat(40), GITHUB_RUN_ID: `${8000 + i}` },
      () => {},
    );
  await dev.bus.drain();
  const out = capture();
  await send(
    'bench-pr.json',
    hyperfine(1.5, 9),
    {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_HEAD_REF: 'feature/x',
      GITHUB_BASE_REF: 'main',
      GITHUB_REF_NAME: '17/merge',
      GITHUB_SHA: 'f'.repeat(40),
      GITHUB_RUN_ID: '8009',
    },
    out.write,
  );
  const shown = out
    .text()
    .split('\n')
    .filter((l) => /^(✖ bench-pr\.json| {2}gate:| {4}✖ benchmark\.)/.test(l));
  produced.set('report-benchmark-pr', shown.join('\n'));
};

/**
 * The walkthrough of probes-and-alerting.md: its config fragment (`probes` and `alerts`) in
 * place of the shipped config's, with the probe pointed at a local service and the Slack
 * webhook at a local receiver. Probe turns are run at once (`probes.runAll()`), so the outage
 * takes milliseconds where the docs show it at `intervalSeconds: 30`: times are normalised,
 * and a duration stands for any other (TEXT_RULES).
 */
const probeWithSlack = async (dataDir: string) => {
  let healthy = true;
  const service = createServer((_req, res) => {
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    res.end(healthy ? '{"status":"ok"}' : '{"status":"down"}');
  });
  const serviceUrl = await listen(service);
  const slackTexts: string[] = [];
  const slack = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      slackTexts.push((JSON.parse(body) as { text: string }).text);
      res.writeHead(200).end('ok');
    });
  });
  const slackUrl = await listen(slack);

  const documented = namedConfig('slack-probe');
  const probes = documented.probes as { url: string }[];
  const documentedOrigin = new URL(probes[0]?.url ?? '').origin;
  const config = {
    ...shippedConfig,
    ...documented,
    probes: probes.map((p) => ({ ...p, url: p.url.replace(documentedOrigin, serviceUrl) })),
    // The links `npm start` puts in messages (its own address): this pipeline listens on a
    // port of the system's choosing, which it cannot know before it starts.
    alerts: { ...(documented.alerts as object), dashboardUrl: 'http://127.0.0.1:3000' },
  };
  const asDocumented = (s: string) => s.split(serviceUrl).join(documentedOrigin);
  const env = { VIGIL_SECRET_SLACK_WEBHOOK: slackUrl };

  await writeFile(join(dataDir, 'vigil.config.json'), JSON.stringify(config));
  const once = capture();
  await runProbeCli(['--once'], {
    env: { VIGIL_CONFIG: 'vigil.config.json' },
    cwd: dataDir,
    stdout: once.write,
    stderr: once.write,
  });
  produced.set('probe-once', asDocumented(once.text()));

  const pipeline = await startLocal({
    config: parseConfig(config),
    dataDir,
    port: 0,
    tokens: ['t'],
    env,
  });
  cleanups.push(() => pipeline.close());
  // One datapoint of ProbeAvailability per probe result that went through the bus.
  const results = () => pipeline.metricStore.query({ name: 'ProbeAvailability' }).length;
  const settled = async (count: number) => {
    // Bounded by time, not turns: on a loaded machine a probe run takes longer than 400 turns.
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && results() < count; ) {
      await new Promise((r) => setTimeout(r, 5));
      await pipeline.bus.drain();
    }
    // The points come from the bus worker thread as the metrics subscriber emits them: the
    // other subscribers (alerts) may still be at work.
    await pipeline.bus.drain();
  };
  const turn = async () => {
    const before = results();
    await pipeline.probes.runAll();
    await settled(before + 1);
  };
  await settled(1);
  healthy = false;
  await turn();
  await turn();
  // Deliveries run on the dispatcher's own timer: wait for the FIRING to be sent.
  await pipeline.alerts.idle();
  produced.set(
    'alerts-answer',
    asDocumented(
      await (
        await fetch(`${pipeline.url}/v1/alerts`, { headers: { authorization: 'Bearer t' } })
      ).text(),
    ),
  );
  healthy = true;
  await turn();
  await pipeline.alerts.idle();
  const events = storedEvents(dataDir) as {
    'detail-type': string;
    detail: Record<string, unknown>;
  }[];
  const detail = (type: string, where: (d: Record<string, unknown>) => boolean) =>
    JSON.stringify(events.find((e) => e['detail-type'] === type && where(e.detail))?.detail);
  produced.set(
    'probe-completed',
    asDocumented(detail('Probe Completed', (d) => d.status === 'down')),
  );
  produced.set(
    'alert-notification',
    asDocumented(detail('Alert State Changed', (d) => d.kind === 'RESOLVED')),
  );
  produced.set('slack-firing', asDocumented(slackTexts[0] ?? ''));
  produced.set('slack-resolved', asDocumented(slackTexts[1] ?? ''));
};

afterAll(async () => {
  // To update an example: DOCS_DUMP=dir writes each real output to dir/<id>.txt.
  const dump = process.env.DOCS_DUMP;
  if (dump) for (const [id, text] of produced) await writeFile(join(dump, `${id}.txt`), text);
  for (const cleanup of cleanups.reverse()) await cleanup();
  restoreEnv();
  // The pipeline's modules were built with this file's service name.
  vi.resetModules();
});

describe('examples in the docs', () => {
  it('include every JSON answer shown (no unchecked JSON block)', () => {
    // `<!-- report: FORMAT -->` blocks are reports, checked by test/docs/report-examples.test.ts.
    const unchecked = allBlocks.filter(
      (b) => b.lang === 'json' && b.markers.example === undefined && b.markers.report === undefined,
    );
    expect(unchecked.map((b) => `${b.file}:${b.line}`)).toEqual([]);
  });

  it('are all produced here, and everything produced here is shown', () => {
    expect(new Set(examples.map((e) => e.markers.example))).toEqual(new Set(produced.keys()));
  });

  it.each(examples.map((e) => [`${e.file}:${e.line} ${e.markers.example}`, e] as const))(
    '%s matches the real output',
    (_, block) => {
      const actual = produced.get(block.markers.example ?? '');
      expect(actual, 'not produced').toBeDefined();
      expect(normalise(block.lang, block.body)).toEqual(normalise(block.lang, actual ?? ''));
    },
  );
});

describe('config examples in the docs', () => {
  // As loadConfigFile does before checking maintenance windows' crons.
  beforeAll(() => loadCronParser());

  it.each(configs.map((c) => [`${c.file}:${c.line}`, c] as const))('%s is valid', (_, block) => {
    const input = evaluateConfig(block.body) as Record<string, unknown>;
    // A fragment (no `export default`) is a part of the reader's config, probes included.
    const whole =
      /export\s+default/.test(block.body) || 'probes' in input
        ? input
        : { ...input, probes: namedConfig('slack-probe').probes };
    checkConfig(whole, `${block.file}:${block.line}`);
    // `<!-- config: defaults -->`: the values shown are the defaults.
    if (block.markers.config === 'defaults') {
      const defaults = parseConfig({}) as Record<string, unknown>;
      for (const key of Object.keys(input)) expect(input[key], key).toEqual(defaults[key]);
    }
  });
});
