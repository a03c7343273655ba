import { describe, expect, it } from 'vitest';
import {
  type AlertPolicy,
  type AlertState,
  advance,
  incidentIdFor,
  type Observation,
  retire,
  type Transition,
} from '../../../functions/core/alerts/state';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

let seq = 0;
const obs = (ok: boolean, minutes: number, overrides: Partial<Observation> = {}): Observation => ({
  id: `evt-${++seq}`,
  checkKey: 'probe:shop/checkout-api',
  ok,
  at: at(minutes),
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: 'Probe checkout-api',
  ...(ok ? {} : { error: 'status: expected 200, got 503' }),
  correlationId: `corr-${seq}`,
  policy: { failureThreshold: 2, recoveryThreshold: 1 },
  tags: ['checkout'],
  probe: 'checkout-api',
  ...overrides,
});

const POLICY: AlertPolicy = { failureThreshold: 2, recoveryThreshold: 1, repeatMinutes: 60 };

/** Apply observations in order; returns every transition. */
const run = (
  observations: Observation[],
  policy: AlertPolicy = POLICY,
  start?: AlertState,
  suppressed: (o: Observation) => boolean = () => false,
): Transition[] => {
  let state = start;
  return observations.map((o) => {
    const t = advance(state, o, policy, new Date(o.at), { suppressed: suppressed(o) });
    state = t.next;
    return t;
  });
};

const kinds = (ts: Transition[]): (string | undefined)[] => ts.map((t) => t.notify);

