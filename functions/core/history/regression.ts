import type { Direction } from '../formats/benchmark-units';
import { MAD_TO_SD, mad, mean, median, studentTQuantile, variance, welchTest } from './stats';

export { directionFromUnit, type UnitDirection } from '../formats/benchmark-units';

/**
 * Regression detection against a baseline of earlier runs on the base branch.
 *
 * Two paths, chosen by what the reports carry:
 * - `welch`: the current run and enough baseline runs have sample counts and standard
 *   deviations (pytest-benchmark, Vitest bench, hyperfine, `go test -count` and Google
 *   Benchmark repetitions). The baseline runs are pooled into
 *   one sample and compared with Welch's one-sided t-test in the worse direction.
 * - `robust`: values only (k6/Artillery percentiles, custom benchmark JSON): one number per
 *   run, compared with the baseline runs' centre.
 *
 * Either way a change must also be large: at least `thresholdPct`, and beyond the noise band
 * of run-to-run drift (machine, neighbours, thermal state), which dominates CI noise and which
 * a t-test on samples cannot see. The band is a one-sided prediction bound for one more run,
 * `t(1 − bandTail, R − 1) · σ_between · √(1 + 1/R)` over the R baseline runs, where σ_between²
 * is the variance of the run values minus the part their own sampling noise explains (the mean
 * of sd²/n for sampled runs; nothing for values only). The t quantile widens the band when
 * there are few runs to judge the drift from, instead of false-alarming.
 */

export type { Direction };

/** One run's measurement: a value, and for sampled benchmarks its sample count and sd. */
export interface Sample {
  value: number;
  samples?: number;
  stddev?: number;
}

/**
 * One-sided tail of the noise band: the false-alarm rate the band alone allows on pure noise.
 * `npm run bench:detector` measures 0.02, 0.01, 0.005 and 0.001.
 */
export const DEFAULT_BAND_TAIL = 0.005;
/** Significance level of the one-sided Welch test. */
export const DEFAULT_ALPHA = 0.01;
/** A baseline run further than this many robust sds from the median is a glitch, left out. */
export const OUTLIER_SDS = 6;
/**
 * Below this many runs a MAD says too little to call anything an outlier. The band's t quantile
 * assumes all R runs are kept: dropping the runs furthest out of a small window shrinks the
 * measured spread, so unchanged code fails more often than `bandTail` (with 5 Gaussian runs and
 * up to 2 dropped: 1.1% instead of 0.5%). With 10 or more runs and at most one run dropped the
 * MAD is steady enough that a 6-sd cut almost never fires on pure noise.
 */
export const MIN_RUNS_FOR_OUTLIERS = 10;

export interface DetectOptions {
  /** Earlier runs, newest first. */
  baseline: readonly Sample[];
  current: Sample;
  direction: Direction;
  /** Smallest change (percent, in the worse direction) that counts. */
  thresholdPct: number;
  /** Fewer usable baseline runs than this: `insufficient`. */
  minBaseline: number;
  alpha?: number;
  bandTail?: number;
  /**
   * Smaller is better and every baseline run measured exactly 0 (allocs/op, B/op): judge in
   * absolute terms (method `zero`) instead of skipping. Off by default: a latency of 0 ms is
   * a missing figure more often than a real one.
   */
  absoluteFromZero?: boolean;
}

export type Verdict = 'regressed' | 'ok' | 'improved';

export interface Finding {
  status: Verdict;
  /**
   * `zero`: every baseline run measured exactly 0 (allocs/op, B/op) and smaller is better: any
   * increase is a regression, stated in absolute terms (`changePct` is Infinity, `baseline` 0).
   */
  method: 'welch' | 'robust' | 'zero';
  /** The central baseline value: the pooled mean (welch) or the mean of the runs (robust). */
  baseline: number;
  value: number;
  /** Signed change relative to the baseline, percent. */
  changePct: number;
  /** The change in the worse direction, percent (negative when better). */
  worsePct: number;
  /** One-sided p-value in the direction of the change (welch only). */
  pValue?: number;
  /** The noise band (percent) the baseline's own run-to-run spread gives. */
  noisePct: number;
  /** The noise band (percent) had the outlier run been kept; only when one was left out. */
  noisePctWithOutliers?: number;
  /** The effect a change had to reach: max(thresholdPct, noisePct). */
  limitPct: number;
  /** Baseline runs used (after leaving out glitches). */
  runs: number;
  /** Baseline runs left out as glitches. */
  outliers: number;
}

export type Detection =
  | { status: 'insufficient'; have: number; need: number }
  | { status: 'incomparable'; reason: string }
  | Finding;

