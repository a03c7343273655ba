import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';

/**
 * Ingest semantics over real HTTP in local mode: what a user typing curl commands meets
 * (multipart uploads, typos in query parameters, bytes that are not UTF-8) and the metric
 * query filtered by any dimension of a metric (project, suite, probe, benchmark).
 */

const TOKEN = 'ingest-semantics-token';
/** Reads need a token too. */
const READ = { headers: { authorization: `Bearer ${TOKEN}` } };
const JUNIT = readFileSync('test/fixtures/corpus/junit/datadog-java-gradle.xml');
const BENCH = readFileSync(
  'test/fixtures/corpus/benchmarks/github-action-benchmark-customSmallerIsBetter.json',
);

interface Point {
  value: number;
  dimensions: Record<string, string>;
}

let service: Server;
let pipeline: LocalPipeline;

beforeAll(async () => {
  service = createServer((_req, res) => res.writeHead(200).end('ok'));
  const port = await new Promise<number>((resolve) =>
    service.listen(0, '127.0.0.1', () => resolve((service.address() as AddressInfo).port)),
  );
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      projects: { shop: { metricSuites: ['api'] } },
      probes: [{ name: 'home', url: `http://127.0.0.1:${port}/`, intervalSeconds: 60 }],
    }),
    dataDir: await mkdtemp(join(tmpdir(), 'vigil-ingest-semantics-')),
    port: 0,
    tokens: [TOKEN],
  });
});

afterAll(async () => {
  await pipeline.close();
  await new Promise<void>((resolve) => service.close(() => resolve()));
});

const post = (query: string, body: Buffer | FormData, headers: Record<string, string> = {}) =>
  fetch(`${pipeline.url}/v1/results?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string; location?: unknown } }).error;

describe('POST /v1/results over HTTP', () => {
  it('answers a multipart upload (curl -F) with 415 and the flag to use', async () => {
    const form = new FormData();
    form.append('file', new Blob([JUNIT]), 'report.xml');
    const res = await post('project=shop', form);
    expect(res.status).toBe(415);
    expect((await errorOf(res)).message).toContain('curl --data-binary @report.xml');
  });

  it('refuses a misspelt parameter instead of dropping the branch', async () => {
    const res = await post('project=shop&brnach=main', JUNIT);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining(
        '"brnach"; this route accepts project, format, suite, branch',
      ),
      location: { path: 'query.brnach' },
    });
  });

  it('refuses a parameter value whose bytes are not UTF-8', async () => {
    const res = await post('project=shop&branch=%C3%28', JUNIT);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ location: { path: 'query.branch' } });
  });
});

describe('GET /v1/metrics filters by any dimension', () => {
  const points = async (query: string): Promise<Point[]> => {
    const res = await fetch(`${pipeline.url}/v1/metrics?${query}`, READ);
    expect(res.status).toBe(200);
    return ((await res.json()) as { datapoints: Point[] }).datapoints;
  };
  const own = (p: Point) => {
    const { service: _service, ...rest } = p.dimensions;
    return rest;
  };

  beforeAll(async () => {
    expect((await post('project=shop&suite=api', JUNIT)).status).toBe(202);
    expect((await post('project=shop&format=benchmark', BENCH)).status).toBe(202);
    await pipeline.bus.drain();
    // The probe's first run starts with the pipeline; wait for its metrics (bounded).
    for (let i = 0; i < 100 && (await points('name=ProbeLatency')).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
  });

  it('answers a project from its smallest dimension set, so a run counts once', async () => {
    const failed = await points('name=TestsFailed&project=shop&since=0');
    expect(failed.map(own)).toEqual([{ Project: 'shop' }]);
    const perSuite = await points('name=TestsFailed&project=shop&suite=api');
    expect(perSuite.map(own)).toEqual([{ Project: 'shop', Suite: 'api' }]);
    expect(perSuite[0]?.value).toBe(failed[0]?.value);
  });

  it('finds probe and benchmark metrics of a project, and filters by probe or benchmark', async () => {
    const latency = await points('name=ProbeLatency&project=shop');
    expect(latency.length).toBeGreaterThan(0);
    expect(latency.map(own)).toContainEqual({ Project: 'shop', Probe: 'home' });
    expect(await points('name=ProbeLatency&probe=home')).toHaveLength(latency.length);
    expect(await points('name=ProbeLatency&probe=other')).toEqual([]);

    const bench = await points('name=BenchmarkValue&project=shop');
    expect(bench).toHaveLength(2);
    const cpu = await points(
      `name=BenchmarkValue&benchmark=${encodeURIComponent('My Custom Smaller Is Better Benchmark - CPU Load')}`,
    );
    expect(cpu.map((p) => p.value)).toEqual([50]);
  });

  it('refuses unknown parameters and a bad since', async () => {
    const typo = await fetch(`${pipeline.url}/v1/metrics?name=TestsFailed&projet=shop`, READ);
    expect(typo.status).toBe(400);
    expect((await errorOf(typo)).message).toContain(
      'accepts name, since, project, suite, benchmark, probe',
    );
    const since = await fetch(`${pipeline.url}/v1/metrics?name=TestsFailed&since=yesterday`, READ);
    expect(since.status).toBe(400);
  });
});

describe('reports of one check arriving together', () => {
  // 120 posts and their deliveries: seconds on a quiet machine, more under a loaded one.
  it('reach the alert state one at a time: no conflict, no retried delivery', {
    timeout: 60_000,
  }, async () => {
    // Act: CI jobs of one suite finishing together (each a failed gate: an alert observation).
    // More bodies at once than the edge reads (32) get a 503 with Retry-After on a busy
    // machine: retried after it, as `vigil report` does.
    const postRetrying = async (query: string): Promise<Response> => {
      for (let attempt = 1; ; attempt++) {
        const res = await post(query, JUNIT);
        const wait = res.headers.get('retry-after');
        if (res.status !== 503 || wait === null || attempt === 10) return res;
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, Number(wait) * 1000));
      }
    };
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        postRetrying(`project=shop&suite=together&branch=main&runId=together-${i}`),
      ),
    );
    await pipeline.bus.drain();
    // Assess
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    expect(pipeline.bus.deliveryFailures.get('alerts') ?? 0).toBe(0);
  });
});