describe('advance', () => {
  it('dates an observation with an unreadable time at the moment it is applied', () => {
    // Prepare
    const now = new Date(T0 + 5 * 60_000);

    // Act
    const t = advance(undefined, obs(false, 0, { at: 'yesterday' }), POLICY, now);

    // Assess
    expect(t.next).toMatchObject({ status: 'PENDING', since: at(5), lastObservedAt: at(5) });
  });

  it('goes OK → PENDING → FIRING after failureThreshold consecutive failures', () => {
    // Prepare
    const observations = [obs(false, 0), obs(false, 1)];

    // Act
    const [first, second] = run(observations);

    // Assess
    expect(first?.next).toMatchObject({ status: 'PENDING', consecutiveFailures: 1, since: at(0) });
    expect(first?.notify).toBeUndefined();
    expect(second?.notify).toBe('FIRING');
    expect(second?.next).toMatchObject({
      status: 'FIRING',
      consecutiveFailures: 2,
      since: at(0),
      incidentId: incidentIdFor('probe:shop/checkout-api', at(0)),
      lastError: 'status: expected 200, got 503',
      announced: true,
      version: 2,
    });
  });

  it('fires at once with failureThreshold 1 (test runs, gates, alarms)', () => {
    // Prepare
    const policy = { ...POLICY, failureThreshold: 1 };

    // Act
    const [t] = run([obs(false, 0)], policy);

    // Assess
    expect(t?.notify).toBe('FIRING');
    expect(t?.next.status).toBe('FIRING');
  });

  it('sends one FIRING per incident, not one per failed check', () => {
    // Prepare
    const observations = [0, 1, 2, 3, 4, 5, 6].map((m) => obs(false, m));

    // Act
    const ts = run(observations);

    // Assess
    expect(kinds(ts).filter(Boolean)).toEqual(['FIRING']);
    expect(ts.at(-1)?.next.consecutiveFailures).toBe(7);
  });

  it('sends a REMINDER once repeatMinutes have passed since the last notification', () => {
    // Prepare: FIRING at minute 1
    const observations = [0, 1, 30, 60, 61, 62, 121].map((m) => obs(false, m));

    // Act
    const ts = run(observations);

    // Assess
    expect(kinds(ts)).toEqual([
      undefined,
      'FIRING',
      undefined,
      undefined,
      'REMINDER',
      undefined,
      'REMINDER',
    ]);
    expect(ts[4]?.next.lastNotifiedAt).toBe(at(61));
  });

  it('resolves with the downtime from the first failure to the first success', () => {
    // Prepare
    const observations = [obs(false, 0), obs(false, 1), obs(false, 5), obs(true, 12.5)];

    // Act
    const ts = run(observations);
    const resolved = ts.at(-1);

    // Assess
    expect(resolved?.notify).toBe('RESOLVED');
    expect(resolved?.next.status).toBe('OK');
    expect(resolved?.next.incidentId).toBeUndefined();
    expect(resolved?.next.lastResolved).toEqual({
      incidentId: incidentIdFor('probe:shop/checkout-api', at(0)),
      since: at(0),
      resolvedAt: at(12.5),
      downtimeSeconds: 750,
      lastError: 'status: expected 200, got 503',
    });
  });

  it('needs recoveryThreshold consecutive successes to resolve; a failure in between resets', () => {
    // Prepare
    const policy = { ...POLICY, recoveryThreshold: 2 };
    const observations = [
      obs(false, 0),
      obs(false, 1), // FIRING
      obs(true, 2),
      obs(false, 3), // back to counting
      obs(true, 4),
      obs(true, 5), // RESOLVED
    ];

    // Act
    const ts = run(observations, policy);

    // Assess
    expect(kinds(ts)).toEqual([undefined, 'FIRING', undefined, undefined, undefined, 'RESOLVED']);
    expect(ts[2]?.next).toMatchObject({ status: 'FIRING', consecutiveSuccesses: 1 });
    expect(ts[3]?.next).toMatchObject({ status: 'FIRING', consecutiveSuccesses: 0 });
  });

  it('never fires for a flapping check (fail/pass/fail/pass with failureThreshold 2)', () => {
    // Prepare
    const observations = Array.from({ length: 20 }, (_, i) => obs(i % 2 === 1, i));

    // Act
    const ts = run(observations);

    // Assess
    expect(kinds(ts).filter(Boolean)).toEqual([]);
    expect(ts.map((t) => t.next.status)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'PENDING' : 'OK')),
    );
  });

  it('needs failureThreshold failures again after RESOLVED, and opens a new incident', () => {
    // Prepare
    const observations = [
      obs(false, 0),
      obs(false, 1), // FIRING #1
      obs(true, 2), // RESOLVED
      obs(false, 3), // PENDING only
      obs(true, 4),
      obs(false, 5),
      obs(false, 6), // FIRING #2
    ];

    // Act
    const ts = run(observations);

    // Assess
    expect(kinds(ts)).toEqual([
      undefined,
      'FIRING',
      'RESOLVED',
      undefined,
      undefined,
      undefined,
      'FIRING',
    ]);
    const first = ts[1]?.next.incidentId;
    const second = ts[6]?.next.incidentId;
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(ts[6]?.next.since).toBe(at(5));
  });

  it('ignores a redelivered event and an observation older than the last one applied', () => {
    // Prepare
    const first = obs(false, 5);
    const [t1] = run([first]);
    const state = t1?.next;

    // Act
    const redelivered = advance(state, { ...first }, POLICY, new Date(at(6)));
    const stale = advance(state, obs(false, 4), POLICY, new Date(at(6)));

    // Assess
    expect(redelivered.next).toBe(state);
    expect(stale.next).toBe(state);
    expect(redelivered.notify).toBeUndefined();
  });

  it('keeps a FIRING suppressed by maintenance owed, and sends it once the window is over', () => {
    // Prepare: suppressed during minutes 0-10
    const observations = [0, 1, 2, 3, 11, 12].map((m) => obs(false, m));

    // Act
    const ts = run(observations, POLICY, undefined, (o) => Date.parse(o.at) < T0 + 10 * 60_000);

    // Assess
    expect(kinds(ts)).toEqual([undefined, 'FIRING', undefined, undefined, 'FIRING', undefined]);
    expect(ts[1]?.withheld).toBe('maintenance');
    expect(ts[1]?.next.announced).toBe(false);
    expect(ts[4]?.withheld).toBeUndefined();
    expect(ts[4]?.next).toMatchObject({ announced: true, since: at(0) });
  });

  it('records a suppressed REMINDER once per period and withholds the RESOLVED of an unannounced incident', () => {
    // Prepare
    const always = () => true;
    const observations = [obs(false, 0), obs(false, 1), obs(true, 2)];

    // Act
    const ts = run(observations, POLICY, undefined, always);
    const reminders = run(
      [0, 1, 61, 62].map((m) => obs(false, m)),
      POLICY,
      undefined,
      (o) => o.at === at(61) || o.at === at(62),
    );

    // Assess
    expect(kinds(ts)).toEqual([undefined, 'FIRING', 'RESOLVED']);
    expect(ts[2]?.withheld).toBe('unannounced');
    expect(kinds(reminders)).toEqual([undefined, 'FIRING', 'REMINDER', undefined]);
    expect(reminders[2]?.withheld).toBe('maintenance');
  });

  it('changes nothing for a success on a healthy (or never seen) check', () => {
    // Prepare
    const [pending] = run([obs(false, 0)]);
    const [recovered] = run([obs(true, 1)], POLICY, pending?.next);

    // Act
    const fresh = advance(undefined, obs(true, 2), POLICY, new Date(at(2)));
    const again = advance(recovered?.next, obs(true, 3), POLICY, new Date(at(3)));

    // Assess
    expect(fresh.next.version).toBe(0);
    expect(fresh.notify).toBeUndefined();
    expect(recovered?.next).toMatchObject({ status: 'OK', version: 2 });
    expect(again.next).toBe(recovered?.next);
  });

  it('follows the latest observation for the descriptive fields', () => {
    // Prepare
    const [t1] = run([
      obs(false, 0, { runbookUrl: 'https://runbooks.example.com/a', target: 'GET x' }),
    ]);

    // Act
    const t2 = advance(t1?.next, obs(false, 1, { severity: 'warning' }), POLICY, new Date(at(1)));

    // Assess
    expect(t2.next.severity).toBe('warning');
    expect(t2.next.runbookUrl).toBeUndefined();
    expect(t2.next.target).toBeUndefined();
  });
});

