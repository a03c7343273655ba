import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { parseHistoryPath } from '../../functions/core/history/queries';
import type { RunRecord, TestOutcome, TestRecord } from '../../functions/core/history/types';
import { createIngestHandler, type IngestHandlerDeps } from '../../functions/ingest/handler';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
} from '../helpers/fakes';
import { MemoryHistory } from '../helpers/memory-history';

const TOKEN = 'history-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const NOW = '2026-11-25T10:00:00.000Z';

const config = parseConfig({
  defaultBranch: 'main',
  history: { baselineRuns: 3 },
  quarantine: [
    { test: 'cart > CartTest > *', owner: 'team-cart', reason: 'JIRA-1', expires: '2026-12-31' },
    { test: 'checkout > Pay > old', owner: 'team-pay', reason: 'JIRA-2', expires: '2026-01-01' },
  ],
});

let history: MemoryHistory;
let deps: IngestHandlerDeps;

beforeEach(() => {
  history = new MemoryHistory();
  deps = {
    config,
    stage: 'dev',
    publisher: new MemoryPublisher(),
    archive: new MemoryArchive(),
    ledger: new MemoryLedger(),
    clock: fixedClock(NOW),
    tokens: { tokens: async () => [TOKEN] },
    version: '1.2.3',
    history,
  };
});

const get = async (
  path: string,
  query: Record<string, string> = {},
  headers: Record<string, string> = auth,
) => {
  const res = await createIngestHandler(deps)(apiEvent({ method: 'GET', path, query, headers }));
  return { status: res.statusCode, body: JSON.parse(res.body ?? '{}') };
};

// --- fixtures --------------------------------------------------------------------------------

const outcome = (i: number, status: TestOutcome['status'], retried = false): TestOutcome => ({
  runId: `run-${i}`,
  at: `2026-11-2${i}T08:00:00.000Z`,
  branch: 'main',
  commit: `c${i}`,
  status,
  retried,
  durationMs: 10,
});

const testRecord = (
  project: string,
  suite: string,
  classname: string,
  name: string,
  outcomes: TestOutcome[],
  flaky?: TestRecord['flaky'],
): TestRecord => ({
  project,
  id: `${suite} > ${classname} > ${name}`,
  suite,
  classname,
  name,
  outcomes,
  ...(flaky ? { flaky } : {}),
  version: 1,
});

const addTest = (t: TestRecord): void => void history.tests.set(`${t.project}#${t.id}`, t);

const testsRun = (project: string, runId: string, at: string, extra: Partial<RunRecord> = {}) =>
  ({
    project,
    runId,
    format: 'junit',
    suite: 'unit',
    branch: 'main',
    ingestedAt: at,
    correlationId: `corr-${runId}`,
    gate: 'pass',
    kind: 'tests',
    summary: { total: 3, passed: 3, failed: 0, skipped: 0, flaky: 0, durationMs: 5 },
    ...extra,
  }) as RunRecord;

const benchRun = (
  project: string,
  runId: string,
  at: string,
  benchmarks: { name: string; value: number; unit?: string; samples?: number; stddev?: number }[],
  extra: Partial<RunRecord> = {},
): RunRecord =>
  ({
    project,
    runId,
    format: 'benchmark',
    branch: 'main',
    commit: `sha-${runId}`,
    ingestedAt: at,
    correlationId: `corr-${runId}`,
    gate: 'pass',
    kind: 'benchmark',
    summary: { benchmarks: benchmarks.map((b) => ({ unit: 'ns', ...b })) },
    ...extra,
  }) as RunRecord;

const seedTests = async (): Promise<void> => {
  await history.putRun(testsRun('shop/web', 'r1', '2026-11-24T08:00:00.000Z'));
  addTest(
    testRecord(
      'shop/web',
      'cart',
      'CartTest',
      'adds item',
      [outcome(1, 'passed'), outcome(2, 'failed'), outcome(3, 'passed', true)],
      {
        reason: 'retried',
        explanation: 'passed only after a retry in run-3',
        since: '2026-11-23T08:00:00.000Z',
        noticedAt: '2026-11-23T08:00:00.000Z',
      },
    ),
  );
  addTest(
    testRecord('shop/web', 'checkout', 'Pay', 'old', [outcome(1, 'skipped'), outcome(2, 'failed')]),
  );
  addTest(testRecord('shop/web', 'search', 'Find', 'by name', [outcome(1, 'passed')]));
};

