import {
  firstLine,
  MAX_DURATION_MS,
  type ParsedTests,
  type TestCase,
  type TestStatus,
  type TestSummary,
  validDurationMs,
} from './types';
import { readXml } from './xml';

/**
 * Visual Studio / .NET TRX (`dotnet test --logger trx`): one test per top-level
 * `<Results>/<UnitTestResult>` (data-driven `<InnerResults>` belong to their parent). `outcome`:
 * Passed and PassedButRunAborted are passed; Failed, Error, Timeout and Aborted are failed;
 * NotExecuted, Inconclusive, NotRunnable, Pending and other values are skipped, as
 * `dotnet test` prints them. The class comes from `<TestDefinitions>` (`TestMethod className`),
 * the message from `<ErrorInfo><Message>`, durations from `duration` (`hh:mm:ss.fffffff`), the
 * run's duration from `<Times start finish>`. `<Counters>` is compared, and a difference is a
 * warning (xUnit, for one, leaves skipped tests out of `notExecuted`).
 */

const WHAT = 'TRX';

const PASSED = new Set(['Passed', 'PassedButRunAborted']);
const FAILED = new Set(['Failed', 'Error', 'Timeout', 'Aborted']);

const statusOf = (outcome: string | undefined): TestStatus =>
  outcome !== undefined && PASSED.has(outcome)
    ? 'passed'
    : outcome !== undefined && FAILED.has(outcome)
      ? 'failed'
      : 'skipped';

/** `hh:mm:ss(.fffffff)` as milliseconds; undefined when it is not a duration (garbage, absurd). */
const durationOf = (value: string): number | undefined => {
  const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (!m) return undefined;
  const ms = validDurationMs(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]), 1000);
  return ms === undefined ? undefined : Math.round(ms * 1000) / 1000;
};

const count = (value: string | undefined): number | undefined =>
  value !== undefined && /^\s*\d{1,9}\s*$/.test(value) ? Number(value) : undefined;

interface Pending {
  testId: string;
  tc: TestCase;
}

export const parseTrx = (text: string): ParsedTests => {
  const pending: Pending[] = [];
  const classOf = new Map<string, string>();
  let unitTestId: string | undefined;
  let current: TestCase | undefined;
  let resultDepth = 0;
  let collecting = false;
  let body = '';
  let start: number | undefined;
  let finish: number | undefined;
  const declared = new Map<string, number | undefined>();
  /** `duration` attributes that are not durations: counted as unknown (0), with a warning. */
  let badDurations = 0;

  readXml(
    text,
    {
      open(name, a, depth) {
        switch (name) {
          case 'UnitTestResult': {
            // Top level only: TestRun > Results > UnitTestResult.
            if (depth !== 3) return false;
            const duration = a.get('duration');
            const ms = duration === undefined ? 0 : durationOf(duration);
            if (ms === undefined) badDurations++;
            current = {
              suite: '',
              classname: '',
              name: a.get('testName') ?? '',
              status: statusOf(a.get('outcome')),
              flaky: false,
              durationMs: ms ?? 0,
              retries: 0,
            };
            resultDepth = depth;
            pending.push({ testId: a.get('testId') ?? '', tc: current });
            return false;
          }
          case 'Message':
            if (current?.status !== 'failed' || current.message !== undefined) return false;
            collecting = true;
            body = '';
            return true;
          case 'UnitTest':
            unitTestId = a.get('id');
            return false;
          case 'TestMethod': {
            const className = a.get('className');
            if (unitTestId !== undefined && className !== undefined)
              classOf.set(unitTestId, className);
            return false;
          }
          case 'Times': {
            const s = Date.parse(a.get('start') ?? '');
            const f = Date.parse(a.get('finish') ?? '');
            if (validDurationMs(f - s) !== undefined) {
              start = s;
              finish = f;
            }
            return false;
          }
          case 'Counters':
            for (const k of ['total', 'passed', 'failed', 'error', 'timeout', 'aborted'])
              declared.set(k, count(a.get(k)));
            return false;
          default:
            return false;
        }
      },
      close(name, depth) {
        if (name === 'Message' && collecting && current) {
          collecting = false;
          const message = firstLine(body);
          if (message !== undefined) current.message = message;
        } else if (name === 'UnitTestResult' && depth === resultDepth) {
          current = undefined;
        }
      },
      text(data) {
        if (collecting && body.length < 4096) body += data.slice(0, 4096);
      },
    },
    { format: WHAT, roots: ['TestRun'] },
  );

  const cases = pending.map(({ testId, tc }) => {
    const classname = classOf.get(testId);
    if (classname !== undefined) {
      tc.classname = classname;
      tc.suite = classname;
    }
    return tc;
  });
  const summary: TestSummary = {
    total: cases.length,
    passed: 0,
    failed: 0,
    skipped: 0,
    flaky: 0,
    durationMs: 0,
  };
  for (const c of cases) {
    summary[c.status]++;
    summary.durationMs += c.durationMs;
  }
  if (start !== undefined && finish !== undefined) summary.durationMs = finish - start;

  const warnings: string[] = [];
  if (badDurations > 0)
    warnings.push(
      `${badDurations} duration attribute(s) are not durations (hh:mm:ss.fffffff, at most ${MAX_DURATION_MS} ms): they count as unknown, not in the suite duration`,
    );
  const total = declared.get('total');
  if (total !== undefined && total !== summary.total)
    warnings.push(`<Counters total="${total}"> but found ${summary.total} test results`);
  const passed = declared.get('passed');
  if (passed !== undefined && passed !== summary.passed)
    warnings.push(`<Counters passed="${passed}"> but found ${summary.passed} passed test results`);
  const failedParts = ['failed', 'error', 'timeout', 'aborted'].map((k) => declared.get(k));
  if (failedParts.some((n) => n !== undefined)) {
    const failed = failedParts.reduce<number>((a, n) => a + (n ?? 0), 0);
    if (failed !== summary.failed)
      warnings.push(
        `<Counters> failed+error+timeout+aborted=${failed} but found ${summary.failed} failed test results`,
      );
  }
  if (cases.length === 0) warnings.push('the report contains no <UnitTestResult> elements');
  return { kind: 'tests', format: 'trx', summary, warnings, cases };
};
