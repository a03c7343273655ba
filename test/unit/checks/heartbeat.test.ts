import { beforeAll, describe, expect, it } from 'vitest';
import { cronNext, cronPrevious } from '../../../functions/core/checks/cron-schedule';
import {
  applyPing,
  dueAt,
  evaluate,
  expectedAt,
  type HeartbeatState,
  initialState,
  nextRun,
  type Ping,
} from '../../../functions/core/checks/heartbeat';
import { type HeartbeatConfig, heartbeatSchema } from '../../../functions/core/config';
import { loadCronParser } from '../../../functions/core/cron';

// The service loads it before the rules run (heartbeat-service.ts); these tests call the rules.
beforeAll(() => loadCronParser());

const hb = (input: Record<string, unknown>): HeartbeatConfig =>
  heartbeatSchema.parse({ name: 'backup', ...input });

const nightly = hb({ cron: '30 2 * * *', timezone: 'Europe/Berlin', graceSeconds: 600 });
const iso = (s: string): string => new Date(s).toISOString();
const ping = (kind: Ping['kind'], at: string, extra: Partial<Ping> = {}): Ping => ({
  kind,
  at: new Date(at),
  ...extra,
});

/** Apply pings in order, returning the final state and every result. */
const replay = (cfg: HeartbeatConfig, since: string, pings: Ping[]) => {
  let state: HeartbeatState = initialState('shop/backup', new Date(since));
  const results = [];
  for (const p of pings) {
    const step = applyPing(cfg, state, p);
    state = step.next;
    if (step.result) results.push(step.result);
  }
  return { state, results };
};

describe('heartbeat schedule across daylight-saving changes (Europe/Berlin, 02:30 local)', () => {
  it('spring forward (2026-03-29, 02:30 does not exist): the job cron runs at 03:00 CEST counts', () => {
    // Prepare: the 03-28 run pinged on time (02:30 CET = 01:30Z).
    const { state: before } = replay(nightly, '2026-03-27T12:00:00Z', [
      ping('success', '2026-03-28T01:30:05Z'),
    ]);
    // The 03-29 run is expected when the skipped hour ends, 03:00 CEST (01:00Z), as cron runs it.
    expect(new Date(expectedAt(nightly, before)).toISOString()).toBe(iso('2026-03-29T01:00:00Z'));

    // Act: the job runs then (Debian's cron), or an hour after 02:30 CET (03:30 CEST, 01:30Z).
    const { state } = replay(nightly, '2026-03-27T12:00:00Z', [
      ping('success', '2026-03-28T01:30:05Z'),
      ping('success', '2026-03-29T01:00:02Z'),
    ]);
    const shifted = replay(nightly, '2026-03-27T12:00:00Z', [
      ping('success', '2026-03-28T01:30:05Z'),
      ping('success', '2026-03-29T01:30:02Z'),
    ]).state;

    // Assess: either ping counts for the 03-29 run; the next is 03-30 02:30 CEST (00:30Z).
    expect(new Date(expectedAt(nightly, state)).toISOString()).toBe(iso('2026-03-30T00:30:00Z'));
    expect(expectedAt(nightly, shifted)).toBe(expectedAt(nightly, state));
    expect(evaluate(nightly, state, new Date('2026-03-29T01:45:00Z')).result).toBeUndefined();
    expect(evaluate(nightly, state, new Date('2026-03-30T00:39:59Z')).result).toBeUndefined();
    expect(evaluate(nightly, state, new Date('2026-03-30T00:40:01Z')).result).toMatchObject({
      outcome: 'missed',
      expectedAt: iso('2026-03-30T00:30:00Z'),
    });
  });

  it('fall back (2026-10-25, 02:30 happens twice): expected once, a second run is no harm', () => {
    // Prepare: the 10-24 run at 02:30 CEST (00:30Z).
    const first = replay(nightly, '2026-10-23T12:00:00Z', [
      ping('success', '2026-10-24T00:30:10Z'),
    ]);
    // Assess: due at the first 02:30 of 10-25 (CEST, 00:30Z), plus grace.
    expect(new Date(dueAt(nightly, first.state)).toISOString()).toBe(iso('2026-10-25T00:40:00Z'));
    expect(evaluate(nightly, first.state, new Date('2026-10-25T00:41:00Z')).result?.outcome).toBe(
      'missed',
    );

    // Act: the job runs at both 02:30s (00:30Z CEST, 01:30Z CET).
    const twice = replay(nightly, '2026-10-23T12:00:00Z', [
      ping('success', '2026-10-24T00:30:10Z'),
      ping('success', '2026-10-25T00:30:10Z'),
      ping('success', '2026-10-25T01:30:10Z'),
    ]);

    // Assess: the next run is 10-26 02:30 CET (01:30Z), 25 hours after the first.
    expect(new Date(expectedAt(nightly, twice.state)).toISOString()).toBe(
      iso('2026-10-26T01:30:00Z'),
    );
    expect(evaluate(nightly, twice.state, new Date('2026-10-26T01:39:00Z')).changed).toBe(false);
  });
});

