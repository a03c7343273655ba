import { loadedCronParser } from '../cron';

/**
 * Cron times in a time zone, as cron itself runs them across daylight-saving changes. The cron
 * expression is matched against the local wall clock; a wall time is then mapped to the instant
 * it happens:
 *
 * - a wall time that happens twice (clocks go back) is the first of its instants after the
 *   time asked about, so a daily 02:30 job is expected once, and a `*\/15` job in both passes;
 * - a wall time that never happens (clocks jump forward) is the instant the jump ends: cron runs
 *   the jobs of the skipped hour then (Debian's cron: "soon after the change").
 *
 * cron-parser's own time-zone arithmetic is not used: across the spring jump it skips that
 * day's run from some starting points and not from others. The caller has awaited
 * `loadCronParser` (cron.ts).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

const formatter = (zone: string): Intl.DateTimeFormat => {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
};

const SECOND = 1000;
const DAY = 86_400_000;

/** The wall-clock time in `zone` at instant `t`, as epoch ms of those fields read as UTC. */
export const wallTime = (zone: string, t: number): number => {
  // formatToParts always yields these six fields (and literals, skipped).
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(t)))
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  const { year, month, day, hour, minute, second } = p as Record<
    'year' | 'month' | 'day' | 'hour' | 'minute' | 'second',
    number
  >;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  return wall + (((t % SECOND) + SECOND) % SECOND);
};

/** The instants whose wall time is `wall`, earliest first; for a skipped wall time, the jump's end. */
const instantsOf = (zone: string, wall: number): number[] => {
  // The zone's offsets a day before and after: the instants are `wall` minus one of them.
  const offsets = new Set([DAY, -DAY].map((d) => wallTime(zone, wall + d) - (wall + d)));
  const found = [...offsets]
    .map((o) => wall - o)
    .filter((t) => wallTime(zone, t) === wall)
    .sort((a, b) => a - b);
  if (found.length || offsets.size < 2) return found;
  // Skipped: the first second whose wall time is past `wall` (between the two candidates).
  let [lo, hi] = [...offsets].map((o) => wall - o).sort((a, b) => a - b) as [number, number];
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / 2 / SECOND) * SECOND;
    if (wallTime(zone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return [hi];
};

const cronWall = (cron: string, wall: number, direction: 'next' | 'prev'): number => {
  const it = loadedCronParser().parse(cron, { tz: 'UTC', currentDate: new Date(wall) });
  return (direction === 'next' ? it.next() : it.prev()).getTime();
};

/** Enough scheduled times to step over a daylight-saving change whatever the expression. */
const MAX_STEPS = 200;

/** The first time `cron` runs in `zone` strictly after instant `t`. */
export const cronNext = (cron: string, zone: string, t: number): number => {
  let wall = wallTime(zone, t);
  for (let i = 0; i < MAX_STEPS; i++) {
    wall = cronWall(cron, wall, 'next');
    const at = instantsOf(zone, wall).find((x) => x > t);
    if (at !== undefined) return at;
  }
  throw new Error(`cron "${cron}" has no run after ${new Date(t).toISOString()} in ${zone}`);
};

/** The last time `cron` runs in `zone` at or before instant `t`. */
export const cronPrevious = (cron: string, zone: string, t: number): number => {
  let wall = wallTime(zone, t) + 1;
  for (let i = 0; i < MAX_STEPS; i++) {
    wall = cronWall(cron, wall, 'prev');
    const at = instantsOf(zone, wall).findLast((x) => x <= t);
    if (at !== undefined) return at;
  }
  throw new Error(`cron "${cron}" has no run before ${new Date(t).toISOString()} in ${zone}`);
};
