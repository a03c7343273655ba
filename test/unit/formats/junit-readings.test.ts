import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateConfigFor, parseConfig } from '../../../functions/core/config';
import { parseJunit, parseJunitReference } from '../../../functions/core/formats/junit';
import { RETRIES_NOT_RECORDED } from '../../../functions/core/formats/junit-model';
import { mergeReruns } from '../../../functions/core/formats/junit-readings';
import type { TestCase } from '../../../functions/core/formats/types';
import { evaluateGate } from '../../../functions/core/gates/gate';

/** How JUnit dialects are read where the elements alone mislead (docs/tool-counts.md). */

const REAL = join(__dirname, '../../fixtures/real');

/** One attempt of test s > c > n. */
const tc = (status: TestCase['status'], more: Partial<TestCase> = {}): TestCase => ({
  suite: 's',
  classname: 'c',
  name: 'n',
  status,
  flaky: false,
  durationMs: 1,
  retries: 0,
  ...more,
});

describe('JUnit readings', () => {
  it.each([
    'node-test/junit.xml',
    'phpunit/junit.xml',
    'cpp/ctest-junit.xml',
    'go/gotestsum-junit.xml',
    'go/gotestsum-count-junit.xml',
    'go/gotestsum-build-junit.xml',
    'pytest/junit-teardown.xml',
    'jest/junit.xml',
    'mocha/junit.xml',
  ])('the fast scanner and the reference parser read %s the same', (path) => {
    const text = readFileSync(join(REAL, path), 'utf8');
    expect(parseJunit(text)).toEqual(parseJunitReference(text));
  });

  it('does not let failed attempts silence declared failures when every repeat passed at last', () => {
    // gotestsum's JUnit of `go test -count=2` where the only repeated test failed, then passed:
    // the same file as --rerun-fails gives. Read as a rerun, but the run may have failed.
    const text = `<testsuites tests="2" failures="1" errors="0"><testsuite tests="2" failures="1" name="ex/calc">
      <properties><property name="go.version" value="go1.19.8"></property></properties>
      <testcase classname="ex/calc" name="TestFlaky"><failure message="Failed"></failure></testcase>
      <testcase classname="ex/calc" name="TestFlaky"></testcase>
    </testsuite></testsuites>`;
    const parsed = parseJunit(text);
    expect(parsed.summary).toMatchObject({ total: 1, passed: 1, failed: 0, flaky: 1 });
    expect(parsed.warnings[1]).toBe(
      'declared failures+errors=1 but no test case is read as failed: the failed ones were read as reruns of tests that passed (gotestsum --rerun-fails); if the tests were repeated for another reason (go test -count), the run failed',
    );
  });

  it("merges pytest's second test case of a test that errored in teardown, only then", () => {
    const text = `<testsuites><testsuite name="pytest" tests="4" failures="2" errors="1">
      <testcase classname="t" name="test_a"><failure message="assert 0"/></testcase>
      <testcase classname="t" name="test_a"><error message="failed on teardown"/></testcase>
      <testcase classname="t" name="test_b"><failure message="assert 0"/></testcase>
      <testcase classname="t" name="test_b"><failure message="assert 1"/></testcase>
    </testsuite></testsuites>`;
    const parsed = parseJunit(text);
    expect(parsed.summary).toMatchObject({ total: 3, failed: 3, flaky: 0 });
    expect(parsed.cases[0]).toMatchObject({ name: 'test_a', message: 'assert 0', retries: 0 });
  });

  it('counts jest-junit todo tests as skipped even when it cannot tell which ones they are', () => {
    const text = `<testsuites name="jest tests" tests="2"><testsuite name="s">
      <testcase classname="a" name="a" time="0"></testcase>
      <testcase classname="b" name="b" time="0"></testcase>
      <testcase classname="c" name="c" time="0"></testcase>
    </testsuite></testsuites>`;
    const parsed = parseJunit(text);
    expect(parsed.summary).toMatchObject({ total: 3, passed: 2, skipped: 1 });
    expect(parsed.warnings).toEqual([
      'jest-junit declares tests=2 but writes 3 <testcase> elements: 1 of the 3 with no result and time="0" are test.todo; they are counted as skipped, as jest counts them, but which ones cannot be told',
      RETRIES_NOT_RECORDED['jest-junit'],
    ]);
  });

  it('counts a failed jest-junit test case whose title repeats as failed: jest-junit writes no reruns', () => {
    // test.each with one title twice: two tests, one passed, one failed (jest: "1 failed").
    const text = `<testsuites name="jest tests" tests="3" failures="1"><testsuite name="calc">
      <testcase classname="calc adds" name="calc adds" time="0.001"></testcase>
      <testcase classname="calc adds" name="calc adds" time="0.001"><failure>Error: no</failure></testcase>
      <testcase classname="calc subtracts" name="calc subtracts" time="0.001"></testcase>
    </testsuite></testsuites>`;
    for (const parsed of [parseJunit(text), parseJunitReference(text)]) {
      expect(parsed.summary).toMatchObject({ total: 3, passed: 2, failed: 1, flaky: 0 });
      expect(parsed.warnings).toEqual([RETRIES_NOT_RECORDED['jest-junit']]);
    }
    // The same file from an unknown producer: a repeated title is no evidence of a rerun.
    const generic = parseJunit(text.replace('name="jest tests" ', ''));
    expect(generic.dialect).toBeUndefined();
    expect(generic.summary).toMatchObject({ total: 3, passed: 2, failed: 1, flaky: 0 });
  });

  it('does not take Ginkgo for jest-junit: its suite has their attributes, but a package and an unnamed root', () => {
    // Ginkgo's JUnit (onsi/ginkgo reporters/junit_report.go): errors, skipped and a timestamp to
    // the second on the suite, no hostname, as jest-junit writes.
    const text = `<testsuites tests="2" disabled="0" errors="0" failures="1" time="0.01">
      <testsuite name="Calc Suite" package="/src/calc" tests="2" disabled="0" skipped="0" errors="0" failures="1" time="0.01" timestamp="2026-01-01T10:00:00">
        <testcase name="[It] adds" classname="Calc Suite" status="failed" time="0.001"><failure message="boom">boom</failure></testcase>
        <testcase name="[It] subtracts" classname="Calc Suite" status="passed" time="0.001"></testcase>
      </testsuite></testsuites>`;
    for (const parsed of [parseJunit(text), parseJunitReference(text)]) {
      expect(parsed.dialect).toBeUndefined();
      expect(parsed.warnings).toEqual([]);
      expect(parsed.summary).toMatchObject({ total: 2, passed: 1, failed: 1 });
    }
    // The same suite under a named root without package and disabled: jest-junit's.
    const jest = text
      .replace('<testsuites tests', '<testsuites name="web tests" tests')
      .replace(' package="/src/calc"', '')
      .replace(' disabled="0" skipped', ' skipped');
    expect(parseJunit(jest).dialect).toBe('jest-junit');
  });

  it('never reads a repeated title of an unknown producer as a rerun: a failure stays failed', () => {
    // Vitest's file (real: projects/vitest-named) without what tells Vitest: a failed test and
    // a passed one of the same title are two tests (Vitest: "2 failed | 2 passed (4)").
    const text = `<testsuites name="web unit tests" tests="4" failures="2" errors="0" time="0.007">
      <testsuite name="src/dup.test.js" tests="4" failures="2" errors="0" skipped="0" time="0.007">
        <testcase classname="src/dup.test.js" name="adds 1" time="0.005"><failure message="no"/></testcase>
        <testcase classname="src/dup.test.js" name="adds 1" time="0.0003"></testcase>
        <testcase classname="src/dup.test.js" name="same title" time="0.0005"><failure message="no"/></testcase>
        <testcase classname="src/dup.test.js" name="same title" time="0.0001"></testcase>
      </testsuite></testsuites>`;
    for (const parsed of [parseJunit(text), parseJunitReference(text)]) {
      expect(parsed.dialect).toBeUndefined();
      expect(parsed.summary).toMatchObject({ total: 4, passed: 2, failed: 2, flaky: 0 });
      // Said, with what to do if they were retries (Gradle's test-retry plugin).
      expect(parsed.warnings).toEqual([
        expect.stringMatching(
          /^2 test name\(s\) appear more than once in the same <testsuite>, failed and passed \("adds 1", "same title"\): counted as separate tests, .* reports\.junitXml\.mergeReruns = true/,
        ),
      ]);
      expect(evaluateGate(parsed, gateConfigFor(parseConfig({}), 'p')).status).toBe('fail');
    }
    // A declared count of distinct tests (fastlane trainer) or trainer's `repetition` property
    // says the copies are attempts of one test.
    const attempts = (extra: string, tests: string) =>
      `<testsuites><testsuite name="s" tests="${tests}">
        <testcase classname="c" name="a">${extra}<failure message="flaky"/></testcase>
        <testcase classname="c" name="a">${extra}</testcase>
        <testcase classname="c" name="b"/></testsuite></testsuites>`;
    expect(parseJunit(attempts('', '2')).summary).toMatchObject({ total: 2, passed: 2, flaky: 1 });
    const labelled = parseJunit(
      attempts(
        '<properties><property name="repetition" value="Repetition 1 of 3"/></properties>',
        '3',
      ),
    );
    expect(labelled.summary).toMatchObject({ total: 2, passed: 2, failed: 0, flaky: 1 });
    expect(parseJunit(attempts('', '3')).summary).toMatchObject({ total: 3, failed: 1, flaky: 0 });
  });

  it('recognises pytest by its suite name and keeps the first failure file and message', () => {
    const text = `<testsuites><testsuite name="pytest" tests="1">
      <testcase classname="t" name="a" time="0.1">
        <failure message="one" file="tests/a.py">x</failure>
        <failure message="two" file="tests/b.py">y</failure>
      </testcase></testsuite></testsuites>`;
    const parsed = parseJunit(text);
    expect(parsed.dialect).toBe('pytest');
    expect(parsed.cases).toMatchObject([{ status: 'failed', file: 'tests/a.py', message: 'one' }]);
    expect(parsed.warnings).toEqual([RETRIES_NOT_RECORDED.pytest]);
  });

  it('ignores skipped and rerun elements nested below a test case child', () => {
    const text = `<testsuite name="s" tests="1"><testcase classname="t" name="a">
      <properties><skipped/><rerunFailure/><flakyFailure/></properties></testcase></testsuite>`;
    const parsed = parseJunit(text);
    expect(parsed.cases).toMatchObject([{ status: 'passed', flaky: false, retries: 0 }]);
  });

  it('reads PHPUnit incomplete and skipped errors as skipped, and any not-run status', () => {
    const text = `<testsuite name="x" tests="4">
      <testcase name="i"><error type="PHPUnit\\Framework\\IncompleteTestError">todo</error></testcase>
      <testcase name="s"><error type="PHPUnit\\Framework\\SkippedTestError">no</error></testcase>
      <testcase name="n" status="notrun"/>
      <testcase name="f"><error type="RuntimeException">boom</error></testcase>
    </testsuite>`;
    const parsed = parseJunit(text);
    expect(parsed.cases.map((c) => c.status)).toEqual(['skipped', 'skipped', 'skipped', 'failed']);
    expect(parsed.dialect).toBeUndefined();
    expect(parsed.warnings).toEqual([]);
  });

  it('fails a run whose only failure is a test ctest could not run', () => {
    // ctest 3.25 --output-junit, a test whose executable was not built; ctest printed "50% tests
    // passed, 1 tests failed out of 2" and exited with code 8.
    const text = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="(empty)" tests="2" failures="0" disabled="0" skipped="1" hostname="" time="0" timestamp="2026-12-06T01:24:35">
	<testcase name="ok" classname="ok" time="0.00136006" status="run">
		<system-out></system-out>
	</testcase>
	<testcase name="unit_tests" classname="unit_tests" time="0" status="notrun">
		<skipped message="Unable to find executable"/>
		<system-out>Unable to find executable: /tmp/ct3/b/unit_tests_not_built</system-out>
	</testcase>
</testsuite>`;
    for (const parsed of [parseJunit(text), parseJunitReference(text)]) {
      expect(parsed.dialect).toBe('ctest');
      expect(parsed.summary).toMatchObject({ total: 2, passed: 1, failed: 1, skipped: 0 });
      expect(parsed.cases[1]).toMatchObject({
        status: 'failed',
        message: 'Unable to find executable',
      });
      // Its declared counts keep the test among the skipped: no warning about them.
      expect(parsed.warnings.filter((w) => w.startsWith('declared'))).toEqual([]);
      expect(evaluateGate(parsed, gateConfigFor(parseConfig({}), 'p')).status).toBe('fail');
    }
  });

  it('ignores node:test counts that do not add up, and compares the declared ones', () => {
    const text = `<testsuites tests="2"><testsuite name="s"><testcase name="a"/></testsuite>
      <!-- tests 5 --><!-- pass 1 --><!-- fail 1 --></testsuites>`;
    const parsed = parseJunit(text);
    expect(parsed.dialect).toBeUndefined();
    expect(parsed.summary.total).toBe(1);
    expect(parsed.warnings).toEqual(['declared tests=2 but found 1 <testcase> elements']);
  });

  it('merges attempts: a failure over a skip, the first failure message, the file of any attempt', () => {
    const failedSkipped = mergeReruns(
      [tc('skipped'), tc('failed', { message: 'm', file: 'f' })],
      [1, 1],
      undefined,
      'reruns',
    );
    expect(failedSkipped.cases).toEqual([
      tc('failed', { message: 'm', file: 'f', retries: 1, durationMs: 2 }),
    ]);
    const skippedTwice = mergeReruns([tc('skipped'), tc('skipped')], [1, 1], 1);
    expect(skippedTwice.cases).toEqual([tc('skipped', { retries: 1, durationMs: 2 })]);
    const otherSuites = mergeReruns([tc('failed'), tc('passed')], [1, 2], undefined, 'reruns');
    expect(otherSuites.cases).toHaveLength(2);
    // Without evidence of reruns (an unknown producer), copies of one title stay tests.
    const noEvidence = mergeReruns([tc('failed'), tc('passed')], [1, 1], undefined);
    expect(noEvidence.cases).toEqual([tc('failed'), tc('passed')]);
  });

  it('reads attempts in file order: the last decides, flaky only when it passed after a failure', () => {
    const merge = (...statuses: TestCase['status'][]) => {
      const [merged] = mergeReruns(
        statuses.map((s) => tc(s)),
        statuses.map(() => 1),
        undefined,
        'reruns',
      ).cases;
      return [merged?.status, merged?.flaky];
    };
    expect(merge('failed', 'passed')).toEqual(['passed', true]);
    expect(merge('passed', 'failed')).toEqual(['failed', false]);
    expect(merge('passed', 'failed', 'passed')).toEqual(['passed', true]);
    expect(merge('failed', 'passed', 'failed')).toEqual(['failed', false]);
    expect(merge('failed', 'passed', 'skipped')).toEqual(['passed', true]);
    expect(merge('passed', 'failed', 'skipped')).toEqual(['failed', false]);
    // The whole file: a pass then a failure of one test fails the run, and so the gate.
    const parsed = parseJunit(`<testsuites><testsuite name="s" tests="2">
      <testcase classname="c" name="n"/>
      <testcase classname="c" name="n"><failure message="boom">x</failure></testcase>
      <testcase classname="c" name="m"/></testsuite></testsuites>`);
    expect(parsed.summary).toMatchObject({ total: 2, passed: 1, failed: 1, flaky: 0 });
  });

  it('groups reruns by suite element, classname and name, with suites interleaved', () => {
    const tc = (status: TestCase['status'], classname = 'c', name = 'n'): TestCase => ({
      suite: 's',
      classname,
      name,
      status,
      flaky: false,
      durationMs: 1,
      retries: 0,
    });
    // Suite 2 is nested in suite 1: its cases come between suite 1's.
    const { cases, repeated } = mergeReruns(
      [
        tc('failed'),
        tc('failed'),
        tc('passed'),
        tc('passed'),
        tc('failed', 'd'),
        tc('failed', 'c', ''),
        tc('failed', 'c', ''),
      ],
      [1, 2, 2, 1, 1, 1, 1],
      undefined,
      'reruns',
    );
    const rerun = { ...tc('passed'), flaky: true, retries: 1, durationMs: 2 };
    expect(cases).toEqual([
      rerun,
      rerun,
      tc('failed', 'd'),
      tc('failed', 'c', ''),
      tc('failed', 'c', ''),
    ]);
    expect(repeated).toEqual(['n', 'n']);
  });
});
