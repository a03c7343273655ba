import { describe, expect, it } from 'vitest';
import {
  type Detection,
  detectRateRegression,
  detectRegression,
  directionFromUnit,
  type Finding,
  predictionBand,
  type Sample,
} from '../../functions/core/history/regression';

/**
 * Histories shaped like the corpus reports: run-to-run drift factors as CI machines produce
 * them (a few percent, with the odd slow run), applied to real benchmark values.
 */
const DRIFT = [1.0, 0.93, 1.08, 0.97, 1.05, 0.91, 1.1, 0.99, 1.04, 0.95]; // sd ≈ 6%
const STEADY = [1.0, 0.99, 1.015, 1.005, 0.985, 1.01, 0.995, 1.0, 1.02, 0.99]; // sd ≈ 1.1%

const values = (base: number, factors: number[]): Sample[] =>
  factors.map((f) => ({ value: base * f }));

/** pytest-benchmark `test_fib_20` (corpus): mean 1.916 ms, sd 0.045 ms over 523 rounds. */
const fib20 = (factor: number): Sample => ({
  value: 0.0019158 * factor,
  samples: 523,
  stddev: 0.0000454 * factor,
});

const found = (d: Detection): Finding => {
  if (!('method' in d)) throw new Error(`expected a finding, got ${d.status}`);
  return d;
};

const detect = (
  baseline: Sample[],
  current: Sample,
  extra: { direction?: 'smaller' | 'bigger'; absoluteFromZero?: boolean } = {},
) =>
  detectRegression({
    baseline,
    current,
    direction: extra.direction ?? 'smaller',
    thresholdPct: 10,
    minBaseline: 3,
    ...(extra.absoluteFromZero ? { absoluteFromZero: true } : {}),
  });

describe('directionFromUnit', () => {
  it.each([
    'ns',
    'µs',
    'μs',
    'us',
    'ms',
    's',
    'sec',
    'seconds',
    'min',
    'ns/op',
    'ms/iter',
    'bytes',
    'B',
    'MB',
    'MiB',
    'Megabytes',
    'allocs/op',
  ])('%s: smaller is better', (unit) => {
    expect(directionFromUnit(unit)).toEqual({ direction: 'smaller', known: true });
  });

  it.each([
    'ops/s',
    'op/s',
    'ops/sec',
    'it/s',
    'req/s',
    'MB/s',
    'Hz',
    'ops',
    'requests per second',
    'items / second',
  ])('%s: bigger is better', (unit) => {
    expect(directionFromUnit(unit)).toEqual({ direction: 'bigger', known: true });
  });

  it('guesses smaller for an unknown unit and says it guessed', () => {
    expect(directionFromUnit('Percent')).toEqual({ direction: 'smaller', known: false });
    expect(directionFromUnit('')).toEqual({ direction: 'smaller', known: false });
  });
});