// --- routes ----------------------------------------------------------------------------------

describe('parseHistoryPath', () => {
  it.each([
    // As API Gateway hands it over: decoded once.
    ['/v1/projects/shop/tests', { route: 'tests', project: 'shop' }],
    ['/v1/projects/shop/web/tests', { route: 'tests', project: 'shop/web' }],
    ['/v1/projects/shop/web/runs', { route: 'runs', project: 'shop/web' }],
    ['/v1/projects/shop/tests/runs', { route: 'runs', project: 'shop/tests' }],
    [
      '/v1/projects/shop/web/benchmarks/fib/10 [n=3]',
      { route: 'benchmark', project: 'shop/web', name: 'fib/10 [n=3]' },
    ],
    ['/v1/projects/p/benchmarks/99%', { route: 'benchmark', project: 'p', name: '99%' }],
    ['/v1/projects/shop/benchmarks', { route: 'benchmarks', project: 'shop' }],
    ['/v1/projects/shop/web/benchmarks', { route: 'benchmarks', project: 'shop/web' }],
    // Names encoded twice by the client (or a runtime that kept the encoding): exact.
    ['/v1/projects/team%2Fbenchmarks/tests', { route: 'tests', project: 'team/benchmarks' }],
    [
      '/v1/projects/shop%2Fweb/benchmarks/a%2Fb%20c',
      { route: 'benchmark', project: 'shop/web', name: 'a/b c' },
    ],
  ])('%s', (path, expected) => {
    expect(parseHistoryPath(path)).toEqual(expected);
  });

  it.each([
    '/v1/projects/',
    '/v1/projects/shop',
    '/v1/projects/shop/',
    '/v1/projects/shop/tests/',
    '/v1/projects/shop/flaky',
    '/v1/results',
  ])('names no route: %s', (path) => {
    expect(parseHistoryPath(path)).toBeUndefined();
  });
});

describe('history API: access', () => {
  it.each([
    ['no header', {}],
    ['wrong token', { authorization: 'Bearer nope' }],
  ])('refuses %s with 401 before touching the store', async (_name, headers) => {
    const listTests = vi.spyOn(history, 'listTests');
    const res = await get('/v1/projects/shop/tests', {}, headers);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect(listTests).not.toHaveBeenCalled();
  });

  it('marks its answers private to caches (Cache-Control: no-store)', async () => {
    await history.putRun(testsRun('cached', 'r1', '2026-11-24T08:00:00.000Z'));
    const res = await createIngestHandler(deps)(
      apiEvent({ method: 'GET', path: '/v1/projects/cached/runs', headers: auth }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['cache-control']).toBe('no-store');
  });

  it('answers 503 with a clear message when the deployment has no history', async () => {
    delete deps.history;
    const res = await get('/v1/projects/shop/tests');
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'unavailable', message: /history/i });
  });

  it('answers 404 for a path under /v1/projects that names no route, and for POST', async () => {
    const res = await get('/v1/projects/shop/flaky');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('/tests');
    const post = await createIngestHandler(deps)(
      apiEvent({ method: 'POST', path: '/v1/projects/shop/tests', headers: auth }),
    );
    expect(post.statusCode).toBe(404);
  });

  it('answers 404 not_found for a project without any history', async () => {
    await history.putRun(testsRun('somebody', 'r1', '2026-11-24T08:00:00.000Z'));
    const responses = [
      await get('/v1/projects/nobody/tests', { status: 'flaky' }),
      await get('/v1/projects/nobody/runs'),
      await get('/v1/projects/nobody/runs', { kind: 'tests' }),
    ];
    for (const res of responses) {
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({
        code: 'not_found',
        message: 'No history for project "nobody".',
        location: { path: 'path.project' },
      });
    }
  });
});

