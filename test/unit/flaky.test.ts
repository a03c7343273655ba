import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import {
  evaluateFlaky,
  findFlaky,
  flipStats,
  noticeDue,
  withOutcome,
} from '../../functions/core/history/flaky';
import type { TestOutcome } from '../../functions/core/history/types';

const config = parseConfig({}).history.flaky; // window 30, flipRate 0.3, minRuns 8, noticeDays 7
const ctx = { config, defaultBranch: 'main' };
const T0 = Date.parse('2026-11-01T08:00:00.000Z');
const HOUR = 3_600_000;

/** One outcome per hour; each run on its own commit unless told otherwise. */
const outcome = (
  i: number,
  status: TestOutcome['status'],
  opts: Partial<TestOutcome> = {},
): TestOutcome => ({
  runId: `r${i}`,
  at: new Date(T0 + i * HOUR).toISOString(),
  branch: 'main',
  commit: `c${i.toString(16).padStart(7, '0')}`,
  status,
  retried: false,
  durationMs: 120,
  ...opts,
});

/** A history from a status string: P passed, F failed, S skipped, R passed after retries. */
const history = (pattern: string, opts: Partial<TestOutcome> = {}): TestOutcome[] =>
  [...pattern].map((ch, i) =>
    outcome(i, ch === 'F' ? 'failed' : ch === 'S' ? 'skipped' : 'passed', {
      retried: ch === 'R',
      ...opts,
    }),
  );

describe('flaky rules over realistic histories', () => {
  it('finds a test that fails one run in four on main by its flip rate', () => {
    // Prepare
    const outcomes = history('PPPFPPPFPPPF');

    // Act
    const finding = findFlaky(outcomes, ctx);

    // Assess: 5 status changes over 11 comparisons
    expect(finding).toEqual({
      reason: 'flip-rate',
      explanation: '5 flips in 12 runs on main (flip rate 45%, threshold 30%).',
      flipRate: 0.455,
    });
  });

  it('does not call a broken (always failing) test flaky, even with Surefire reruns', () => {
    // Prepare: reruns that all failed leave retried=false
    const outcomes = history('FFFFFFFFFFFF');

    // Act
    const finding = findFlaky(outcomes, ctx);

    // Assess
    expect(finding).toBeUndefined();
    expect(flipStats(outcomes, 'main')).toEqual({ flips: 0, runs: 12, rate: 0 });
  });

  it('does not call a test flaky for being broken once and then fixed', () => {
    expect(findFlaky(history('PPPPFFFFFPPPPP'), ctx)).toBeUndefined();
  });

  it('keeps a noisy but stable history (all passes, rare skips) not flaky', () => {
    // Prepare: 30 runs, a skip every 7th run (a skip condition in CI), passes otherwise
    const outcomes = history('PPPPPPSPPPPPPSPPPPPPSPPPPPPSPP');

    // Act
    const finding = findFlaky(outcomes, ctx);

    // Assess: skips are ignored, so there is nothing to flip
    expect(finding).toBeUndefined();
    expect(flipStats(outcomes, 'main')).toEqual({ flips: 0, runs: 26, rate: 0 });
  });

  it('needs minRuns default-branch outcomes before the flip rate counts', () => {
    expect(findFlaky(history('PFPFPFP'), ctx)).toBeUndefined();
    expect(findFlaky(history('PFPFPFPF'), ctx)?.reason).toBe('flip-rate');
  });

  it('ignores other branches for the flip rate (feature work flips by nature)', () => {
    // Prepare
    const outcomes = history('PFPFPFPFPFPF', { branch: 'feature/cart' });

    // Act
    const finding = findFlaky(outcomes, ctx);

    // Assess
    expect(finding).toBeUndefined();
  });

  it('finds a test that passed and failed on one commit across two CI jobs', () => {
    // Prepare: green history, then one commit tested by two jobs that disagree
    const outcomes = [
      ...history('PPPP'),
      outcome(4, 'passed', { runId: 'job-linux', commit: 'deadbeefcafe0123', branch: 'pr-7' }),
      outcome(5, 'failed', { runId: 'job-macos', commit: 'deadbeefcafe0123', branch: 'pr-7' }),
    ];

    // Act
    const finding = findFlaky(outcomes, ctx);

    // Assess
    expect(finding).toEqual({
      reason: 'same-commit',
      explanation:
        'Passed and failed on commit deadbeefcafe: passed in job-linux, failed in job-macos.',
    });
  });

  it('does not call two failures on one commit flaky, nor a fix on the next commit', () => {
    const outcomes = [
      outcome(0, 'failed', { runId: 'a', commit: 'c1' }),
      outcome(1, 'failed', { runId: 'b', commit: 'c1' }),
      outcome(2, 'passed', { runId: 'c', commit: 'c2' }),
    ];
    expect(findFlaky(outcomes, ctx)).toBeUndefined();
  });

  it('finds a test that passed only after retries, naming the run and commit', () => {
    // Prepare
    const one = history('PPPR');
    const three = history('PRPPRPPPR');

    // Act + Assess
    expect(findFlaky(one, ctx)).toEqual({
      reason: 'retried',
      explanation: 'Passed only after a retry in run r3 (commit c0000003).',
    });
    expect(findFlaky(three, ctx)?.explanation).toBe(
      'Passed only after retries in 3 of the last 9 runs, latest r8 (commit c0000008).',
    );
    expect(findFlaky(three, ctx)?.flipRate).toBe(0); // a retried pass is a pass
  });

  it('prefers same-commit over retried over flip-rate, keeping the flip rate as context', () => {
    // Prepare: flips a lot, was retried, and disagreed with itself on one commit
    const outcomes = [
      ...history('PFPFPFPR'),
      outcome(8, 'failed', { runId: 'again', commit: 'c0000007' }),
    ];

    // Act
    const finding = findFlaky(outcomes, ctx);

    // Assess
    expect(finding?.reason).toBe('same-commit');
    expect(finding?.explanation).toBe(
      'Passed and failed on commit c0000007: passed in r7, failed in again.',
    );
    expect(finding?.flipRate).toBe(0.875); // 7 flips in 9 runs
  });

  it('names at most three runs per list', () => {
    const outcomes = ['a', 'b', 'c', 'd', 'e'].map((id, i) =>
      outcome(i, i === 4 ? 'failed' : 'passed', { runId: id, commit: 'same' }),
    );
    expect(findFlaky(outcomes, ctx)?.explanation).toBe(
      'Passed and failed on commit same: passed in b, c, d and 1 more, failed in e.',
    );
  });
});

