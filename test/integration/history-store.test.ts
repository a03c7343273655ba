import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import Database from 'libsql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DynamoHistoryStore,
  fitKey,
  HISTORY_TABLE_KEYS,
} from '../../functions/adapters/aws/dynamodb-history-store';
import { LocalStore } from '../../functions/adapters/local/store';
import { SqliteHistoryStore } from '../../functions/adapters/local/store/history-store';
import { parseConfig } from '../../functions/core/config';
import { VigilError } from '../../functions/core/errors';
import { queryRuns, queryTests } from '../../functions/core/history/queries';
import type {
  HistoryStore,
  RunKind,
  RunRecord,
  TestOutcome,
  TestRecord,
} from '../../functions/core/history/types';
import { type Clock, systemClock } from '../../functions/core/ports';
import { MemoryHistory } from '../helpers/memory-history';
import { createHistoryTable, type MotoServer, motoAvailable, startMoto } from '../helpers/moto';

const REGION = 'us-east-1';
const TABLE = 'vigil-history-test';
const T0 = Date.parse('2026-11-25T10:00:00.000Z');

let moto: MotoServer;
let dynamo: DynamoDBClient;
const withMoto = motoAvailable('DynamoHistoryStore (history-store.test.ts)');

beforeAll(async () => {
  if (!withMoto) return;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  moto = await startMoto();
  dynamo = new DynamoDBClient({ region: REGION, endpoint: moto.endpoint });
  await createHistoryTable(dynamo, TABLE);
});

afterAll(async () => {
  dynamo?.destroy();
  await moto?.stop();
});

/** A clock tests can move forward. */
const movableClock = (): Clock & { advanceDays(days: number): void } => {
  let t = T0;
  return {
    now: () => new Date(t),
    advanceDays: (days) => {
      t += days * 86_400_000;
    },
  };
};

let seq = 0;
/** Each test gets its own project, so stores can share a table or a data dir. */
const freshProject = (): string => `org/shop-${++seq}`;

const at = (minute: number): string => new Date(T0 + minute * 60_000).toISOString();

const run = (
  project: string,
  minute: number,
  opts: {
    kind?: RunKind;
    branch?: string;
    suite?: string;
    runId?: string;
    gate?: 'pass' | 'fail';
  } = {},
): RunRecord => {
  const base = {
    project,
    runId: opts.runId ?? `run-${String(minute).padStart(3, '0')}`,
    format: 'junit',
    ...(opts.suite === undefined ? {} : { suite: opts.suite }),
    ...(opts.branch === undefined ? {} : { branch: opts.branch }),
    commit: 'abc123',
    ingestedAt: at(minute),
    correlationId: `corr-${minute}`,
    gate: opts.gate ?? 'pass',
  };
  switch (opts.kind ?? 'tests') {
    case 'tests':
      return {
        ...base,
        kind: 'tests',
        summary: { total: 3, passed: 2, failed: 1, skipped: 0, flaky: 0, durationMs: 1200 },
      };
    case 'coverage': {
      const m = { pct: 80, covered: 80, total: 100 };
      return { ...base, kind: 'coverage', summary: { lines: m, branches: m, functions: m } };
    }
    case 'load':
      return {
        ...base,
        kind: 'load',
        summary: { requests: 10, failedRequests: 0, errorRate: 0, latencyMs: {}, thresholds: [] },
      };
    case 'benchmark':
      return {
        ...base,
        kind: 'benchmark',
        summary: { benchmarks: [{ name: 'parse', unit: 'ns', value: 12.5 }] },
      };
    case 'security':
      return {
        ...base,
        kind: 'security',
        summary: {
          findings: 1,
          bySeverity: { critical: 0, high: 1, medium: 0, low: 0, info: 0 },
          tools: [{ name: 'ESLint', findings: 1 }],
          new: 0,
          fixed: 0,
          suppressed: 0,
          fingerprints: [{ tool: 'ESLint', fingerprints: ['0123456789abcdef'] }],
        },
      };
  }
};

const outcome = (n: number, status: TestOutcome['status']): TestOutcome => ({
  runId: `run-${n}`,
  at: at(n),
  branch: 'main',
  commit: `c${n}`,
  status,
  retried: false,
  durationMs: 10 + n,
});

const testRec = (
  project: string,
  id: string,
  version: number,
  statuses: TestOutcome['status'][],
  flaky = false,
): TestRecord => ({
  project,
  id,
  suite: 'unit',
  classname: 'Cart',
  name: id,
  outcomes: statuses.map((s, i) => outcome(i, s)),
  ...(flaky
    ? {
        flaky: {
          reason: 'flip-rate' as const,
          explanation: 'flipped 4 times in 8 runs',
          flipRate: 0.5,
          since: at(5),
        },
      }
    : {}),
  version,
});

/** Every page of a listing, following cursors. */
const allPages = async <T>(
  list: (cursor?: string) => Promise<{ items: T[]; cursor?: string }>,
): Promise<T[][]> => {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    pages.push(page.items);
    cursor = page.cursor;
  } while (cursor !== undefined && pages.length < 50);
  return pages;
};

const TTL = 90;

