import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJunit } from '../../../functions/core/formats/junit';
import { RETRIES_NOT_RECORDED as NO_RETRIES } from '../../../functions/core/formats/junit-model';
import { someNames } from '../../../functions/core/formats/junit-readings';
import type { TestCase } from '../../../functions/core/formats/types';
import { cpuMs } from '../../helpers/cpu-time';
import { errorOf } from '../../helpers/errors';
import { generateJunit } from '../../helpers/generate-junit';

const CORPUS = join(__dirname, '../../fixtures/corpus');
const read = (path: string): string => readFileSync(join(CORPUS, path), 'utf8');

interface Expected {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  flaky: number;
  durationMs: number;
  dialect?: string;
  warnings: string[];
  /** One test case, matched by name, checked field by field. */
  spot: Partial<TestCase> & { name: string };
}

/**
 * Expected values read from the fixture files (element counts by grep, attributes by eye),
 * not produced by the parser.
 */
const CORPUS_EXPECTATIONS: Record<string, Expected> = {
  'datadog-go-junit-report.xml': {
    total: 3,
    passed: 3,
    failed: 0,
    skipped: 0,
    flaky: 0,
    durationMs: 219, // no root time: the only top-level suite's time="0.219"
    dialect: 'go-junit-report',
    warnings: [],
    spot: {
      name: 'TestUnmarshalTestSuitesXML',
      suite: 'go.undefinedlabs.com/scopeimport',
      classname: 'scopeimport',
      status: 'passed',
      durationMs: 10,
    },
  },
  'datadog-java-gradle.xml': {
    total: 5,
    passed: 3,
    failed: 1,
    skipped: 1,
    flaky: 0,
    durationMs: 42,
    warnings: [],
    spot: {
      name: 'suite_two_test_four',
      suite: 'com.undefinedlabs.scope.suite.SuiteTwoTest',
      classname: 'com.undefinedlabs.scope.suite.SuiteTwoTest',
      status: 'failed',
      durationMs: 7,
      message: 'org.junit.ComparisonFailure: expected:<[fals]e> but was:<[tru]e>',
    },
  },
  'datadog-js-jest.xml': {
    total: 178,
    passed: 176,
    failed: 1,
    skipped: 1,
    flaky: 0,
    durationMs: 14199,
    dialect: 'jest-junit',
    warnings: [NO_RETRIES['jest-junit']],
    spot: {
      name: 'Notifications when new app version available renders badge',
      suite: 'Notifications',
      status: 'failed',
      // <failure> has no message attribute: first line of its body.
      message: 'Error: expect(received).toEqual(expected) // deep equality',
    },
  },
  'dorny-bun-nested-testsuites.xml': {
    total: 3,
    passed: 2,
    failed: 1,
    skipped: 0,
    flaky: 0,
    durationMs: 18.664,
    dialect: 'bun',
    warnings: [],
    spot: {
      name: 'fails',
      suite: 'negative', // innermost of three nested suites
      classname: 'negative &gt; add', // `&amp;gt;` decodes once
      status: 'failed',
      file: 'math.test.ts',
      durationMs: 0.237,
    },
  },
  'dorny-go-junit-report.xml': {
    total: 5,
    passed: 2,
    failed: 2,
    skipped: 1,
    flaky: 0,
    durationMs: 835, // packages run in parallel, all starting at the report's second: the longest // 0.000 + 0.482 + 0.835: sum of top-level suites
    dialect: 'go-junit-report',
    warnings: [],
    spot: {
      name: 'TestPackage3-1',
      suite: 'github.com/company/package3',
      status: 'failed',
      message: 'Failed',
    },
  },
  'dorny-jest-junit.xml': {
    total: 6,
    passed: 1,
    failed: 4,
    skipped: 1,
    flaky: 0,
    durationMs: 1360,
    dialect: 'jest-junit',
    warnings: [NO_RETRIES['jest-junit']],
    spot: {
      name: 'Failing test',
      suite: '__tests__\\main.test.js',
      classname: 'Test 1 › Test 1.1',
      status: 'failed',
      durationMs: 2,
      message: 'Error: expect(received).toBeTruthy()',
    },
  },
  'dorny-phpunit.xml': {
    total: 12,
    passed: 10,
    failed: 2,
    skipped: 0,
    flaky: 0,
    durationMs: 140.397,
    dialect: 'phpunit',
    warnings: [],
    spot: {
      // A test case next to child suites, without classname.
      name: 'targeting-traits-with-coversclass-attribute-is-deprecated.phpt',
      suite: 'CLI Arguments',
      classname: '',
      status: 'failed',
      file: '/home/matteo/OSS/phpunit/tests/end-to-end/metadata/targeting-traits-with-coversclass-attribute-is-deprecated.phpt',
      message:
        'targeting-traits-with-coversclass-attribute-is-deprecated.phptFailed asserting that string matches format description.',
    },
  },
  'dorny-playwright-report.xml': {
    total: 60,
    passed: 36,
    failed: 4,
    skipped: 20,
    flaky: 0,
    durationMs: 59092.586, // time="59.09258599999547"
    dialect: 'playwright',
    warnings: [
      "Playwright's JUnit reporter does not record retries: a test that passed on a retry counts as passed, not flaky (post the JSON reporter's output to see flaky tests)",
    ],
    spot: {
      name: 'Grid › Column Sorting › AmFb Column Sets › should display correct data when sorting by OFF FORM column',
      suite: 'tests/grid.spec.ts',
      classname: 'tests/grid.spec.ts',
      status: 'failed',
      durationMs: 10000,
      message: 'grid.spec.ts:202:11 should display correct data when sorting by OFF FORM column',
    },
  },
  'dorny-pytest-tb-short.xml': {
    total: 1,
    passed: 0,
    failed: 1,
    skipped: 0,
    flaky: 0,
    durationMs: 316,
    dialect: 'pytest',
    warnings: [NO_RETRIES.pytest],
    spot: {
      name: 'test_something',
      suite: 'pytest',
      classname: 'product_changes.tests.first_test.MyTestCase',
      status: 'failed',
      durationMs: 75,
      message: 'assert False',
    },
  },
  'dorny-xcode-trainer-retried-tests.xml': {
    // Repetitions of one test are attempts: 4 tests, as the root declares (tests='4'
    // failures='1'): one failed then passed (flaky), one failed twice.
    total: 4,
    passed: 3,
    failed: 1,
    skipped: 0,
    flaky: 1,
    durationMs: 2500,
    warnings: [
      '3 test(s) appear more than once in the same <testsuite> ("offline filtering keeps the active ticket", "an expired ticket is dropped", "a ticket is filtered by city ("MAD")"): read as reruns, one test with several attempts; the last attempt decides (flaky when it passed after a failure)',
    ],
    spot: {
      name: 'offline filtering keeps the active ticket',
      suite: 'TicketsTests',
      classname: 'TicketRepositoryTests',
      status: 'passed', // failed in repetition 1, passed in repetition 2
      flaky: true,
      retries: 1,
      durationMs: 1700,
    },
  },
  'enricomi-bazel-suite-logs.xml': {
    total: 1,
    passed: 0,
    failed: 1,
    skipped: 0,
    flaky: 0,
    durationMs: 0, // no suite time: sum of test case times
    warnings: [],
    spot: {
      name: 'bazel/failing_absl_test',
      suite: 'bazel/failing_absl_test',
      status: 'failed',
      message: 'exited with error code 1',
    },
  },
  'enricomi-jest-junit.xml': {
    total: 2,
    passed: 2,
    failed: 0,
    skipped: 0,
    flaky: 0,
    durationMs: 929,
    dialect: 'jest-junit',
    warnings: [NO_RETRIES['jest-junit']],
    spot: {
      name: 'Mount iframe',
      suite: 'widget.test.js',
      classname: '',
      status: 'passed',
      durationMs: 23,
    },
  },
  'enricomi-mocha-latex-utensils.xml': {
    total: 109,
    passed: 109,
    failed: 0,
    skipped: 0,
    flaky: 0,
    durationMs: 290,
    dialect: 'mocha',
    warnings: [],
    spot: {
      name: 'parse a simple bib file',
      suite: 'Mocha Tests',
      classname: 'bibtexParser',
      status: 'passed',
      durationMs: 3,
    },
  },
  'enricomi-no-attributes.xml': {
    total: 4,
    passed: 1,
    failed: 2,
    skipped: 1,
    flaky: 0,
    durationMs: 0,
    warnings: [],
    spot: { name: '', suite: '', classname: '', status: 'passed', durationMs: 0, retries: 0 },
  },
  'enricomi-surefire-rerun-flaky.xml': {
    total: 4,
    passed: 2,
    failed: 2,
    skipped: 0,
    flaky: 2,
    durationMs: 14, // the root's time="0.002" is less than one test case's 0.01: case times
    dialect: 'surefire',
    warnings: ['declared tests=2 but found 4 <testcase> elements'],
    spot: {
      name: 'failsAssertionAlways',
      suite: 'example.ExampleTests',
      classname: 'example.ExampleTests',
      status: 'failed',
      retries: 3, // three <rerunFailure>
      flaky: false,
      durationMs: 3,
      message: 'Always fails assertion ==> expected: <1> but was: <2>',
    },
  },
  'mikepenz-catch2.xml': {
    total: 1,
    passed: 0,
    failed: 1,
    skipped: 0,
    flaky: 0,
    durationMs: 0,
    dialect: 'catch2',
    warnings: [],
    spot: {
      name: 'is constant evaluated',
      suite: 'ut_detail_utility_is_constant_evaluated',
      status: 'failed',
      message: 'REQUIRE(v == 1) expands to 0 == 10',
      file: 'test/unit/detail/utility/is_constant_evaluated.cpp', // from <failure file>
    },
  },
  'mikepenz-nested-multi-level.xml': {
    total: 3,
    passed: 3,
    failed: 0,
    skipped: 0,
    flaky: 0,
    durationMs: 5922,
    warnings: ['declared tests=57 but found 3 <testcase> elements'],
    spot: {
      name: 'MultiUserIntegrationTest.mucRoleTestForReceivingModerator (Normal)',
      suite: 'ABC-0045: Multi-User Chat',
      classname: 'corp.proj2.MultiUserChatRolesAffiliationsPrivilegesIntegrationTest',
      status: 'passed',
      durationMs: 46,
    },
  },
  'mikepenz-nextest-basic.xml': {
    total: 3,
    passed: 2,
    failed: 1,
    skipped: 0,
    flaky: 0,
    durationMs: 946,
    dialect: 'nextest',
    warnings: [],
    spot: {
      name: 'test_failure',
      suite: 'oxidized_navigation::parry3d',
      status: 'failed',
      durationMs: 774,
      message: "thread 'test_failure' panicked at tests/parry3d.rs:154:5:", // &apos; decoded
    },
  },
  'mikepenz-pytest-flaky.xml': {
    total: 4,
    passed: 2,
    failed: 2,
    skipped: 0,
    flaky: 0,
    durationMs: 52,
    dialect: 'pytest',
    warnings: ['declared tests=3 but found 4 <testcase> elements', NO_RETRIES.pytest],
    spot: {
      name: 'test_which_fails',
      suite: 'pytest',
      classname: 'python.test_sample',
      status: 'failed',
      durationMs: 1,
      message: "AssertionError: assert 'test' == 'xyz'", // cut at the first &#10;
    },
  },
  'mikepenz-surefire-flaky.xml': {
    total: 1,
    passed: 1,
    failed: 0,
    skipped: 0,
    flaky: 1,
    durationMs: 683,
    dialect: 'surefire',
    warnings: [],
    spot: {
      name: 'createWebhook',
      suite: 'io.sodadata.dependson.soda.integrations.msteams.MicrosoftTeamsCrudTest',
      status: 'passed',
      flaky: true,
      retries: 1,
      durationMs: 683,
    },
  },
};

