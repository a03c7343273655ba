import type { HistoryConfig } from '../config';
import type { FlakyReason, FlakyState, TestOutcome } from './types';

/**
 * Flaky-test detection: pure rules over one test's window of recent outcomes (oldest first).
 *
 * - `same-commit`: one commit has both a passed and a failed outcome (two runs or two CI jobs
 *   of the same code disagree);
 * - `retried`: an outcome passed only after failing in the same run (Surefire
 *   `flakyFailure`/`flakyError`, nextest, Jest/Vitest retries);
 * - `flip-rate`: on the default branch, skipped outcomes ignored, with at least `minRuns`
 *   outcomes, status changes / (outcomes − 1) reaches `flipRate`.
 *
 * When several hold, the first in that order wins (direct evidence before statistics). A test
 * that always fails (broken) or always passes is never flaky, and a state whose evidence has
 * left the window is dropped.
 */

export type FlakyConfig = HistoryConfig['flaky'];

export interface FlakyFinding {
  reason: FlakyReason;
  /** One sentence naming the evidence (commit and runs, or the flip count). */
  explanation: string;
  /** Default-branch flip rate, when there are enough outcomes to compute it. */
  flipRate?: number;
}

export interface FlakyContext {
  config: FlakyConfig;
  defaultBranch: string;
  /** The time of the run being recorded (ISO 8601): a new episode's `since`. */
  now: string;
}

const DAY_MS = 86_400_000;
/** Run ids named in an explanation, per list. */
const MAX_RUNS_NAMED = 3;

const shortCommit = (commit: string): string => commit.slice(0, 12);

const listRuns = (runIds: readonly string[]): string => {
  const shown = runIds.slice(-MAX_RUNS_NAMED).join(', ');
  const more = runIds.length - MAX_RUNS_NAMED;
  return more > 0 ? `${shown} and ${more} more` : shown;
};

const pct = (rate: number): string => `${Math.round(rate * 100)}%`;

/** Status changes among default-branch outcomes (skipped ones ignored). */
export const flipStats = (
  outcomes: readonly TestOutcome[],
  defaultBranch: string,
): { flips: number; runs: number; rate: number } => {
  const statuses = outcomes
    .filter((o) => o.branch === defaultBranch && o.status !== 'skipped')
    .map((o) => o.status);
  let flips = 0;
  for (let i = 1; i < statuses.length; i++) if (statuses[i] !== statuses[i - 1]) flips++;
  const runs = statuses.length;
  return { flips, runs, rate: runs > 1 ? flips / (runs - 1) : 0 };
};

/** The most recent commit with both a pass and a failure, and the runs behind each. */
const sameCommit = (outcomes: readonly TestOutcome[]): string | undefined => {
  const byCommit = new Map<string, { passed: string[]; failed: string[] }>();
  for (const o of outcomes) {
    if (!o.commit || o.status === 'skipped') continue;
    const entry = byCommit.get(o.commit) ?? { passed: [], failed: [] };
    entry[o.status].push(o.runId);
    byCommit.set(o.commit, entry);
  }
  for (let i = outcomes.length - 1; i >= 0; i--) {
    const commit = outcomes[i]?.commit;
    const entry = commit ? byCommit.get(commit) : undefined;
    if (commit && entry && entry.passed.length > 0 && entry.failed.length > 0)
      return `Passed and failed on commit ${shortCommit(commit)}: passed in ${listRuns(entry.passed)}, failed in ${listRuns(entry.failed)}.`;
  }
  return undefined;
};

const retried = (outcomes: readonly TestOutcome[]): string | undefined => {
  const runs = outcomes.filter((o) => o.retried && o.status === 'passed');
  const latest = runs.at(-1);
  if (!latest) return undefined;
  const where = latest.commit ? ` (commit ${shortCommit(latest.commit)})` : '';
  return runs.length === 1
    ? `Passed only after a retry in run ${latest.runId}${where}.`
    : `Passed only after retries in ${runs.length} of the last ${outcomes.length} runs, latest ${latest.runId}${where}.`;
};

/**
 * Whether any rule could hold: each needs a pass after a retry, or both a pass and a failure.
 * Most windows have neither (a test that always passes), and this one pass is all they cost.
 */
