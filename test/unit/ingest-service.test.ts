import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { VigilError } from '../../functions/core/errors';
import {
  type BenchmarkDetail,
  type GateCheck,
  MAX_EVENT_BYTES,
  type TestRunDetail,
} from '../../functions/core/events';
import { parseReport } from '../../functions/core/formats';
import type { RunRecord } from '../../functions/core/history/types';
import { identityOf } from '../../functions/core/ingest/identity';
import { type IngestDeps, type IngestResult, ingest } from '../../functions/core/ingest/service';
import { canonicalProject } from '../../functions/core/project';
import { fixedClock, MemoryArchive, MemoryLedger, MemoryPublisher, sha256 } from '../helpers/fakes';
import { generateJunit } from '../helpers/generate-junit';
import { MemoryHistory } from '../helpers/memory-history';

const fixture = (path: string) => readFileSync(`test/fixtures/corpus/${path}`);
const GRADLE = fixture('junit/datadog-java-gradle.xml');

let publisher: MemoryPublisher;
let archive: MemoryArchive;
let ledger: MemoryLedger;
let deps: IngestDeps;

beforeEach(() => {
  publisher = new MemoryPublisher();
  archive = new MemoryArchive();
  ledger = new MemoryLedger();
  deps = { config: parseConfig({}), publisher, archive, ledger, clock: fixedClock() };
});

const post = (body: Uint8Array, query: Record<string, string> = {}, correlationId = 'corr-0001') =>
  ingest({ query: { project: 'shop', ...query }, body, correlationId }, deps);

