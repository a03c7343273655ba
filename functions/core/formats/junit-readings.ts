import type { TestCase } from './types';

/**
 * How JUnit dialects are read where the elements alone mislead (see docs/tool-counts.md): the
 * rules the JUnit model applies after reading every `<testcase>`. Pure functions over the cases.
 */

/** Error types PHPUnit writes for tests that did not run (incomplete, and in old versions skipped). */
export const PHPUNIT_NOT_FAILED = /\\(?:Incomplete|Skipped)Test(?:Error)?$/;
/**
 * Error types PHPUnit 9 writes for risky tests: RiskyTestError's subclasses, and OutputError
 * (`beStrictAboutOutputDuringTests`), which it counts as risky too.
 */
export const PHPUNIT_RISKY =
  /\\(?:RiskyTest(?:Error)?|MissingCoversAnnotationException|CoveredCodeNotExecutedException|UnintentionallyCoveredCodeError|OutputError)$/;

/** `status` values (ctest and others) of test cases that did not run. */
export const NOT_RUN = /^(?:disabled|notrun|not ?run|skipped|ignored)$/i;
/**
 * The <skipped> messages of ctest's `notrun` tests that it skipped (`SKIP_RETURN_CODE=77`,
 * `SKIP_REGULAR_EXPRESSION_MATCHED`). Any other reason ("Unable to find executable", "Required
 * Files Missing", "Fixture dependency failed"...) is a test it could not run: ctest counts it
 * as failed.
 */
export const CTEST_SKIPPED = /^SKIP_/;

/** node:test's closing comments: `<!-- tests 13 -->`, `<!-- pass 8 -->`... */
export const NODE_COUNT = /^\s*(tests|pass|fail|cancelled|skipped|todo)\s+(\d{1,9})\s*$/;
/** node:test's closing comment with the run's wall time: `<!-- duration_ms 1312.019533 -->`. */
export const NODE_DURATION = /^\s*duration_ms\s+(\d{1,12}(?:\.\d{1,9})?)\s*$/;

/** Names for messages: at most `max`, then how many more. */
export const someNames = (names: readonly string[], max = 3): string => {
  const shown = names.slice(0, max).map((n) => `"${n.length > 80 ? `${n.slice(0, 79)}…` : n}"`);
  return names.length > max
    ? `${shown.join(', ')} and ${names.length - max} more`
    : shown.join(', ');
};

/**
 * Two attempts of one test as one, `a` (the attempts so far) before `b` in the file: a rerun
 * follows a failure, so the later attempt decides (a skipped one decides nothing), and the test
 * is flaky when it passed after a failed attempt. A pass followed by a failure is a failure, not
 * a flaky pass. With `repeats` (runs of `go test -count`, not reruns), failed if any run failed.
 */
const mergeAttempt = (a: TestCase, b: TestCase, repeats: boolean): TestCase => {
  const merged: TestCase = {
    ...a,
    retries: a.retries + b.retries + 1,
    durationMs: a.durationMs + b.durationMs,
  };
  const failed = repeats
    ? a.status === 'failed' || b.status === 'failed'
    : b.status === 'failed' || (b.status === 'skipped' && a.status === 'failed');
  if ((a.status === 'passed' || b.status === 'passed') && !failed) {
    merged.status = 'passed';
    merged.flaky = a.flaky || b.flaky || a.status === 'failed' || b.status === 'failed';
    delete merged.message;
  } else if (failed) {
    merged.status = 'failed';
    merged.flaky = false;
    const message = a.status === 'failed' ? a.message : b.message;
    if (message === undefined) delete merged.message;
    else merged.message = message;
  }
  if (merged.file === undefined && b.file !== undefined) merged.file = b.file;
  return merged;
};

/**
 * What shows that a report writes each attempt of a retried test as a test case of its own:
 * `go` for gotestsum (`--rerun-fails`; `go test -count` repeats tests too), `reruns` for another
 * producer that labels its attempts (fastlane trainer's `repetition` property).
 */
export type RerunEvidence = 'go' | 'reruns';

/**
 * Test cases repeated with the same classname and name in one `<testsuite>` element, as attempts
 * of one test where the report shows that it writes reruns so: for all groups when the declared
 * `tests` count is the number of distinct tests (fastlane trainer), and with `evidence`, for a
 * group where one copy failed (a rerun follows a failure). A repeated name alone is no evidence:
 * most producers write another test of the same title (`test.each`, mocha titles across
 * `describe` blocks), and reading its failure as a failed attempt would pass a failed run.
 * Test cases without a name are never merged. `suiteIds[i]` is the ordinal of the suite element
 * of `cases[i]`: the same test in two suite elements (two Playwright projects, two packages) is
 * two tests. With `go` (gotestsum's JUnit), a top-level test repeated without a failure means
 * the file is from `go test -count=N`: its `repeats` are runs of one test, failed if any failed.
 */
