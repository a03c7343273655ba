/**
 * Small numeric helpers for regression detection: location and spread (plain and robust),
 * the Student t distribution and Welch's t-test from summary statistics. Pure functions, no
 * dependencies, so the gate stays cheap to run inside the ingest request.
 */

/** Scales a MAD to estimate the standard deviation of normally distributed data. */
export const MAD_TO_SD = 1.4826;

export const mean = (xs: readonly number[]): number => {
  let sum = 0;
  for (const x of xs) sum += x;
  return xs.length ? sum / xs.length : Number.NaN;
};

/** Sample variance (n − 1 in the denominator); NaN below two values. */
export const variance = (xs: readonly number[]): number => {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) ** 2;
  return ss / (xs.length - 1);
};

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** Median absolute deviation from the median (unscaled: multiply by `MAD_TO_SD` for a σ). */
export const mad = (xs: readonly number[]): number => {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
};

// Lanczos approximation (g = 7, 9 terms): ~15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export const logGamma = (x: number): number => {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
};

/** Continued fraction of the incomplete beta (modified Lentz), good where x < (a+1)/(a+b+2). */
const betaFraction = (a: number, b: number, x: number): number => {
  const TINY = 1e-300;
  const EPS = 1e-14;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    // Even step.
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + num / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    num = -((a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + num / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
};

/** Regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 ≤ x ≤ 1. */
export const incompleteBeta = (x: number, a: number, b: number): number => {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    a * Math.log(x) + b * Math.log(1 - x) - (logGamma(a) + logGamma(b) - logGamma(a + b)),
  );
  // The fraction converges fast only on one side of the mean; use the symmetry on the other.
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(a, b, x)) / a
    : 1 - (front * betaFraction(b, a, 1 - x)) / b;
};

/** P(T ≤ t) for Student's t with `df` degrees of freedom (df may be fractional). */
export const studentTCdf = (t: number, df: number): number => {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (t === Number.POSITIVE_INFINITY) return 1;
  if (t === Number.NEGATIVE_INFINITY) return 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
};

const quantiles = new Map<string, number>();

/**
 * The t value with P(T ≤ t) = p (0 < p < 1), by bisection on the CDF to ~1e-9. Memoized:
 * the gate asks for a handful of (p, df) pairs over and over.
 */
export const studentTQuantile = (p: number, df: number): number => {
  const key = `${p}:${df}`;
  const known = quantiles.get(key);
  if (known !== undefined) return known;
  if (!(p > 0 && p < 1) || !(df > 0)) return Number.NaN;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  while (hi - lo > 1e-9 * Math.max(1, hi)) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  const t = (lo + hi) / 2;
  if (quantiles.size < 1000) quantiles.set(key, t);
  return t;
};

/** Summary statistics of one sample: what benchmark reports carry instead of raw samples. */
export interface SampleStats {
  mean: number;
  /** Sample standard deviation. */
  sd: number;
  n: number;
}

export interface WelchResult {
  /** (a.mean − b.mean) / standard error of the difference. */
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** One-sided p-value for "a's mean is greater than b's". */
  pGreater: number;
  /** One-sided p-value for "a's mean is less than b's". */
  pLess: number;
}

/**
 * Welch's unequal-variance t-test from summary statistics (each side needs n ≥ 2). When both
 * standard deviations are 0 the means are compared exactly (p 0 or 1, or 0.5 each if equal).
 */
export const welchTest = (a: SampleStats, b: SampleStats): WelchResult => {
  const va = (a.sd * a.sd) / a.n;
  const vb = (b.sd * b.sd) / b.n;
  const se = Math.sqrt(va + vb);
  const diff = a.mean - b.mean;
  if (se === 0) {
    const df = a.n + b.n - 2;
    if (diff === 0) return { t: 0, df, pGreater: 0.5, pLess: 0.5 };
    return diff > 0
      ? { t: Number.POSITIVE_INFINITY, df, pGreater: 0, pLess: 1 }
      : { t: Number.NEGATIVE_INFINITY, df, pGreater: 1, pLess: 0 };
  }
  const t = diff / se;
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  // The smaller tail straight from the beta function keeps tiny p-values precise.
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0
    ? { t, df, pGreater: tail, pLess: 1 - tail }
    : { t, df, pGreater: 1 - tail, pLess: tail };
};
