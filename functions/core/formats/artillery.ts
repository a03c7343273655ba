import { invalidReport } from '../errors';
import { invalidAt, isRecord, optionalDuration, optionalNumber, ownEntries } from './shape';
import {
  type LoadSummary,
  MAX_DURATION_MS,
  type ParsedLoad,
  perSecond,
  round2,
  validDurationMs,
} from './types';

/**
 * Artillery v2 JSON report (`artillery run --output report.json`): `{ aggregate: { counters,
 * rates, summaries, histograms, firstCounterAt, lastCounterAt, firstMetricAt, lastMetricAt,
 * period }, intermediate: [ …same per 10 s period… ] }`. Only `aggregate` is read.
 *
 * Failed requests = the `errors.*` counters + responses with status >= 500 (`http.codes.5xx`).
 * - `errors.<code>` (ETIMEDOUT, ECONNREFUSED, "Failed capture or match"…) are what Artillery
 *   itself calls errors: the request got no usable response, and the virtual user failed.
 * - 5xx responses are server failures even though Artillery counts them as plain responses.
 * - 4xx are NOT counted: they are often the expected outcome of a scenario (auth checks, 404
 *   probes, rate limits under test), and Artillery does not treat them as errors either. They
 *   are reported in a warning instead. (k6 differs: its http_req_failed counts 4xx too.)
 * Per-endpoint duplicates from the metrics-by-endpoint plugin (`plugins.metrics-by-endpoint.*`)
 * are not counted.
 *
 * Thresholds: `config.ensure` results are not in the JSON report, nor is `config` itself (the
 * report of Artillery 2.0.21 is `{ aggregate, intermediate }` only). The ensure plugin
 * (artillery-plugin-ensure) evaluates its checks in a `beforeExit` hook and only logs
 * `ok:`/`fail:` lines and sets the exit code, so `thresholds` is always empty here.
 */

const WHAT = 'Artillery report';

const CODE = /^http\.codes\.(\d{3})$/;

const LATENCY_KEYS = [
  ['avg', 'mean'],
  ['min', 'min'],
  ['med', 'median'],
  ['max', 'max'],
  ['p90', 'p90'],
  ['p95', 'p95'],
  ['p99', 'p99'],
] as const;

export const parseArtillery = (doc: unknown): ParsedLoad => {
  if (!isRecord(doc)) throw invalidAt(WHAT, [], 'an object', doc);
  const aggregate = doc.aggregate;
  if (!isRecord(aggregate)) throw invalidAt(WHAT, ['aggregate'], 'an object', aggregate);
  if ('requestsCompleted' in aggregate || 'scenariosCreated' in aggregate)
    throw invalidReport(
      `Invalid ${WHAT}: aggregate: this is an Artillery 1.x report; only Artillery 2 reports (aggregate.counters) are supported`,
      { path: 'aggregate' },
    );
  const counters = aggregate.counters;
  if (!isRecord(counters)) throw invalidAt(WHAT, ['aggregate', 'counters'], 'an object', counters);
  const warnings: string[] = [];

  let requests = 0;
  let errors = 0;
  let serverErrors = 0;
  let clientErrors = 0;
  let sawRequests = false;
  for (const [name, value] of ownEntries(counters)) {
    const isErrors = name.startsWith('errors.');
    const code = CODE.exec(name);
    if (name !== 'http.requests' && !isErrors && !code) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw invalidAt(WHAT, ['aggregate', 'counters', name], 'a non-negative number', value);
    if (name === 'http.requests') {
      requests = value;
      sawRequests = true;
    } else if (isErrors) errors += value;
    else {
      const status = Number(code?.[1]);
      if (status >= 500) serverErrors += value;
      else if (status >= 400) clientErrors += value;
    }
  }
  if (!sawRequests)
    warnings.push('No http.requests counter: the test made no HTTP requests (requests = 0).');
  if (clientErrors > 0)
    warnings.push(
      `${clientErrors} responses with a 4xx status are not counted as failed requests (only errors.* and 5xx are).`,
    );

  let failedRequests = errors + serverErrors;
  if (sawRequests && failedRequests > requests) {
    warnings.push(
      `errors.* and 5xx counters add up to ${failedRequests}, more than the ${requests} requests; capped.`,
    );
    failedRequests = requests;
  }

  const latencyMs: LoadSummary['latencyMs'] = {};
  // `histograms` holds the same statistics as `summaries`; used when `summaries` is absent.
  const summariesKey = aggregate.summaries !== undefined ? 'summaries' : 'histograms';
  const summaries = aggregate[summariesKey];
  let rt: unknown;
  if (summaries !== undefined) {
    if (!isRecord(summaries))
      throw invalidAt(WHAT, ['aggregate', summariesKey], 'an object', summaries);
    if (Object.hasOwn(summaries, 'http.response_time')) rt = summaries['http.response_time'];
  }
  if (rt !== undefined) {
    const path = ['aggregate', summariesKey, 'http.response_time'];
    if (!isRecord(rt)) throw invalidAt(WHAT, path, 'an object', rt);
    for (const [ours, theirs] of LATENCY_KEYS) {
      const v = optionalDuration(rt, theirs, path, WHAT);
      if (v !== undefined) latencyMs[ours] = round2(v);
    }
  }

  const at = (key: string) => optionalNumber(aggregate, key, ['aggregate'], WHAT);
  const first = at('firstMetricAt') ?? at('firstCounterAt');
  const last = at('lastMetricAt') ?? at('lastCounterAt');

  const summary: LoadSummary = {
    requests,
    failedRequests,
    errorRate: requests > 0 ? failedRequests / requests : 0,
    latencyMs,
    thresholds: [],
  };
  if (first !== undefined && last !== undefined && last >= first) {
    const span = validDurationMs(last - first);
    if (span !== undefined) summary.durationMs = round2(span);
    else
      warnings.push(
        `The span from the first to the last metric (${last - first} ms) is longer than ${MAX_DURATION_MS} ms: the duration is unknown.`,
      );
  }
  const rates = aggregate.rates;
  const rate = isRecord(rates)
    ? optionalNumber(rates, 'http.request_rate', ['aggregate', 'rates'], WHAT)
    : undefined;
  const perSec = rate === undefined ? perSecond(requests, summary.durationMs) : round2(rate);
  if (perSec !== undefined) summary.requestsPerSecond = perSec;

  return { kind: 'load', format: 'artillery', summary, warnings };
};