describe('history API: store failures', () => {
  it('passes a store-side cursor refusal on as 400, and throttling as a 503 to retry', async () => {
    const { VigilError } = await import('../../functions/core/errors');
    await history.putRun(testsRun('shop', 'r1', '2026-11-20T08:00:00.000Z'));
    await history.putRun(testsRun('shop', 'r2', '2026-11-21T08:00:00.000Z'));
    const { cursor } = (await get('/v1/projects/shop/runs', { limit: '1' })).body;
    const refusal = new VigilError('bad_request', 'invalid cursor: pass back the cursor');
    vi.spyOn(history, 'listRuns').mockRejectedValueOnce(refusal);
    const badCursor = await get('/v1/projects/shop/runs', { limit: '1', cursor });
    expect(history.listRuns).toHaveBeenCalledWith('shop', { limit: 1, cursor: '1' });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.message).toContain('cursor');

    vi.spyOn(history, 'listTests').mockRejectedValueOnce(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $retryable: { throttling: true },
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const throttled = await get('/v1/projects/shop/tests');
    expect(throttled.status).toBe(503);
    expect(throttled.body.error.code).toBe('unavailable');
  });
});

describe('history API: validation', () => {
  it.each([
    ['/v1/projects/shop/tests', { limit: '0' }, 'query.limit'],
    ['/v1/projects/shop/tests', { limit: '501' }, 'query.limit'],
    ['/v1/projects/shop/tests', { limit: '1e2' }, 'query.limit'],
    ['/v1/projects/shop/tests', { status: 'broken' }, 'query.status'],
    ['/v1/projects/shop/tests', { stauts: 'flaky' }, 'query.stauts'],
    ['/v1/projects/shop/tests', { cursor: 'has space' }, 'query.cursor'],
    ['/v1/projects/shop/tests', { q: 'a\u0000' }, 'query.q'],
    ['/v1/projects/shop/runs', { kind: 'unit' }, 'query.kind'],
    ['/v1/projects/shop/runs', { branch: 'a\u0000b' }, 'query.branch'],
    ['/v1/projects/shop/runs', { status: 'flaky' }, 'query.status'],
    ['/v1/projects/shop/benchmarks/fib', { cursor: '1' }, 'query.cursor'],
    ['/v1/projects/-shop/tests', {}, 'path.project'],
    ['/v1/projects/sh op/runs', {}, 'path.project'],
    ['/v1/projects/shop/benchmarks/a\u0007b', {}, 'path.name'],
    ['/v1/projects/shop/benchmarks', { max: '0' }, 'query.max'],
    ['/v1/projects/shop/benchmarks', { max: '51' }, 'query.max'],
    ['/v1/projects/shop/benchmarks', { max: 'all' }, 'query.max'],
    ['/v1/projects/shop/benchmarks', { q: 'a\u0000' }, 'query.q'],
    ['/v1/projects/shop/benchmarks', { cursor: '1' }, 'query.cursor'],
    ['/v1/projects/shop/benchmarks', { limit: '501' }, 'query.limit'],
  ])('%s %j → 400 at %s', async (path, query, location) => {
    const res = await get(path, query as Record<string, string>);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'bad_request', location: { path: location } });
  });
});