const mixed = (outcomes: readonly TestOutcome[]): boolean => {
  let passed = false;
  let failed = false;
  for (const o of outcomes)
    if (o.status === 'passed') {
      if (o.retried) return true;
      passed = true;
    } else if (o.status === 'failed') failed = true;
  return passed && failed;
};

/** Which rule (if any) finds the test flaky in this window. */
export const findFlaky = (
  outcomes: readonly TestOutcome[],
  ctx: Pick<FlakyContext, 'config' | 'defaultBranch'>,
): FlakyFinding | undefined => {
  if (!mixed(outcomes)) return undefined;
  const flips = flipStats(outcomes, ctx.defaultBranch);
  const enough = flips.runs >= ctx.config.minRuns;
  const rate = enough ? { flipRate: Math.round(flips.rate * 1000) / 1000 } : {};
  const commit = sameCommit(outcomes);
  if (commit) return { reason: 'same-commit', explanation: commit, ...rate };
  const retry = retried(outcomes);
  if (retry) return { reason: 'retried', explanation: retry, ...rate };
  if (enough && flips.rate >= ctx.config.flipRate)
    return {
      reason: 'flip-rate',
      explanation: `${flips.flips} flips in ${flips.runs} runs on ${ctx.defaultBranch} (flip rate ${pct(flips.rate)}, threshold ${pct(ctx.config.flipRate)}).`,
      ...rate,
    };
  return undefined;
};

/**
 * Whether a flaky test is due a `Test Flaky Detected` notice for the run at `now`: never
 * announced in this episode, or announced `noticeDays` or more before. An older run than the
 * last notice is never due (a late or replayed event does not announce again). A run on an
 * alerting branch looks at the last notice from such a run only (`noticedAt`): an event from a
 * feature branch reaches no channel, so it must not stand in for the NOTICE. Other runs look
 * at both.
 */
export const noticeDue = (
  state: FlakyState,
  now: string,
  noticeDays: number,
  alerting = true,
): boolean => {
  const last = alerting ? [state.noticedAt] : [state.noticedAt, state.announcedAt];
  return last.every(
    (at) => at === undefined || Date.parse(now) - Date.parse(at) >= noticeDays * DAY_MS,
  );
};

/**
 * The flaky state after a window change: `undefined` when no rule holds (the episode ends, and
 * a later one starts afresh); otherwise the finding, with `since`, `noticedAt` and `announcedAt`
 * kept from the ongoing episode. The caller sets those two once the notice is published.
 */
export const evaluateFlaky = (
  outcomes: readonly TestOutcome[],
  previous: FlakyState | undefined,
  ctx: FlakyContext,
): FlakyState | undefined => {
  const finding = findFlaky(outcomes, ctx);
  if (!finding) return undefined;
  return {
    ...finding,
    since: previous?.since ?? ctx.now,
    ...(previous?.noticedAt === undefined ? {} : { noticedAt: previous.noticedAt }),
    ...(previous?.announcedAt === undefined ? {} : { announcedAt: previous.announcedAt }),
  };
};

/** Oldest first by time, then run id: the order the window (and the flip count) uses. */
const before = (a: TestOutcome, b: TestOutcome): boolean =>
  a.at < b.at || (a.at === b.at && a.runId < b.runId);

/**
 * The window with `outcome` inserted in time order and trimmed to the newest `size`, or
 * `undefined` when nothing changes: the run is already there (a redelivered event), or it is
 * older than every outcome of a full window.
 */
export const withOutcome = (
  outcomes: readonly TestOutcome[],
  outcome: TestOutcome,
  size: number,
): TestOutcome[] | undefined => {
  if (outcomes.some((o) => o.runId === outcome.runId)) return undefined;
  let i = outcomes.length;
  while (i > 0 && before(outcome, outcomes[i - 1] as TestOutcome)) i--;
  // The oldest that go to keep `size`; `outcome` lands at index i, so it stays when i >= drop.
  // One array (this runs for every test of every report).
  const drop = Math.max(0, outcomes.length + 1 - size);
  if (i < drop) return undefined;
  const next = outcomes.slice(drop, i);
  next.push(outcome);
  for (let j = i; j < outcomes.length; j++) next.push(outcomes[j] as TestOutcome);
  return next;
};