describe('parseJunit on the corpus', () => {
  it('has expectations for every corpus file', () => {
    // Prepare
    const files = readdirSync(join(CORPUS, 'junit')).filter((f) => f.endsWith('.xml'));

    // Act
    const missing = files.filter((f) => !(f in CORPUS_EXPECTATIONS));

    // Assess
    expect(missing).toEqual([]);
    expect(files.length).toBe(Object.keys(CORPUS_EXPECTATIONS).length);
  });

  for (const [file, want] of Object.entries(CORPUS_EXPECTATIONS)) {
    it(`reads ${file}`, () => {
      // Prepare
      const text = read(`junit/${file}`);

      // Act
      const parsed = parseJunit(text);

      // Assess
      expect(parsed.kind).toBe('tests');
      expect(parsed.format).toBe('junit');
      expect(parsed.summary).toEqual({
        total: want.total,
        passed: want.passed,
        failed: want.failed,
        skipped: want.skipped,
        flaky: want.flaky,
        durationMs: want.durationMs,
      });
      expect(parsed.cases).toHaveLength(want.total);
      expect(parsed.dialect).toBe(want.dialect);
      expect(parsed.warnings).toEqual(want.warnings);
      const spot = parsed.cases.find((c) => c.name === want.spot.name);
      expect(spot).toMatchObject(want.spot);
      for (const c of parsed.cases) {
        if (c.status !== 'failed') expect(c.message).toBeUndefined();
      }
    });
  }

  it('reads the rerun/flaky Surefire test cases one by one', () => {
    // Prepare
    const text = read('junit/enricomi-surefire-rerun-flaky.xml');

    // Act
    const { cases } = parseJunit(text);

    // Assess
    expect(cases.map((c) => [c.name, c.status, c.flaky, c.retries, c.message])).toEqual([
      ['throwsAlways', 'failed', false, 3, 'Always throws exception'],
      [
        'failsAssertionAlways',
        'failed',
        false,
        3,
        'Always fails assertion ==> expected: <1> but was: <2>',
      ],
      ['failsAssertionOnlyFirstAttempt', 'passed', true, 1, undefined],
      ['throwsOnlyFirstAttempt', 'passed', true, 1, undefined],
    ]);
  });

  it('reads repeated xcode test cases as attempts of one test and decodes &quot;', () => {
    // Prepare
    const text = read('junit/dorny-xcode-trainer-retried-tests.xml');

    // Act
    const { cases } = parseJunit(text);

    // Assess
    const expired = cases.filter((c) => c.name === 'an expired ticket is dropped');
    expect(expired).toEqual([
      expect.objectContaining({ status: 'failed', retries: 1, flaky: false }),
    ]);
    expect(expired[0]?.message).toBe('TicketRepositoryTests.swift:96: Expectation failed');
    expect(cases.map((c) => c.name)).toContain('a ticket is filtered by city ("MAD")');
  });

  it('rejects the truncated pytest report with its line number', () => {
    // Prepare
    const text = read('junit-invalid/enricomi-pytest-corrupt.xml');

    // Act
    const error = errorOf(() => parseJunit(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.location?.line).toBe(11);
    expect(error.message).toContain('Truncated XML');
    expect(error.message).toContain('line 11');
    expect(error.message).toContain('<skipped>');
  });
});

describe('parseJunit edge cases', () => {
  it('defaults missing time, classname and name', () => {
    // Prepare
    const text = '<testsuites><testsuite name="s"><testcase/></testsuite></testsuites>';

    // Act
    const parsed = parseJunit(text);

    // Assess
    expect(parsed.cases).toEqual([
      {
        suite: 's',
        classname: '',
        name: '',
        status: 'passed',
        flaky: false,
        durationMs: 0,
        retries: 0,
      },
    ]);
    expect(parsed.summary.durationMs).toBe(0);
  });

  it('treats empty or garbage times as 0 and avoids float noise', () => {
    // Prepare
    const text = `<testsuite>
      <testcase name="a" time=""/>
      <testcase name="b" time="abc"/>
      <testcase name="c" time="-1"/>
      <testcase name="d" time="0.1"/>
      <testcase name="e" time="0.2"/>
      <testcase name="f" time="1,234.5"/>
      <testcase name="g" time="1e-3"/>
      <testcase name="h" time="0.0000004"/>
    </testsuite>`;

    // Act
    const parsed = parseJunit(text);

    // Assess
    expect(parsed.cases.map((c) => c.durationMs)).toEqual([0, 0, 0, 100, 200, 1234500, 1, 0]);
    expect(parsed.summary.durationMs).toBe(1234801); // no suite time: sum of the cases
  });

  it('reads a decimal comma as one, and a thousands separator only where it must be one', () => {
    // Prepare: a tool formatting in a comma locale writes "0,123"; old Surefire "1,234.567".
    const times = ['0,123', '12,5', '1,234', '1,234.567', '12,345,678', '0,123.5', '1,2,3'];
    const text = `<testsuite name="s">${times
      .map((t, i) => `<testcase name="t${i}" time="${t}"/>`)
      .join('')}</testsuite>`;

    // Act
    const parsed = parseJunit(text);

    // Assess: "0,123" is not 123 s (a group never starts with 0), nor is "1,234" 1234 s.
    expect(parsed.cases.map((c) => c.durationMs)).toEqual([
      123, 12_500, 1234, 1_234_567, 12_345_678_000, 0, 0,
    ]);
    expect(parsed.warnings[0]).toMatch(
      /^2 time attribute\(s\) are not valid durations \("0,123.5"/,
    );
    const one = parseJunit(
      '<testsuite name="s" time="0,123"><testcase name="a" time="0,1"/></testsuite>',
    );
    expect(one.summary.durationMs).toBe(123);
    expect(one.durationSource).toBe('root time');
  });

  it('takes the duration from the root, then top-level suites, then test cases', () => {
    // Prepare
    const root =
      '<testsuites time="3"><testsuite time="1"><testcase time="0.5"/></testsuite></testsuites>';
    const suites =
      '<testsuites><testsuite time="1"><testsuite time="9"/></testsuite><testsuite time="0.25"/></testsuites>';
    const partial =
      '<testsuites><testsuite time="1"><testcase time="0.1"/></testsuite><testsuite><testcase time="0.2"/></testsuite></testsuites>';
    const garbageRoot = '<testsuites time="n/a"><testsuite time="2"/></testsuites>';

    // Act
    const durations = [root, suites, partial, garbageRoot].map(
      (t) => parseJunit(t).summary.durationMs,
    );

    // Assess
    expect(durations).toEqual([3000, 1250, 300, 2000]);
  });

  it('counts a test case next to child suites and names the innermost suite', () => {
    // Prepare
    const text = `<testsuites>
      <testsuite name="outer">
        <testcase name="direct"/>
        <testsuite name="inner"><testcase name="nested"/></testsuite>
        <testcase name="after"/>
      </testsuite>
      <testcase name="loose"/>
    </testsuites>`;

    // Act
    const { cases } = parseJunit(text);

    // Assess
    expect(cases.map((c) => [c.name, c.suite])).toEqual([
      ['direct', 'outer'],
      ['nested', 'inner'],
      ['after', 'outer'],
      ['loose', ''],
    ]);
  });

  it('accepts a bare <testsuite> root and single-quoted attributes', () => {
    // Prepare
    const text =
      "<testsuite name='solo' tests='2'><testcase name='a' classname='k' time='1'/><testcase name='b'><skipped/></testcase></testsuite>";

    // Act
    const parsed = parseJunit(text);

    // Assess
    expect(parsed.summary).toMatchObject({ total: 2, passed: 1, skipped: 1, durationMs: 1000 });
    expect(parsed.cases[0]).toMatchObject({ suite: 'solo', classname: 'k', name: 'a' });
    expect(parsed.warnings).toEqual([]);
  });

  it('reads messages from CDATA bodies, skipping blank lines', () => {
    // Prepare
    const text = `<testsuite><testcase name="a"><failure type="X"><![CDATA[

      AssertionError: <b> & "c"
      at line 2]]></failure></testcase></testsuite>`;

    // Act
    const { cases } = parseJunit(text);

    // Assess
    expect(cases[0]?.message).toBe('AssertionError: <b> & "c"');
  });

  it('decodes &#10; and predefined entities in messages', () => {
    // Prepare
    const text = `<testsuite><testcase name="a &amp; b"><error message="&#10;  Tom &amp; Jerry &lt;3 &apos;x&apos; &quot;y&quot; &gt;&#10;second"/></testcase></testsuite>`;

    // Act
    const { cases } = parseJunit(text);

    // Assess
    expect(cases[0]).toMatchObject({
      name: 'a & b',
      status: 'failed',
      message: `Tom & Jerry <3 'x' "y" >`,
    });
  });

  it('prefers the message attribute over the body and falls back when it is blank', () => {
    // Prepare
    const text = `<testsuite>
      <testcase name="attr"><failure message="from attribute">from body</failure></testcase>
      <testcase name="blank"><failure message="  ">from body
second line</failure></testcase>
      <testcase name="none"><failure/></testcase>
    </testsuite>`;

    // Act
    const { cases } = parseJunit(text);

    // Assess
    expect(cases.map((c) => c.message)).toEqual(['from attribute', 'from body', undefined]);
  });

  it('caps messages and does not keep huge bodies or system-out', () => {
    // Prepare
    const long = 'x'.repeat(100_000);
    const text = `<testsuite><testcase name="a"><failure>${long}</failure><system-out>${long}</system-out></testcase></testsuite>`;

    // Act
    const { cases } = parseJunit(text);

    // Assess
    expect(cases[0]?.message?.length).toBe(500);
    expect(cases[0]?.message?.endsWith('…')).toBe(true);
  });

  it('makes failure win over skipped and ignores elements that are not direct children', () => {
    // Prepare
    const text = `<testsuite>
      <testcase name="both"><skipped/><failure message="boom"/></testcase>
      <testcase name="deep"><system-out><failure/></system-out></testcase>
      <testcase name="rerun-only"><rerunError message="again"/></testcase>
    </testsuite>`;

    // Act
    const { cases } = parseJunit(text);

    // Assess
    expect(cases.map((c) => [c.name, c.status, c.retries])).toEqual([
      ['both', 'failed', 0],
      ['deep', 'passed', 0],
      ['rerun-only', 'failed', 1],
    ]);
  });

  it('warns about suite-level failures and empty reports, once', () => {
    // Prepare
    const suiteError =
      '<testsuites><testsuite name="s"><error message="setup"/></testsuite></testsuites>';

    // Act
    const parsed = parseJunit(suiteError);

    // Assess
    expect(parsed.summary.total).toBe(0);
    expect(parsed.warnings).toEqual([
      '1 <failure>/<error> element(s) outside any <testcase> ignored',
      'the report contains no <testcase> elements',
    ]);
  });

  it('compares declared counts of the root, else the sum of top-level suites', () => {
    // Prepare
    const text = `<testsuites>
      <testsuite tests="1" failures="1" errors="1" skipped="0"><testcase/>
        <testsuite tests="99" failures="99"><testcase/></testsuite>
      </testsuite>
      <testsuite tests="1" disabled="1"><testcase/></testsuite>
    </testsuites>`;

    // Act
    const { warnings } = parseJunit(text);

    // Assess
    expect(warnings).toEqual([
      'declared tests=2 but found 3 <testcase> elements',
      'declared failures+errors=2 but found 0 failed test cases',
      'declared skipped=1 but found 0 skipped test cases',
    ]);
  });

  it('tolerates a BOM and a DOCTYPE that only names an external DTD', () => {
    // Prepare
    const text =
      '\uFEFF<?xml version="1.0"?>\n<!DOCTYPE testsuites SYSTEM "junit.dtd">\n<testsuites><testcase name="a"/></testsuites>';

    // Act
    const parsed = parseJunit(text);

    // Assess
    expect(parsed.summary.total).toBe(1);
  });

  it('counts a test case nested inside another one separately', () => {
    // Prepare
    const text =
      '<testsuite><testcase name="outer"><testcase name="inner"/><failure/></testcase></testsuite>';

    // Act
    const { cases } = parseJunit(text);

    // Assess
    expect(cases.map((c) => [c.name, c.status])).toEqual([
      ['inner', 'passed'],
      ['outer', 'failed'],
    ]);
  });

  it('recognises vitest and leaves unknown producers undefined', () => {
    // Prepare
    const vitest =
      '<testsuites name="vitest tests"><testsuite name="a.test.ts"><testcase/></testsuite></testsuites>';
    const unknown = '<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>';

    // Act
    const dialects = [parseJunit(vitest).dialect, parseJunit(unknown).dialect];

    // Assess
    expect(dialects).toEqual(['vitest', undefined]);
  });

  it('recognises pytest and mocha from a suite under an unnamed root', () => {
    // Prepare
    const under = (name: string) =>
      `<testsuites><testsuite name="${name}"><testcase name="t"/></testsuite></testsuites>`;

    // Act
    const dialects = [
      parseJunit(under('pytest')).dialect,
      parseJunit(under('Mocha Tests')).dialect,
    ];

    // Assess
    expect(dialects).toEqual(['pytest', 'mocha']);
  });

  it('keeps the first message when two attempts failed', () => {
    // Prepare: the same test twice, both failed; the root declares one test, so the two are
    // attempts of one.
    const text = `<testsuites tests="1"><testsuite name="s"><testcase classname="c" name="t"><failure message="first"/></testcase><testcase classname="c" name="t"><failure message="second"/></testcase></testsuite></testsuites>`;

    // Act
    const [only, ...rest] = parseJunit(text).cases;

    // Assess
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ status: 'failed', retries: 1, message: 'first' });
  });
});

