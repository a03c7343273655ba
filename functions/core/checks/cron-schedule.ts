import { loadedCronParser } from '../cron';

/**
 * Cron times in a time zone, as cron itself runs them across daylight-saving changes. The cron
 * expression is matched against the local wall clock; a wall time is then mapped to the instants
 * it happens. Like Debian's cron (cron(8): "Only jobs that run at a particular time (not
 * specified as @hourly, nor with '*' in the hour or minute specifier) are affected"), the
 * mapping depends on the kind of expression:
 *
 * - a wildcard job (`*` or `*\/n` in the minute or hour field, `@hourly`) follows the clock: a
 *   wall time that happens twice (clocks go back) runs in both passes, so a `*\/15` job is
 *   expected in both passes of the repeated hour; a wall time that never happens is no run;
 * - a job at a particular time runs once: a wall time that happens twice is its first instant
 *   (a daily 02:30 job is expected once), and a wall time that never happens is the instant the
 *   jump ends, when cron runs the jobs of the skipped hour ("soon after the change").
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

/** The zone's offset from UTC at instant `t` (ms). */
const offsetAt = (zone: string, t: number): number => wallTime(zone, t) - t;

/**
 * The instants whose wall time is `wall`, earliest first. `wildcard`: every instant, none for a
 * skipped wall time; otherwise the first one only, or the jump's end for a skipped wall time.
 */
const instantsOf = (zone: string, wall: number, wildcard: boolean): number[] => {
  // The zone's offsets a day before and after: the instants are `wall` minus one of them.
  const offsets = new Set([DAY, -DAY].map((d) => offsetAt(zone, wall + d)));
  const found = [...offsets]
    .map((o) => wall - o)
    .filter((t) => wallTime(zone, t) === wall)
    .sort((a, b) => a - b);
  if (found.length || offsets.size < 2 || wildcard) return wildcard ? found : found.slice(0, 1);
  // Skipped: the first second whose wall time is past `wall` (between the two candidates).
  let [lo, hi] = [...offsets].map((o) => wall - o).sort((a, b) => a - b) as [number, number];
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / 2 / SECOND) * SECOND;
    if (wallTime(zone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return [hi];
};

/** Whether the job follows the clock across changes (see the top): `*` in minute or hour. */
const isWildcard = (cron: string): boolean => {
  const fields = cron.trim().split(/\s+/);
  const macro = fields[0]?.toLowerCase() ?? '';
  if (macro.startsWith('@')) return ['@hourly', '@minutely', '@secondly'].includes(macro);
  // Five fields; with a sixth (seconds, which the config check refuses) it comes first.
  const [minute, hour] = fields.length >= 6 ? fields.slice(1) : fields;
  return (minute ?? '').startsWith('*') || (hour ?? '').startsWith('*');
};

/** A clock change is at most this large (cron(8) takes larger ones for corrections). */
const MAX_SHIFT = 3 * 3_600_000;

/**
 * The instant in (lo, hi] where the clocks go back, when they do so once there (offset at `hi`
 * below the offset at `lo`); otherwise undefined.
 */
const fallBackIn = (zone: string, lo: number, hi: number): number | undefined => {
  const after = offsetAt(zone, hi);
  if (after >= offsetAt(zone, lo)) return undefined;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (offsetAt(zone, mid) === after) hi = mid;
    else lo = mid;
  }
  return hi;
};

const cronWall = (cron: string, wall: number, direction: 'next' | 'prev'): number => {
  const it = loadedCronParser().parse(cron, { tz: 'UTC', currentDate: new Date(wall) });
  return (direction === 'next' ? it.next() : it.prev()).getTime();
};

/** Enough scheduled times to step over a daylight-saving change whatever the expression. */
const MAX_STEPS = 200;

/** The first instant after `t` of the wall times matching `cron` after `wall` (walking forward). */
const walkNext = (cron: string, zone: string, t: number, wall: number, wildcard: boolean) => {
  for (let i = 0; i < MAX_STEPS; i++) {
    wall = cronWall(cron, wall, 'next');
    const at = instantsOf(zone, wall, wildcard).find((x) => x > t);
    if (at !== undefined) return at;
  }
  throw new Error(`cron "${cron}" has no run after ${new Date(t).toISOString()} in ${zone}`);
};

/** The last instant at or before `t` of the wall times matching `cron` before `wall`. */
const walkPrevious = (cron: string, zone: string, t: number, wall: number, wildcard: boolean) => {
  for (let i = 0; i < MAX_STEPS; i++) {
    wall = cronWall(cron, wall, 'prev');
    const at = instantsOf(zone, wall, wildcard).findLast((x) => x <= t);
    if (at !== undefined) return at;
  }
  throw new Error(`cron "${cron}" has no run before ${new Date(t).toISOString()} in ${zone}`);
};

/** The first time `cron` runs in `zone` strictly after instant `t`. */
export const cronNext = (cron: string, zone: string, t: number): number => {
  const wildcard = isWildcard(cron);
  const next = walkNext(cron, zone, t, wallTime(zone, t), wildcard);
  if (!wildcard) return next;
  // Walking forward in wall time from the first pass of a repeated hour skips the second pass
  // (its wall times are behind): look there too, from the instant the clocks go back.
  const back = fallBackIn(zone, t, t + MAX_SHIFT);
  if (back === undefined || back >= next) return next;
  return Math.min(next, walkNext(cron, zone, back - 1, wallTime(zone, back) - 1, wildcard));
};

/** The last time `cron` runs in `zone` at or before instant `t`. */
export const cronPrevious = (cron: string, zone: string, t: number): number => {
  const wildcard = isWildcard(cron);
  const previous = walkPrevious(cron, zone, t, wallTime(zone, t) + 1, wildcard);
  if (!wildcard) return previous;
  // The mirror case: walking back from the second pass skips the end of the first pass.
  const back = fallBackIn(zone, t - MAX_SHIFT, t);
  if (back === undefined || back <= previous) return previous;
  return Math.max(
    previous,
    walkPrevious(cron, zone, back - 1, wallTime(zone, back - 1) + 1, wildcard),
  );
};
