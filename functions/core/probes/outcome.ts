import type { ProbeCompletedDetail } from '../events.js';
import type { Failure, Verdict } from './assertions.js';

/**
 * The result shape of checks that judge themselves (multi-step, TCP, DNS), as opposed to a
 * single HTTP response that `evaluate` judges against the probe's `expect`. `runProbe` turns
 * either into the same `Probe Completed` detail.
 */

export interface StepResult {
  name: string;
  status: 'up' | 'down' | 'skipped';
  latencyMs: number;
  statusCode?: number;
  failure?: Failure;
}

export interface JudgedOutcome extends Verdict {
  latencyMs: number;
  statusCode?: number;
  /** A multi-step probe's steps, in order (a browser check's `step(name, fn)` calls). */
  steps?: StepResult[];
  /** A browser check: the page it ended on (reported instead of the config's target). */
  url?: string;
  browser?: ProbeCompletedDetail['browser'];
  artifacts?: ProbeCompletedDetail['artifacts'];
}

/** An observation has no `status` (a response has `statusCode`): only a judged outcome does. */
export const isJudged = (o: object): o is JudgedOutcome => 'status' in o;

/** The outcome of a check that ran `latencyMs` and found `failure` (or nothing wrong). */
export const judged = (
  latencyMs: number,
  failure?: Failure,
  extra: Partial<JudgedOutcome> = {},
): JudgedOutcome => ({
  status: failure ? 'down' : 'up',
  latencyMs,
  warnings: [],
  ...(failure ? { failure } : {}),
  ...extra,
});

/**
 * A failure in one line, as alerts give it: `assertion: message`, except a failure in a step
 * (multi-step or browser), whose message already names it (`step "login": expected status 200,
 * got 500`), so a prefix would only repeat it.
 */
export const failureText = (failure: Failure & { step?: string }): string =>
  failure.step !== undefined && failure.message.startsWith(`step "${failure.step}": `)
    ? failure.message
    : `${failure.assertion}: ${failure.message}`;