describe('ingest', () => {
  it('parses, gates, archives, then publishes one canonical event', async () => {
    // Act
    const { status, result } = await post(GRADLE, {
      branch: 'main',
      commit: 'abc123',
      suite: 'unit',
      ci: 'build',
    });
    // Assess
    expect(status).toBe(202);
    expect(result).toMatchObject({
      project: 'shop',
      kind: 'tests',
      format: 'junit',
      duplicate: false,
      correlationId: 'corr-0001',
    });
    expect(result.gate.status).toBe('fail');
    expect(publisher.events).toHaveLength(1);
    const event = publisher.events[0];
    expect(event).toMatchObject({ source: 'vigil.ingest', detailType: 'Test Run Reported' });
    const detail = event?.detail as TestRunDetail;
    expect(detail.metadata).toMatchObject({
      project: 'shop',
      suite: 'unit',
      branch: 'main',
      commit: 'abc123',
      ci: 'build',
      runId: result.runId,
      correlationId: 'corr-0001',
      ingestedAt: '2026-11-25T10:00:00.000Z',
      archive: { bytes: GRADLE.byteLength, sha256: sha256(GRADLE) },
    });
    expect(detail.summary).toEqual(result.summary);
    expect(detail.failedTests.length).toBe((result.summary as { failed: number }).failed);
    // Raw payload and normalized detail are both archived, under a dated key.
    const keys = [...archive.objects.keys()];
    expect(keys).toEqual([
      `shop/2026/11/25/${result.runId}.xml`,
      `shop/2026/11/25/${result.runId}.normalized.json`,
    ]);
    expect(Buffer.from(archive.objects.get(keys[0] ?? '')?.body ?? []).equals(GRADLE)).toBe(true);
  });

  it('keeps the time of an abandoned claim it takes over: the same archive keys and ingestedAt', async () => {
    // Prepare: the ledger hands over a stale claim made a day earlier (the run may be on the bus).
    const claimed = vi.spyOn(ledger, 'claim');
    claimed.mockResolvedValueOnce({ state: 'new', at: Date.parse('2026-11-24T09:59:00.000Z') });
    // Act
    const { result } = await post(GRADLE, { runId: 'run-7' });
    // Assess: the claim was given this attempt's time; the run keeps the first one.
    expect(claimed).toHaveBeenCalledWith(
      expect.any(String),
      expect.any(String),
      Date.parse('2026-11-25T10:00:00.000Z'),
    );
    expect(result.runId).toBe('run-7');
    expect((publisher.events[0]?.detail as TestRunDetail | undefined)?.metadata.ingestedAt).toBe(
      '2026-11-24T09:59:00.000Z',
    );
    expect([...archive.objects.keys()]).toEqual([
      'shop/2026/11/24/run-7.xml',
      'shop/2026/11/24/run-7.normalized.json',
    ]);
  });

  it("fails only once the raw report's write has settled: the body it was lent is free again", async () => {
    // Prepare: the normalized write fails at once; the raw one is still going.
    let rawSettled = false;
    vi.spyOn(archive, 'put').mockImplementation(async (i) => {
      if (!i.key.endsWith('.xml')) throw new VigilError('unavailable', 'disk full');
      await new Promise((resolve) => setTimeout(resolve, 50));
      rawSettled = true;
      return { uri: 'mem://x', bytes: 1, sha256: i.sha256 };
    });
    // Act + Assess
    await expect(post(GRADLE)).rejects.toMatchObject({ code: 'unavailable' });
    expect(rawSettled).toBe(true);
  });

  it('archives before publishing, so a published event always points at a stored payload', async () => {
    const order: string[] = [];
    vi.spyOn(archive, 'put').mockImplementation(async (i) => {
      order.push(`archive:${i.key.split('.').slice(1).join('.')}`);
      return { uri: 'mem://x', bytes: 1, sha256: i.sha256 };
    });
    vi.spyOn(publisher, 'publish').mockImplementation(async () => {
      order.push('publish');
    });
    await post(GRADLE);
    expect(order).toEqual(['archive:xml', 'archive:normalized.json', 'publish']);
  });

  it('publishes only once the raw report is stored, however long its write takes', async () => {
    // Prepare: the raw report's write is held until the test lets it finish.
    const order: string[] = [];
    let finishRaw = (): void => undefined;
    vi.spyOn(archive, 'put').mockImplementation((i) => {
      const what = i.key.split('.').slice(1).join('.');
      order.push(`archive:${what}`);
      const pointer = { uri: `mem://${what}`, bytes: i.body.byteLength, sha256: i.sha256 };
      return what === 'xml'
        ? new Promise((resolve) => {
            finishRaw = () => resolve(pointer);
          })
        : Promise.resolve(pointer);
    });
    const published = vi.spyOn(publisher, 'publish');
    // Act
    const answer = post(GRADLE);
    await vi.waitFor(() => expect(order).toEqual(['archive:xml', 'archive:normalized.json']));
    // Assess: the normalized result was made while the raw write was pending; nothing is out yet.
    expect(published).not.toHaveBeenCalled();
    finishRaw();
    expect((await answer).status).toBe(202);
    expect(published).toHaveBeenCalledTimes(1);
  });

  it('publishes nothing and releases the run when the raw report cannot be stored', async () => {
    vi.spyOn(archive, 'put').mockImplementation(async (i) => {
      if (i.key.endsWith('.xml')) throw new VigilError('unavailable', 'The data directory is full');
      return { uri: 'mem://n', bytes: i.body.byteLength, sha256: i.sha256 };
    });
    await expect(post(GRADLE, { runId: 'r' })).rejects.toMatchObject({ code: 'unavailable' });
    expect(publisher.events).toHaveLength(0);
    vi.mocked(archive.put).mockRestore();
    // The client's retry is ingested, not refused as "in progress".
    expect((await post(GRADLE, { runId: 'r' })).status).toBe(202);
  });

  it('keeps a normalized write’s bytes intact after the raw write failed, while the next run is ingested', async () => {
    // Prepare: run r1's raw write fails at once, its normalized write is held; then all pass.
    let finishHeld = (): void => undefined;
    let held: { body: Uint8Array; copy: Buffer } | undefined;
    const put = archive.put.bind(archive);
    vi.spyOn(archive, 'put').mockImplementation(async (i) => {
      if (!i.key.includes('/r1.')) return put(i);
      if (i.key.endsWith('.xml')) throw new VigilError('unavailable', 'The data directory is full');
      held = { body: i.body, copy: Buffer.from(i.body) };
      await new Promise<void>((resolve) => {
        finishHeld = resolve;
      });
      return { uri: 'mem://held', bytes: i.body.byteLength, sha256: i.sha256 };
    });
    // Act: r1 fails with its normalized write still going; r2 is ingested meanwhile.
    await expect(post(GRADLE, { runId: 'r1' })).rejects.toMatchObject({ code: 'unavailable' });
    expect((await post(fixture('junit/dorny-jest-junit.xml'), { runId: 'r2' })).status).toBe(202);
    // Assess: r2's normalized result was not written into the bytes r1's write still reads.
    expect(Buffer.from(held?.body ?? []).equals(held?.copy ?? Buffer.alloc(1))).toBe(true);
    finishHeld();
  });

  it('answers a repeated runId as a duplicate and counts nothing twice', async () => {
    const first = await post(GRADLE, { runId: 'build-42' });
    const again = await post(GRADLE, { runId: 'build-42' }, 'corr-0002');
    expect(again.status).toBe(200);
    expect(again.result).toEqual({ ...first.result, duplicate: true, correlationId: 'corr-0002' });
    expect(publisher.events).toHaveLength(1);
  });

  it('derives a stable runId from the content when none is given', async () => {
    const first = await post(GRADLE);
    const again = await post(GRADLE);
    expect(again.result.runId).toBe(first.result.runId);
    expect(again.result.duplicate).toBe(true);
    const otherSuite = await post(GRADLE, { suite: 'other' });
    expect(otherSuite.result.runId).not.toBe(first.result.runId);
  });

  it('rejects the same runId with different content as a conflict', async () => {
    await post(GRADLE, { runId: 'build-42' });
    await expect(
      post(fixture('junit/datadog-js-jest.xml'), { runId: 'build-42' }),
    ).rejects.toMatchObject({
      code: 'conflict',
      status: 409,
      message: expect.stringContaining('already reported with different content'),
    });
  });

  it('tells a concurrent duplicate to retry, with Retry-After (a content conflict has none)', async () => {
    await ledger.claim('shop#build-7', JSON.stringify(identityOf(sha256(GRADLE), {})));
    await expect(post(GRADLE, { runId: 'build-7' })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('retry'),
      retryAfterSeconds: 5,
    });
    const conflict = await post(fixture('junit/datadog-js-jest.xml'), { runId: 'build-7' }).catch(
      (e: unknown) => e,
    );
    expect(conflict).toMatchObject({ code: 'conflict', status: 409 });
    expect((conflict as VigilError).retryAfterSeconds).toBeUndefined();
  });

  it('releases the run when publishing fails, so the client can retry', async () => {
    publisher.failWith = new VigilError('publish_failed', '1 of 1 events failed');
    await expect(post(GRADLE, { runId: 'r' })).rejects.toMatchObject({
      code: 'publish_failed',
      status: 503,
    });
    publisher.failWith = undefined;
    const retry = await post(GRADLE, { runId: 'r' });
    expect(retry.status).toBe(202);
    expect(publisher.events).toHaveLength(1);
  });

  it('tries again to record a published run as complete, so its retry is a duplicate, not a 409', async () => {
    vi.spyOn(ledger, 'complete').mockRejectedValueOnce(new Error('ProvisionedThroughputExceeded'));
    const first = await post(GRADLE, { runId: 'r-complete' });
    const retry = await post(GRADLE, { runId: 'r-complete' });
    expect([first.status, retry.status]).toEqual([202, 200]);
    expect(retry.result.duplicate).toBe(true);
    expect(publisher.events).toHaveLength(1);
  });

  it('still answers 202 when recording completion fails after publishing', async () => {
    const warn = vi.fn();
    deps.warn = warn;
    vi.spyOn(ledger, 'complete').mockRejectedValue(new Error('ledger down'));
    const { status } = await post(GRADLE);
    expect(status).toBe(202);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('Could not record run'),
      expect.any(Error),
    );
  });

  it('validates query parameters and names the bad one', async () => {
    await expect(
      ingest({ query: {}, body: GRADLE, correlationId: 'c' }, deps),
    ).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.project' },
    });
    await expect(post(GRADLE, { project: '../etc' })).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.project' },
    });
    await expect(post(GRADLE, { format: 'nunit' })).rejects.toMatchObject({
      status: 415,
      location: { path: 'query.format' },
    });
    await expect(post(GRADLE, { runId: 'has space' })).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.runId' },
    });
    await expect(post(GRADLE, { branch: 'a\u0000b' })).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.branch' },
    });
    await expect(post(GRADLE, { commit: 'x'.repeat(200) })).rejects.toMatchObject({ status: 400 });
    expect(publisher.events).toHaveLength(0);
    expect(ledger.entries.size).toBe(0);
  });

  it('honours an explicit format and rejects content that is not that format', async () => {
    const coverage = fixture('istanbul/tsinjex-coverage-summary.json');
    const { result } = await post(coverage, { format: 'istanbul' });
    expect(result.kind).toBe('coverage');
    await expect(post(GRADLE, { format: 'jest' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('not JSON'),
    });
  });

  it('keeps the event under the EventBridge limit for huge failing runs', async () => {
    const big = Buffer.from(generateJunit({ cases: 5000, failRate: 1, seed: 3 }));
    const { result } = await post(big);
    const detail = publisher.events[0]?.detail as TestRunDetail;
    expect((result.summary as { failed: number }).failed).toBe(5000);
    expect(detail.failedTests).toHaveLength(50);
    expect(detail.failedTestsTruncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(detail))).toBeLessThan(MAX_EVENT_BYTES / 2);
  });

  it('publishes coverage, load and benchmark reports with their own detail types', async () => {
    const cases: [string, string, string][] = [
      ['istanbul/tsinjex-coverage-summary.json', 'coverage', 'Coverage Reported'],
      ['lcov/dorny-lcov.info', 'coverage', 'Coverage Reported'],
      ['cobertura/grandlinex-core-istanbul-cobertura.xml', 'coverage', 'Coverage Reported'],
      ['k6/k6-summary-v1-example-basic.json', 'load', 'Load Test Reported'],
      ['artillery/artillery-2.0.21-local-http.json', 'load', 'Load Test Reported'],
      ['benchmarks/hyperfine-1brc.json', 'benchmark', 'Benchmark Reported'],
      ['jest/ethereum-event-scan-jest-results.json', 'tests', 'Test Run Reported'],
    ];
    for (const [file, kind, detailType] of cases) {
      const { result } = await post(fixture(file));
      expect(result.kind, file).toBe(kind);
      expect(publisher.events.at(-1)?.detailType, file).toBe(detailType);
    }
  });
});

