import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import { parseJest } from '../../../functions/core/formats/jest';
import { parseJunit, parseJunitReference } from '../../../functions/core/formats/junit';
import { ingest } from '../../../functions/core/ingest/service';
import { fixedClock, MemoryArchive, MemoryLedger, MemoryPublisher } from '../../helpers/fakes';

/** Suite duration for the duration gate: the run's wall time, and which reading gave it. */

const suite = (name: string, time?: string, timestamp?: string, cases = '') =>
  `<testsuite name="${name}" tests="1"${time === undefined ? '' : ` time="${time}"`}${
    timestamp ? ` timestamp="${timestamp}"` : ''
  }>${cases || `<testcase classname="c" name="${name}-t" time="1"/>`}</testsuite>`;

const both = (xml: string) => {
  const fast = parseJunit(xml);
  const reference = parseJunitReference(xml);
  expect(fast.summary.durationMs).toBe(reference.summary.durationMs);
  expect(fast.durationSource).toBe(reference.durationSource);
  expect(fast.warnings).toEqual(reference.warnings);
  return fast;
};

/** Ingest with a duration budget of 200 s, in memory. */
const gateDeps = () => ({
  config: parseConfig({ gates: { maxDurationSeconds: 200 } }),
  publisher: new MemoryPublisher(),
  archive: new MemoryArchive(),
  ledger: new MemoryLedger(),
  clock: fixedClock(),
});

