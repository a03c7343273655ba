import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Git } from '../../cli/git';
import { detectReport, deterministicRunId, runReport } from '../../cli/report';
import { startFakeForge } from '../helpers/fake-forge';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'corpus');
const JUNIT = join(CORPUS, 'junit', 'datadog-java-gradle.xml');
const ISTANBUL = join(CORPUS, 'istanbul', 'tsinjex-coverage-summary.json');
const LCOV = join(CORPUS, 'lcov', 'dorny-lcov.info');
const K6 = join(CORPUS, 'k6', 'k6-summary-v1-example-basic.json');
const HYPERFINE = join(CORPUS, 'benchmarks', 'hyperfine-1brc.json');

const TOKEN = 'vgl_s3cr3t-token-0123456789';

// ---------------------------------------------------------------------------------------------
// A recording ingest server

interface Recorded {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** Gunzipped when the request said gzip. */
  body: string;
  rawBody: Buffer;
}

type Reply =
  | { status: number; json?: unknown; text?: string; headers?: Record<string, string> }
  | { hang: true };

type Script = (req: Recorded, index: number) => Reply;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

const listen = async (script: Script) => {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const body =
        req.headers['content-encoding'] === 'gzip'
          ? gunzipSync(rawBody).toString('utf8')
          : rawBody.toString('utf8');
      const rec: Recorded = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://ingest.test'),
        headers: req.headers,
        body,
        rawBody,
      };
      requests.push(rec);
      const reply = script(rec, requests.length - 1);
      if ('hang' in reply) return;
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.text ?? JSON.stringify(reply.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  closers.push(close);
  return { endpoint: `http://127.0.0.1:${address.port}`, requests, close };
};

/** A port nothing listens on: bound, then closed. */
const closedPort = async (): Promise<string> => {
  const { endpoint, close } = await listen(() => ({ status: 500 }));
  await close();
  return endpoint;
};

const passCheck = {
  id: 'tests.failed',
  status: 'pass',
  message: 'no failed tests',
  actual: 0,
  threshold: 0,
};

const testsAnswer = (req: Recorded, over: Record<string, unknown> = {}) => ({
  runId: req.url.searchParams.get('runId'),
  project: req.url.searchParams.get('project'),
  kind: 'tests',
  format: 'junit',
  summary: { total: 5, passed: 3, failed: 1, skipped: 1, flaky: 0, durationMs: 42 },
  gate: { status: 'pass', checks: [passCheck] },
  warnings: [],
  duplicate: false,
  ...over,
});

const accept: Script = (req) => ({ status: 202, json: testsAnswer(req) });

/** The least an answer of Vigil's holds: a run id and a gate; the rest may be missing. */
const bare = (over: Record<string, unknown> = {}) => ({
  runId: 'run-1',
  gate: { status: 'none', checks: [] },
  ...over,
});

// ---------------------------------------------------------------------------------------------
// Running the command

/** What git answers outside a checkout (test/e2e/ci-edge.test.ts runs the real one there). */
const notACheckout: Git = async () => ({
  ok: false,
  stdout: '',
  stderr: 'fatal: not a git repository (or any of the parent directories): .git\n',
});

const run = async (
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  extra: { fetch?: typeof fetch; uploadThresholdBytes?: number } = {},
) => {
  let stdout = '';
  let stderr = '';
  const sleeps: number[] = [];
  const code = await runReport(argv, {
    env: { VIGIL_TOKEN: TOKEN, ...env },
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    // Not a git checkout (as git answers in one): branch and commit come only from the
    // arguments and CI here.
    git: notACheckout,
    ...extra,
  });
  // Whatever happened, the token is never printed.
  expect(stdout).not.toContain(TOKEN);
  expect(stderr).not.toContain(TOKEN);
  return { code, stdout, stderr, sleeps };
};

const jsonLines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const at = <T>(list: T[], i: number): T => {
  const v = list[i];
  if (v === undefined) throw new Error(`no element ${i}`);
  return v;
};

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'vigil-report-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const GITHUB_ENV = {
  GITHUB_ACTIONS: 'true',
  GITHUB_REF_NAME: '17/merge',
  GITHUB_HEAD_REF: 'feature/cart',
  GITHUB_SHA: 'f00dcafe'.repeat(5),
  GITHUB_WORKFLOW: 'CI',
  GITHUB_JOB: 'test',
  GITHUB_RUN_ID: '991',
  GITHUB_RUN_ATTEMPT: '1',
};

// ---------------------------------------------------------------------------------------------

