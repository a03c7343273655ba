import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalStore } from '../../functions/adapters/local/store';
import { parseConfig } from '../../functions/core/config';
import { METRICS } from '../../functions/core/metrics/catalog';
import {
  CATALOG_FAMILIES,
  MAX_SERIES_PER_FAMILY,
  promName,
} from '../../functions/core/metrics/prometheus';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { requireTools, TOOLS } from '../helpers/requires';

/**
 * `GET /metrics` of local mode checked by the real tools: `promtool check metrics` lints the
 * text exposition, and a real Prometheus scrapes Vigil (OpenMetrics, its preferred format) once
 * a probe ran and a JUnit report with a failure was ingested, then answers PromQL over its API.
 */

const ok = requireTools('Prometheus exposition', [TOOLS.promtool, TOOLS.prometheus]);

const TOKEN = 'prometheus-ingest-token';
const SCRAPE_TOKEN = 'prometheus-scrape-token';
const FAILING_JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="checkout" tests="3" failures="1">
  <testcase classname="CartTest" name="adds an item" time="0.01"/>
  <testcase classname="CartTest" name="removes an item" time="0.01"/>
  <testcase classname="CartTest" name="pays" time="0.02">
    <failure message="expected 200, got 500">AssertionError</failure>
  </testcase>
</testsuite>`;

const listen = (server: Server, port = 0): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
const close = (server: Server): Promise<void> =>
  new Promise((resolve) => server.close(() => resolve()));

/** A port free right now (Prometheus cannot report the one it picked for `:0`). */
const freePort = async (): Promise<number> => {
  const probe = createServer();
  const port = await listen(probe);
  await close(probe);
  return port;
};

const until = async <T>(what: string, get: () => Promise<T | undefined>): Promise<T> => {
  for (let i = 0; i < 150; i++) {
    const value = await get().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

let service: Server;
let pipeline: LocalPipeline;
let dir: string;
let prometheus: ChildProcess;
let promPort: number;
let promLog = '';

/**
 * Prometheus on loopback, scraping every second with the scrape token. Started before Vigil
 * and the other tests: it waits about 5 s before its first scrape (the pace of its discovery
 * manager; no flag of Prometheus 2.42 shortens it).
 */
const startPrometheus = async (target: string): Promise<void> => {
  promPort = await freePort();
  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, scrape_timeout: 1s }',
      'scrape_configs:',
      '  - job_name: vigil',
      `    authorization: { credentials: ${SCRAPE_TOKEN} }`,
      `    static_configs: [{ targets: ['${target}'] }]`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr?.on('data', (c: Buffer) => {
    promLog += c.toString();
  });
};

beforeAll(async () => {
  if (!ok) return;
  service = createServer((_req, res) => res.writeHead(200).end('ok'));
  const servicePort = await listen(service);
  dir = await mkdtemp(join(tmpdir(), 'vigil-prometheus-'));
  // Prometheus first (it takes seconds to scrape), on the port Vigil is about to take.
  const vigilPort = await freePort();
  await startPrometheus(`127.0.0.1:${vigilPort}`);
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      // One run (at the start) is what the scrape needs; not one a second until the end.
      probes: [
        { name: 'api', url: `http://127.0.0.1:${servicePort}/health`, intervalSeconds: 300 },
      ],
    }),
    dataDir: join(dir, 'data'),
    port: vigilPort,
    tokens: [TOKEN],
    readTokens: [],
    env: { VIGIL_METRICS_TOKEN: SCRAPE_TOKEN },
    webFiles: new Map(), // no dashboard here: skip its build
  });
  const res = await fetch(`${pipeline.url}/v1/results?project=shop&branch=main&format=junit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: FAILING_JUNIT,
  });
  expect(res.status).toBe(202);
  await pipeline.bus.drain();
});

afterAll(async () => {
  if (!ok) return;
  if (prometheus.exitCode === null) {
    prometheus.kill('SIGTERM');
    await new Promise((r) => prometheus.once('exit', r));
  }
  await pipeline.close();
  await close(service);
  await rm(dir, { recursive: true, force: true });
});

const scrape = (accept?: string, token = SCRAPE_TOKEN) =>
  fetch(`${pipeline.url}/metrics`, {
    headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) },
  });

describe.skipIf(!ok)('GET /metrics with promtool and Prometheus', () => {
  it('exposes every catalog metric in the text format, and promtool finds nothing to lint', async () => {
    // Act: once the bus has worked off what came after the report (the alert it raised
    // publishes its notification on its own timer), the backlog gauge reads 0.
    let res: Response | undefined;
    let text = '';
    await vi.waitFor(async () => {
      res = await scrape();
      text = await res.text();
      expect(text).toMatch(/\nvigil_event_backlog\{subscriber="metrics"\} 0\n/);
      // (A new counter is exposed at 0 first, its count from the next scrape on.)
      expect(text).toContain(`${promName(METRICS.testsFailed)}{project="shop"} 1\n`);
    }, 10_000);

    // Assess
    expect(res?.status).toBe(200);
    expect(res?.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    for (const f of CATALOG_FAMILIES)
      expect(text).toContain(`# TYPE ${promName({ name: f.source })} ${f.type}\n`);
    expect(text).toContain(`${promName(METRICS.testsFailed)}{project="shop"} 1\n`);
    expect(text).toContain(`${promName(METRICS.testsTotal)}{project="shop"} 3\n`);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it('answers OpenMetrics when asked, and refuses a scrape without a known token', async () => {
    const res = await scrape('application/openmetrics-text;version=1.0.0,text/plain;q=0.5');
    const text = await res.text();
    expect(res.headers.get('content-type')).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    expect(text).toContain('# TYPE vigil_tests_failed counter\n');
    expect(text).toContain('# UNIT vigil_suite_duration_seconds seconds\n');
    expect(text).toContain('\nvigil_tests_failed_total{project="shop"} 1\n');
    expect(text.endsWith('# EOF\n')).toBe(true);

    // The ingest token may read it too; an unknown one may not.
    expect((await scrape(undefined, TOKEN)).status).toBe(200);
    const refused = await scrape(undefined, 'not-a-token');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await fetch(`${pipeline.url}/metrics`)).status).toBe(401);
  });

  it('is scraped by a real Prometheus, which answers PromQL for the probe and the failures', async () => {
    const query = async (promql: string): Promise<number | undefined> => {
      const res = await fetch(
        `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      const first = body.data.result[0];
      return first ? Number(first.value[1]) : undefined;
    };
    try {
      // Act + Assess: the scrape went through (OpenMetrics parsed), then the two answers.
      expect(await until('a healthy scrape', () => query('up{job="vigil"} == 1'))).toBe(1);
      const availability = `${promName(METRICS.probeAvailability)}{project="shop",probe="api"}`;
      expect(await until('the probe', () => query(availability))).toBe(1);
      const failures = `sum(${promName(METRICS.testsFailed)}{project="shop",suite=""})`;
      expect(await until('the failures', () => query(failures))).toBe(1);
      const targets = await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`);
      const active = (
        (await targets.json()) as { data: { activeTargets: { lastError: string }[] } }
      ).data.activeTargets;
      expect(active.map((t) => t.lastError)).toEqual(['']);
    } catch (error) {
      throw new Error(`${String(error)}\nprometheus log:\n${promLog}`);
    }
  });
});