/** The same expectations, run against each store (MemoryHistory is the reference). */
const contract = (name: string, makeStore: () => Promise<HistoryStore>) => {
  describe(`${name}: HistoryStore contract`, () => {
    it('writes a run idempotently: the same key again is one record, the last write winning', async () => {
      // Prepare
      const store = await makeStore();
      const project = freshProject();

      // Act
      await store.putRun(run(project, 1, { branch: 'main' }), TTL);
      await store.putRun(run(project, 1, { branch: 'main', gate: 'fail' }), TTL);
      const page = await store.listRuns(project, { limit: 10 });

      // Assess
      expect(page).toEqual({ items: [run(project, 1, { branch: 'main', gate: 'fail' })] });
      expect(await store.series(project, 'tests', undefined, 'main', 10)).toEqual(page.items);
    });

    it('lists runs newest first, filtered by kind, branch and suite, in pages', async () => {
      // Prepare
      const store = await makeStore();
      const project = freshProject();
      const other = freshProject();
      const runs = [
        run(project, 1, { branch: 'main' }),
        run(project, 2, { branch: 'main', suite: 'unit' }),
        run(project, 3, { branch: 'main', kind: 'coverage' }),
        run(project, 4, { branch: 'dev' }),
        run(project, 5, { branch: 'main' }),
        run(project, 6),
        run(project, 7, { branch: 'main' }),
        run(project, 7, { branch: 'main', runId: 'run-007b' }),
        run(other, 8, { branch: 'main' }),
      ];
      for (const r of runs) await store.putRun(r, TTL);
      const ids = (pages: RunRecord[][]) => pages.map((p) => p.map((r) => r.runId));

      // Act
      const everything = await allPages((cursor) => store.listRuns(project, { limit: 3, cursor }));
      const mainTests = await allPages((cursor) =>
        store.listRuns(project, { kind: 'tests', branch: 'main', suite: null, limit: 2, cursor }),
      );
      const unit = await store.listRuns(project, { suite: 'unit', limit: 5 });
      const load = await store.listRuns(project, { kind: 'load', limit: 5 });

      // Assess
      expect(ids(everything)).toEqual([
        ['run-007b', 'run-007', 'run-006'],
        ['run-005', 'run-004', 'run-003'],
        ['run-002', 'run-001'],
      ]);
      expect(ids(mainTests)).toEqual([
        ['run-007b', 'run-007'],
        ['run-005', 'run-001'],
      ]);
      expect(unit).toEqual({ items: [runs[1]] });
      expect(load).toEqual({ items: [] });
    });

    it('serves a series: one kind, suite and branch, newest first, at most `limit`', async () => {
      // Prepare
      const store = await makeStore();
      const project = freshProject();
      for (let m = 1; m <= 5; m++) await store.putRun(run(project, m, { branch: 'main' }), TTL);
      await store.putRun(run(project, 6, { branch: 'main', suite: 'unit' }), TTL);
      await store.putRun(run(project, 7, { branch: 'main', suite: '' }), TTL);
      await store.putRun(run(project, 8, { branch: 'feature/x' }), TTL);
      await store.putRun(run(project, 9, { branch: 'main', kind: 'benchmark' }), TTL);
      await store.putRun(run(project, 10), TTL);

      // Act
      const main = await store.series(project, 'tests', undefined, 'main', 3);
      const unit = await store.series(project, 'tests', 'unit', 'main', 3);
      const feature = await store.series(project, 'tests', undefined, 'feature/x', 3);
      const bench = await store.series(project, 'benchmark', undefined, 'main', 3);
      const none = await store.series(project, 'coverage', undefined, 'main', 3);

      // Assess
      expect(main.map((r) => r.runId)).toEqual(['run-005', 'run-004', 'run-003']);
      expect(unit.map((r) => r.runId)).toEqual(['run-006']);
      expect(feature.map((r) => r.runId)).toEqual(['run-008']);
      expect(bench).toEqual([run(project, 9, { branch: 'main', kind: 'benchmark' })]);
      expect(none).toEqual([]);
    });

    it('reads back stored tests and leaves absent ones out', async () => {
      // Prepare
      const store = await makeStore();
      const project = freshProject();
      const flaky = testRec(project, 'unit > Cart > adds items', 1, ['passed', 'failed'], true);
      const plain = testRec(project, 'unit > Cart > empties', 1, ['passed']);
      await store.putTest(flaky, 0, TTL);
      await store.putTest(plain, 0, TTL);

      // Act
      const got = await store.getTests(project, [
        flaky.id,
        'unit > Cart > missing',
        plain.id,
        flaky.id,
      ]);
      const elsewhere = await store.getTests(freshProject(), [flaky.id]);

      // Assess
      expect(got).toEqual(
        new Map([
          [flaky.id, flaky],
          [plain.id, plain],
        ]),
      );
      expect(elsewhere.size).toBe(0);
    });

    it('writes a test only over the version it expects', async () => {
      // Prepare
      const store = await makeStore();
      const project = freshProject();
      const id = 'unit > Cart > race';

      // Act
      const first = await Promise.all([
        store.putTest(testRec(project, id, 1, ['passed']), 0, TTL),
        store.putTest(testRec(project, id, 1, ['failed']), 0, TTL),
      ]);
      const again = await store.putTest(testRec(project, id, 1, ['skipped']), 0, TTL);
      const stale = await store.putTest(testRec(project, id, 3, ['skipped']), 2, TTL);
      const next = await store.putTest(testRec(project, id, 2, ['passed', 'passed']), 1, TTL);

      // Assess
      expect(first.filter(Boolean)).toHaveLength(1);
      expect(again).toBe(false);
      expect(stale).toBe(false);
      expect(next).toBe(true);
      expect((await store.getTests(project, [id])).get(id)).toMatchObject({
        version: 2,
        outcomes: [{ status: 'passed' }, { status: 'passed' }],
      });
    });

    it('loses no outcome when concurrent writers re-read and retry', async () => {
      // Prepare
      const store = await makeStore();
      const project = freshProject();
      const id = 'unit > Cart > contended';
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; i < 3; i++) {
          for (;;) {
            const current = (await store.getTests(project, [id])).get(id);
            const base = current ?? testRec(project, id, 0, []);
            const next = {
              ...base,
              outcomes: [...base.outcomes, outcome(w * 10 + i, 'passed')],
              version: base.version + 1,
            };
            if (await store.putTest(next, base.version, TTL)) break;
          }
        }
      };

      // Act
      await Promise.all([0, 1, 2, 3].map(writer));
      const final = (await store.getTests(project, [id])).get(id);

      // Assess
      expect(final?.version).toBe(12);
      expect(final?.outcomes.map((o) => o.runId).sort()).toEqual(
        [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32].map((n) => `run-${n}`).sort(),
      );
    });

    it('lists tests by status in id order, in pages, and follows the latest status and a flaky state that change', async () => {
      // Prepare
      const store = await makeStore();
      const project = freshProject();
      const id = (n: number) => `unit > Cart > case-${String(n).padStart(2, '0')}`;
      await store.putTest(testRec(project, id(5), 1, ['passed', 'failed'], true), 0, TTL);
      await store.putTest(testRec(project, id(1), 1, ['failed', 'passed'], true), 0, TTL);
      await store.putTest(testRec(project, id(3), 1, ['passed', 'failed']), 0, TTL);
      await store.putTest(testRec(project, id(2), 1, ['failed', 'passed']), 0, TTL);
      await store.putTest(testRec(project, id(4), 1, ['passed', 'skipped']), 0, TTL);
      await store.putTest(testRec(freshProject(), id(6), 1, ['failed'], true), 0, TTL);
      const ids = (pages: TestRecord[][]) => pages.map((p) => p.map((t) => t.id.slice(-2)));
      const list = (status: 'flaky' | 'failing' | 'passing' | 'all', limit: number) =>
        allPages((cursor) => store.listTests(project, { status, limit, cursor }));

      // Act
      const all = await list('all', 2);
      const flaky = await list('flaky', 1);
      const failing = await list('failing', 5);
      const passing = await list('passing', 5);
      await store.putTest(testRec(project, id(5), 2, ['passed', 'failed', 'passed']), 1, TTL);
      // The latest status changes, the flaky state stays; then neither changes.
      await store.putTest(testRec(project, id(1), 2, ['failed', 'passed', 'failed'], true), 1, TTL);
      await store.putTest(testRec(project, id(3), 2, ['passed', 'failed', 'passed']), 1, TTL);
      await store.putTest(testRec(project, id(2), 2, ['failed', 'passed', 'passed']), 1, TTL);
      const flakyAfter = await list('flaky', 5);
      const failingAfter = await list('failing', 5);
      const passingAfter = await list('passing', 5);
      const read = await store.getTests(project, [id(1), id(2), id(3)]);

      // Assess
      expect(ids(all)).toEqual([['01', '02'], ['03', '04'], ['05']]);
      expect(ids(flaky)).toEqual([['01'], ['05']]);
      expect(flaky[0]?.[0]?.flaky?.reason).toBe('flip-rate');
      expect(ids(failing)).toEqual([['03', '05']]);
      expect(ids(passing)).toEqual([['01', '02']]);
      expect(ids(flakyAfter)).toEqual([['01']]);
      expect(ids(failingAfter)).toEqual([['01']]);
      expect(ids(passingAfter)).toEqual([['02', '03', '05']]);
      expect([...read.values()].map((t) => [t.id.slice(-2), t.version, t.outcomes.length])).toEqual(
        expect.arrayContaining([
          ['01', 2, 3],
          ['02', 2, 3],
          ['03', 2, 3],
        ]),
      );
    });

    it('answers empty for an unknown project', async () => {
      // Prepare
      const store = await makeStore();
      const project = freshProject();

      // Act
      const runs = await store.listRuns(project, { limit: 5 });
      const series = await store.series(project, 'tests', undefined, 'main', 5);
      const tests = await store.getTests(project, ['a']);
      const listed = await store.listTests(project, { status: 'all', limit: 5 });

      // Assess
      expect(runs).toEqual({ items: [] });
      expect(series).toEqual([]);
      expect(tests.size).toBe(0);
      expect(listed).toEqual({ items: [] });
    });
  });
};

