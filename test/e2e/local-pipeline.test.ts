import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { logger } from '../../functions/shared/powertools';
import { saveEnv } from '../helpers/env';
import { generateJunit } from '../helpers/generate-junit';

/** The local pipeline over real HTTP: server -> ingest handler -> bus -> metrics handler -> metric store. */

const TOKEN = 'e2e-token';
/** Reads need a token too. */
const READ = { headers: { authorization: `Bearer ${TOKEN}` } };
const READ_ONLY = 'e2e-read-only-token';
let pipeline: LocalPipeline;
let dataDir: string;
let restoreEnv: () => void;

beforeAll(async () => {
  // startLocal turns on Powertools' multi-concurrency for the process: not for the next file.
  restoreEnv = saveEnv();
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-e2e-'));
  pipeline = await startLocal({
    config: parseConfig({ project: 'shop', ingest: { maxBodyBytes: 4 * 1024 * 1024 } }),
    dataDir,
    port: 0,
    tokens: [TOKEN],
    readTokens: [READ_ONLY],
  });
});

afterAll(async () => {
  await pipeline.close();
  restoreEnv();
});

const post = async (
  body: Buffer | string,
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
) => {
  const res = await fetch(
    `${pipeline.url}/v1/results?${new URLSearchParams({ project: 'shop', ...query })}`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-encoding': 'gzip', ...headers },
      body: headers['content-encoding'] === 'identity' ? body : gzipSync(body),
    },
  );
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as Record<string, unknown>,
  };
};

// Ingest events only: alerts for failed gates on main add their own events.
const eventsOnBus = async (): Promise<number> =>
  pipeline.store.log.all().filter((e) => e.source === 'vigil.ingest').length;

const corpus = async (dir: string) =>
  (await readdir(`test/fixtures/corpus/${dir}`)).map((f) => `test/fixtures/corpus/${dir}/${f}`);

