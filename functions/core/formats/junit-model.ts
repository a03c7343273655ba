import { SuiteDuration } from './junit-duration';
import {
  CTEST_SKIPPED,
  mergeReruns,
  NODE_COUNT,
  NODE_DURATION,
  NOT_RUN,
  nodeTally,
  PHPUNIT_NOT_FAILED,
  PHPUNIT_RISKY,
  someNames,
  tally,
} from './junit-readings';
import {
  DETAILS_MAX_TESTS,
  detailOf,
  firstLine,
  frameIn,
  lineIn,
  lineNumber,
  type ParsedTests,
  type TestCase,
  type TestRunError,
  type TestSummary,
  validDurationMs,
} from './types';
import type { XmlAttributes, XmlVisitor } from './xml';

/**
 * The JUnit model shared by both JUnit parsers (see `parseJunit`): it receives element events
 * (open with attributes, close, character data of the elements it asks for) and turns them
 * into test cases, a summary, warnings and a dialect. The events come either from the fast
 * scanner (`junit-fast.ts`) or from the reference `saxes` reader (`xml.ts`); since the
 * classification lives here only, both parsers give the same result by construction.
 */

/** Failure text kept while looking for the first line of a message. */
export const BODY_MAX_CHARS = 4096;

/**
 * A `time` attribute (seconds) as whole microseconds, so that durations have at most 3 decimals
 * of milliseconds and sums stay exact. Undefined when missing, empty, negative, garbage or
 * longer than MAX_DURATION_MS (the fast path's 9 digits of seconds are below it).
 */
/** 10 ** k, looked up: `**` with a variable exponent is slow. */
const POWERS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

const timeMicros = (time: string | undefined): number | undefined => {
  if (time === undefined) return undefined;
  // Fast path for the usual plain decimal ("12", "0.012", "59.09258599999547"): digits only.
  const n = time.length;
  let whole = 0;
  let i = 0;
  while (i < n) {
    const d = time.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    whole = whole * 10 + d;
    i++;
  }
  if (i > 0 && i <= 9) {
    if (i === n) return whole * 1e6;
    if (time.charCodeAt(i) === 46 /* . */) {
      let frac = 0;
      let j = i + 1;
      for (; j < n; j++) {
        const d = time.charCodeAt(j) - 48;
        if (d < 0 || d > 9) break;
        const place = j - i; // 1 = tenths
        if (place <= 6) frac += d * (POWERS[6 - place] ?? 0);
        else if (place === 7 && d >= 5) frac += 1;
      }
      if (j === n) return whole * 1e6 + frac;
    }
  }
  return slowTimeMicros(time);
};

/** A decimal number, as test tools write times (some in exponent notation: `1.5E-4`). */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

const slowTimeMicros = (time: string): number | undefined => {
  const t = time.trim();
  if (t === '') return undefined;
  // Decimal only: `Number` would also read "0x10" (16), "0b1" and "0o7".
  let s = DECIMAL.test(t) ? Number(t) : Number.NaN;
  if (Number.isNaN(s) && /^\d+,\d+$/.test(t)) {
    // One comma and no dot: a decimal comma, as a tool formatting in a comma locale writes
    // "0,123" (0.123 s). "1,234" reads the same (1.234 s): a thousands separator would give it
    // only for exactly 1234 s, while a decimal comma gives it for any time with 3 decimals.
    s = Number(t.replace(',', '.'));
  } else if (Number.isNaN(s) && /^[1-9]\d{0,2}(,\d{3})+(\.\d+)?$/.test(t)) {
    // Old Surefire versions format times with a thousands separator: "1,234.567" (a dot after
    // the groups, or several groups). A group never starts a number with 0.
    s = Number(t.replace(/,/g, ''));
  }
  return validDurationMs(s, 1000) === undefined ? undefined : Math.round(s * 1e6);
};

/** A declared count, or undefined when absent or not a number. */
const count = (value: string | undefined): number | undefined => {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};

/**
 * The previous value when equal: consecutive test cases usually share a classname, and keeping
 * one string instead of one per test case is measurably cheaper for the garbage collector.
 */
const sameAs = (value: string, previous: string): string => (value === previous ? previous : value);

const addDeclared = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : a + b;

/** What a `<testcase>` says about itself, read when it opens (saved when one nests in another). */
interface OpenCase {
  suite: string;
  classname: string;
  name: string;
  time: string | undefined;
  file: string | undefined;
  line: string | undefined;
  status: string | undefined;
}

/** What the report says about itself, to compare with what it contains. */
interface Declared {
  tests: number | undefined;
  failed: number | undefined;
  skipped: number | undefined;
}

