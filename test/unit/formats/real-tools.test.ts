import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateConfigFor, parseConfig } from '../../../functions/core/config';
import {
  type CoverageMetric,
  type ParsedBenchmark,
  type ParsedCoverage,
  type ParsedTests,
  parseReport,
} from '../../../functions/core/formats';
import { RETRIES_NOT_RECORDED } from '../../../functions/core/formats/junit-model';
import { evaluateGate } from '../../../functions/core/gates/gate';

/**
 * Reports written by real tools (test/fixtures/real/generate.sh), each beside what the tool
 * printed. The expected counts are read from the console output here, never from Vigil: for
 * every tool, Vigil's counts must equal the tool's own.
 */

const REAL = join(__dirname, '../../fixtures/real');
const read = (path: string): string => readFileSync(join(REAL, path), 'utf8');

interface Counts {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  flaky: number;
}

/** `N word` pairs of one summary line, e.g. `3 failed, 9 passed` → { failed: 3, passed: 9 }. */
const pairs = (line: string, re = /(\d+) ([a-z]+)/g): Map<string, number> =>
  new Map([...line.matchAll(re)].map((m) => [m[2] ?? '', Number(m[1])]));

const lineOf = (text: string, re: RegExp): string => {
  const m = [...text.matchAll(new RegExp(re.source, `${re.flags.replace('g', '')}gm`))].pop();
  if (!m) throw new Error(`no console line matches ${re}`);
  return m[0];
};

const counts = (passed: number, failed: number, skipped: number, flaky = 0): Counts => ({
  total: passed + failed + skipped,
  passed,
  failed,
  skipped,
  flaky,
});

/** `== 3 failed, 9 passed, 1 skipped, 1 xfailed, 1 error, 7 rerun in 0.21s ==`. */
const pytest = (text: string): Counts => {
  const n = pairs(lineOf(text, /^=+ .* in [\d.]+s =+$/));
  const get = (k: string) => n.get(k) ?? 0;
  // xfailed counts as skipped, xpassed as passed, errors as failed (docs/tool-counts.md).
  // pytest-rerunfailures does not write reruns into the JUnit file: no flaky count there.
  return counts(
    get('passed') + get('xpassed'),
    get('failed') + get('error') + get('errors'),
    get('skipped') + get('xfailed'),
  );
};

/**
 * pytest `-rA`, one test per collected item: its short summary has a line per outcome, and a
 * test that errors in teardown has two (`PASSED`, `FAILED` or `XFAIL`, then `ERROR` or `XFAIL`),
 * which the closing line counts twice. A test with an `ERROR` or `FAILED` line failed. `SKIPPED`
 * lines name a location, not a test: the collected items with no named line are the skipped
 * ones (a test skipped in its body, then errored in teardown, has a `SKIPPED` and an `ERROR`).
 */
