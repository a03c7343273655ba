/**
 * Which benchmark values can be compared. No zod here: go-bench.ts imports this, and detect.ts
 * (bundled into the XML readers and the CLI) imports go-bench.ts.
 */

/** Which way is better for a benchmark value. */
export type Direction = 'smaller' | 'bigger';

const TIME_UNITS = new Set([
  'ns',
  'nsec',
  'nanosecond',
  'nanoseconds',
  'us',
  'µs',
  'μs',
  'usec',
  'microsecond',
  'microseconds',
  'ms',
  'msec',
  'millisecond',
  'milliseconds',
  's',
  'sec',
  'secs',
  'second',
  'seconds',
  'min',
  'mins',
  'minute',
  'minutes',
  'h',
  'hr',
  'hrs',
  'hour',
  'hours',
]);
const SIZE = /^(b|bytes?|[kmgt]i?b|kilobytes?|megabytes?|gigabytes?|terabytes?)$/;
const RATE_WORDS = new Set(['hz', 'khz', 'mhz', 'ops', 'rps', 'qps', 'tps', 'fps', 'iops']);

export interface UnitDirection {
  direction: Direction;
  /** False when the unit is not recognised and `smaller` is a guess. */
  known: boolean;
}

/**
 * Which way is better, from a unit: rates (anything per second, ops, Hz) are better bigger;
 * times, time per operation and sizes are better smaller. Unknown units: smaller, flagged.
 */
export const directionFromUnit = (unit: string): UnitDirection => {
  const u = unit.trim().toLowerCase().replace(/\s+/g, ' ');
  if (/\/\s*(s|sec|secs|second)$/.test(u) || /\bper (s|sec|second)$/.test(u) || RATE_WORDS.has(u))
    return { direction: 'bigger', known: true };
  // Time or size, optionally per something: `ns/op`, `ms/iter`, `bytes/op`, `allocs/op`.
  const [first = ''] = u.split('/');
  const head = first.trim();
  if (TIME_UNITS.has(head) || SIZE.test(head) || head === 'allocs')
    return { direction: 'smaller', known: true };
  return { direction: 'smaller', known: false };
};

/**
 * Can a value in this unit be negative? Not in a unit Vigil knows (a time, a size, a count of
 * allocations or a rate such as `MB/s`): such a value is a bug in the benchmark or the report,
 * never a measurement. Custom units (`points`, `delta`) may be.
 */
export const mustNotBeNegative = (unit: string): boolean => directionFromUnit(unit).known;

/** Why a value cannot be compared, or undefined: not finite, or negative in such a unit. */
export const unusableValue = (value: number, unit: string): string | undefined =>
  !Number.isFinite(value)
    ? 'is not finite'
    : value < 0 && mustNotBeNegative(unit)
      ? 'is negative (a time, size or rate cannot be)'
      : undefined;
