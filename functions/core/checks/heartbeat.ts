import type { HeartbeatConfig } from '../config';
import { cronNext, cronPrevious } from './cron-schedule';

/**
 * Heartbeat (cron) monitors, the pure rules: when the next ping is due, what a ping changes, and
 * what an evaluation at `now` finds (a missed run, a run longer than `maxRunSeconds`).
 *
 * - The schedule is `periodSeconds` (the next ping is due a period after the run) or `cron` in
 *   `timezone` (the next scheduled time after the run). Counting starts when Vigil first sees the
 *   heartbeat, so a job that never pings alerts too.
 * - A cron ping counts for the next scheduled time only when it comes at most `graceSeconds`
 *   (and at most half the interval) before it: a job whose clock runs a little fast is not
 *   missed, as one a little late is not. Any earlier ping (a job run by hand, a re-run) counts
 *   for the previous scheduled time, so the next scheduled run is still expected: were it
 *   to count for the next one, that run could be skipped without an alert. With
 *   `periodSeconds` every ping simply restarts the period, so an early ping only brings the next
 *   one forward.
 * - `/start` marks a run as begun: it counts for the schedule (the job did start), and the run
 *   must finish (success or `/fail`) within `maxRunSeconds` when that is set.
 * - A ping older than the latest one (pings crossing on the way) changes nothing.
 * - A missed run is reported once, however long the job stays silent; the next scheduled run
 *   that passes without a ping is reported again. The outage starts when the ping became late
 *   (expected time plus grace), not when an evaluation noticed it, so its downtime is exact.
 */

export type PingKind = 'success' | 'start' | 'fail';
export type HeartbeatOutcome = 'ok' | 'failed' | 'missed' | 'overrun';

export interface HeartbeatState {
  /** `<project>/<name>`. */
  key: string;
  /** When Vigil first saw the heartbeat: the schedule counts from here until the first ping. */
  since: string;
  /** The latest completion (success or fail) or start received. */
  lastPingAt?: string;
  lastPingKind?: PingKind;
  /** The run the schedule counts from: the start of the last run, else its completion. */
  anchorAt?: string;
  /** The open run (a `/start` not yet followed by a completion). */
  startedAt?: string;
  /** Expected time of the last run reported missed (each run is reported once). */
  missedExpectedAt?: string;
  /** Start of the last run reported as running too long. */
  overrunReportedFor?: string;
  /** Time of the last result: results of one heartbeat get increasing times. */
  lastResultAt?: string;
  /** Optimistic-concurrency version: 1 for the first write. */
  version: number;
}

export interface Ping {
  kind: PingKind;
  at: Date;
  /** The job's exit code (`?exitCode=`): non-zero is a failure. */
  exitCode?: number;
  /** What the job said (the request body of a `/fail`), already shortened. */
  message?: string;
}

export interface HeartbeatResult {
  outcome: HeartbeatOutcome;
  /** When it happened: the ping's time, or for a miss the end of the grace (not its detection). */
  at: string;
  message: string;
  /** Missed: when the ping was expected. */
  expectedAt?: string;
  lastPingAt?: string;
  /** A finished run's length, when it sent `/start`. */
  durationSeconds?: number;
  exitCode?: number;
  /** When the next ping is due (expected time plus grace), after this result. */
  nextDueAt?: string;
}

export interface Step {
  next: HeartbeatState;
  /** Whether `next` differs from the state given (and must be written). */
  changed: boolean;
  result?: HeartbeatResult;
}

type Schedule = Pick<HeartbeatConfig, 'periodSeconds' | 'cron' | 'timezone'>;

const ms = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso));
const iso = (t: number): string => new Date(t).toISOString();

/** The first scheduled time strictly after `t` (epoch ms). Throws on an unusable cron. */
export const nextRun = (schedule: Schedule, t: number): number =>
  schedule.periodSeconds !== undefined
    ? t + schedule.periodSeconds * 1000
    : cronNext(schedule.cron ?? '', schedule.timezone ?? 'UTC', t);

/** The last scheduled time at or before `t` (cron only). */
const previousRun = (schedule: Schedule, t: number): number =>
  cronPrevious(schedule.cron ?? '', schedule.timezone ?? 'UTC', t);

/**
 * When the run after one that happened at `t` is expected. A cron run counts for the coming
 * scheduled time only within the early window before it (the grace, at most half the interval,
 * so a time is never nearer the other one); otherwise for the previous one. The window is
 * bounded: a hand-run days early must not stand in for the next scheduled run.
 */
const expectedAfterRun = (schedule: Schedule, graceSeconds: number, t: number): number => {
  const next = nextRun(schedule, t);
  if (schedule.periodSeconds !== undefined) return next;
  const prev = previousRun(schedule, t);
  const early = Math.min(graceSeconds * 1000, (next - prev) / 2);
  return next - t <= early ? nextRun(schedule, next) : next;
};

/** When the next ping is expected (without grace). */
export const expectedAt = (
  schedule: Schedule & Pick<HeartbeatConfig, 'graceSeconds'>,
  state: HeartbeatState,
): number => {
  const anchor = ms(state.anchorAt);
  let expected = Number.isFinite(anchor)
    ? expectedAfterRun(schedule, schedule.graceSeconds, anchor)
    : nextRun(schedule, ms(state.since));
  const missed = ms(state.missedExpectedAt);
  if (missed >= expected) expected = nextRun(schedule, missed);
  return expected;
};

/** When the next ping is late: expected time plus grace. */
export const dueAt = (cfg: HeartbeatConfig, state: HeartbeatState): number =>
  expectedAt(cfg, state) + cfg.graceSeconds * 1000;

