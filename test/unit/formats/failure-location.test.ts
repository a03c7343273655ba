import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ParsedTests, parseReport } from '../../../functions/core/formats';
import { parseJunit } from '../../../functions/core/formats/junit';
import {
  DETAIL_MAX_CHARS,
  DETAILS_MAX_TESTS,
  detailOf,
  frameIn,
  lineIn,
  lineNumber,
} from '../../../functions/core/formats/types';

/**
 * Where a failed test failed (file and line, for annotations on the pull request) and its full
 * failure text (for the dashboard's run page), read from reports written by the real tools. The
 * expected lines are the lines of the assertions in test/fixtures/real/projects/.
 */

const REAL = join(__dirname, '../../fixtures/real');
const read = (path: string): string => readFileSync(join(REAL, path), 'utf8');
const failed = (path: string) =>
  (parseReport(read(path)) as ParsedTests).cases.filter((c) => c.status === 'failed');
/** The source line a project file has at `line`, to show that the line is the assertion's. */
const sourceLine = (project: string, file: string, line: number): string =>
  readFileSync(join(REAL, 'projects', project, file), 'utf8').split('\n')[line - 1] ?? '';

describe('failure location and detail from real reports', () => {
  it.each([
    ['jest/junit.xml', 'jest', 'calc.test.js'],
    ['jest/jest.json', 'jest', 'calc.test.js'],
    ['vitest/junit.xml', 'vitest', 'calc.test.js'],
    ['vitest/vitest.json', 'vitest', 'calc.test.js'],
    ['mocha/junit.xml', 'mocha', 'calc.test.js'],
    ['playwright/playwright.json', 'playwright', 'calc.spec.mjs'],
    ['playwright/junit.xml', 'playwright', 'calc.spec.mjs'],
    ['phpunit/junit.xml', 'phpunit', 'tests/CalcTest.php'],
    ['rspec/junit.xml', 'rspec', 'spec/calc_spec.rb'],
    // pytest's default JUnit (xunit2) has no file attribute: its traceback's last line names it.
    ['pytest/junit.xml', 'pytest', 'test_calc.py'],
  ])('%s: each failed test points at its failing line', (report, project, file) => {
    const cases = failed(report);
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      expect(c.file?.endsWith(file.split('/').pop() as string)).toBe(true);
      expect(c.line).toBeGreaterThan(0);
      // The line holds the failing statement (an assertion or a throw), not a comment or a header.
      expect(sourceLine(project, file, c.line as number)).toMatch(/expect|assert|raise|throw/i);
      expect(c.details?.split('\n').length).toBeGreaterThan(1);
    }
  });

  it('names the first line that differs from the message only once, and keeps colour codes out', () => {
    const [c] = failed('playwright/playwright.json');
    expect(c?.message).toBe('Error: expect(received).toBe(expected) // Object.is equality');
    expect(c?.details).toContain('Expected: "6"');
    expect(c?.details).not.toContain('\u001b[');
  });

  it('reads the test line pytest writes 0-based (xunit1) as 1-based', () => {
    const parsed = parseJunit(
      `<testsuites><testsuite name="pytest" tests="1"><testcase classname="t" name="a" file="tests/test_a.py" line="9"/></testsuite></testsuites>`,
    );
    expect(parsed.cases[0]).toMatchObject({ file: 'tests/test_a.py', line: 10 });
  });

  it('prefers the failing frame in the test file to the test line, and ignores bad line values', () => {
    const parsed = parseJunit(`<testsuite name="s" tests="3">
      <testcase name="a" file="/w/tests/ATest.php" line="20"><failure>boom
/w/tests/ATest.php:27</failure></testcase>
      <testcase name="b" file="/w/tests/ATest.php" line="0"/>
      <testcase name="c" file="/w/tests/ATest.php" line="1e3"/>
    </testsuite>`);
    expect(parsed.cases.map((c) => c.line)).toEqual([27, undefined, undefined]);
  });

  it('keeps the detail of at most DETAILS_MAX_TESTS failed tests, each capped', () => {
    const long = 'x'.repeat(DETAIL_MAX_CHARS * 2);
    const cases = Array.from(
      { length: DETAILS_MAX_TESTS + 5 },
      (_, i) => `<testcase name="t${i}"><failure message="m">first\n${long}</failure></testcase>`,
    ).join('');
    const parsed = parseJunit(`<testsuite name="s">${cases}</testsuite>`);
    const details = parsed.cases.map((c) => c.details).filter((d) => d !== undefined);
    expect(details).toHaveLength(DETAILS_MAX_TESTS);
    expect(details.every((d) => d.length <= DETAIL_MAX_CHARS)).toBe(true);
    expect(parsed.cases.every((c) => c.message === 'm')).toBe(true);
  });
});

describe('stack frame readers', () => {
  it('finds the first frame in the project, not in node_modules or Node itself', () => {
    const stack = `Error: no
    at node:internal/process/task_queues:95:5
    at Object.<anonymous> (/w/node_modules/jest-circus/build/utils.js:298:28)
    at Object.toBe (/w/src/sum.test.ts:10:5)`;
    expect(frameIn(stack)).toEqual({ file: '/w/src/sum.test.ts', line: 10 });
    expect(frameIn('at file:///w/a.mjs:3:1')).toEqual({ file: '/w/a.mjs', line: 3 });
    // Windows runners (dorny-jest-junit.xml): backslashes, and node_modules spelled with them.
    const windows = `at Object.x (C:\\w\\node_modules\\jest\\a.js:1:1)
    at Object.<anonymous> (C:\\w\\__tests__\\main.test.js:10:21)`;
    expect(frameIn(windows)).toEqual({ file: 'C:\\w\\__tests__\\main.test.js', line: 10 });
    expect(frameIn('    at Context.<anonymous> (calc.test.js:13:43)')).toEqual({
      file: 'calc.test.js',
      line: 13,
    });
    // pytest ends a traceback section with the file as it ran it, relative to the root.
    expect(frameIn('E   assert 6 == 7\n\ntest_calc.py:12: AssertionError')).toEqual({
      file: 'test_calc.py',
      line: 12,
    });
    // Go writes the file without its package directory: not a path an annotation can use.
    expect(frameIn('    calc_test.go:25: Add(3,3)=6, want 7')).toBeUndefined();
    expect(frameIn('calc_test.go:25: Add(3,3)=6, want 7')).toBeUndefined();
    expect(frameIn(undefined)).toBeUndefined();
  });

  it('finds a line of a given file in pytest, PHPUnit and Python traceback styles', () => {
    expect(lineIn('tests/test_a.py:12: AssertionError', 'tests/test_a.py')).toBe(12);
    expect(lineIn('File "/w/tests/test_a.py", line 7, in test_x', 'tests/test_a.py')).toBe(7);
    expect(lineIn('/w/tests/ATest.php:27', 'C:\\w\\tests\\ATest.php')).toBe(27);
    // Another file that only ends with the same name does not count.
    expect(lineIn('/w/tests/BATest.php:27', '/w/tests/ATest.php')).toBeUndefined();
    expect(lineIn('a.php:1', undefined)).toBeUndefined();
  });

  it('accepts only positive integer lines and details that say more than one line', () => {
    expect([
      lineNumber('12'),
      lineNumber(12),
      lineNumber('0'),
      lineNumber(-1),
      lineNumber('1.5'),
    ]).toEqual([12, 12, undefined, undefined, undefined]);
    expect(lineNumber(Number.NaN)).toBeUndefined();
    expect(detailOf('one line')).toBeUndefined();
    expect(detailOf('  two\nlines  ')).toBe('two\nlines');
  });
});