const declaredOf = (a: XmlAttributes): Declared => ({
  tests: count(a.get('tests')),
  failed: addDeclared(count(a.get('failures')), count(a.get('errors'))),
  // ctest declares disabled tests apart from skipped ones.
  skipped: addDeclared(count(a.get('skipped')), count(a.get('disabled'))),
});

const dialectOfRoot = (name: string, a: XmlAttributes): string | undefined => {
  const suiteName = a.get('name');
  // pytest's root keeps this name when `junit_suite_name` renames its <testsuite>.
  if (suiteName === 'pytest tests') return 'pytest';
  if (suiteName === 'jest tests') return 'jest-junit';
  if (suiteName === 'vitest tests') return 'vitest';
  if (suiteName === 'bun test') return 'bun';
  if (suiteName === 'nextest-run') return 'nextest';
  if (suiteName === 'pytest') return 'pytest';
  if (suiteName === 'Mocha Tests') return 'mocha';
  if (suiteName === 'rspec') return 'rspec';
  if (a.get('xsi:noNamespaceSchemaLocation')?.includes('surefire')) return 'surefire';
  if (name === 'testsuites' && a.get('id') !== undefined) return 'playwright';
  return undefined;
};

const dialectOfSuite = (a: XmlAttributes): string | undefined => {
  const name = a.get('name');
  if (name === 'pytest') return 'pytest';
  if (name === 'Mocha Tests') return 'mocha';
  if (a.get('hostname') === 'tbd') return 'catch2';
  if (a.get('assertions') !== undefined) return 'phpunit';
  if (a.get('id') !== undefined && name !== undefined && /^[\w.-]+\.[a-z]{2,}\/\S+$/.test(name))
    return 'go-junit-report';
  return undefined;
};

/** `Date.toISOString()`: the start time Vitest (and Playwright) write on each file's suite. */
const ISO_MILLIS_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** jest-junit's suite start time: `toISOString()` without the milliseconds and the `Z`. */
const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;

/**
 * The dialect of the first `<testsuite>` in a `<testsuites>` root, by what Vitest and jest-junit
 * write on a file's suite: both let users rename the root (`suiteName`), so their default root
 * names do not always tell them, and a dialect lost there reads repeated titles (`test.each`)
 * wrongly. Both write `errors` and `skipped` (mocha-junit-reporter and gotestsum, with the same
 * timestamps, do not); Vitest adds a `hostname` and a millisecond UTC `timestamp` (as
 * Playwright does, whose root has an `id` and is told before), jest-junit a `timestamp` to the
 * second and no `hostname` (pytest, Gradle, Catch2 and Ant write one).
 */
const dialectOfFileSuite = (a: XmlAttributes, rootNamed: boolean): string | undefined => {
  if (a.get('errors') === undefined || a.get('skipped') === undefined) return undefined;
  const timestamp = a.get('timestamp') ?? '';
  const hasHost = a.get('hostname') !== undefined;
  if (hasHost && ISO_MILLIS_UTC.test(timestamp)) return 'vitest';
  // Ginkgo writes the same suite, plus `package` and `disabled`, under a root without a name;
  // jest-junit always names its root (`suiteName`, "jest tests" by default).
  if (
    !hasHost &&
    ISO_SECONDS.test(timestamp) &&
    rootNamed &&
    a.get('package') === undefined &&
    a.get('disabled') === undefined
  )
    return 'jest-junit';
  return undefined;
};

/**
 * Vitest's JUnit reporter writes an error outside the tests as a failed `<testcase>` after the
 * tests of its file: a suite whose `beforeAll`/`afterAll` failed, named by the suite's own name
 * (the tests are `outer > inner > title`), or a file that failed (did not load, a top-level
 * hook), named by the file, as its `<testsuite>` is. Vitest counts neither as a test. Those
 * trailing cases are taken out of `cases` (and `suiteIds`) and returned.
 */
const takeVitestErrors = (cases: TestCase[], suiteIds: number[]): TestRunError[] => {
  const errors: TestRunError[] = [];
  const keep: boolean[] = cases.map(() => true);
  let end = cases.length;
  while (end > 0) {
    const id = suiteIds[end - 1];
    let start = end;
    while (start > 0 && suiteIds[start - 1] === id) start--;
    // The file's cases are [start, end): tests first, then the errors. The suite names are the
    // `a > b` path segments of its test names, but the last (one pass: no quadratic time).
    const suiteNames = new Set<string>();
    for (let i = start; i < end; i++) {
      const segments = (cases[i] as TestCase).name.split(' > ');
      for (const segment of segments.slice(0, -1)) suiteNames.add(segment);
    }
    for (let i = end - 1; i >= start; i--) {
      const c = cases[i] as TestCase;
      const isSuite = c.name === c.suite || suiteNames.has(c.name);
      if (c.status !== 'failed' || !isSuite) break;
      keep[i] = false;
      const e: TestRunError = { name: c.name, file: c.classname || c.suite };
      if (c.message !== undefined) e.message = c.message;
      errors.unshift(e);
    }
    end = start;
  }
  const kept = cases.filter((_, i) => keep[i]);
  const keptIds = suiteIds.filter((_, i) => keep[i]);
  cases.splice(0, cases.length, ...kept);
  suiteIds.splice(0, suiteIds.length, ...keptIds);
  return errors;
};

