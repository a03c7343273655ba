import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../functions/adapters/local/store';
import { backupDataDir } from '../../functions/adapters/local/store/backup';
import { parseConfig } from '../../functions/core/config';
import { SOURCES } from '../../functions/core/events';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { executeLoad, runLoadCli } from '../../load/cli';
import { ingestScenario, junitBodies, mixedBodies } from '../../load/scenarios/ingest';
import { urlScenario } from '../../load/scenarios/url';
import { verifyDataDir } from '../../load/verify';

/**
 * Real runs of the load tool against local mode in this process (startLocal, the same handlers
 * as `npm start`), checked against what Vigil stored in its data directory.
 */

const TOKEN = 'load-test-token-0123456789';
/** Reads need a token too. */
const READ = { headers: { authorization: `Bearer ${TOKEN}` } };
let pipeline: LocalPipeline;
let dataDir: string;
let work: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-load-data-'));
  work = await mkdtemp(join(tmpdir(), 'vigil-load-out-'));
  pipeline = await startLocal({
    config: parseConfig({ project: 'vigil', probes: [] }),
    dataDir,
    port: 0,
    tokens: [TOKEN],
    probes: false,
  });
});

afterAll(async () => {
  await pipeline.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      env: { VIGIL_TOKEN: TOKEN },
      stdout: (s: string) => out.push(s),
      stderr: (s: string) => err.push(s),
    },
  };
};

/** Ledger entries and ingest events of one project whose run id starts with `prefix`, counted independently of verify.ts. */
const stored = async (project: string, prefix: string) => {
  const ledger = (
    pipeline.store.db.q('SELECT key FROM ledger WHERE key LIKE ?').all(`${project}#${prefix}%`) as {
      key: string;
    }[]
  ).map((r) => r.key);
  const events = (
    pipeline.store.log.all() as unknown as {
      source: string;
      detail: { metadata: { project: string; runId: string } };
    }[]
  )
    .filter(
      (e) =>
        e.source === SOURCES.ingest &&
        e.detail.metadata.project === project &&
        e.detail.metadata.runId.startsWith(prefix),
    )
    .map((e) => e.detail.metadata.runId);
  return { ledger, events };
};