describe('detectRegression: values only (robust path)', () => {
  // github-action-benchmark "No logging" (corpus): 1847.38 ns.
  const noisy = values(1847.38, DRIFT);

  it('does not flag a noisy benchmark that wanders 12% (a fixed 10% rule would)', () => {
    const d = found(detect(noisy, { value: 1847.38 * 1.12 }));
    expect(d).toMatchObject({ status: 'ok', method: 'robust', runs: 10 });
    expect(d.worsePct).toBeGreaterThan(10);
    // The band comes from the baseline's own spread, not from the fixed threshold.
    expect(d.noisePct).toBeGreaterThan(d.worsePct);
    expect(d.limitPct).toBe(d.noisePct);
  });

  it('flags a clear 25% regression on the same noisy history', () => {
    const d = found(detect(noisy, { value: 1847.38 * 1.25 }));
    expect(d.status).toBe('regressed');
    expect(d.baseline).toBeCloseTo(1847.38 * 1.002, 1); // mean of the drift factors
    expect(d.changePct).toBeCloseTo(24.75, 1);
  });

  it('uses the threshold on a steady history: 8% passes, 12% fails', () => {
    const steady = values(1847.38, STEADY);
    expect(found(detect(steady, { value: 1847.38 * 1.08 })).status).toBe('ok');
    const d = found(detect(steady, { value: 1847.38 * 1.12 }));
    expect(d).toMatchObject({ status: 'regressed', limitPct: 10 });
    expect(d.noisePct).toBeLessThan(10);
  });

  it('reports improvements in either direction', () => {
    const ops = values(50_000, STEADY);
    expect(found(detect(ops, { value: 65_000 }, { direction: 'bigger' }))).toMatchObject({
      status: 'improved',
    });
    const slower = found(detect(ops, { value: 40_000 }, { direction: 'bigger' }));
    expect(slower.status).toBe('regressed');
    expect(slower.changePct).toBeLessThan(-19);
    expect(slower.worsePct).toBeGreaterThan(19);
    expect(found(detect(values(10, STEADY), { value: 7 })).status).toBe('improved');
  });

  it('widens the band when only a few runs tell the spread', () => {
    const few = found(detect(values(100, DRIFT.slice(0, 3)), { value: 100 }));
    const many = found(detect(values(100, DRIFT), { value: 100 }));
    expect(few.noisePct).toBeGreaterThan(2 * many.noisePct);
  });

  it('leaves a glitch run out instead of letting it blind the check', () => {
    const glitch = values(100, STEADY);
    glitch[4] = { value: 210 }; // one run on a machine twice as slow
    const d = found(detect(glitch, { value: 125 }));
    expect(d).toMatchObject({ status: 'regressed', runs: 9, outliers: 1 });
    expect(d.baseline).toBeCloseTo(100.28, 1); // the mean of the other nine
  });

  it('skips without enough runs, or without a positive baseline to divide by', () => {
    expect(detect(values(100, [1, 1.02]), { value: 200 })).toEqual({
      status: 'insufficient',
      have: 2,
      need: 3,
    });
    // A zero baseline cannot be divided by for bigger-is-better values (smaller: see below).
    expect(
      detect([{ value: 0 }, { value: 0 }, { value: 0 }], { value: 5 }, { direction: 'bigger' }),
    ).toMatchObject({ status: 'incomparable' });
    expect(detect([{ value: 0 }, { value: 2 }, { value: -2 }], { value: 5 })).toMatchObject({
      status: 'incomparable',
    });
    // A run without a usable value does not count towards the baseline.
    expect(detect(values(1, [1, Number.NaN, 1]), { value: 1 })).toMatchObject({
      status: 'insufficient',
      have: 2,
    });
  });
});

/** Mulberry32: a small seeded PRNG, so the simulations below are the same on every run. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
/** Standard normal deviates by Box–Muller. */
const gaussian = (random: () => number) => () =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

describe('detectRegression: outliers and the false-alarm rate', () => {
  it('does not narrow the band of a 5-run baseline by dropping its extreme runs', () => {
    // Audit repro: two runs far out on either side are ordinary spread at 5 runs, not glitches.
    const d = found(detect(values(1, [100, 140, 100.5, 60, 101]), { value: 115 }));
    expect(d).toMatchObject({ status: 'ok', runs: 5, outliers: 0 });
    expect(d.noisePct).toBeGreaterThan(d.worsePct);
  });

  it('keeps the designed 0.5% false-alarm rate on Gaussian noise with 5 runs', () => {
    // Unchanged code: the baseline's 5 runs and the current run come from the same N(100, 5²).
    // The band is a one-sided 99.5% prediction bound for one more run, so on pure noise it
    // should be crossed 0.5% of the time (threshold 0 so only the band decides). Dropping runs
    // as outliers shrank the band and doubled that. 20 000 trials: sd of the rate ≈ 0.05%; the old code measured 1.7% here.
    const normal = gaussian(seeded(20261205));
    const trials = 20_000;
    let alarms = 0;
    for (let i = 0; i < trials; i++) {
      const baseline = Array.from({ length: 5 }, () => ({ value: 100 + 5 * normal() }));
      const d = detectRegression({
        baseline,
        current: { value: 100 + 5 * normal() },
        direction: 'smaller',
        thresholdPct: 0,
        minBaseline: 3,
      });
      if (d.status === 'regressed') alarms++;
    }
    expect(alarms / trials).toBeLessThanOrEqual(0.006);
    expect(alarms / trials).toBeGreaterThan(0.003); // the band is not simply huge either
  });

  it('leaves out at most one glitch run, and says what it did to the band', () => {
    const two = values(100, STEADY);
    two[3] = { value: 210 };
    two[6] = { value: 220 };
    const d = found(detect(two, { value: 125 }));
    expect(d).toMatchObject({ runs: 9, outliers: 1 });
    expect(d.noisePctWithOutliers).toBeGreaterThan(d.noisePct);
    const clean = found(detect(values(100, STEADY), { value: 100 }));
    expect(clean.noisePctWithOutliers).toBeUndefined();
  });
});