/** The event sink that builds a JUnit result; `result()` once the document has been read. */
export interface JunitBuilder extends XmlVisitor {
  text(data: string): void;
  comment(data: string, depth: number): void;
  result(): ParsedTests;
}

export const junitBuilder = (): JunitBuilder => {
  const cases: TestCase[] = [];
  /** Per case: the `<testsuite>` element it is in (its ordinal), to tell reruns apart. */
  const caseSuiteIds: number[] = [];
  /** Cases that look like jest-junit's `test.todo`: no child element and `time="0"`. */
  const bareZeroCases: number[] = [];
  const risky: TestCase[] = [];
  /** node:test's own counts, from the comments it writes at the end of the root. */
  const nodeCounts = new Map<string, number>();
  /** Whether the root `<testsuites>` has a `time` (node:test's comment never overrides one). */
  let rootTimed = false;
  const duration = new SuiteDuration(timeMicros);
  // ctest: a root <testsuite disabled="…"> and test cases with a `status`.
  let statusSeen = false;
  let rootDisabled = false;
  /** Test cases with status="notrun" (in `cases`) and their <skipped> message: see `result()`. */
  const notRun: Array<{ index: number; reason: string | undefined }> = [];
  /** fastlane trainer's `repetition` property: its repeated test cases are attempts. */
  let repetitions = false;

  let rootIsSuites = false;
  /** The <testsuites> root has a `name` (jest-junit's always does). */
  let rootNamed = false;
  let rootDeclared: Declared = { tests: undefined, failed: undefined, skipped: undefined };
  let topDeclared: Declared = { tests: undefined, failed: undefined, skipped: undefined };
  let topSuites = 0;
  let dialect: string | undefined;
  let looseFailures = 0;

  const topLevelSuite = (name: string, a: XmlAttributes, depth: number): void => {
    topSuites++;
    const where = () => `<testsuite name=${JSON.stringify(a.get('name') ?? '')}>`;
    if (depth === 1) {
      rootDeclared = declaredOf(a);
      dialect = dialectOfRoot(name, a) ?? dialectOfSuite(a);
      rootDisabled = a.get('disabled') !== undefined;
      duration.root(a.get('time'), where);
    } else {
      duration.topSuite(a.get('time'), a.get('timestamp'), where);
      const d = declaredOf(a);
      topDeclared = {
        tests: addDeclared(topDeclared.tests, d.tests),
        failed: addDeclared(topDeclared.failed, d.failed),
        skipped: addDeclared(topDeclared.skipped, d.skipped),
      };
      if (dialect === undefined && topSuites === 1)
        dialect = dialectOfSuite(a) ?? dialectOfFileSuite(a, rootNamed);
    }
  };

  // Suite names, innermost last.
  const suites: string[] = [];
  const suiteIds: number[] = [];
  let suiteCount = 0;
  let suite = '';
  let lastClassname = '';

  // The open test case, if any: its attributes (read when it opened, kept in plain variables
  // to allocate nothing more per test case) and what its children said so far. A `<testcase>`
  // inside a `<testcase>` (never seen, but possible) saves and restores them.
  let inCase = false;
  let caseSuite = '';
  let caseClassname = '';
  let caseName = '';
  let caseTime: string | undefined;
  let caseFile: string | undefined;
  let caseLine: string | undefined;
  let caseStatus: string | undefined;
  let currentDepth = -1;
  let isFailed = false;
  let isSkipped = false;
  let isTodo = false;
  let isRisky = false;
  /** PHPUnit's risky `<error>` elements (a test can have several), counted in its `errors`. */
  let riskyErrors = 0;
  let hasChildren = false;
  let attempts = 0;
  let hasFlaky = false;
  let message: string | undefined;
  /** The message of the current case's <skipped> (ctest writes why a test did not run). */
  let skipReason: string | undefined;
  let failureFile: string | undefined;
  /** The text of the current case's first failure element, once read. */
  let failureText: string | undefined;
  /** The current case has a `<failure>` child (not only `<error>`). */
  let hasFailure = false;
  /** pytest's second test case for a test that failed, then errored in teardown: merged. */
  let teardownSplits = 0;
  /**
   * pytest's own `tests`, `skipped` and `failures + errors` for the test cases read: it counts a
   * report per outcome (`passed + failure + skipped + error - double failures`), so a test that
   * passed or was skipped, then errored in teardown, is one <testcase> counted twice, and one
   * that failed, then errored in teardown, is two <testcase> elements counted once.
   */
  const pytestDeclared = { tests: 0, skipped: 0, failed: 0 };
  /** The open case's <failure>, <error> and <skipped> children; an <error> in its teardown. */
  let outcomes = 0;
  let skippedOutcomes = 0;
  let teardownError = false;
  /** pytest: where each test case is in `cases`, by its suite element, classname and name. */
  const pytestCases = new Map<string, number>();
  /** The root `<testsuites errors>`, and the `<error>` elements of test cases. */
  let rootErrors = 0;
  let caseErrors = 0;
  let body = '';
  let collecting = false;
  let detailsKept = 0;
  const outer: Array<{
    open: OpenCase;
    depth: number;
    isFailed: boolean;
    isSkipped: boolean;
    isTodo: boolean;
    isRisky: boolean;
    hasChildren: boolean;
    attempts: number;
    hasFlaky: boolean;
    message: string | undefined;
    skipReason: string | undefined;
    failureFile: string | undefined;
    failureText: string | undefined;
    hasFailure: boolean;
    outcomes: number;
    skippedOutcomes: number;
    teardownError: boolean;
  }> = [];

  /** A failure-like child of the current case; returns whether to collect its text. */
  const failure = (a: XmlAttributes): boolean => {
    // PHPUnit writes risky, incomplete and (old versions) skipped tests as errors of these types.
    const type = a.get('type');
    if (type !== undefined && PHPUNIT_RISKY.test(type)) {
      isRisky = true;
      riskyErrors++;
      return false;
    }
    if (type !== undefined && PHPUNIT_NOT_FAILED.test(type)) {
      isSkipped = true;
      return false;
    }
    isFailed = true;
    if (failureFile === undefined) failureFile = a.get('file');
    if (failureText !== undefined || collecting) return false;
    message = firstLine(a.get('message'));
    body = '';
    collecting = true;
    return true;
  };

  /** Names the open test case in a warning (one function for all test cases). */
  const caseWhere = () => `test case ${JSON.stringify(caseName)}`;

  /** The current test case closed: build it, with everything known. */
  const finish = (): void => {
    const us = duration.testCase(caseTime, caseWhere);
    const tc: TestCase = {
      suite: caseSuite,
      classname: caseClassname,
      name: caseName,
      status: 'passed',
      flaky: false,
      durationMs: us / 1000,
      retries: attempts,
    };
    // A failure without a file attribute: the first stack frame in the project names one.
    const frame = isFailed && caseFile === undefined && failureFile === undefined;
    const located = frame ? frameIn(failureText) : undefined;
    const file = caseFile ?? (isFailed ? failureFile : undefined) ?? located?.file;
    if (file !== undefined) tc.file = file;
    // pytest's `line` is 0-based (its item location); PHPUnit's and Bun's are 1-based.
    const declaredLine = lineNumber(caseLine);
    const line =
      located?.line ??
      (isFailed ? lineIn(failureText, file) : undefined) ??
      (declaredLine !== undefined && dialect === 'pytest' ? declaredLine + 1 : declaredLine);
    if (line !== undefined) tc.line = line;
    // node:test writes a failing todo test with both <skipped type="todo"> and <failure>; it
    // counts it as todo, not failed.
    if (isTodo) tc.status = 'skipped';
    else if (isFailed) {
      tc.status = 'failed';
      if (message !== undefined) tc.message = message;
      const detail = detailsKept < DETAILS_MAX_TESTS ? detailOf(failureText) : undefined;
      if (detail !== undefined) {
        tc.details = detail;
        detailsKept++;
      }
    } else if (isSkipped) tc.status = 'skipped';
    else {
      if (hasFlaky) tc.flaky = true;
      if (isRisky) risky.push(tc);
      else if (!hasChildren && us === 0 && caseTime !== undefined) bareZeroCases.push(cases.length);
    }
    const suiteId = suiteIds[suiteIds.length - 1] ?? 0;
    // pytest writes a test that failed (or was skipped), then errored in teardown, as two test
    // cases of one name, the second with only <error>. It never repeats a name otherwise (it
    // makes parametrize ids unique): one failed test, not a rerun. With pytest-xdist other
    // tests' cases can sit between the two.
    const key = dialect === 'pytest' ? JSON.stringify([suiteId, tc.classname, tc.name]) : undefined;
    const earlier = key === undefined ? undefined : pytestCases.get(key);
    const prev = earlier === undefined ? undefined : cases[earlier];
    const split = isFailed && !hasFailure && earlier !== undefined && prev !== undefined;
    if (dialect === 'pytest') {
      pytestDeclared.tests += Math.max(1, outcomes);
      // Its only outcome is a teardown error: the call passed (counted too), or, for the second
      // element of a failed test, the failure was already counted (pytest subtracts it).
      if (outcomes === 1 && teardownError) pytestDeclared.tests += split ? -1 : 1;
      pytestDeclared.skipped += skippedOutcomes;
      pytestDeclared.failed += outcomes - skippedOutcomes;
    }
    if (split && earlier !== undefined && prev !== undefined) {
      teardownSplits++;
      prev.durationMs += tc.durationMs;
      if (prev.status !== 'failed') cases[earlier] = { ...tc, durationMs: prev.durationMs };
      return;
    }
    if (key !== undefined) pytestCases.set(key, cases.length);
    if (caseStatus === 'notrun' && tc.status === 'skipped')
      notRun.push({ index: cases.length, reason: skipReason });
    cases.push(tc);
    caseSuiteIds.push(suiteId);
  };

  return {
    open(name, a, depth) {
      switch (name) {
        case 'testcase':
          if (inCase) {
            outer.push({
              open: {
                suite: caseSuite,
                classname: caseClassname,
                name: caseName,
                time: caseTime,
                file: caseFile,
                line: caseLine,
                status: caseStatus,
              },
              depth: currentDepth,
              isFailed,
              isSkipped,
              isTodo,
              isRisky,
              hasChildren: true,
              attempts,
              hasFlaky,
              message,
              skipReason,
              failureFile,
              failureText,
              hasFailure,
              outcomes,
              skippedOutcomes,
              teardownError,
            });
          }
          {
            const classname = a.get('classname');
            inCase = true;
            caseSuite = suite;
            // Consecutive test cases usually share a classname: keep one string for them.
            caseClassname = classname === undefined ? '' : sameAs(classname, lastClassname);
            lastClassname = caseClassname;
            caseName = a.get('name') ?? '';
            caseTime = a.get('time');
            caseFile = a.get('file');
            caseLine = a.get('line');
          }
          currentDepth = depth;
          isFailed = false;
          // ctest writes disabled tests as status="disabled" with no <skipped> child.
          caseStatus = a.get('status');
          if (caseStatus !== undefined) statusSeen = true;
          isSkipped = caseStatus !== undefined && NOT_RUN.test(caseStatus);
          isTodo = false;
          isRisky = false;
          hasChildren = false;
          attempts = 0;
          hasFlaky = false;
          message = undefined;
          skipReason = undefined;
          failureFile = undefined;
          failureText = undefined;
          hasFailure = false;
          outcomes = 0;
          skippedOutcomes = 0;
          teardownError = false;
          return false;
        case 'failure':
        case 'error':
          if (depth === currentDepth + 1) {
            hasChildren = true;
            outcomes++;
            if (name === 'failure') hasFailure = true;
            else {
              caseErrors++;
              if (a.get('message')?.startsWith('failed on teardown with ')) teardownError = true;
            }
          }
          if (depth !== currentDepth + 1) {
            if (!inCase) looseFailures++;
            return false;
          }
          return failure(a);
        case 'rerunFailure':
        case 'rerunError':
          if (depth !== currentDepth + 1) return false;
          attempts++;
          return failure(a);
        case 'flakyFailure':
        case 'flakyError':
          if (depth !== currentDepth + 1) return false;
          attempts++;
          hasFlaky = true;
          return false;
        case 'skipped':
          if (depth === currentDepth + 1) {
            outcomes++;
            skippedOutcomes++;
            isSkipped = true;
            if (a.get('type') === 'todo') isTodo = true;
            skipReason ??= a.get('message');
          }
          return false;
        case 'testsuite':
          suite = a.get('name') ?? '';
          suites.push(suite);
          suiteIds.push(++suiteCount);
          if (depth === 1 || (depth === 2 && rootIsSuites)) topLevelSuite(name, a, depth);
          return false;
        case 'testsuites':
          if (depth === 1) {
            rootIsSuites = true;
            rootNamed = a.get('name') !== undefined;
            rootDeclared = declaredOf(a);
            rootErrors = count(a.get('errors')) ?? 0;
            dialect = dialectOfRoot(name, a);
            duration.root(a.get('time'), () => '<testsuites>');
            rootTimed = a.get('time') !== undefined;
          }
          return false;
        case 'property':
          if (dialect === undefined && a.get('name') === 'go.version') dialect = 'go-junit-report';
          if (a.get('name') === 'repetition') repetitions = true;
          return false;
        default:
          if (depth === currentDepth + 1) hasChildren = true;
          return false;
      }
    },

    comment(data, depth) {
      // node:test ends its report with `<!-- tests 13 -->`, `<!-- pass 8 -->`...: its counts.
      if (depth !== 1) return;
      const m = NODE_COUNT.exec(data);
      if (m) nodeCounts.set(String(m[1]), Number(m[2]));
      // Its own wall time of the run, which it writes nowhere else: the root's time.
      const d = rootIsSuites && !rootTimed ? NODE_DURATION.exec(data) : null;
      if (d) duration.root(String(Number(d[1]) / 1000), () => '<!-- duration_ms -->');
    },

    close(name, depth) {
      if (depth === currentDepth && inCase) {
        // Well-formed XML: what closes at the depth of the open test case is that test case.
        finish();
        const saved = outer.pop();
        if (saved) {
          caseSuite = saved.open.suite;
          caseClassname = saved.open.classname;
          caseName = saved.open.name;
          caseTime = saved.open.time;
          caseFile = saved.open.file;
          caseLine = saved.open.line;
          caseStatus = saved.open.status;
          currentDepth = saved.depth;
          isFailed = saved.isFailed;
          isSkipped = saved.isSkipped;
          isTodo = saved.isTodo;
          isRisky = saved.isRisky;
          hasChildren = saved.hasChildren;
          attempts = saved.attempts;
          hasFlaky = saved.hasFlaky;
          message = saved.message;
          skipReason = saved.skipReason;
          failureFile = saved.failureFile;
          failureText = saved.failureText;
          hasFailure = saved.hasFailure;
          outcomes = saved.outcomes;
          skippedOutcomes = saved.skippedOutcomes;
          teardownError = saved.teardownError;
        } else {
          inCase = false;
          currentDepth = -1;
        }
      } else if (collecting && depth === currentDepth + 1) {
        collecting = false;
        failureText = body;
        message ??= firstLine(body);
        body = '';
      } else if (name === 'testsuite') {
        suites.pop();
        suiteIds.pop();
        suite = suites[suites.length - 1] ?? '';
      }
    },

    text(data) {
      if (collecting && body.length < BODY_MAX_CHARS) {
        body += data.length > BODY_MAX_CHARS ? data.slice(0, BODY_MAX_CHARS) : data;
      }
    },

    result(): ParsedTests {
      // Vitest writes the sum of its files' durations as the root time (told apart from its
      // first file's suite when the root has a custom name).
      if (dialect === 'vitest') duration.rootIsSum();
      const wall = duration.result();

      const warnings: string[] = [...wall.warnings];
      const declaredTests = rootDeclared.tests ?? topDeclared.tests;
      const declaredFailed = rootDeclared.failed ?? topDeclared.failed;
      const declaredSkipped = rootDeclared.skipped ?? topDeclared.skipped;
      if (dialect === undefined && statusSeen && rootDisabled) dialect = 'ctest';

      // ctest writes every test it did not run as status="notrun" with a <skipped> that says
      // why, but counts as failed those it could not run (its executable or a required file
      // missing, a fixture it needs that failed): only its skips did not fail, and its
      // disabled tests (status="disabled"). Its declared counts keep them among the skipped.
      const couldNotRun: TestCase[] = [];
      if (dialect === 'ctest') {
        for (const { index, reason } of notRun) {
          if (reason !== undefined && CTEST_SKIPPED.test(reason)) continue;
          const c = cases[index] as TestCase;
          c.status = 'failed';
          if (reason) c.message = reason;
          couldNotRun.push(c);
        }
      }
      if (couldNotRun.length > 0)
        warnings.push(
          `${couldNotRun.length} test(s) ctest could not run (${someNames(couldNotRun.map((c) => `${c.name}: ${c.message ?? 'not run'}`))}), written as skipped: counted as failed, as ctest counts them`,
        );

      // jest-junit writes `test.todo` as a plain <testcase> (no child, time="0") and leaves it
      // out of its declared `tests`, which is how the todo tests are told apart.
      let todoUnmarked = 0;
      let todoExplained = false;
      const found = cases.length;
      if (dialect === 'jest-junit' && declaredTests !== undefined && found > declaredTests) {
        const todo = found - declaredTests;
        todoExplained = bareZeroCases.length >= todo;
        if (bareZeroCases.length === todo) {
          for (const i of bareZeroCases) (cases[i] as TestCase).status = 'skipped';
          warnings.push(
            `jest-junit writes test.todo as a plain <testcase>: ${todo} test case(s) with no result and time="0" (${someNames(bareZeroCases.map((i) => (cases[i] as TestCase).name))}) counted as skipped (todo), as jest counts them`,
          );
        } else if (bareZeroCases.length > todo) {
          todoUnmarked = todo;
          warnings.push(
            `jest-junit declares tests=${declaredTests} but writes ${found} <testcase> elements: ${todo} of the ${bareZeroCases.length} with no result and time="0" are test.todo; they are counted as skipped, as jest counts them, but which ones cannot be told`,
          );
        }
      }

      // gotestsum counts a package that did not build in the root's `errors` and writes no
      // <testcase> for it: the run failed, so one failed test stands for those errors. When no
      // package built there is no <testsuite> to tell the dialect by: any root that declares
      // errors and holds no test case at all failed the same way.
      const errorsCase =
        (dialect === 'go-junit-report' || cases.length === 0) && rootErrors > caseErrors ? 1 : 0;
      if (errorsCase > 0) {
        cases.push({
          suite: '',
          classname: '',
          name: '(errors)',
          status: 'failed',
          flaky: false,
          durationMs: 0,
          retries: 0,
          message: `${rootErrors - caseErrors} error(s) outside any test (a package that did not build?)`,
        });
        caseSuiteIds.push(0);
        warnings.push(
          `declared errors=${rootErrors} with no <testcase> for ${rootErrors - caseErrors} of them (gotestsum: a package that did not build): counted as one failed test named "(errors)"`,
        );
      }

      // Vitest's failed hooks and files: errors of the run, not tests (as Vitest counts).
      const runErrors = dialect === 'vitest' ? takeVitestErrors(cases, caseSuiteIds) : [];
      if (runErrors.length > 0)
        warnings.push(
          `${runErrors.length} error(s) outside any test (${someNames(runErrors.map((e) => e.name))}: a failed beforeAll/afterAll hook or a test file that failed to load), written by Vitest as <testcase> elements: not counted as tests, as Vitest counts them, but the run failed`,
        );

      // A producer that keeps only the last attempt of a retried test writes no reruns: test
      // cases with the same name there are tests of their own (`test.each` with one title
      // twice), and a failed one must count as failed, never as the attempt of a flaky test.
      // Others merge them only on evidence of reruns (see `mergeReruns`).
      const {
        cases: tests,
        repeated,
        repeats,
        apart,
      } = dialect !== undefined && dialect in RETRIES_NOT_RECORDED
        ? { cases, repeated: [], repeats: false, apart: [] }
        : mergeReruns(
            cases,
            caseSuiteIds,
            declaredTests,
            dialect === 'go-junit-report' ? 'go' : repetitions ? 'reruns' : undefined,
          );
      const t = tally(tests);
      // Declared counts of a report with reruns may count attempts (gotestsum does).
      const attempts = repeated.length > 0 ? tally(cases) : t;
      t.passed -= todoUnmarked;
      t.skipped += todoUnmarked;
      if (repeats) {
        warnings.push(
          `${repeated.length} test(s) appear more than once in the same <testsuite> (${someNames(repeated)}), tests that never failed among them: read as runs of go test -count, one test failed if a run failed, as go fails the package`,
        );
      } else if (repeated.length > 0) {
        warnings.push(
          `${repeated.length} test(s) appear more than once in the same <testsuite> (${someNames(repeated)}): read as reruns, one test with several attempts; the last attempt decides (flaky when it passed after a failure)`,
        );
      }
      if (apart.length > 0)
        warnings.push(
          `${apart.length} test name(s) appear more than once in the same <testsuite>, failed and passed (${someNames(apart)}): counted as separate tests, as nothing in the report says they are retries; if they are (Gradle's test-retry plugin writes retries so), turn on the tool's merged rerun output (Gradle: reports.junitXml.mergeReruns = true), which Vigil reads as flaky`,
        );

      // node:test: its closing comments are its own counts (a test with subtests is written as
      // a <testsuite> but is a test; suites are not); per-level declared counts do not add up.
      const node = nodeTally(nodeCounts);
      let compareDeclared = true;
      if (node !== undefined) {
        dialect = 'node-test';
        Object.assign(t, node);
        compareDeclared = false;
      }

      // mocha-junit-reporter writes no <testcase> for pending tests but declares them.
      const missing = (declaredTests ?? 0) - t.total;
      if (
        compareDeclared &&
        missing > 0 &&
        declaredSkipped !== undefined &&
        declaredSkipped - t.skipped === missing
      ) {
        t.total += missing;
        t.skipped += missing;
        warnings.push(
          `declared tests=${declaredTests} and skipped=${declaredSkipped}, but ${missing} skipped (pending) test(s) have no <testcase> element (mocha-junit-reporter leaves them out): counted from the declared skipped count`,
        );
      }

      if (risky.length > 0) {
        warnings.push(
          `${risky.length} risky test(s) (${someNames(risky.map((c) => c.name))}): written as <error> but counted as passed, as PHPUnit counts them`,
        );
      }

      if (compareDeclared) {
        const differs = (declared: number | undefined, ...found: number[]): boolean =>
          declared !== undefined && !found.includes(declared);
        // pytest counts outcomes, not tests: compare with what it would declare for these cases.
        const isPytest = dialect === 'pytest';
        if (teardownSplits > 0)
          warnings.push(
            `${teardownSplits} test(s) failed, then errored in teardown: pytest writes each as two <testcase> elements and counts it as failed and as an error; counted once, failed`,
          );
        if (
          differs(
            declaredTests,
            t.total,
            attempts.total,
            isPytest ? pytestDeclared.tests : t.total,
            t.total - errorsCase,
            t.total + runErrors.length,
          ) &&
          !todoExplained
        ) {
          warnings.push(`declared tests=${declaredTests} but found ${t.total} <testcase> elements`);
        }
        if (repeated.length > 0 && t.failed === 0 && (declaredFailed ?? 0) > 0) {
          // gotestsum's JUnit of `go test -count=2` where every repeated test failed once looks
          // like reruns that passed: the failed attempts must not silence the declared failures.
          warnings.push(
            `declared failures+errors=${declaredFailed} but no test case is read as failed: the failed ones were read as reruns of tests that passed (gotestsum --rerun-fails); if the tests were repeated for another reason (go test -count), the run failed`,
          );
        } else if (
          differs(
            declaredFailed,
            t.failed,
            attempts.failed,
            t.failed + riskyErrors,
            isPytest ? pytestDeclared.failed : t.failed,
            t.failed + runErrors.length,
            t.failed - couldNotRun.length,
          )
        ) {
          warnings.push(
            `declared failures+errors=${declaredFailed} but found ${t.failed} failed test cases`,
          );
        }
        const todo = todoExplained && declaredTests !== undefined ? found - declaredTests : 0;
        if (
          differs(
            declaredSkipped,
            t.skipped,
            attempts.skipped,
            t.skipped - todo,
            isPytest ? pytestDeclared.skipped : t.skipped,
            t.skipped + couldNotRun.length,
          )
        ) {
          warnings.push(
            `declared skipped=${declaredSkipped} but found ${t.skipped} skipped test cases`,
          );
        }
      }
      if (looseFailures > 0) {
        warnings.push(
          `${looseFailures} <failure>/<error> element(s) outside any <testcase> ignored`,
        );
      }
      if (found === 0) warnings.push('the report contains no <testcase> elements');
      const noRetries = dialect === undefined ? undefined : noRetriesNotice[dialect];
      if (noRetries !== undefined && t.total > 0) warnings.push(noRetries);

      const summary: TestSummary = { ...t, durationMs: wall.durationMs };
      const parsed: ParsedTests = {
        kind: 'tests',
        format: 'junit',
        summary,
        warnings,
        cases: tests,
        durationSource: wall.source,
      };
      if (runErrors.length > 0) parsed.errors = runErrors;
      if (dialect === undefined && attemptsSeen(cases)) dialect = 'surefire';
      if (dialect !== undefined) parsed.dialect = dialect;
      return parsed;
    },
  };
};

