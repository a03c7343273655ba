import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseK6 } from '../../../functions/core/formats/k6';
import { errorOf } from '../../helpers/errors';

const FIXTURES = join(__dirname, '../../fixtures');
const load = (rel: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));

/** A minimal handleSummary document. */
const handle = (metrics: Record<string, unknown>) => ({
  root_group: { name: '', path: '', groups: [], checks: [] },
  state: { testRunDurationMs: 10_000 },
  metrics,
});

describe('parseK6: k6 1.x machine-readable summary (corpus)', () => {
  it('reads k6-summary-v1-example-basic.json', () => {
    // Prepare
    const doc = load('corpus/k6/k6-summary-v1-example-basic.json');

    // Act
    const parsed = parseK6(doc);

    // Assess: http_reqs count 1500 / rate 24.79; http_req_failed rate 0.02 over
    // passes + fails = 1500 samples = 30; http_req_duration values; config.duration 60 s.
    expect(parsed.kind).toBe('load');
    expect(parsed.format).toBe('k6');
    expect(parsed.dialect).toBe('summary-v1');
    expect(parsed.summary).toEqual({
      requests: 1500,
      failedRequests: 30,
      errorRate: 0.02,
      durationMs: 60_000,
      requestsPerSecond: 24.79,
      latencyMs: {
        avg: 245.67,
        min: 123.45,
        med: 234.56,
        max: 456.78,
        p90: 387.65,
        p95: 421.32,
        p99: 445.12,
      },
      thresholds: [],
    });
    expect(parsed.warnings).toEqual([]);
  });

  it('turns results.passed = false without threshold details into a failed threshold', () => {
    // Prepare
    const doc = load('corpus/k6/k6-summary-v1-example-basic.json');
    (doc.results as Record<string, unknown>).passed = false;

    // Act
    const parsed = parseK6(doc);

    // Assess
    expect(parsed.summary.thresholds).toEqual([{ name: 'k6: results.passed', passed: false }]);
    expect(parsed.warnings).toEqual(['k6 reports the run as failed (results.passed = false).']);
  });

  it('reads per-metric thresholds when a v1 summary carries them', () => {
    // Prepare
    const doc = {
      version: '1.0.0',
      metadata: { generatedAt: '2025-01-01T00:00:00Z', k6Version: '1.2.0' },
      config: { execution: 'local', duration: 2.5 },
      results: {
        passed: false,
        metrics: [
          { name: 'http_reqs', type: 'counter', values: { count: 10, rate: 4 } },
          {
            name: 'http_req_duration',
            type: 'trend',
            values: { 'p(95)': 700, count: 10 },
            thresholds: { 'p(95)<500': { ok: false } },
          },
        ],
      },
    };

    // Act
    const parsed = parseK6(doc);

    // Assess: the failed threshold explains results.passed, so no synthetic entry.
    expect(parsed.summary.thresholds).toEqual([
      { name: 'http_req_duration: p(95)<500', passed: false },
    ]);
    expect(parsed.summary.durationMs).toBe(2500);
    expect(parsed.summary.latencyMs).toEqual({ p95: 700 });
  });
});

describe('parseK6: sparse v1 summaries', () => {
  const v1 = (metrics: unknown[], config: Record<string, unknown> = {}) => ({
    version: '1.0.0',
    config,
    results: { metrics },
  });

  it('keeps the first of a repeated metric and counts a missing http_reqs count as 0', () => {
    // Act
    const parsed = parseK6(
      v1([
        { name: 'http_reqs', type: 'counter', values: {} },
        { name: 'http_reqs', type: 'counter', values: { count: 99, rate: 9 } },
        { name: 'http_req_failed', type: 'rate', values: {} },
      ]),
    );

    // Assess: no rate and no duration, so no requests per second either.
    expect(parsed.summary).toEqual({
      requests: 0,
      failedRequests: 0,
      errorRate: 0,
      latencyMs: {},
      thresholds: [],
    });
  });

  it('caps failed requests at the request count when the failure samples outnumber them', () => {
    // Act: 2 requests, but 5 failure samples (e.g. retries counted by a custom check).
    const parsed = parseK6(
      v1(
        [
          { name: 'http_reqs', type: 'counter', values: { count: 2 } },
          { name: 'http_req_failed', type: 'rate', values: { passes: 5, fails: 0 } },
        ],
        { execution: 'local' },
      ),
    );

    // Assess: no config.duration, so neither a duration nor a rate.
    expect(parsed.summary).toMatchObject({ requests: 2, failedRequests: 2, errorRate: 1 });
    expect(parsed.summary.durationMs).toBeUndefined();
    expect(parsed.summary.requestsPerSecond).toBeUndefined();
  });
});

