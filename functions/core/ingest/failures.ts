import type { Quarantine } from '../config';
import type { ParsedReport, TestCase } from '../formats/types';
import { findQuarantine } from '../history/quarantine';
import { testId } from '../history/types';

/**
 * What the ingest answer says about the tests that failed or were flaky, so a CI client can
 * name them (CLI output, job summary, annotations, pull request comment). Bounded: the answer
 * stays small whatever the report holds; `more*` say how many were left out.
 */

/** At most this many failed (and, separately, flaky) tests are listed in an answer. */
export const MAX_FAILURES_IN_ANSWER = 50;

export interface FailedTest {
  suite: string;
  classname: string;
  name: string;
  /** First line of the failure message (already capped by the parser). */
  message?: string;
  /** Source file, when the report names one (JUnit `file`, Jest/Vitest test file, a stack frame). */
  file?: string;
  /** 1-based line in `file`: the failure's when the report says, else the test's. */
  line?: number;
  /** A failure under an active quarantine (it does not fail the gate): whose, until when. */
  quarantined?: { owner: string; expires: string };
}

export interface Failures {
  failed: FailedTest[];
  /** Failed tests not listed. */
  moreFailed: number;
  flaky: FailedTest[];
  /** Flaky tests not listed. */
  moreFlaky: number;
}

const entry = (c: TestCase, withMessage: boolean): FailedTest => ({
  suite: c.suite.slice(0, 256),
  classname: c.classname.slice(0, 256),
  name: c.name.slice(0, 512),
  ...(withMessage && c.message ? { message: c.message } : {}),
  ...(c.file ? { file: c.file.slice(0, 512) } : {}),
  ...(c.file && c.line !== undefined ? { line: c.line } : {}),
});

/**
 * The failed and flaky tests of a test report; undefined for other kinds. A failure under a
 * quarantine in force at `now` says so, as the gate does not count it.
 */
export const failuresOf = (
  report: ParsedReport,
  quarantine: readonly Quarantine[] = [],
  now = new Date(),
  max = MAX_FAILURES_IN_ANSWER,
): Failures | undefined => {
  if (report.kind !== 'tests') return undefined;
  const failed = report.cases.filter((c) => c.status === 'failed');
  const flaky = report.cases.filter((c) => c.flaky && c.status !== 'failed');
  const failure = (c: TestCase): FailedTest => {
    const match = quarantine.length > 0 ? findQuarantine(quarantine, testId(c), now) : undefined;
    return match && !match.expired
      ? {
          ...entry(c, true),
          quarantined: { owner: match.entry.owner, expires: match.entry.expires },
        }
      : entry(c, true);
  };
  return {
    failed: failed.slice(0, max).map(failure),
    moreFailed: Math.max(0, failed.length - max),
    flaky: flaky.slice(0, max).map((c) => entry(c, false)),
    moreFlaky: Math.max(0, flaky.length - max),
  };
};
