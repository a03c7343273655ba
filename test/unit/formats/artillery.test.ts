import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateConfigFor, parseConfig } from '../../../functions/core/config';
import { parseArtillery } from '../../../functions/core/formats/artillery';
import { evaluateGate } from '../../../functions/core/gates/gate';
import { ARTILLERY_NO_ENSURE } from '../../../functions/core/gates/load';
import { errorOf } from '../../helpers/errors';

const FIXTURES = join(__dirname, '../../fixtures');
const load = (rel: string): unknown => JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));

const report = (aggregate: Record<string, unknown>) => ({ aggregate, intermediate: [] });

describe('parseArtillery on the corpus', () => {
  it('reads the Artillery 2.0.21 local HTTP report', () => {
    // Prepare
    const doc = load('corpus/artillery/artillery-2.0.21-local-http.json');

    // Act
    const parsed = parseArtillery(doc);

    // Assess: aggregate.counters has http.requests 240, http.codes.200 120, http.codes.404 120
    // and no errors.*; summaries["http.response_time"] mean 0.6, min 0, median 1, max 5,
    // p90 1, p95 1, p99 2; lastMetricAt - firstMetricAt = 1795572391267 - 1795572385312.
    expect(parsed.kind).toBe('load');
    expect(parsed.format).toBe('artillery');
    expect(parsed.summary).toEqual({
      requests: 240,
      failedRequests: 0,
      errorRate: 0,
      durationMs: 5955,
      requestsPerSecond: 41,
      latencyMs: { avg: 0.6, min: 0, med: 1, max: 5, p90: 1, p95: 1, p99: 2 },
      thresholds: [],
    });
    expect(parsed.warnings).toEqual([
      '120 responses with a 4xx status are not counted as failed requests (only errors.* and 5xx are).',
    ]);
  });
});

describe('parseArtillery semantics', () => {
  it('counts errors.* and 5xx as failures, not per-endpoint duplicates nor 4xx', () => {
    // Prepare
    const doc = report({
      counters: {
        'http.requests': 100,
        'http.codes.200': 80,
        'http.codes.503': 5,
        'http.codes.500': 2,
        'http.codes.429': 3,
        'errors.ETIMEDOUT': 6,
        'errors.ECONNREFUSED': 4,
        'plugins.metrics-by-endpoint./api.codes.500': 2,
        'plugins.metrics-by-endpoint./api.errors.ETIMEDOUT': 6,
        'vusers.failed': 10,
      },
      firstCounterAt: 1000,
      lastCounterAt: 11_000,
    });

    // Act
    const parsed = parseArtillery(doc);

    // Assess
    expect(parsed.summary).toMatchObject({
      requests: 100,
      failedRequests: 17,
      errorRate: 0.17,
      durationMs: 10_000,
      requestsPerSecond: 10,
      latencyMs: {},
    });
    expect(parsed.warnings).toEqual([
      '3 responses with a 4xx status are not counted as failed requests (only errors.* and 5xx are).',
    ]);
  });

  it('caps failures at the number of requests', () => {
    // Prepare
    const doc = report({ counters: { 'http.requests': 2, 'errors.EAI_AGAIN': 5 } });

    // Act
    const parsed = parseArtillery(doc);

    // Assess
    expect(parsed.summary.failedRequests).toBe(2);
    expect(parsed.summary.errorRate).toBe(1);
    expect(parsed.warnings[0]).toContain('capped');
  });

  it('reads latency from histograms when summaries are absent', () => {
    // Prepare
    const doc = report({
      counters: { 'http.requests': 1 },
      histograms: { 'http.response_time': { mean: 12.345, p99: 40 } },
    });

    // Act
    const parsed = parseArtillery(doc);

    // Assess
    expect(parsed.summary.latencyMs).toEqual({ avg: 12.35, p99: 40 });
  });

  it('reports zero requests for a non-HTTP test, with a warning', () => {
    // Prepare
    const doc = report({ counters: { 'vusers.created': 3 } });

    // Act
    const parsed = parseArtillery(doc);

    // Assess
    expect(parsed.summary).toMatchObject({ requests: 0, failedRequests: 0, errorRate: 0 });
    expect(parsed.summary.durationMs).toBeUndefined();
    expect(parsed.warnings).toEqual([
      'No http.requests counter: the test made no HTTP requests (requests = 0).',
    ]);
  });

  it('treats __proto__ and constructor counters as plain data', () => {
    // Prepare
    const doc = JSON.parse(
      '{"aggregate":{"counters":{"__proto__":{"http.requests":9},"constructor":"x",' +
        '"http.requests":4,"errors.__proto__":1}}}',
    );

    // Act
    const parsed = parseArtillery(doc);

    // Assess
    expect(parsed.summary.requests).toBe(4);
    expect(parsed.summary.failedRequests).toBe(1);
  });
});

