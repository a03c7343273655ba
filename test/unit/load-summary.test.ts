import { describe, expect, it } from 'vitest';
import { configSchema, gateConfigFor } from '../../functions/core/config';
import { parseReport } from '../../functions/core/formats';
import { evaluateGate } from '../../functions/core/gates/gate';
import {
  formatSummary,
  latencyOf,
  percentile,
  Recorder,
  type RunInfo,
  summarize,
  toK6Summary,
} from '../../load/summary';

const INFO: RunInfo = {
  scenario: 'ingest',
  engine: 'paced',
  target: 'http://127.0.0.1:3000/',
  rate: 50,
  durationS: 2,
  connections: 64,
  startedAt: new Date('2024-05-01T12:00:00Z'),
  elapsedMs: 2000,
};

/** 100 answers with latencies 1..100 ms: 95 × 202, 3 × 503, 1 × 429, 1 × 400, plus 2 resets. */
const sample = (): Recorder => {
  const rec = new Recorder();
  for (let i = 1; i <= 100; i++) {
    const status = i <= 95 ? 202 : i <= 98 ? 503 : i === 99 ? 429 : 400;
    rec.add({ status, latencyMs: i, runId: `r-${i}` });
  }
  rec.add({ status: 0, latencyMs: 10_000, error: 'ECONNRESET' });
  rec.add({ status: 0, latencyMs: 10_000, error: 'ECONNRESET' });
  return rec;
};

describe('percentiles', () => {
  it('interpolates between the closest ranks', () => {
    const values = Float64Array.from([10, 20, 30, 40]);
    expect(percentile(values, 0)).toBe(10);
    expect(percentile(values, 50)).toBe(25);
    expect(percentile(values, 100)).toBe(40);
    expect(percentile(values, 90)).toBeCloseTo(37, 10);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarises latencies regardless of input order', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    expect(latencyOf(values)).toEqual({
      avg: 50.5,
      min: 1,
      med: 50.5,
      max: 100,
      p90: 90.1,
      p95: 95.05,
      p99: 99.01,
    });
    expect(latencyOf([])).toBeUndefined();
  });
});

describe('summarize', () => {
  it('counts every non-2xx answer and network error as failed', () => {
    const r = summarize(sample(), INFO, { p99Ms: 1000, maxErrorRate: 0.1 });
    expect(r).toMatchObject({
      requests: 102,
      ok: 95,
      failed: 7,
      throttled: 4,
      requestsPerSecond: 51,
      statuses: { '202': 95, '400': 1, '429': 1, '503': 3 },
      networkErrors: { ECONNRESET: 2 },
    });
    expect(r.errorRate).toBeCloseTo(7 / 102, 10);
    // Latency covers answers only; network errors have no answer time.
    expect(r.latency?.max).toBe(100);
  });

  it('decides thresholds at their boundaries', () => {
    const rec = new Recorder();
    for (let i = 0; i < 100; i++) rec.add({ status: i < 99 ? 202 : 500, latencyMs: 50 });
    const at = (p99Ms: number, maxErrorRate: number) =>
      summarize(rec, INFO, { p99Ms, maxErrorRate }).thresholds.map((t) => t.ok);
    expect(at(50.01, 0.01)).toEqual([true, true]); // p99 50 < 50.01; 1% <= 1%
    expect(at(50, 0.01)).toEqual([false, true]); // p99 must be strictly below
    expect(at(51, 0.0099)).toEqual([true, false]);
    expect(summarize(rec, INFO, { p99Ms: 51, maxErrorRate: 0.01 }).passed).toBe(true);
    expect(summarize(rec, INFO, { p99Ms: 50, maxErrorRate: 0.01 }).passed).toBe(false);
  });

  it('adds the verification counts as thresholds that need zero', () => {
    const rec = new Recorder();
    rec.add({ status: 202, latencyMs: 5, runId: 'a' });
    const clean = summarize(
      rec,
      INFO,
      { p99Ms: 100, maxErrorRate: 0 },
      { lost: 0, duplicated: 0, unexpected: 0, deadLettered: 0 },
    );
    expect(clean.passed).toBe(true);
    expect(clean.thresholds.map((t) => `${t.metric}: ${t.expression}`)).toEqual([
      'http_req_duration: p(99)<100',
      'http_req_failed: rate<=0',
      'vigil_results_lost: count==0',
      'vigil_results_duplicated: count==0',
      'vigil_results_unexpected: count==0',
      'vigil_results_dead_lettered: count==0',
    ]);
    const lossy = summarize(
      rec,
      INFO,
      { p99Ms: 100, maxErrorRate: 0 },
      { lost: 1, duplicated: 0, unexpected: 0, deadLettered: 0 },
    );
    expect(lossy.passed).toBe(false);
    expect(lossy.thresholds.filter((t) => !t.ok).map((t) => t.metric)).toEqual([
      'vigil_results_lost',
    ]);
  });

  it('records which run ids were accepted', () => {
    expect(sample().accepted).toHaveLength(95);
    expect(sample().accepted[0]).toBe('r-1');
    const rec = sample();
    rec.add({ status: 0, latencyMs: 10_000, error: 'ETIMEDOUT', runId: 'r-late' });
    expect(rec.unanswered).toEqual(['r-late']);
  });

  it('fails the latency threshold when nothing was answered', () => {
    const rec = new Recorder();
    rec.add({ status: 0, latencyMs: 3, error: 'ECONNREFUSED' });
    const r = summarize(rec, INFO, { p99Ms: 100, maxErrorRate: 1 });
    expect(r.latency).toBeUndefined();
    expect(r.thresholds.map((t) => t.ok)).toEqual([false, true]);
    expect(formatSummary(r).join('\n')).toContain('latency ms  - (no answers)');
  });
});