describe('ingest: gates that use run history', () => {
  // pytest-benchmark (corpus): test_fib_10 and test_fib_20 with rounds and stddev, in seconds.
  const PYTEST = fixture('benchmarks/pytest-benchmark-3.2.2-gha-run.json');
  const FIB20 = 'bench.py::test_fib_20';
  const STEADY = [1.0, 0.99, 1.015, 1.005, 0.985, 1.01, 0.995, 1.0, 1.02, 0.99];

  /** The corpus report with test_fib_20's mean (and sd) scaled by `factor`. */
  const pytestBody = (factor: number): Buffer => {
    const doc = JSON.parse(PYTEST.toString('utf8'));
    for (const b of doc.benchmarks)
      if (b.fullname === FIB20) {
        b.stats.mean *= factor;
        b.stats.stddev *= factor;
      }
    return Buffer.from(JSON.stringify(doc));
  };
  const parsedPytest = parseReport(PYTEST.toString('utf8'));
  if (parsedPytest.kind !== 'benchmark') throw new Error('not a benchmark report');
  /** A base-branch run: the corpus summary with test_fib_20 scaled like `pytestBody`. */
  const benchRun = (i: number, factor: number, extra: Partial<RunRecord> = {}): RunRecord =>
    ({
      kind: 'benchmark',
      summary: {
        benchmarks: parsedPytest.summary.benchmarks.map((b) =>
          b.name === FIB20
            ? { ...b, value: b.value * factor, stddev: (b.stddev ?? 0) * factor }
            : b,
        ),
      },
      project: 'shop',
      runId: `main-${i}`,
      format: 'benchmark',
      suite: 'perf',
      branch: 'main',
      ingestedAt: new Date(Date.UTC(2026, 10, 20, 10, i)).toISOString(),
      correlationId: `c-${i}`,
      gate: 'pass',
      ...extra,
    }) as RunRecord;
  const check = (checks: GateCheck[], id: string) => checks.find((c) => c.id === id);

  let history: MemoryHistory;
  beforeEach(async () => {
    history = new MemoryHistory();
    for (const [i, f] of STEADY.entries()) await history.putRun(benchRun(i, f));
    deps.history = history;
  });

  it('fails a branch whose benchmark regressed against the default branch, end to end', async () => {
    const { result } = await post(pytestBody(1.25), { suite: 'perf', branch: 'feature/x' });
    expect(result.gate.status).toBe('fail');
    const fib20 = check(result.gate.checks, `benchmark.${FIB20}`);
    expect(fib20).toMatchObject({ status: 'fail' });
    expect(fib20?.message).toMatch(
      /^"bench\.py::test_fib_20" regressed: 0\.002395 s vs baseline 0\.001918 s \(\+24\.9%, smaller is better; limit 10%; Welch p<0\.0001 vs 10 runs on "main"\)$/,
    );
    expect(check(result.gate.checks, 'benchmark.bench.py::test_fib_10')?.status).toBe('pass');
    // The verdict travels in the event and in the normalized archive object.
    const detail = publisher.events[0]?.detail as BenchmarkDetail;
    expect(detail.gate).toEqual(result.gate);
    const normalized = [...archive.objects.values()].find((o) =>
      o.key.endsWith('.normalized.json'),
    );
    expect(JSON.parse(Buffer.from(normalized?.body ?? []).toString()).gate).toEqual(result.gate);
  });

  it('passes the unchanged report', async () => {
    const { result } = await post(pytestBody(1.01), { suite: 'perf', branch: 'feature/x' });
    expect(result.gate.status).toBe('pass');
    expect(result.gate.checks.map((c) => c.status)).toEqual(['pass', 'pass']);
  });

  it('starts writing the raw report before reading the baseline, so the write overlaps the gate', async () => {
    const order: string[] = [];
    const put = archive.put.bind(archive);
    vi.spyOn(archive, 'put').mockImplementation((i) => {
      order.push(`archive:${i.key.split('.').slice(1).join('.')}`);
      return put(i);
    });
    const series = history.series.bind(history);
    vi.spyOn(history, 'series').mockImplementation((...args) => {
      order.push('baseline');
      return series(...args);
    });
    await post(pytestBody(1), { suite: 'perf' });
    expect(order).toEqual(['archive:json', 'baseline', 'archive:normalized.json']);
  });

  it('reads the baseline of the base branch the query names, with one read', async () => {
    const series = vi.spyOn(history, 'series');
    const { result } = await post(pytestBody(1.25), {
      suite: 'perf',
      branch: 'feature/x',
      base: 'release/1.0',
    });
    expect(series).toHaveBeenCalledTimes(1);
    expect(series).toHaveBeenCalledWith('shop', 'benchmark', 'perf', 'release/1.0', 11);
    expect(result.gate.status).toBe('none');
    expect(check(result.gate.checks, `benchmark.${FIB20}`)?.message).toBe(
      `"${FIB20}": 0 earlier runs on base branch "release/1.0" (suite perf), a baseline needs 3.`,
    );
  });

  it('reads further back until each benchmark has a full baseline: jobs posting different benchmarks', async () => {
    // Arrange: 7 rounds of 5 CI jobs, each posting its own benchmark to one series (suite
    // perf on main), and `shared` in every run.
    history.runs.clear();
    const jobs = ['a', 'b', 'c', 'd', 'e'];
    let i = 0;
    for (let round = 0; round < 7; round++)
      for (const job of jobs)
        await history.putRun(
          benchRun(i++, 1, {
            runId: `mj-${round}-${job}`,
            summary: {
              benchmarks: [
                { name: `job-${job}`, unit: 'ms', value: 100 + (round % 3) },
                { name: 'shared', unit: 'ms', value: 50 + (i % 2) },
              ],
            },
          } as Partial<RunRecord>),
        );
    const series = vi.spyOn(history, 'series');
    const body = Buffer.from(
      JSON.stringify([
        { name: 'job-a', unit: 'ms', value: 150 },
        { name: 'shared', unit: 'ms', value: 50.5 },
      ]),
    );

    // Act
    const { result } = await post(body, { suite: 'perf', branch: 'feature/x' });

    // Assert: job-a has its 7 points (not the 2 of the newest 10 runs); shared its newest 10.
    expect(check(result.gate.checks, 'benchmark.job-a')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('mean of 7 runs on "main"'),
    });
    expect(check(result.gate.checks, 'benchmark.shared')?.message).toContain(
      'mean of 10 runs on "main"',
    );
    expect(series.mock.calls.map((c) => c[4])).toEqual([11, 101]);
  });

  it('warns, naming the branches that have runs, when the base branch has none of the kind', async () => {
    const { result } = await post(pytestBody(1.25), {
      suite: 'perf',
      branch: 'feature/x',
      base: 'master',
    });
    expect(result.gate.status).toBe('none');
    expect(result.warnings).toContain(
      'No benchmark runs on base branch "master" (suite perf), so nothing was compared: check --base (the base query parameter). Branches with such runs: "main".',
    );
    // A base branch with runs: no such warning.
    const ok = await post(pytestBody(1.01), { suite: 'perf', branch: 'feature/x', runId: 'r2' });
    expect(ok.result.warnings.some((w) => w.includes('base branch'))).toBe(false);
  });

  it('names at most five branches with runs, and says nothing when the run list fails', async () => {
    for (const [i, branch] of ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'].entries())
      await history.putRun(benchRun(20 + i, 1, { branch }));
    const { result } = await post(pytestBody(1.25), { suite: 'perf', base: 'master' });
    expect(result.warnings.find((w) => w.startsWith('No benchmark runs'))).toMatch(
      /Branches with such runs: "\w+", "\w+", "\w+", "\w+", "\w+", …\.$/,
    );
    vi.spyOn(history, 'listRuns').mockRejectedValueOnce(new Error('throttled'));
    const failed = await post(pytestBody(1.25), { suite: 'perf', base: 'master', runId: 'r3' });
    expect(failed.result.warnings.some((w) => w.startsWith('No benchmark runs'))).toBe(false);
  });

  it('compares a run on the base branch with its own earlier runs, never with itself', async () => {
    history.runs.clear();
    await history.putRun(benchRun(1, 1));
    await history.putRun(benchRun(2, 1));
    // A redelivered run already in history (same runId) must not be its own baseline.
    await history.putRun(benchRun(3, 1.25, { runId: 'build-9' }));
    const { result } = await post(pytestBody(1.25), {
      suite: 'perf',
      branch: 'main',
      runId: 'build-9',
    });
    expect(check(result.gate.checks, `benchmark.${FIB20}`)).toMatchObject({
      status: 'skip',
      message: expect.stringContaining('2 earlier runs on base branch "main"'),
    });
  });

  it('skips the comparisons and warns when history cannot be read, but still ingests', async () => {
    const warn = vi.fn();
    deps.warn = warn;
    vi.spyOn(history, 'series').mockRejectedValue(new Error('ThrottlingException'));
    const { status, result } = await post(pytestBody(1.25), { suite: 'perf' });
    expect(status).toBe(202);
    expect(result.gate).toEqual({
      status: 'none',
      checks: [
        {
          id: 'benchmark.regression',
          status: 'skip',
          message:
            'Benchmark regressions not checked: run history could not be read (see the ingest logs).',
          actual: null,
          threshold: null,
        },
      ],
    });
    expect(warn).toHaveBeenCalledWith(
      'Could not read the benchmark baseline of shop',
      expect.any(Error),
    );
    expect(publisher.events).toHaveLength(1);
  });

  it('says so when no history is configured', async () => {
    delete deps.history;
    const { result } = await post(pytestBody(1.25), { suite: 'perf' });
    expect(result.gate.checks[0]?.message).toBe(
      'Benchmark regressions not checked: run history is not configured.',
    );
  });

  it('checks the coverage drop against the base branch when the config asks', async () => {
    deps.config = parseConfig({ gates: { minCoverage: 50, maxCoverageDrop: 0.5 } });
    const coverage = fixture('istanbul/tsinjex-coverage-summary.json'); // lines 97.52%
    const first = await post(coverage, { suite: 'unit', branch: 'feature/x' });
    expect(check(first.result.gate.checks, 'coverage.drop.lines')?.message).toBe(
      'No coverage on base branch "main" (suite unit) yet: nothing to compare.',
    );
    const parsed = parseReport(coverage.toString('utf8'));
    if (parsed.kind !== 'coverage') throw new Error('not coverage');
    await history.putRun({
      ...benchRun(0, 1),
      kind: 'coverage',
      suite: 'unit',
      runId: 'cov-main',
      summary: { ...parsed.summary, lines: { ...parsed.summary.lines, pct: 98.5 } },
    } as RunRecord);
    const { result } = await post(coverage, { suite: 'unit', branch: 'feature/x', runId: 'b2' });
    expect(result.gate.status).toBe('fail');
    expect(check(result.gate.checks, 'coverage.drop.lines')).toMatchObject({
      status: 'fail',
      actual: 97.52,
      threshold: 98,
    });
  });

  it('checks the coverage drop against the run at the merge base the CLI sent', async () => {
    // main at 75% when the change branched off (commit `mb`), then raised to 100%; the change
    // (docs only) still measures 75%: not a drop. baselineRuns 2: the first read is 3 runs.
    deps.config = parseConfig({
      gates: { minCoverage: 50, maxCoverageDrop: 0.5 },
      history: { baselineRuns: 2, minBaselineRuns: 2 },
    });
    const text = fixture('istanbul/tsinjex-coverage-summary.json').toString('utf8');
    const parsed = parseReport(text);
    if (parsed.kind !== 'coverage') throw new Error('not coverage');
    const mainRun = (i: number, pct: number, commit: string) =>
      history.putRun({
        ...benchRun(i, 1),
        kind: 'coverage',
        suite: 'unit',
        runId: `cov-${i}`,
        commit,
        summary: { ...parsed.summary, lines: { ...parsed.summary.lines, pct } },
      } as RunRecord);
    const mb = 'abc1234def5678abc1234def5678abc1234def56';
    const send = (base: string, runId: string) =>
      post(Buffer.from(JSON.stringify({ report: text, patch: { base, files: [] } })), {
        suite: 'unit',
        branch: 'docs',
        runId,
        patch: '1',
      });
    const series = vi.spyOn(history, 'series');
    const drop = (r: IngestResult) => check(r.gate.checks, 'coverage.drop.lines');

    // Act, assess: the merge-base run is the newest; then older than the first read.
    await mainRun(1, 97.52, mb);
    expect(drop((await send(mb, 'd1')).result)?.message).toBe(
      'lines coverage 97.52% is unchanged against 97.52% in the coverage at the merge base abc1234 on base branch "main" (suite unit) (run cov-1), within the allowed drop of 0.5 points',
    );
    // One run on main, not at the merge base: nothing further to read.
    series.mockClear();
    expect(drop((await send('0123456789', 'd0')).result)?.message).toContain(
      'in the latest coverage on base branch "main" (suite unit) (run cov-1; none at the merge base 0123456)',
    );
    expect(series).toHaveBeenCalledTimes(1);
    for (const i of [2, 3, 4]) await mainRun(i, 100, `main-${i}`);
    series.mockClear();
    const { result } = await send(mb, 'd2');
    expect(result.gate.status).toBe('pass');
    expect(drop(result)).toMatchObject({ status: 'pass', actual: 97.52, threshold: 97.02 });
    expect(drop(result)?.message).toContain('at the merge base abc1234');
    expect(series.mock.calls.map((c) => c[4])).toEqual([3, 21]);

    // No run at the merge base (or none sent): the latest, as before, and the message says so.
    const other = await send('0123456789', 'd3');
    expect(drop(other.result)).toMatchObject({
      status: 'fail',
      message:
        'lines coverage 97.52% dropped 2.48 points against 100% in the latest coverage on base branch "main" (suite unit) (run cov-4; none at the merge base 0123456), more than the allowed drop of 0.5 points',
    });
    const plain = await post(Buffer.from(text), { suite: 'unit', branch: 'docs', runId: 'd4' });
    expect(drop(plain.result)?.message).toContain('against 100% in the latest coverage');
  });

  it('does not read history for test runs, and applies the config quarantine', async () => {
    const series = vi.spyOn(history, 'series');
    deps.config = parseConfig({
      projects: {
        shop: {
          quarantine: [
            {
              test: 'com.undefinedlabs.scope.suite.SuiteTwoTest > suite_two_test_four',
              owner: 'ana',
              reason: 'flaky on CI',
              expires: '2026-12-01',
            },
          ],
        },
      },
    });
    const { result } = await post(GRADLE);
    expect(series).not.toHaveBeenCalled();
    expect(result.gate.status).toBe('pass');
    expect(check(result.gate.checks, 'tests.failed')?.message).toBe(
      'No failed tests (1 failure quarantined: "com.undefinedlabs.scope.suite.SuiteTwoTest > suite_two_test_four" by ana until 2026-12-01)',
    );
    // The failure is still reported in the event, and in the answer with its quarantine.
    const detail = publisher.events[0]?.detail as TestRunDetail;
    expect(detail.failedTests).toHaveLength(1);
    expect(result.failures?.failed.map((t) => [t.name, t.quarantined])).toEqual([
      ['suite_two_test_four', { owner: 'ana', expires: '2026-12-01' }],
    ]);
  });

  it('validates the base parameter like branch', async () => {
    await expect(post(GRADLE, { base: 'a\u0000b' })).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.base' },
    });
  });
});