describe('parseArtillery rejects bad input', () => {
  it.each([
    ['null', null, '$: expected an object, got null'],
    ['an array', [], '$: expected an object, got array'],
    ['an empty object', {}, 'aggregate: expected an object, got nothing (the field is missing)'],
    ['aggregate as an array', { aggregate: [] }, 'aggregate: expected an object, got array'],
    ['no counters', { aggregate: {} }, 'aggregate.counters: expected an object, got nothing'],
    [
      'counters as an array',
      { aggregate: { counters: [1] } },
      'aggregate.counters: expected an object, got array',
    ],
    [
      'a request count given as a string',
      report({ counters: { 'http.requests': '240' } }),
      'aggregate.counters["http.requests"]: expected a non-negative number, got string "240"',
    ],
    [
      'a negative error counter',
      report({ counters: { 'errors.ETIMEDOUT': -1 } }),
      'aggregate.counters["errors.ETIMEDOUT"]: expected a non-negative number, got number -1',
    ],
    [
      'summaries as an array',
      report({ counters: {}, summaries: [] }),
      'aggregate.summaries: expected an object, got array',
    ],
    [
      'a response-time summary given as a number',
      report({ counters: {}, summaries: { 'http.response_time': 3 } }),
      'aggregate.summaries["http.response_time"]: expected an object, got number 3',
    ],
    [
      'a percentile given as a string',
      report({ counters: {}, summaries: { 'http.response_time': { p95: '3' } } }),
      'aggregate.summaries["http.response_time"].p95: expected a number, got string "3"',
    ],
    [
      'a timestamp given as a string',
      report({ counters: {}, firstMetricAt: '1795572385312' }),
      'aggregate.firstMetricAt: expected a number, got string',
    ],
    [
      'an Artillery 1.x report',
      { aggregate: { requestsCompleted: 10, latency: {} }, intermediate: [] },
      'this is an Artillery 1.x report',
    ],
  ])('%s', (_label, doc, message) => {
    // Prepare / Act
    const err = errorOf(() => parseArtillery(doc));

    // Assess
    expect(err.code).toBe('invalid_report');
    expect(err.message).toContain('Invalid Artillery report');
    expect(err.message).toContain(message);
    expect(err.location?.path).toBeTruthy();
  });
});

describe('parseArtillery on a real run whose `ensure` checks failed', () => {
  // Artillery 2.0.21 `artillery run --output ensure-failed.json ensure-failed.yml` against
  // ensure-failed-server.js; ensure-failed-console.txt is the same run's console.
  const text = readFileSync(join(FIXTURES, 'real/artillery/ensure-failed-console.txt'), 'utf8');
  // The final summary (the console prints one per 10 s period before it).
  const console = text.slice(text.indexOf('Summary report'));
  const printed = (name: string): number => {
    const m = new RegExp(`^${name.replace(/\./g, '\\.')}: \\.+ ([\\d.]+)`, 'm').exec(console);
    if (!m) throw new Error(`${name} not in the console`);
    return Number(m[1]);
  };
  const responseTime = (stat: string): number => {
    const block = console.slice(console.indexOf('http.response_time:\n'));
    const m = new RegExp(`^  ${stat}: \\.+ ([\\d.]+)`, 'm').exec(block);
    if (!m) throw new Error(`${stat} not in the console`);
    return Number(m[1]);
  };

  it("has the console's figures: 106 requests, 40 failed (18 ETIMEDOUT + 22 500s), p95 153, p99 172.5", () => {
    const parsed = parseArtillery(load('real/artillery/ensure-failed.json'));
    expect(printed('http.requests')).toBe(106);
    expect(parsed.summary.requests).toBe(printed('http.requests'));
    expect(parsed.summary.failedRequests).toBe(
      printed('errors.ETIMEDOUT') + printed('http.codes.500'),
    );
    expect(parsed.summary.failedRequests).toBe(40);
    expect(parsed.summary.errorRate).toBeCloseTo(40 / 106, 10);
    expect(parsed.summary.latencyMs).toMatchObject({
      min: responseTime('min'),
      max: responseTime('max'),
      avg: responseTime('mean'),
      med: responseTime('median'),
      p95: responseTime('p95'),
      p99: responseTime('p99'),
    });
    expect(parsed.summary.latencyMs).toMatchObject({ p95: 153, p99: 172.5, max: 179 });
    expect(parsed.summary.requestsPerSecond).toBe(printed('http.request_rate'));
    expect(parsed.warnings).toEqual([
      '22 responses with a 4xx status are not counted as failed requests (only errors.* and 5xx are).',
    ]);
  });

  it('the report records neither the ensure definitions nor their results, though three failed', () => {
    const doc = load('real/artillery/ensure-failed.json') as Record<string, unknown>;
    expect(Object.keys(doc).sort()).toEqual(['aggregate', 'intermediate']);
    expect(JSON.stringify(doc)).not.toMatch(/ensure/);
    expect(console.match(/^fail: .*$/gm)).toEqual([
      'fail: http.codes.500 < 1',
      'fail: vusers.failed == 0',
      'fail: http.response_time.p99 < 100',
    ]);
    expect(parseArtillery(doc).summary.thresholds).toEqual([]);
  });

  it('the gate does not claim the test has no thresholds: it says Artillery does not record them', () => {
    const gate = evaluateGate(
      parseArtillery(load('real/artillery/ensure-failed.json')),
      gateConfigFor(parseConfig({}), 'p'),
      { baseline: [], now: new Date('2026-12-05T00:00:00Z') },
    );
    const thresholds = gate.checks.find((c) => c.id === 'load.thresholds');
    expect(thresholds).toMatchObject({ status: 'skip', message: ARTILLERY_NO_ENSURE });
    expect(ARTILLERY_NO_ENSURE).toMatch(
      /^Artillery's JSON report does not record `ensure` results: gate on Artillery's exit code/,
    );
    // A k6 summary without thresholds really has none.
    const k6 = evaluateGate(
      { ...parseArtillery(load('real/artillery/ensure-failed.json')), format: 'k6' },
      gateConfigFor(parseConfig({}), 'p'),
      { baseline: [], now: new Date('2026-12-05T00:00:00Z') },
    );
    expect(k6.checks.find((c) => c.id === 'load.thresholds')?.message).toBe(
      'The load test defines no thresholds.',
    );
  });
});
