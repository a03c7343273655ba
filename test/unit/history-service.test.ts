import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type VigilConfigInput } from '../../functions/core/config';
import {
  type ArchivePointer,
  DETAIL_TYPES,
  type EventMetadata,
  type KnownEvent,
  SOURCES,
  type TestFlakyDetail,
} from '../../functions/core/events';
import { type ParsedReport, parseReport, type TestCase } from '../../functions/core/formats';
import { evaluateGate } from '../../functions/core/gates/gate';
import {
  backoffMs,
  groupCases,
  type HistoryDeps,
  recordReport,
} from '../../functions/core/history/service';
import type { RunRecord, TestRecord } from '../../functions/core/history/types';
import { buildEvent } from '../../functions/core/ingest/service';
import type { ArchiveReader } from '../../functions/core/ports';
import { fixedClock, MemoryPublisher, sha256 } from '../helpers/fakes';
import { generateJunit } from '../helpers/generate-junit';
import { MemoryHistory } from '../helpers/memory-history';

const CORPUS = join(__dirname, '../fixtures/corpus');
const GENERATED = join(__dirname, '../fixtures/generated');
const corpus = (path: string, dir = CORPUS): ParsedReport =>
  parseReport(readFileSync(join(dir, path), 'utf8'));

/** Reads back what the test put, by URI (the archive contract: bytes for a pointer). */
class ArchiveMap implements ArchiveReader {
  objects = new Map<string, Uint8Array>();
  async get(pointer: ArchivePointer): Promise<Uint8Array> {
    const body = this.objects.get(pointer.uri);
    if (!body) throw new Error(`NoSuchKey: ${pointer.uri}`);
    return body;
  }
  put(key: string, body: Uint8Array): ArchivePointer {
    const uri = `mem://${key}`;
    this.objects.set(uri, body);
    return { uri, bytes: body.byteLength, sha256: sha256(body) };
  }
}

/** MemoryHistory that remembers the TTLs it was given. */
class TtlHistory extends MemoryHistory {
  ttls = new Set<number>();
  override async putRun(run: RunRecord, ttlDays = -1): Promise<void> {
    this.ttls.add(ttlDays);
    return super.putRun(run);
  }
  override async putTest(record: TestRecord, expected: number, ttlDays = -1): Promise<boolean> {
    this.ttls.add(ttlDays);
    return super.putTest(record, expected);
  }
}

const T0 = Date.parse('2026-11-02T09:00:00.000Z');
const HOUR = 3_600_000;
const iso = (hours: number): string => new Date(T0 + hours * HOUR).toISOString();

let archive: ArchiveMap;
let store: TtlHistory;
let publisher: MemoryPublisher;

beforeEach(() => {
  archive = new ArchiveMap();
  store = new TtlHistory();
  publisher = new MemoryPublisher();
});

const deps = (input: VigilConfigInput = {}, extra: Partial<HistoryDeps> = {}): HistoryDeps => ({
  store,
  archive,
  publisher,
  config: parseConfig({ project: 'shop', ...input }),
  clock: fixedClock('2026-11-25T10:00:00.000Z'),
  ...extra,
});

interface RunOpts {
  runId: string;
  at: string;
  branch?: string;
  commit?: string;
  project?: string;
}

/** The event ingest would publish for `report`, with its normalized result in the archive. */
const reported = (report: ParsedReport, opts: RunOpts): KnownEvent => {
  const project = opts.project ?? 'shop';
  const gate = evaluateGate(report, parseConfig({}).gates);
  const common = {
    project,
    runId: opts.runId,
    correlationId: `corr-${opts.runId}`,
    format: report.format,
  };
  const normalized = archive.put(
    `${project}/${opts.runId}.normalized.json`,
    Buffer.from(
      JSON.stringify({ ...common, branch: opts.branch, commit: opts.commit, report, gate }),
    ),
  );
  const metadata: EventMetadata = {
    ...common,
    ...(opts.branch ? { branch: opts.branch } : {}),
    ...(opts.commit ? { commit: opts.commit } : {}),
    ingestedAt: opts.at,
    archive: normalized,
    normalized,
  };
  return buildEvent(report, metadata, gate) as KnownEvent;
};