export const mergeReruns = (
  cases: readonly TestCase[],
  suiteIds: readonly number[],
  declaredTests: number | undefined,
  evidence?: RerunEvidence,
): { cases: TestCase[]; repeated: string[]; repeats: boolean; apart: string[] } => {
  // Per suite element, per name: the first case of the test with that name, or, once the name
  // has several classnames, the first case per classname (a Map: a list to scan would make
  // 60,000 classnames of one name quadratic). Keyed by the name string alone: a key built from
  // the suite, classname and name costs a new string to hash per case, most of this function's
  // time on 20,000 cases.
  const bySuite = new Map<number, Map<string, number | Map<string, number>>>();
  let names = new Map<string, number | Map<string, number>>();
  let namesOf = Number.NaN;
  /** Per case: the index of the first case of its test, or -1 (no name). */
  const first = new Int32Array(cases.length).fill(-1);
  /** The cases of each test that appears more than once, by its first case. */
  const groups = new Map<number, number[]>();
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as TestCase;
    if (c.name === '') continue;
    const suiteId = suiteIds[i] ?? 0;
    if (suiteId !== namesOf) {
      namesOf = suiteId;
      names = bySuite.get(suiteId) ?? new Map();
      bySuite.set(suiteId, names);
    }
    const seen = names.get(c.name);
    let f: number | undefined;
    if (seen === undefined) names.set(c.name, i);
    else if (typeof seen === 'number') {
      const classname = (cases[seen] as TestCase).classname;
      if (classname === c.classname) f = seen;
      else
        names.set(
          c.name,
          new Map([
            [classname, seen],
            [c.classname, i],
          ]),
        );
    } else {
      f = seen.get(c.classname);
      if (f === undefined) seen.set(c.classname, i);
    }
    if (f === undefined) first[i] = i;
    else {
      first[i] = f;
      const group = groups.get(f);
      if (group) group.push(i);
      else groups.set(f, [f, i]);
    }
  }
  if (groups.size === 0) return { cases: [...cases], repeated: [], repeats: false, apart: [] };
  let distinct = cases.length;
  for (const group of groups.values()) distinct -= group.length - 1;
  // gotestsum --rerun-fails runs again only top-level tests that failed (and their subtests,
  // `A/b`); go test -count runs every test again, those that passed too.
  const repeats =
    evidence === 'go' &&
    [...groups.values()].some(
      (g) =>
        !(cases[g[0] as number] as TestCase).name.includes('/') &&
        g.every((k) => cases[k]?.status !== 'failed'),
    );
  const mergeAll = repeats || declaredTests === distinct;
  // Which groups merge, decided once per group (not once per case: a group can hold every case).
  const merged = new Set<number>();
  /** Groups kept apart where one copy failed and another passed: retries, or other tests? */
  const apart: string[] = [];
  for (const [f, group] of groups) {
    const failed = group.some((k) => cases[k]?.status === 'failed');
    if (mergeAll || (evidence && failed)) merged.add(f);
    else if (failed && group.some((k) => cases[k]?.status === 'passed'))
      apart.push((cases[f] as TestCase).name);
  }
  const out: TestCase[] = [];
  const repeated: string[] = [];
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as TestCase;
    const f = first[i] as number;
    const group = groups.get(f);
    if (!group || !merged.has(f)) {
      out.push(c);
      continue;
    }
    if (group[0] !== i) continue;
    repeated.push(c.name);
    out.push(group.slice(1).reduce((a, k) => mergeAttempt(a, cases[k] as TestCase, repeats), c));
  }
  return { cases: out, repeated, repeats, apart };
};

export interface Tally {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  flaky: number;
}

export const tally = (cases: readonly TestCase[]): Tally => {
  const t: Tally = { total: cases.length, passed: 0, failed: 0, skipped: 0, flaky: 0 };
  for (const c of cases) {
    t[c.status]++;
    if (c.flaky) t.flaky++;
  }
  return t;
};

/**
 * node:test's own counts (from its closing comments) as a tally, when they add up: a test with
 * subtests is written as a `<testsuite>` but node counts it as a test; `describe` suites are
 * not tests. Todo tests count as skipped, cancelled ones as failed.
 */
export const nodeTally = (counts: ReadonlyMap<string, number>): Tally | undefined => {
  const n = (k: string): number => counts.get(k) ?? 0;
  if (!counts.has('tests') || !counts.has('pass')) return undefined;
  const t: Tally = {
    total: n('tests'),
    passed: n('pass'),
    failed: n('fail') + n('cancelled'),
    skipped: n('skipped') + n('todo'),
    flaky: 0,
  };
  return t.passed + t.failed + t.skipped === t.total ? t : undefined;
};