describe('ingest semantics: run identity', () => {
  it('counts the same bytes for a new commit, branch or CI job as a new run', async () => {
    const first = await post(GRADLE, { branch: 'main', commit: 'aaa', ci: 'job-1' });
    const newCommit = await post(GRADLE, { branch: 'main', commit: 'bbb', ci: 'job-1' });
    const newBranch = await post(GRADLE, { branch: 'dev', commit: 'bbb', ci: 'job-1' });
    const newJob = await post(GRADLE, { branch: 'dev', commit: 'bbb', ci: 'job-2' });
    const runIds = [first, newCommit, newBranch, newJob].map((r) => r.result.runId);
    expect(new Set(runIds).size).toBe(4);
    expect([first, newCommit, newBranch, newJob].map((r) => r.result.duplicate)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    const commits = publisher.events.map((e) => (e.detail as TestRunDetail).metadata.commit);
    expect(commits).toEqual(['aaa', 'bbb', 'bbb', 'bbb']);
    // The very same report with the very same metadata is the duplicate.
    const again = await post(GRADLE, { branch: 'main', commit: 'aaa', ci: 'job-1' });
    expect(again.result).toMatchObject({ runId: first.result.runId, duplicate: true });
    expect(publisher.events).toHaveLength(4);
  });

  it('answers the same runId with other metadata with a 409 naming the field', async () => {
    await post(GRADLE, { runId: 'build-42', branch: 'main', commit: 'aaa' });
    await expect(
      post(GRADLE, { runId: 'build-42', branch: 'main', commit: 'bbb' }),
    ).rejects.toMatchObject({
      status: 409,
      code: 'conflict',
      message: expect.stringContaining('commit "aaa" (now "bbb")'),
      location: { path: 'query.commit' },
    });
    await expect(post(GRADLE, { runId: 'build-42', commit: 'aaa' })).rejects.toMatchObject({
      message: expect.stringContaining('branch "main" (now none)'),
      location: { path: 'query.branch' },
    });
    await expect(
      post(fixture('junit/datadog-js-jest.xml'), {
        runId: 'build-42',
        branch: 'main',
        commit: 'aaa',
      }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('with different content;'),
      location: { path: 'query.runId' },
    });
    expect(publisher.events).toHaveLength(1);
  });

  it('says "content or metadata" for a run recorded before metadata was part of its identity', async () => {
    await ledger.complete('shop#json-run', '42', {});
    await expect(post(GRADLE, { runId: 'json-run' })).rejects.toMatchObject({
      message: expect.stringContaining('different content or metadata'),
    });
    await ledger.complete('shop#old-run', sha256(GRADLE), {});
    await expect(post(GRADLE, { runId: 'old-run' })).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('different content or metadata'),
    });
  });
});

