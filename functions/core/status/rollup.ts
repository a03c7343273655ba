import type { ProbeCompletedDetail } from '../events';
import { artifactPath } from '../probes/browser';
import type { ProbeFailure, ProbeLatest, ProbeRollup, Resolution } from './types';

/**
 * Probe rollups, pure: UTC bucket alignment, a mergeable latency histogram (so hour and day
 * buckets get quantiles without keeping samples), uptime over rollups. Every store (memory,
 * DynamoDB, the local one) keeps per bucket `checks`, `failures` and the histogram's bin counts
 * and turns them into a `ProbeRollup` with `toRollup`.
 */

export const RESOLUTIONS: readonly Resolution[] = ['minute', 'hour', 'day'];

const MS: Record<Resolution, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export const resolutionMs = (r: Resolution): number => MS[r];

/** Minute rollups are kept this long whatever the retention (the port's promise). */
export const MINUTE_RETENTION_DAYS = 2;

/** Start of the UTC bucket holding `at` (ms since epoch). Buckets of every size align to UTC midnight. */
export const bucketStartMs = (at: number, r: Resolution): number => at - (at % MS[r]);

export const bucketStart = (at: string | Date, r: Resolution): string =>
  new Date(bucketStartMs(new Date(at).getTime(), r)).toISOString();

/** Bins grow by 5%: a quantile read from them is within 5% of the true sample. */
const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);

/** The histogram bin of a latency: 0 holds [0, 1] ms, bin i holds (1.05^(i-1), 1.05^i]. */
export const latencyBin = (ms: number): number =>
  ms <= 1 ? 0 : Math.ceil(Math.log(ms) / LOG_GROWTH - 1e-9);

/** The upper bound of a bin, in ms (rounded to 0.1 ms). */
export const binUpperMs = (bin: number): number =>
  bin <= 0 ? 1 : Math.round(GROWTH ** bin * 10) / 10;

/** Bin → sample count. */
export type Histogram = Record<number, number>;

export const mergeInto = (target: Histogram, source: Readonly<Histogram>): Histogram => {
  for (const [bin, n] of Object.entries(source)) {
    const b = Number(bin);
    target[b] = (target[b] ?? 0) + n;
  }
  return target;
};

/**
 * Nearest-rank quantiles (0 < q ≤ 1, ascending) from a histogram, each as its bin's upper bound;
 * null when the histogram is empty. One pass over the sorted bins for all of them.
 */
export const histogramQuantiles = (
  hist: Readonly<Histogram>,
  qs: readonly number[],
): (number | null)[] => {
  const bins = Object.entries(hist)
    .map(([b, n]) => [Number(b), n] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = bins.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return qs.map(() => null);
  const out: (number | null)[] = [];
  let i = 0;
  let seen = bins[0]?.[1] ?? 0;
  for (const q of qs) {
    const rank = Math.max(1, Math.ceil(q * total));
    while (seen < rank && i < bins.length - 1) seen += bins[++i]?.[1] ?? 0;
    out.push(binUpperMs(bins[i]?.[0] ?? 0));
  }
  return out;
};

export const histogramQuantile = (hist: Readonly<Histogram>, q: number): number | null =>
  histogramQuantiles(hist, [q])[0] ?? null;

/** What a store keeps per (probe, resolution, bucket). */
export interface BucketCounts {
  checks: number;
  failures: number;
  hist: Histogram;
}

export const toRollup = (
  key: { project: string; probe: string; resolution: Resolution; bucketStart: string },
  counts: BucketCounts,
): ProbeRollup => ({
  ...key,
  checks: counts.checks,
  failures: counts.failures,
  latencyMs: latencyOf(counts.hist),
});

const latencyOf = (hist: Readonly<Histogram>): ProbeRollup['latencyMs'] => {
  const [p50 = null, p95 = null, p99 = null, max = null] = histogramQuantiles(
    hist,
    [0.5, 0.95, 0.99, 1],
  );
  return { p50, p95, p99, max };
};

/** The sample's key for idempotency: one invocation checks many probes, some several times. */
export const sampleKey = (s: ProbeCompletedDetail): string =>
  `${s.metadata.project}/${s.metadata.probe}#${s.metadata.correlationId}#${s.attempt}`;

export const latestOf = (s: ProbeCompletedDetail): ProbeLatest => ({
  project: s.metadata.project,
  probe: s.metadata.probe,
  checkedAt: s.metadata.checkedAt,
  status: s.status,
  latencyMs: s.latencyMs,
});

/** Longest error text kept per failure. */
const MAX_MESSAGE = 1000;

export const failureOf = (s: ProbeCompletedDetail): ProbeFailure | undefined =>
  s.status === 'down'
    ? {
        project: s.metadata.project,
        probe: s.metadata.probe,
        checkedAt: s.metadata.checkedAt,
        correlationId: s.metadata.correlationId,
        assertion: s.failure?.assertion ?? 'unknown',
        message: (s.failure?.message ?? 'the probe failed').slice(0, MAX_MESSAGE),
        latencyMs: s.latencyMs,
        ...(s.statusCode === undefined ? {} : { statusCode: s.statusCode }),
        ...(s.failure?.step ? { step: s.failure.step } : {}),
        ...(s.steps?.length
          ? {
              steps: s.steps.map(({ name, status, latencyMs }) => ({ name, status, latencyMs })),
            }
          : {}),
        ...screenshotOf(s),
      }
    : undefined;

const screenshotOf = (s: ProbeCompletedDetail): { screenshot?: string } => {
  const shot = s.artifacts?.find((a) => a.kind === 'screenshot');
  return shot ? { screenshot: artifactPath(shot) } : {};
};

/** Failures kept per probe (the "recent failures" list). */
export const MAX_FAILURES_KEPT = 100;

/** Share of successful checks over rollups, 0..1; null when there were none. */
export const uptime = (rollups: readonly Pick<ProbeRollup, 'checks' | 'failures'>[]) => {
  let checks = 0;
  let failures = 0;
  for (const r of rollups) {
    checks += r.checks;
    failures += r.failures;
  }
  return checks === 0 ? null : (checks - failures) / checks;
};