/** LoadRequests datapoints of a project, once the bus has delivered the load event (≤ 10 s). */
const loadRequestsOf = async (project: string): Promise<number[]> => {
  for (let i = 0; ; i++) {
    const res = await fetch(
      `${pipeline.url}/v1/metrics?project=${project}&name=LoadRequests`,
      READ,
    );
    const { datapoints } = (await res.json()) as { datapoints: { value: number }[] };
    if (datapoints.length > 0 || i >= 100) return datapoints.map((d) => d.value);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('npm run load against local mode', () => {
  it('sends at the rate, stores every result exactly once, and posts the load result back', async () => {
    const { out, err, io } = capture();
    const summaryPath = join(work, 'summary.json');
    const code = await runLoadCli(
      [
        '--target',
        pipeline.url,
        '--rate',
        '30',
        '--duration',
        '0.5',
        '--project',
        'load-ok',
        // Counts are the point here, not this (busy, shared) machine's latency.
        '--p99',
        '60000',
        '--verify',
        dataDir,
        '--out',
        summaryPath,
        '--report-to',
        pipeline.url,
        '--report-project',
        'load-report',
      ],
      io,
    );
    const text = out.join('');
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    expect(text).toContain('15 finished');
    expect(text).toContain('15 ok, 0 failed');
    expect(text).toContain('0 lost, 0 duplicated, 0 unexpected, 0 dead-lettered');

    // Independently of --verify: 15 completed ledger entries and 15 events, all distinct.
    const prefix = /run ids {5}(load-[a-z0-9]+-[0-9a-f]+)-1/.exec(text)?.[1];
    expect(prefix).toBeDefined();
    const { ledger, events } = await stored('load-ok', `${prefix}-`);
    expect(ledger).toHaveLength(15);
    expect(events).toHaveLength(15);
    expect(new Set(events).size).toBe(15);

    // The summary file is Vigil-ingestible and Vigil took it as a passing load result.
    const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as {
      metrics: Record<
        string,
        { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }
      >;
    };
    expect(summary.metrics.http_reqs?.values.count).toBe(15);
    expect(summary.metrics.http_req_failed?.thresholds).toEqual({ 'rate<=0.01': { ok: true } });
    expect(summary.metrics.vigil_results_lost?.values.count).toBe(0);
    expect(text).toMatch(/k6 → load \[run [0-9a-f]+\]/);
    expect(text).toContain('load: 15 requests, 0 failed');
    expect(text).toContain('gate: pass');
    // The metrics handler turned the posted result into Vigil's load metrics.
    expect(await loadRequestsOf('load-report')).toEqual([15]);
  });

  it('exits 1 when a threshold is crossed, and the posted result fails the gate', async () => {
    const { out, io } = capture();
    const code = await runLoadCli(
      [
        '--target',
        `${pipeline.url}/v1/health`,
        '--scenario',
        'url',
        '--rate',
        '20',
        '--duration',
        '0.25',
        '--p99',
        '0.001',
        '--out',
        join(work, 'slow.json'),
        '--report-to',
        pipeline.url,
        '--report-token',
        TOKEN,
        '--report-project',
        'load-slow',
      ],
      io,
    );
    const text = out.join('');
    expect(code).toBe(1);
    expect(text).toContain('✖ http_req_duration p(99)<0.001');
    expect(text).toContain('✖ FAIL: a threshold was crossed');
    expect(text).toContain('gate: fail');
  });

  it('counts refused connections as failed requests without crashing', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const { out, io } = capture();
    const code = await runLoadCli(
      [
        '--target',
        `http://127.0.0.1:${port}`,
        '--rate',
        '40',
        '--duration',
        '0.25',
        '--out',
        join(work, 'refused.json'),
      ],
      io,
    );
    expect(code).toBe(1);
    expect(out.join('')).toContain('network ECONNREFUSED × 10');
    expect(out.join('')).toContain('latency ms  - (no answers)');
  });
});

describe('status counting against a server that pushes back', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    let n = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        n++;
        res.statusCode = n % 4 === 0 ? 503 : n % 4 === 1 ? 429 : 200;
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each(['paced', 'autocannon'] as const)(
    'reports 429 and 503 as errors (%s engine)',
    async (engine) => {
      const { out, io } = capture();
      const summaryPath = join(work, `pushback-${engine}.json`);
      const code = await runLoadCli(
        [
          '--target',
          url,
          '--scenario',
          'url',
          '--engine',
          engine,
          '--rate',
          engine === 'paced' ? '40' : '20',
          '--duration',
          // The paced engine sends exactly rate × duration; autocannon needs its second.
          engine === 'paced' ? '0.5' : '1',
          '--connections',
          '2',
          '--max-error-rate',
          '0.6',
          '--out',
          summaryPath,
        ],
        io,
      );
      const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as {
        vigil: { statuses: Record<string, number>; throttled: number };
        metrics: {
          http_reqs: { values: { count: number } };
          http_req_failed: { values: { rate: number } };
        };
      };
      const { statuses, throttled } = summary.vigil;
      const total = Object.values(statuses).reduce((a, b) => a + b, 0);
      expect(total).toBe(summary.metrics.http_reqs.values.count);
      expect(total).toBeGreaterThanOrEqual(15);
      expect(throttled).toBe((statuses['429'] ?? 0) + (statuses['503'] ?? 0));
      expect(summary.metrics.http_req_failed.values.rate).toBeCloseTo(throttled / total, 10);
      expect(throttled / total).toBeGreaterThan(0.4);
      expect(code).toBe(0); // about half failed, under the 0.6 allowed
      expect(out.join('')).toContain(`(${engine} engine`);
    },
  );
});