const hasSamples = (s: Sample): s is Required<Sample> =>
  s.samples !== undefined &&
  s.samples >= 2 &&
  s.stddev !== undefined &&
  Number.isFinite(s.stddev) &&
  s.stddev >= 0;

/**
 * Drops one glitch run (a CI machine that was 3x slower once) so it cannot widen the band for
 * the whole window: at most one, the run furthest from the median, and only with at least
 * `MIN_RUNS_FOR_OUTLIERS` runs, so that on plain noise the band keeps its designed tail.
 */
export const withoutOutliers = <T>(items: readonly T[], value: (t: T) => number): T[] => {
  if (items.length < MIN_RUNS_FOR_OUTLIERS) return [...items];
  const values = items.map(value);
  const center = median(values);
  const spread = MAD_TO_SD * mad(values);
  if (spread === 0) return [...items];
  let worst = -1;
  let worstDistance = OUTLIER_SDS * spread;
  values.forEach((v, i) => {
    const distance = Math.abs(v - center);
    if (distance > worstDistance) {
      worst = i;
      worstDistance = distance;
    }
  });
  return worst < 0 ? [...items] : items.filter((_, i) => i !== worst);
};

/**
 * Half-width of the one-sided prediction bound for one more run, in the values' unit (0 below
 * 2 runs): t(1 − tail, R − 1) · √(max(0, var(values) − explained) · (1 + 1/R)). `explained` is
 * the variance of a run value that sampling noise alone accounts for (already judged by the
 * t-test), so only the drift between runs is left for the band.
 */
export const predictionBand = (values: readonly number[], tail: number, explained = 0): number => {
  const r = values.length;
  if (r < 2) return 0;
  const drift = Math.max(0, variance(values) - explained);
  return studentTQuantile(1 - tail, r - 1) * Math.sqrt(drift * (1 + 1 / r));
};

const FIGURES = {
  baseline: 'baseline',
  changePct: 'change',
  noisePct: 'noise band',
  pValue: 'p-value',
} as const;

/**
 * A finding only when its figures are finite: values near the float limit (or old history rows
 * holding them) overflow to Infinity or NaN, and NaN fails every comparison, so `verdict` would
 * pass any change forever.
 */
const finite = (f: Finding): Detection => {
  const bad = (Object.keys(FIGURES) as (keyof typeof FIGURES)[]).find(
    (k) => f[k] !== undefined && !Number.isFinite(f[k]),
  );
  return bad === undefined
    ? f
    : {
        status: 'incomparable',
        reason: `the ${FIGURES[bad]} is ${f[bad]}, not a finite number`,
      };
};

const verdict = (
  worsePct: number,
  limitPct: number,
  pWorse = 0,
  pBetter = 0,
  alpha = 1,
): Verdict => {
  if (worsePct >= limitPct && pWorse < alpha) return 'regressed';
  if (-worsePct >= limitPct && pBetter < alpha) return 'improved';
  return 'ok';
};