/** A test report with these cases (P passed, F failed, S skipped, R passed after a retry). */
const cases = (spec: Record<string, 'P' | 'F' | 'S' | 'R'>): ParsedReport => {
  const list: TestCase[] = Object.entries(spec).map(([name, s]) => ({
    suite: 'cart',
    classname: 'CartTest',
    name,
    status: s === 'F' ? 'failed' : s === 'S' ? 'skipped' : 'passed',
    flaky: s === 'R',
    retries: s === 'R' ? 1 : 0,
    durationMs: 10,
  }));
  const count = (st: string) => list.filter((c) => c.status === st).length;
  return {
    kind: 'tests',
    format: 'junit',
    summary: {
      total: list.length,
      passed: count('passed'),
      failed: count('failed'),
      skipped: count('skipped'),
      flaky: list.filter((c) => c.flaky).length,
      durationMs: 10 * list.length,
    },
    warnings: [],
    cases: list,
  };
};

const notices = (): TestFlakyDetail[] =>
  publisher.events.map((e) => {
    expect([e.source, e.detailType]).toEqual([SOURCES.history, DETAIL_TYPES.testFlaky]);
    return e.detail as TestFlakyDetail;
  });

describe('recordReport: runs', () => {
  it('records every kind of report with the stage’s retention, and tests only for test runs', async () => {
    // Prepare
    const d = deps({ stages: { prod: { historyRetentionDays: 400 } } }, { stage: 'prod' });
    const reports: [string, ParsedReport][] = [
      ['tests', corpus('junit/datadog-java-gradle.xml')],
      ['coverage', corpus('lcov/dorny-lcov.info')],
      ['load', corpus('k6/k6-summary-v1-example-basic.json')],
      ['benchmark', corpus('benchmarks/hyperfine-1brc.json')],
    ];

    // Act
    const results = [];
    for (const [i, [kind, report]] of reports.entries())
      results.push(
        await recordReport(reported(report, { runId: kind, at: iso(i), branch: 'main' }), d),
      );

    // Assess
    expect(results.map((r) => [r.run.kind, r.tests])).toEqual([
      ['tests', 5],
      ['coverage', 0],
      ['load', 0],
      ['benchmark', 0],
    ]);
    expect(store.runs.size).toBe(4);
    expect(results[0]?.run).toMatchObject({
      project: 'shop',
      runId: 'tests',
      branch: 'main',
      ingestedAt: iso(0),
      correlationId: 'corr-tests',
      gate: 'fail',
      summary: { total: 5, failed: 1 },
    });
    expect(store.ttls).toEqual(new Set([400]));
    expect(store.tests.size).toBe(5);
  });

  it('refuses events that are not ingest reports', async () => {
    const probe = {
      source: SOURCES.history,
      detailType: DETAIL_TYPES.testFlaky,
      detail: {},
    } as unknown as KnownEvent;
    await expect(recordReport(probe, deps())).rejects.toThrow(
      'The history records ingest reports, not vigil.history / Test Flaky Detected.',
    );
  });
});