describe('GET /v1/projects/{project}/tests', () => {
  it('lists flaky tests with their state, quarantine, last outcome, counts and outcomes', async () => {
    // Prepare
    await seedTests();

    // Act
    const res = await get('/v1/projects/shop/web/tests', { status: 'flaky' });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      project: 'shop/web',
      status: 'flaky',
      tests: [
        {
          id: 'cart > CartTest > adds item',
          suite: 'cart',
          classname: 'CartTest',
          name: 'adds item',
          flaky: {
            reason: 'retried',
            explanation: 'passed only after a retry in run-3',
            since: '2026-11-23T08:00:00.000Z',
          },
          quarantine: {
            test: 'cart > CartTest > *',
            owner: 'team-cart',
            reason: 'JIRA-1',
            expires: '2026-12-31',
            expired: false,
          },
          last: {
            status: 'passed',
            at: '2026-11-23T08:00:00.000Z',
            runId: 'run-3',
            branch: 'main',
            commit: 'c3',
          },
          counts: { passed: 2, failed: 1, skipped: 0, retried: 1 },
          outcomes: 'PFR',
        },
      ],
    });
  });

  it('lists every test by default, marks expired quarantines, and filters failing/passing', async () => {
    await seedTests();
    const all = await get('/v1/projects/shop/web/tests');
    expect(all.body.status).toBe('all');
    expect(all.body.tests.map((t: { id: string }) => t.id)).toEqual([
      'cart > CartTest > adds item',
      'checkout > Pay > old',
      'search > Find > by name',
    ]);
    expect(all.body.tests[1]).toMatchObject({
      quarantine: { owner: 'team-pay', expired: true },
      counts: { passed: 0, failed: 1, skipped: 1, retried: 0 },
      outcomes: 'SF',
    });
    expect(all.body.tests[2].quarantine).toBeUndefined();
    expect(all.body.tests[2].flaky).toBeUndefined();

    const failing = await get('/v1/projects/shop/web/tests', { status: 'failing' });
    expect(failing.body.tests.map((t: { id: string }) => t.id)).toEqual(['checkout > Pay > old']);
    const passing = await get('/v1/projects/shop/web/tests', { status: 'passing' });
    expect(passing.body.tests).toHaveLength(2);
  });

  it('pages with limit and the opaque cursor until the last page, which has none', async () => {
    await seedTests();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await get('/v1/projects/shop/web/tests', {
        limit: '2',
        ...(cursor ? { cursor } : {}),
      });
      expect(res.status).toBe(200);
      expect(res.body.tests.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.tests.map((t: { id: string }) => t.id));
      cursor = res.body.cursor;
      pages++;
    } while (cursor && pages < 5);
    expect(pages).toBe(2);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
  });

  it('searches the whole list by q (any case, in the id), not only its first page', async () => {
    // Prepare: 1,200 tests, the matches at the end of the list (past a first page of 500)
    await history.putRun(testsRun('big', 'r1', '2026-11-24T08:00:00.000Z'));
    for (let i = 0; i < 1200; i++)
      addTest(
        testRecord('big', 's', 'Many', `case ${String(i).padStart(4, '0')}`, [
          outcome(1, 'passed'),
        ]),
      );
    const read = vi.spyOn(history, 'listTests');

    // Act
    const found = await get('/v1/projects/big/tests', { q: 'CASE 119', limit: '500' });
    const paged = await get('/v1/projects/big/tests', { q: 'many > case 1', limit: '150' });
    const next = await get('/v1/projects/big/tests', {
      q: 'many > case 1',
      limit: '150',
      cursor: paged.body.cursor,
    });
    const none = await get('/v1/projects/big/tests', { q: 'no such test' });
    // 20 reads of 10 tests look at 200 of them: the answer says where to go on
    const partial = await get('/v1/projects/big/tests', { q: 'no such test', limit: '10' });

    // Assess
    expect(found.status).toBe(200);
    expect(found.body.tests.map((t: { name: string }) => t.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `case 119${i}`),
    );
    expect(found.body.cursor).toBeUndefined();
    expect(read.mock.calls[0]?.[1]).toMatchObject({ status: 'all', limit: 500 });
    // "case 1000" to "case 1199": 150, then the other 50 and no cursor
    expect(paged.body.tests).toHaveLength(150);
    expect(paged.body.tests[0].name).toBe('case 1000');
    expect(next.body.tests).toHaveLength(50);
    expect(next.body.tests.at(-1).name).toBe('case 1199');
    expect(next.body.cursor).toBeUndefined();
    expect(none.body).toEqual({ project: 'big', status: 'all', tests: [] });
    expect(partial.body.tests).toEqual([]);
    expect(partial.body.cursor).toEqual(expect.any(String));
  });

  it('answers an empty list (not 404) for a known project without flaky tests', async () => {
    await history.putRun(testsRun('calm', 'r1', '2026-11-24T08:00:00.000Z'));
    addTest(testRecord('calm', 's', 'C', 'ok', [outcome(1, 'passed')]));
    const res = await get('/v1/projects/calm/tests', { status: 'flaky' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ project: 'calm', status: 'flaky', tests: [] });
  });
});

