import { ownEntry } from '../config-access';
import { invalidReport } from '../errors';
import { isRecord } from './shape';
import {
  firstLine,
  MAX_DURATION_MS,
  type ParsedTests,
  type TestCase,
  validDurationMs,
} from './types';

/**
 * `go test -json` (test2json) and gotestsum's `--jsonfile`: one JSON event per line. A test is
 * a (Package, Test) pair with a final `pass`, `fail` or `skip` event; subtests (`TestA/b`) and
 * their parents are tests, as `go test -v` prints a `---` line for each and gotestsum counts
 * them. The same test seen again (gotestsum `--rerun-fails`, `-count=N`) is another attempt of
 * one test: passed if an attempt passed, flaky when another failed. A package that fails with
 * no failed test (build error, TestMain, panic outside a test) counts as one failed test named
 * after the package. Lines that are not JSON (build output before Go 1.24) are skipped with a
 * warning.
 *
 * Duration: `go test` runs packages in parallel, so their `Elapsed` times add up to more than the
 * run took. When the events carry `Time`, the duration is the wall time: from the earliest event
 * (or a package's start, its end `Time` less its `Elapsed`, when earlier) to the latest event.
 * Without `Time` it is the sum of the packages' `Elapsed`, else of the tests'. Which one was used
 * is reported in `durationSource`.
 */

const WHAT = 'go test -json output';

/** The first line is a test2json event. */
export const looksLikeGoTestJson = (text: string): boolean => {
  const start = text.search(/\S/);
  if (start < 0 || text[start] !== '{') return false;
  const end = text.indexOf('\n', start);
  const line = text.slice(start, end < 0 ? undefined : end);
  try {
    const event: unknown = JSON.parse(line);
    return (
      isRecord(event) &&
      typeof event.Action === 'string' &&
      (typeof event.Package === 'string' || typeof event.Test === 'string')
    );
  } catch {
    return false;
  }
};

interface Attempt {
  status: 'passed' | 'failed' | 'skipped';
  ms: number;
}

interface Test {
  pkg: string;
  name: string;
  attempts: Attempt[];
  message?: string;
}

/** Output lines that are the runner's, not the test's. */
const RUNNER_LINE = /^\s*(?:=== (?:RUN|PAUSE|CONT|NAME)|--- (?:PASS|FAIL|SKIP):|PASS$|FAIL$|ok\s)/;

const STATUS: Record<string, Attempt['status']> = {
  pass: 'passed',
  fail: 'failed',
  skip: 'skipped',
};

/** An event's `Time` (RFC 3339, nanoseconds allowed) in ms since the epoch, when it is one. */
const timeOf = (v: unknown): number | undefined => {
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
};