describe('recordReport: flaky detection from real reports', () => {
  it('announces Surefire flakyFailure/flakyError tests (retried), not the always-failing ones', async () => {
    // Prepare: one of them quarantined
    const d = deps({
      quarantine: [
        {
          test: 'example.ExampleTests > throwsOnly*',
          owner: 'team-checkout',
          reason: 'retries on CI',
          expires: '2026-12-31',
        },
      ],
    });
    const event = reported(corpus('junit/enricomi-surefire-rerun-flaky.xml'), {
      runId: 'mvn-1',
      at: iso(0),
      branch: 'main',
      commit: '4f2a9c1e77b0d3a5',
    });

    // Act
    const result = await recordReport(event, d);

    // Assess
    expect(result).toMatchObject({ tests: 4, flaky: 2 });
    expect(notices()).toEqual(result.newlyNoticed);
    expect(result.newlyNoticed).toEqual([
      {
        metadata: {
          project: 'shop',
          runId: 'mvn-1',
          branch: 'main',
          commit: '4f2a9c1e77b0d3a5',
          correlationId: 'corr-mvn-1',
          detectedAt: '2026-11-25T10:00:00.000Z',
        },
        test: {
          id: 'example.ExampleTests > failsAssertionOnlyFirstAttempt',
          suite: 'example.ExampleTests',
          classname: 'example.ExampleTests',
          name: 'failsAssertionOnlyFirstAttempt',
        },
        reason: 'retried',
        explanation: 'Passed only after a retry in run mvn-1 (commit 4f2a9c1e77b0).',
        batch: { index: 1, total: 2 },
      },
      expect.objectContaining({
        test: expect.objectContaining({ id: 'example.ExampleTests > throwsOnlyFirstAttempt' }),
        reason: 'retried',
        quarantined: { owner: 'team-checkout', expires: '2026-12-31' },
        batch: { index: 2, total: 2 },
      }),
    ]);
    const broken = store.tests.get('shop#example.ExampleTests > throwsAlways');
    expect(broken?.flaky).toBeUndefined();
    expect(broken?.outcomes).toEqual([
      {
        runId: 'mvn-1',
        at: iso(0),
        branch: 'main',
        commit: '4f2a9c1e77b0d3a5',
        status: 'failed',
        retried: false,
        durationMs: 10,
      },
    ]);
    expect(
      store.tests.get('shop#example.ExampleTests > throwsOnlyFirstAttempt')?.flaky,
    ).toMatchObject({
      reason: 'retried',
      since: iso(0),
      noticedAt: iso(0),
    });
  });

  it('announces a Jest test that passed on its third invocation', async () => {
    // Act
    const result = await recordReport(
      reported(corpus('jest-30-json-retries-broken-suite.json', GENERATED), {
        runId: 'jest-1',
        at: iso(0),
        branch: 'feature/coupons',
      }),
      deps(),
    );

    // Assess: the test failing all 4 invocations and the broken suite are not flaky
    expect(result.newlyNoticed.map((n) => [n.test.name, n.reason])).toEqual([
      ['passes on the third attempt', 'retried'],
    ]);
    expect(result.newlyNoticed[0]?.test.id).toBe(
      '/tmp/jjson/__tests__/cart.test.js > cart › totals > passes on the third attempt',
    );
  });

  it('merges repeated test cases of one run: a failure wins, a retry only counts when it passed', async () => {
    // Prepare: Xcode's trainer lists retries as repeated testcases; the parser reads them as
    // attempts of one test (failed then passed: passed and flaky), which feeds `retried`.
    const report = corpus('junit/dorny-xcode-trainer-retried-tests.xml');

    // Act
    const result = await recordReport(reported(report, { runId: 'xc-1', at: iso(0) }), deps());
    const merged = groupCases([
      { suite: 's', classname: 'c', name: 'n', status: 'passed', flaky: true, durationMs: 5 },
      { suite: 's', classname: 'c', name: 'n', status: 'failed', flaky: false, durationMs: 7 },
      { suite: 's', classname: 'c', name: 'm', status: 'skipped', flaky: false, durationMs: 0 },
      { suite: 's', classname: 'c', name: 'm', status: 'passed', flaky: true, durationMs: 3 },
    ]);

    // Assess
    expect(result.tests).toBe(4); // 7 testcases, 4 distinct tests
    const outcome = (name: string) =>
      store.tests.get(`shop#TicketsTests > TicketRepositoryTests > ${name}`)?.outcomes;
    expect(outcome('offline filtering keeps the active ticket')?.[0]).toMatchObject({
      status: 'passed',
      retried: true,
    });
    expect(outcome('an expired ticket is dropped')?.[0]?.status).toBe('failed');
    expect(outcome('a ticket is filtered by city ("MAD")')?.[0]?.status).toBe('passed');
    expect(merged.get('s > c > n')).toMatchObject({
      status: 'failed',
      retried: false,
      durationMs: 12,
    });
    expect(merged.get('s > c > m')).toMatchObject({
      status: 'passed',
      retried: true,
      durationMs: 3,
    });
  });
});