describe('detectRegression: a zero baseline (allocs/op, B/op)', () => {
  const zeros = (n: number): Sample[] => Array.from({ length: n }, () => ({ value: 0 }));

  it('flags 0 → 1 allocs/op and 0 → 64 B/op as regressions, in absolute terms', () => {
    const abs = { absoluteFromZero: true };
    for (const v of [1, 64])
      expect(found(detect(zeros(4), { value: v }, abs))).toMatchObject({
        status: 'regressed',
        method: 'zero',
        baseline: 0,
        value: v,
        runs: 4,
      });
    expect(found(detect(zeros(4), { value: 0 }, abs)).status).toBe('ok');
    // Bigger is better, or not asked for (a 0 ms latency is usually a missing figure): skipped.
    expect(detect(zeros(4), { value: 1 }, { ...abs, direction: 'bigger' }).status).toBe(
      'incomparable',
    );
    expect(detect(zeros(4), { value: 1 }).status).toBe('incomparable');
  });
});

describe('detectRegression: bigger is better with a band of 100% or more', () => {
  it('skips as too noisy to gate instead of passing a drop that could never fail', () => {
    // MB/s swinging 5x from run to run: the band exceeds 100%, and no drop exceeds 100%.
    const wild = values(1, [100, 500, 120, 480, 90]);
    const d = detect(wild, { value: 1 }, { direction: 'bigger' });
    expect(d).toMatchObject({ status: 'incomparable' });
    expect('reason' in d && d.reason).toMatch(
      /^too noisy to gate: .*cannot drop by more than 100%/,
    );
    // The same history read as a time (smaller is better) can still fail: 10x slower.
    expect(found(detect(wild, { value: 5000 })).status).toBe('regressed');
  });
});

describe('detectRegression: unusable input', () => {
  it('cannot compare a current value that is not a number', () => {
    expect(detect(values(1, STEADY), { value: Number.NaN })).toEqual({
      status: 'incomparable',
      reason: 'the current value is not a number',
    });
  });

  it('cannot compare against figures that overflow: a poisoned baseline never passes everything', () => {
    // Three runs of 1.7e308 (the benchmark JSON format): their mean overflows to Infinity.
    const huge = [{ value: 1.7e308 }, { value: 1.7e308 }, { value: 1.7e308 }];
    expect(detect(huge, { value: 5 })).toEqual({
      status: 'incomparable',
      reason: 'the baseline mean is Infinity: a relative change is undefined',
    });
    // A finite mean whose spread overflows: an infinite noise band would let any change pass.
    expect(detect([{ value: 1.7e308 }, { value: 1 }, { value: 1 }], { value: 5 })).toEqual({
      status: 'incomparable',
      reason: 'the noise band is Infinity, not a finite number',
    });
    // A finite baseline and a current value so far off that the change overflows.
    expect(detect(values(1e-10, STEADY), { value: 1.7e308 })).toEqual({
      status: 'incomparable',
      reason: 'the change is Infinity, not a finite number',
    });
  });

  it('has no prediction band below two runs', () => {
    expect(predictionBand([5], 0.005)).toBe(0);
    expect(predictionBand([5, 7], 0.005)).toBeGreaterThan(0);
  });
});

