/**
 * Load-run statistics: outcomes in, percentiles, threshold verdicts, a readable summary and a
 * JSON summary in k6's `handleSummary` shape out. That shape is one Vigil already ingests
 * (format `k6`, kind `load`), so a load result can be posted back to Vigil and its thresholds
 * become gate checks there, exactly as for a real k6 run.
 */

/** What happened to one request. `status` 0 means no HTTP answer (network error, timeout). */
export interface Outcome {
  status: number;
  /** From the moment the request was due to be sent until the whole answer was read. */
  latencyMs: number;
  /** Network error code when `status` is 0, e.g. ECONNRESET or ETIMEDOUT. */
  error?: string;
  /** The run id the request carried (ingest scenarios). */
  runId?: string;
}

/** Collects outcomes; cheap enough to call for every request at thousands per second. */
export class Recorder {
  readonly latencies: number[] = [];
  readonly statuses = new Map<number, number>();
  readonly networkErrors = new Map<string, number>();
  /** Run ids answered with a 2xx, in answer order. */
  readonly accepted: string[] = [];
  /** Run ids of the requests that got no answer (timeout, network error). */
  readonly unanswered: string[] = [];

  add(o: Outcome): void {
    if (o.status === 0) {
      const code = o.error ?? 'error';
      this.networkErrors.set(code, (this.networkErrors.get(code) ?? 0) + 1);
      if (o.runId !== undefined) this.unanswered.push(o.runId);
      return;
    }
    this.latencies.push(o.latencyMs);
    this.statuses.set(o.status, (this.statuses.get(o.status) ?? 0) + 1);
    if (o.status >= 200 && o.status < 300 && o.runId !== undefined) this.accepted.push(o.runId);
  }
}

export interface Latency {
  avg: number;
  min: number;
  med: number;
  max: number;
  p90: number;
  p95: number;
  p99: number;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Percentile of ascending values by linear interpolation between the closest ranks. */
export const percentile = (sorted: ArrayLike<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
};

/** Latency statistics, or undefined when nothing was answered. */
export const latencyOf = (values: readonly number[]): Latency | undefined => {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    avg: round2(sum / sorted.length),
    min: round2(sorted[0] as number),
    med: round2(percentile(sorted, 50)),
    max: round2(sorted[sorted.length - 1] as number),
    p90: round2(percentile(sorted, 90)),
    p95: round2(percentile(sorted, 95)),
    p99: round2(percentile(sorted, 99)),
  };
};

export interface Thresholds {
  /** The p99 latency must stay strictly below this. */
  p99Ms: number;
  /** The share of failed requests must not exceed this (0..1). */
  maxErrorRate: number;
}

/** The `--verify` counts (see verify.ts); each must be 0 for the run to pass. */
export interface VerifyCounts {
  lost: number;
  duplicated: number;
  unexpected: number;
  deadLettered: number;
}

/** k6 metric name of each verify count. */
const VERIFY_METRICS: Record<keyof VerifyCounts, string> = {
  lost: 'vigil_results_lost',
  duplicated: 'vigil_results_duplicated',
  unexpected: 'vigil_results_unexpected',
  deadLettered: 'vigil_results_dead_lettered',
};

export interface ThresholdResult {
  /** k6 metric the threshold is on. */
  metric: string;
  /** k6 threshold expression, e.g. `p(99)<100`. */
  expression: string;
  ok: boolean;
  /** The measured value (NaN when there was nothing to measure). */
  actual: number;
}

export interface RunInfo {
  scenario: string;
  engine: string;
  /** Target without credentials or query. */
  target: string;
  rate: number;
  durationS: number;
  connections: number;
  startedAt: Date;
  /** From the first request due to the last answer. */
  elapsedMs: number;
  /** How late the load generator sent (paced engine): large values mean it was CPU-starved. */
  sendLagMs?: { p99: number; max: number };
}