describe('recordReport: flaky detection over histories', () => {
  it('finds a test that passed and failed on one commit in two CI jobs', async () => {
    // Prepare
    const d = deps();
    const commit = '9b1c0ffee2d4';
    const linux = reported(cases({ adds: 'P', removes: 'P', totals: 'P' }), {
      runId: 'ci-481-linux',
      at: iso(0),
      branch: 'pr-12',
      commit,
    });
    const mac = reported(cases({ adds: 'P', removes: 'F', totals: 'P' }), {
      runId: 'ci-481-macos',
      at: iso(0.1),
      branch: 'pr-12',
      commit,
    });

    // Act
    const first = await recordReport(linux, d);
    const second = await recordReport(mac, d);

    // Assess
    expect(first.newlyNoticed).toEqual([]);
    expect(second.flaky).toBe(1);
    expect(second.newlyNoticed).toMatchObject([
      {
        test: { id: 'cart > CartTest > removes' },
        reason: 'same-commit',
        explanation:
          'Passed and failed on commit 9b1c0ffee2d4: passed in ci-481-linux, failed in ci-481-macos.',
        metadata: { runId: 'ci-481-macos', branch: 'pr-12', commit },
      },
    ]);
  });

  it('on main: flags the 1-in-4 failure by flip rate once, never the broken or the noisy-but-stable test', async () => {
    // Prepare: 16 nightly runs; `checkout` fails every 4th run, `legacy` always fails,
    // `search` passes with an occasional skip
    const d = deps();
    const perRun: number[] = [];

    // Act
    for (let i = 0; i < 16; i++) {
      const report = cases({
        checkout: i % 4 === 3 ? 'F' : 'P',
        legacy: 'F',
        search: i % 5 === 2 ? 'S' : 'P',
      });
      const result = await recordReport(
        reported(report, {
          runId: `nightly-${i}`,
          at: iso(i * 24),
          branch: 'main',
          commit: `c${i}`,
        }),
        d,
      );
      perRun.push(result.flaky);
    }

    // Assess: flagged from the 8th run (minRuns), 3 flips in 8 runs ≥ 30%; announced then and
    // again a week (noticeDays) later, not on the runs in between
    expect(perRun).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(notices().map((n) => [n.test.name, n.reason, n.metadata.runId, n.explanation])).toEqual([
      [
        'checkout',
        'flip-rate',
        'nightly-7',
        '3 flips in 8 runs on main (flip rate 43%, threshold 30%).',
      ],
      [
        'checkout',
        'flip-rate',
        'nightly-14',
        '6 flips in 15 runs on main (flip rate 43%, threshold 30%).',
      ],
    ]);
    expect(store.tests.get('shop#cart > CartTest > legacy')?.outcomes).toHaveLength(16);
    expect(store.tests.get('shop#cart > CartTest > search')?.flaky).toBeUndefined();
  });

  it('announces once per notice window: not on the next run, again after noticeDays', async () => {
    // Prepare
    const d = deps({ history: { flaky: { noticeDays: 7 } } });
    const run = (i: number, hours: number) =>
      recordReport(
        reported(cases({ pays: 'R', refunds: 'P' }), {
          runId: `r${i}`,
          at: iso(hours),
          branch: 'main',
        }),
        d,
      );

    // Act
    await run(1, 0);
    await run(2, 1);
    await run(3, 6 * 24);
    await run(4, 8 * 24);

    // Assess
    expect(notices().map((n) => n.metadata.runId)).toEqual(['r1', 'r4']);
    expect(store.tests.get('shop#cart > CartTest > pays')?.flaky).toMatchObject({
      since: iso(0),
      noticedAt: iso(8 * 24),
    });
  });

  it('gives the NOTICE on the alerting branch even when a feature branch found the test flaky first', async () => {
    // Prepare: the alert handler drops events from other branches, so their event must not
    // stand in for the notice; they are still held back among themselves by noticeDays
    const d = deps({ alerts: { branches: ['main', 'release'] } });
    const run = (runId: string, hours: number, branch?: string) =>
      recordReport(
        reported(cases({ pays: 'R' }), {
          runId,
          at: iso(hours),
          ...(branch ? { branch } : {}),
        }),
        d,
      );

    // Act
    await run('feature-1', 0, 'feature/coupons');
    await run('feature-2', 1, 'feature/coupons');
    await run('no-branch', 2);
    await run('main-1', 3, 'main');
    await run('main-2', 4, 'main');
    await run('release-1', 5, 'release');
    await run('feature-3', 6, 'feature/coupons');
    await run('main-3', 3 + 7 * 24, 'main');

    // Assess
    expect(notices().map((n) => n.metadata.runId)).toEqual(['feature-1', 'main-1', 'main-3']);
    expect(store.tests.get('shop#cart > CartTest > pays')?.flaky).toMatchObject({
      since: iso(0),
      noticedAt: iso(3 + 7 * 24),
      announcedAt: iso(0),
    });
  });

  it('stops listing a test once its evidence left the window', async () => {
    // Prepare
    const d = deps({ history: { flaky: { window: 5, minRuns: 5 } } });

    // Act
    await recordReport(reported(cases({ pays: 'R' }), { runId: 'r0', at: iso(0) }), d);
    const flaggedWhile = [];
    for (let i = 1; i <= 5; i++) {
      const r = await recordReport(
        reported(cases({ pays: 'P' }), { runId: `r${i}`, at: iso(i) }),
        d,
      );
      flaggedWhile.push(r.flaky);
    }

    // Assess
    expect(flaggedWhile).toEqual([1, 1, 1, 1, 0]);
    expect((await store.listTests('shop', { status: 'flaky', limit: 10 })).items).toEqual([]);
  });
});

