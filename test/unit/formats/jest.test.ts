import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJest } from '../../../functions/core/formats/jest';
import { formatPath } from '../../../functions/core/formats/shape';
import { errorOf } from '../../helpers/errors';

const FIXTURES = join(__dirname, '../../fixtures');
const load = (rel: string): unknown => JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));

const assertion = (over: Record<string, unknown> = {}) => ({
  ancestorTitles: ['outer', 'inner'],
  title: 'does a thing',
  status: 'passed',
  duration: 5,
  failureMessages: [],
  invocations: 1,
  ...over,
});

const report = (assertions: unknown[], over: Record<string, unknown> = {}) => ({
  numTotalTests: assertions.length,
  testResults: [
    {
      name: '/repo/src/thing.test.ts',
      status: 'passed',
      message: '',
      startTime: 1000,
      endTime: 1100,
      assertionResults: assertions,
    },
  ],
  ...over,
});

describe('parseJest on the corpus', () => {
  it('reads the ethereum-event-scan Jest 30 report (51 tests, 2 failed)', () => {
    // Prepare
    const doc = load('corpus/jest/ethereum-event-scan-jest-results.json');

    // Act
    const parsed = parseJest(doc);

    // Assess: numbers read from the file (17 suites, 49 passed + 2 failed assertions;
    // startTime 1765655672260, last endTime 1765655680033).
    expect(parsed.kind).toBe('tests');
    expect(parsed.format).toBe('jest');
    expect(parsed.dialect).toBe('jest');
    expect(parsed.summary).toEqual({
      total: 51,
      passed: 49,
      failed: 2,
      skipped: 0,
      flaky: 0,
      durationMs: 7773,
    });
    expect(parsed.warnings).toEqual([]);
    const failed = parsed.cases.filter((c) => c.status === 'failed');
    expect(failed.map((c) => c.name)).toEqual([
      'formats JSON to pretty on focus and back to compact on blur',
      'leaves non-JSON unchanged on focus and blur',
    ]);
    const [first] = failed;
    expect(first?.suite).toBe(
      '/Users/markus/Projects/IntelliJ/ethereum-event-scan/src/app/components/settings/directives/json-formatter.directive.spec.ts',
    );
    expect(first?.file).toBe(first?.suite);
    expect(first?.classname).toBe('JsonFormatterDirective');
    expect(first?.durationMs).toBe(3);
    expect(first?.message).toMatch(
      /^Error: Unexpected "HostComponent" found in the "declarations"/,
    );
    expect(first?.message).not.toContain('\n');
    expect(parsed.cases.every((c) => c.retries === 0 && !c.flaky)).toBe(true);
    expect(parsed.cases.filter((c) => c.status === 'passed').every((c) => !c.message)).toBe(true);
  });
});

describe('parseJest on real generated output', () => {
  it('reads Jest 30 retries (invocations) and a suite that failed to run', () => {
    // Prepare
    const doc = load('generated/jest-30-json-retries-broken-suite.json');

    // Act
    const parsed = parseJest(doc);

    // Assess: 5 + 1 assertions, plus one failed test for broken.test.js.
    expect(parsed.dialect).toBe('jest');
    expect(parsed.summary).toEqual({
      total: 7,
      passed: 3,
      failed: 2,
      skipped: 2,
      flaky: 1,
      durationMs: 634,
    });
    const byName = new Map(parsed.cases.map((c) => [c.name, c]));
    expect(byName.get('passes on the third attempt')).toMatchObject({
      status: 'passed',
      flaky: true,
      retries: 2,
      classname: 'cart › totals',
    });
    expect(byName.get('applies the discount')).toMatchObject({
      status: 'failed',
      flaky: false,
      retries: 3,
      classname: 'cart',
      message: 'Error: expect(received).toEqual(expected) // deep equality',
    });
    expect(byName.get('ships abroad')?.status).toBe('skipped');
    expect(byName.get('handles coupons')?.status).toBe('skipped');
    expect(byName.get('broken.test.js')).toEqual({
      suite: '/tmp/jjson/__tests__/broken.test.js',
      classname: '',
      name: 'broken.test.js',
      status: 'failed',
      flaky: false,
      durationMs: 0,
      retries: 0,
      message: 'Test suite failed to run: Jest encountered an unexpected token',
      file: '/tmp/jjson/__tests__/broken.test.js',
    });
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toContain('broken.test.js');
  });

  it('reads Vitest 4.1 json reporter output, retries from failureMessages', () => {
    // Prepare
    const doc = load('generated/vitest-4.1-json-reporter.json');

    // Act
    const parsed = parseJest(doc);

    // Assess: 8 assertions; broken.test.js is an error of the run, not a test, as Vitest
    // counts it; last endTime 1795574519175.416 - 1795574518163.
    expect(parsed.dialect).toBe('vitest');
    expect(parsed.summary).toEqual({
      total: 8,
      passed: 4,
      failed: 2,
      skipped: 2,
      flaky: 2,
      durationMs: 1012.42,
    });
    const byName = new Map(parsed.cases.map((c) => [c.name, c]));
    expect(byName.get('is flaky but passes on retry')).toMatchObject({ flaky: true, retries: 1 });
    expect(byName.get('passes on the third attempt')).toMatchObject({
      flaky: true,
      retries: 2,
      classname: '',
    });
    expect(byName.get('passes on the third attempt')?.message).toBeUndefined();
    expect(byName.get('fails on every attempt')).toMatchObject({
      status: 'failed',
      retries: 2,
      flaky: false,
    });
    expect(byName.get('divides by zero')?.message).toBe(
      'AssertionError: expected Infinity to be +0 // Object.is equality',
    );
    expect(byName.get('adds two numbers')).toMatchObject({
      classname: 'math › add',
      suite: '/tmp/vjson/src/math.test.js',
      durationMs: 2.32,
    });
    expect(byName.get('handles bigints')?.status).toBe('skipped');
    expect(byName.get('broken.test.js')).toBeUndefined();
    expect(parsed.errors).toEqual([
      {
        name: 'broken.test.js',
        file: '/tmp/vjson/src/broken.test.js',
        message:
          "Test suite failed to run: Cannot find module './does-not-exist.js' imported from /tmp/vjson/src/broken.test.js",
      },
    ]);
    // numTotalTests/numPassedTests/numFailedTests agree with the listed assertions.
    expect(parsed.warnings.filter((w) => w.startsWith('num'))).toEqual([]);
  });
});