describe('detectRegression: sampled benchmarks (Welch path)', () => {
  const baseline = STEADY.map(fib20);

  it('flags a 25% regression with a tiny p-value', () => {
    const d = found(detect(baseline, fib20(1.25)));
    expect(d).toMatchObject({ status: 'regressed', method: 'welch', runs: 10 });
    expect(d.pValue).toBeLessThan(1e-10);
    expect(d.changePct).toBeCloseTo(24.9, 0);
  });

  it('judges an ops/s benchmark (bigger is better): 25% fewer ops regressed, 25% more improved', () => {
    // pytest-benchmark reports ops too: the same rounds, read as operations per second.
    const ops = (f: number): Sample => ({ value: 522 * f, samples: 523, stddev: 12 * f });
    const history = STEADY.map(ops);
    expect(found(detect(history, ops(0.75), { direction: 'bigger' })).status).toBe('regressed');
    expect(found(detect(history, ops(1.25), { direction: 'bigger' })).status).toBe('improved');
  });

  it('lets a significant but small change pass: 5% is below the 10% threshold', () => {
    const d = found(detect(baseline, fib20(1.05)));
    expect(d.pValue).toBeLessThan(0.01);
    expect(d.status).toBe('ok');
  });

  it('does not flag a large change the samples cannot support', () => {
    // hyperfine-like: 3 runs of a command with 14% spread; +15% is well within its noise.
    const hyper = (v: number): Sample => ({ value: v, samples: 3, stddev: 1.64 });
    const d = found(detect([11.6, 11.5, 11.7, 11.6].map(hyper), hyper(13.35)));
    expect(d.method).toBe('welch');
    expect(d.worsePct).toBeGreaterThan(10);
    expect(d.pValue).toBeGreaterThan(0.01);
    expect(d.status).toBe('ok');
  });

  it('sees run-to-run drift that huge sample counts hide from the t-test', () => {
    // Vitest bench (corpus, "Shiki"): 4928 samples with sd 65% of the mean, drifting ~6% per run.
    const shiki = (f: number): Sample => ({ value: 0.1016 * f, samples: 4928, stddev: 0.066 });
    const drifting = DRIFT.map(shiki);
    const wander = found(detect(drifting, shiki(1.14)));
    expect(wander.pValue).toBeLessThan(1e-6); // the t-test alone would cry wolf
    expect(wander.status).toBe('ok');
    expect(wander.noisePct).toBeGreaterThan(14);
    expect(found(detect(drifting, shiki(1.4))).status).toBe('regressed');
  });

  it('cannot judge a sample whose variance overflows: a NaN p-value would pass a 5x regression', () => {
    const steady = { value: 1, samples: 10, stddev: 0.01 };
    expect(detect([steady, steady, steady], { value: 5, samples: 10, stddev: 1e200 })).toEqual({
      status: 'incomparable',
      reason: 'the p-value is NaN, not a finite number',
    });
  });

  it('falls back to values when the baseline runs lack samples', () => {
    const d = found(detect(values(0.0019158, STEADY), fib20(1.25)));
    expect(d.method).toBe('robust');
    expect(d.status).toBe('regressed');
  });
});

describe('detectRateRegression (error rates, in points)', () => {
  it('compares in points so a baseline of 0% does not make every error a regression', () => {
    const zeros = [0, 0, 0, 0, 0];
    expect(detectRateRegression({ baseline: zeros, current: 0.004, minBaseline: 3 })).toMatchObject(
      { status: 'ok', limitPoints: 1 },
    );
    const d = detectRateRegression({ baseline: zeros, current: 0.03, minBaseline: 3 });
    expect(d).toMatchObject({ status: 'regressed', baseline: 0 });
    expect('changePoints' in d && d.changePoints).toBeCloseTo(3, 10);
  });

  it('widens the limit for a flaky baseline and skips without history', () => {
    const flaky = [0.01, 0.03, 0.0, 0.02, 0.04, 0.01, 0.02, 0.0, 0.03, 0.02];
    const d = detectRateRegression({ baseline: flaky, current: 0.05, minBaseline: 3 });
    expect(d.status).toBe('ok');
    expect('limitPoints' in d && d.limitPoints).toBeGreaterThan(3);
    expect(detectRateRegression({ baseline: [0], current: 0.5, minBaseline: 3 })).toEqual({
      status: 'insufficient',
      have: 1,
      need: 3,
    });
  });
});