describe('someNames', () => {
  it('quotes at most three names, clipping long ones, then says how many more', () => {
    expect(someNames(['a', 'x'.repeat(100), 'c', 'd', 'e'])).toBe(
      `"a", "${'x'.repeat(79)}…", "c" and 2 more`,
    );
  });
});

describe('generateJunit', () => {
  it('is deterministic for a seed and consistent with its declared counts', () => {
    // Prepare
    const opts = { cases: 500, failRate: 0.1, skipRate: 0.05, flakyRate: 0.05, seed: 7 };

    // Act
    const a = generateJunit(opts);
    const b = generateJunit(opts);
    const c = generateJunit({ ...opts, seed: 8 });
    const parsed = parseJunit(a);

    // Assess
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(parsed.summary.total).toBe(500);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.summary.failed).toBeGreaterThan(20);
    expect(parsed.summary.skipped).toBeGreaterThan(5);
    expect(parsed.summary.flaky).toBeGreaterThan(5);
    expect(parsed.cases.filter((t) => t.status === 'failed').every((t) => t.message)).toBe(true);
  });

  it('produces a report of a few MB for 20,000 cases with output, parsed quickly', () => {
    // Prepare
    const text = generateJunit({ cases: 20_000, withOutput: true });

    // Act
    const { value: parsed, ms } = cpuMs(() => parseJunit(text));

    // Assess
    expect(text.length).toBeGreaterThan(1_500_000);
    expect(text.length).toBeLessThan(3_500_000);
    expect(parsed.summary.total).toBe(20_000);
    expect(parsed.warnings).toEqual([]);
    expect(ms).toBeLessThan(2_000); // generous: the benchmark measures the real speed
  });
});
