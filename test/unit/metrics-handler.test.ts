import { describe, expect, it } from 'vitest';
import { LocalMetricStore } from '../../functions/adapters/local/metric-store';
import { createLocalMetrics } from '../../functions/adapters/local/metrics';
import { parseConfig } from '../../functions/core/config';
import type { BusEvent } from '../../functions/core/events';
import { METRICS } from '../../functions/core/metrics/catalog';
import { createMetricsHandler } from '../../functions/metrics/handler';
import { validateEmf } from '../helpers/emf';

const archive = { uri: 'mem://x', bytes: 1, sha256: 'a'.repeat(64) };
const metadata = (extra: Record<string, string> = {}) => ({
  project: 'shop',
  runId: 'r1',
  correlationId: 'c-123456789',
  format: 'junit',
  ingestedAt: '2026-11-25T10:00:00.000Z',
  archive,
  normalized: archive,
  ...extra,
});
const gate = (status: 'pass' | 'fail') => ({ status, checks: [] });

const busEvent = (detailType: string, detail: unknown): BusEvent => ({
  version: '0',
  id: 'e1',
  source: 'vigil.ingest',
  account: '1',
  time: '2026-11-25T10:00:01Z',
  region: 'us-east-1',
  resources: [],
  'detail-type': detailType,
  detail,
});

const setup = (config = parseConfig({ projects: { shop: { metricSuites: ['api'] } } })) => {
  const store = new LocalMetricStore();
  const lines: string[] = [];
  const metrics = createLocalMetrics(store, {
    namespace: 'Vigil',
    serviceName: 'vigil',
    echo: (l) => lines.push(l),
  });
  return { store, lines, handler: createMetricsHandler({ config, metrics }) };
};

const value = (
  store: LocalMetricStore,
  name: string,
  dimensions: Record<string, string> = { Project: 'shop' },
) => store.query({ name, dimensions }).map((p) => p.value);