const pytestItems = (text: string): Counts => {
  const outcomes = new Map<string, string[]>();
  for (const m of text.matchAll(/^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+)/gm))
    outcomes.set(m[2] ?? '', [...(outcomes.get(m[2] ?? '') ?? []), m[1] ?? '']);
  const collected = Number(/^collected (\d+) items?$/m.exec(text)?.[1]);
  const skippedLines = [...text.matchAll(/^SKIPPED \[(\d+)\]/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  const all = [...outcomes.values()];
  const failed = all.filter((o) => o.includes('FAILED') || o.includes('ERROR')).length;
  const xfailed = all.filter((o) => o.includes('XFAIL') && !o.includes('ERROR')).length;
  const skipped = collected - all.length;
  expect(skipped).toBeLessThanOrEqual(skippedLines);
  return counts(all.length - failed - xfailed, failed, skipped + xfailed);
};

/**
 * pytest-xdist `-rA`: the workers print no `PASSED` lines, and `gw0 [36] / gw1 [36]` is the
 * number of tests. A test with an `ERROR` or `FAILED` line failed (one that failed, then errored
 * in teardown, has both, and the closing line counts it twice).
 */
const pytestXdistItems = (text: string): Counts => {
  const n = pairs(lineOf(text, /^=+ .* in [\d.]+s =+$/));
  const failed = new Set([...text.matchAll(/^(?:FAILED|ERROR) (\S+)/gm)].map((m) => m[1])).size;
  const skipped = (n.get('skipped') ?? 0) + (n.get('xfailed') ?? 0);
  const total = Number(/^gw0 \[(\d+)\]/m.exec(text)?.[1]);
  const c = counts(total - failed - skipped, failed, skipped);
  expect(c.passed).toBe((n.get('passed') ?? 0) + (n.get('xpassed') ?? 0));
  return c;
};

/** `Tests: 11, Assertions: 7, Errors: 1, Failures: 2, Skipped: 1, Incomplete: 1, Risky: 1.` */
const phpunit = (text: string): Counts => {
  const line = lineOf(text, /^Tests: \d+.*$/);
  const get = (k: string) => Number(new RegExp(`${k}: (\\d+)`).exec(line)?.[1] ?? 0);
  const total = get('Tests');
  const failed = get('Errors') + get('Failures');
  const skipped = get('Skipped') + get('Incomplete');
  return { total, passed: total - failed - skipped, failed, skipped, flaky: 0 };
};

/**
 * `Tests:       2 failed, 1 skipped, 1 todo, 6 passed, 10 total`; with `readsRetries`, the
 * flaky tests: `LOGGING RETRY ERRORS  <full name>` (retryTimes with logErrorsBeforeRetry) for a
 * test whose final line is `✓ <title>`. jest-junit does not record retries.
 */
const jest = (text: string, readsRetries = false): Counts => {
  const n = pairs(lineOf(text, /^Tests:.*total$/));
  const retried = [...text.matchAll(/LOGGING RETRY ERRORS\s+(.+)$/gm)].map((m) =>
    (m[1] ?? '').trim(),
  );
  const passedTitles = [...text.matchAll(/^\s+✓ (.+) \(\d+ ms\)$/gm)].map((m) => m[1] ?? '');
  const flaky = retried.filter((name) => passedTitles.some((t) => name.endsWith(t))).length;
  const c = counts(
    n.get('passed') ?? 0,
    n.get('failed') ?? 0,
    (n.get('skipped') ?? 0) + (n.get('todo') ?? 0),
    readsRetries ? flaky : 0,
  );
  expect(c.total).toBe(n.get('total'));
  return c;
};

/**
 * `Tests  2 failed | 6 passed | 1 skipped | 1 todo (10)`; with `readsRetries`, the flaky tests:
 * `✓ <title> 11ms (retry x1)`. Vitest's JUnit reporter does not record retries.
 */
const vitest = (text: string, readsRetries = false): Counts => {
  const line = lineOf(text, /^\s*Tests\s.*\(\d+\)$/);
  const n = pairs(line);
  const flaky = [...text.matchAll(/^\s+✓ .*\(retry x\d+\)$/gm)].length;
  const c = counts(
    n.get('passed') ?? 0,
    n.get('failed') ?? 0,
    (n.get('skipped') ?? 0) + (n.get('todo') ?? 0),
    readsRetries ? flaky : 0,
  );
  expect(c.total).toBe(Number(/\((\d+)\)$/.exec(line)?.[1]));
  return c;
};

/** mocha's spec reporter: `6 passing (48ms)`, `2 pending`, `2 failing`. */
const mocha = (text: string): Counts => {
  const get = (word: string) => Number(new RegExp(`^\\s+(\\d+) ${word}`, 'm').exec(text)?.[1] ?? 0);
  return counts(get('passing'), get('failing'), get('pending'));
};

/** node:test: `ℹ tests 13`, `ℹ pass 8`... */
const nodeTest = (text: string): Counts => {
  const get = (k: string) => Number(new RegExp(`^ℹ ${k} (\\d+)$`, 'm').exec(text)?.[1]);
  const c = counts(get('pass'), get('fail') + get('cancelled'), get('skipped') + get('todo'));
  expect(c.total).toBe(get('tests'));
  return c;
};

/** `11 examples, 3 failures, 3 pending`. */
const rspec = (text: string): Counts => {
  const n = pairs(lineOf(text, /^\d+ examples?, .*$/));
  const total = n.get('examples') ?? n.get('example') ?? 0;
  const failed = n.get('failures') ?? n.get('failure') ?? 0;
  const skipped = n.get('pending') ?? 0;
  return { total, passed: total - failed - skipped, failed, skipped, flaky: 0 };
};

/**
 * ctest: `75% tests passed, 2 tests failed out of 8` (disabled tests are not in the 8), then
 * the tests that did not run (skipped and disabled) and those that failed, among them the tests
 * it could not run (`(Not Run)`: a missing executable or required file, a failed fixture).
 */
const ctest = (text: string): Counts => {
  const m = /(\d+) tests failed out of (\d+)/.exec(text);
  const notRun = [...text.matchAll(/^\s+\d+ - \S+ \((Skipped|Disabled)\)$/gm)];
  const disabled = notRun.filter((r) => r[1] === 'Disabled').length;
  const total = Number(m?.[2]) + disabled;
  const failed = Number(m?.[1]);
  const skipped = notRun.length;
  return { total, passed: total - failed - skipped, failed, skipped, flaky: 0 };
};

/**
 * `go test -v` / gotestsum standard-verbose: one `--- PASS|FAIL|SKIP: Name` line per test and
 * run (parents and subtests alike), and `FAIL\t<pkg> [build failed]` for a package that did not
 * build (a failed test). With `--rerun-fails` on the command line, runs of one test are attempts:
 * passed if one passed, flaky when another failed; otherwise (`-count=N`) a test failed if any
 * run failed, as go prints FAIL for its package.
 */
const goVerbose = (text: string): Counts => {
  const reruns = /--rerun-fails/.test(text.split('\n')[0] ?? '');
  const seen = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^\s*--- (PASS|FAIL|SKIP): (\S+)/gm)) {
    const set = seen.get(m[2] ?? '') ?? new Set();
    set.add(m[1] ?? '');
    seen.set(m[2] ?? '', set);
  }
  for (const m of text.matchAll(/^FAIL\t(\S+) \[(?:build|setup) failed\]$/gm))
    seen.set(m[1] ?? '', new Set(['FAIL']));
  const c: Counts = { total: seen.size, passed: 0, failed: 0, skipped: 0, flaky: 0 };
  for (const s of seen.values()) {
    if (s.has('FAIL') && !(reruns && s.has('PASS'))) c.failed++;
    else if (s.has('PASS')) {
      c.passed++;
      if (s.has('FAIL')) c.flaky++;
    } else c.skipped++;
  }
  return c;
};