describe('flaky state across runs', () => {
  const at = (hours: number): string => new Date(T0 + hours * HOUR).toISOString();

  it('starts an episode at the run that made the test flaky, keeping since and noticedAt', () => {
    // Prepare
    const window = history('PPPR');

    // Act
    const first = evaluateFlaky(window, undefined, { ...ctx, now: at(3) });
    const noticed = first && { ...first, noticedAt: at(3) }; // what the service writes once published
    const second = evaluateFlaky([...window, outcome(4, 'passed')], noticed, {
      ...ctx,
      now: at(4),
    });

    // Assess
    expect(first).toEqual({
      reason: 'retried',
      explanation: 'Passed only after a retry in run r3 (commit c0000003).',
      since: at(3),
    });
    expect(second).toMatchObject({ reason: 'retried', since: at(3), noticedAt: at(3) });
  });

  it('is due a notice when never announced, and again after noticeDays, never for older runs', () => {
    // Prepare
    const state = { reason: 'retried' as const, explanation: 'x', since: at(0) };
    const noticed = { ...state, noticedAt: at(24) };

    // Act + Assess
    expect(noticeDue(state, at(0), 7)).toBe(true);
    expect(noticeDue(noticed, at(24), 7)).toBe(false); // a redelivery of the announcing run
    expect(noticeDue(noticed, at(24 + 7 * 24 - 1), 7)).toBe(false);
    expect(noticeDue(noticed, at(24 + 7 * 24), 7)).toBe(true);
    expect(noticeDue(noticed, at(2), 7)).toBe(false); // a late event from before the notice
  });

  it('clears the state once the evidence leaves the window', () => {
    // Prepare: a retried pass, then 30 clean passes push it out of the 30-outcome window
    let outcomes: TestOutcome[] = [];
    let state = undefined as ReturnType<typeof evaluateFlaky>;
    const states: (string | undefined)[] = [];

    // Act
    for (const [i, o] of history(`R${'P'.repeat(30)}`).entries()) {
      outcomes = withOutcome(outcomes, o, config.window) ?? outcomes;
      state = evaluateFlaky(outcomes, state, { ...ctx, now: at(i) });
      states.push(state?.reason);
    }

    // Assess: flaky while r0 is in the window (runs 0..29), cleared at run 30
    expect(states.slice(0, 30).every((s) => s === 'retried')).toBe(true);
    expect(states[30]).toBeUndefined();
    expect(outcomes).toHaveLength(30);
    expect(outcomes[0]?.runId).toBe('r1');
  });
});

describe('outcome window', () => {
  it('appends in time order, ignores a run already recorded, and trims to the window', () => {
    // Prepare
    const base = history('PPP');
    const late = outcome(1, 'failed', {
      runId: 'r1b',
      at: new Date(T0 + 1.5 * HOUR).toISOString(),
    });

    // Act
    const inserted = withOutcome(base, late, 30);
    const again = withOutcome(base, outcome(2, 'failed'), 30);
    const trimmed = withOutcome(base, outcome(3, 'passed'), 3);
    const tooOld = withOutcome(history('PPP').slice(1), outcome(0, 'failed'), 2);

    // Assess
    expect(inserted?.map((o) => o.runId)).toEqual(['r0', 'r1', 'r1b', 'r2']);
    expect(again).toBeUndefined();
    expect(trimmed?.map((o) => o.runId)).toEqual(['r1', 'r2', 'r3']);
    expect(tooOld).toBeUndefined();
  });
});