describe('parseJest semantics', () => {
  it('keeps a declared test line, and a failed test with no failure message stays bare', () => {
    // Prepare
    const doc = report([
      assertion({ title: 'placed', location: { line: 12, column: 3 } }),
      assertion({ title: 'silent', status: 'failed', failureMessages: [] }),
    ]);

    // Act
    const [placed, silent] = parseJest(doc).cases;

    // Assess
    expect(placed?.line).toBe(12);
    expect(silent).toMatchObject({ status: 'failed', name: 'silent' });
    expect(silent).not.toHaveProperty('message');
    expect(silent).not.toHaveProperty('details');
  });

  it('names a failed suite without a directory after its whole file name', () => {
    // Prepare
    // Jest's own fields (a Vitest report without tests has none).
    const doc = report([], { numRuntimeErrorTestSuites: 1, wasInterrupted: false });
    Object.assign(doc.testResults[0] as object, { name: 'thing.test.ts', status: 'failed' });

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.cases).toMatchObject([
      { name: 'thing.test.ts', status: 'failed', message: 'Test suite failed to run' },
    ]);
  });

  it('maps every non-passed, non-failed status to skipped', () => {
    // Prepare
    const statuses = ['pending', 'todo', 'skipped', 'disabled', 'focused', 'weird'];
    const doc = report(statuses.map((status, i) => assertion({ status, title: `t${i}` })));

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.cases.map((c) => c.status)).toEqual(statuses.map(() => 'skipped'));
    expect(parsed.summary.skipped).toBe(6);
  });

  it('sums test durations when the run has no start time', () => {
    // Prepare
    const doc = report([assertion({ duration: 1.5 }), assertion({ duration: null, title: 'b' })]);

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.summary.durationMs).toBe(1.5);
    expect(parsed.cases[1]?.durationMs).toBe(0);
  });

  it('uses max(endTime) - startTime when the run has a start time', () => {
    // Prepare
    const doc = report([assertion()], { startTime: 900 });

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.summary.durationMs).toBe(200);
  });

  it('warns when the reported counts disagree with the listed tests', () => {
    // Prepare
    const doc = report([assertion()], { numTotalTests: 3, numPassedTests: 2, numFailedTests: 1 });

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.warnings).toEqual([
      'numTotalTests says 3, but the report lists 1.',
      'numPassedTests says 2, but the report lists 1.',
      'numFailedTests says 1, but the report lists 0.',
    ]);
  });

  it('strips ANSI colours from failure messages and keeps only the first line', () => {
    // Prepare
    const esc = String.fromCharCode(27);
    const doc = report([
      assertion({
        status: 'failed',
        failureMessages: [`\n${esc}[31mExpected 1${esc}[39m to be 2\n  at x.js:1:1`],
      }),
    ]);

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.cases[0]?.message).toBe('Expected 1 to be 2');
  });

  it('counts a failed suite whose tests all passed (afterAll threw) as one extra failure', () => {
    // Prepare
    const doc = report([assertion()]);
    const file = doc.testResults[0];
    if (file) {
      file.status = 'failed';
      file.message = '  ● Test suite failed to run\n\n    afterAll hook timed out';
    }

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.summary).toMatchObject({ total: 2, passed: 1, failed: 1 });
    expect(parsed.cases[1]).toMatchObject({
      name: 'thing.test.ts',
      message: 'Test suite failed to run: afterAll hook timed out',
      durationMs: 100,
    });
  });

  it('names a suite failure without a message generically and handles Windows paths', () => {
    // Prepare
    const doc = {
      numTotalTests: 0,
      numRuntimeErrorTestSuites: 1,
      wasInterrupted: false,
      testResults: [
        { name: 'C:\\repo\\__tests__\\a.test.js', status: 'failed', assertionResults: [] },
      ],
    };

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.cases).toEqual([
      expect.objectContaining({
        name: 'a.test.js',
        suite: 'C:\\repo\\__tests__\\a.test.js',
        message: 'Test suite failed to run',
        durationMs: 0,
      }),
    ]);
  });

  it('accepts an empty run with a warning', () => {
    // Prepare
    const doc = { numTotalTests: 0, testResults: [] };

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.summary).toEqual({
      total: 0,
      passed: 0,
      failed: 0,
      skipped: 0,
      flaky: 0,
      durationMs: 0,
    });
    expect(parsed.warnings).toEqual(['The report contains no test files.']);
    expect(parsed.dialect).toBeUndefined();
  });

  it('treats __proto__ and constructor keys as plain data', () => {
    // Prepare: JSON.parse makes "__proto__" an own key, as a real request body would.
    const doc = JSON.parse(
      JSON.stringify(report([assertion({ title: '__proto__', ancestorTitles: ['constructor'] })]))
        .replace('"numTotalTests"', '"__proto__":{"polluted":true},"constructor":1,"numTotalTests"')
        .replace('"ancestorTitles"', '"__proto__":{"status":"failed"},"ancestorTitles"'),
    );

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.cases[0]).toMatchObject({
      name: '__proto__',
      classname: 'constructor',
      status: 'passed',
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseJest rejects bad input', () => {
  it.each([
    ['null', null, '$: expected an object, got null'],
    ['an array', [], '$: expected an object, got array'],
    ['an empty object', {}, 'testResults: expected an array, got nothing (the field is missing)'],
    ['testResults as an object', { testResults: {} }, 'testResults: expected an array, got object'],
    [
      'a file without a name',
      { testResults: [{ assertionResults: [] }] },
      'testResults[0].name: expected a string, got nothing',
    ],
    [
      'assertionResults as an object',
      { testResults: [{ name: 'a', assertionResults: { 0: {} } }] },
      'testResults[0].assertionResults: expected an array, got object',
    ],
  ])('%s', (_label, doc, message) => {
    // Prepare / Act
    const err = errorOf(() => parseJest(doc));

    // Assess
    expect(err.code).toBe('invalid_report');
    expect(err.message).toContain(message);
  });

  it('names the nested path of a wrongly typed status', () => {
    // Prepare
    const doc = report([assertion(), assertion({ status: 3 })]);

    // Act
    const err = errorOf(() => parseJest(doc));

    // Assess
    expect(err.message).toBe(
      'Invalid Jest/Vitest JSON report: testResults[0].assertionResults[1].status: expected a string, got number 3',
    );
    expect(err.location).toEqual({ path: 'testResults[0].assertionResults[1].status' });
  });

  it('rejects numbers given as strings, quoting the value', () => {
    // Prepare
    const doc = report([assertion({ duration: '12' })]);

    // Act
    const err = errorOf(() => parseJest(doc));

    // Assess
    expect(err.message).toContain(
      'testResults[0].assertionResults[0].duration: expected a number, got string "12"',
    );
  });

  it('rejects negative counts and wrongly typed failure messages', () => {
    // Prepare / Act
    const negative = errorOf(() => parseJest(report([assertion()], { numTotalTests: -1 })));
    const messages = errorOf(() => parseJest(report([assertion({ failureMessages: [1] })])));

    // Assess
    expect(negative.message).toContain('numTotalTests: expected a number >= 0, got -1');
    expect(messages.message).toContain(
      'testResults[0].assertionResults[0].failureMessages[0]: expected a string, got number 1',
    );
  });
});

describe('formatPath', () => {
  it('writes identifiers with dots, indexes and odd keys in brackets', () => {
    // Prepare / Act / Assess
    expect(formatPath([])).toBe('$');
    expect(formatPath(['a', 0, 'b'])).toBe('a[0].b');
    expect(formatPath(['metrics', 'p(95)<500'])).toBe('metrics["p(95)<500"]');
    expect(formatPath(['http.codes.200'])).toBe('["http.codes.200"]');
  });
});