describe.skipIf(!ok)('GET /metrics after a restart with a full family', () => {
  it("exposes the configured project's restored gauge though made-up projects filled it", async () => {
    // Prepare: an earlier process stored more projects than a family keeps; shop's series
    // comes last from SQLite (dimensions in text order), where the cap used to drop it, and
    // is the oldest, which recency alone would evict.
    const data = await mkdtemp(join(tmpdir(), 'vigil-prometheus-full-'));
    const store = LocalStore.open(data);
    const at = Date.now();
    const emf = (project: string, value: number, timestamp = at) =>
      JSON.stringify({
        _aws: {
          Timestamp: timestamp,
          CloudWatchMetrics: [
            {
              Namespace: 'Vigil',
              Dimensions: [['Project']],
              Metrics: [{ Name: METRICS.testPassRate.name, Unit: 'Percent' }],
            },
          ],
        },
        Project: project,
        [METRICS.testPassRate.name]: value,
      });
    for (let i = 0; i < MAX_SERIES_PER_FAMILY; i++)
      store.metrics.ingestLine(emf(`made-up-${i}`, 50));
    store.metrics.ingestLine(emf('shop', 25, at - 1));
    await store.db.batch(() => undefined);
    store.close();
    const restarted = await startLocal({
      config: parseConfig({ project: 'shop' }),
      dataDir: data,
      port: 0,
      tokens: [TOKEN],
      readTokens: [],
      env: {},
      webFiles: new Map(),
    });

    // Act
    let text = '';
    try {
      const res = await fetch(`${restarted.url}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      text = await res.text();
    } finally {
      await restarted.close();
      await rm(data, { recursive: true, force: true });
    }

    // Assess: shop is exposed, one made-up series made room, and promtool reads it all.
    const passRate = promName(METRICS.testPassRate);
    expect(text).toContain(`\n${passRate}{project="shop"} 0.25\n`);
    expect(text.split('\n').filter((l) => l.startsWith(`${passRate}{`))).toHaveLength(
      MAX_SERIES_PER_FAMILY,
    );
    expect(text).toContain('\nvigil_prometheus_series_dropped_total 1\n');
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });
});
