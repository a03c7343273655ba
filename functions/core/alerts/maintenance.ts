import type { MaintenanceWindow } from '../config';
import { loadedCronParser } from '../cron';

/**
 * Maintenance windows: while one covers a check, its notifications are recorded with
 * `suppressedBy` but not sent. A window covers a check when it names the probe or shares a
 * tag with it; a window that names neither probes nor tags covers every check (test runs,
 * gates and alarms included).
 *
 * - `start` + `end`: active from `start` (inclusive) to `end` (exclusive).
 * - `cron` + `durationMinutes`: active while the latest cron occurrence at or before now
 *   (evaluated in UTC) is less than `durationMinutes` ago. With `start`/`end` as well, the
 *   recurring window only applies between them.
 */

export interface MaintenanceTarget {
  probe?: string;
  tags: readonly string[];
}

export const covers = (w: MaintenanceWindow, target: MaintenanceTarget): boolean => {
  if (w.probes.length === 0 && w.tags.length === 0) return true;
  if (target.probe !== undefined && w.probes.includes(target.probe)) return true;
  return w.tags.some((t) => target.tags.includes(t));
};

const CRON_FIELDS = 'minute hour day-of-month month day-of-week';

/**
 * Why a cron expression cannot be used, in words a person understands, or `undefined` when it
 * is fine. Five fields (UTC), as in crontab; a sixth (seconds) field is refused, since windows
 * are minutes long and a seconds field is easily mistaken for minutes.
 */
export const cronProblem = (expression: string): string | undefined => {
  const shown = JSON.stringify(expression.slice(0, 80));
  const trimmed = expression.trim();
  if (trimmed.startsWith('@'))
    return ALIASES.includes(trimmed)
      ? undefined
      : `${shown}: not a schedule: use five fields (${CRON_FIELDS}) or one of ${ALIASES.join(', ')} (@midnight: @daily)`;
  const fields = trimmed.split(/\s+/).filter(Boolean);
  if (fields.length !== 5)
    return fields.length === 6
      ? `${shown}: expected 5 fields (${CRON_FIELDS}), got 6: a seconds field is not supported`
      : `${shown}: expected 5 fields (${CRON_FIELDS}), got ${fields.length}`;
  const field = fieldProblem(fields);
  if (field) return `${shown}: ${field}`;
  const parser = loadedCronParser();
  try {
    parser.parse(expression, { tz: 'UTC', strict: false });
    return undefined;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // The parser reads three letters at a time ("cannot resolve alias "day"" for SUNDAY).
    if (/cannot resolve alias/.test(message))
      return `${shown}: ${nameProblem(expression) ?? message}`;
    if (/explicit day of month/.test(message))
      return `${shown}: day-of-month: no month given has that day (e.g. 31 in February)`;
    return `${shown}: ${message}`;
  }
};

/**
 * The `@` schedules the cron parser reads, as written (lower case): Debian's cron has these and
 * `@midnight` (the same as `@daily`, which the parser does not know) and `@reboot` (no schedule).
 */
const ALIASES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly'];

/** Each field's values (day-of-week 7 is Sunday, as 0). */
const RANGES = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
] as const;

/**
 * The first field with a value out of its range, or with Quartz syntax Debian's cron does not
 * have (`L`, `W`, `#`, `?`: the parser would take some of them), named; else undefined.
 */
const fieldProblem = (fields: readonly string[]): string | undefined => {
  const names = CRON_FIELDS.split(' ');
  for (const [i, text] of fields.entries()) {
    const [low, high] = RANGES[i] as readonly [number, number];
    // Month and day names (JUL, WED) hold the letters looked for: left out of this check.
    if (/[LW#?]/i.test(text.replace(/[A-Za-z]{3,}/g, '')))
      return `${names[i]}: "L", "W", "#" and "?" are not cron(8) syntax`;
    for (const part of text.split(','))
      for (const value of (part.split('/')[0] ?? '').split('-'))
        if (/^\d+$/.test(value) && (Number(value) < low || Number(value) > high))
          return `${names[i]}: ${value} is out of range (${low}-${high})`;
  }
  return undefined;
};

const NAMES = [
  { field: 4, label: 'day-of-week: use 0-7 or SUN-SAT', names: 'SUN MON TUE WED THU FRI SAT' },
  {
    field: 3,
    label: 'month: use 1-12 or JAN-DEC',
    names: 'JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC',
  },
];

/** Which field has a name the parser does not know (`SUNDAY`, `September`), and what it takes. */
const nameProblem = (expression: string): string | undefined => {
  const fields = expression.trim().split(/\s+/);
  return NAMES.find(({ field, names }) =>
    (fields[field]?.match(/[A-Za-z]{2,}/g) ?? []).some(
      (word) => !names.split(' ').includes(word.toUpperCase()),
    ),
  )?.label;
};

/** Latest occurrence at or before `now`, in UTC; `undefined` for an unusable expression. */
const latestOccurrence = (expression: string, now: Date): Date | undefined => {
  const parser = loadedCronParser();
  try {
    // `prev()` is strictly before the current date: start 1 ms later to include `now`.
    const cron = parser.parse(expression, {
      tz: 'UTC',
      currentDate: new Date(now.getTime() + 1),
    });
    return cron.prev().toDate();
  } catch {
    return undefined;
  }
};

/** The end of the window's current period, or `undefined` when it is not active now. */
const activeUntil = (w: MaintenanceWindow, now: Date): Date | undefined => {
  const t = now.getTime();
  const start = w.start === undefined ? undefined : Date.parse(w.start);
  const end = w.end === undefined ? undefined : Date.parse(w.end);
  if (start !== undefined && t < start) return undefined;
  if (end !== undefined && t >= end) return undefined;
  if (w.cron !== undefined && w.durationMinutes !== undefined) {
    const occurrence = latestOccurrence(w.cron, now);
    if (!occurrence) return undefined;
    const until = occurrence.getTime() + w.durationMinutes * 60_000;
    if (t >= until) return undefined;
    return new Date(end === undefined ? until : Math.min(until, end));
  }
  return start !== undefined && end !== undefined ? new Date(end) : undefined;
};

const describeWindow = (w: MaintenanceWindow, index: number, until: Date): string => {
  const name = w.reason ? `"${w.reason}"` : `#${index + 1}`;
  return `maintenance window ${name} until ${until.toISOString()}`;
};

/**
 * The first window covering the target now, described for `suppressedBy`
 * (e.g. `maintenance window "DB upgrade" until 2026-11-25T11:00:00.000Z`), or `undefined`.
 */
export const activeWindow = (
  windows: readonly MaintenanceWindow[],
  target: MaintenanceTarget,
  now: Date,
): string | undefined => {
  for (const [index, w] of windows.entries()) {
    if (!covers(w, target)) continue;
    const until = activeUntil(w, now);
    if (until) return describeWindow(w, index, until);
  }
  return undefined;
};

/**
 * Every maintenance cron that cannot be parsed, as config problems (`alerts.maintenance.N.cron:
 * why`). Checked where config files are loaded (CLI, local mode, CDK synth) rather than in the
 * config schema, so the Lambda bundles that only read an already validated config do not carry
 * the cron parser.
 */
export const maintenanceCronProblems = (windows: readonly MaintenanceWindow[]): string[] =>
  windows.flatMap((w, i) => {
    const problem = w.cron === undefined ? undefined : cronProblem(w.cron);
    return problem ? [`alerts.maintenance.${i}.cron: ${problem}`] : [];
  });
