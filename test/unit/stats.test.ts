import { describe, expect, it } from 'vitest';
import {
  incompleteBeta,
  logGamma,
  mad,
  mean,
  median,
  studentTCdf,
  studentTQuantile,
  variance,
  welchTest,
} from '../../functions/core/history/stats';

describe('location and spread', () => {
  it('computes mean, sample variance, median and MAD', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(xs)).toBe(5);
    expect(variance(xs)).toBeCloseTo(32 / 7, 12);
    expect(median(xs)).toBe(4.5);
    expect(median([3, 1, 2])).toBe(2);
    // |x − 4.5| = 2.5, .5, .5, .5, .5, .5, 2.5, 4.5 → median 0.5
    expect(mad(xs)).toBe(0.5);
    expect(mad([1, 2, 3, 4, 1000])).toBe(1); // one wild value barely moves it
  });

  it('says NaN instead of inventing a value for too little data', () => {
    expect(mean([])).toBeNaN();
    expect(median([])).toBeNaN();
    expect(variance([1])).toBeNaN();
  });
});

describe('Student t distribution', () => {
  it('matches closed forms for 1 and 2 degrees of freedom to 1e-9', () => {
    for (const t of [-30, -3.2, -1, -0.25, 0, 0.4, 1.7, 6, 250]) {
      // df = 1 is the Cauchy distribution; df = 2 has a closed form too.
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 9);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 9);
    }
  });

  it('matches the printed t tables', () => {
    const twoSided = (t: number, df: number) => 2 * (1 - studentTCdf(t, df));
    expect(twoSided(2.228, 10)).toBeCloseTo(0.05, 4);
    expect(twoSided(12.706, 1)).toBeCloseTo(0.05, 4);
    expect(twoSided(3.169, 10)).toBeCloseTo(0.01, 4);
    expect(twoSided(2.042, 30)).toBeCloseTo(0.05, 4);
    expect(1 - studentTCdf(2.764, 10)).toBeCloseTo(0.01, 4);
    // Large df approaches the normal distribution.
    expect(twoSided(1.959964, 1e7)).toBeCloseTo(0.05, 6);
    // Fractional df (Welch) lies between its integer neighbours.
    const p = twoSided(2.1, 12.5);
    expect(p).toBeLessThan(twoSided(2.1, 12));
    expect(p).toBeGreaterThan(twoSided(2.1, 13));
  });

  it('inverts the CDF', () => {
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228139, 5);
    expect(studentTQuantile(0.995, 9)).toBeCloseTo(3.249836, 5);
    expect(studentTQuantile(0.995, 2)).toBeCloseTo(9.924843, 5);
    expect(studentTQuantile(0.025, 10)).toBeCloseTo(-2.228139, 5);
    expect(studentTQuantile(0.5, 4)).toBeCloseTo(0, 9);
  });

  it('has the incomplete beta and log-gamma it is built on right', () => {
    expect(incompleteBeta(0.5, 2, 3)).toBeCloseTo(11 / 16, 12);
    expect(incompleteBeta(0.3, 0.5, 0.5)).toBeCloseTo(
      (2 / Math.PI) * Math.asin(Math.sqrt(0.3)),
      10,
    );
    expect(incompleteBeta(0, 2, 2)).toBe(0);
    expect(incompleteBeta(1, 2, 2)).toBe(1);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });
});

describe('welchTest', () => {
  it('computes t, Welch–Satterthwaite df and one-sided p-values', () => {
    // Prepare: a = 10 ± 1 (n 20), b = 9 ± 2 (n 30)
    const r = welchTest({ mean: 10, sd: 1, n: 20 }, { mean: 9, sd: 2, n: 30 });
    // Assess: by hand, se² = 1/20 + 4/30 = 0.18333
    expect(r.t).toBeCloseTo(1 / Math.sqrt(0.05 + 4 / 30), 10);
    const df = (0.05 + 4 / 30) ** 2 / (0.05 ** 2 / 19 + (4 / 30) ** 2 / 29);
    expect(r.df).toBeCloseTo(df, 10);
    expect(r.pGreater).toBeCloseTo(1 - studentTCdf(r.t, df), 12);
    expect(r.pGreater + r.pLess).toBeCloseTo(1, 12);
    expect(r.pGreater).toBeGreaterThan(0.005);
    expect(r.pGreater).toBeLessThan(0.02);
  });

  it('reduces to the pooled test with 2n − 2 df for equal sizes and sds', () => {
    const r = welchTest({ mean: 5, sd: 3, n: 12 }, { mean: 5.5, sd: 3, n: 12 });
    expect(r.df).toBeCloseTo(22, 10);
    expect(r.t).toBeCloseTo(-0.5 / Math.sqrt(1.5), 12);
    // a below b: weak evidence for "less", none for "greater".
    expect(r.pLess).toBeCloseTo(studentTCdf(r.t, 22), 12);
    expect(r.pLess).toBeLessThan(0.5);
    expect(r.pGreater).toBeGreaterThan(0.5);
  });

  it('keeps tiny p-values precise and handles zero spread', () => {
    const far = welchTest({ mean: 200, sd: 1, n: 50 }, { mean: 100, sd: 1, n: 50 });
    expect(far.pGreater).toBeGreaterThan(0);
    expect(far.pGreater).toBeLessThan(1e-50);
    expect(welchTest({ mean: 2, sd: 0, n: 3 }, { mean: 1, sd: 0, n: 3 })).toMatchObject({
      pGreater: 0,
      pLess: 1,
    });
    expect(welchTest({ mean: 1, sd: 0, n: 3 }, { mean: 1, sd: 0, n: 3 }).pGreater).toBe(0.5);
  });
});

describe('edges of the distributions', () => {
  it('uses the reflection formula below 1/2: Γ(1/4) = 3.6256…', () => {
    expect(Math.exp(logGamma(0.25))).toBeCloseTo(3.625609908, 8);
  });

  it('answers NaN for undefined inputs and the limits for infinite t', () => {
    expect(studentTCdf(Number.NaN, 3)).toBeNaN();
    expect(studentTCdf(1, 0)).toBeNaN();
    expect(studentTCdf(Number.POSITIVE_INFINITY, 3)).toBe(1);
    expect(studentTCdf(Number.NEGATIVE_INFINITY, 3)).toBe(0);
    expect(studentTQuantile(0, 3)).toBeNaN();
    expect(studentTQuantile(1, 3)).toBeNaN();
    expect(studentTQuantile(0.9, -1)).toBeNaN();
  });

  it('compares samples without spread exactly when the first mean is lower', () => {
    expect(welchTest({ mean: 1, sd: 0, n: 3 }, { mean: 2, sd: 0, n: 3 })).toEqual({
      t: Number.NEGATIVE_INFINITY,
      df: 4,
      pGreater: 1,
      pLess: 0,
    });
  });
});