/** Playwright's closing lines: `2 failed`, `2 flaky`, `4 skipped`, `8 passed (2.1m)`. */
const playwright = (text: string, readsRetries: boolean): Counts => {
  const get = (k: string) => Number(new RegExp(`^\\s+(\\d+) ${k}\\b`, 'm').exec(text)?.[1] ?? 0);
  // Flaky tests passed in the end. Playwright's JUnit reporter cannot tell them apart.
  return counts(
    get('passed') + get('flaky'),
    get('failed'),
    get('skipped'),
    readsRetries ? get('flaky') : 0,
  );
};

const TESTS: [
  report: string,
  console: string,
  expected: (text: string) => Counts,
  format: string,
][] = [
  ['pytest/junit.xml', 'pytest/console.txt', pytest, 'junit'],
  ['pytest/junit-reruns.xml', 'pytest/console-reruns.txt', pytest, 'junit'],
  ['pytest/junit-xdist.xml', 'pytest/console-xdist.txt', pytest, 'junit'],
  ['pytest/junit-teardown.xml', 'pytest/console-teardown.txt', pytestItems, 'junit'],
  [
    'pytest/junit-teardown-outcomes.xml',
    'pytest/console-teardown-outcomes.txt',
    pytestItems,
    'junit',
  ],
  [
    'pytest/junit-xdist-teardown.xml',
    'pytest/console-xdist-teardown.txt',
    pytestXdistItems,
    'junit',
  ],
  ['phpunit/junit.xml', 'phpunit/console.txt', phpunit, 'junit'],
  ['phpunit/junit-risky.xml', 'phpunit/console-risky.txt', phpunit, 'junit'],
  ['phpunit/junit-more.xml', 'phpunit/console-more.txt', phpunit, 'junit'],
  ['jest/junit.xml', 'jest/console.txt', (t) => jest(t), 'junit'],
  ['jest/jest.json', 'jest/console.txt', (t) => jest(t, true), 'jest'],
  ['vitest/junit.xml', 'vitest/console.txt', (t) => vitest(t), 'junit'],
  ['vitest/vitest.json', 'vitest/console.txt', (t) => vitest(t, true), 'jest'],
  ['vitest/junit-hooks.xml', 'vitest/console-hooks.txt', (t) => vitest(t), 'junit'],
  ['vitest/junit-named.xml', 'vitest/console-named.txt', (t) => vitest(t), 'junit'],
  ['vitest/vitest-hooks.json', 'vitest/console-hooks.txt', (t) => vitest(t, true), 'jest'],
  ['mocha/junit.xml', 'mocha/console-spec.txt', mocha, 'junit'],
  ['mocha/xunit.xml', 'mocha/console-spec.txt', mocha, 'junit'],
  ['node-test/junit.xml', 'node-test/console.txt', nodeTest, 'junit'],
  ['rspec/junit.xml', 'rspec/console.txt', rspec, 'junit'],
  ['rspec/junit-more.xml', 'rspec/console-more.txt', rspec, 'junit'],
  ['cpp/ctest-junit.xml', 'cpp/console-ctest.txt', ctest, 'junit'],
  ['cpp/ctest-repeat-junit.xml', 'cpp/console-ctest-repeat.txt', ctest, 'junit'],
  ['cpp/ctest-notrun-junit.xml', 'cpp/console-ctest-notrun.txt', ctest, 'junit'],
  ['go/go-test.jsonl', 'go/console.txt', goVerbose, 'go-test'],
  ['go/gotestsum.jsonl', 'go/console-gotestsum.txt', goVerbose, 'go-test'],
  ['go/gotestsum-junit.xml', 'go/console-gotestsum.txt', goVerbose, 'junit'],
  ['go/go-test-count.jsonl', 'go/console-count.txt', goVerbose, 'go-test'],
  ['go/gotestsum-count-junit.xml', 'go/console-count.txt', goVerbose, 'junit'],
  [
    'playwright/playwright.json',
    'playwright/console.txt',
    (t) => playwright(t, true),
    'playwright',
  ],
  ['playwright/junit.xml', 'playwright/console.txt', (t) => playwright(t, false), 'junit'],
];