describe('the engines', () => {
  it('autocannon matches every answer to the run id it carried', async () => {
    // A stand-in ingest endpoint that accepts every other run: a mismatched pairing shows.
    const answered = new Map<string, number>();
    let n = 0;
    const stub = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const runId = new URL(req.url ?? '/', 'http://x').searchParams.get('runId') ?? '';
        res.statusCode = n++ % 2 === 0 ? 202 : 400;
        answered.set(runId, res.statusCode);
        res.end('{}');
      });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', () => r()));
    const target = new URL(`http://127.0.0.1:${(stub.address() as AddressInfo).port}`);
    try {
      const scenario = ingestScenario({
        target,
        token: 't',
        project: 'p',
        bodies: junitBodies(),
        runPrefix: 'ac',
        gzipShare: 0.5,
      });
      const { recorder } = await executeLoad({
        target,
        scenario,
        engine: 'autocannon',
        rate: 20,
        durationS: 1,
        connections: 2,
        timeoutMs: 5000,
      });
      expect(recorder.accepted.length).toBeGreaterThanOrEqual(5);
      expect(recorder.accepted).toHaveLength(recorder.statuses.get(202) ?? -1);
      for (const runId of recorder.accepted) expect(answered.get(runId)).toBe(202);
    } finally {
      await new Promise<void>((r) => stub.close(() => r()));
    }
  });

  it('the url scenario GETs the health endpoint', async () => {
    const { recorder } = await executeLoad({
      target: new URL(`${pipeline.url}/v1/health`),
      scenario: urlScenario(new URL(`${pipeline.url}/v1/health`)),
      engine: 'paced',
      rate: 40,
      durationS: 0.25,
      connections: 4,
      timeoutMs: 5000,
    });
    expect(Object.fromEntries(recorder.statuses)).toEqual({ 200: 10 });
  });
});

describe('verify', () => {
  it('finds lost, duplicated and unexpected results', async () => {
    const project = 'load-verify';
    const scenario = ingestScenario({
      target: new URL(pipeline.url),
      token: TOKEN,
      project,
      bodies: mixedBodies().filter((b) => b.name === 'junit-playwright'),
      runPrefix: 'vfy',
      gzipShare: 0,
    });
    const { recorder } = await executeLoad({
      target: new URL(pipeline.url),
      scenario,
      engine: 'paced',
      rate: 40,
      durationS: 0.25,
      connections: 8,
      timeoutMs: 5000,
    });
    expect(recorder.accepted).toHaveLength(10);
    // A copy of what Vigil stored (taken while it runs), corrupted below one problem at a
    // time; its dead letters are dropped (the running handlers may still add some).
    const copy = join(await mkdtemp(join(tmpdir(), 'vigil-load-verify-')), 'copy');
    await backupDataDir(dataDir, copy);
    const check = () =>
      verifyDataDir({ dataDir: copy, project, runPrefix: 'vfy', accepted: recorder.accepted });
    const db = LocalStore.open(copy, { lock: false });
    try {
      db.db.q('DELETE FROM dead_letters').run();
      expect(await check()).toMatchObject({
        accepted: 10,
        lost: 0,
        duplicated: 0,
        unexpected: 0,
        deadLettered: 0,
        ledgerDone: 10,
        archived: 10,
        normalized: 10,
        events: 10,
      });

      // Lose one normalized result (raw payloads are shared: every run posted the same bytes,
      // stored once), record one event twice, complete a run nobody was told about, and
      // dead-letter one event.
      const [first, second, third] = recorder.accepted;
      const eventOf = (runId: string | undefined) =>
        db.log
          .all()
          .find((e) => (e.detail as { metadata?: { runId?: string } }).metadata?.runId === runId);
      const lost = eventOf(first)?.detail as {
        metadata: { normalized: { sha256: string; uri: string } };
      };
      const { sha256, uri } = lost.metadata.normalized;
      await rm(join(copy, 'archive', 'objects', sha256.slice(0, 2), basename(fileURLToPath(uri))));
      db.db.q('INSERT INTO events (body) VALUES (?)').run(JSON.stringify(eventOf(second)));
      db.db
        .q('INSERT INTO ledger (key, fingerprint, done_at, response) VALUES (?, ?, 0, ?)')
        .run(`${project}#vfy-999`, 'x', '{}');
      db.log.deadLetter('history', null, 'boom', eventOf(third));
      const report = await check();
      expect(report).toMatchObject({ lost: 1, duplicated: 1, unexpected: 1, deadLettered: 1 });
      expect(report.examples).toEqual({
        lost: [first],
        duplicated: [second],
        unexpected: ['vfy-999'],
        deadLettered: [third],
      });
      // The run stored without a 2xx is late, not unexpected, when its client got no answer.
      expect(report.late).toBe(0);
      const late = await verifyDataDir({
        dataDir: copy,
        project,
        runPrefix: 'vfy',
        accepted: recorder.accepted,
        unanswered: ['vfy-999', 'vfy-998'],
      });
      expect(late).toMatchObject({ unexpected: 1, late: 1 });
    } finally {
      db.close();
      await rm(copy, { recursive: true, force: true });
    }
  });
});
