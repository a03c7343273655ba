/**
 * `npm run bench:dashboard`: fills local stores with a dashboard-sized history and times every
 * dashboard API route through the ingest handler (token check, routing, queries, JSON).
 *
 * Data: one project with 20,000 tests (2% flaky), 1,000 runs over 90 days (tests, coverage,
 * load and benchmark runs with 200 benchmarks), and 10 probes with samples over 90
 * days (one sample every 5 minutes), through the ports. The tests runs point at a real archived
 * normalized result with 20,000 cases (500 failed) and carry its digest, as the status subscriber
 * records them. Target: every route ≤ 100 ms. It is a benchmark, not a test: exit code 0.
 *
 * The stores are the ones local mode uses: the embedded store (SQLite) for the history and the
 * dashboard data, the file archive.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { FileArchive } from '../functions/adapters/local/archive';
import { LocalStore } from '../functions/adapters/local/store';
import { parseConfig } from '../functions/core/config';
import type { ProbeCompletedDetail } from '../functions/core/events';
import type { RunRecord, TestRecord } from '../functions/core/history/types';
import type { RunEntry } from '../functions/core/status/catalog';
import { digestOf } from '../functions/core/status/digest';
import { createIngestHandler } from '../functions/ingest/handler';
import { mulberry32 } from '../load/prng';

const PROJECT = 'shop';
const TESTS = 20_000;
const RUNS = 1_000;
const BENCHMARKS = 200;
const PROBES = 10;
const DAYS = 90;
export const TOKEN = 'bench-token';
const REPEATS = 20;
const DAY = 86_400_000;
/** One sample per probe every 5 minutes (260,000 in all): the routes read hour and day rollups, so their cost does not depend on it; filling 1-minute samples only takes 5× longer. */
const SAMPLE_EVERY_MS = 5 * 60_000;

const now = Date.parse('2026-11-25T12:00:00.000Z');
export const clock = { now: () => new Date(now) };
const rand = mulberry32(42);
const probeNames = Array.from({ length: PROBES }, (_, i) => `probe-${i}`);
export const config = parseConfig({
  project: PROJECT,
  probes: probeNames.map((name, i) => ({
    name,
    url: `https://svc-${i}.example.com/health`,
    tags: i < 5 ? ['public'] : [],
  })),
  statusPage: { title: 'Bench', components: [{ name: 'Public', tags: ['public'] }] },
});

const at = (i: number) => new Date(clock.now().getTime() - (1000 - i) * 7_776_000).toISOString();

/** The run history the runs, coverage and benchmark pages read (the history routes). */
const runs = (): RunRecord[] =>
  Array.from({ length: RUNS }, (_, i): RunRecord => {
    const base = {
      project: 'shop',
      runId: `run-${i}`,
      format: 'bench',
      branch: 'main',
      commit: `c${i}`,
      ingestedAt: at(i),
      correlationId: `corr-${i}`,
      gate: i % 7 === 0 ? ('fail' as const) : ('pass' as const),
    };
    switch (i % 4) {
      case 0:
        return {
          ...base,
          kind: 'tests',
          summary: {
            total: 20_000,
            passed: 19_500,
            failed: 500,
            skipped: 0,
            flaky: 3,
            durationMs: 90_000,
          },
        };
      case 1: {
        const m = { pct: 80 + (i % 10), covered: 80, total: 100 };
        return { ...base, kind: 'coverage', summary: { lines: m, branches: m, functions: m } };
      }
      case 2:
        return {
          ...base,
          kind: 'load',
          summary: {
            requests: 10_000,
            failedRequests: 10,
            errorRate: 0.001,
            latencyMs: { p95: 200 + (i % 13), p99: 400 },
            thresholds: [{ name: 'p(95)<500', passed: true }],
          },
        };
      default:
        return {
          ...base,
          kind: 'benchmark',
          summary: {
            benchmarks: Array.from({ length: BENCHMARKS }, (_, b) => ({
              name: `bench-${b}`,
              unit: 'ns',
              value: 1000 + b + (i % 17),
            })),
          },
        };
    }
  });
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The API over the filled stores (ingest never happens here: no bus, no ledger). */
export const benchApi = ({
  archive,
  history,
  status,
}: Awaited<ReturnType<typeof benchStores>>): ReturnType<typeof createIngestHandler> =>
  createIngestHandler({
    config,
    publisher: { publish: async () => {} },
    archive,
    archiveReader: archive,
    ledger: {
      claim: async () => ({ state: 'new' }),
      complete: async () => {},
      release: async () => {},
    },
    history,
    clock,
    tokens: { tokens: async () => [TOKEN] },
    version: 'bench',
    status,
  });