describe('real tools: test counts equal the console', () => {
  it.each(TESTS)('%s', (report, consoleFile, expected, format) => {
    // Prepare
    const want = expected(read(consoleFile));

    // Act
    const parsed = parseReport(read(report)) as ParsedTests;

    // Assess
    expect(parsed.format).toBe(format);
    const { total, passed, failed, skipped, flaky } = parsed.summary;
    expect({ total, passed, failed, skipped, flaky }).toEqual(want);
    expect(want.total).toBeGreaterThan(5);
  });

  it('reads a rerun that failed then passed as one flaky test (gotestsum --rerun-fails)', () => {
    const { cases } = parseReport(read('go/gotestsum-junit.xml')) as ParsedTests;
    expect(cases.filter((c) => c.name === 'TestFlaky')).toEqual([
      expect.objectContaining({ status: 'passed', flaky: true, retries: 1 }),
    ]);
    expect(cases.find((c) => c.name === 'TestFails')).toMatchObject({
      status: 'failed',
      retries: 2,
    });
  });

  it('reads go test -count=2 as one test per name, failed if a run failed (go prints FAIL)', () => {
    const { cases, warnings } = parseReport(read('go/go-test-count.jsonl')) as ParsedTests;
    expect(cases.find((c) => c.name === 'TestFlaky')).toMatchObject({
      status: 'failed',
      flaky: false,
    });
    expect(warnings.join('\n')).toContain('-count');
  });

  // go prints `FAIL\t<pkg> [build failed]` as plain text among the JSON events (before Go 1.24);
  // gotestsum writes no <testcase> for it, only the root's errors="1".
  it.each([
    ['go/go-test-build.jsonl', '(package)'],
    ['go/gotestsum-build-junit.xml', '(errors)'],
  ])('reads a package that did not build as a failed test: %s', (report, name) => {
    // Prepare
    const want = goVerbose(read('go/console-build.txt'));

    // Act
    const parsed = parseReport(read(report)) as ParsedTests;

    // Assess
    const { total, passed, failed, skipped, flaky } = parsed.summary;
    expect({ total, passed, failed, skipped, flaky }).toEqual(want);
    expect(want.failed).toBe(1);
    expect(parsed.cases.find((c) => c.status === 'failed')?.name).toBe(name);
  });

  // Every package failed to build: gotestsum writes `<testsuites errors="1">` and no suite at all.
  it('reads a gotestsum JUnit with only packages that did not build as a failed test', () => {
    // Prepare: gotestsum prints the build failure only inside its warnings, and no test.
    const text = read('go/console-onlybroken-gotestsum.txt');
    expect(text).toContain('[build failed]');
    expect(lineOf(text, /^DONE .*$/)).toMatch(/^DONE 0 tests, 1 error in /);

    // Act
    const parsed = parseReport(read('go/gotestsum-onlybroken-junit.xml')) as ParsedTests;

    // Assess: the run failed, as the package that did not build does in go test -json.
    const { total, passed, failed, skipped, flaky } = parsed.summary;
    expect({ total, passed, failed, skipped, flaky }).toEqual(counts(0, 1, 0));
    expect(parsed.cases.map((c) => c.name)).toEqual(['(errors)']);
  });

  // rspec_junit_formatter writes each example once: two examples with one description are two
  // tests, never a failed attempt and a rerun.
  it('reads RSpec examples with the same description as separate tests', () => {
    // Prepare
    const want = rspec(read('rspec/console-samename.txt'));

    // Act
    const parsed = parseReport(read('rspec/junit-samename.xml')) as ParsedTests;

    // Assess
    const { total, passed, failed, skipped, flaky } = parsed.summary;
    expect({ total, passed, failed, skipped, flaky }).toEqual(want);
    expect(want).toMatchObject({ total: 4, failed: 2 });
    expect(parsed.cases.filter((c) => c.name === 'Parser works').map((c) => c.status)).toEqual([
      'failed',
      'passed',
    ]);
    expect(parsed.warnings).toEqual([RETRIES_NOT_RECORDED.rspec]);
  });

  // Vitest and jest-junit let users rename the root (`suiteName`): the dialect is told by what
  // they write on each file's suite, so repeated titles stay tests of their own (not a failure
  // and its rerun), jest's todo tests stay skipped, and the duration gate reads the same time.
  it.each([
    [
      'vitest/junit-named.xml',
      'vitest/junit.xml',
      'vitest',
      read('vitest/console-named.txt'),
      vitest,
    ],
    [
      'jest/junit.xml (root renamed)',
      'jest/junit.xml',
      'jest-junit',
      read('jest/console.txt'),
      (t: string) => jest(t),
    ],
  ] as const)(
    'tells %s by its suites, not its root name',
    (file, named, dialect, text, expected) => {
      // Prepare
      const report = file.endsWith('(root renamed)')
        ? read(named).replace('<testsuites name="jest tests"', '<testsuites name="unit"')
        : read(file);
      expect(report).not.toContain(`name="${dialect === 'vitest' ? 'vitest' : 'jest'} tests"`);
      const want = expected(text);

      // Act
      const parsed = parseReport(report) as ParsedTests;
      const gate = evaluateGate(parsed, gateConfigFor(parseConfig({}), 'p'));

      // Assess
      expect(parsed.dialect).toBe(dialect);
      const { total, passed, failed, skipped, flaky } = parsed.summary;
      expect({ total, passed, failed, skipped, flaky }).toEqual(want);
      expect(want.failed).toBe(2);
      expect(gate.status).toBe('fail');
      // The duration is read as for the default root name (Vitest's: the longest file).
      expect(parsed.durationSource).toBe((parseReport(read(named)) as ParsedTests).durationSource);
    },
  );

  // ctest writes a test it could not run as `status="notrun"` with a <skipped> child, as it does
  // its skips, but counts it as failed (`5 tests failed out of 8`, exit code 8).
  it('reads the tests ctest could not run as failed, with the reason, and its skips as skipped', () => {
    // Prepare
    const text = read('cpp/console-ctest-notrun.txt');
    const notRun = [...text.matchAll(/^\s+\d+ - (\S+) \(Not Run\)$/gm)].map((m) => m[1]);
    expect(notRun).toEqual(['not_built', 'needs_file', 'uses_db']);

    // Act
    const parsed = parseReport(read('cpp/ctest-notrun-junit.xml')) as ParsedTests;
    const gate = evaluateGate(parsed, gateConfigFor(parseConfig({}), 'p'));

    // Assess
    const status = (name: string) => parsed.cases.find((c) => c.name === name);
    expect(status('not_built')).toMatchObject({
      status: 'failed',
      message: 'Unable to find executable',
    });
    expect(status('needs_file')).toMatchObject({
      status: 'failed',
      message: 'Required Files Missing',
    });
    expect(status('uses_db')).toMatchObject({
      status: 'failed',
      message: 'Fixture dependency failed',
    });
    for (const name of ['skip_code', 'skip_regex', 'disabled'])
      expect(status(name)?.status).toBe('skipped');
    expect(parsed.warnings).toEqual([
      '3 test(s) ctest could not run ("not_built: Unable to find executable", "needs_file: Required Files Missing", "uses_db: Fixture dependency failed"), written as skipped: counted as failed, as ctest counts them',
      RETRIES_NOT_RECORDED.ctest,
    ]);
    expect(gate.status).toBe('fail');
  });

  // A failed beforeAll and afterAll, and a file that fails at import: Vitest's JUnit writes each
  // as a failed <testcase>, but Vitest counts none as a test (`Tests  4 passed | 3 skipped (7)`,
  // `Test Files  3 failed`, `Failed Suites 3`). They are errors of the run and fail the gate.
  it('reads Vitest JSON hook and file errors as errors of the run, not tests, and fails the gate', () => {
    // Prepare: the JSON has no suite names, only the files that failed without a failed test.
    const text = read('vitest/console-hooks.txt');
    const failedFiles = Number(/Test Files\s+(\d+) failed/.exec(text)?.[1]);

    // Act
    const parsed = parseReport(read('vitest/vitest-hooks.json')) as ParsedTests;
    const gate = evaluateGate(parsed, gateConfigFor(parseConfig({}), 'p'));

    // Assess
    expect(parsed.errors?.map((e) => e.name).sort()).toEqual([
      'after-all.test.js',
      'before-all.test.js',
      'crash.test.js',
    ]);
    expect(parsed.errors).toHaveLength(failedFiles);
    expect(parsed.summary.failed).toBe(0);
    expect(gate.status).toBe('fail');
  });

  it('reads a Vitest JSON where every file failed to load as errors, no tests, and fails the gate', () => {
    // Prepare: Vitest printed `Test Files  2 failed (2)` and `Tests  no tests`.
    const colour = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
    const text = read('vitest/console-crash.txt').replace(colour, '');
    const failedFiles = Number(/Test Files\s+(\d+) failed/.exec(text)?.[1]);
    expect(text).toMatch(/Tests\s+no tests/);

    // Act
    const parsed = parseReport(read('vitest/vitest-crash.json')) as ParsedTests;

    // Assess
    expect(parsed.summary.total).toBe(0);
    expect(parsed.errors?.map((e) => e.name)).toEqual(['a.test.js', 'b.test.js']);
    expect(parsed.errors).toHaveLength(failedFiles);
    expect(evaluateGate(parsed, gateConfigFor(parseConfig({}), 'p')).status).toBe('fail');
  });

  it('reads Vitest JUnit hook and file errors as errors of the run, not tests, and fails the gate', () => {
    // Prepare: each failed suite is a `FAIL  <file> > <suite>` or `FAIL  <file> [ <file> ]` line.
    const text = read('vitest/console-hooks.txt');
    const failedSuites = Number(/Failed Suites (\d+)/.exec(text)?.[1]);
    const named = [...text.matchAll(/^ FAIL {2}(\S+) (?:> (.+)|\[ \S+ \])$/gm)].map((m) => ({
      file: m[1],
      name: m[2] ?? m[1],
    }));
    expect(named).toHaveLength(failedSuites);
    expect(lineOf(text, /^\s*Tests\s.*$/)).not.toContain('failed');

    // Act
    const parsed = parseReport(read('vitest/junit-hooks.xml')) as ParsedTests;
    const gate = evaluateGate(parsed, gateConfigFor(parseConfig({}), 'p'));

    // Assess
    expect(parsed.errors?.map((e) => ({ file: e.file, name: e.name }))).toEqual(
      expect.arrayContaining(named),
    );
    expect(parsed.errors).toHaveLength(failedSuites);
    expect(parsed.errors?.find((e) => e.name === 'crash.test.js')?.message).toBe(
      'cannot load the module under test',
    );
    expect(parsed.summary.failed).toBe(0);
    expect(parsed.warnings.filter((w) => w.startsWith('declared'))).toEqual([]);
    expect(gate.status).toBe('fail');
    expect(gate.checks.find((c) => c.id === 'tests.failed')).toMatchObject({
      status: 'fail',
      actual: failedSuites,
    });
  });

  // pytest's `tests` attribute counts outcomes (passed + failure + skipped + error - double
  // failures): a test that passed or was skipped, then errored in teardown, is one <testcase>
  // counted twice; one that failed, then errored in teardown, two counted once. The declared
  // counts are pytest's own: no warning, but a file that does not hold them still gets one.
  it.each([
    ['pytest/junit-teardown-outcomes.xml', 'pytest/console-teardown-outcomes.txt'],
    ['pytest/junit-teardown.xml', 'pytest/console-teardown.txt'],
    ['pytest/junit-xdist-teardown.xml', 'pytest/console-xdist-teardown.txt'],
  ])('%s: pytest declared counts of teardown errors give no false warning', (file, consoleFile) => {
    // Prepare: pytest's closing line counts outcomes; the declared tests are its sum.
    const text = read(file);
    const closing = pairs(lineOf(read(consoleFile), /^=+ .* in [\d.]+s =+$/));
    const outcomes = [...closing.values()].reduce((a, b) => a + b, 0);
    const declared = Number(/<testsuite [^>]*\btests="(\d+)"/.exec(text)?.[1]);

    // Act
    const parsed = parseReport(text) as ParsedTests;
    const changed = parseReport(
      text.replace(/(<testsuite [^>]*\btests=")\d+/, `$1${declared + 1}`),
    );

    // Assess
    expect(parsed.warnings.filter((w) => w.startsWith('declared'))).toEqual([]);
    expect(declared).toBeLessThanOrEqual(outcomes);
    expect(changed.warnings).toContain(
      `declared tests=${declared + 1} but found ${parsed.summary.total} <testcase> elements`,
    );
  });

  it('reads every kind of PHPUnit 9 risky test as passed, as PHPUnit counts them', () => {
    const parsed = parseReport(read('phpunit/junit-risky.xml')) as ParsedTests;
    // MissingCoversAnnotationException, OutputError and RiskyTestError: 5 errors in 4 tests.
    expect(parsed.warnings).toEqual([
      '4 risky test(s) ("testNoCovers", "testOutput", "testNoAssertions" and 1 more): written as <error> but counted as passed, as PHPUnit counts them',
    ]);
  });

  it('keeps non-ASCII names and says what it read differently from the elements', () => {
    const php = parseReport(read('phpunit/junit.xml')) as ParsedTests;
    expect(php.cases.map((c) => c.name)).toContain('testUnicodeÜnïcödé名前');
    expect(php.cases.find((c) => c.name === 'testRiskyNoAssertions')?.status).toBe('passed');
    expect(php.warnings).toEqual([
      '1 risky test(s) ("testRiskyNoAssertions"): written as <error> but counted as passed, as PHPUnit counts them',
    ]);
    const ctestRun = parseReport(read('cpp/ctest-junit.xml')) as ParsedTests;
    expect(ctestRun.cases.find((c) => c.name === 'disabled')?.status).toBe('skipped');
    expect(ctestRun.warnings).toEqual([RETRIES_NOT_RECORDED.ctest]);
    const node = parseReport(read('node-test/junit.xml')) as ParsedTests;
    expect(node.warnings).toEqual([]);
    expect(node.cases.find((c) => c.name === 'is a todo that fails')?.status).toBe('skipped');
    // Its own wall time, as its console says it (`ℹ duration_ms 1312.019533`), from the comment.
    expect(node.summary.durationMs).toBeCloseTo(1312.019533, 3);
    expect(node.durationSource).toBe('root time');
    const mochaRun = parseReport(read('mocha/junit.xml')) as ParsedTests;
    expect(mochaRun.warnings[0]).toContain('2 skipped (pending) test(s) have no <testcase>');
  });

  // These files keep only a retried test's last attempt, and their consoles counted reruns the
  // file cannot show: the answer must say that flaky tests are invisible in them.
  it.each([
    ['pytest/junit-reruns.xml', 'pytest', 'does not record reruns'],
    ['jest/junit.xml', 'jest-junit', 'jest.retryTimes'],
    ['vitest/junit.xml', 'vitest', 'vitest --reporter=json'],
    ['cpp/ctest-repeat-junit.xml', 'ctest', '--repeat until-pass'],
    ['playwright/junit.xml', 'playwright', 'JSON reporter'],
  ])('%s says its dialect (%s) does not record retries', (file, dialect, hint) => {
    const parsed = parseReport(read(file)) as ParsedTests;
    expect(parsed.dialect).toBe(dialect);
    expect(parsed.summary.flaky).toBe(0);
    expect(parsed.warnings.filter((w) => w.includes(hint))).toHaveLength(1);
  });
});

const pct = (m: CoverageMetric | undefined): number | null | undefined => m?.pct;

/** `lines: 83.3% (5 out of 6)` → [covered, total]. */
const gcovrLine = (text: string, what: string): [number, number] => {
  const m = new RegExp(`^${what}: [\\d.]+% \\((\\d+) out of (\\d+)\\)$`, 'm').exec(text);
  return [Number(m?.[1]), Number(m?.[2])];
};

describe('real tools: coverage equals the console, and what was not measured is null', () => {
  it.each(['cpp/gcovr-cobertura.xml', 'cpp/gcovr-summary.json'])('gcovr %s', (report) => {
    const text = read('cpp/console-gcovr.txt');
    const s = (parseReport(read(report)) as ParsedCoverage).summary;
    expect([s.lines.covered, s.lines.total]).toEqual(gcovrLine(text, 'lines'));
    expect([s.functions.covered, s.functions.total]).toEqual(gcovrLine(text, 'functions'));
    expect([s.branches.covered, s.branches.total]).toEqual(gcovrLine(text, 'branches'));
  });

  it('coverage.py without --branch: lines from the TOTAL line, branches and functions not measured', () => {
    const total = lineOf(read('pytest/console-coverage.txt'), /^TOTAL\s.*$/).split(/\s+/);
    const [stmts, miss] = [Number(total[1]), Number(total[2])];
    const s = (parseReport(read('pytest/coverage.xml')) as ParsedCoverage).summary;
    expect([s.lines.covered, s.lines.total]).toEqual([stmts - miss, stmts]);
    expect(Math.round(pct(s.lines) ?? 0)).toBe(Number(total[3]?.replace('%', '')));
    expect(s.branches).toMatchObject({
      pct: null,
      reason: expect.stringContaining('no branch data'),
    });
    expect(s.functions).toMatchObject({
      pct: null,
      reason: expect.stringContaining('no function data'),
    });
  });

  it('coverage.py --branch: lines and branches give the printed Cover %', () => {
    // `Name Stmts Miss Branch BrPart Cover`: Cover = (covered lines + covered branches) / (Stmts + Branch).
    const total = lineOf(read('pytest/console-coverage-branch.txt'), /^TOTAL\s.*$/).split(/\s+/);
    const [stmts, miss, branch, cover] = [1, 2, 3, 5].map((i) =>
      Number(total[i]?.replace('%', '')),
    );
    const s = (parseReport(read('pytest/coverage-branch.xml')) as ParsedCoverage).summary;
    expect(s.branches.total).toBe(branch);
    expect([s.lines.covered, s.lines.total]).toEqual([(stmts ?? 0) - (miss ?? 0), stmts]);
    const combined =
      ((s.lines.covered + s.branches.covered) / ((stmts ?? 0) + (branch ?? 0))) * 100;
    expect(Math.round(combined)).toBe(cover);
    expect(s.functions.pct).toBeNull();
  });

  it('PHPUnit with pcov: lines and methods as printed, branches not measured', () => {
    const text = read('phpunit/console-coverage.txt');
    const get = (k: string) =>
      /\(\s*(\d+)\/\s*(\d+)\)/
        .exec(lineOf(text, new RegExp(`^\\s+${k}:.*$`)))
        ?.slice(1)
        .map(Number);
    const s = (parseReport(read('phpunit/cobertura.xml')) as ParsedCoverage).summary;
    expect([s.lines.covered, s.lines.total]).toEqual(get('Lines'));
    expect([s.functions.covered, s.functions.total]).toEqual(get('Methods'));
    expect(s.branches.pct).toBeNull();
  });

  it.each(['c8/lcov.info', 'c8/cobertura-coverage.xml', 'c8/coverage-summary.json'])(
    'c8 %s: the percentages of the text table',
    (report) => {
      // `All files | % Stmts | % Branch | % Funcs | % Lines` (istanbul truncates to 2 decimals):
      // the same figures from Istanbul's own reports; LCOV, which any tool writes, is rounded.
      const cells = lineOf(read('c8/console.txt'), /^All files\s*\|.*$/)
        .split('|')
        .map((c) => Number(c.trim()));
      const s = (parseReport(read(report)) as ParsedCoverage).summary;
      const near = (ours: number | null | undefined, printed: number | undefined) =>
        report.endsWith('lcov.info')
          ? expect(Math.abs((ours ?? Number.NaN) - (printed ?? Number.NaN))).toBeLessThanOrEqual(
              0.011,
            )
          : expect(ours).toBe(printed);
      near(pct(s.branches), cells[2]);
      near(pct(s.functions), cells[3]);
      near(pct(s.lines), cells[4]);
      if (s.statements) near(pct(s.statements), cells[1]);
    },
  );

  it('Go cover profile: statements as `go tool cover -func` prints the total', () => {
    const printed = Number(
      /\(statements\)\s+([\d.]+)%/.exec(read('go/console-cover-func.txt'))?.[1],
    );
    const s = (parseReport(read('go/cover.out')) as ParsedCoverage).summary;
    expect(s.statements?.pct).toBe(printed);
    expect([s.lines.pct, s.branches.pct, s.functions.pct]).toEqual([null, null, null]);
  });
});

describe('real tools: benchmarks equal the console', () => {
  it('go test -bench: ns/op, B/op and allocs/op as separate series with units', () => {
    const text = read('go/console-bench.txt');
    const { benchmarks } = (parseReport(read('go/bench.txt')) as ParsedBenchmark).summary;
    const rows = [
      ...text.matchAll(
        /^(Benchmark\S+)-\d+\s+\d+\s+([\d.]+) ns\/op\s+(\d+) B\/op\s+(\d+) allocs\/op$/gm,
      ),
    ];
    expect(rows.length).toBe(4);
    expect(benchmarks).toHaveLength(rows.length * 3);
    for (const [, name, ns, bytes, allocs] of rows) {
      expect(benchmarks).toContainEqual(
        expect.objectContaining({ name, unit: 'ns/op', value: Number(ns) }),
      );
      expect(benchmarks).toContainEqual(
        expect.objectContaining({ name: `${name} (B/op)`, unit: 'B/op', value: Number(bytes) }),
      );
      expect(benchmarks).toContainEqual(
        expect.objectContaining({
          name: `${name} (allocs/op)`,
          unit: 'allocs/op',
          value: Number(allocs),
        }),
      );
    }
  });

  // A benchmark that prints to stdout: go prints its name, then the printed text (a line, or
  // text without a newline on the name's line, even before the name), then its figures.
  it('go test -bench: benchmarks that print to stdout keep their results; a failed one is a warning', () => {
    // Prepare: each name header (`BenchmarkX-2 <tab>`) and the next `N<tab> value ns/op` after it.
    const text = read('go/console-bench-print.txt');
    const runs = new Map<string, number[]>();
    for (const [, name, ns] of text.matchAll(
      /(Benchmark\S+)-2 *\t(?:(?!Benchmark)[\s\S])*?\s\d+\t *([\d.]+) ns\/op/g,
    ))
      runs.set(name ?? '', [...(runs.get(name ?? '') ?? []), Number(ns)]);
    expect(runs.size).toBe(5);
    expect([...runs.values()].every((v) => v.length === 2)).toBe(true);

    // Act
    const parsed = parseReport(read('go/bench-print.txt')) as ParsedBenchmark;

    // Assess
    for (const [name, values] of runs)
      expect(parsed.summary.benchmarks).toContainEqual(
        expect.objectContaining({
          name,
          unit: 'ns/op',
          value: ((values[0] ?? 0) + (values[1] ?? 0)) / 2,
          samples: 2,
        }),
      );
    expect(
      parsed.summary.benchmarks.find((b) => b.name === 'BenchmarkMetric (widgets/op)'),
    ).toMatchObject({ value: 42 });
    expect(text).toContain('--- FAIL: BenchmarkFails-2');
    expect(parsed.summary.benchmarks.some((b) => b.name.startsWith('BenchmarkFails'))).toBe(false);
    expect(parsed.warnings).toEqual([expect.stringContaining('BenchmarkFails-2: failed')]);
  });

  it('Google Benchmark: the mean aggregates of the repetitions, real and CPU time', () => {
    const text = read('cpp/console-benchmark.txt');
    const parsed = parseReport(read('cpp/benchmark.json')) as ParsedBenchmark;
    const means = [...text.matchAll(/^(\S+)_mean\s+([\d.]+) ns\s+([\d.]+) ns\s+(\d+)/gm)];
    expect(means.length).toBe(6);
    const close = (ours: number | undefined, printed: string | undefined) =>
      expect(Math.abs((ours ?? 0) / Number(printed) - 1)).toBeLessThan(0.005);
    for (const [, name, real, cpu, reps] of means) {
      const b = parsed.summary.benchmarks.find((x) => x.name === name);
      close(b?.value, real);
      expect(b?.samples).toBe(Number(reps));
      close(parsed.summary.benchmarks.find((x) => x.name === `${name} (cpu)`)?.value, cpu);
    }
    expect(parsed.warnings).toEqual([
      'the benchmark library was built as DEBUG: timings may be affected',
    ]);
  });
});