describe('local pipeline (e2e over HTTP)', () => {
  it('serves the health check', async () => {
    const res = await fetch(`${pipeline.url}/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      stage: 'local',
      checks: { config: 'ok', store: 'ok' },
    });
  });

  it('ingests every real report in the corpus and says what it understood', async () => {
    const files = [
      ...(await corpus('junit')),
      ...(await corpus('jest')),
      ...(await corpus('istanbul')),
      ...(await corpus('lcov')),
      ...(await corpus('cobertura')),
      ...(await corpus('k6')),
      ...(await corpus('artillery')),
      ...(await corpus('benchmarks')),
    ];
    const before = await eventsOnBus();
    const results = await Promise.all(
      files.map(async (f) => ({ f, res: await post(await readFile(f), { branch: 'main' }) })),
    );
    for (const { f, res } of results) {
      expect(res.status, `${f}: ${JSON.stringify(res.json)}`).toBe(202);
      expect(res.json.gate, f).toHaveProperty('status');
    }
    expect(await eventsOnBus()).toBe(before + files.length);
    await pipeline.bus.drain();
    const names = (await (await fetch(`${pipeline.url}/v1/metrics`, READ)).json()) as {
      names: string[];
    };
    expect(names.names).toEqual(expect.arrayContaining(['CoverageLines', 'TestsTotal']));
  });

  it('turns a failing run into metrics readable at /v1/metrics', async () => {
    // Prepare
    const report = generateJunit({ cases: 200, failRate: 0.05, seed: 11 });
    // Act
    const res = await post(report, { project: 'metrics-demo' });
    await pipeline.bus.drain();
    const metrics = await fetch(
      `${pipeline.url}/v1/metrics?project=metrics-demo&name=TestsFailed`,
      READ,
    );
    // Assess
    const failed = (res.json.summary as { failed: number }).failed;
    expect(failed).toBeGreaterThan(0);
    const body = (await metrics.json()) as { datapoints: { value: number; unit: string }[] };
    expect(body.datapoints).toEqual([expect.objectContaining({ value: failed, unit: 'Count' })]);
    const names = (await (await fetch(`${pipeline.url}/v1/metrics`, READ)).json()) as {
      names: string[];
    };
    expect(names.names).toEqual(
      expect.arrayContaining(['TestsFailed', 'TestPassRate', 'SuiteDuration']),
    );
  });

  it('serves /v1/metrics, /v1/alerts and /metrics only with a token: 401 (with the correlation id) without, 200 with a read-only one', async () => {
    for (const path of ['/v1/metrics', '/v1/alerts?history=1', '/metrics']) {
      const anonymous = await fetch(`${pipeline.url}${path}`, {
        headers: { 'x-correlation-id': 'anonymous-read-1' },
      });
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get('x-correlation-id'), path).toBe('anonymous-read-1');
      expect(await anonymous.json(), path).toMatchObject({ error: { code: 'unauthorized' } });
      const wrong = await fetch(`${pipeline.url}${path}`, {
        headers: { authorization: 'Bearer not-a-token' },
      });
      expect(wrong.status, path).toBe(401);
      const reader = await fetch(`${pipeline.url}${path}`, {
        headers: { authorization: `Bearer ${READ_ONLY}` },
      });
      expect(reader.status, path).toBe(200);
      expect(reader.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  it('lists as many notifications at /v1/alerts as asked, and refuses another parameter', async () => {
    const answer = async (query: string) => {
      const res = await fetch(`${pipeline.url}/v1/alerts${query}`, READ);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await answer('?history=0')).toMatchObject({
      status: 200,
      body: { history: [], active: expect.any(Array), deliveries: expect.any(Array) },
    });
    for (const [query, path] of [
      ['?history=201', 'query.history'],
      ['?history=-1', 'query.history'],
      ['?histroy=5', 'query.histroy'],
      ['?history=2&history=3', 'query.history'],
    ] as const)
      expect(await answer(query), query).toMatchObject({
        status: 400,
        body: { error: { code: 'bad_request', location: { path } } },
      });
  });

  it('shows the pipeline metric ReportsIngested at /v1/metrics', async () => {
    // Act
    await post(generateJunit({ cases: 5, seed: 77 }), { project: 'pipeline-metrics' });
    const res = await fetch(`${pipeline.url}/v1/metrics?name=ReportsIngested`, READ);
    // Assess
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      datapoints: { value: number; dimensions: Record<string, string> }[];
    };
    expect(body.datapoints).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          value: 1,
          dimensions: expect.objectContaining({ Format: 'junit', Outcome: 'accepted' }),
        }),
      ]),
    );
    for (const p of body.datapoints) expect(p.dimensions).not.toHaveProperty('Project');
  });

  it('deduplicates by runId and rejects a reused runId with other content', async () => {
    const a = generateJunit({ cases: 10, seed: 1 });
    const b = generateJunit({ cases: 10, seed: 2 });
    expect((await post(a, { runId: 'gh-1-1' })).status).toBe(202);
    const before = await eventsOnBus();
    const dup = await post(a, { runId: 'gh-1-1' });
    expect(dup.status).toBe(200);
    expect(dup.json.duplicate).toBe(true);
    expect((await post(b, { runId: 'gh-1-1' })).status).toBe(409);
    expect(await eventsOnBus()).toBe(before);
  });

  it('handles concurrent uploads without losing or duplicating any', async () => {
    const before = await eventsOnBus();
    const reports = Array.from({ length: 25 }, (_, i) =>
      generateJunit({ cases: 50, seed: 100 + i }),
    );
    const responses = await Promise.all([...reports, ...reports].map((r) => post(r)));
    const statuses = responses.map((r) => r.status).sort();
    // Each report once accepted, and its twin either a duplicate or told to retry while in progress.
    expect(statuses.filter((s) => s === 202)).toHaveLength(25);
    expect(statuses.every((s) => s === 202 || s === 200 || s === 409)).toBe(true);
    expect(await eventsOnBus()).toBe(before + 25);
  });

  it('rejects hostile and broken input safely, with nothing on the bus', async () => {
    const before = await eventsOnBus();
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><testsuite>&lol2;</testsuite>`;
    const cases: [string, Buffer | string, number, Record<string, string>?][] = [
      ['entity expansion', laughs, 400],
      [
        'external entity',
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><testsuite>&e;</testsuite>',
        400,
      ],
      ['deep XML', `${'<testsuite>'.repeat(50_000)}${'</testsuite>'.repeat(50_000)}`, 400],
      ['deep JSON', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 415],
      [
        'proto JSON',
        '{"__proto__": {"polluted": true}, "testResults": [{"assertionResults": 5}], "numTotalTests": 1}',
        400,
      ],
      [
        'truncated',
        (
          await readFile('test/fixtures/corpus/junit-invalid/enricomi-pytest-corrupt.xml')
        ).toString(),
        400,
      ],
      ['invalid UTF-8', Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x3e]), 400],
      ['HTML', '<html><body><h1>502 Bad Gateway</h1></body></html>', 415],
      ['empty', '', 400],
    ];
    for (const [name, body, status] of cases) {
      const res = await post(body);
      expect(res.status, name).toBe(status);
      expect((res.json.error as { message: string }).message.length, name).toBeGreaterThan(10);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await eventsOnBus()).toBe(before);
  });

  it('answers 413 for an oversized body on the wire and 401 without a token', async () => {
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const res = await post(huge, {}, { 'content-encoding': 'identity' });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error: { code: 'payload_too_large' } });
    const bomb = await post(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.status).toBe(413);
    const anon = await fetch(`${pipeline.url}/v1/results?project=shop`, {
      method: 'POST',
      body: 'x',
    });
    expect(anon.status).toBe(401);
  });

  it("keeps each concurrent request's correlation id in its own log lines", async () => {
    // Prepare: capture the JSON log lines the handlers print.
    const lines: string[] = [];
    const write = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        lines.push(chunk.toString());
        return true;
      });
    logger.setLogLevel('INFO');
    try {
      // Act
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          post(
            generateJunit({ cases: 20, seed: 500 + i }),
            {},
            { 'x-correlation-id': `corr-concurrent-${i}` },
          ),
        ),
      );
      await pipeline.bus.drain();
      // Assess: every "report ingested" line names the correlation id of its own request.
      const logged = lines
        .flatMap((l) => l.split('\n'))
        .filter((l) => l.includes('"report ingested"'))
        .map((l) => JSON.parse(l) as { runId: string; correlation_id?: string });
      expect(logged).toHaveLength(12);
      for (const res of results) {
        const line = logged.find((l) => l.runId === res.json.runId);
        expect(line?.correlation_id).toBe(res.headers.get('x-correlation-id'));
      }
    } finally {
      logger.setLogLevel('SILENT');
      write.mockRestore();
    }
  });
});