describe('parseK6: handleSummary data (JSON.stringify(data))', () => {
  it('reads the generated handleSummary fixture', () => {
    // Prepare
    const doc = load('generated/k6-handle-summary.json');

    // Act
    const parsed = parseK6(doc);

    // Assess: 1200 requests, rate 14/1200 failed, state.testRunDurationMs 60061.532.
    expect(parsed.dialect).toBe('handle-summary');
    expect(parsed.summary).toEqual({
      requests: 1200,
      failedRequests: 14,
      errorRate: 0.011666666666666667,
      durationMs: 60061.53,
      requestsPerSecond: 19.98,
      latencyMs: {
        avg: 182.41,
        min: 95.12,
        med: 160.33,
        max: 1320.9,
        p90: 290.55,
        p95: 388.02,
        p99: 812.47,
      },
      thresholds: [
        { name: 'http_req_failed: rate<0.01', passed: false },
        { name: 'http_req_duration: p(95)<500', passed: true },
        { name: 'http_req_duration: p(99)<1500', passed: true },
        { name: 'checks: rate>0.99', passed: false },
      ],
    });
    expect(parsed.warnings).toEqual([]);
  });

  it('falls back to passes / (passes + fails) when the rate is missing', () => {
    // Prepare
    const doc = handle({
      http_reqs: { values: { count: 40 } },
      http_req_failed: { values: { passes: 4, fails: 36 } },
    });

    // Act
    const parsed = parseK6(doc);

    // Assess: k6's `passes` counts the true samples, i.e. the failed requests.
    expect(parsed.summary).toMatchObject({
      requests: 40,
      failedRequests: 4,
      errorRate: 0.1,
      durationMs: 10_000,
      requestsPerSecond: 4,
    });
  });

  it('warns when http_reqs or http_req_failed are missing', () => {
    // Prepare
    const noRequests = handle({ iterations: { values: { count: 3 } } });
    const noFailed = handle({ http_reqs: { values: { count: 3, rate: 1 } } });

    // Act
    const a = parseK6(noRequests);
    const b = parseK6(noFailed);

    // Assess
    expect(a.summary.requests).toBe(0);
    expect(a.warnings).toEqual([
      'No http_reqs metric: the test made no HTTP requests (requests = 0).',
    ]);
    expect(b.summary.failedRequests).toBe(0);
    expect(b.warnings[0]).toContain('No http_req_failed metric');
  });

  it('keeps metric names like __proto__ and constructor as plain data', () => {
    // Prepare
    const doc = JSON.parse(
      JSON.stringify(handle({ http_reqs: { values: { count: 1 } } })).replace(
        '"http_reqs"',
        '"__proto__":{"values":{"count":5},"thresholds":{"count<1":{"ok":false}}},' +
          '"constructor":{"values":{}},"http_reqs"',
      ),
    );

    // Act
    const parsed = parseK6(doc);

    // Assess
    expect(parsed.summary.requests).toBe(1);
    expect(parsed.summary.thresholds).toEqual([{ name: '__proto__: count<1', passed: false }]);
    expect(({} as Record<string, unknown>).values).toBeUndefined();
  });
});