describe('recordReport: delivery and concurrency', () => {
  it('is idempotent under redelivery: no second outcome, no second notice', async () => {
    // Prepare
    const d = deps();
    const event = reported(cases({ pays: 'R', refunds: 'P' }), { runId: 'r1', at: iso(0) });

    // Act
    const first = await recordReport(event, d);
    const version = store.tests.get('shop#cart > CartTest > pays')?.version;
    const again = await recordReport(event, d);

    // Assess
    expect(first.newlyNoticed).toHaveLength(1);
    expect(again).toMatchObject({ tests: 2, flaky: 1, newlyNoticed: [] });
    expect(publisher.events).toHaveLength(1);
    expect(store.tests.get('shop#cart > CartTest > pays')?.outcomes).toHaveLength(1);
    expect(store.tests.get('shop#cart > CartTest > pays')?.version).toBe(version);
    expect(store.runs.size).toBe(1);
  });

  it('never loses a notice: a failed publish is repeated by the retry of the same event', async () => {
    // Prepare
    const d = deps();
    const event = reported(cases({ pays: 'R' }), { runId: 'r1', at: iso(0), branch: 'main' });
    publisher.failWith = new Error('PutEvents: ThrottlingException');

    // Act
    const failed = recordReport(event, d);
    await expect(failed).rejects.toThrow('ThrottlingException');
    const between = store.tests.get('shop#cart > CartTest > pays');
    publisher.failWith = undefined;
    const retried = await recordReport(event, d);

    // Assess: the outcome was kept, the notice not marked until it was published
    expect(between?.outcomes).toHaveLength(1);
    expect(between?.flaky?.noticedAt).toBeUndefined();
    expect(retried.newlyNoticed).toHaveLength(1);
    expect(notices().map((n) => n.test.name)).toEqual(['pays']);
    expect(store.tests.get('shop#cart > CartTest > pays')?.flaky?.noticedAt).toBe(iso(0));
  });

  it('backs off with full jitter before re-reading a test whose write lost a race, and gives up after maxAttempts', async () => {
    // Prepare: a fixed draw, so the waits are half of each window
    const waits: number[] = [];
    const d = deps({}, { sleep: async (ms) => void waits.push(ms), random: () => 0.5 });
    store.loseRaces = 3;

    // Act
    const ok = await recordReport(
      reported(cases({ adds: 'P', pays: 'R' }), { runId: 'r1', at: iso(0) }),
      d,
    );
    const waitedForOk = waits.splice(0);
    store.loseRaces = 1000;
    const stuck = recordReport(
      reported(cases({ adds: 'F', pays: 'P' }), { runId: 'r2', at: iso(1) }),
      { ...d, maxAttempts: 4 },
    );

    // Assess
    expect(ok).toMatchObject({ tests: 2, flaky: 1 });
    expect(store.tests.get('shop#cart > CartTest > adds')?.outcomes.map((o) => o.runId)).toEqual([
      'r1',
    ]);
    expect(waitedForOk).toEqual([2.5, 5, 10]);
    await expect(stuck).rejects.toThrow(
      "Test 'cart > CartTest > adds' of project shop kept changing under us (4 attempts); the retry will redo it.",
    );
    expect(waits).toEqual([2.5, 5, 10]);
  });

  it('draws each wait from an exponential window of 5 ms doubling up to 200 ms', () => {
    const windows = Array.from({ length: 9 }, (_, i) => backoffMs(i + 1, () => 1));
    expect(windows).toEqual([5, 10, 20, 40, 80, 160, 200, 200, 200]);
    expect(backoffMs(3, () => 0)).toBe(0);
  });

  it('converges when eight runs of one project record the same 200 tests at once', async () => {
    // Prepare: eight CI jobs finishing together, real timers and jitter
    const spec = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`t${i}`, 'P' as const]));
    const events = Array.from({ length: 8 }, (_, j) =>
      reported(cases(spec), { runId: `job-${j}`, at: iso(j), branch: 'main', commit: 'abc' }),
    );

    // Act
    const results = await Promise.allSettled(events.map((e) => recordReport(e, deps())));

    // Assess: nobody gave up, and every test holds every run's outcome once
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const records = [...store.tests.values()];
    expect(records).toHaveLength(200);
    for (const r of records) {
      expect(r.outcomes.map((o) => o.runId)).toEqual(events.map((_, j) => `job-${j}`));
      expect(r.version).toBe(8);
    }
  });

  it('treats the records it reads and writes as values (the local store shares them with its index)', async () => {
    // Prepare: a store that freezes every record it hands out or takes in, deeply
    const deepFreeze = <T>(v: T): T => {
      if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
        Object.freeze(v);
        for (const x of Object.values(v)) deepFreeze(x);
      }
      return v;
    };
    class FrozenHistory extends TtlHistory {
      override async getTests(project: string, ids: readonly string[]) {
        const found = await super.getTests(project, ids);
        for (const record of found.values()) deepFreeze(record);
        return found;
      }
      override async putTest(record: TestRecord, expected: number, ttlDays: number) {
        return super.putTest(deepFreeze(record), expected, ttlDays);
      }
    }
    store = new FrozenHistory();
    const d = deps();
    const run = (i: number, spec: Record<string, 'P' | 'F' | 'R'>) =>
      recordReport(reported(cases(spec), { runId: `r${i}`, at: iso(i), branch: 'main' }), d);

    // Act: new tests, a retried pass (flaky, announced, marked), a failure, a redelivery
    await run(0, { adds: 'P', pays: 'R' });
    await run(1, { adds: 'F', pays: 'P' });
    const again = await run(1, { adds: 'F', pays: 'P' });

    // Assess
    expect(again).toMatchObject({ tests: 2, newlyNoticed: [] });
    expect(notices().map((n) => n.test.name)).toEqual(['pays']);
    expect(store.tests.get('shop#cart > CartTest > adds')?.outcomes.map((o) => o.status)).toEqual([
      'passed',
      'failed',
    ]);
  });

  /** A store that takes several writes at once (and `testBatch` tests per call, when given). */
  class BatchHistory extends TtlHistory {
    reads: number[] = [];
    batches: number[] = [];
    constructor(readonly testBatch?: number) {
      super();
    }
    override async getTests(project: string, ids: readonly string[]) {
      this.reads.push(ids.length);
      return super.getTests(project, ids);
    }
    async putTests(
      writes: readonly { record: TestRecord; expectedVersion: number }[],
      ttlDays: number,
    ): Promise<boolean[]> {
      this.batches.push(writes.length);
      const out: boolean[] = [];
      for (const w of writes) out.push(await this.putTest(w.record, w.expectedVersion, ttlDays));
      return out;
    }
  }

  it('writes the tests of a chunk in one putTests; a write that lost its race is redone alone', async () => {
    // Prepare: a store that takes several writes at once; its first three writes lose a race
    const batching = new BatchHistory();
    store = batching;
    store.loseRaces = 3;
    const spec = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`t${i}`, 'P' as const]));
    const events = [0, 1].map((j) =>
      reported(cases(spec), { runId: `job-${j}`, at: iso(j), branch: 'main' }),
    );

    // Act
    await Promise.all(events.map((e) => recordReport(e, deps({}, { maxConcurrency: 4 }))));

    // Assess: chunks of 25 (25, 25, 10 per run), and no outcome lost
    expect(batching.batches.sort((a, b) => a - b)).toEqual([10, 10, 25, 25, 25, 25]);
    const records = [...store.tests.values()];
    expect(records).toHaveLength(60);
    for (const r of records) {
      expect(r.outcomes.map((o) => o.runId)).toEqual(['job-0', 'job-1']);
      expect(r.version).toBe(2);
    }
  });

  it('reads and writes as many tests per call as the store says it takes (`testBatch`)', async () => {
    // Prepare: a store that takes 40 tests per call
    const wide = new BatchHistory(40);
    store = wide;
    const spec = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`t${i}`, 'P' as const]));

    // Act
    await recordReport(reported(cases(spec), { runId: 'r0', at: iso(0), branch: 'main' }), deps());

    // Assess
    expect(wide.reads.sort((a, b) => a - b)).toEqual([20, 40]);
    expect(wide.batches.sort((a, b) => a - b)).toEqual([20, 40]);
    expect(store.tests.size).toBe(60);
  });

  it('loses no outcome when runs of one project are recorded concurrently', async () => {
    // Prepare: 300 tests, four CI jobs reporting at once
    const spec = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`t${i}`, 'P' as const]));
    const events = [0, 1, 2, 3].map((j) =>
      reported(cases(spec), { runId: `job-${j}`, at: iso(j), branch: 'main', commit: 'abc' }),
    );

    // Act
    await Promise.all(events.map((e) => recordReport(e, deps({}, { maxConcurrency: 4 }))));

    // Assess
    const records = [...store.tests.values()];
    expect(records).toHaveLength(300);
    for (const r of records) {
      expect(r.outcomes.map((o) => o.runId)).toEqual(['job-0', 'job-1', 'job-2', 'job-3']);
      expect(r.version).toBe(4);
    }
  });
});