describe('GET /v1/projects/{project}/runs', () => {
  beforeEach(async () => {
    await history.putRun(testsRun('shop', 'r1', '2026-11-20T08:00:00.000Z'));
    await history.putRun(
      testsRun('shop', 'r2', '2026-11-21T08:00:00.000Z', { branch: 'feature/x' }),
    );
    await history.putRun(testsRun('shop', 'r3', '2026-11-22T08:00:00.000Z', { suite: undefined }));
    await history.putRun(benchRun('shop', 'b1', '2026-11-23T08:00:00.000Z', []));
    await history.putRun(testsRun('other', 'o1', '2026-11-23T08:00:00.000Z'));
  });

  it('lists the runs of one project, newest first, as stored', async () => {
    const res = await get('/v1/projects/shop/runs');
    expect(res.status).toBe(200);
    expect(res.body.project).toBe('shop');
    expect(res.body.runs.map((r: RunRecord) => r.runId)).toEqual(['b1', 'r3', 'r2', 'r1']);
    expect(res.body.runs[3]).toEqual(testsRun('shop', 'r1', '2026-11-20T08:00:00.000Z'));
    expect(res.body.cursor).toBeUndefined();
  });

  it('filters by kind, branch and suite (suite= alone: runs without a suite)', async () => {
    const ids = async (query: Record<string, string>) =>
      (await get('/v1/projects/shop/runs', query)).body.runs.map((r: RunRecord) => r.runId);
    expect(await ids({ kind: 'benchmark' })).toEqual(['b1']);
    expect(await ids({ kind: 'tests', branch: 'main' })).toEqual(['r3', 'r1']);
    expect(await ids({ kind: 'tests', suite: '' })).toEqual(['r3']);
    expect(await ids({ suite: 'unit' })).toEqual(['r2', 'r1']);
    // A filter that matches nothing on a known project is an empty page, not a 404.
    const none = await get('/v1/projects/shop/runs', { kind: 'load' });
    expect(none).toEqual({ status: 200, body: { project: 'shop', runs: [] } });
    // Every run kind is a valid filter (the dashboard's security view asks for this one).
    expect(await get('/v1/projects/shop/runs', { kind: 'security' })).toEqual(none);
  });

  it('pages with a cursor', async () => {
    const first = await get('/v1/projects/shop/runs', { limit: '3' });
    expect(first.body.runs).toHaveLength(3);
    expect(typeof first.body.cursor).toBe('string');
    const second = await get('/v1/projects/shop/runs', { limit: '3', cursor: first.body.cursor });
    expect(second.body.runs.map((r: RunRecord) => r.runId)).toEqual(['r1']);
    expect(second.body.cursor).toBeUndefined();
  });
});