export const detectRegression = (opts: DetectOptions): Detection => {
  const { current, direction, thresholdPct, minBaseline } = opts;
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const tail = opts.bandTail ?? DEFAULT_BAND_TAIL;
  const usable = opts.baseline.filter((s) => Number.isFinite(s.value));
  if (usable.length < minBaseline)
    return { status: 'insufficient', have: usable.length, need: minBaseline };
  if (!Number.isFinite(current.value))
    return { status: 'incomparable', reason: 'the current value is not a number' };

  // All zeros, no spread (allocs/op, B/op of an allocation-free function): a relative change
  // is undefined, but for smaller-is-better any increase is real and is a regression.
  if (
    opts.absoluteFromZero &&
    direction === 'smaller' &&
    usable.length > 0 &&
    usable.every((s) => s.value === 0 && !s.stddev)
  ) {
    const worse = current.value > 0;
    const better = current.value < 0;
    // Infinite relative change: the gate message states it absolutely (`0 → 1 allocs/op`).
    const changePct = worse ? Number.POSITIVE_INFINITY : better ? Number.NEGATIVE_INFINITY : 0;
    return {
      status: worse ? 'regressed' : better ? 'improved' : 'ok',
      method: 'zero',
      baseline: 0,
      value: current.value,
      changePct,
      worsePct: changePct,
      noisePct: 0,
      limitPct: 0,
      runs: usable.length,
      outliers: 0,
    };
  }

  const sampledRuns = usable.filter(hasSamples);
  const welch = hasSamples(current) && sampledRuns.length >= minBaseline;
  const all = welch ? sampledRuns : usable;
  const runs = withoutOutliers<Sample>(all, (s) => s.value);
  const outliers = all.length - runs.length;
  const runValues = runs.map((s) => s.value);
  const center = mean(runValues);
  if (!(center > 0 && center < Number.POSITIVE_INFINITY))
    return {
      status: 'incomparable',
      reason: `the baseline mean is ${center}: a relative change is undefined`,
    };
  const explainedBy = (rs: readonly Sample[]) =>
    welch ? mean(rs.filter(hasSamples).map((s) => s.stddev ** 2 / s.samples)) : 0;
  const noisePct = (predictionBand(runValues, tail, explainedBy(runs)) / center) * 100;
  const limitPct = Math.max(thresholdPct, noisePct);
  // Bigger is better (MB/s, ops/s): a value cannot drop by more than 100%, so with a limit of
  // 100% or more no regression could ever be flagged. Say so instead of passing.
  if (direction === 'bigger' && limitPct >= 100 && Number.isFinite(limitPct))
    return {
      status: 'incomparable',
      reason: `too noisy to gate: the baseline's noise band is ${Math.round(noisePct)}%, and a bigger-is-better value cannot drop by more than 100%`,
    };
  const sign = direction === 'smaller' ? 1 : -1;
  const common = {
    value: current.value,
    noisePct,
    limitPct,
    runs: runs.length,
    outliers,
    // What the left-out run would have done to the band, for the message.
    ...(outliers > 0
      ? {
          noisePctWithOutliers:
            (predictionBand(
              all.map((s) => s.value),
              tail,
              explainedBy(all),
            ) /
              mean(all.map((s) => s.value))) *
            100,
        }
      : {}),
  };

  if (welch && hasSamples(current)) {
    // Pool the runs as one sample: the variance of the concatenated samples, i.e. the
    // within-run part plus the between-run spread of the run means.
    const pooled = runs.filter(hasSamples);
    const n = pooled.reduce((acc, s) => acc + s.samples, 0);
    const pooledMean = pooled.reduce((acc, s) => acc + s.samples * s.value, 0) / n;
    let ss = 0;
    for (const s of pooled)
      ss += (s.samples - 1) * s.stddev ** 2 + s.samples * (s.value - pooledMean) ** 2;
    const test = welchTest(
      { mean: current.value, sd: current.stddev, n: current.samples },
      { mean: pooledMean, sd: Math.sqrt(ss / (n - 1)), n },
    );
    const pWorse = direction === 'smaller' ? test.pGreater : test.pLess;
    const pBetter = direction === 'smaller' ? test.pLess : test.pGreater;
    const changePct = ((current.value - pooledMean) / pooledMean) * 100;
    const worsePct = sign * changePct;
    return finite({
      status: verdict(worsePct, limitPct, pWorse, pBetter, alpha),
      method: 'welch',
      baseline: pooledMean,
      changePct,
      worsePct,
      pValue: worsePct >= 0 ? pWorse : pBetter,
      ...common,
    });
  }

  const changePct = ((current.value - center) / center) * 100;
  const worsePct = sign * changePct;
  return finite({
    status: verdict(worsePct, limitPct),
    method: 'robust',
    baseline: center,
    changePct,
    worsePct,
    ...common,
  });
};

/**
 * Rates that are often exactly 0 (error rates) compare in absolute percentage points: a change
 * from 0% to 0.1% is not "infinitely worse". Regressed when the rate rose by more than
 * max(`minPoints`, the baseline's noise band in points).
 */
export interface RateFinding {
  status: Verdict;
  /** Baseline mean rate (0..1). */
  baseline: number;
  value: number;
  /** (value − baseline) in percentage points. */
  changePoints: number;
  noisePoints: number;
  limitPoints: number;
  runs: number;
}

export type RateDetection = { status: 'insufficient'; have: number; need: number } | RateFinding;

/** Smallest error-rate increase, in percentage points, that counts as a regression. */
export const DEFAULT_MIN_RATE_POINTS = 1;

export const detectRateRegression = (opts: {
  baseline: readonly number[];
  current: number;
  minBaseline: number;
  minPoints?: number;
  bandTail?: number;
}): RateDetection => {
  const usable = opts.baseline.filter((v) => Number.isFinite(v));
  if (usable.length < opts.minBaseline)
    return { status: 'insufficient', have: usable.length, need: opts.minBaseline };
  const runs = withoutOutliers(usable, (v) => v);
  const center = mean(runs);
  const noisePoints = predictionBand(runs, opts.bandTail ?? DEFAULT_BAND_TAIL) * 100;
  const limitPoints = Math.max(opts.minPoints ?? DEFAULT_MIN_RATE_POINTS, noisePoints);
  const changePoints = (opts.current - center) * 100;
  return {
    status:
      changePoints > limitPoints ? 'regressed' : -changePoints > limitPoints ? 'improved' : 'ok',
    baseline: center,
    value: opts.current,
    changePoints,
    noisePoints,
    limitPoints,
    runs: runs.length,
  };
};
