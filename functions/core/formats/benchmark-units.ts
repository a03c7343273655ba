/**
 * Which benchmark values can be compared. No zod here: go-bench.ts imports this, and detect.ts
 * (bundled into the XML readers and the CLI) imports go-bench.ts.
 */

/** Units of time, size and count: a per-op `/op` form too (`ns/op`, `B/op`, `allocs/op`). */
const NON_NEGATIVE_UNITS = new Set([
  'ns',
  'us',
  'µs',
  'μs',
  'ms',
  's',
  'sec',
  'secs',
  'second',
  'seconds',
  'min',
  'h',
  'b',
  'byte',
  'bytes',
  'kb',
  'mb',
  'gb',
  'tb',
  'kib',
  'mib',
  'gib',
  'tib',
  'allocs',
]);

/**
 * Can a value in this unit be negative? Not a time, a size or a rate (`MB/s`, `items/s`): such
 * a value is a bug in the benchmark or the report, never a measurement.
 */
export const mustNotBeNegative = (unit: string): boolean => {
  const u = unit.trim().toLowerCase();
  return u.endsWith('/s') || NON_NEGATIVE_UNITS.has(u.replace(/\/op$/, ''));
};

/** Why a value cannot be compared, or undefined: not finite, or negative in such a unit. */
export const unusableValue = (value: number, unit: string): string | undefined =>
  !Number.isFinite(value)
    ? 'is not finite'
    : value < 0 && mustNotBeNegative(unit)
      ? 'is negative (a time, size or rate cannot be)'
      : undefined;