describe('JUnit suite duration', () => {
  it("takes the root's time over the sum of its suites", () => {
    const r = both(`<testsuites time="10">${suite('a', '8')}${suite('b', '7')}</testsuites>`);
    expect(r.summary.durationMs).toBe(10_000);
    expect(r.durationSource).toBe('root time');
  });

  it('takes the span of the timestamps of suites that ran in parallel', () => {
    const r = both(
      `<testsuites>${suite('a', '5', '2026-11-25T10:00:00Z')}${suite('b', '5.5', '2026-11-25T10:00:02Z')}</testsuites>`,
    );
    expect(r.summary.durationMs).toBe(7_500); // 10:00:00 to 10:00:07.5, not 10.5 s
    expect(r.durationSource).toBe('timestamp span');
  });

  it('says so when every suite has the same start time (the span is the longest suite)', () => {
    const at = '2022-10-13T16:53:32-05:00';
    const r = both(`<testsuites>${suite('a', '0.482', at)}${suite('b', '0.835', at)}</testsuites>`);
    expect(r.summary.durationMs).toBe(835);
    expect(r.durationSource).toBe('longest suite (same start time)');
  });

  it("does not take Vitest's root time (a sum of parallel files) for the wall time", () => {
    const at = '2026-12-03T16:26:20.151Z';
    const r = both(
      `<testsuites name="vitest tests" time="317">${suite('a.test.ts', '193', at)}${suite('b.test.ts', '124', at)}</testsuites>`,
    );
    expect(r.summary.durationMs).toBe(193_000);
    expect(r.durationSource).toBe('longest file');
    expect(r.warnings).toContainEqual(
      expect.stringContaining('root time (317 s) is the sum of the files'),
    );
  });

  it('does not take a root time shorter than a test case (CTest\'s time="0") for the wall time', async () => {
    const ctest = readFileSync('test/fixtures/real/cpp/ctest-junit.xml', 'utf8');
    expect(ctest).toContain('time="0"\n\ttimestamp=');
    // A variant where one test took 300 s: the duration gate (200 s) must see it.
    const long = ctest.replace(
      'name="add" classname="add" time="0.0259552"',
      'name="add" classname="add" time="300"',
    );
    const r = both(long);
    expect(r.summary.durationMs).toBe(300_171.709); // 300 s + the other eight cases
    expect(r.durationSource).toBe('sum of test case times');
    const deps = gateDeps();
    const body = Buffer.from(long);
    const { result } = await ingest({ query: { project: 'shop' }, body, correlationId: 'c' }, deps);
    expect(result.gate.checks.find((c) => c.id === 'tests.duration')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('(sum of test case times)'),
    });
    // A root time as long as the longest test case is still the wall time.
    const equal = both(`<testsuites time="1">${suite('a', '1')}</testsuites>`);
    expect(equal.durationSource).toBe('root time');
  });

  it('adds suite times without timestamps, and test case times without suite times', () => {
    const suites = both(`<testsuites>${suite('a', '2')}${suite('b', '3')}</testsuites>`);
    expect(suites.summary.durationMs).toBe(5_000);
    expect(suites.durationSource).toBe('sum of suite times');
    const cases = both(`<testsuites>${suite('a', '')}${suite('b')}</testsuites>`);
    expect(cases.warnings).toEqual([]); // an empty time is no time, not an invalid one
    expect(cases.summary.durationMs).toBe(2_000);
    expect(cases.durationSource).toBe('sum of test case times');
  });

  it('warns about times that are not durations instead of counting them as 0', () => {
    const cases = ['1e400', 'Infinity', '-1', '0x10', '2', '1.5E-1']
      .map((t, i) => `<testcase classname="c" name="t${i}" time="${t}"/>`)
      .join('');
    const r = both(`<testsuite name="s" tests="6">${cases}</testsuite>`);
    expect(r.summary.durationMs).toBe(2_150);
    expect(r.warnings).toContain(
      // The first three are named; "0x10" (t3) is the fourth.
      '4 time attribute(s) are not valid durations ("1e400" on test case "t0", "Infinity" on ' +
        'test case "t1", "-1" on test case "t2"): they count as unknown, not in the suite duration',
    );
    const root = both(`<testsuites time="-5">${suite('a', 'NaN')}</testsuites>`);
    expect(root.warnings[0]).toMatch(
      /^2 time attribute\(s\).*"-5" on <testsuites>, "NaN" on <testsuite name="a">/,
    );
    expect(root.durationSource).toBe('sum of test case times');
  });

  it('names the reading in the duration gate', async () => {
    const deps = gateDeps();
    const at = '2026-12-03T16:26:20.151Z';
    const body = Buffer.from(
      `<testsuites name="vitest tests" time="317">${suite('a.test.ts', '193', at)}${suite('b.test.ts', '124', at)}</testsuites>`,
    );
    const { result } = await ingest({ query: { project: 'shop' }, body, correlationId: 'c' }, deps);
    const check = result.gate.checks.find((c) => c.id === 'tests.duration');
    expect(check).toMatchObject({
      status: 'pass',
      message: 'Suite took 193s (longest file), within the budget of 200s',
    });
  });

  it('skips the duration gate when the report has no valid time at all, instead of "took 0s"', async () => {
    const deps = gateDeps();
    for (const cases of [
      '<testcase classname="c" name="a" time="NaN"/><testcase classname="c" name="b" time="x"/>',
      '<testcase classname="c" name="a"/>',
    ]) {
      const body = Buffer.from(`<testsuite name="s">${cases}</testsuite>`);
      const { result } = await ingest(
        { query: { project: 'shop', runId: `r-${cases.length}` }, body, correlationId: 'c' },
        deps,
      );
      expect(result.gate.checks.find((c) => c.id === 'tests.duration')).toMatchObject({
        status: 'skip',
        message:
          'Suite duration unknown (no valid time in the report): not checked against the budget of 200s',
        actual: null,
      });
    }
  });
});

describe('Jest/Vitest JSON suite duration', () => {
  const doc = (durations: number[], startTime?: number) => ({
    ...(startTime === undefined ? {} : { startTime }),
    testResults: [
      {
        name: 'a.test.ts',
        status: 'passed',
        startTime: 1000,
        endTime: 1100,
        assertionResults: durations.map((duration, i) => ({
          title: `t${i}`,
          status: 'passed',
          duration,
        })),
      },
    ],
  });

  it('uses the start-to-end span when there is a start time, and says which', () => {
    expect(parseJest(doc([80, 70], 1000))).toMatchObject({
      summary: { durationMs: 100 },
      durationSource: 'start-to-end span',
    });
    expect(parseJest(doc([80, 70]))).toMatchObject({
      summary: { durationMs: 150 },
      durationSource: 'sum of test case times',
    });
  });

  it('warns about a negative duration', () => {
    expect(parseJest(doc([-5, 70])).warnings).toContain(
      '1 test(s) have a negative or absurd duration (not a number of ms from 0 to 1000000000000): they count as unknown, not in the suite duration.',
    );
  });
});