export const parseGoTest = (text: string): ParsedTests => {
  const tests = new Map<string, Test>();
  const packages = new Map<string, { failed: boolean; ms: number; output?: string }>();
  let events = 0;
  let notJson = 0;
  let firstBad: number | undefined;
  /** `Elapsed` values that are not durations (negative, absurd, not numbers): counted as 0. */
  let badElapsed = 0;
  let firstBadElapsed: number | undefined;
  /** An event's `Elapsed` (seconds) in ms; 0 when absent, or, with a warning, not a duration. */
  const elapsed = (v: unknown, line: number): number => {
    if (v === undefined || v === null) return 0;
    const ms = validDurationMs(v, 1000);
    if (ms !== undefined) return ms;
    badElapsed++;
    firstBadElapsed ??= line;
    return 0;
  };
  /** Span of the events' `Time` stamps, in ms since the epoch. */
  let spanStart = Number.POSITIVE_INFINITY;
  let spanEnd = Number.NEGATIVE_INFINITY;

  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    let event: unknown;
    try {
      event = line.startsWith('{') ? JSON.parse(line) : undefined;
    } catch {
      event = undefined;
    }
    if (!isRecord(event) || typeof event.Action !== 'string') {
      notJson++;
      firstBad ??= i + 1;
      continue;
    }
    events++;
    const pkg = typeof event.Package === 'string' ? event.Package : '';
    const action = event.Action;
    const status = typeof action === 'string' ? ownEntry(STATUS, action) : undefined;
    const time = timeOf(event.Time);
    if (time !== undefined) {
      spanStart = Math.min(spanStart, time);
      spanEnd = Math.max(spanEnd, time);
    }
    if (typeof event.Test !== 'string' || event.Test === '') {
      let p = packages.get(pkg);
      if (!p) {
        p = { failed: false, ms: 0 };
        packages.set(pkg, p);
      }
      if (status) {
        const ms = elapsed(event.Elapsed, i + 1);
        p.ms += ms;
        // The package started Elapsed before its end event (the binary's start-up has no event).
        if (time !== undefined) spanStart = Math.min(spanStart, time - ms);
      }
      if (action === 'fail') p.failed = true;
      if (action === 'output' && p.output === undefined && typeof event.Output === 'string') {
        const out = firstLine(event.Output);
        if (out !== undefined && !RUNNER_LINE.test(out)) p.output = out;
      }
      continue;
    }
    const key = `${pkg}\u0000${event.Test}`;
    let test = tests.get(key);
    if (!test) {
      test = { pkg, name: event.Test, attempts: [] };
      tests.set(key, test);
    }
    if (status) test.attempts.push({ status, ms: elapsed(event.Elapsed, i + 1) });
    else if (
      action === 'output' &&
      test.message === undefined &&
      typeof event.Output === 'string'
    ) {
      const out = firstLine(event.Output);
      if (out !== undefined && !RUNNER_LINE.test(out)) test.message = out;
    }
  }
  if (events === 0)
    throw invalidReport(
      `Invalid ${WHAT}: no line is a test2json event ({"Action": ..., "Package": ...}); line ${firstBad ?? 1} is not one.`,
      { line: firstBad ?? 1 },
    );

  const cases: TestCase[] = [];
  /** Packages with a failed attempt of a test: their `fail` event is explained. */
  const failedPackages = new Set<string>();
  let unfinished = 0;
  for (const t of tests.values()) {
    if (t.attempts.length === 0) {
      unfinished++;
      continue;
    }
    const passed = t.attempts.some((a) => a.status === 'passed');
    const failed = t.attempts.some((a) => a.status === 'failed');
    const tc: TestCase = {
      suite: t.pkg,
      classname: t.pkg,
      name: t.name,
      status: passed ? 'passed' : failed ? 'failed' : 'skipped',
      flaky: passed && failed,
      durationMs: t.attempts.reduce((ms, a) => ms + a.ms, 0),
      retries: t.attempts.length - 1,
    };
    if (failed) failedPackages.add(t.pkg);
    if (tc.status === 'failed' && t.message !== undefined) tc.message = t.message;
    cases.push(tc);
  }

  const warnings: string[] = [];
  let packageMs = 0;
  for (const [pkg, p] of packages) {
    packageMs += p.ms;
    if (p.failed && !failedPackages.has(pkg)) {
      const tc: TestCase = {
        suite: pkg,
        classname: pkg,
        name: '(package)',
        status: 'failed',
        flaky: false,
        durationMs: p.ms,
        retries: 0,
      };
      if (p.output !== undefined) tc.message = p.output;
      cases.push(tc);
      warnings.push(
        `package ${pkg} failed without a failed test (build error, TestMain or a panic): counted as one failed test named "(package)"`,
      );
    }
  }
  // Packages run in parallel: the wall time from the events' Time stamps, never a sum, when known.
  let durationMs = spanEnd > spanStart ? spanEnd - spanStart : 0;
  let durationSource = 'event time span';
  if (durationMs === 0) {
    durationMs = packageMs;
    durationSource = 'sum of package times';
  }
  if (durationMs === 0) {
    durationMs = cases.reduce((ms, c) => ms + c.durationMs, 0);
    durationSource = 'sum of test case times';
  }

  const retried = cases.filter((c) => c.retries > 0).length;
  if (retried > 0)
    warnings.push(
      `${retried} test(s) ran more than once (gotestsum --rerun-fails or -count): read as attempts of one test; passed if an attempt passed (flaky when another failed)`,
    );
  if (unfinished > 0)
    warnings.push(
      `${unfinished} test(s) started but have no pass/fail/skip event (run cut short?)`,
    );
  if (badElapsed > 0)
    warnings.push(
      `${badElapsed} Elapsed value(s) are not durations from 0 to ${MAX_DURATION_MS / 1000} s (first: line ${firstBadElapsed}): they count as unknown, not in the durations`,
    );
  if (notJson > 0)
    warnings.push(
      `${notJson} line(s) are not test2json events and were skipped (first: line ${firstBad})`,
    );
  if (cases.length === 0) warnings.push('the output contains no tests');

  const summary = { total: cases.length, passed: 0, failed: 0, skipped: 0, flaky: 0, durationMs };
  for (const c of cases) {
    summary[c.status]++;
    if (c.flaky) summary.flaky++;
  }
  return { kind: 'tests', format: 'go-test', summary, warnings, cases, durationSource };
};
