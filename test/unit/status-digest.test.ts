import { describe, expect, it } from 'vitest';
import type { TestCase } from '../../functions/core/formats/types';
import { clipText, DIGEST_LIMITS, digestOf } from '../../functions/core/status/digest';

const failed = (i: number, over: Partial<TestCase> = {}): TestCase => ({
  suite: 's',
  classname: 'C',
  name: `t${i}`,
  status: 'failed',
  flaky: false,
  durationMs: 1,
  retries: 0,
  message: `m${i}`,
  ...over,
});

const normalized = (cases: TestCase[], warnings?: string[]): Uint8Array =>
  Buffer.from(
    JSON.stringify({ project: 'p', runId: 'r', report: { kind: 'tests', cases, warnings } }),
  );

describe('run digest', () => {
  it('keeps the first failed tests in report order, counts them all, and skips the others', () => {
    const cases = [
      { ...failed(0), status: 'passed' as const, message: undefined },
      ...Array.from({ length: DIGEST_LIMITS.tests + 5 }, (_, i) => failed(i + 1)),
      { ...failed(999), status: 'skipped' as const },
    ];
    const d = digestOf(normalized(cases, ['w1']));
    expect(d.failedTestsTotal).toBe(DIGEST_LIMITS.tests + 5);
    expect(d.failedTests).toHaveLength(DIGEST_LIMITS.tests);
    expect(d.failedTests[0]).toEqual({
      suite: 's',
      classname: 'C',
      name: 't1',
      message: 'm1',
      durationMs: 1,
    });
    expect(d.failedTests.at(-1)?.name).toBe(`t${DIGEST_LIMITS.tests}`);
    expect(d.warnings).toEqual(['w1']);
  });

  it('stays within its byte budget with long stack traces, names and warnings', () => {
    const stack = `Error: boom\n${'    at frame (file.ts:1:1)\n'.repeat(140)}`.slice(0, 4000);
    const cases = Array.from({ length: 150 }, (_, i) =>
      failed(i, {
        details: stack,
        name: `${'n'.repeat(2000)}${i}`,
        file: 'f'.repeat(900),
        line: 7,
      }),
    );
    const d = digestOf(
      normalized(
        cases,
        Array.from({ length: 80 }, () => 'w'.repeat(900)),
      ),
    );
    expect(d.failedTestsTotal).toBe(150);
    expect(d.failedTests.length).toBeGreaterThan(10);
    expect(d.failedTests.length).toBeLessThan(150);
    expect(Buffer.byteLength(JSON.stringify(d.failedTests))).toBeLessThanOrEqual(
      DIGEST_LIMITS.testBytes,
    );
    // A prefix: the tests kept are the first ones.
    expect(d.failedTests.map((t) => t.line)).toEqual(d.failedTests.map(() => 7));
    expect(d.failedTests[0]?.name).toHaveLength(DIGEST_LIMITS.text);
    expect(d.failedTests[0]?.file?.endsWith('…')).toBe(true);
    expect(d.failedTests[0]?.details).toBe(stack);
    expect(d.warnings).toHaveLength(DIGEST_LIMITS.warnings);
    expect(d.warnings[0]).toHaveLength(DIGEST_LIMITS.text);
  });

  it('is empty for a report without test cases (coverage, load, benchmarks)', () => {
    expect(digestOf(Buffer.from(JSON.stringify({ report: { kind: 'coverage' } })))).toEqual({
      warnings: [],
      failedTests: [],
      failedTestsTotal: 0,
    });
  });

  it('clips text without splitting a surrogate pair', () => {
    expect(clipText('abc', 3)).toBe('abc');
    expect(clipText('abcdef', 4)).toBe('abc…');
    // '😀' is two UTF-16 units: cutting after 'a' and its high half would leave half a character.
    expect(clipText('a😀bc', 3)).toBe('a…');
    expect(clipText('ab😀c', 4)).toBe('ab…');
  });
});