/**
 * Dialects whose JUnit file keeps only the last attempt of a retried test: the file cannot tell
 * a test that passed on a retry from one that passed at once, so every such report says so.
 */
export const RETRIES_NOT_RECORDED = {
  playwright:
    "Playwright's JUnit reporter does not record retries: a test that passed on a retry counts as passed, not flaky (post the JSON reporter's output to see flaky tests)",
  'jest-junit':
    'jest-junit does not record retries (jest.retryTimes): a test that passed on a retry counts as passed, not flaky (post `jest --json` output to see flaky tests)',
  vitest:
    "Vitest's JUnit reporter does not record retries: a test that passed on a retry counts as passed, not flaky (post `vitest --reporter=json` output to see flaky tests)",
  pytest:
    "pytest's JUnit XML does not record reruns (pytest-rerunfailures): a test that passed on a rerun counts as passed, not flaky",
  rspec:
    'rspec_junit_formatter does not record retries (rspec-retry): a test that passed on a retry counts as passed, not flaky',
  ctest:
    "ctest's JUnit output does not record repeats (--repeat until-pass): a test that passed on a repeat counts as passed, not flaky",
} as const;
const noRetriesNotice: Partial<Record<string, string>> = RETRIES_NOT_RECORDED;

/** Surefire and Gradle are the producers that write flaky/rerun elements. */
const attemptsSeen = (cases: readonly TestCase[]): boolean => cases.some((c) => c.retries > 0);