describe('parseK6: legacy --summary-export', () => {
  it('reads the generated summary-export fixture, with inverted threshold booleans', () => {
    // Prepare
    const doc = load('generated/k6-summary-export.json');

    // Act
    const parsed = parseK6(doc);

    // Assess: true in this file means the threshold FAILED.
    expect(parsed.dialect).toBe('summary-export');
    expect(parsed.summary).toEqual({
      requests: 800,
      failedRequests: 10,
      errorRate: 0.0125,
      requestsPerSecond: 26.64,
      latencyMs: {
        avg: 231.7,
        min: 88.41,
        med: 201.32,
        max: 1911.21,
        p90: 352.91,
        p95: 447.63,
      },
      thresholds: [
        { name: 'checks: rate>0.99', passed: false },
        { name: 'http_req_duration: p(90)<200', passed: false },
        { name: 'http_req_duration: p(95)<500', passed: true },
        { name: 'http_req_failed: rate<0.05', passed: true },
      ],
    });
    expect(parsed.summary.durationMs).toBeUndefined();
  });
});

describe('parseK6 rejects bad input', () => {
  const exportDoc = (metrics: Record<string, unknown>) => ({ root_group: {}, metrics });

  it.each([
    ['null', null, '$: expected an object, got null'],
    ['an array', [], '$: expected an object, got array'],
    ['an empty object', {}, '$: expected `metrics`'],
    [
      'metrics as an array',
      { root_group: {}, metrics: [] },
      'metrics: expected an object, got array',
    ],
    [
      'results.metrics as an object',
      { results: { metrics: {} }, metadata: {} },
      'results.metrics: expected an array, got object',
    ],
    [
      'a v1 metric without a name',
      { results: { metrics: [{ values: {} }] } },
      'results.metrics[0].name: expected a string, got nothing',
    ],
    [
      'a v1 metric without values',
      { results: { metrics: [{ name: 'http_reqs' }] } },
      'results.metrics[0].values: expected an object, got nothing',
    ],
    [
      'a metric that is a number',
      exportDoc({ http_reqs: 5 }),
      'metrics.http_reqs: expected an object, got number 5',
    ],
    [
      'a count given as a string',
      handle({ http_reqs: { values: { count: '1200' } } }),
      'metrics.http_reqs.values.count: expected a number, got string "1200"',
    ],
    [
      'a fractional request count',
      exportDoc({ http_reqs: { count: 1.5 } }),
      'metrics.http_reqs.count: expected a non-negative integer, got number 1.5',
    ],
    [
      'a rate above 1',
      exportDoc({ http_req_failed: { value: 1.5 } }),
      'metrics.http_req_failed.value: expected a rate between 0 and 1, got 1.5',
    ],
    [
      'a latency given as a string',
      handle({ http_req_duration: { values: { 'p(95)': '12ms' } } }),
      'metrics.http_req_duration.values["p(95)"]: expected a number, got string "12ms"',
    ],
    [
      'an object threshold in a summary export',
      exportDoc({ http_req_duration: { avg: 1, thresholds: { 'p(95)<500': { ok: true } } } }),
      'metrics.http_req_duration.thresholds["p(95)<500"]: expected a boolean, got object',
    ],
    [
      'a boolean threshold in handleSummary data',
      handle({ http_req_duration: { values: {}, thresholds: { 'p(95)<500': true } } }),
      'metrics.http_req_duration.thresholds["p(95)<500"]: expected an object like { "ok": true }, got boolean true',
    ],
    [
      'a threshold ok given as a string',
      handle({ checks: { values: {}, thresholds: { 'rate>0.9': { ok: 'yes' } } } }),
      'metrics.checks.thresholds["rate>0.9"].ok: expected a boolean, got string "yes"',
    ],
    [
      'thresholds as an array',
      handle({ checks: { values: {}, thresholds: ['rate>0.9'] } }),
      'metrics.checks.thresholds: expected an object, got array',
    ],
    [
      'results.passed as a string',
      { results: { passed: 'false', metrics: [] } },
      'results.passed: expected a boolean, got string "false"',
    ],
    [
      'a duration given as a string',
      { ...handle({}), state: { testRunDurationMs: '10s' } },
      'state.testRunDurationMs: expected a number, got string "10s"',
    ],
  ])('%s', (_label, doc, message) => {
    // Prepare / Act
    const err = errorOf(() => parseK6(doc));

    // Assess
    expect(err.code).toBe('invalid_report');
    expect(err.message).toContain('Invalid k6 summary');
    expect(err.message).toContain(message);
    expect(err.location?.path).toBeTruthy();
  });
});