describe('a job every 15 minutes across the autumn change (Europe/Berlin)', () => {
  const quarter = hb({ cron: '*/15 * * * *', timezone: 'Europe/Berlin', graceSeconds: 60 });

  it('runs in both passes of the repeated hour are expected, none is a false miss', () => {
    // 02:00-03:00 local happens twice on 2026-10-25: 00:00Z-01:00Z (CEST), 01:00Z-02:00Z (CET).
    let state = initialState('shop/q', new Date('2026-10-24T23:50:00Z'));
    for (let t = Date.parse('2026-10-25T00:00:00Z'); t <= Date.parse('2026-10-25T02:30:00Z'); ) {
      // Assess: no miss before each run's grace ends, and none is expected earlier than it runs.
      expect(evaluate(quarter, state, new Date(t + 59_000)).changed).toBe(false);
      state = applyPing(quarter, state, ping('success', new Date(t + 5_000).toISOString())).next;
      expect(expectedAt(quarter, state)).toBeGreaterThanOrEqual(t + 15 * 60_000);
      t += 15 * 60_000;
    }
    // After the change, runs are expected every 15 minutes again.
    expect(new Date(expectedAt(quarter, state)).toISOString()).toBe(iso('2026-10-25T02:45:00Z'));
  });
});

describe('wildcard-hour jobs across daylight-saving changes (Europe/Berlin)', () => {
  const runs = (cron: string, from: string, count: number): string[] => {
    const out: string[] = [];
    for (let t = Date.parse(from); out.length < count; ) {
      t = nextRun({ cron, timezone: 'Europe/Berlin' }, t);
      out.push(new Date(t).toISOString().slice(11, 16));
    }
    return out;
  };

  it('fall back: a */15 job runs in both passes of the repeated hour, a fixed 02:30 job once', () => {
    // 02:00-03:00 local happens twice on 2026-10-25: 00:00Z-01:00Z (CEST), 01:00Z-02:00Z (CET).
    expect(runs('*/15 * * * *', '2026-10-25T00:40:00Z', 6)).toEqual([
      '00:45',
      '01:00',
      '01:15',
      '01:30',
      '01:45',
      '02:00',
    ]);
    expect(runs('0 * * * *', '2026-10-24T23:30:00Z', 3)).toEqual(['00:00', '01:00', '02:00']);
    // A fixed time is once, even counted from inside the second pass (02:10 CET).
    expect(new Date(nextRun(nightly, Date.parse('2026-10-25T01:10:00Z'))).toISOString()).toBe(
      iso('2026-10-26T01:30:00Z'),
    );
  });

  it('fall back: a */15 job that dies in the first pass is missed in the second', () => {
    const quarter = hb({ cron: '*/15 * * * *', timezone: 'Europe/Berlin', graceSeconds: 120 });
    const { state } = replay(quarter, '2026-10-24T23:00:00Z', [
      ping('success', '2026-10-25T00:45:10Z'),
    ]);
    expect(evaluate(quarter, state, new Date('2026-10-25T01:02:00Z')).changed).toBe(false);
    expect(evaluate(quarter, state, new Date('2026-10-25T01:05:00Z')).result).toMatchObject({
      outcome: 'missed',
      expectedAt: iso('2026-10-25T01:00:00Z'),
    });
  });

  it('spring forward: a wildcard-hour job has no run in the skipped hour (cron runs none)', () => {
    // 2027-03-28: 02:00 CET (01:00Z) becomes 03:00 CEST. An hourly :30 job runs at 01:30 CET
    // (00:30Z) and 03:30 CEST (01:30Z); 02:30 does not exist and is not expected at 03:00.
    expect(runs('30 * * * *', '2027-03-27T23:40:00Z', 3)).toEqual(['00:30', '01:30', '02:30']);
    const hourly = hb({ cron: '30 * * * *', timezone: 'Europe/Berlin', graceSeconds: 300 });
    const { state } = replay(hourly, '2027-03-27T23:00:00Z', [
      ping('success', '2027-03-28T00:30:05Z'),
    ]);
    expect(evaluate(hourly, state, new Date('2027-03-28T01:10:00Z')).changed).toBe(false);
    expect(new Date(expectedAt(hourly, state)).toISOString()).toBe(iso('2027-03-28T01:30:00Z'));
  });
});