/** A fresh state for a heartbeat first seen at `now`. */
export const initialState = (key: string, now: Date): HeartbeatState => ({
  key,
  since: now.toISOString(),
  version: 0,
});

/** A result time after the previous result's, so the alert state machine keeps their order. */
const resultTime = (state: HeartbeatState, t: number): number =>
  Math.max(t, (ms(state.lastResultAt) || 0) + 1);

const bumped = (prev: HeartbeatState, fields: Partial<HeartbeatState>): HeartbeatState => ({
  ...prev,
  ...fields,
  version: prev.version + 1,
});

const failureMessage = (ping: Ping): string => {
  const why =
    ping.exitCode !== undefined && ping.exitCode !== 0
      ? `the job exited with code ${ping.exitCode}`
      : 'the job reported a failure';
  return ping.message ? `${why}: ${ping.message}` : why;
};

/** Apply one ping. */
export const applyPing = (cfg: HeartbeatConfig, prev: HeartbeatState, ping: Ping): Step => {
  const at = ping.at.getTime();
  // A ping older than the latest one: it crossed a newer one on the way and changes nothing.
  if (at < ms(prev.lastPingAt)) return { next: prev, changed: false };
  const atIso = iso(at);
  if (ping.kind === 'start') {
    const { overrunReportedFor: _o, ...rest } = prev;
    const next = bumped(rest, {
      lastPingAt: atIso,
      lastPingKind: 'start',
      anchorAt: atIso,
      startedAt: atIso,
    });
    return { next, changed: true };
  }
  const failed = ping.kind === 'fail' || (ping.exitCode !== undefined && ping.exitCode !== 0);
  const started = ms(prev.startedAt);
  const { startedAt: _s, missedExpectedAt, ...rest } = prev;
  const resultAt = resultTime(prev, at);
  // A run that sent /start counts from its start; otherwise from this completion. With
  // `periodSeconds` (every ping restarts the period) a run that lasted past the time the next
  // one was expected counts from its end too. A cron run keeps its start, and the runs already
  // reported missed stay reported: scheduled times it ran across are owed by their own runs.
  const fromStart =
    Number.isFinite(started) &&
    (cfg.periodSeconds === undefined || expectedAfterRun(cfg, cfg.graceSeconds, started) > at);
  const next = bumped(fromStart && missedExpectedAt ? { ...rest, missedExpectedAt } : rest, {
    lastPingAt: atIso,
    lastPingKind: failed ? 'fail' : 'success',
    anchorAt: fromStart ? iso(started) : atIso,
    lastResultAt: iso(resultAt),
  });
  const durationSeconds = Number.isFinite(started) ? Math.round((at - started) / 1000) : undefined;
  return {
    next,
    changed: true,
    result: {
      outcome: failed ? 'failed' : 'ok',
      at: iso(resultAt),
      message: failed ? failureMessage(ping) : 'the job pinged',
      lastPingAt: atIso,
      ...(durationSeconds === undefined ? {} : { durationSeconds }),
      ...(ping.exitCode === undefined ? {} : { exitCode: ping.exitCode }),
      nextDueAt: iso(dueAt(cfg, next)),
    },
  };
};

/**
 * What an evaluation at `now` finds: a run (from `/start`) over `maxRunSeconds`, else a ping
 * missing past its grace. One result at most; the state remembers what was reported.
 */
export const evaluate = (cfg: HeartbeatConfig, prev: HeartbeatState, now: Date): Step => {
  const t = now.getTime();
  const started = ms(prev.startedAt);
  if (
    cfg.maxRunSeconds !== undefined &&
    Number.isFinite(started) &&
    t > started + cfg.maxRunSeconds * 1000 &&
    prev.overrunReportedFor !== prev.startedAt
  ) {
    const at = resultTime(prev, t);
    return {
      next: bumped(prev, { overrunReportedFor: prev.startedAt, lastResultAt: iso(at) }),
      changed: true,
      result: {
        outcome: 'overrun',
        at: iso(at),
        message: `the run started at ${prev.startedAt} has not finished after ${cfg.maxRunSeconds} s (maxRunSeconds)`,
        ...(prev.lastPingAt === undefined ? {} : { lastPingAt: prev.lastPingAt }),
      },
    };
  }
  const grace = cfg.graceSeconds * 1000;
  const expected = expectedAt(cfg, prev);
  if (t <= expected + grace) return { next: prev, changed: false };
  // Report the first missed run; the later ones already past their grace are skipped over.
  const cutoff = t - grace - 1;
  const last = Math.max(
    expected,
    cfg.periodSeconds !== undefined
      ? expected +
          Math.floor((cutoff - expected) / (cfg.periodSeconds * 1000)) * cfg.periodSeconds * 1000
      : previousRun(cfg, cutoff),
  );
  // The outage began when the ping became late, not at this evaluation (up to its interval
  // later); still after the previous result, so results keep their order.
  const at = resultTime(prev, expected + grace);
  const next = bumped(prev, { missedExpectedAt: iso(last), lastResultAt: iso(at) });
  const since = prev.lastPingAt
    ? `the last ping was at ${prev.lastPingAt}`
    : `no ping since monitoring began at ${prev.since}`;
  return {
    next,
    changed: true,
    result: {
      outcome: 'missed',
      at: iso(at),
      message: `no ping by ${iso(expected + grace)} (expected at ${iso(expected)}, grace ${cfg.graceSeconds} s); ${since}`,
      expectedAt: iso(expected),
      ...(prev.lastPingAt === undefined ? {} : { lastPingAt: prev.lastPingAt }),
      nextDueAt: iso(dueAt(cfg, next)),
    },
  };
};
