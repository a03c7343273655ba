import type { TestCase } from './types';

/**
 * How JUnit dialects are read where the elements alone mislead (see docs/tool-counts.md): the
 * rules the JUnit model applies after reading every `<testcase>`. Pure functions over the cases.
 */

/** Error types PHPUnit writes for tests it does not count as failed (risky, incomplete, skipped). */
export const PHPUNIT_NOT_FAILED = /\\(?:Risky|Incomplete|Skipped)Test(?:Error)?$/;

/** `status` values (ctest and others) of test cases that did not run. */
export const NOT_RUN = /^(?:disabled|notrun|not ?run|skipped|ignored)$/i;

/** node:test's closing comments: `<!-- tests 13 -->`, `<!-- pass 8 -->`... */
export const NODE_COUNT = /^\s*(tests|pass|fail|cancelled|skipped|todo)\s+(\d{1,9})\s*$/;

/** Names for messages: at most `max`, then how many more. */
export const someNames = (names: readonly string[], max = 3): string => {
  const shown = names.slice(0, max).map((n) => `"${n.length > 80 ? `${n.slice(0, 79)}…` : n}"`);
  return names.length > max
    ? `${shown.join(', ')} and ${names.length - max} more`
    : shown.join(', ');
};

/** Two attempts of one test as one: passed if any attempt passed (flaky if one failed). */
const mergeAttempt = (a: TestCase, b: TestCase): TestCase => {
  const merged: TestCase = {
    ...a,
    retries: a.retries + b.retries + 1,
    durationMs: a.durationMs + b.durationMs,
  };
  if (a.status === 'passed' || b.status === 'passed') {
    merged.status = 'passed';
    merged.flaky = a.flaky || b.flaky || a.status === 'failed' || b.status === 'failed';
    delete merged.message;
  } else if (a.status === 'failed' || b.status === 'failed') {
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
 * Test cases repeated with the same classname and name in one `<testsuite>` element are reruns
 * (gotestsum `--rerun-fails`, fastlane trainer, Bazel flaky attempts...): attempts of one test.
 * A rerun follows a failure, so a group is merged when one of its copies failed, or, for all
 * groups, when the declared `tests` count is the number of distinct tests. Copies that all
 * passed are otherwise kept apart (mocha titles repeat across `describe` blocks), and so are
 * test cases without a name. `suiteIds[i]` is the ordinal of the suite element of `cases[i]`:
 * the same test in two suite elements (two Playwright projects, two packages) is two tests.
 */
export const mergeReruns = (
  cases: readonly TestCase[],
  suiteIds: readonly number[],
  declaredTests: number | undefined,
): { cases: TestCase[]; repeated: string[] } => {
  const groups = new Map<string, number[]>();
  const keys: (string | undefined)[] = [];
  let distinct = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as TestCase;
    const key =
      c.name === '' ? undefined : `${suiteIds[i] ?? 0}\u0000${c.classname}\u0000${c.name}`;
    keys.push(key);
    const group = key === undefined ? undefined : groups.get(key);
    if (group) group.push(i);
    else {
      distinct++;
      if (key !== undefined) groups.set(key, [i]);
    }
  }
  if (distinct === cases.length) return { cases: [...cases], repeated: [] };
  const mergeAll = declaredTests === distinct;
  const out: TestCase[] = [];
  const repeated: string[] = [];
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as TestCase;
    const key = keys[i];
    const group = key === undefined ? undefined : groups.get(key);
    if (!group || group.length === 1) {
      out.push(c);
      continue;
    }
    if (!mergeAll && !group.some((k) => cases[k]?.status === 'failed')) {
      out.push(c);
      continue;
    }
    if (group[0] !== i) continue;
    repeated.push(c.name);
    out.push(group.slice(1).reduce((a, k) => mergeAttempt(a, cases[k] as TestCase), c));
  }
  return { cases: out, repeated };
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