/**
 * What the two real stores add to the reference: expiry, cursor validation, long ids, odd
 * project names, and a check of the version they are given.
 */
const durable = (name: string, makeStore: (clock: Clock) => Promise<HistoryStore>) => {
  describe(`${name}: durable store`, () => {
    it('forgets runs and tests after their retention, and lets an expired test be recreated', async () => {
      // Prepare
      const clock = movableClock();
      const store = await makeStore(clock);
      const project = freshProject();
      await store.putRun(run(project, 1, { branch: 'main' }), 1);
      await store.putRun(run(project, 2, { branch: 'main' }), 30);
      await store.putTest(testRec(project, 'unit > a', 1, ['passed']), 0, 1);
      await store.putTest(testRec(project, 'unit > b', 1, ['failed'], true), 0, 30);

      // Act: two days on, a newer run comes in (the local store counts expiry from it)
      clock.advanceDays(2);
      await store.putRun(run(project, 2 * 1440, { branch: 'main' }), 30);
      const runs = await store.listRuns(project, { limit: 5 });
      const series = await store.series(project, 'tests', undefined, 'main', 5);
      const tests = await store.getTests(project, ['unit > a', 'unit > b']);
      const listed = await store.listTests(project, { status: 'all', limit: 5 });
      const recreated = await store.putTest(testRec(project, 'unit > a', 1, ['skipped']), 0, 1);

      // Assess
      expect(runs.items.map((r) => r.runId)).toEqual(['run-2880', 'run-002']);
      expect(series.map((r) => r.runId)).toEqual(['run-2880', 'run-002']);
      expect([...tests.keys()]).toEqual(['unit > b']);
      expect(listed.items.map((t) => t.id)).toEqual(['unit > b']);
      expect(recreated).toBe(true);
      expect((await store.getTests(project, ['unit > a'])).get('unit > a')?.outcomes).toEqual([
        outcome(0, 'skipped'),
      ]);
    });

    it('refuses a cursor it did not make with a bad_request', async () => {
      // Prepare
      const store = await makeStore(movableClock());
      const project = freshProject();
      const bad = [
        'not base64 at all!',
        Buffer.from('{"sk":42,"k":42}').toString('base64url'),
        Buffer.from('plain text').toString('base64url'),
      ];

      // Act
      const results = await Promise.allSettled(
        bad.flatMap((cursor) => [
          store.listRuns(project, { limit: 2, cursor }),
          store.listTests(project, { status: 'all', limit: 2, cursor }),
          store.listTests(project, { status: 'flaky', limit: 2, cursor }),
        ]),
      );

      // Assess
      for (const r of results) {
        expect(r.status).toBe('rejected');
        const reason = (r as PromiseRejectedResult).reason as VigilError;
        expect(reason).toBeInstanceOf(VigilError);
        expect(reason.code).toBe('bad_request');
        // The history API answers it with the parameter to fix (docs: `query.cursor`).
        expect(reason.location).toEqual({ path: 'query.cursor' });
      }
    });

    it('through the history API, pages on with its own cursor and refuses it on the other listing', async () => {
      // Prepare
      const clock = movableClock();
      const store = await makeStore(clock);
      const project = freshProject();
      for (const m of [1, 2, 3]) await store.putRun(run(project, m, { branch: 'main' }), TTL);
      for (const id of ['unit > a', 'unit > b', 'unit > c'])
        await store.putTest(testRec(project, id, 1, ['passed']), 0, TTL);
      const deps = { history: store, config: parseConfig({}), clock };

      // Act
      const runs = await queryRuns(deps, project, { limit: 2 });
      const tests = await queryTests(deps, project, { status: 'all', limit: 2 });
      const nextRuns = await queryRuns(deps, project, { limit: 2, cursor: runs.cursor });
      const nextTests = await queryTests(deps, project, {
        status: 'all',
        limit: 2,
        cursor: tests.cursor,
      });
      const crossed = await Promise.allSettled([
        queryRuns(deps, project, { limit: 2, cursor: tests.cursor }),
        queryTests(deps, project, { status: 'all', limit: 2, cursor: runs.cursor }),
        queryRuns(deps, project, { kind: 'tests', limit: 2, cursor: runs.cursor }),
      ]);

      // Assess
      expect(nextRuns.runs.map((r) => r.runId)).toEqual(['run-001']);
      expect(nextTests.tests.map((t) => t.id)).toEqual(['unit > c']);
      for (const r of crossed) {
        expect(r.status).toBe('rejected');
        const reason = (r as PromiseRejectedResult).reason as VigilError;
        expect(reason.code).toBe('bad_request');
        expect(reason.location).toEqual({ path: 'query.cursor' });
        expect(reason.message).toContain('"cursor"');
      }
    });

    it('keeps test ids longer than a DynamoDB key apart, and lists them', async () => {
      // Prepare
      const store = await makeStore(movableClock());
      const project = freshProject();
      const prefix = `unit > Parametrized > ${'é'.repeat(700)} `;
      const a = testRec(project, `${prefix}a`, 1, ['passed']);
      const b = testRec(project, `${prefix}b`, 1, ['failed']);

      // Act
      const written = [await store.putTest(a, 0, TTL), await store.putTest(b, 0, TTL)];
      const got = await store.getTests(project, [a.id, b.id]);
      const listed = await allPages((cursor) =>
        store.listTests(project, { status: 'all', limit: 1, cursor }),
      );

      // Assess
      expect(written).toEqual([true, true]);
      expect(got.get(a.id)).toEqual(a);
      expect(got.get(b.id)).toEqual(b);
      // Ids this long sort by their first ~950 bytes on DynamoDB, then by hash.
      expect(listed.map((p) => p.length)).toEqual([1, 1]);
      expect(
        listed
          .flat()
          .map((t) => t.id.slice(-1))
          .sort(),
      ).toEqual(['a', 'b']);
    });

    it('orders test ids as DynamoDB does: by their UTF-8 bytes', async () => {
      // Prepare
      const store = await makeStore(movableClock());
      const project = freshProject();
      const sorted = ['B', 'a', 'a b', 'é', '\uFFFD', '😀'];
      for (const id of [...sorted].reverse())
        await store.putTest(testRec(project, id, 1, ['passed']), 0, TTL);

      // Act
      const listed = await allPages((cursor) =>
        store.listTests(project, { status: 'all', limit: 4, cursor }),
      );

      // Assess
      expect(listed.map((p) => p.map((t) => t.id))).toEqual([sorted.slice(0, 4), sorted.slice(4)]);
    });

    it('keeps projects whose names look like paths apart', async () => {
      // Prepare
      const store = await makeStore(movableClock());
      const names = ['..', '../etc', 'Org/Repo', 'org/repo', 'org%2Frepo'];

      // Act
      for (const [i, project] of names.entries())
        await store.putRun(run(project, i, { branch: 'main' }), TTL);
      const listed = await Promise.all(names.map((p) => store.listRuns(p, { limit: 10 })));

      // Assess
      expect(listed.map((p) => p.items.map((r) => r.project))).toEqual(names.map((n) => [n]));
    });

    it('refuses a test whose version is not the expected one plus one', async () => {
      // Prepare
      const store = await makeStore(movableClock());

      // Act
      const act = store.putTest(testRec(freshProject(), 'unit > v', 1, ['passed']), 1, TTL);

      // Assess
      await expect(act).rejects.toThrow('test record version must be expectedVersion + 1');
    });
  });
};

