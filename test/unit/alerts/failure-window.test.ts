import { describe, expect, it } from 'vitest';
import {
  type AlertPolicy,
  type AlertState,
  advance,
  type Observation,
  type Transition,
} from '../../../functions/core/alerts/state';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

let seq = 0;
const obs = (ok: boolean, minutes: number): Observation => ({
  id: `evt-${++seq}`,
  checkKey: 'probe:shop/lb',
  ok,
  at: at(minutes),
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: 'Probe lb',
  ...(ok ? {} : { error: 'status: expected 200, got 502' }),
  correlationId: `corr-${seq}`,
  policy: { failureThreshold: 3, recoveryThreshold: 2 },
  tags: [],
});

const WINDOWED: AlertPolicy = {
  failureThreshold: 3,
  recoveryThreshold: 2,
  repeatMinutes: 60,
  failureWindow: { failures: 3, of: 5 },
};

/** Apply a pattern like `FPFPF` (F: failure, P: pass), one per minute. */
const run = (
  pattern: string,
  policy: AlertPolicy,
  start?: AlertState,
  from = 0,
): { transitions: Transition[]; state: AlertState | undefined } => {
  let state = start;
  const transitions = [...pattern].map((c, i) => {
    const o = obs(c === 'P', from + i);
    const t = advance(state, o, policy, new Date(o.at));
    state = t.next;
    return t;
  });
  return { transitions, state };
};

const kinds = (ts: Transition[]) => ts.map((t) => t.notify ?? '-').join(' ');

describe('failureWindow (M of the last N failed)', () => {
  it('a check failing every other time fires with the window, never without', () => {
    // Act
    const windowed = run('FPFPFPFP', WINDOWED);
    const { failureWindow: _, ...plain } = WINDOWED;
    const consecutive = run('FPFPFPFP', plain);

    // Assess: the third failure of five (minute 4) fires; without the window nothing does.
    expect(kinds(windowed.transitions)).toBe('- - - - FIRING - - -');
    expect(windowed.transitions[4]?.next).toMatchObject({
      status: 'FIRING',
      // The incident starts at the window's first failure.
      since: at(0),
    });
    expect(kinds(consecutive.transitions)).toBe('- - - - - - - -');
    expect(consecutive.state?.status).toBe('OK');
  });

  it('failures that slide out of the window no longer count', () => {
    // F P P P P F F: when the last two fail, the first is 6 results back (outside 5).
    const { transitions, state } = run('FPPPPFF', WINDOWED);
    expect(kinds(transitions)).toBe('- - - - - - -');
    expect(state?.status).toBe('PENDING');
    expect(state?.window?.map((r) => r.ok)).toEqual([true, true, true, false, false]);
  });

  it('either rule fires: consecutive failures still fire on their own', () => {
    const policy = { ...WINDOWED, failureThreshold: 2, failureWindow: { failures: 4, of: 5 } };
    expect(kinds(run('PFF', policy).transitions)).toBe('- - FIRING');
  });

  it('recovery keeps its own threshold, and the window starts over after RESOLVED', () => {
    // Prepare: fired by the window.
    const fired = run('FPFPF', WINDOWED);
    expect(fired.state?.status).toBe('FIRING');
    expect(fired.state?.window).toBeUndefined();

    // Act: one pass is not enough (recoveryThreshold 2), two resolve; then one failure.
    const after = run('PPF', WINDOWED, fired.state, 5);

    // Assess: the earlier failures do not fire again at once.
    expect(kinds(after.transitions)).toBe('- RESOLVED -');
    expect(after.state?.status).toBe('PENDING');
  });

  it('writes nothing for a pass on a healthy check whose window holds no failure', () => {
    const { state } = run('FPPPPP', WINDOWED);
    expect(state?.window).toBeUndefined();
    const version = state?.version;
    const next = advance(state, obs(true, 10), WINDOWED, new Date(at(10))).next;
    expect(next.version).toBe(version);
  });

  it('a pass that must slide a failure along is written', () => {
    const { state } = run('FP', WINDOWED);
    expect(state?.status).toBe('OK');
    expect(state?.window?.map((r) => r.ok)).toEqual([false, true]);
  });
});