describe('pings early, late, twice, out of order', () => {
  const hourly = hb({ cron: '0 * * * *', graceSeconds: 120 });

  it('a ping a little early counts for the coming run, not for the one after', () => {
    const { state } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('success', '2026-05-01T09:59:40Z'),
    ]);
    expect(new Date(expectedAt(hourly, state)).toISOString()).toBe(iso('2026-05-01T11:00:00Z'));
  });

  it('a ping more than the grace early counts for the previous run: the next is still due', () => {
    // 3 minutes early with 2 minutes of grace: a run by hand, not the 11:00 run.
    const { state } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('success', '2026-05-01T10:57:00Z'),
    ]);
    expect(new Date(expectedAt(hourly, state)).toISOString()).toBe(iso('2026-05-01T11:00:00Z'));
  });

  it("a weekly job run by hand on Friday does not stand in for Monday's run", () => {
    const weekly = hb({ cron: '0 3 * * MON', graceSeconds: 600 });
    const { state } = replay(weekly, '2026-11-30T03:00:00Z', [
      ping('success', '2026-11-30T03:05:00Z'),
      ping('success', '2026-12-04T00:00:00Z'),
    ]);
    expect(evaluate(weekly, state, new Date('2026-12-07T04:00:00Z')).result).toMatchObject({
      outcome: 'missed',
      expectedAt: iso('2026-12-07T03:00:00Z'),
    });
  });

  it("a daily job re-run in the afternoon still owes the next night's run", () => {
    const daily = hb({ cron: '0 2 * * *', graceSeconds: 300 });
    const { state } = replay(daily, '2026-12-01T00:00:00Z', [
      ping('success', '2026-12-01T02:00:30Z'),
      ping('success', '2026-12-01T14:30:00Z'),
    ]);
    expect(new Date(dueAt(daily, state)).toISOString()).toBe(iso('2026-12-02T02:05:00Z'));
  });

  it('the early window is at most half the interval, whatever the grace', () => {
    // Every 10 minutes with an hour of grace: 4 minutes before 10:10 counts for it, 6 do not.
    const often = hb({ cron: '*/10 * * * *', graceSeconds: 3600 });
    const at = (p: string) =>
      new Date(
        expectedAt(often, replay(often, '2026-05-01T09:30:00Z', [ping('success', p)]).state),
      ).toISOString();
    expect(at('2026-05-01T10:06:00Z')).toBe(iso('2026-05-01T10:20:00Z'));
    expect(at('2026-05-01T10:04:00Z')).toBe(iso('2026-05-01T10:10:00Z'));
  });

  it('with periodSeconds an early ping restarts the period from itself', () => {
    const every10 = hb({ periodSeconds: 600, graceSeconds: 60 });
    const { state } = replay(every10, '2026-05-01T10:00:00Z', [
      ping('success', '2026-05-01T10:02:00Z'),
    ]);
    expect(new Date(expectedAt(every10, state)).toISOString()).toBe(iso('2026-05-01T10:12:00Z'));
  });

  it('a missed run is down from the end of its grace, not from when it was noticed', () => {
    const { state } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('success', '2026-05-01T10:00:30Z'),
    ]);
    // Noticed 58 s late (AWS evaluates once a minute): the outage still starts at 11:02:00.
    const late = evaluate(hourly, state, new Date('2026-05-01T11:02:58Z'));
    expect(late.result?.at).toBe(iso('2026-05-01T11:02:00Z'));
    expect(late.next.lastResultAt).toBe(iso('2026-05-01T11:02:00Z'));
    // Never before an earlier result of the heartbeat: results keep their order.
    const later = { ...state, lastResultAt: iso('2026-05-01T11:02:30Z') };
    expect(evaluate(hourly, later, new Date('2026-05-01T11:02:58Z')).result?.at).toBe(
      iso('2026-05-01T11:02:30.001Z'),
    );
  });

  it('a late ping within grace is no miss; past grace is one miss, reported once', () => {
    // Prepare
    const { state } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('success', '2026-05-01T10:00:30Z'),
    ]);

    // Act
    const inGrace = evaluate(hourly, state, new Date('2026-05-01T11:01:59Z'));
    const late = evaluate(hourly, state, new Date('2026-05-01T11:02:01Z'));
    const again = evaluate(hourly, late.next, new Date('2026-05-01T11:30:00Z'));
    const nextRun = evaluate(hourly, late.next, new Date('2026-05-01T12:02:01Z'));

    // Assess
    expect(inGrace.changed).toBe(false);
    expect(late.result).toMatchObject({
      outcome: 'missed',
      expectedAt: iso('2026-05-01T11:00:00Z'),
      lastPingAt: iso('2026-05-01T10:00:30Z'),
      nextDueAt: iso('2026-05-01T12:02:00Z'),
    });
    expect(late.result?.message).toContain('no ping by 2026-05-01T11:02:00.000Z');
    expect(again.changed).toBe(false);
    expect(nextRun.result).toMatchObject({
      outcome: 'missed',
      expectedAt: iso('2026-05-01T12:00:00Z'),
    });
  });

  it('a job silent for days is reported once, then per run after that', () => {
    const { state } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('success', '2026-05-01T10:00:00Z'),
    ]);
    const late = evaluate(hourly, state, new Date('2026-05-04T10:30:00Z'));
    expect(late.result?.expectedAt).toBe(iso('2026-05-01T11:00:00Z'));
    expect(late.next.missedExpectedAt).toBe(iso('2026-05-04T10:00:00Z'));
    expect(evaluate(hourly, late.next, new Date('2026-05-04T10:59:00Z')).changed).toBe(false);
    expect(evaluate(hourly, late.next, new Date('2026-05-04T11:02:01Z')).result?.outcome).toBe(
      'missed',
    );
  });

  it('the late ping after a miss resolves and restarts the schedule from it', () => {
    const { state } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('success', '2026-05-01T10:00:00Z'),
    ]);
    const late = evaluate(hourly, state, new Date('2026-05-01T11:05:00Z'));
    const resolved = applyPing(hourly, late.next, ping('success', '2026-05-01T11:10:00Z'));
    expect(resolved.result?.outcome).toBe('ok');
    expect((resolved.result?.at ?? '') > (late.result?.at ?? '')).toBe(true);
    expect(resolved.result?.nextDueAt).toBe(iso('2026-05-01T12:02:00Z'));
  });

  it('a second ping for the same run changes nothing about the schedule', () => {
    const once = replay(hourly, '2026-05-01T09:30:00Z', [ping('success', '2026-05-01T10:00:01Z')]);
    const twice = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('success', '2026-05-01T10:00:01Z'),
      ping('success', '2026-05-01T10:00:03Z'),
    ]);
    expect(twice.results.map((r) => r.outcome)).toEqual(['ok', 'ok']);
    expect(expectedAt(hourly, twice.state)).toBe(expectedAt(hourly, once.state));
  });

  it('a ping older than the latest one (crossed on the way) changes nothing', () => {
    const { state } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('fail', '2026-05-01T10:00:05Z', { exitCode: 3 }),
    ]);
    const older = applyPing(hourly, state, ping('success', '2026-05-01T10:00:01Z'));
    const olderStart = applyPing(hourly, state, ping('start', '2026-05-01T09:59:59Z'));
    expect(older).toEqual({ next: state, changed: false });
    expect(olderStart).toEqual({ next: state, changed: false });
  });

  it('results of one heartbeat get increasing times, even at the same instant', () => {
    const { results } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('success', '2026-05-01T10:00:00Z'),
      ping('fail', '2026-05-01T10:00:00Z'),
    ]);
    expect(results.map((r) => r.at)).toEqual([
      '2026-05-01T10:00:00.000Z',
      '2026-05-01T10:00:00.001Z',
    ]);
  });

  it('counts from when it was first seen: a job that never pings is missed', () => {
    const every10 = hb({ periodSeconds: 600, graceSeconds: 60 });
    const fresh = initialState('shop/backup', new Date('2026-05-01T10:00:00Z'));
    expect(evaluate(every10, fresh, new Date('2026-05-01T10:11:00Z')).changed).toBe(false);
    expect(evaluate(every10, fresh, new Date('2026-05-01T10:11:01Z')).result?.message).toContain(
      'no ping since monitoring began at 2026-05-01T10:00:00.000Z',
    );
  });
});

