/**
 * An uptime (a share, 0-1) as a percentage with two decimals, rounded down: a check never looks
 * better than it is (66.666 % is 66.66 %, 99.999 % is not 100.00 %). The nudge keeps a float
 * product such as 0.57 × 10,000 = 5699.999… at 57.00 %: far smaller than any share of checks
 * lies from the next hundredth. The status page and the dashboard both show uptimes so.
 */
export const uptimePercent = (share: number): string =>
  `${(Math.floor(share * 10_000 + 1e-9) / 100).toFixed(2)}%`;