describe('history API: a cursor pages only the listing that issued it', () => {
  beforeEach(async () => {
    await seedTests();
    await history.putRun(testsRun('shop/web', 'r2', '2026-11-25T08:00:00.000Z'));
    await history.putRun(benchRun('shop/web', 'b1', '2026-11-25T09:00:00.000Z', []));
    await history.putRun(testsRun('other', 'o1', '2026-11-23T08:00:00.000Z'));
    await history.putRun(testsRun('other', 'o2', '2026-11-24T08:00:00.000Z'));
    await history.putRun(testsRun('other', 'o3', '2026-11-25T08:00:00.000Z'));
  });

  const cursorOf = async (path: string, query: Record<string, string>): Promise<string> => {
    const res = await get(path, { limit: '1', ...query });
    expect(res.status).toBe(200);
    expect(typeof res.body.cursor).toBe('string');
    return res.body.cursor;
  };

  const expectRefused = async (
    path: string,
    query: Record<string, string>,
    says: string,
  ): Promise<void> => {
    const res = await get(path, query);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'bad_request',
      location: { path: 'query.cursor' },
    });
    expect(res.body.error.message).toContain('"cursor"');
    expect(res.body.error.message).toContain(says);
  };

  it('refuses a cursor of the tests listing on runs, and one of runs on tests', async () => {
    const tests = await cursorOf('/v1/projects/shop/web/tests', {});
    await expectRefused('/v1/projects/shop/web/runs', { cursor: tests }, 'start again');
    const runs = await cursorOf('/v1/projects/shop/web/runs', {});
    await expectRefused('/v1/projects/shop/web/tests', { cursor: runs }, 'start again');
  });

  it('refuses a cursor issued for other filters or another project, but not another limit', async () => {
    const kind = await cursorOf('/v1/projects/shop/web/runs', { kind: 'tests' });
    await expectRefused('/v1/projects/shop/web/runs', { cursor: kind }, 'filters');
    await expectRefused(
      '/v1/projects/shop/web/runs',
      { kind: 'benchmark', cursor: kind },
      'filters',
    );
    const all = await cursorOf('/v1/projects/shop/web/tests', { status: 'all' });
    await expectRefused(
      '/v1/projects/shop/web/tests',
      { status: 'failing', cursor: all },
      'filters',
    );
    await expectRefused('/v1/projects/shop/web/tests', { q: 'cart', cursor: all }, 'filters');
    const other = await cursorOf('/v1/projects/other/runs', {});
    await expectRefused('/v1/projects/shop/web/runs', { cursor: other }, 'project');
    // The page size may change between pages; status=all is the default, so the same listing.
    const next = await get('/v1/projects/shop/web/tests', { limit: '5', cursor: all });
    expect(next.status).toBe(200);
    expect(next.body.tests).toHaveLength(2);
    const again = await get('/v1/projects/other/runs', { limit: '5', cursor: other });
    expect(again.body.runs.map((r: RunRecord) => r.runId)).toEqual(['o2', 'o1']);
  });

  it('refuses a cursor of the form issued before cursors were bound: start again', async () => {
    // The store's own cursor, as the API handed it out before.
    await expectRefused('/v1/projects/shop/web/runs', { cursor: '1' }, 'first page');
    await expectRefused(
      '/v1/projects/shop/web/tests',
      { cursor: Buffer.from(JSON.stringify({ k: 'x' })).toString('base64url') },
      'first page',
    );
  });
});

