import * as z from '../zod-mini';
import { parseShape } from './shape';
import {
  DETAILS_MAX_TESTS,
  detailOf,
  firstLine,
  lineIn,
  lineNumber,
  MAX_DURATION_MS,
  type ParsedTests,
  round2,
  stripAnsi,
  type TestCase,
  type TestRunError,
  type TestStatus,
  validDurationMs,
} from './types';

/* ------------------------------------------------------------------------------------------
 * Jest `--json` and Vitest `--reporter=json`.
 *
 * Vitest's JSON reporter imitates Jest's (testResults[].assertionResults[]), with these
 * differences, checked against Vitest 4.1's reporter and its real output
 * (test/fixtures/generated/vitest-4.1-json-reporter.json):
 * - no `invocations`: a test that passed after retries is `status: "passed"` with the errors
 *   of its failed attempts still in `failureMessages` (one per failed attempt), and a test that
 *   failed every attempt lists one message per attempt;
 * - assertion results carry `meta` (user task meta) and `tags`; `failureMessages` may be null.
 * Jest (jest-circus) records the attempts in `invocations` and keeps only the last attempt's
 * failure in `failureMessages`.
 *
 * Naming: suite = the test file path exactly as the report gives it (usually absolute). We do
 * not try to make it relative: any prefix-stripping rule guesses at the project root and can
 * change a test's identity from one run to the next; the path as given is stable for a given
 * CI checkout. classname = describe blocks joined with ' › ' (Jest's own separator), name =
 * the test title.
 *
 * A test file that failed without any failed test (a syntax error, a missing import, a
 * throwing beforeAll/afterAll; Jest: "Test suite failed to run") is counted as ONE failed test
 * named after the file (its basename), classname ''. Otherwise a broken test file would
 * contribute nothing (zero tests) and the run would pass the gate.
 * ---------------------------------------------------------------------------------------- */

const count = z.nullish(z.number().check(z.nonnegative()));

const AssertionSchema = z.object({
  ancestorTitles: z.nullish(z.array(z.string())),
  title: z.string(),
  status: z.string(),
  duration: z.nullish(z.number()),
  failureMessages: z.nullish(z.array(z.string())),
  invocations: z.nullish(z.number()),
  meta: z.optional(z.unknown()),
  // `jest --testLocationInResults`; Vitest with `includeTaskLocation`.
  location: z.nullish(z.object({ line: z.number() })),
});

const TestFileSchema = z.object({
  name: z.string(),
  status: z.nullish(z.string()),
  message: z.nullish(z.string()),
  startTime: z.nullish(z.number()),
  endTime: z.nullish(z.number()),
  assertionResults: z.array(AssertionSchema),
});

const JestSchema = z.object({
  testResults: z.array(TestFileSchema),
  numTotalTests: count,
  numPassedTests: count,
  numFailedTests: count,
  startTime: z.nullish(z.number()),
  numRuntimeErrorTestSuites: z.optional(z.unknown()),
  wasInterrupted: z.optional(z.unknown()),
});

type Assertion = z.output<typeof AssertionSchema>;

const statusOf = (status: string): TestStatus => {
  if (status === 'passed') return 'passed';
  if (status === 'failed') return 'failed';
  // pending, skipped, todo, disabled, focused… did not run to a verdict.
  return 'skipped';
};

const basename = (path: string): string => {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 && i < path.length - 1 ? path.slice(i + 1) : path;
};

/** Attempts beyond the first, and whether a pass needed them. */
const retriesOf = (a: Assertion, status: TestStatus): { retries: number; flaky: boolean } => {
  if (typeof a.invocations === 'number') {
    // Jest: invocations counts every attempt.
    const retries = Math.max(0, Math.floor(a.invocations) - 1);
    return { retries, flaky: status === 'passed' && retries > 0 };
  }
  // Vitest: one failure message per failed attempt. A pass with messages failed before.
  // (With expect.soft one attempt can log several errors, so this can overcount.)
  const failures = a.failureMessages?.length ?? 0;
  if (status === 'passed') return { retries: failures, flaky: failures > 0 };
  if (status === 'failed') return { retries: Math.max(0, failures - 1), flaky: false };
  return { retries: 0, flaky: false };
};