// The reference -------------------------------------------------------------------------------

contract('MemoryHistory', async () => new MemoryHistory());

// The embedded store ---------------------------------------------------------------------------

const tempDir = () => mkdtemp(join(tmpdir(), 'vigil-hist-'));

contract('SqliteHistoryStore', async () => LocalStore.open(await tempDir()).history);
durable('SqliteHistoryStore', async (clock) => LocalStore.open(await tempDir(), { clock }).history);

describe('SqliteHistoryStore', () => {
  const everyTest = async (store: HistoryStore, project: string) =>
    (await allPages((cursor) => store.listTests(project, { status: 'all', limit: 1000, cursor })))
      .flat()
      .map((t) => `${t.id}@${t.version}`);

  it('reads everything back after a restart, and the version check goes on', async () => {
    // Prepare
    const dir = await tempDir();
    const first = LocalStore.open(dir);
    const project = freshProject();
    await first.history.putRun(run(project, 1), TTL);
    await first.history.putTest(testRec(project, 'unit > a', 1, ['passed']), 0, TTL);
    await first.history.putTest(testRec(project, 'unit > a', 2, ['passed', 'failed']), 1, TTL);
    await first.history.putTest(testRec(project, 'unit > c', 1, ['passed'], true), 0, TTL);
    const before = await first.history.getTests(project, ['unit > a', 'unit > c']);
    first.close();

    // Act
    const restarted = LocalStore.open(dir);
    const after = await restarted.history.getTests(project, ['unit > a', 'unit > c']);
    const runs = await restarted.history.listRuns(project, { limit: 5 });
    const flaky = await restarted.history.listTests(project, { status: 'flaky', limit: 5 });
    const stale = await restarted.history.putTest(
      testRec(project, 'unit > a', 2, ['skipped']),
      1,
      TTL,
    );
    const next = await restarted.history.putTest(
      testRec(project, 'unit > a', 3, ['skipped']),
      2,
      TTL,
    );
    restarted.close();

    // Assess
    expect(after).toEqual(before);
    expect(runs.items.map((r) => r.runId)).toEqual(['run-001']);
    expect(flaky.items.map((t) => t.id)).toEqual(['unit > c']);
    expect([stale, next]).toEqual([false, true]);
  });

  it('serves an empty series for a limit of 0, and keeps a test that has no outcome yet', async () => {
    const store = LocalStore.open(await tempDir());
    const project = freshProject();
    await store.history.putRun(run(project, 1, { branch: 'main' }), TTL);
    expect(await store.history.series(project, 'tests', undefined, 'main', 0)).toEqual([]);
    const empty = testRec(project, 'unit > new', 1, []);
    expect(await store.history.putTest(empty, 0, TTL)).toBe(true);
    expect((await store.history.getTests(project, ['unit > new'])).get('unit > new')).toEqual(
      empty,
    );
    store.close();
  });

  it('lets one of concurrent writers of a version win, in one group commit', async () => {
    // Prepare
    const store = LocalStore.open(await tempDir());
    const project = freshProject();

    // Act
    const results = await Promise.all(
      [0, 1, 2].map((i) =>
        store.history.putTest(testRec(project, 'unit > cas', 1, [i ? 'passed' : 'failed']), 0, TTL),
      ),
    );
    store.close();

    // Assess
    expect(results).toEqual([true, false, false]);
  });

  it('pages 3 000 tests written at once in id order, the same after a restart', async () => {
    // Prepare: three pages of 1 000
    const dir = await tempDir();
    const store = LocalStore.open(dir);
    const project = freshProject();
    const ids = Array.from({ length: 3_000 }, (_, i) => `unit > T > case-${i}`);

    // Act: all at once, as the history service's workers write them
    const written = await Promise.all(
      ids.map((id) => store.history.putTest(testRec(project, id, 1, ['passed']), 0, TTL)),
    );
    const listed = await everyTest(store.history, project);
    store.close();
    const reopened = LocalStore.open(dir);
    const reloaded = await everyTest(reopened.history, project);
    reopened.close();

    // Assess
    expect(written.every(Boolean)).toBe(true);
    expect(listed).toEqual([...ids].sort().map((id) => `${id}@1`));
    expect(reloaded).toEqual(listed);
  });

  it('skips a corrupt record in reads and listings, and lets it be written again', async () => {
    // Prepare: written, damaged, then read after a restart (the writing connection would serve
    // the tests it wrote from memory)
    const dir = await tempDir();
    const writer = LocalStore.open(dir);
    const project = freshProject();
    await writer.history.putRun(run(project, 1), TTL);
    await writer.history.putRun(run(project, 2), TTL);
    await writer.history.putTest(testRec(project, 'unit > a', 1, ['passed']), 0, TTL);
    await writer.history.putTest(testRec(project, 'unit > b', 1, ['failed']), 0, TTL);
    writer.db.q(`UPDATE runs SET body = '{"torn' WHERE key LIKE '%run-001'`).run();
    writer.db.q(`UPDATE tests SET body = 'garbage' WHERE id = 'unit > a'`).run();
    writer.close();
    const store = LocalStore.open(dir);

    // Act
    const runs = await store.history.listRuns(project, { limit: 5 });
    const series = await store.history.series(project, 'tests', undefined, 'main', 5);
    const tests = await store.history.getTests(project, ['unit > a', 'unit > b']);
    const listed = await store.history.listTests(project, { status: 'all', limit: 5 });
    const rewritten = await store.history.putTest(
      testRec(project, 'unit > a', 2, ['passed']),
      1,
      TTL,
    );
    const after = await store.history.getTests(project, ['unit > a']);
    store.close();

    // Assess
    expect(runs.items.map((r) => r.runId)).toEqual(['run-002']);
    expect(series).toEqual([]);
    expect([...tests.keys()]).toEqual(['unit > b']);
    expect(listed.items.map((t) => t.id)).toEqual(['unit > b']);
    expect(rewritten).toBe(true);
    expect(after.get('unit > a')?.version).toBe(2);
  });

  it('serves the tests it wrote from memory, and sees another connection’s write once its own is refused', async () => {
    // Prepare: the bus worker's connection writes; another connection writes the same test
    const dir = await tempDir();
    const worker = LocalStore.open(dir);
    const other = LocalStore.open(dir, { lock: false });
    const project = freshProject();
    await worker.history.putTest(testRec(project, 'unit > a', 1, ['passed']), 0, TTL);
    await other.history.putTest(testRec(project, 'unit > a', 2, ['passed', 'failed']), 1, TTL);

    // Act
    const remembered = await worker.history.getTests(project, ['unit > a']);
    const refused = await worker.history.putTest(
      testRec(project, 'unit > a', 2, ['passed', 'passed']),
      1,
      TTL,
    );
    const reread = await worker.history.getTests(project, ['unit > a']);
    worker.close();
    other.close();

    // Assess: its own write, until the version check refuses the next one; then the table's
    expect(remembered.get('unit > a')?.version).toBe(1);
    expect(refused).toBe(false);
    expect(reread.get('unit > a')).toEqual(testRec(project, 'unit > a', 2, ['passed', 'failed']));
  });

  it('stores what it builds from its last write of a test as a full write would', async () => {
    // Prepare: 35 runs of one test, each appending its outcome to the window it wrote last (the
    // same objects, the oldest dropped past 30), as the history service does; run 20 arrives
    // late (inserted, not appended), and from run 25 on the test is flaky (another body)
    const dir = await tempDir();
    const writer = LocalStore.open(dir);
    const project = freshProject();
    let last: TestRecord | undefined;
    for (let n = 1; n <= 35; n++) {
      const late = n === 21 ? outcome(20, 'skipped') : undefined;
      const added = late ?? outcome(n === 20 ? 21 : n, n % 3 === 0 ? 'failed' : 'passed');
      const outcomes = [...(last?.outcomes ?? []), added].sort((a, b) => a.at.localeCompare(b.at));
      const flaky = n >= 25 ? testRec(project, 'unit > a', 1, [], true).flaky : undefined;
      const next: TestRecord = {
        ...testRec(project, 'unit > a', n, []),
        outcomes: outcomes.slice(-30),
        ...(flaky ? { flaky } : {}),
      };
      expect(await writer.history.putTest(next, n - 1, TTL)).toBe(true);
      last = next;
    }

    // Act: read by another connection, from the table
    const reader = LocalStore.open(dir, { lock: false });
    const read = await reader.history.getTests(project, ['unit > a']);
    reader.close();
    writer.close();

    // Assess
    expect(read.get('unit > a')).toEqual(last);
    expect(last?.outcomes.map((o) => o.runId)).toEqual(
      Array.from({ length: 30 }, (_, i) => `run-${i + 6}`),
    );
  });

  it('stores a window that is not its last one plus an outcome as a full write would', async () => {
    // Prepare: two outcomes added at once, then none left
    const dir = await tempDir();
    const writer = LocalStore.open(dir);
    const project = freshProject();
    const one = testRec(project, 'unit > a', 1, ['passed']);
    const three = {
      ...testRec(project, 'unit > a', 2, []),
      outcomes: [...one.outcomes, outcome(1, 'failed'), outcome(2, 'passed')],
    };
    const none = testRec(project, 'unit > a', 3, []);
    const reads: (TestRecord | undefined)[] = [];
    const reader = LocalStore.open(dir, { lock: false });

    // Act
    for (const [next, expected] of [
      [one, 0],
      [three, 1],
      [none, 2],
    ] as const) {
      await writer.history.putTest(next, expected, TTL);
      reads.push((await reader.history.getTests(project, ['unit > a'])).get('unit > a'));
    }
    reader.close();
    writer.close();

    // Assess
    expect(reads).toEqual([one, three, none]);
  });

  it("writes a report's known tests a hundred per statement, and still refuses each one changed or removed meanwhile", async () => {
    // Prepare: 250 tests written; then another connection moves one on and prunes another.
    const dir = await tempDir();
    const store = LocalStore.open(dir);
    const project = freshProject();
    const ids = Array.from({ length: 250 }, (_, i) => `unit > t${String(i).padStart(3, '0')}`);
    await store.history.putTests(
      ids.map((id) => ({ record: testRec(project, id, 1, ['passed']), expectedVersion: 0 })),
      TTL,
    );
    const other = LocalStore.open(dir, { lock: false });
    other.db.q('UPDATE tests SET version = 2 WHERE project = ? AND id = ?').run(project, ids[5]);
    other.db
      .q('UPDATE tests SET expires_at = 0 WHERE project = ? AND id = ?')
      .run(project, ids[150]);
    expect(other.db.tx(() => other.history.prune())).toMatchObject({ records: 1 });
    const statements: string[] = [];
    const exec = store.db.db.exec.bind(store.db.db);
    vi.spyOn(store.db.db, 'exec').mockImplementation((sql: string) => {
      if (sql.includes('in_place')) statements.push(sql);
      return exec(sql);
    });

    // Act: the next run, every test passing again (its latest and flaky unchanged).
    const written = await store.history.putTests(
      ids.map((id) => ({
        record: testRec(project, id, 2, ['passed', 'passed']),
        expectedVersion: 1,
      })),
      TTL,
    );
    const read = await other.history.getTests(project, ids);
    other.close();
    store.close();

    // Assess: the hundred with the test moved on was undone, the one with the removed test not
    // tried (its rows counted first), both written one by one; the last 50 went ten by ten.
    expect(statements).toEqual([
      'SAVEPOINT in_place',
      'ROLLBACK TO in_place; RELEASE in_place',
      ...Array.from({ length: 5 }, () => ['SAVEPOINT in_place', 'RELEASE in_place']).flat(),
    ]);
    expect(written.flatMap((ok, i) => (ok ? [] : [i]))).toEqual([5, 150]);
    expect(read.has(ids[150] as string)).toBe(false);
    expect(read.get(ids[5] as string)?.outcomes).toHaveLength(1);
    expect(read.get(ids[249] as string)).toMatchObject({ version: 2, outcomes: [{}, {}] });
    expect(read.size).toBe(249);
  });

  it('counts none of the rows it wrote itself before writing them in place, until a prune deletes tests', async () => {
    // Prepare: 100 tests written; a spy on the statements that count rows
    const dir = await tempDir();
    const store = LocalStore.open(dir);
    const other = LocalStore.open(dir, { lock: false });
    const project = freshProject();
    const ids = Array.from({ length: 100 }, (_, i) => `unit > t${i}`);
    const run = async (version: number) =>
      store.history.putTests(
        ids.map((id) => ({
          record: testRec(project, id, version, Array(version).fill('passed')),
          expectedVersion: version - 1,
        })),
        TTL,
      );
    await run(1);
    let counts = 0;
    const q = store.db.q.bind(store.db);
    vi.spyOn(store.db, 'q').mockImplementation((sql: string) => {
      if (sql.startsWith('SELECT count(*)')) counts++;
      return q(sql);
    });

    // Act: a run; another connection prunes an expired test of another project; two more runs
    const perRun: number[] = [];
    for (const version of [2, 3, 4]) {
      if (version === 3) {
        await other.history.putTest(testRec(freshProject(), 'gone', 1, ['passed']), 0, TTL);
        other.db.q('UPDATE tests SET expires_at = 0 WHERE id = ?').run('gone');
        other.db.tx(() => other.history.prune());
      }
      const before = counts;
      expect(await run(version)).toEqual(ids.map(() => true));
      perRun.push(counts - before);
    }
    other.close();
    store.close();

    // Assess: counted only in the run after the prune
    expect(perRun).toEqual([0, 1, 0]);
  });

  it('writes in place the tests of a project beyond what it remembers, by their last outcome', async () => {
    // Prepare: a store that remembers no test it writes (a project beyond writtenTestsMax).
    const store = LocalStore.open(await tempDir());
    const history = new SqliteHistoryStore(store.db, { clock: systemClock, writtenTestsMax: 0 });
    const project = freshProject();
    const ids = Array.from({ length: 150 }, (_, i) => `unit > t${String(i).padStart(3, '0')}`);
    await history.putTests(
      ids.map((id) => ({ record: testRec(project, id, 1, ['passed']), expectedVersion: 0 })),
      TTL,
    );
    const statements: string[] = [];
    const exec = store.db.db.exec.bind(store.db.db);
    vi.spyOn(store.db.db, 'exec').mockImplementation((sql: string) => {
      if (sql.includes('in_place')) statements.push(sql);
      return exec(sql);
    });

    // Act: the next run; one test fails now (not in place), one turned flaky (in the first
    // hundred: that statement is undone), the others passed again.
    const written = await history.putTests(
      ids.map((id, i) => ({
        record: testRec(project, id, 2, ['passed', i === 7 ? 'failed' : 'passed'], i === 3),
        expectedVersion: 1,
      })),
      TTL,
    );
    const read = await history.getTests(project, ids);
    store.close();

    // Assess: 149 tests in place: the first hundred undone, then four tens; 9 one by one.
    expect(statements).toEqual([
      'SAVEPOINT in_place',
      'ROLLBACK TO in_place; RELEASE in_place',
      ...Array.from({ length: 4 }, () => ['SAVEPOINT in_place', 'RELEASE in_place']).flat(),
    ]);
    expect(written.every(Boolean)).toBe(true);
    expect([...read.values()].every((r) => r.version === 2)).toBe(true);
    expect(read.get(ids[3] as string)?.flaky).toBeDefined();
    expect(read.get(ids[7] as string)?.outcomes.at(-1)?.status).toBe('failed');
  });

  it('remembers at most as many written tests as it is given, and reads the others', async () => {
    // Prepare: room for one; both rows then damaged, so only a table read skips one
    const store = LocalStore.open(await tempDir());
    const history = new SqliteHistoryStore(store.db, { clock: systemClock, writtenTestsMax: 1 });
    const project = freshProject();
    await history.putTests(
      ['unit > a', 'unit > b'].map((id) => ({
        record: testRec(project, id, 1, ['passed']),
        expectedVersion: 0,
      })),
      TTL,
    );
    store.db.q(`UPDATE tests SET body = 'garbage' WHERE project = ?`).run(project);

    // Act
    const read = await history.getTests(project, ['unit > a', 'unit > b']);
    store.close();

    // Assess
    expect([...read.keys()]).toEqual(['unit > a']);
  });

  it('stores a full window in a fraction of its JSON, and reads back every field', async () => {
    // Prepare: 30 outcomes with 32-character run ids and 40-character commits, as `vigil report`
    // sends them, one retried and one without a branch or commit
    const store = LocalStore.open(await tempDir());
    const project = freshProject();
    const outcomes: TestOutcome[] = Array.from({ length: 30 }, (_, i) => ({
      runId: `${i}`.padStart(32, 'r'),
      at: at(i),
      branch: 'main',
      commit: `${i}`.padStart(40, 'c'),
      status: i % 7 === 0 ? 'failed' : i === 3 ? 'skipped' : 'passed',
      retried: i === 5,
      durationMs: 12.5 + i,
    }));
    outcomes[9] = { runId: 'local', at: at(9), status: 'passed', retried: false, durationMs: 0 };
    const record: TestRecord = { ...testRec(project, 'unit > w', 1, [], true), outcomes };

    // Act
    await store.history.putTest(record, 0, TTL);
    const back = (await store.history.getTests(project, ['unit > w'])).get('unit > w');
    const row = store.db
      .q('SELECT length(body) + length(window) AS bytes FROM tests WHERE project = ?')
      .get(project) as { bytes: number };
    store.close();

    // Assess
    expect(back).toEqual(record);
    expect(JSON.stringify(record).length).toBeGreaterThan(5_000);
    expect(row.bytes).toBeLessThan(1_000);
  });

  it('upgrades a store of the old schema in place: the same records, the version check goes on', async () => {
    // Prepare: a database as the previous version left it (the whole record in `body`)
    const dir = await tempDir();
    const project = freshProject();
    const old = new Database(join(dir, 'vigil.db'));
    old.exec(`CREATE TABLE tests (
      project TEXT NOT NULL, id TEXT NOT NULL, expires_at INTEGER NOT NULL, version INTEGER NOT NULL,
      latest TEXT, flaky INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (project, id)
    ) WITHOUT ROWID`);
    const records = [
      testRec(project, 'unit > a', 3, ['passed', 'failed', 'passed'], true),
      testRec(project, 'unit > b', 1, ['failed']),
    ];
    const insert = old.prepare('INSERT INTO tests VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const r of records)
      insert.run(
        project,
        r.id,
        Date.now() + 86_400_000,
        r.version,
        'x',
        r.flaky ? 1 : 0,
        JSON.stringify(r),
      );
    insert.run(project, 'unit > torn', Date.now() + 86_400_000, 1, 'x', 0, '{"torn');
    old.close();

    // Act
    const store = LocalStore.open(dir);
    const read = await store.history.getTests(project, ['unit > a', 'unit > b', 'unit > torn']);
    const flaky = await store.history.listTests(project, { status: 'flaky', limit: 5 });
    const next = testRec(project, 'unit > b', 2, ['failed', 'passed']);
    const results = [
      await store.history.putTest(testRec(project, 'unit > b', 1, ['passed']), 0, TTL),
      await store.history.putTest(next, 1, TTL),
    ];
    const bodies = store.db.q('SELECT body FROM tests WHERE project = ?').all(project) as {
      body: string;
    }[];
    const { user_version: version } = store.db.q('PRAGMA user_version').get() as {
      user_version: number;
    };
    store.close();
    const reopened = LocalStore.open(dir);
    const after = await reopened.history.getTests(project, ['unit > a', 'unit > b']);
    reopened.close();

    // Assess
    expect([...read.values()]).toEqual(records);
    expect(flaky.items.map((t) => t.id)).toEqual(['unit > a']);
    expect(results).toEqual([false, true]);
    expect(bodies.filter((b) => b.body.includes('outcomes'))).toEqual([]);
    expect(bodies).toContainEqual({ body: '{"torn' }); // left as it was: still skipped
    expect(version).toBe(1);
    expect([...after.values()]).toEqual([records[0], next]);
  });

  it('prunes the runs no window holds, and a connection that knew one writes it anew', async () => {
    // Prepare: the bus worker's connection writes, the owner's prunes
    const dir = await tempDir();
    const owner = LocalStore.open(dir);
    const worker = LocalStore.open(dir, { lock: false });
    const project = freshProject();
    const window = (...runs: number[]) => runs.map((n) => outcome(n, 'passed'));
    const rec = (id: string, version: number, outcomes: TestOutcome[]): TestRecord => ({
      ...testRec(project, id, version, []),
      outcomes,
    });
    await worker.history.putTest(rec('unit > a', 1, window(1, 2)), 0, TTL);
    await worker.history.putTest(rec('unit > a', 2, window(2, 3)), 1, TTL);
    const parts = () =>
      (
        owner.db.q('SELECT run_id FROM window_runs WHERE project = ?').all(project) as {
          run_id: string;
        }[]
      ).map((r) => r.run_id);
    const before = parts();

    // Act: run-1 left every window; then a replay of run-1 reaches a new test
    const counted = owner.prune();
    const pruned = parts();
    const late = rec('unit > b', 1, window(1, 3));
    await worker.history.putTest(late, 0, TTL);
    const read = await owner.history.getTests(project, ['unit > a', 'unit > b']);
    worker.close();
    owner.close();

    // Assess
    expect(before).toEqual(['run-1', 'run-2', 'run-3']);
    expect(pruned).toEqual(['run-2', 'run-3']);
    // Told apart in the start's log: a window part is space reclaimed, not a record deleted.
    expect(counted).toMatchObject({ history: 0, historyWindowParts: 1 });
    expect(read.get('unit > b')).toEqual(late);
    expect(read.get('unit > a')?.outcomes).toEqual(window(2, 3));
  });

  it('fails the writes of a full disk with a retryable error, keeps none of them, and recovers', async () => {
    // Prepare: SQLite's page limit is a full disk as the database sees it
    const store = LocalStore.open(await tempDir());
    const project = freshProject();
    await store.history.putRun(run(project, 1), TTL);
    const { page_count: pages } = store.db.q('PRAGMA page_count').get() as { page_count: number };
    store.db.db.exec(`PRAGMA max_page_count = ${pages}`);
    const big = testRec(project, 'unit > big', 1, Array(2000).fill('passed'));

    // Act: each write needs new pages, whichever transaction of the group commit takes it (a
    // small run alone may fit in a page that has room)
    const failed = await Promise.allSettled([
      store.history.putRun({ ...run(project, 2), correlationId: 'c'.repeat(20_000) }, TTL),
      store.history.putTest(big, 0, TTL),
    ]);
    store.db.db.exec('PRAGMA max_page_count = 1073741823');
    const retried = await store.history.putTest(big, 0, TTL);
    const runs = await store.history.listRuns(project, { limit: 5 });
    store.close();

    // Assess
    for (const f of failed) {
      expect(f.status).toBe('rejected');
      const error = (f as PromiseRejectedResult).reason as VigilError;
      expect(error).toBeInstanceOf(VigilError);
      expect(error.status).toBe(503);
      expect(error.message).toMatch(/data directory is full/);
    }
    expect(retried).toBe(true);
    expect(runs.items.map((r) => r.runId)).toEqual(['run-001']);
  });
});

// DynamoDB on moto ----------------------------------------------------------------------------

const dynamoStore = async (clock?: Clock) =>
  new DynamoHistoryStore({ table: TABLE, client: dynamo, ...(clock ? { clock } : {}) });

describe.skipIf(!withMoto)('on moto', () => {
  contract('DynamoHistoryStore', () => dynamoStore());
  durable('DynamoHistoryStore', dynamoStore);
});

describe.skipIf(!withMoto)('DynamoHistoryStore', () => {
  const flakyIndexItems = async (project: string) =>
    (
      await dynamo.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: HISTORY_TABLE_KEYS.flakyIndex.name,
          KeyConditionExpression: 'flakyPk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `FLAKY#${project}` } },
        }),
      )
    ).Items ?? [];

  it('puts only flaky tests in the flaky index, and takes them out when they recover', async () => {
    // Prepare
    const store = await dynamoStore(movableClock());
    const project = freshProject();
    await store.putTest(testRec(project, 'unit > steady', 1, ['passed']), 0, 30);
    await store.putTest(testRec(project, 'unit > flaky', 1, ['failed', 'passed'], true), 0, 30);

    // Act
    const before = await flakyIndexItems(project);
    await store.putTest(testRec(project, 'unit > flaky', 2, ['passed']), 1, 30);
    const after = await flakyIndexItems(project);

    // Assess
    expect(before.map((i) => i.sk?.S)).toEqual(['unit > flaky']);
    expect(after).toEqual([]);
  });

  it('stamps every item with its TTL in epoch seconds, refreshed on each write', async () => {
    // Prepare
    const clock = movableClock();
    const store = await dynamoStore(clock);
    const project = freshProject();
    const key = { pk: { S: `TESTS#${project}` }, sk: { S: 'unit > ttl' } };
    const expiresAt = async () =>
      Number(
        (await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: key }))).Item?.expiresAt?.N,
      );
    await store.putTest(testRec(project, 'unit > ttl', 1, ['passed']), 0, 30);
    const first = await expiresAt();

    // Act
    clock.advanceDays(10);
    await store.putTest(testRec(project, 'unit > ttl', 2, ['passed', 'passed']), 1, 30);

    // Assess
    expect(first).toBe(T0 / 1000 + 30 * 86_400);
    expect(await expiresAt()).toBe(T0 / 1000 + 40 * 86_400);
  });

  it('stores a test record above 1 KB gzip-compressed, one write unit instead of five', async () => {
    // Prepare
    const store = await dynamoStore();
    const project = freshProject();
    const statuses = Array.from({ length: 30 }, (_, i): TestOutcome['status'] =>
      i % 7 ? 'passed' : 'failed',
    );
    const record = testRec(project, 'unit > Cart > window', 1, statuses);

    // Act
    await store.putTest(record, 0, TTL);
    const raw = await dynamo.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `TESTS#${project}` }, sk: { S: record.id } },
      }),
    );

    // Assess
    expect(JSON.stringify(record).length).toBeGreaterThan(4_000);
    expect(raw.Item?.data).toBeUndefined();
    expect(raw.Item?.dataGz?.B?.byteLength).toBeLessThan(1_024);
    expect(raw.Item?.last?.S).toBe('passed');
    expect((await store.getTests(project, [record.id])).get(record.id)).toEqual(record);
  });

  it('stores a big benchmark run compressed, and caps one that cannot fit an item', async () => {
    // Prepare
    const store = await dynamoStore();
    const project = freshProject();
    const bench = (minute: number, count: number): RunRecord => {
      const base = run(project, minute, { kind: 'benchmark', branch: 'main' });
      // Pseudo-random names and values: realistic, not trivially compressible.
      let x = minute;
      const rnd = () => {
        x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
        return x;
      };
      const benchmarks = Array.from({ length: count }, (_, i) => ({
        name: `suite-${rnd().toString(36)}/case ${i} ${rnd().toString(36)}${rnd().toString(36)}`,
        unit: 'ns',
        value: rnd() / 1000,
        samples: 100,
        stddev: rnd() / 100_000,
      }));
      return { ...base, kind: 'benchmark', summary: { benchmarks } };
    };
    const big = bench(1, 5_000);
    const huge = bench(2, 25_000);

    // Act
    await store.putRun(big, TTL);
    await store.putRun(huge, TTL);
    const [hugeBack, bigBack] = await store.series(project, 'benchmark', undefined, 'main', 5);

    // Assess
    expect(JSON.stringify(big).length).toBeGreaterThan(400_000);
    expect(bigBack).toEqual(big);
    const kept = hugeBack?.kind === 'benchmark' ? hugeBack.summary.benchmarks : [];
    expect(kept.length).toBeGreaterThan(5_000);
    expect(kept.length).toBeLessThan(25_000);
    expect(kept).toEqual(
      huge.kind === 'benchmark' ? huge.summary.benchmarks.slice(0, kept.length) : [],
    );
  });

  it('reads many tests in batches of 100, retrying unprocessed keys', async () => {
    // Prepare
    const project = freshProject();
    const ids = Array.from({ length: 230 }, (_, i) => `unit > many > t${i}`);
    const stored = ids.filter((_, i) => i % 10 === 0);
    const seed = await dynamoStore();
    await Promise.all(
      stored.map((id) => seed.putTest(testRec(project, id, 1, ['passed']), 0, TTL)),
    );
    let batchCalls = 0;
    let throttled = 0;
    // The real client, except that the first two answers leave half their keys unprocessed.
    const client = new Proxy(dynamo, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: unknown) => {
          const out = await target.send(command as BatchGetItemCommand);
          if (!(command instanceof BatchGetItemCommand)) return out;
          batchCalls++;
          const keys = command.input.RequestItems?.[TABLE]?.Keys ?? [];
          if (throttled >= 2 || keys.length < 2) return out;
          throttled++;
          const back = keys.slice(keys.length / 2);
          const backSks = new Set(back.map((k) => k.sk?.S));
          const responses = (out.Responses?.[TABLE] ?? []).filter((i) => !backSks.has(i.sk?.S));
          return {
            ...out,
            Responses: { [TABLE]: responses },
            UnprocessedKeys: { [TABLE]: { Keys: back } },
          };
        };
      },
    });
    const store = new DynamoHistoryStore({ table: TABLE, client });

    // Act
    const got = await store.getTests(project, ids);

    // Assess
    expect([...got.keys()].sort()).toEqual(stored.sort());
    expect(batchCalls).toBe(5);
  });

  it('gives up with unavailable when reads stay throttled, and lets other errors through', async () => {
    // Prepare
    const throttling = new Proxy(dynamo, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: BatchGetItemCommand) => ({
          Responses: {},
          UnprocessedKeys: { [TABLE]: { Keys: command.input.RequestItems?.[TABLE]?.Keys } },
        });
      },
    });
    const store = new DynamoHistoryStore({ table: TABLE, client: throttling, retryDelayMs: 0 });
    const missing = new DynamoHistoryStore({ table: 'no-such-table', client: dynamo });

    // Act
    const throttled = await store.getTests(freshProject(), ['unit > a']).catch((e: unknown) => e);
    const noTable = missing.putTest(testRec(freshProject(), 'unit > a', 1, ['passed']), 0, TTL);

    // Assess
    expect(throttled).toBeInstanceOf(VigilError);
    expect((throttled as VigilError).code).toBe('unavailable');
    await expect(noTable).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('pages a filtered listing across many query pages without losing or repeating runs', async () => {
    // Prepare
    const store = await dynamoStore();
    const project = freshProject();
    // Three runs match, 40 apart: the first page needs two queries of FILTERED_PAGE (100) items.
    const runs: RunRecord[] = [];
    for (let m = 0; m < 120; m++)
      runs.push(run(project, m, m % 40 === 0 ? { branch: 'main' } : { kind: 'coverage' }));
    await Promise.all(runs.map((r) => store.putRun(r, TTL)));

    // Act
    const pages = await allPages((cursor) =>
      store.listRuns(project, { kind: 'tests', limit: 2, cursor }),
    );

    // Assess
    expect(pages.map((p) => p.map((r) => r.runId))).toEqual([['run-080', 'run-040'], ['run-000']]);
  });

  it('fits long keys under DynamoDB limits, keeping them distinct', () => {
    // Prepare
    const long = 'x'.repeat(2_000);

    // Act
    const a = fitKey(`${long}a`, 1024);
    const b = fitKey(`${long}b`, 1024);

    // Assess
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(1024);
    expect(a).not.toBe(b);
    expect(a.startsWith('x'.repeat(900))).toBe(true);
    expect(fitKey('short', 1024)).toBe('short');
  });
});
