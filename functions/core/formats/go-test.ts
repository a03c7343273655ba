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
 * them. The same test seen again is another run of one test. gotestsum `--rerun-fails` runs
 * `go test` again, so the package ends more than once (several package `pass`/`fail` events):
 * its runs are attempts, passed if one passed, flaky when another failed. `-count=N` ends the
 * package once, and go fails it if any run failed: so does the test. A package whose last end is
 * `fail` with no failed test (build error, TestMain, panic outside a test) counts as one failed
 * test named `(package)`. Before Go 1.24 a package that does not build is a plain-text line,
 * `FAIL\t<pkg> [build failed]` (or `[setup failed]`): a failed `(package)` too. Other lines that
 * are not JSON (build output) are skipped with a warning.
 *
 * Duration: `go test` runs packages in parallel, so their `Elapsed` times add up to more than the
 * run took. When the events carry `Time`, the duration is the wall time: from the earliest event
 * (or a package's start, its end `Time` less its `Elapsed`, when earlier) to the latest event.
 * Without `Time` it is the sum of the packages' `Elapsed`, else of the tests'. Which one was used
 * is reported in `durationSource`.
 */

const WHAT = 'go test -json output';

/** go's plain-text line for a package that did not build, before Go 1.24. */
const BUILD_FAILED = /^FAIL\t(\S+) \[(?:build|setup) failed\]$/;

/** The first line, after any build-failure lines, is a test2json event (or there is none). */
export const looksLikeGoTestJson = (text: string): boolean => {
  let start = text.search(/\S/);
  let skipped = false;
  for (;;) {
    if (start < 0) return skipped;
    if (text[start] === '{') break;
    const end = text.indexOf('\n', start);
    if (!BUILD_FAILED.test(text.slice(start, end < 0 ? undefined : end).trim())) return false;
    skipped = true;
    if (end < 0) return true;
    const next = text.slice(end).search(/\S/);
    start = next < 0 ? -1 : end + next;
  }
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
  /** Per package: its last end (`pass`/`fail`) failed, and how many ends (runs of go test). */
  const packages = new Map<
    string,
    { failed: boolean; ends: number; ms: number; output?: string }
  >();
  const packageOf = (pkg: string) => {
    let p = packages.get(pkg);
    if (!p) {
      p = { failed: false, ends: 0, ms: 0 };
      packages.set(pkg, p);
    }
    return p;
  };
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
    const build = event === undefined ? BUILD_FAILED.exec(line) : null;
    if (build) {
      const p = packageOf(build[1] as string);
      p.failed = true;
      p.ends++;
      p.output ??= line.slice(5);
      events++;
      continue;
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
      const p = packageOf(pkg);
      if (status) {
        // The last end decides: a rerun that passed clears a failed first run.
        p.failed = action === 'fail';
        p.ends++;
        const ms = elapsed(event.Elapsed, i + 1);
        p.ms += ms;
        // The package started Elapsed before its end event (the binary's start-up has no event).
        if (time !== undefined) spanStart = Math.min(spanStart, time - ms);
      }
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
  /** Packages with a failed test: their `fail` event is explained. */
  const failedPackages = new Set<string>();
  let unfinished = 0;
  let reruns = 0;
  let repeats = 0;
  for (const t of tests.values()) {
    if (t.attempts.length === 0) {
      unfinished++;
      continue;
    }
    const passed = t.attempts.some((a) => a.status === 'passed');
    const failed = t.attempts.some((a) => a.status === 'failed');
    // Several ends of the package: go test ran again (--rerun-fails). One: -count=N runs.
    const rerun = (packages.get(t.pkg)?.ends ?? 0) > 1;
    if (t.attempts.length > 1) {
      if (rerun) reruns++;
      else repeats++;
    }
    const tc: TestCase = {
      suite: t.pkg,
      classname: t.pkg,
      name: t.name,
      status: failed && !(rerun && passed) ? 'failed' : passed ? 'passed' : 'skipped',
      flaky: rerun && passed && failed,
      durationMs: t.attempts.reduce((ms, a) => ms + a.ms, 0),
      retries: t.attempts.length - 1,
    };
    if (tc.status === 'failed') failedPackages.add(t.pkg);
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

  if (reruns > 0)
    warnings.push(
      `${reruns} test(s) ran more than once in reruns of their package (gotestsum --rerun-fails): read as attempts of one test; passed if an attempt passed (flaky when another failed)`,
    );
  if (repeats > 0)
    warnings.push(
      `${repeats} test(s) ran more than once in one run of their package (go test -count): read as one test, failed if a run failed, as go fails the package`,
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