describe('GET /v1/projects/{project}/benchmarks/{name}', () => {
  const NAME = 'fib/10 [n=3]';

  beforeEach(async () => {
    const values = [100, 104, 98, 250, 101];
    for (const [i, value] of values.entries()) {
      await history.putRun(
        benchRun('shop/web', `b${i}`, `2026-11-2${i}T08:00:00.000Z`, [
          { name: NAME, value, samples: 30, stddev: 2 },
          { name: 'other', value: 1 },
        ]),
      );
    }
    // Another branch, another suite: other series.
    await history.putRun(
      benchRun('shop/web', 'f1', '2026-11-26T08:00:00.000Z', [{ name: NAME, value: 1 }], {
        branch: 'feature/x',
      }),
    );
    await history.putRun(
      benchRun('shop/web', 's1', '2026-11-26T08:00:00.000Z', [{ name: NAME, value: 2 }], {
        suite: 'micro',
      }),
    );
  });

  it('answers the series oldest first with the baseline of the latest runs, on the default branch', async () => {
    // As API Gateway delivers `/v1/projects/shop%2Fweb/benchmarks/fib%2F10%20%5Bn%3D3%5D`.
    const res = await get(`/v1/projects/shop/web/benchmarks/${NAME}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      project: 'shop/web',
      name: NAME,
      branch: 'main',
      suite: null,
      unit: 'ns',
    });
    expect(res.body.points.map((p: { value: number }) => p.value)).toEqual([
      100, 104, 98, 250, 101,
    ]);
    expect(res.body.points[0]).toEqual({
      at: '2026-11-20T08:00:00.000Z',
      gate: 'pass',
      runId: 'b0',
      commit: 'sha-b0',
      value: 100,
      samples: 30,
      stddev: 2,
    });
    // baselineRuns 3: the latest three values 98, 250, 101 → median 101, MAD median(3, 149, 0) = 3.
    expect(res.body.baseline).toEqual({ runs: 3, median: 101, mad: 3 });
  });

  it('reads the same benchmark through names encoded once more, and other series by query', async () => {
    const exact = await get(
      `/v1/projects/${encodeURIComponent('shop/web')}/benchmarks/${encodeURIComponent(NAME)}`,
      { limit: '2' },
    );
    expect(exact.status).toBe(200);
    expect(exact.body.points.map((p: { runId: string }) => p.runId)).toEqual(['b3', 'b4']);
    const branch = await get(`/v1/projects/shop/web/benchmarks/${NAME}`, { branch: 'feature/x' });
    expect(branch.body.points.map((p: { value: number }) => p.value)).toEqual([1]);
    const suite = await get(`/v1/projects/shop/web/benchmarks/${NAME}`, { suite: 'micro' });
    expect(suite.body).toMatchObject({ suite: 'micro', points: [{ value: 2 }] });
  });

  it('keeps only the points in the newest unit when the unit changed', async () => {
    await history.putRun(
      benchRun('shop/web', 'b9', '2026-11-29T08:00:00.000Z', [
        { name: NAME, value: 0.1, unit: 'us' },
      ]),
    );
    const res = await get(`/v1/projects/shop/web/benchmarks/${NAME}`);
    expect(res.body.unit).toBe('us');
    expect(res.body.points).toEqual([expect.objectContaining({ runId: 'b9', value: 0.1 })]);
  });

  it('answers 404 for a benchmark the project never reported', async () => {
    const res = await get('/v1/projects/shop/web/benchmarks/nope');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found', location: { path: 'path.name' } });
    expect(res.body.error.message).toContain('"nope"');
    expect(res.body.error.message).toContain('(runs without a suite)');
    const inSuite = await get('/v1/projects/shop/web/benchmarks/nope', { suite: 'micro' });
    expect(inSuite.body.error.message).toContain('(suite "micro")');
  });
});

describe('GET /v1/projects/{project}/benchmarks', () => {
  beforeEach(async () => {
    for (const [i, value] of [10, 12, 11].entries())
      await history.putRun(
        benchRun('shop/web', `b${i}`, `2026-11-2${i}T08:00:00.000Z`, [
          { name: 'parse <rows>', value, unit: 'ms' },
          { name: 'Parse JSON', value: value * 2 },
          // Only in the oldest run: still named and charted.
          ...(i === 0 ? [{ name: 'zip', value: 5 }] : []),
        ]),
      );
    await history.putRun(
      benchRun('shop/web', 'f1', '2026-11-26T08:00:00.000Z', [{ name: 'other', value: 1 }], {
        branch: 'feature/x',
      }),
    );
  });

  it('answers every name and the first series, each as its own route would, from one read', async () => {
    const series = vi.spyOn(history, 'series');
    const res = await get('/v1/projects/shop/web/benchmarks', { max: '2' });
    expect(res.status).toBe(200);
    expect(series).toHaveBeenCalledTimes(1);
    expect(res.body).toMatchObject({
      project: 'shop/web',
      branch: 'main',
      suite: null,
      names: ['Parse JSON', 'parse <rows>', 'zip'],
    });
    expect(res.body.benchmarks.map((b: { name: string }) => b.name)).toEqual([
      'Parse JSON',
      'parse <rows>',
    ]);
    const one = await get('/v1/projects/shop/web/benchmarks/parse <rows>');
    const { project: _p, branch: _b, suite: _s, ...own } = one.body;
    expect(res.body.benchmarks[1]).toEqual(own);
  });

  it('narrows the names by q (any case), reads another branch, and is empty on a branch without runs', async () => {
    const parse = await get('/v1/projects/shop/web/benchmarks', { q: 'PARSE' });
    expect(parse.body.names).toEqual(['Parse JSON', 'parse <rows>']);
    expect(parse.body.benchmarks).toHaveLength(2);
    const feature = await get('/v1/projects/shop/web/benchmarks', { branch: 'feature/x' });
    expect(feature.body).toMatchObject({ branch: 'feature/x', names: ['other'] });
    expect(feature.body.benchmarks[0].points).toEqual([
      expect.objectContaining({ runId: 'f1', value: 1 }),
    ]);
    const none = await get('/v1/projects/shop/web/benchmarks', { branch: 'nope' });
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ names: [], benchmarks: [] });
  });

  it('answers 404 for a project with no runs', async () => {
    const res = await get('/v1/projects/ghost/benchmarks');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found', location: { path: 'path.project' } });
  });
});

describe('local runtime: the history API over real HTTP', () => {
  const BENCH = 'parse 10k/rows [json]';
  const JUNIT = `<testsuite name="cart" tests="2" failures="1">
  <testcase classname="CartTest" name="adds item"/>
  <testcase classname="CartTest" name="removes item"><failure message="boom"/></testcase>
</testsuite>`;
  let pipeline: LocalPipeline;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vigil-history-api-'));
    pipeline = await startLocal({
      config: parseConfig({ project: 'shop/web' }),
      dataDir,
      port: 0,
      tokens: [TOKEN],
      probes: false,
    });
    const post = async (body: string, query: Record<string, string>) => {
      const params = new URLSearchParams({ project: 'shop/web', branch: 'main', ...query });
      const res = await fetch(`${pipeline.url}/v1/results?${params}`, {
        method: 'POST',
        headers: auth,
        body,
      });
      expect(res.status).toBe(202);
    };
    await post(JUNIT, { runId: 'junit-1', suite: 'unit' });
    for (const [i, value] of [12.5, 13, 12].entries())
      await post(JSON.stringify([{ name: BENCH, unit: 'ms', value }]), {
        runId: `bench-${i}`,
        format: 'benchmark',
      });
    // The history handler runs on the in-process bus, after the ingest answered.
    await pipeline.bus.drain();
  });

  afterAll(async () => {
    await pipeline?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const fetchJson = async (path: string, headers: Record<string, string> = auth) => {
    const res = await fetch(`${pipeline.url}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('needs the ingest token', async () => {
    const res = await fetchJson('/v1/projects/shop%2Fweb/runs', {});
    expect(res.status).toBe(401);
  });

  it('lists the runs the history handler recorded, for a project name encoded as one segment', async () => {
    const res = await fetchJson('/v1/projects/shop%2Fweb/runs?kind=benchmark&limit=2');
    expect(res.status).toBe(200);
    expect((res.body.runs as RunRecord[]).map((r) => r.runId)).toEqual(['bench-2', 'bench-1']);
    expect(typeof res.body.cursor).toBe('string');
  });

  it('lists failing tests', async () => {
    const res = await fetchJson('/v1/projects/shop%2Fweb/tests?status=failing');
    expect(res.status).toBe(200);
    expect(res.body.tests).toEqual([
      expect.objectContaining({
        id: 'cart > CartTest > removes item',
        last: expect.objectContaining({ status: 'failed', runId: 'junit-1', branch: 'main' }),
        outcomes: 'F',
      }),
    ]);
  });

  it('refuses a cursor of the tests listing on runs (SQLite store), with 400 naming cursor', async () => {
    const tests = await fetchJson('/v1/projects/shop%2Fweb/tests?limit=1');
    expect(typeof tests.body.cursor).toBe('string');
    const res = await fetchJson(
      `/v1/projects/shop%2Fweb/runs?cursor=${encodeURIComponent(String(tests.body.cursor))}`,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'bad_request',
      location: { path: 'query.cursor' },
      message: expect.stringContaining('"cursor"'),
    });
    // Its own listing still pages on with it.
    const next = await fetchJson(
      `/v1/projects/shop%2Fweb/tests?limit=1&cursor=${encodeURIComponent(String(tests.body.cursor))}`,
    );
    expect(next.status).toBe(200);
    expect((next.body.tests as { id: string }[]).map((t) => t.id)).toEqual([
      'cart > CartTest > removes item',
    ]);
  });

  it('answers a benchmark series whose name holds a slash, spaces and brackets', async () => {
    const res = await fetchJson(`/v1/projects/shop%2Fweb/benchmarks/${encodeURIComponent(BENCH)}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      project: 'shop/web',
      name: BENCH,
      branch: 'main',
      unit: 'ms',
      baseline: { runs: 3, median: 12.5, mad: 0.5 },
    });
    expect((res.body.points as { value: number }[]).map((p) => p.value)).toEqual([12.5, 13, 12]);
  });
});