describe('ingest semantics: query parameters, project names, uploads', () => {
  it('refuses an unknown query parameter, listing the accepted ones, and loses nothing', async () => {
    await expect(post(GRADLE, { brnach: 'main' })).rejects.toMatchObject({
      status: 400,
      message:
        'Unknown query parameter "brnach"; this route accepts project, format, suite, branch, ' +
        'base, commit, ci, runId, patch, upload.',
      location: { path: 'query.brnach' },
    });
    expect(publisher.events).toHaveLength(0);
    expect(ledger.entries.size).toBe(0);
  });

  it('refuses values that were not valid UTF-8', async () => {
    const raw = (rawQuery: string, query: Record<string, string>) =>
      ingest({ query, rawQuery, body: GRADLE, correlationId: 'c' }, deps);
    await expect(
      raw('project=shop&branch=%FF', { project: 'shop', branch: '\ufffd' }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('"branch" is not valid UTF-8'),
      location: { path: 'query.branch' },
    });
    // What a lenient decoder leaves of bad bytes is refused too (no raw query at hand).
    await expect(post(GRADLE, { suite: 'unit\ufffd' })).rejects.toMatchObject({
      location: { path: 'query.suite' },
    });
    await expect(post(GRADLE, { commit: '\ud800' })).rejects.toMatchObject({
      location: { path: 'query.commit' },
    });
    const ok = await raw('project=shop&branch=caf%C3%A9+x', { project: 'shop', branch: 'café x' });
    expect(ok.status).toBe(202);
  });

  it.each([
    ['a//b', 'empty segment'],
    ['a/./b', '"." or ".." segment'],
    ['a/..', '"." or ".." segment'],
    ['/shop', 'starts or ends with "/"'],
    ['shop/', 'starts or ends with "/"'],
    ['sh\u0007op', 'control character'],
    ['sh\u0085op', 'control character'],
    ['shop web', 'only letters, digits'],
    ['-shop', 'start with a letter or digit'],
    ['x'.repeat(129), 'longer than 128'],
  ])('refuses the project name %j (%s)', async (project, problem) => {
    await expect(post(GRADLE, { project })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining(problem),
      location: { path: 'query.project' },
    });
  });

  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty'])(
    'ingests the project %j, a valid name that Object.prototype also has',
    async (project) => {
      const { status, result } = await post(GRADLE, { project });
      expect(status).toBe(202);
      expect(result.project).toBe(project);
      expect(publisher.events).toHaveLength(1);
    },
  );

  it('refuses an empty project name wherever it comes from', () => {
    expect(() => canonicalProject('', 'path.project')).toThrow(/it is empty/);
  });

  it('gives two Unicode spellings of one project name one run, one archive key', async () => {
    const composed = await post(GRADLE, { project: 'caf\u00e9/web' });
    const decomposed = await post(GRADLE, { project: 'cafe\u0301/web' });
    expect(composed.result.project).toBe('caf\u00e9/web');
    expect(decomposed.result).toMatchObject({
      project: 'caf\u00e9/web',
      runId: composed.result.runId,
      duplicate: true,
    });
    expect([...archive.objects.keys()].every((k) => k.startsWith('caf\u00e9/web/'))).toBe(true);
    expect(publisher.events).toHaveLength(1);
  });

  it('refuses a multipart form upload with the curl flag to use', async () => {
    await expect(
      ingest(
        {
          query: { project: 'shop' },
          body: Buffer.from(
            '--x\r\nContent-Disposition: form-data; name="file"\r\n\r\n<a/>\r\n--x--',
          ),
          contentType: 'multipart/form-data; boundary=x',
          correlationId: 'c',
        },
        deps,
      ),
    ).rejects.toMatchObject({
      status: 415,
      message: expect.stringContaining('--data-binary @report.xml'),
    });
    expect(ledger.entries.size).toBe(0);
  });
});