describe('vigil report: the request', () => {
  it('POSTs the gzipped report with auth, content type, correlation id and query', async () => {
    const srv = await listen(accept);
    const r = await run([
      JUNIT,
      '--endpoint',
      `${srv.endpoint}/prod/`,
      '--project',
      'shop',
      '--suite',
      'unit',
      '--branch',
      'main',
      '--commit',
      'abc123',
      '--ci',
      'jenkins/unit',
    ]);
    expect(r.code).toBe(0);
    expect(srv.requests).toHaveLength(1);
    const req = at(srv.requests, 0);
    expect(req.method).toBe('POST');
    expect(req.url.pathname).toBe('/prod/v1/results');
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.headers['content-type']).toBe('application/xml');
    expect(req.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(gunzipSync(req.rawBody).equals(await readFile(JUNIT))).toBe(true);
    expect(Object.fromEntries(req.url.searchParams)).toEqual({
      project: 'shop',
      format: 'junit',
      suite: 'unit',
      branch: 'main',
      commit: 'abc123',
      ci: 'jenkins/unit',
      runId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(r.stdout).toContain('datadog-java-gradle.xml: junit → tests');
    expect(r.stdout).toContain('tests: 5 total, 3 passed, 1 failed, 1 skipped, 0 flaky in 42 ms');
    expect(r.stdout).toContain('✔ tests.failed: no failed tests');
    expect(r.stdout).toMatch(/Vigil verdict: ✔ PASS \(1 report: 1 passed\)/);
    expect(r.stderr).toBe('');
  });

  it('reads endpoint, project and token from the environment', async () => {
    const srv = await listen(accept);
    const r = await run([ISTANBUL], { VIGIL_ENDPOINT: srv.endpoint, VIGIL_PROJECT: 'shop' });
    expect(r.code).toBe(0);
    const req = at(srv.requests, 0);
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.url.searchParams.get('project')).toBe('shop');
    expect(req.url.searchParams.get('format')).toBe('istanbul');
  });

  it('flags win over the environment', async () => {
    const srv = await listen(accept);
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'flag'], {
      VIGIL_ENDPOINT: 'http://127.0.0.1:1',
      VIGIL_PROJECT: 'env',
    });
    expect(r.code).toBe(0);
    expect(at(srv.requests, 0).url.searchParams.get('project')).toBe('flag');
  });

  it('applies CI metadata from a GitHub Actions environment, flags override it', async () => {
    const srv = await listen(accept);
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'shop'], GITHUB_ENV);
    expect(r.code).toBe(0);
    const q = at(srv.requests, 0).url.searchParams;
    expect(q.get('branch')).toBe('feature/cart');
    expect(q.get('commit')).toBe(GITHUB_ENV.GITHUB_SHA);
    expect(q.get('ci')).toBe('CI/test');
    expect(r.stdout).toContain('branch feature/cart');

    await run(
      [JUNIT, '--endpoint', srv.endpoint, '--project', 'shop', '--branch', 'x', '--ci', 'y'],
      GITHUB_ENV,
    );
    const q2 = at(srv.requests, 1).url.searchParams;
    expect(q2.get('branch')).toBe('x');
    expect(q2.get('ci')).toBe('y');
    expect(q2.get('commit')).toBe(GITHUB_ENV.GITHUB_SHA);
  });

  it('sends the PR target branch as base; --base wins; the run id ignores it', async () => {
    const srv = await listen(accept);
    const args = [HYPERFINE, '--endpoint', srv.endpoint, '--project', 'shop'];
    const pr = { ...GITHUB_ENV, GITHUB_BASE_REF: 'release/2.x' };

    const fromCi = await run(args, pr);
    const flagged = await run([...args, '--base', 'main'], pr);
    const push = await run(args, { ...GITHUB_ENV, GITHUB_HEAD_REF: '', GITHUB_BASE_REF: '' });

    expect([fromCi.code, flagged.code, push.code]).toEqual([0, 0, 0]);
    const [a, b, c] = [0, 1, 2].map((i) => at(srv.requests, i).url.searchParams) as [
      URLSearchParams,
      URLSearchParams,
      URLSearchParams,
    ];
    expect(Object.fromEntries(a)).toEqual({
      project: 'shop',
      format: 'benchmark',
      branch: 'feature/cart',
      base: 'release/2.x',
      commit: GITHUB_ENV.GITHUB_SHA,
      ci: 'CI/test',
      runId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(fromCi.stdout).toContain('(branch feature/cart, base release/2.x, commit f00dcafef00d');
    expect(b.get('base')).toBe('main');
    expect(flagged.stdout).toContain('base main');
    // A push build has no target branch: no base, so the server uses its default branch.
    expect(c.has('base')).toBe(false);
    expect(c.get('branch')).toBe('17/merge');
    expect(push.stdout).not.toContain('base ');
    // Same report, same CI run: the comparison branch does not change its identity.
    expect(b.get('runId')).toBe(a.get('runId'));
  });

  it('an empty --base falls back to the CI environment', async () => {
    const srv = await listen(accept);
    await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'shop', '--base', ' '], {
      GITLAB_CI: 'true',
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'develop',
    });
    expect(at(srv.requests, 0).url.searchParams.get('base')).toBe('develop');
  });

  it('sends LCOV as text/plain and --format wins over detection (with a warning)', async () => {
    const srv = await listen(accept);
    await run([LCOV, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(at(srv.requests, 0).headers['content-type']).toBe('text/plain');
    expect(at(srv.requests, 0).url.searchParams.get('format')).toBe('lcov');

    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--format', 'jest']);
    expect(at(srv.requests, 1).url.searchParams.get('format')).toBe('jest');
    expect(at(srv.requests, 1).headers['content-type']).toBe('application/json');
    expect(r.stderr).toContain('looks like junit, but --format jest was given');
  });

  it('sends an unrecognised report anyway, without format, and says so', async () => {
    const file = join(tmp, 'mystery.json');
    await writeFile(file, '{"hello": "world"}');
    const srv = await listen(() => ({
      status: 415,
      json: { error: { code: 'unsupported_format', message: 'cannot tell the format' } },
    }));
    const r = await run([file, '--endpoint', srv.endpoint, '--project', 'p']);
    const req = at(srv.requests, 0);
    expect(req.url.searchParams.has('format')).toBe(false);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toBe('{"hello": "world"}');
    expect(r.stderr).toContain('format not recognised here (unrecognised JSON shape)');
    expect(r.stderr).toContain('letting the server decide');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('hint: pass --format');
  });

  it('sends an already gzipped report as it is', async () => {
    const file = join(tmp, 'junit.xml.gz');
    const original = await readFile(JUNIT);
    await writeFile(file, gzipSync(original));
    const srv = await listen(accept);
    const r = await run([file, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(0);
    const req = at(srv.requests, 0);
    expect(req.url.searchParams.get('format')).toBe('junit');
    expect(gunzipSync(req.rawBody).equals(original)).toBe(true);
  });
});

describe('vigil report: run ids', () => {
  it('the same file in the same CI run gets the same id; new content or a re-run a new one', async () => {
    const srv = await listen(accept);
    const file = join(tmp, 'junit.xml');
    const args = [file, '--endpoint', srv.endpoint, '--project', 'shop'];
    const xml = await readFile(JUNIT, 'utf8');

    await writeFile(file, xml);
    await run(args, GITHUB_ENV);
    await run(args, GITHUB_ENV);
    await writeFile(file, xml.replace('time="0.042"', 'time="0.043"'));
    await run(args, GITHUB_ENV);
    await writeFile(file, xml);
    await run(args, { ...GITHUB_ENV, GITHUB_RUN_ATTEMPT: '2' });

    const ids = srv.requests.map((r) => r.url.searchParams.get('runId'));
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
    expect(ids[3]).not.toBe(ids[0]);
    expect(ids[3]).not.toBe(ids[2]);
    expect(ids[0]).toBe(
      deterministicRunId('shop', 'github:991:1:test', file, Buffer.from(xml, 'utf8'), {
        ...Object.fromEntries(
          ['suite', 'branch', 'commit', 'ci'].flatMap((k) => {
            const v = srv.requests[0]?.url.searchParams.get(k);
            return v ? [[k, v]] : [];
          }),
        ),
      }),
    );
  });

  it('--run-id is used as is for one file and suffixed with the index for several', async () => {
    const srv = await listen(accept);
    await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--run-id', 'build-7']);
    await run([
      JUNIT,
      ISTANBUL,
      '--endpoint',
      srv.endpoint,
      '--project',
      'p',
      '--run-id',
      'build-8',
    ]);
    expect(srv.requests.map((r) => r.url.searchParams.get('runId'))).toEqual([
      'build-7',
      'build-8-0',
      'build-8-1',
    ]);
  });

  it('depends on project and normalised path', () => {
    const content = Buffer.from('x');
    const id = deterministicRunId('p', undefined, 'reports/junit.xml', content);
    expect(deterministicRunId('p', undefined, './reports/junit.xml', content)).toBe(id);
    expect(deterministicRunId('q', undefined, 'reports/junit.xml', content)).not.toBe(id);
    expect(deterministicRunId('p', undefined, 'other/junit.xml', content)).not.toBe(id);
    // The same file for another commit or branch is another run.
    const onMain = deterministicRunId('p', undefined, 'reports/junit.xml', content, {
      branch: 'main',
      commit: 'aaa',
    });
    expect(
      deterministicRunId('p', undefined, 'reports/junit.xml', content, {
        branch: 'main',
        commit: 'bbb',
      }),
    ).not.toBe(onMain);
    expect(
      deterministicRunId('p', undefined, 'reports/junit.xml', content, {
        branch: 'dev',
        commit: 'aaa',
      }),
    ).not.toBe(onMain);
  });
});

describe('vigil report: verdicts', () => {
  it('exits 1 when a gate fails and shows each check', async () => {
    const srv = await listen((req) => ({
      status: 202,
      json: testsAnswer(req, {
        gate: {
          status: 'fail',
          checks: [
            {
              id: 'tests.failed',
              status: 'fail',
              message: '1 test failed',
              actual: 1,
              threshold: 0,
            },
            { id: 'tests.duration', status: 'pass', message: '', actual: 0.04, threshold: 120 },
            {
              id: 'coverage.lines',
              status: 'skip',
              message: 'no coverage',
              actual: null,
              threshold: 90,
            },
          ],
        },
        warnings: ['2 test cases had no name'],
      }),
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✖ ');
    expect(r.stdout).toContain('gate: fail');
    expect(r.stdout).toContain('✖ tests.failed: 1 test failed');
    expect(r.stdout).toContain('✔ tests.duration: actual 0.04, threshold 120');
    expect(r.stdout).toContain('– coverage.lines: no coverage');
    expect(r.stdout).toContain('⚠ 2 test cases had no name');
    expect(r.stdout).toContain('Vigil verdict: ✖ FAIL: gate failed (1 report: 1 gate failed)');
  });

  it('shows a duplicate as such', async () => {
    const srv = await listen((req) => ({
      status: 200,
      json: testsAnswer(req, { duplicate: true }),
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('duplicate: already recorded');
  });

  it('renders coverage, load and benchmark summaries', async () => {
    const answers: Record<string, unknown> = {
      istanbul: {
        kind: 'coverage',
        format: 'istanbul',
        summary: {
          lines: { pct: 97.52, covered: 118, total: 121 },
          branches: { pct: 91.02, covered: 71, total: 78 },
          functions: { pct: 97.29, covered: 36, total: 37 },
          statements: { pct: 96.87, covered: 124, total: 128 },
        },
        gate: { status: 'none', checks: [] },
      },
      k6: {
        kind: 'load',
        format: 'k6',
        summary: {
          requests: 1200,
          failedRequests: 3,
          errorRate: 0.0025,
          latencyMs: { p95: 120.456, p99: 300 },
          thresholds: [
            { name: 'http_req_duration: p(95)<500', passed: true },
            { name: 'http_req_failed: rate<0.001', passed: false },
          ],
        },
        gate: { status: 'pass', checks: [] },
      },
      benchmark: {
        kind: 'benchmark',
        format: 'benchmark',
        summary: {
          benchmarks: Array.from({ length: 7 }, (_, i) => ({
            name: `bench ${i}`,
            unit: 's',
            value: 11.61 + i,
            ...(i === 0 ? { stddev: 1.64, samples: 10 } : {}),
          })),
        },
        gate: { status: 'none', checks: [] },
      },
    };
    const srv = await listen((req) => ({
      status: 202,
      json: {
        runId: 'r',
        warnings: [],
        duplicate: false,
        ...(answers[req.url.searchParams.get('format') ?? ''] as object),
      },
    }));
    const r = await run([ISTANBUL, K6, HYPERFINE, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'coverage: lines 97.52% (118/121), branches 91.02% (71/78), functions 97.29% (36/37), statements 96.87% (124/128)',
    );
    expect(r.stdout).toContain('gate: none');
    expect(r.stdout).toContain(
      'load: 1200 requests, 3 failed, 0.25% errors, p95 120.46 ms, p99 300 ms, thresholds 1/2 passed',
    );
    expect(r.stdout).toContain('✖ threshold http_req_failed: rate<0.001');
    expect(r.stdout).toContain('benchmarks: 7');
    expect(r.stdout).toContain('bench 0: 11.61 s (± 1.64, n=10)');
    expect(r.stdout).toContain('… and 2 more');
    expect(r.stdout).toContain('Vigil verdict: ✔ PASS (3 reports: 1 passed, 2 without gate)');
  });
});

describe('vigil report: errors and retries', () => {
  it('retries a 503 and then succeeds, with the same correlation and run id', async () => {
    const srv = await listen((req, i) =>
      i === 0
        ? { status: 503, json: { error: { code: 'publish_failed', message: 'bus down' } } }
        : accept(req, i),
    );
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(0);
    expect(srv.requests).toHaveLength(2);
    const [a, b] = [at(srv.requests, 0), at(srv.requests, 1)];
    expect(b.headers['x-correlation-id']).toBe(a.headers['x-correlation-id']);
    expect(b.url.searchParams.get('runId')).toBe(a.url.searchParams.get('runId'));
    expect(r.sleeps).toEqual([375]); // 500 ms base, half of it jittered
    expect(r.stderr).toContain('attempt 1 of 4 failed (HTTP 503 publish_failed: bus down)');
  });

  it('honours Retry-After on 429', async () => {
    const srv = await listen((req, i) =>
      i === 0 ? { status: 429, json: {}, headers: { 'retry-after': '3' } } : accept(req, i),
    );
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(0);
    expect(r.sleeps).toEqual([3000]);
  });

  it('retries a 409 with Retry-After (the run still being ingested) and gets the duplicate', async () => {
    const busy: Reply = {
      status: 409,
      json: {
        error: {
          code: 'conflict',
          message: 'Run "x" is being ingested right now; retry in a few seconds.',
          location: { path: 'query.runId' },
        },
      },
      headers: { 'retry-after': '5' },
    };
    const srv = await listen((req, i) =>
      i < 2 ? busy : { status: 200, json: testsAnswer(req, { duplicate: true }) },
    );
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(0);
    expect(srv.requests).toHaveLength(3);
    expect(r.sleeps).toEqual([5000, 5000]);
    expect(r.stderr).toContain(
      'attempt 1 of 4 failed (HTTP 409 conflict: Run "x" is being ingested',
    );
    expect(new Set(srv.requests.map((q) => q.url.searchParams.get('runId'))).size).toBe(1);

    // Still busy once the retries are spent: not recorded yet, but not rejected either.
    const stuck = await listen(() => busy);
    const s = await run([JUNIT, '--endpoint', stuck.endpoint, '--project', 'p', '--retries', '1']);
    expect(s.code).toBe(4);
    expect(stuck.requests).toHaveLength(2);
    expect(s.stderr).toContain('still being ingested after 2 attempts');
  });

  it('does not retry a content 409 (no Retry-After): exit 3 at once', async () => {
    const srv = await listen(() => ({
      status: 409,
      json: {
        error: {
          code: 'conflict',
          message:
            'Run "x" was already reported with different content; a new run needs a new runId.',
        },
      },
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(3);
    expect(srv.requests).toHaveLength(1);
    expect(r.sleeps).toEqual([]);
    expect(r.stderr).toContain('rejected by the server: HTTP 409 conflict');
  });

  it('does not retry a 400 and prints the server message, location and correlation id', async () => {
    const srv = await listen(() => ({
      status: 400,
      json: {
        error: {
          code: 'invalid_report',
          message: 'unexpected end of document',
          location: { line: 12, column: 3 },
        },
      },
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(3);
    expect(srv.requests).toHaveLength(1);
    expect(r.sleeps).toEqual([]);
    const id = String(at(srv.requests, 0).headers['x-correlation-id']);
    expect(r.stderr).toContain(
      'rejected by the server: HTTP 400 invalid_report: unexpected end of document (at line 12, column 3)',
    );
    expect(r.stderr).toContain(`correlation id ${id}`);
    expect(r.stdout).toContain('Vigil verdict: ✖ ERROR: report rejected by the server');
  });

  it('a 401 gets a hint, and a token echoed by the server is redacted', async () => {
    const srv = await listen(() => ({
      status: 401,
      json: { error: { code: 'unauthorized', message: `bad token ${TOKEN}` } },
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('bad token ***');
    expect(r.stderr).toContain('hint: check that VIGIL_TOKEN');
  });

  it('a non-JSON rejection shows the start of the body', async () => {
    const srv = await listen(() => ({ status: 404, text: '<html>Not   Found</html>' }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('HTTP 404 <html>Not Found</html>');
  });

  it('a redirect is not followed', async () => {
    const srv = await listen(() => ({
      status: 302,
      text: '',
      headers: { location: 'https://elsewhere.test/v1/results' },
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(3);
    expect(srv.requests).toHaveLength(1);
    expect(r.stderr).toContain('redirected (HTTP 302 to https://elsewhere.test/v1/results)');
  });

  it('exits 4 when the endpoint is unreachable, after 4 attempts with growing backoff', async () => {
    const endpoint = await closedPort();
    const r = await run([JUNIT, '--endpoint', endpoint, '--project', 'p']);
    expect(r.code).toBe(4);
    expect(r.sleeps).toEqual([375, 750, 1500]);
    expect(r.stderr).toContain('endpoint unreachable after 4 attempts');
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toMatch(/correlation id [0-9a-f-]{36}/);
    expect(r.stdout).toContain('Vigil verdict: ✖ ERROR: Vigil endpoint unreachable');
  });

  it('with --allow-unreachable, warns loudly and exits 0', async () => {
    const endpoint = await closedPort();
    const r = await run([JUNIT, '--endpoint', endpoint, '--project', 'p', '--allow-unreachable']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('WARNING');
    expect(r.stderr).toContain('was NOT recorded by Vigil');
    expect(r.stderr).toContain('--allow-unreachable');
    expect(r.stdout).toContain('PASS (with undelivered reports)');
  });

  it('exits 4 on 5xx after the retries (--retries 1 → 2 attempts)', async () => {
    const srv = await listen(() => ({ status: 500, text: 'boom' }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--retries', '1']);
    expect(r.code).toBe(4);
    expect(srv.requests).toHaveLength(2);
    expect(r.stderr).toContain('endpoint unreachable after 2 attempts: HTTP 500 boom');
  });

  it('times out a server that does not answer', async () => {
    const srv = await listen(() => ({ hang: true }));
    const args = [JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--timeout-ms', '150'];
    const r = await run([...args, '--retries', '0']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('endpoint unreachable after 1 attempt: no answer within 150 ms');
  });

  it('a 2xx that is not a Vigil answer is treated as undelivered', async () => {
    const srv = await listen(() => ({ status: 200, text: '<html>captive portal</html>' }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('unexpected answer to HTTP 200');
    const allowed = await run([
      JUNIT,
      '--endpoint',
      srv.endpoint,
      '--project',
      'p',
      '--allow-unreachable',
    ]);
    expect(allowed.code).toBe(0);
  });

  it.each([
    '{}',
    '{"message":"Endpoint request timed out"}',
    '{"gate":{"status":"pass","checks":[]}}',
    '{"runId":"r1","gate":{"status":"ok","checks":[]}}',
    '{"runId":"r1","gate":{"status":"pass"}}',
  ])('a 2xx JSON answer without what Vigil answers is undelivered: %s', async (text) => {
    const srv = await listen(() => ({ status: 200, text }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`unexpected answer to HTTP 200: ${text}`);
    expect(r.stdout).not.toContain('duplicate');
    expect(r.stdout).toContain('Vigil verdict: ✖ ERROR: Vigil endpoint unreachable');
  });

  it('after a report ran out of retries, the next get one attempt until one gets through', async () => {
    // Down for the first report's 3 attempts and the second's one; the third gets through,
    // so the fourth has its retries again (a 503, then accepted).
    const srv = await listen((req, i) =>
      i < 4 || i === 5 ? { status: 503, text: 'down' } : accept(req, i),
    );
    const r = await run([
      ...[JUNIT, ISTANBUL, LCOV, K6],
      ...['--endpoint', srv.endpoint, '--project', 'p', '--retries', '2', '--allow-unreachable'],
    ]);
    expect(r.code).toBe(0);
    expect(srv.requests.map((q) => q.url.searchParams.get('format'))).toEqual([
      'junit',
      'junit',
      'junit',
      'istanbul',
      'lcov',
      'k6',
      'k6',
    ]);
    expect(r.sleeps).toHaveLength(3);
    expect(r.stderr).toContain(
      `${ISTANBUL}: one attempt only: the previous request found the endpoint unreachable`,
    );
    expect(r.stderr).toContain('endpoint unreachable after 1 attempt: HTTP 503 down');
    expect(r.stdout).toContain('(4 reports: 2 passed, 2 not delivered (allowed))');
  });

  it.each([
    'null',
    '{}',
    '{"uploadId":"u1","url":"http://s3.test/put"}',
    '{"uploadId":"u1","url":"http://s3.test/put","headers":{"x-amz-acl":1}}',
    '{"uploadId":7,"url":"http://s3.test/put","headers":{}}',
  ])('a staged upload answered with no ticket (%s) is undelivered', async (ticket) => {
    const srv = await listen(() => ({ status: 201, text: ticket }));
    const summary = join(tmp, 'no-ticket.md');
    await writeFile(summary, '');
    const args = [JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--retries', '0'];
    const env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
    const extra = { uploadThresholdBytes: 1 };

    const failed = await run(args, env, extra);
    const allowed = await run([...args, '--allow-unreachable'], env, extra);

    expect(failed.code).toBe(4);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain(`POST /v1/uploads answered no upload ticket: ${ticket}`);
    expect(srv.requests.map((q) => `${q.method} ${q.url.pathname}`)).toEqual([
      'POST /v1/uploads',
      'POST /v1/uploads',
    ]);
    // The job summary still says what happened.
    expect(await readFile(summary, 'utf8')).toContain('not delivered: Vigil was unreachable');
  });

  it('processes every file and exits with the most severe code', async () => {
    const srv = await listen((req) =>
      req.url.searchParams.get('format') === 'istanbul'
        ? { status: 413, json: { error: { code: 'payload_too_large', message: 'too big' } } }
        : {
            status: 202,
            json: testsAnswer(req, { gate: { status: 'fail', checks: [] } }),
          },
    );
    const missing = join(tmp, 'does-not-exist.xml');
    const r = await run([JUNIT, ISTANBUL, missing, '--endpoint', srv.endpoint, '--project', 'p']);
    expect(srv.requests).toHaveLength(2);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no such file: ${missing} (ENOENT)`);
    expect(r.stderr).toContain('too big');
    expect(r.stdout).toContain('(3 reports: 1 gate failed, 1 rejected, 1 unreadable)');
  });

  it('an unreadable file alone is a usage error', async () => {
    const srv = await listen(accept);
    const r = await run([join(tmp, 'nope.xml'), '--endpoint', srv.endpoint, '--project', 'p']);
    expect(r.code).toBe(2);
    expect(srv.requests).toHaveLength(0);
  });
});

describe('vigil report: an ::error annotation when there is no verdict (GitHub Actions)', () => {
  const errorLines = (s: string) => s.split('\n').filter((l) => l.startsWith('::error'));

  it('says that a pattern matched no file (exit 2), and only on GitHub Actions', async () => {
    const srv = await listen(accept);
    const pattern = join(tmp, 'nomatch', '*.xml');
    const args = [pattern, '--endpoint', srv.endpoint, '--project', 'p'];

    const onGitHub = await run(args, { GITHUB_ACTIONS: 'true' });
    const elsewhere = await run(args);

    expect(onGitHub.code).toBe(2);
    expect(onGitHub.stderr).toContain(`✖ no file matches the pattern ${pattern}`);
    expect(onGitHub.stderr).not.toContain('ENOENT');
    expect(errorLines(onGitHub.stdout)).toEqual([
      `::error title=Vigil::no file matches the pattern ${pattern}`,
    ]);
    expect(elsewhere.code).toBe(2);
    expect(errorLines(elsewhere.stdout)).toEqual([]);
    expect(srv.requests).toHaveLength(0);
  });

  it('says the token was refused (exit 3), escaped as a workflow command', async () => {
    const srv = await listen(() => ({
      status: 401,
      json: { error: { code: 'unauthorized', message: '100% wrong\r\n::stop-commands::x' } },
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p'], {
      GITHUB_ACTIONS: 'true',
    });
    expect(r.code).toBe(3);
    const lines = errorLines(r.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^::error title=Vigil::.*datadog-java-gradle\.xml: rejected by the server/,
    );
    // `%` is escaped, and no line break survives to start a command of its own.
    expect(lines[0]).toContain('100%25 wrong');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::stop-commands'))).toEqual([]);
  });

  it('says Vigil was unreachable (exit 4), but not when that is allowed; --json uses stderr', async () => {
    const endpoint = await closedPort();
    const args = [JUNIT, ISTANBUL, '--endpoint', endpoint, '--project', 'p', '--retries', '0'];
    const env = { GITHUB_ACTIONS: 'true' };

    const failed = await run(args, env);
    const json = await run([...args, '--json'], env);
    const allowed = await run([...args, '--allow-unreachable'], env);

    expect(failed.code).toBe(4);
    const lines = errorLines(failed.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^::error title=Vigil::2 reports got no verdict: .*datadog-java-gradle\.xml: endpoint unreachable after 1 attempt.*; .*coverage-summary\.json: endpoint unreachable/,
    );
    expect(json.code).toBe(4);
    expect(errorLines(json.stdout)).toEqual([]);
    expect(errorLines(json.stderr)).toHaveLength(1);
    expect(allowed.code).toBe(0);
    expect(errorLines(allowed.stdout)).toEqual([]);
  });

  it('says what is wrong with the arguments (exit 2)', async () => {
    const r = await run([JUNIT, '--project', 'p'], { GITHUB_ACTIONS: 'true' });
    expect(r.code).toBe(2);
    expect(errorLines(r.stdout)).toEqual([
      expect.stringMatching(/^::error title=Vigil::vigil report: .*endpoint/),
    ]);
  });
});

describe('vigil report: usage', () => {
  it.each([
    [['--endpoint', 'http://127.0.0.1:1', '--project', 'p'], {}, 'no report files given'],
    [[JUNIT, '--project', 'p'], {}, 'no endpoint'],
    [[JUNIT, '--endpoint', 'http://127.0.0.1:1'], {}, 'no project'],
    [[JUNIT, '--endpoint', 'ftp://x', '--project', 'p'], {}, 'http(s) URL'],
    [[JUNIT, '--endpoint', 'not a url', '--project', 'p'], {}, 'is not a URL'],
    [[JUNIT, '--endpoint', 'http://u:pw@h', '--project', 'p'], {}, 'must not contain credentials'],
    [[JUNIT, '--endpoint', 'http://h/?a=1', '--project', 'p'], {}, 'query or fragment'],
    [
      [JUNIT, '--endpoint', 'http://h', '--project', 'p', '--format', 'xunit'],
      {},
      'unknown --format',
    ],
    [[JUNIT, '--endpoint', 'http://h', '--project', 'p', '--retries', 'x'], {}, 'whole number'],
    [[JUNIT, '--endpoint', 'http://h', '--project', 'p', '--timeout-ms', '0'], {}, 'between 1'],
    [
      [JUNIT, '--endpoint', 'http://h', '--project', 'p', '--bogus'],
      {},
      "Unknown option '--bogus'",
    ],
  ])('%j → 2', async (argv, env, message) => {
    const r = await run(argv, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Usage: vigil report');
  });

  it('a missing token is a usage error and nothing is sent', async () => {
    const srv = await listen(accept);
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p'], {
      VIGIL_TOKEN: '  ',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no token: set the VIGIL_TOKEN environment variable');
    expect(srv.requests).toHaveLength(0);
  });

  it('refuses a --token flag without echoing its value', async () => {
    for (const argv of [
      [JUNIT, '--token', 'flag-secret-value', '--endpoint', 'http://h', '--project', 'p'],
      [JUNIT, '--token=flag-secret-value', '--endpoint', 'http://h', '--project', 'p'],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--token is not accepted');
      expect(r.stderr).not.toContain('flag-secret-value');
    }
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: vigil report <files...>');
  });

  it('warns when the token would travel over plain HTTP to another host', async () => {
    const urls: string[] = [];
    const r = await run(
      [JUNIT, '--endpoint', 'http://vigil.invalid', '--project', 'p'],
      {},
      {
        fetch: async (url) => {
          urls.push(String(url));
          return new Response(JSON.stringify(bare({ kind: 'tests' })), { status: 202 });
        },
      },
    );
    expect(r.stderr).toContain('vigil.invalid is plain HTTP');
    expect(r.code).toBe(0);
    expect(urls[0]).toMatch(/^http:\/\/vigil\.invalid\/v1\/results\?project=p&format=junit&runId=/);
  });
});

describe('vigil report --json', () => {
  it('prints one JSON line per file and nothing else on stdout', async () => {
    const srv = await listen((req) =>
      req.url.searchParams.get('format') === 'istanbul'
        ? {
            status: 400,
            json: {
              error: { code: 'invalid_report', message: 'bad', location: { path: '$.total' } },
            },
          }
        : { status: 200, json: testsAnswer(req, { duplicate: true }) },
    );
    const missing = join(tmp, 'missing.json');
    const r = await run([
      JUNIT,
      ISTANBUL,
      missing,
      '--endpoint',
      srv.endpoint,
      '--project',
      'p',
      '--json',
    ]);
    expect(r.code).toBe(3);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      file: JUNIT,
      outcome: 'duplicate',
      exitCode: 0,
      status: 200,
      format: 'junit',
      attempts: 1,
      runId: at(srv.requests, 0).url.searchParams.get('runId'),
      correlationId: at(srv.requests, 0).headers['x-correlation-id'],
      response: { kind: 'tests', duplicate: true, gate: { status: 'pass' } },
    });
    expect(lines[1]).toMatchObject({
      file: ISTANBUL,
      outcome: 'rejected',
      exitCode: 3,
      status: 400,
      error: { code: 'invalid_report', message: 'bad', location: { path: '$.total' } },
    });
    expect(lines[2]).toMatchObject({ file: missing, outcome: 'unreadable', exitCode: 2 });
    expect(r.stdout).not.toContain('Vigil verdict');
  });

  it('reports unreachable files, allowed or not', async () => {
    const endpoint = await closedPort();
    const args = [JUNIT, '--endpoint', endpoint, '--project', 'p', '--json', '--retries', '0'];
    const r = await run(args);
    expect(r.code).toBe(4);
    expect(jsonLines(r.stdout)[0]).toMatchObject({
      outcome: 'unreachable',
      exitCode: 4,
      allowed: false,
      error: { code: 'unreachable' },
    });
    const allowed = await run([...args, '--allow-unreachable']);
    expect(allowed.code).toBe(0);
    expect(jsonLines(allowed.stdout)[0]).toMatchObject({
      outcome: 'unreachable',
      exitCode: 0,
      allowed: true,
    });

    const srv = await listen(() => ({ status: 502, json: { message: 'Bad Gateway' } }));
    const r5 = await run([
      JUNIT,
      '--endpoint',
      srv.endpoint,
      '--project',
      'p',
      '--json',
      '--retries',
      '0',
    ]);
    expect(jsonLines(r5.stdout)[0]).toMatchObject({ status: 502, error: { code: 'http_502' } });
  });
});

describe('detectReport', () => {
  it('recognises formats and explains failures', () => {
    expect(detectReport('<testsuites/>')).toEqual({
      format: 'junit',
      contentType: 'application/xml',
    });
    expect(detectReport('<foo/>').why).toBe('unknown XML root <foo>');
    expect(detectReport('\uFEFF{"total":{"lines":{"pct":1,"covered":1,"total":1}}}').format).toBe(
      'istanbul',
    );
    expect(detectReport('{nope').why).toBe('not valid JSON');
    expect(detectReport('hello').why).toBe('unrecognised text');
    expect(detectReport('<!doctype html><html></html>').why).toContain('HTML');
    expect(detectReport('  ').why).toBe('the file is empty');
    expect(detectReport('<?xml version="1.0"?>').why).toBe('unknown XML root <?>');
    expect(
      detectReport(
        '{"Action":"run","Package":"p","Test":"TestA"}\n{"Action":"pass","Package":"p"}',
      ),
    ).toEqual({ format: 'go-test', contentType: 'text/plain' });
  });
});

describe('vigil report: odd answers and failures', () => {
  const runWith = async (
    argv: string[],
    over: {
      fetch?: typeof fetch;
      readFile?: (p: string) => Promise<Uint8Array>;
      uploadThresholdBytes?: number;
    },
  ) => {
    let stdout = '';
    let stderr = '';
    const sleeps: number[] = [];
    const code = await runReport(argv, {
      env: { VIGIL_TOKEN: TOKEN },
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      git: notACheckout,
      ...over,
    });
    return { code, stdout, stderr, sleeps };
  };
  const ARGS = [JUNIT, '--endpoint', 'http://127.0.0.1:9', '--project', 'p', '--retries', '0'];

  it.each([
    [new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }), 'ECONNRESET'],
    [
      new TypeError('fetch failed', {
        cause: { code: 'EAI_AGAIN', message: 'getaddrinfo failed' },
      }),
      'EAI_AGAIN: getaddrinfo failed',
    ],
    [new TypeError('fetch failed', { cause: { message: 'socket hang up' } }), 'socket hang up'],
    [new TypeError('fetch failed', { cause: 'odd' }), 'fetch failed'],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), 'no answer within'],
    ['a string', 'a string'],
  ])('describes a network failure %#', async (thrown, expected) => {
    const r = await runWith(ARGS, {
      fetch: async () => {
        throw thrown;
      },
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(expected);
  });

  it('uses the default jitter and an HTTP-date Retry-After', async () => {
    let calls = 0;
    const r = await runWith([...ARGS, '--retries', '2'], {
      fetch: async () => {
        calls++;
        return new Response('{}', {
          status: 503,
          headers: {
            'retry-after': calls === 1 ? new Date(Date.now() + 5_000).toUTCString() : 'soon',
          },
        });
      },
    });
    expect(r.code).toBe(4);
    expect(r.sleeps).toHaveLength(2);
    expect(r.sleeps[0]).toBeGreaterThan(3_000);
    expect(r.sleeps[1]).toBeGreaterThanOrEqual(500);
    expect(r.sleeps[1]).toBeLessThanOrEqual(1000);
  });

  it('reports read errors without a code', async () => {
    for (const thrown of [new Error('disk on fire'), 'weird']) {
      const r = await runWith(ARGS, {
        readFile: async () => {
          throw thrown;
        },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(thrown instanceof Error ? thrown.message : thrown);
    }
  });

  it('sends a corrupt gzip file as it is and lets the server judge', async () => {
    const body = Uint8Array.from([0x1f, 0x8b, 1, 2, 3]);
    let seen: Uint8Array | undefined;
    const r = await runWith(ARGS, {
      readFile: async () => body,
      fetch: async (_url, init) => {
        seen = init?.body instanceof Uint8Array ? init.body : undefined;
        return new Response(JSON.stringify({ error: { message: 'not gzip' } }), { status: 400 });
      },
    });
    expect(r.code).toBe(3);
    expect(seen).toEqual(body);
    expect(r.stderr).toContain(
      'format not recognised here (the gzip data is invalid or truncated:',
    );
    expect(r.stderr).not.toContain('the file is empty');
    expect(r.stderr).toContain('HTTP 400 not gzip');
  });

  it('says a truncated .gz is truncated, not empty', async () => {
    const whole = gzipSync(await readFile(JUNIT));
    const r = await runWith(ARGS, {
      readFile: async () => whole.subarray(0, whole.byteLength - 20),
      fetch: async () =>
        new Response(JSON.stringify({ error: { code: 'invalid_report', message: 'bad gzip' } }), {
          status: 400,
        }),
    });
    expect(r.stderr).toContain(
      'format not recognised here (the gzip data is invalid or truncated: unexpected end of file)',
    );
  });

  it('tolerates sparse and odd answers', async () => {
    const answers = [
      bare(),
      bare({
        kind: 'tests',
        summary: { total: 3 },
        gate: { status: 'none', checks: [{ status: 'skip' }, {}, 'x'] },
      }),
      bare({ kind: 'coverage', summary: { lines: { pct: 50 }, branches: {} }, warnings: ['w', 1] }),
      bare({ kind: 'load', summary: { latencyMs: {}, thresholds: [{ passed: false }] } }),
      bare({ kind: 'benchmark', summary: { benchmarks: [{}] }, duplicate: false }),
      bare({ kind: 'mystery', summary: 'x' }),
      bare({ kind: 'tests', summary: { durationMs: 90_000 } }),
      bare({ kind: 'tests', summary: { durationMs: 600_000 } }),
    ];
    const all = await Promise.all(
      answers.map((a) =>
        runWith(ARGS, { fetch: async () => new Response(JSON.stringify(a), { status: 202 }) }),
      ),
    );
    expect(all.every((x) => x.code === 0)).toBe(true);
    expect(at(all, 0).stdout).toContain('datadog-java-gradle.xml: junit [run ');
    const out = all.map((x) => x.stdout).join('');
    expect(out).toContain('tests: 3 total');
    expect(out).toContain('– check: skip');
    expect(out).toContain('? check: ?');
    expect(out).toContain('coverage: lines 50%');
    expect(out).toContain('⚠ w');
    expect(out).toContain('load: thresholds 0/1 passed');
    expect(out).toContain('✖ threshold ?');
    expect(out).toContain('    ?: ?');
    expect(out).toContain('in 90 s');
    expect(out).toContain('in 10 min');
  });

  it('--json: an unexpected 2xx answer and a gateway-style error', async () => {
    const bad = await runWith([...ARGS, '--json'], {
      fetch: async () => new Response(null, { status: 204 }),
    });
    expect(bad.code).toBe(4);
    expect(jsonLines(bad.stdout)[0]).toMatchObject({
      outcome: 'unreachable',
      error: { code: 'bad_response' },
    });
    expect(bad.stderr).toContain('(empty body)');

    const gw = await runWith([...ARGS, '--json'], {
      fetch: async () => new Response(JSON.stringify({ message: 'Forbidden' }), { status: 403 }),
    });
    expect(gw.code).toBe(3);
    expect(jsonLines(gw.stdout)[0]).toMatchObject({
      error: { code: 'http_403', message: 'Forbidden' },
    });

    const empty = await runWith(ARGS, { fetch: async () => new Response('', { status: 409 }) });
    expect(empty.stderr).toContain('rejected by the server: HTTP 409 (correlation id');

    const redirect = await runWith(ARGS, {
      fetch: async () => new Response(null, { status: 308 }),
    });
    expect(redirect.stderr).toContain('redirected (HTTP 308); use the final URL');
  });
  it("shows what it can of an error body that is not Vigil's", async () => {
    // Prepare
    const reply = (body: string) => async () => new Response(body, { status: 400 });

    // Act
    const array = await runWith(ARGS, { fetch: reply('["not", "an", "object"]') });
    const long = await runWith(ARGS, { fetch: reply(`oops ${'x'.repeat(300)}`) });
    const codeOnly = await runWith([...ARGS, '--json'], {
      fetch: reply(JSON.stringify({ error: { code: 'too_old', location: { line: null } } })),
    });

    // Assess
    expect(array.stderr).toContain('rejected by the server: HTTP 400 ["not", "an", "object"]');
    expect(long.stderr).toContain(`HTTP 400 oops ${'x'.repeat(194)}… (correlation id`);
    expect(codeOnly.stderr).toContain('rejected by the server: HTTP 400 too_old (correlation id');
    expect(jsonLines(codeOnly.stdout)[0]).toMatchObject({
      outcome: 'rejected',
      error: { code: 'too_old', message: 'rejected by the server: HTTP 400 too_old' },
    });
  });

  it('summarises partial load, benchmark and check figures', async () => {
    // Prepare
    const answers = [
      bare({ kind: 'load', summary: { requests: 10 } }),
      bare({ kind: 'benchmark', summary: {} }),
      bare({
        kind: 'tests',
        summary: {},
        gate: {
          status: 'fail',
          checks: [
            { id: 'a', status: 'fail', actual: 3 },
            { id: 'b', status: 'fail', threshold: 2 },
          ],
        },
      }),
    ];

    // Act
    const out = (
      await Promise.all(
        answers.map((a) =>
          runWith(ARGS, { fetch: async () => new Response(JSON.stringify(a), { status: 202 }) }),
        ),
      )
    )
      .map((r) => r.stdout)
      .join('');

    // Assess
    expect(out).toContain('  load: 10 requests\n');
    expect(out).toContain('  benchmarks: 0\n');
    expect(out).toContain('    ✖ a: actual 3, threshold -\n');
    expect(out).toContain('    ✖ b: actual -, threshold 2\n');
  });

  it('names neither format when the file is unrecognised and the answer does not say', async () => {
    // Act
    const r = await runWith(ARGS, {
      readFile: async () => Buffer.from('hello'),
      fetch: async () => new Response(JSON.stringify(bare()), { status: 202 }),
    });

    // Assess
    expect(r.stdout).toContain('datadog-java-gradle.xml: unknown format [run ');
  });

  it('counts several failed gates in the verdict', async () => {
    // Prepare
    const failing = bare({ kind: 'tests', summary: {}, gate: { status: 'fail', checks: [] } });

    // Act
    const r = await runWith([JUNIT, ...ARGS], {
      fetch: async () => new Response(JSON.stringify(failing), { status: 202 }),
    });

    // Assess
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Vigil verdict: ✖ FAIL: gate failed (2 reports: 2 gates failed)');
  });

  it('--json --allow-unreachable: an unexpected 2xx answer exits 0', async () => {
    // Act
    const r = await runWith([...ARGS, '--json', '--allow-unreachable'], {
      fetch: async () => new Response('<html>proxy</html>', { status: 200 }),
    });

    // Assess
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)[0]).toMatchObject({
      outcome: 'unreachable',
      exitCode: 0,
      allowed: true,
      error: { code: 'bad_response' },
    });
    expect(r.stderr).toContain('not failing because --allow-unreachable is set');
  });

  it('a staged upload whose PUT answer was lost goes on when the retry finds the URL used (412)', async () => {
    // Prepare: the first PUT stores the report but its answer is lost; S3 answers the retry
    // 412 (the URL takes one PUT)
    const urls: string[] = [];
    let puts = 0;
    const fetchFn: typeof fetch = async (url, init) => {
      urls.push(`${init?.method} ${String(url)}`);
      if (String(url).includes('/v1/uploads'))
        return new Response(
          JSON.stringify({ uploadId: 'u1', url: 'http://s3.test/put', headers: {} }),
          { status: 201 },
        );
      if (init?.method === 'PUT')
        return ++puts === 1
          ? new Response('gateway timeout', { status: 504 })
          : new Response('', { status: 412 });
      return new Response(JSON.stringify(bare()), { status: 202 });
    };

    // Act
    const r = await runWith([...ARGS.slice(0, -1), '1'], {
      fetch: fetchFn,
      uploadThresholdBytes: 1,
    });

    // Assess
    expect(r.code).toBe(0);
    expect(urls).toEqual([
      'POST http://127.0.0.1:9/v1/uploads',
      'PUT http://s3.test/put',
      'PUT http://s3.test/put',
      expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:9\/v1\/results\?.*upload=u1/),
    ]);
  });

  it('a staged upload stops at the step that fails', async () => {
    // Prepare: every report is staged; the first run's upload request is refused, the
    // second run's PUT fails.
    const urls: string[] = [];
    const fetchFor =
      (refuseUpload: boolean): typeof fetch =>
      async (url, init) => {
        urls.push(`${init?.method} ${String(url)}`);
        if (String(url).includes('/v1/uploads'))
          return refuseUpload
            ? new Response(JSON.stringify({ error: { code: 'forbidden', message: 'no' } }), {
                status: 403,
              })
            : new Response(
                JSON.stringify({ uploadId: 'u1', url: 'http://s3.test/put', headers: {} }),
                {
                  status: 201,
                },
              );
        return new Response('slow down', { status: 503 });
      };

    // Act
    const refused = await runWith(ARGS, { fetch: fetchFor(true), uploadThresholdBytes: 1 });
    const putFailed = await runWith(ARGS, { fetch: fetchFor(false), uploadThresholdBytes: 1 });

    // Assess
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('HTTP 403 forbidden: no');
    expect(putFailed.code).toBe(4);
    expect(putFailed.stderr).toContain('endpoint unreachable after 1 attempt: HTTP 503 slow down');
    expect(urls).toEqual([
      'POST http://127.0.0.1:9/v1/uploads',
      'POST http://127.0.0.1:9/v1/uploads',
      'PUT http://s3.test/put',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile text: every string in an answer (and so in a report) is the report author's

/** What no printed line may hold: C0 (but the line feeds) and C1 controls, DEL, bidi controls. */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

/** The CLI's own annotations: the commands it builds for failed and flaky tests. */
const OWN_COMMAND =
  /^::(error|warning|notice) (file=[^,]*,)?(line=\d+,)?title=(Failed|Flaky|Vigil)%3A /;

/**
 * Nothing the report or the server said turned into a workflow command or a terminal escape:
 * no raw control or bidi character, no line that GitHub would read as a command (`::` after
 * leading spaces, or `##[` anywhere) other than the CLI's own annotations.
 */
const expectInert = (printed: string) => {
  expect(printed).not.toMatch(UNSAFE);
  const lines = printed.split('\n');
  expect(lines.at(-1)).toBe('');
  for (const line of lines.slice(0, -1)) {
    if (OWN_COMMAND.test(line)) continue;
    expect(line.trimStart(), line).not.toMatch(/^::/);
    expect(line, line).not.toContain('##[');
  }
};

const FORGED = '\n::error title=Forged::Vigil says deploy is safe\n';

describe('vigil report: hostile text in the answer stays inert in the log', () => {
  it('warnings, checks and failed tests', async () => {
    const srv = await listen((req) => ({
      status: 202,
      json: testsAnswer(req, {
        warnings: [
          `test name 't${FORGED}' appears more than once`,
          'reads \u202Eevil\u202C backwards \u2066x\u2069 \u200Fy',
          'the old syntax ##[error]forged too',
        ],
        gate: {
          status: 'fail',
          checks: [
            { id: `tests.failed${FORGED}`, status: 'fail', message: `x\r::add-mask::tok123` },
            { id: '::add-mask::tok456', status: 'fail' },
            { id: 'tests.count', status: 'pass', message: 'ok\u001b]0;pwned\u0007\u009b2J' },
          ],
        },
        failures: {
          failed: [
            {
              suite: 's',
              classname: 'c',
              name: `t${FORGED}`,
              message: `boom\u001b[31m${FORGED}`,
              file: 'src/a.test.ts',
              line: 3,
            },
          ],
        },
      }),
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p'], GITHUB_ENV);
    expect(r.code).toBe(1);
    expectInert(r.stdout);
    expectInert(r.stderr);
    // Still shown, on the CLI's own lines.
    expect(r.stdout).toContain(
      "  ⚠ test name 't ::error title=Forged::Vigil says deploy is safe ' appears more than once",
    );
    expect(r.stdout).toContain('  ⚠ reads  evil  backwards  x   y');
    expect(r.stdout).toContain('  ⚠ the old syntax # #[error]forged too');
    expect(r.stdout).toContain(
      '    ✖ tests.failed ::error title=Forged::Vigil says deploy is safe : x ::add-mask::tok123',
    );
    expect(r.stdout).toContain('    ✖ ::add-mask::tok456: fail');
    expect(r.stdout).toContain('    ✔ tests.count: ok ]0;pwned 2J');
    // The CLI's own annotation is still a command, with the text escaped inside it.
    expect(r.stdout).toMatch(
      /^::error file=src\/a\.test\.ts,line=3,title=Failed%3A s › c › t %3A%3Aerror title=Forged%3A%3AVigil says deploy is safe::boom/m,
    );
  });

  it('load threshold, benchmark and patch coverage names', async () => {
    const answers: Record<string, unknown> = {
      k6: {
        kind: 'load',
        summary: {
          requests: 10,
          thresholds: [{ name: `http_req_failed${FORGED}`, passed: false }],
        },
      },
      benchmark: {
        kind: 'benchmark',
        summary: {
          benchmarks: [
            { name: 'fast\n::add-mask::tok123\n::error title=pwn::x', unit: 'ms', value: 5 },
            // Alone on its line after the indentation: a command unless neutralised.
            { name: '::add-mask::tok456', unit: 'ms\u001b[8m', value: 6 },
          ],
        },
      },
      lcov: {
        kind: 'coverage',
        summary: {
          lines: { pct: 50, covered: 1, total: 2 },
          patch: {
            coverable: 2,
            covered: 0,
            pct: 0,
            files: [
              { path: '\u001b]8;;https://evil.example\u0007src/a.ts\u001b[2J', uncovered: [1] },
              { path: '::error title=Forged::src/b.ts', uncovered: [2] },
            ],
          },
        },
      },
    };
    const srv = await listen((req) => ({
      status: 202,
      json: {
        runId: 'r',
        warnings: [],
        duplicate: false,
        gate: { status: 'none', checks: [] },
        ...(answers[req.url.searchParams.get('format') ?? ''] as object),
      },
    }));
    const r = await run(
      [K6, HYPERFINE, LCOV, '--endpoint', srv.endpoint, '--project', 'p'],
      GITHUB_ENV,
    );
    expect(r.code).toBe(0);
    expectInert(r.stdout);
    expectInert(r.stderr);
    expect(r.stdout).toContain(
      '    ✖ threshold http_req_failed ::error title=Forged::Vigil says deploy is safe',
    );
    expect(r.stdout).toContain('    fast ::add-mask::tok123 ::error title=pwn::x: 5 ms');
    expect(r.stdout).toContain('    : :add-mask::tok456: 6 ms [8m');
    expect(r.stdout).toContain('    ]8;;https://evil.example src/a.ts [2J: not covered 1');
    expect(r.stdout).toContain('    : :error title=Forged::src/b.ts: not covered 2');
  });

  it("the server's error messages, on stderr", async () => {
    const rejecting = await listen(() => ({
      status: 400,
      json: {
        error: {
          code: 'invalid_report',
          message: `bad${FORGED}\u001b[2J`,
          location: { path: '\n::warning::there' },
        },
      },
    }));
    const rejected = await run([JUNIT, '--endpoint', rejecting.endpoint, '--project', 'p']);
    expect(rejected.code).toBe(3);
    expectInert(rejected.stdout);
    expectInert(rejected.stderr);
    expect(rejected.stderr).toContain(
      'rejected by the server: HTTP 400 invalid_report: bad ::error title=Forged::Vigil says deploy is safe [2J (at path  ::warning::there)',
    );

    const failing = await listen(() => ({
      status: 503,
      json: { message: `busy${FORGED}##[error]v1` },
    }));
    const unreachable = await run([
      JUNIT,
      '--endpoint',
      failing.endpoint,
      '--project',
      'p',
      '--retries',
      '1',
    ]);
    expect(unreachable.code).toBe(4);
    expectInert(unreachable.stdout);
    expectInert(unreachable.stderr);
    expect(unreachable.stderr).toContain('attempt 1 of 2 failed (HTTP 503 busy ::error');
    expect(unreachable.stderr).toContain('# #[error]v1');

    const odd = await listen(() => ({
      status: 202,
      text: '\u001b]0;title\u0007 ::error::y ##[error]z \u202Eevil',
    }));
    const notVigil = await run([JUNIT, '--endpoint', odd.endpoint, '--project', 'p']);
    expect(notVigil.code).toBe(4);
    expectInert(notVigil.stdout);
    expectInert(notVigil.stderr);
    expect(notVigil.stderr).toContain(
      'unexpected answer to HTTP 202:  ]0;title  ::error::y # #[error]z  evil',
    );
  });

  it('--json: the same value, with what could act escaped', async () => {
    const hostile = {
      runId: 'r',
      kind: 'tests',
      summary: {},
      gate: { status: 'pass', checks: [{ id: '\u009b2J', status: 'pass' }] },
      warnings: [
        '\u202Eevil',
        '##[error]v1',
        'line\u2028break',
        '\u0085next',
        `esc\u001b${FORGED}`,
      ],
      duplicate: false,
    };
    const srv = await listen(() => ({ status: 202, json: hostile }));
    const r = await run(
      [JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--json'],
      GITHUB_ENV,
    );
    expect(r.code).toBe(0);
    expectInert(r.stdout);
    expectInert(r.stderr);
    expect(at(jsonLines(r.stdout), 0).response).toEqual(hostile);
  });
});

describe('vigil report: the token echoed in an answer', () => {
  it('is masked in the job summary, the annotations and the pull request comment', async () => {
    // Prepare: a GitHub pull request job; Vigil's answer quotes the token (a test printed it).
    const forge = await startFakeForge('gh-token');
    closers.push(forge.close);
    const event = join(tmp, 'pr-event.json');
    await writeFile(event, JSON.stringify({ pull_request: { number: 3, head: { sha: 'a1' } } }));
    const summary = join(tmp, 'token-summary.md');
    await writeFile(summary, '');
    const srv = await listen((req) => ({
      status: 202,
      json: testsAnswer(req, {
        gate: {
          status: 'fail',
          checks: [{ id: 'tests.failed', status: 'fail', message: `token ${TOKEN} failed` }],
        },
        failures: { failed: [{ suite: 's', classname: 'c', name: 'n', message: `got ${TOKEN}` }] },
      }),
    }));

    // Act
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--comment'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_EVENT_PATH: event,
      GITHUB_API_URL: forge.url,
      GITHUB_TOKEN: 'gh-token',
    });

    // Assess: masked before the Markdown escaping, which would hide it from a plain search
    // (and from GitHub's own masking) as vgl\_s3cr3t….
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error title=Failed%3A s › c › n::got ***');
    const comment = forge.comments.get(3)?.[0]?.body ?? '';
    for (const markdown of [await readFile(summary, 'utf8'), comment]) {
      expect(markdown).toContain('token \\*\\*\\* failed');
      expect(markdown).toContain('got \\*\\*\\*');
      expect(markdown).not.toContain('s3cr3t');
    }
  });
});

describe('vigil report: a token it cannot send', () => {
  it.each([
    ['a zero-width space', 'vgl_secret\u200btoken'],
    ['a control character', 'vgl_secret\u0007token'],
    ['an inner space', 'vgl_secret token'],
    ['a non-ASCII letter', 'vgl_sécret'],
  ])('with %s is a usage error, not echoed, and nothing is sent', async (_, token) => {
    const srv = await listen(accept);
    const r = await run(
      [JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--allow-unreachable'],
      { VIGIL_TOKEN: token },
    );
    expect(r.code).toBe(2);
    expect(srv.requests).toHaveLength(0);
    expect(r.stderr).toContain('VIGIL_TOKEN holds a character other than visible ASCII');
    expect(r.stderr).not.toMatch(/secret|sécret/);
  });

  it('is masked whatever its length', async () => {
    const srv = await listen(() => ({
      status: 401,
      json: { error: { code: 'unauthorized', message: 'bad token Zq9' } },
    }));
    const r = await run([JUNIT, '--endpoint', srv.endpoint, '--project', 'p'], {
      VIGIL_TOKEN: 'Zq9',
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('bad token ***');
    expect(r.stdout + r.stderr).not.toContain('Zq9');
  });
});

describe('vigil report: feedback on the pull request', () => {
  const pullRequest = async () => {
    const forge = await startFakeForge('gh-token');
    closers.push(forge.close);
    const event = join(tmp, 'feedback-event.json');
    await writeFile(event, JSON.stringify({ pull_request: { number: 5, head: { sha: 'b2' } } }));
    const env = {
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_EVENT_PATH: event,
      GITHUB_API_URL: forge.url,
      GITHUB_TOKEN: 'gh-token',
    };
    return { forge, env };
  };

  it('with --json, puts only the JSON lines on stdout', async () => {
    const { env } = await pullRequest();
    const srv = await listen(accept);
    const r = await run(
      [JUNIT, '--endpoint', srv.endpoint, '--project', 'p', '--json', '--comment', '--status'],
      env,
    );
    expect(jsonLines(r.stdout)).toHaveLength(1);
    expect(r.stderr).toContain('Vigil: pull request comment created');
    expect(r.stderr).toContain('Vigil: commit status success: gate passed');
  });

  it.each([
    [['--allow-unreachable'], 0, 'success', '1 report(s) not recorded (Vigil unreachable)'],
    [[], 4, 'error', '1 report(s) got no verdict'],
  ])('Vigil unreachable with %j: exit %i, status %s', async (flags, code, state, description) => {
    const { forge, env } = await pullRequest();
    const endpoint = await closedPort();
    const r = await run(
      [JUNIT, '--endpoint', endpoint, '--project', 'p', '--status', '--retries', '0', ...flags],
      env,
    );
    expect(r.code).toBe(code);
    expect(forge.statuses).toHaveLength(1);
    expect(forge.statuses[0]).toMatchObject({ state, description: `Vigil: p: ${description}` });
  });
});