describe('the k6 summary', () => {
  const parse = (doc: Record<string, unknown>) => {
    // Auto-detected, as when posted without ?format=.
    const report = parseReport(JSON.stringify(doc));
    if (report.kind !== 'load') throw new Error(`parsed as ${report.kind}`);
    return report;
  };

  it('is ingested by Vigil as a k6 load result with the same numbers', () => {
    const r = summarize(sample(), INFO, { p99Ms: 1000, maxErrorRate: 0.1 });
    const report = parse(toK6Summary(r));
    expect(report.format).toBe('k6');
    expect(report.dialect).toBe('handle-summary');
    expect(report.warnings).toEqual([]);
    expect(report.summary).toEqual({
      requests: 102,
      failedRequests: 7,
      errorRate: r.errorRate,
      durationMs: 2000,
      requestsPerSecond: 51,
      latencyMs: r.latency,
      thresholds: [
        { name: 'http_req_failed: rate<=0.1', passed: true },
        { name: 'http_req_duration: p(99)<1000', passed: true },
      ],
    });
  });

  it('turns crossed thresholds into a failed gate', () => {
    const r = summarize(
      sample(),
      INFO,
      { p99Ms: 10, maxErrorRate: 0.01 },
      { lost: 0, duplicated: 2, unexpected: 0, deadLettered: 0 },
    );
    const report = parse(toK6Summary(r));
    expect(
      report.summary.thresholds
        .filter((t) => !t.passed)
        .map((t) => t.name)
        .sort(),
    ).toEqual([
      'http_req_duration: p(99)<10',
      'http_req_failed: rate<=0.01',
      'vigil_results_duplicated: count==0',
    ]);
    const gate = evaluateGate(report, gateConfigFor(configSchema.parse({}), 'vigil-load'));
    expect(gate.status).toBe('fail');
  });

  it('keeps a failed latency threshold when nothing was answered', () => {
    const rec = new Recorder();
    rec.add({ status: 0, latencyMs: 1, error: 'ECONNREFUSED' });
    const report = parse(toK6Summary(summarize(rec, INFO, { p99Ms: 100, maxErrorRate: 1 })));
    expect(report.summary).toMatchObject({
      requests: 1,
      failedRequests: 1,
      errorRate: 1,
      latencyMs: {},
    });
    expect(report.summary.thresholds).toContainEqual({
      name: 'http_req_duration: p(99)<100',
      passed: false,
    });
  });

  it('carries what k6 has no place for in a vigil block', () => {
    const doc = toK6Summary(
      summarize(
        sample(),
        { ...INFO, sendLagMs: { p99: 1.5, max: 3 } },
        { p99Ms: 1000, maxErrorRate: 0.1 },
      ),
    );
    expect(doc.vigil).toMatchObject({
      tool: 'vigil-load',
      scenario: 'ingest',
      engine: 'paced',
      targetRate: 50,
      statuses: { '503': 3 },
      networkErrors: { ECONNRESET: 2 },
      throttled: 4,
      sendLagMs: { p99: 1.5, max: 3 },
      startedAt: '2024-05-01T12:00:00.000Z',
      passed: true,
    });
  });
});

describe('the printed summary', () => {
  it('shows rate, percentiles, errors by status and each threshold', () => {
    const text = formatSummary(summarize(sample(), INFO, { p99Ms: 99, maxErrorRate: 0.1 })).join(
      '\n',
    );
    expect(text).toContain('102 finished in 2 s: 95 ok, 7 failed');
    expect(text).toContain('achieved    51 req/s');
    expect(text).toContain('p50 50.5  p90 90.1  p95 95.0  p99 99.0  max 100');
    expect(text).toContain('status      202 × 95, 400 × 1, 429 × 1, 503 × 3');
    expect(text).toContain('errors      7 (6.86 %); 429/503 4; network ECONNRESET × 2');
    expect(text).toContain('✖ http_req_duration p(99)<99 (actual 99.0)');
    expect(text).toContain('✔ http_req_failed rate<=0.1 (actual 6.86 %)');
  });
});
