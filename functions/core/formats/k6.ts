import { invalidReport } from '../errors';
import {
  formatPath,
  invalidAt,
  isRecord,
  optionalDuration,
  optionalNumber,
  ownEntries,
} from './shape';
import { type LoadSummary, type LoadThreshold, type ParsedLoad, perSecond, round2 } from './types';

/**
 * k6 end-of-test summaries, in three shapes:
 *
 * 1. `summary-v1`: the versioned machine-readable summary (k6 1.x; grafana/k6-summary schema
 *    summary/1.0.0): `{ version, metadata, config: { duration (s) }, results: { passed,
 *    metrics: [{ name, type, values }] } }`. The 1.0.0 schema has no per-metric threshold
 *    results (grafana/k6#4872 leaves them for later); when a metric does carry `thresholds` in
 *    the handleSummary form they are read, and `results.passed: false` with no failed
 *    threshold listed becomes a failed `k6: results.passed` entry so a gate still sees it.
 * 2. `handle-summary`: the object k6 passes to `handleSummary(data)`, saved with
 *    `JSON.stringify(data)`: `{ root_group, options, state: { testRunDurationMs }, metrics:
 *    { <name>: { type, contains, values: {…}, thresholds?: { "<expr>": { ok } } } } }`.
 * 3. `summary-export`: the legacy `--summary-export` file. k6 builds it from the shape above
 *    (grafana/k6 js/summary-wrapper.js, `oldJSONSummary`): it drops `options` and `state` (so
 *    there is no duration), lifts `values` into the metric, renames a rate's `rate` to `value`,
 *    and writes each threshold as `!threshold.ok`. So in this file `true` means the threshold
 *    FAILED (was crossed) and `false` means it passed - inverted on purpose for backwards
 *    compatibility, see grafana/k6#1498 ("Threshold results on summary export are reversed")
 *    and grafana/k6-docs#30.
 *
 * Failed requests come from the `http_req_failed` rate (the share of requests that failed):
 * failed = round(rate × samples), samples = passes + fails when given, else the http_reqs
 * count. The rate is used rather than `passes`/`fails` because those names are confusing for
 * this metric (k6's `passes` counts the true samples, i.e. the FAILED requests, and
 * hand-made summaries often get it backwards).
 */

type Dialect = 'summary-v1' | 'handle-summary' | 'summary-export';
type PathKey = string | number;

const WHAT = 'k6 summary';

interface MetricView {
  /** Object holding the statistics (`values`, or the metric itself in summary-export). */
  values: Record<string, unknown>;
  valuesPath: PathKey[];
  thresholds: unknown;
  thresholdsPath: PathKey[];
}

const expectObject = (v: unknown, path: PathKey[]): Record<string, unknown> => {
  if (!isRecord(v)) throw invalidAt(WHAT, path, 'an object', v);
  return v;
};

/** Metric name -> view; keyed by untrusted names, hence a Map. */
const metricsOf = (doc: Record<string, unknown>, dialect: Dialect): Map<string, MetricView> => {
  const out = new Map<string, MetricView>();
  if (dialect === 'summary-v1') {
    const results = expectObject(doc.results, ['results']);
    const list = results.metrics;
    if (!Array.isArray(list)) throw invalidAt(WHAT, ['results', 'metrics'], 'an array', list);
    list.forEach((entry, i) => {
      const path: PathKey[] = ['results', 'metrics', i];
      const m = expectObject(entry, path);
      if (typeof m.name !== 'string') throw invalidAt(WHAT, [...path, 'name'], 'a string', m.name);
      if (out.has(m.name)) return;
      out.set(m.name, {
        values: expectObject(m.values, [...path, 'values']),
        valuesPath: [...path, 'values'],
        thresholds: m.thresholds,
        thresholdsPath: [...path, 'thresholds'],
      });
    });
    return out;
  }
  const metrics = expectObject(doc.metrics, ['metrics']);
  for (const [name, entry] of ownEntries(metrics)) {
    const path: PathKey[] = ['metrics', name];
    const m = expectObject(entry, path);
    if (dialect === 'handle-summary') {
      out.set(name, {
        values: expectObject(m.values, [...path, 'values']),
        valuesPath: [...path, 'values'],
        thresholds: m.thresholds,
        thresholdsPath: [...path, 'thresholds'],
      });
    } else {
      out.set(name, {
        values: m,
        valuesPath: path,
        thresholds: m.thresholds,
        thresholdsPath: [...path, 'thresholds'],
      });
    }
  }
  return out;
};

const dialectOf = (doc: Record<string, unknown>): Dialect => {
  if (isRecord(doc.results) && 'metrics' in doc.results) return 'summary-v1';
  if (isRecord(doc.metrics)) {
    const withValues = Object.values(doc.metrics).some((m) => isRecord(m) && isRecord(m.values));
    return withValues ? 'handle-summary' : 'summary-export';
  }
  if (Array.isArray(doc.metrics)) throw invalidAt(WHAT, ['metrics'], 'an object', doc.metrics);
  throw invalidReport(
    `Invalid ${WHAT}: $: expected \`metrics\` (an object: handleSummary or --summary-export output) or \`results.metrics\` (an array: the k6 1.x machine-readable summary)`,
    { path: '$' },
  );
};