export interface LoadResult {
  info: RunInfo;
  /** Requests that finished: answered or failed on the network. */
  requests: number;
  ok: number;
  failed: number;
  errorRate: number;
  /** 429 and 503 answers: the target pushing back, counted in `failed` too. */
  throttled: number;
  requestsPerSecond: number;
  latency: Latency | undefined;
  statuses: Record<string, number>;
  networkErrors: Record<string, number>;
  verify: VerifyCounts | undefined;
  thresholds: ThresholdResult[];
  passed: boolean;
}

const sortedRecord = <K>(map: Map<K, number>): Record<string, number> =>
  Object.fromEntries([...map].sort(([a], [b]) => String(a).localeCompare(String(b))));

export const summarize = (
  rec: Recorder,
  info: RunInfo,
  limits: Thresholds,
  verify?: VerifyCounts,
): LoadResult => {
  let answered = 0;
  let ok = 0;
  let throttled = 0;
  for (const [status, n] of rec.statuses) {
    answered += n;
    if (status >= 200 && status < 300) ok += n;
    if (status === 429 || status === 503) throttled += n;
  }
  let networkErrors = 0;
  for (const n of rec.networkErrors.values()) networkErrors += n;
  const requests = answered + networkErrors;
  const failed = requests - ok;
  const errorRate = requests === 0 ? 0 : failed / requests;
  const latency = latencyOf(rec.latencies);

  const p99 = latency?.p99 ?? Number.NaN;
  const thresholds: ThresholdResult[] = [
    {
      metric: 'http_req_duration',
      expression: `p(99)<${limits.p99Ms}`,
      ok: p99 < limits.p99Ms,
      actual: p99,
    },
    {
      metric: 'http_req_failed',
      expression: `rate<=${limits.maxErrorRate}`,
      ok: errorRate <= limits.maxErrorRate,
      actual: errorRate,
    },
  ];
  if (verify)
    for (const [key, metric] of Object.entries(VERIFY_METRICS)) {
      const value = verify[key as keyof VerifyCounts];
      thresholds.push({ metric, expression: 'count==0', ok: value === 0, actual: value });
    }

  return {
    info,
    requests,
    ok,
    failed,
    errorRate,
    throttled,
    requestsPerSecond: info.elapsedMs > 0 ? round2(requests / (info.elapsedMs / 1000)) : 0,
    latency,
    statuses: sortedRecord(rec.statuses),
    networkErrors: sortedRecord(rec.networkErrors),
    verify,
    thresholds,
    passed: thresholds.every((t) => t.ok),
  };
};

// ---------------------------------------------------------------------------------------------
// k6 handleSummary JSON

/** md5('') - k6's id of the root group. */
const ROOT_GROUP_ID = 'd41d8cd98f00b204e9800998ecf8427e';

const thresholdMap = (r: LoadResult, metric: string) => {
  const list = r.thresholds.filter((t) => t.metric === metric);
  return list.length === 0
    ? {}
    : { thresholds: Object.fromEntries(list.map((t) => [t.expression, { ok: t.ok }])) };
};

/**
 * The result as k6 would hand it to `handleSummary(data)` (k6's threshold results are
 * `{ ok }` there, not inverted as in `--summary-export`). Vigil's k6 parser reads
 * `http_reqs`, `http_req_failed`, `http_req_duration`, the thresholds of every metric and
 * `state.testRunDurationMs`; the `vigil` block carries what k6 has no place for.
 */