describe('metrics handler', () => {
  it('emits the test-run KPIs as valid EMF, timestamped at ingestion', async () => {
    // Prepare
    const { store, lines, handler } = setup();
    const detail = {
      metadata: metadata({ suite: 'api', branch: 'main', commit: 'abc' }),
      summary: { total: 10, passed: 7, failed: 1, skipped: 2, flaky: 1, durationMs: 1234 },
      gate: gate('fail'),
      failedTests: [],
      failedTestsTruncated: false,
      flakyTests: [],
    };
    // Act
    await handler(busEvent('Test Run Reported', detail));
    // Assess
    // One document per dimension set: [Project] and the configured [Project, Suite].
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(validateEmf(line)).toEqual([]);
    expect(value(store, METRICS.testsTotal.name)).toEqual([10]);
    expect(value(store, METRICS.testsFailed.name)).toEqual([1]);
    expect(value(store, METRICS.testsSkipped.name)).toEqual([2]);
    expect(value(store, METRICS.testsFlaky.name)).toEqual([1]);
    expect(value(store, METRICS.testPassRate.name)).toEqual([87.5]);
    expect(value(store, METRICS.suiteDuration.name)).toEqual([1234]);
    expect(value(store, METRICS.gateFailures.name)).toEqual([1]);
    expect(value(store, METRICS.testRuns.name, { Project: 'shop', Suite: 'api' })).toEqual([1]);
    expect(store.query({ name: METRICS.testsTotal.name })[0]?.timestamp).toBe(
      Date.parse('2026-11-25T10:00:00.000Z'),
    );
    // Bounded dimensions: never commits, run ids or branches.
    for (const line of lines) expect(line).not.toMatch(/"(abc|r1)"/);
  });

  it('keeps unconfigured suites out of the dimensions', async () => {
    const { store, handler } = setup(parseConfig({}));
    await handler(
      busEvent('Test Run Reported', {
        metadata: metadata({ suite: 'random' }),
        summary: { total: 0, passed: 0, failed: 0, skipped: 0, flaky: 0, durationMs: 0 },
        gate: gate('fail'),
        failedTests: [],
        failedTestsTruncated: false,
        flakyTests: [],
      }),
    );
    expect(store.query({ name: METRICS.testRuns.name })).toHaveLength(1);
    expect(value(store, METRICS.testPassRate.name)).toEqual([]); // nothing ran: no pass rate
  });

  it('emits the project dimension for a project named like an Object.prototype member', async () => {
    const { store, handler } = setup();
    await handler(
      busEvent('Test Run Reported', {
        metadata: metadata({ project: 'constructor', suite: 'api' }),
        summary: { total: 1, passed: 1, failed: 0, skipped: 0, flaky: 0, durationMs: 1 },
        gate: gate('pass'),
        failedTests: [],
        failedTestsTruncated: false,
        flakyTests: [],
      }),
    );
    expect(value(store, METRICS.testRuns.name, { Project: 'constructor' })).toEqual([1]);
    // Its suite is not configured (only shop's is): no [Project, Suite] series.
    expect(store.query({ name: METRICS.testRuns.name })).toHaveLength(1);
  });

  it('emits no number for a coverage metric the tool did not measure', async () => {
    const { store, handler } = setup();
    const unmeasured = { pct: null, covered: 0, total: 0, reason: 'not measured: no <method>' };
    await handler(
      busEvent('Coverage Reported', {
        metadata: metadata(),
        summary: {
          lines: { pct: 91.5, covered: 1, total: 1 },
          branches: unmeasured,
          functions: unmeasured,
        },
        gate: gate('pass'),
      }),
    );
    expect(value(store, METRICS.coverageLines.name)).toEqual([91.5]);
    expect(value(store, METRICS.coverageBranches.name)).toEqual([]);
    expect(value(store, METRICS.coverageFunctions.name)).toEqual([]);
  });

  it('emits coverage, load and benchmark metrics', async () => {
    const { store, lines, handler } = setup();
    const m = (pct: number) => ({ pct, covered: 1, total: 1 });
    await handler(
      busEvent('Coverage Reported', {
        metadata: metadata(),
        summary: { lines: m(91.5), branches: m(80), functions: m(70), statements: m(90) },
        gate: gate('pass'),
      }),
    );
    await handler(
      busEvent('Load Test Reported', {
        metadata: metadata(),
        summary: {
          requests: 100,
          failedRequests: 5,
          errorRate: 0.05,
          latencyMs: { p95: 120, p99: 300 },
          thresholds: [],
        },
        gate: gate('pass'),
      }),
    );
    await handler(
      busEvent('Benchmark Reported', {
        metadata: metadata(),
        summary: { benchmarks: [{ name: 'parse', unit: 'ms', value: 4.2 }] },
        gate: { status: 'none', checks: [] },
      }),
    );
    for (const line of lines) expect(validateEmf(line)).toEqual([]);
    expect(value(store, METRICS.coverageLines.name)).toEqual([91.5]);
    expect(value(store, METRICS.coverageStatements.name)).toEqual([90]);
    expect(value(store, METRICS.coverageFunctions.name)).toEqual([70]);
    expect(value(store, METRICS.loadErrorRate.name)).toEqual([5]);
    expect(value(store, METRICS.loadLatencyP99.name)).toEqual([300]);
    expect(
      value(store, METRICS.benchmarkValue.name, { Project: 'shop', Benchmark: 'parse' }),
    ).toEqual([4.2]);
    expect(value(store, METRICS.gateFailures.name)).toEqual([0, 0, 0]);
  });

  it('rejects events that do not match the canonical schema', async () => {
    const { handler } = setup();
    await expect(handler(busEvent('Coverage Reported', { metadata: metadata() }))).rejects.toThrow(
      /Invalid Coverage Reported event: summary/,
    );
    await expect(handler(busEvent('Something Else', {}))).rejects.toThrow(/Unexpected event/);
  });
});
