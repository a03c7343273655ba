import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArtillery } from '../../../functions/core/formats/artillery';
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