/** One useful line from a suite-level error: skips Jest's "● Test suite failed to run" header. */
const suiteFailureMessage = (message: string | null | undefined): string => {
  const lines = stripAnsi(message ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const header = /^●?\s*Test suite failed to run$/;
  const detail = lines.find((l) => !header.test(l));
  return (
    firstLine(detail ? `Test suite failed to run: ${detail}` : 'Test suite failed to run') ?? ''
  );
};

export const parseJest = (doc: unknown): ParsedTests => {
  const report = parseShape(JestSchema, doc, 'Jest/Vitest JSON report');
  const cases: TestCase[] = [];
  const warnings: string[] = [];
  const listed = { total: 0, passed: 0, failed: 0 };
  let hasInvocations = false;
  let hasMeta = false;
  let maxEnd: number | undefined;
  /** Tests whose duration is negative, not finite or absurd: counted as unknown. */
  let badDurations = 0;
  let detailsKept = 0;
  // Vitest counts a failed hook or a file that did not load as an error of the run, not a test
  // (`Test Files 1 failed`, `Tests` unchanged); Jest's own counts do not tell, so there it is
  // one failed test. A Vitest report is told by the `meta` of its tests, or, when no file ran
  // a test (every one failed to load), by the lack of Jest's own fields.
  const tests = report.testResults.flatMap((f) => f.assertionResults);
  const isVitest =
    report.numRuntimeErrorTestSuites === undefined &&
    report.wasInterrupted === undefined &&
    (tests.length === 0 || tests.some((a) => a.meta !== undefined));
  const errors: TestRunError[] = [];

  for (const file of report.testResults) {
    let fileFailed = 0;
    for (const a of file.assertionResults) {
      const status = statusOf(a.status);
      const { retries, flaky } = retriesOf(a, status);
      if (typeof a.invocations === 'number') hasInvocations = true;
      if (a.meta !== undefined) hasMeta = true;
      const duration = validDurationMs(a.duration ?? 0);
      if (duration === undefined) badDurations++;
      const c: TestCase = {
        suite: file.name,
        classname: (a.ancestorTitles ?? []).join(' › '),
        name: a.title,
        status,
        flaky,
        durationMs: round2(duration ?? 0),
        retries,
        file: file.name,
      };
      const declaredLine = lineNumber(a.location?.line);
      if (declaredLine !== undefined) c.line = declaredLine;
      if (status === 'failed') {
        fileFailed++;
        const text = stripAnsi(a.failureMessages?.[0] ?? '');
        const message = firstLine(text);
        if (message) c.message = message;
        const detail = detailOf(text);
        if (detail !== undefined && detailsKept++ < DETAILS_MAX_TESTS) c.details = detail;
        const line = lineIn(text, file.name);
        if (line !== undefined) c.line = line;
      }
      cases.push(c);
      listed.total++;
      if (status === 'passed') listed.passed++;
      if (status === 'failed') listed.failed++;
    }
    if (file.status === 'failed' && fileFailed === 0 && isVitest) {
      errors.push({
        name: basename(file.name),
        file: file.name,
        message: suiteFailureMessage(file.message),
      });
      warnings.push(
        `${file.name}: the test file failed without a failed test (it did not load or a hook failed): an error of the run, not a test, as Vitest counts it, but the run failed.`,
      );
    } else if (file.status === 'failed' && fileFailed === 0) {
      const ran =
        typeof file.startTime === 'number' && typeof file.endTime === 'number'
          ? validDurationMs(file.endTime - file.startTime)
          : 0;
      if (ran === undefined) badDurations++;
      cases.push({
        suite: file.name,
        classname: '',
        name: basename(file.name),
        status: 'failed',
        flaky: false,
        durationMs: round2(ran ?? 0),
        retries: 0,
        message: suiteFailureMessage(file.message),
        file: file.name,
      });
      warnings.push(
        `${file.name}: the test file failed without a failed test (it did not load or a hook failed); counted as one failed test.`,
      );
    }
    if (typeof file.endTime === 'number') maxEnd = Math.max(maxEnd ?? file.endTime, file.endTime);
  }

  const check = (field: string, reported: number | null | undefined, actual: number) => {
    if (typeof reported === 'number' && reported !== actual)
      warnings.push(`${field} says ${reported}, but the report lists ${actual}.`);
  };
  check('numTotalTests', report.numTotalTests, listed.total);
  check('numPassedTests', report.numPassedTests, listed.passed);
  check('numFailedTests', report.numFailedTests, listed.failed);
  if (report.testResults.length === 0) warnings.push('The report contains no test files.');

  const summed = cases.reduce((s, c) => s + c.durationMs, 0);
  const span =
    typeof report.startTime === 'number' && maxEnd !== undefined
      ? maxEnd - report.startTime
      : undefined;
  const wall = validDurationMs(span);
  const isWall = wall !== undefined;
  const durationMs = round2(wall ?? summed);
  if (badDurations > 0)
    warnings.push(
      `${badDurations} test(s) have a negative or absurd duration (not a number of ms from 0 to ${MAX_DURATION_MS}): they count as unknown, not in the suite duration.`,
    );
  if (span !== undefined && !isWall)
    warnings.push(
      `The span from startTime to the last endTime (${span} ms) is not a duration from 0 to ${MAX_DURATION_MS} ms: the suite duration is the sum of test case times.`,
    );

  const dialect =
    hasInvocations ||
    report.numRuntimeErrorTestSuites !== undefined ||
    report.wasInterrupted !== undefined
      ? 'jest'
      : hasMeta
        ? 'vitest'
        : undefined;

  const parsed: ParsedTests = {
    kind: 'tests',
    format: 'jest',
    summary: {
      total: cases.length,
      passed: cases.filter((c) => c.status === 'passed').length,
      failed: cases.filter((c) => c.status === 'failed').length,
      skipped: cases.filter((c) => c.status === 'skipped').length,
      flaky: cases.filter((c) => c.flaky).length,
      durationMs,
    },
    durationSource: isWall ? 'start-to-end span' : 'sum of test case times',
    cases,
    warnings,
  };
  if (errors.length > 0) parsed.errors = errors;
  if (dialect) parsed.dialect = dialect;
  return parsed;
};