/**
 * The filled stores in a new temporary directory, removed by `done`. With `VIGIL_BENCH_DATA=<dir>`
 * they are kept in `<dir>` and reused by the next run (filling takes a minute or more): for
 * comparing the code's speed before and after a change on the same data.
 */
export const benchStores = async () => {
  const keep = process.env.VIGIL_BENCH_DATA;
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'vigil-bench-dashboard-')));
  const stores = await fill(dir);
  const done = async () => {
    stores.store.close();
    if (!keep) await rm(dir, { recursive: true, force: true });
  };
  return { ...stores, done };
};

/** Fill the stores in `dir`, unless a previous run filled them there. */
const fill = async (dir: string) => {
  const archive = new FileArchive(dir);
  const store = LocalStore.open(dir, { lock: false, clock });
  const { history } = store;
  const stores = { archive, history, status: store.status, store };
  const filled = join(dir, 'bench-filled');
  if (existsSync(filled)) {
    console.log(`stores: filled before, in ${dir}`);
    return stores;
  }
  const { probes, incidents, catalog } = store.status;

  let t = performance.now();
  // The latest tests run: 20,000 cases, 500 failed with a message and a stack.
  const cases = Array.from({ length: TESTS }, (_, i) => ({
    suite: `suite-${i % 50}`,
    classname: `Class${i % 400}`,
    name: `test number ${i}`,
    status: i < 500 ? 'failed' : 'passed',
    flaky: false,
    durationMs: 3,
    retries: 0,
    ...(i < 500
      ? { message: `expected ${i} to equal ${i + 1}`, details: `Error\n    at t${i}` }
      : {}),
  }));
  const body = Buffer.from(JSON.stringify({ project: PROJECT, report: { cases, warnings: [] } }));
  const normalized = await archive.put({
    key: `${PROJECT}/latest.normalized.json`,
    body,
    contentType: 'application/json',
    sha256: createHash('sha256').update(body).digest('hex'),
    metadata: {},
  });
  const rawBody = Buffer.from('<testsuites/>');
  const raw = await archive.put({
    key: `${PROJECT}/latest.xml`,
    body: rawBody,
    contentType: 'application/xml',
    sha256: createHash('sha256').update(rawBody).digest('hex'),
    metadata: {},
  });
  const kinds = ['tests', 'coverage', 'load', 'benchmark'] as const;
  const digest = digestOf(body);
  for (let i = 0; i < RUNS; i++) {
    const kind = kinds[i % 4] as (typeof kinds)[number];
    const at = new Date(now - ((RUNS - i) / RUNS) * DAYS * DAY).toISOString();
    const facts: RunEntry['facts'] =
      kind === 'tests'
        ? {
            tests: { total: TESTS, passed: TESTS - 500, failed: 500, skipped: 0, flaky: 3 },
            durationMs: 90_000,
          }
        : kind === 'coverage'
          ? { coverage: { lines: 80 + rand() * 10, branches: 70, functions: 75 } }
          : kind === 'load'
            ? { load: { requests: 10_000, errorRate: 0.001, p95Ms: 200, p99Ms: 400 } }
            : { benchmarks: BENCHMARKS };
    await catalog.record(
      {
        project: PROJECT,
        runId: `run-${i}`,
        kind,
        format: 'junit',
        branch: i % 10 === 0 ? `feature-${i}` : 'main',
        commit: `c${i}`,
        ingestedAt: at,
        correlationId: `corr-${i}`,
        gate: i % 7 === 0 ? 'fail' : 'pass',
        facts,
        gateChecks: { status: 'pass', checks: [] },
        archive: raw,
        normalized,
        ...(kind === 'tests' ? { digest } : {}),
      },
      90,
    );
  }
  console.log(
    `runs: ${RUNS} catalogued (latest normalized result ${(body.length / 1e6).toFixed(1)} MB) in ${seconds(performance.now() - t)}`,
  );

  t = performance.now();
  for (let i = 0; i < TESTS; i++) {
    const record: TestRecord = {
      project: PROJECT,
      id: `suite-${i % 50} > Class${i % 400} > test number ${i}`,
      suite: `suite-${i % 50}`,
      classname: `Class${i % 400}`,
      name: `test number ${i}`,
      outcomes: [
        {
          runId: 'run-996',
          at: new Date(now).toISOString(),
          status: 'passed',
          retried: false,
          durationMs: 3,
        },
      ],
      ...(i % 50 === 0
        ? {
            flaky: {
              reason: 'retried',
              explanation: 'passed after a retry',
              since: new Date(now).toISOString(),
            },
          }
        : {}),
      version: 1,
    };
    await history.putTest(record, 0, 90);
  }
  for (const run of runs()) await history.putRun(run, 90);
  console.log(`tests: ${TESTS} records and ${RUNS} runs in ${seconds(performance.now() - t)}`);

  t = performance.now();
  const start = now - DAYS * DAY;
  const pending: Promise<void>[] = [];
  for (const [p, probe] of probeNames.entries()) {
    for (let at = start; at < now; at += SAMPLE_EVERY_MS) {
      const down = rand() < 0.002;
      const sample: ProbeCompletedDetail = {
        metadata: {
          project: PROJECT,
          probe,
          correlationId: `c${at}`,
          checkedAt: new Date(at).toISOString(),
          location: 'local',
        },
        url: `https://svc-${p}.example.com/health`,
        method: 'GET',
        status: down ? 'down' : 'up',
        latencyMs: 50 + rand() * 100,
        attempt: 1,
        ...(down ? { statusCode: 503, failure: { assertion: 'status', message: 'got 503' } } : {}),
        warnings: [],
        severity: 'critical',
        tags: [],
      };
      pending.push(probes.record(sample));
      // Many samples per transaction, as the embedded store groups writes of one turn.
      if (pending.length === 5000) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending.splice(0));
    for (let k = 0; k < 20; k++) {
      const fired = new Date(start + rand() * DAYS * DAY).toISOString();
      const base = {
        checkKey: `probe:${PROJECT}/${probe}`,
        incidentId: `${probe}-${k}`,
        source: 'probe' as const,
        project: PROJECT,
        severity: 'critical' as const,
        title: `${probe} down`,
        summary: 's',
        since: fired,
        correlationId: 'c',
      };
      await incidents.apply({ ...base, kind: 'FIRING', at: fired });
      if (k > 0)
        await incidents.apply({
          ...base,
          kind: 'RESOLVED',
          at: new Date(Date.parse(fired) + 300_000).toISOString(),
        });
    }
  }
  console.log(
    `probes: ${PROBES} × ${DAYS} days, one sample every ${SAMPLE_EVERY_MS / 60_000} min (${(PROBES * DAYS * DAY) / SAMPLE_EVERY_MS} samples), and ${PROBES * 20} incidents in ${seconds(performance.now() - t)}`,
  );
  await writeFile(filled, '');
  return stores;
};