const thresholdsOf = (name: string, view: MetricView, dialect: Dialect): LoadThreshold[] => {
  if (view.thresholds === undefined || view.thresholds === null) return [];
  const map = expectObject(view.thresholds, view.thresholdsPath);
  const out: LoadThreshold[] = [];
  for (const [expr, result] of ownEntries(map)) {
    const path = [...view.thresholdsPath, expr];
    let passed: boolean;
    if (dialect === 'summary-export') {
      // Inverted: true = the threshold was crossed (failed). See the comment at the top.
      if (typeof result !== 'boolean') throw invalidAt(WHAT, path, 'a boolean', result);
      passed = !result;
    } else {
      if (!isRecord(result) || typeof result.ok !== 'boolean')
        throw invalidAt(
          WHAT,
          isRecord(result) ? [...path, 'ok'] : path,
          isRecord(result) ? 'a boolean' : 'an object like { "ok": true }',
          isRecord(result) ? result.ok : result,
        );
      passed = result.ok;
    }
    out.push({ name: `${name}: ${expr}`, passed });
  }
  return out;
};

const LATENCY_KEYS = [
  ['avg', 'avg'],
  ['min', 'min'],
  ['med', 'med'],
  ['max', 'max'],
  ['p90', 'p(90)'],
  ['p95', 'p(95)'],
  ['p99', 'p(99)'],
] as const;

export const parseK6 = (doc: unknown): ParsedLoad => {
  if (!isRecord(doc)) throw invalidAt(WHAT, [], 'an object', doc);
  const dialect = dialectOf(doc);
  const metrics = metricsOf(doc, dialect);
  const warnings: string[] = [];
  const num = (view: MetricView, key: string) =>
    optionalNumber(view.values, key, view.valuesPath, WHAT);

  // Requests.
  const reqs = metrics.get('http_reqs');
  let requests = 0;
  if (reqs) {
    const c = num(reqs, 'count') ?? 0;
    if (!Number.isInteger(c) || c < 0)
      throw invalidAt(WHAT, [...reqs.valuesPath, 'count'], 'a non-negative integer', c);
    requests = c;
  } else {
    warnings.push('No http_reqs metric: the test made no HTTP requests (requests = 0).');
  }

  // Failed requests.
  let failedRequests = 0;
  let errorRate = 0;
  const failedView = metrics.get('http_req_failed');
  if (failedView) {
    const rateKey = dialect === 'summary-export' ? 'value' : 'rate';
    let rate = num(failedView, rateKey);
    const passes = num(failedView, 'passes');
    const fails = num(failedView, 'fails');
    const samples = passes !== undefined && fails !== undefined ? passes + fails : requests;
    if (rate === undefined && passes !== undefined && samples > 0) rate = passes / samples;
    if (rate !== undefined && (rate < 0 || rate > 1))
      throw invalidReport(
        `Invalid ${WHAT}: ${formatPath([...failedView.valuesPath, rateKey])}: expected a rate between 0 and 1, got ${rate}`,
        { path: formatPath([...failedView.valuesPath, rateKey]) },
      );
    if (rate !== undefined) {
      errorRate = rate;
      failedRequests = Math.round(rate * samples);
    }
  } else if (requests > 0) {
    warnings.push('No http_req_failed metric (k6 before v0.31?): failed requests unknown, 0 used.');
  }
  if (requests > 0 && failedRequests > requests) failedRequests = requests;

  // Latency.
  const latencyMs: LoadSummary['latencyMs'] = {};
  const duration = metrics.get('http_req_duration');
  if (duration) {
    for (const [ours, theirs] of LATENCY_KEYS) {
      const v = optionalDuration(duration.values, theirs, duration.valuesPath, WHAT);
      if (v !== undefined) latencyMs[ours] = round2(v);
    }
  }

  // Duration: handleSummary's state; the v1 summary's config.duration (seconds).
  let durationMs: number | undefined;
  if (isRecord(doc.state)) {
    durationMs = optionalDuration(doc.state, 'testRunDurationMs', ['state'], WHAT);
  } else if (dialect === 'summary-v1' && isRecord(doc.config)) {
    durationMs = optionalDuration(doc.config, 'duration', ['config'], WHAT, 1000);
  }

  // Thresholds.
  const thresholds: LoadThreshold[] = [];
  for (const [name, view] of metrics) thresholds.push(...thresholdsOf(name, view, dialect));
  if (dialect === 'summary-v1' && isRecord(doc.results)) {
    const passed = doc.results.passed;
    if (passed !== undefined && typeof passed !== 'boolean')
      throw invalidAt(WHAT, ['results', 'passed'], 'a boolean', passed);
    if (passed === false && !thresholds.some((t) => !t.passed)) {
      thresholds.push({ name: 'k6: results.passed', passed: false });
      warnings.push('k6 reports the run as failed (results.passed = false).');
    }
  }

  const summary: LoadSummary = {
    requests,
    failedRequests,
    errorRate,
    latencyMs,
    thresholds,
  };
  if (durationMs !== undefined) summary.durationMs = round2(durationMs);
  const rps = reqs ? num(reqs, 'rate') : undefined;
  const rate = rps === undefined ? perSecond(requests, durationMs) : round2(rps);
  if (rate !== undefined) summary.requestsPerSecond = rate;

  return { kind: 'load', format: 'k6', dialect, summary, warnings };
};