describe('recordReport: the normalized archive', () => {
  const withBody = (body: string): KnownEvent => {
    const event = reported(cases({ adds: 'P' }), { runId: 'r1', at: iso(0) });
    if (event.detailType !== DETAIL_TYPES.testRun) throw new Error('not a test run');
    archive.objects.set(event.detail.metadata.normalized.uri, Buffer.from(body));
    return event;
  };

  it('rejects something that is not JSON, not a test report, or another run', async () => {
    await expect(recordReport(withBody('{"project":'), deps())).rejects.toThrow(
      /^The normalized result mem:\/\/shop\/r1\.normalized\.json of run r1 is not JSON: /,
    );
    await expect(
      recordReport(
        withBody(
          JSON.stringify({
            project: 'shop',
            runId: 'r1',
            report: { kind: 'tests', cases: [{ name: 1 }] },
          }),
        ),
        deps(),
      ),
    ).rejects.toThrow(/is not a normalized test report: report\.cases\.0\.suite: /);
    await expect(
      recordReport(
        withBody(
          JSON.stringify({ project: 'shop', runId: 'r9', report: { kind: 'tests', cases: [] } }),
        ),
        deps(),
      ),
    ).rejects.toThrow('belongs to run r9 of project shop');
    expect(store.tests.size).toBe(0);
  });
});

describe('recordReport: a 20,000-case run', () => {
  it('records every test of a large Surefire report, twice in a row', async () => {
    // Prepare
    const report = parseReport(generateJunit({ cases: 20_000, seed: 7, flakyRate: 0.002 }));
    const d = deps();

    // Act
    const started = performance.now();
    const first = await recordReport(
      reported(report, { runId: 'big-1', at: iso(0), branch: 'main' }),
      d,
    );
    const second = await recordReport(
      reported(report, { runId: 'big-2', at: iso(1), branch: 'main' }),
      d,
    );
    const ms = performance.now() - started;

    // Assess (time is reported, not asserted)
    console.info(
      `history: 2 × ${first.tests} tests recorded in ${Math.round(ms)} ms (memory store)`,
    );
    expect(first.tests).toBe(store.tests.size);
    expect(first.tests).toBeGreaterThan(19_000);
    expect(first.flaky).toBeGreaterThan(0); // Surefire flakyFailure cases
    expect(first.newlyNoticed).toHaveLength(first.flaky);
    expect(second.newlyNoticed).toEqual([]);
    expect([...store.tests.values()].every((t) => t.outcomes.length === 2)).toBe(true);
  });
});