describe('retire: a check the config no longer names', () => {
  /** The state after `pattern` (F: failure, P: pass), one observation a minute from minute 0. */
  const stateAfter = (pattern: string, suppressed = false): AlertState => {
    let state: AlertState | undefined;
    [...pattern].forEach((c, i) => {
      const o = obs(c === 'P', i);
      state = advance(state, o, POLICY, new Date(o.at), { suppressed }).next;
    });
    return state as AlertState;
  };
  const now = new Date(at(10));

  it('closes a FIRING incident with a RESOLVED counting the downtime up to now', () => {
    const firing = stateAfter('FF');
    const t = retire(firing, now);
    expect(t.notify).toBe('RESOLVED');
    expect(t.withheld).toBeUndefined();
    expect(t.next).toMatchObject({
      status: 'OK',
      consecutiveFailures: 0,
      version: firing.version + 1,
      lastResolved: {
        incidentId: firing.incidentId,
        since: firing.since,
        downtimeSeconds: 10 * 60, // since the first failure
        lastError: 'status: expected 200, got 503',
      },
    });
  });

  it('sends back a PENDING check to OK without a message, and leaves an OK one as it is', () => {
    const pending = stateAfter('F');
    expect(pending.status).toBe('PENDING');
    const t = retire(pending, now);
    expect(t).toEqual({ next: expect.objectContaining({ status: 'OK' }) });
    const ok = stateAfter('FFP');
    expect(retire(ok, now)).toEqual({ next: ok });
  });

  it('withholds the RESOLVED under a maintenance window, and of an incident never announced', () => {
    expect(retire(stateAfter('FF'), now, { suppressed: true }).withheld).toBe('maintenance');
    const unannounced = stateAfter('FF', true);
    expect(unannounced.announced).toBe(false);
    expect(retire(unannounced, now).withheld).toBe('unannounced');
  });
});