describe('failures and run time', () => {
  const job = hb({ periodSeconds: 3600, graceSeconds: 300, maxRunSeconds: 600 });

  it('/fail and a non-zero exitCode fail at once, with what the job said', () => {
    const { results } = replay(job, '2026-05-01T09:00:00Z', [
      ping('fail', '2026-05-01T10:00:00Z', { message: 'disk full' }),
      ping('success', '2026-05-01T11:00:00Z', { exitCode: 2 }),
      ping('success', '2026-05-01T12:00:00Z', { exitCode: 0 }),
    ]);
    expect(results.map((r) => [r.outcome, r.message, r.exitCode])).toEqual([
      ['failed', 'the job reported a failure: disk full', undefined],
      ['failed', 'the job exited with code 2', 2],
      ['ok', 'the job pinged', 0],
    ]);
  });

  it('a run over maxRunSeconds fails once; its completion reports the duration', () => {
    // Prepare
    const { state } = replay(job, '2026-05-01T09:00:00Z', [ping('start', '2026-05-01T10:00:00Z')]);

    // Act
    const within = evaluate(job, state, new Date('2026-05-01T10:10:00Z'));
    const over = evaluate(job, state, new Date('2026-05-01T10:10:01Z'));
    const overAgain = evaluate(job, over.next, new Date('2026-05-01T10:20:00Z'));
    const done = applyPing(job, over.next, ping('success', '2026-05-01T10:25:00Z'));

    // Assess
    expect(within.changed).toBe(false);
    expect(over.result).toMatchObject({ outcome: 'overrun' });
    expect(over.result?.message).toContain('has not finished after 600 s');
    expect(overAgain.changed).toBe(false);
    expect(done.result).toMatchObject({ outcome: 'ok', durationSeconds: 1500 });
    // The schedule counts from the run's start.
    expect(done.result?.nextDueAt).toBe(iso('2026-05-01T11:05:00Z'));
  });

  it('a run that outlasts its period counts from its end: its completion is not followed by a miss', () => {
    // Prepare: every 20 s, 5 s grace, at most 10 s a run; a run of 80 s
    const short = hb({ periodSeconds: 20, graceSeconds: 5, maxRunSeconds: 10 });
    const { state } = replay(short, '2026-05-01T09:59:00Z', [
      ping('start', '2026-05-01T10:00:00Z'),
    ]);
    const over = evaluate(short, state, new Date('2026-05-01T10:00:11Z'));

    // Act
    const done = applyPing(short, over.next, ping('success', '2026-05-01T10:01:20Z'));
    const justAfter = evaluate(short, done.next, new Date('2026-05-01T10:01:21Z'));
    const late = evaluate(short, done.next, new Date('2026-05-01T10:01:46Z'));

    // Assess
    expect(over.result?.outcome).toBe('overrun');
    expect(done.result).toMatchObject({
      outcome: 'ok',
      durationSeconds: 80,
      nextDueAt: iso('2026-05-01T10:01:45Z'),
    });
    expect(justAfter.changed).toBe(false);
    expect(late.result).toMatchObject({
      outcome: 'missed',
      expectedAt: iso('2026-05-01T10:01:40Z'),
    });
  });

  it('a cron run keeps its start: a hand run across a scheduled time does not stand in for it', () => {
    // Prepare: hourly at :00, 60 s grace; run by hand from 09:55 to 10:01:30, no 10:00 run
    const hourly = hb({ cron: '0 * * * *', graceSeconds: 60 });
    const { state, results } = replay(hourly, '2026-05-01T09:00:30Z', [
      ping('start', '2026-05-01T09:55:00Z'),
      ping('success', '2026-05-01T10:01:30Z'),
    ]);

    // Act
    const later = evaluate(hourly, state, new Date('2026-05-01T10:01:31Z'));

    // Assess: the 10:00 run is owed (and missed)
    expect(results.at(-1)?.nextDueAt).toBe(iso('2026-05-01T10:01:00Z'));
    expect(later.result).toMatchObject({
      outcome: 'missed',
      expectedAt: iso('2026-05-01T10:00:00Z'),
    });
  });

  it('a cron run across its next time: a miss reported while it ran is not reported again after it', () => {
    // Prepare: hourly at :00, 60 s grace; the 10:00 run lasts until 11:30, so 11:00 is missed
    const hourly = hb({ cron: '0 * * * *', graceSeconds: 60 });
    const { state } = replay(hourly, '2026-05-01T09:30:00Z', [
      ping('start', '2026-05-01T10:00:00Z'),
    ]);
    const during = evaluate(hourly, state, new Date('2026-05-01T11:01:01Z'));

    // Act
    const done = applyPing(hourly, during.next, ping('success', '2026-05-01T11:30:00Z'));
    const after = evaluate(hourly, done.next, new Date('2026-05-01T11:31:00Z'));

    // Assess: 11:00 reported once; 12:00 is next
    expect(during.result).toMatchObject({
      outcome: 'missed',
      expectedAt: iso('2026-05-01T11:00:00Z'),
    });
    expect(done.result?.nextDueAt).toBe(iso('2026-05-01T12:01:00Z'));
    expect(after.changed).toBe(false);
  });

  it('a started run counts for the schedule: a long job is not missed while it runs', () => {
    const noLimit = hb({ periodSeconds: 3600, graceSeconds: 60 });
    const { state } = replay(noLimit, '2026-05-01T09:00:00Z', [
      ping('success', '2026-05-01T09:00:00Z'),
      ping('start', '2026-05-01T10:00:00Z'),
    ]);
    expect(evaluate(noLimit, state, new Date('2026-05-01T10:30:00Z')).changed).toBe(false);
    expect(evaluate(noLimit, state, new Date('2026-05-01T11:01:01Z')).result?.outcome).toBe(
      'missed',
    );
  });
});

describe('cron times next to the autumn change, from either pass (Europe/Berlin)', () => {
  const berlin = 'Europe/Berlin';
  const at = (s: string) => Date.parse(s);

  it('the run before a time in the second pass is the end of the first when none came since', () => {
    // 02:10 and 02:50 run in both passes; at 02:05 CET (01:05Z) the last run was 02:50 CEST.
    expect(
      new Date(cronPrevious('10,50 * * * *', berlin, at('2026-10-25T01:05:00Z'))).toISOString(),
    ).toBe('2026-10-25T00:50:00.000Z');
    expect(
      new Date(cronNext('10,50 * * * *', berlin, at('2026-10-25T00:55:00Z'))).toISOString(),
    ).toBe('2026-10-25T01:10:00.000Z');
  });

  it('@hourly follows the clock, @daily runs once', () => {
    expect(new Date(cronNext('@hourly', berlin, at('2026-10-25T00:30:00Z'))).toISOString()).toBe(
      '2026-10-25T01:00:00.000Z',
    );
    expect(new Date(cronNext('@daily', berlin, at('2026-10-24T23:00:00Z'))).toISOString()).toBe(
      '2026-10-25T23:00:00.000Z',
    );
  });
});