export const toK6Summary = (r: LoadResult): Record<string, unknown> => {
  const seconds = r.info.elapsedMs / 1000;
  const counter = (count: number) => ({
    type: 'counter',
    contains: 'default',
    values: { count, rate: seconds > 0 ? round2(count / seconds) : 0 },
  });
  const metrics: Record<string, unknown> = {
    http_reqs: counter(r.requests),
    http_req_failed: {
      type: 'rate',
      contains: 'default',
      // k6 counts the true samples (failed requests) as `passes`.
      values: { rate: r.errorRate, passes: r.failed, fails: r.ok },
      ...thresholdMap(r, 'http_req_failed'),
    },
  };
  if (r.latency) {
    const l = r.latency;
    metrics.http_req_duration = {
      type: 'trend',
      contains: 'time',
      values: {
        avg: l.avg,
        min: l.min,
        med: l.med,
        max: l.max,
        'p(90)': l.p90,
        'p(95)': l.p95,
        'p(99)': l.p99,
      },
      ...thresholdMap(r, 'http_req_duration'),
    };
  } else {
    // Nothing answered: keep the failed p99 threshold visible to the gate.
    metrics.http_req_duration = {
      type: 'trend',
      contains: 'time',
      values: {},
      ...thresholdMap(r, 'http_req_duration'),
    };
  }
  if (r.verify)
    for (const [key, metric] of Object.entries(VERIFY_METRICS))
      metrics[metric] = {
        ...counter(r.verify[key as keyof VerifyCounts]),
        ...thresholdMap(r, metric),
      };

  return {
    root_group: { name: '', path: '', id: ROOT_GROUP_ID, groups: [], checks: [] },
    options: {
      summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
      summaryTimeUnit: '',
      noColor: false,
    },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: round2(r.info.elapsedMs) },
    metrics,
    vigil: {
      tool: 'vigil-load',
      scenario: r.info.scenario,
      engine: r.info.engine,
      target: r.info.target,
      targetRate: r.info.rate,
      durationSeconds: r.info.durationS,
      connections: r.info.connections,
      startedAt: r.info.startedAt.toISOString(),
      ...(r.info.sendLagMs ? { sendLagMs: r.info.sendLagMs } : {}),
      statuses: r.statuses,
      networkErrors: r.networkErrors,
      throttled: r.throttled,
      ...(r.verify ? { verify: r.verify } : {}),
      passed: r.passed,
    },
  };
};

// ---------------------------------------------------------------------------------------------
// Text

const fmt = (n: number): string =>
  Number.isNaN(n) ? '-' : Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1);

const pct = (rate: number): string => `${(rate * 100).toFixed(2)} %`;

/** The line printed before a run starts. */
export const formatHeader = (
  info: Pick<RunInfo, 'scenario' | 'engine' | 'target' | 'rate' | 'durationS' | 'connections'>,
): string =>
  `Vigil load: ${info.scenario} → ${info.target} at ${info.rate} req/s for ${info.durationS} s (${info.engine} engine, up to ${info.connections} connections)`;

/** The readable result, one line per entry. */
export const formatSummary = (r: LoadResult): string[] => {
  const { info } = r;
  const lines = [
    `  requests    ${r.requests} finished in ${fmt(info.elapsedMs / 1000)} s: ${r.ok} ok, ${r.failed} failed`,
    `  achieved    ${fmt(r.requestsPerSecond)} req/s${info.sendLagMs ? ` (sender lag p99 ${fmt(info.sendLagMs.p99)} ms, max ${fmt(info.sendLagMs.max)} ms)` : ''}`,
  ];
  const l = r.latency;
  lines.push(
    l
      ? `  latency ms  p50 ${fmt(l.med)}  p90 ${fmt(l.p90)}  p95 ${fmt(l.p95)}  p99 ${fmt(l.p99)}  max ${fmt(l.max)}  (avg ${fmt(l.avg)}, min ${fmt(l.min)})`
      : '  latency ms  - (no answers)',
  );
  const statuses = Object.entries(r.statuses).map(([s, n]) => `${s} × ${n}`);
  lines.push(`  status      ${statuses.length ? statuses.join(', ') : '-'}`);
  const network = Object.entries(r.networkErrors).map(([c, n]) => `${c} × ${n}`);
  lines.push(
    `  errors      ${r.failed} (${pct(r.errorRate)}); 429/503 ${r.throttled}; network ${network.length ? network.join(', ') : '0'}`,
  );
  lines.push('  thresholds');
  for (const t of r.thresholds)
    lines.push(
      `    ${t.ok ? '✔' : '✖'} ${t.metric} ${t.expression} (actual ${t.metric === 'http_req_failed' ? pct(t.actual) : fmt(t.actual)})`,
    );
  return lines;
};