const event = (path: string, query: Record<string, string> = {}): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { authorization: `Bearer ${TOKEN}` },
    queryStringParameters: query,
    isBase64Encoded: false,
    requestContext: { http: { method: 'GET', path } },
  }) as unknown as APIGatewayProxyEventV2;

const main = async () => {
  const stores = await benchStores();
  try {
    const handler = benchApi(stores);
    const routes: [string, Record<string, string>?][] = [
      ['/v1/projects'],
      ['/v1/projects/shop/runs/run-996'],
      ['/v1/projects/shop/runs/run-996/report'],
      ['/v1/probes'],
      ['/v1/probes/shop/probe-0'],
      ['/v1/incidents', { days: '90' }],
      ['/v1/status'],
      ['/v1/projects/shop/tests', { status: 'flaky' }],
      ['/v1/projects/shop/runs', { limit: '100' }],
      ['/v1/projects/shop/benchmarks', { branch: 'main', limit: '100', max: '12' }],
      ['/v1/projects/shop/runs', { kind: 'load', branch: 'main', limit: '200' }],
      ['/v1/projects/shop/benchmarks/bench-100', { branch: 'main', limit: '100' }],
    ];
    console.log(`\nroute timings (${REPEATS} calls each; target ≤ 100 ms)`);
    console.log('route'.padEnd(52), 'median ms', '  max ms', '   bytes');
    let slowest = 0;
    for (const [path, query] of routes) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < REPEATS; i++) {
        const t = performance.now();
        const res = await handler(event(path, query));
        times.push(performance.now() - t);
        if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${res.body}`);
        bytes = Buffer.byteLength(res.body ?? '');
      }
      times.sort((a, b) => a - b);
      const max = times.at(-1) ?? 0;
      slowest = Math.max(slowest, times[Math.floor(REPEATS / 2)] ?? 0);
      const name = query ? `${path}?${new URLSearchParams(query)}` : path;
      console.log(
        name.padEnd(52),
        (times[Math.floor(REPEATS / 2)] ?? 0).toFixed(1).padStart(9),
        max.toFixed(1).padStart(8),
        String(bytes).padStart(8),
      );
    }
    console.log(
      `\nslowest route (median): ${slowest.toFixed(1)} ms ${slowest <= 100 ? '(≤ 100 ms: ok)' : '(over the 100 ms target)'}`,
    );
  } finally {
    await stores.done();
  }
};

// Run only as a script, not when the page bench imports `fill`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
