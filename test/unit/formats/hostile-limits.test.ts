import { describe, expect, it } from 'vitest';
import { parseArtillery } from '../../../functions/core/formats/artillery';
import { parseBenchmark } from '../../../functions/core/formats/benchmark';
import { parseGbench } from '../../../functions/core/formats/gbench';
import { parseGoBench } from '../../../functions/core/formats/go-bench';
import { parseGoTest } from '../../../functions/core/formats/go-test';
import { parseJest } from '../../../functions/core/formats/jest';
import { mergeReruns } from '../../../functions/core/formats/junit-readings';
import { parseK6 } from '../../../functions/core/formats/k6';
import { parsePlaywright } from '../../../functions/core/formats/playwright';
import { parseTrx } from '../../../functions/core/formats/trx';
import { round2, type TestCase } from '../../../functions/core/formats/types';
import { cpuMs } from '../../helpers/cpu-time';
import { errorOf } from '../../helpers/errors';

/**
 * Reports built to hurt: nesting that would overflow the stack, text that makes a regex or a
 * merge blow up, and numbers that stop being finite once converted. Each is a clear 400 or a
 * warning, in bounded CPU time, never a 500 or an Infinity in the result.
 */

/** `levels` Playwright suites, each the only child of the one above, the innermost with a spec. */
const nestedSuites = (levels: number) => {
  let suite: Record<string, unknown> = {
    title: 's',
    specs: [{ title: 't', tests: [{ status: 'expected', results: [{ duration: 1 }] }] }],
  };
  for (let i = 1; i < levels; i++) suite = { title: 's', specs: [], suites: [suite] };
  return { suites: [suite] };
};

describe('Playwright suite nesting', () => {
  it('refuses 1000 nested suites with a 400 naming the depth limit and where', () => {
    // Prepare
    const doc = nestedSuites(1000);

    // Act
    const error = errorOf(() => parsePlaywright(doc));

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'invalid_report' });
    const where = `suites[0]${'.suites[0]'.repeat(200)}`;
    expect(error.message).toBe(
      `Invalid Playwright JSON report: suite nesting is deeper than 200 levels at ${where}; refusing to read further.`,
    );
    expect(error.location).toEqual({ path: where });
  });

  it('reads 200 nested suites, the limit', () => {
    // Act
    const parsed = parsePlaywright(nestedSuites(200));

    // Assess: the top suite is the file; the 199 below it and the spec make the name.
    expect(parsed.summary).toMatchObject({ total: 1, passed: 1 });
    expect(parsed.cases[0]?.name.split(' › ')).toHaveLength(200);
  });
});

describe('go test -bench: linear time on long digit runs', () => {
  it('skips a line of 100,000 digits with no unit in bounded CPU time', () => {
    // Prepare
    const text = `BenchmarkA-8 100 12.3 ns/op\nBenchmarkB 1 ${'1'.repeat(100_000)}x`;

    // Act
    const { value: parsed, ms } = cpuMs(() => parseGoBench(text));

    // Assess
    expect(parsed.summary.benchmarks).toEqual([
      { name: 'BenchmarkA', unit: 'ns/op', value: 12.3, samples: 1, direction: 'smaller' },
    ]);
    expect(ms).toBeLessThan(1000);
  });
});

describe('JUnit reruns: linear time in the size of a group', () => {
  const cases = (n: number, classname: (i: number) => string): TestCase[] =>
    Array.from({ length: n }, (_, i) => ({
      suite: 's',
      classname: classname(i),
      name: 't',
      status: 'passed',
      flaky: false,
      durationMs: 1,
      retries: 0,
    }));

  it('keeps 60,000 passed copies of one test apart in bounded CPU time', () => {
    // Prepare
    const input = cases(60_000, () => 'c');

    // Act
    const { value: merged, ms } = cpuMs(() =>
      mergeReruns(input, new Array(60_000).fill(0), undefined),
    );

    // Assess: copies that all passed are not reruns (mocha titles repeat).
    expect(merged.cases).toHaveLength(60_000);
    expect(merged.repeated).toEqual([]);
    expect(ms).toBeLessThan(1000);
  });

  it('merges them into one test when the declared count says so', () => {
    // Act
    const merged = mergeReruns(
      cases(1000, () => 'c'),
      new Array(1000).fill(0),
      1,
    );

    // Assess
    expect(merged.cases).toHaveLength(1);
    expect(merged.cases[0]).toMatchObject({ retries: 999, durationMs: 1000 });
  });

  it('tells 60,000 classnames of one test name apart in bounded CPU time', () => {
    // Prepare
    const input = cases(60_000, (i) => `c${i}`);

    // Act
    const { value: merged, ms } = cpuMs(() =>
      mergeReruns(input, new Array(60_000).fill(0), undefined),
    );

    // Assess
    expect(merged.cases).toHaveLength(60_000);
    expect(ms).toBeLessThan(1000);
  });
});

describe('durations that are not finite, or absurd, once converted', () => {
  const jestFile = (file: Record<string, unknown>) => ({
    name: 'a.test.ts',
    status: 'passed',
    assertionResults: [],
    ...file,
  });

  it('Jest: counts a test duration of 1e308 ms as unknown, with a warning', () => {
    // Prepare
    const test = { title: 't', status: 'passed', duration: 1e308 };
    const doc = { testResults: [jestFile({ assertionResults: [test] })] };

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.cases[0]?.durationMs).toBe(0);
    expect(parsed.summary.durationMs).toBe(0);
    expect(parsed.warnings).toEqual([
      '1 test(s) have a negative or absurd duration (not a number of ms from 0 to 1000000000000): they count as unknown, not in the suite duration.',
    ]);
  });

  it('Jest: falls back to the test times when the start-to-end span is not a duration', () => {
    // Prepare
    const test = { title: 't', status: 'passed', duration: 5 };
    const doc = {
      startTime: -1e308,
      testResults: [jestFile({ endTime: 1e308, assertionResults: [test] })],
    };

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.summary.durationMs).toBe(5);
    expect(parsed.durationSource).toBe('sum of test case times');
    expect(parsed.warnings).toEqual([
      'The span from startTime to the last endTime (Infinity ms) is not a duration from 0 to 1000000000000 ms: the suite duration is the sum of test case times.',
    ]);
  });

  it('Jest: counts the run time of a broken file spanning ±1e308 as unknown', () => {
    // Prepare
    const doc = {
      numRuntimeErrorTestSuites: 1,
      wasInterrupted: false,
      testResults: [jestFile({ status: 'failed', startTime: -1e308, endTime: 1e308 })],
    };

    // Act
    const parsed = parseJest(doc);

    // Assess
    expect(parsed.cases[0]).toMatchObject({ status: 'failed', durationMs: 0 });
    expect(parsed.summary.durationMs).toBe(0);
    expect(parsed.warnings).toContain(
      '1 test(s) have a negative or absurd duration (not a number of ms from 0 to 1000000000000): they count as unknown, not in the suite duration.',
    );
  });

  it('go test -json: counts an Elapsed of 1e308 s as unknown, with a warning', () => {
    // Prepare
    const text = [
      JSON.stringify({ Action: 'pass', Package: 'p', Test: 'TestA', Elapsed: 1e308 }),
      JSON.stringify({ Action: 'pass', Package: 'p', Elapsed: 1e308 }),
    ].join('\n');

    // Act
    const parsed = parseGoTest(text);

    // Assess
    expect(parsed.cases[0]?.durationMs).toBe(0);
    expect(parsed.summary.durationMs).toBe(0);
    expect(parsed.warnings).toEqual([
      '2 Elapsed value(s) are not durations from 0 to 1000000000 s (first: line 1): they count as unknown, not in the durations',
    ]);
  });

  it('TRX: counts a duration of 10^400 hours as unknown, with a warning', () => {
    // Prepare
    const huge = `1${'0'.repeat(400)}:00:00`;
    const text = `<TestRun><Results><UnitTestResult testName="a" outcome="Passed" duration="${huge}"/><UnitTestResult testName="b" outcome="Passed" duration="00:00:01.5"/></Results></TestRun>`;

    // Act
    const parsed = parseTrx(text);

    // Assess
    expect(parsed.cases.map((c) => c.durationMs)).toEqual([0, 1500]);
    expect(parsed.summary.durationMs).toBe(1500);
    expect(parsed.warnings).toEqual([
      '1 duration attribute(s) are not durations (hh:mm:ss.fffffff, at most 1000000000000 ms): they count as unknown, not in the suite duration',
    ]);
  });

  it('Playwright: refuses a result duration of 1e308 ms, naming the field', () => {
    // Prepare
    const text = JSON.stringify(nestedSuites(1)).replace('"duration":1', '"duration":1e308');
    const doc: unknown = JSON.parse(text);

    // Act
    const error = errorOf(() => parsePlaywright(doc));

    // Assess
    expect(error).toMatchObject({
      status: 400,
      location: { path: 'suites[0].specs[0].tests[0].results[0].duration' },
    });
    expect(error.message).toContain('duration: expected a number <= 1000000000000, got 1e+308');
  });

  it.each([
    [{ state: { testRunDurationMs: 1e308 } }, 'state.testRunDurationMs'],
    [
      { version: '1.0.0', config: { duration: 1e308 }, results: { metrics: [] } },
      'config.duration',
    ],
    [
      { metrics: { http_req_duration: { values: { 'p(95)': 1e308 } } } },
      'metrics.http_req_duration.values["p(95)"]',
    ],
  ])('k6: refuses %j, naming %s', (doc, path) => {
    // Act
    const error = errorOf(() => parseK6({ metrics: {}, ...doc }));

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'invalid_report', location: { path } });
    expect(error.message).toBe(
      `Invalid k6 summary: ${path}: expected a duration from 0 to 1000000000000 ms, got number 1e+308`,
    );
  });

  it('Artillery: refuses a latency of 1e308 ms, and warns about a ±1e308 time span', () => {
    // Prepare
    const latency = {
      aggregate: { counters: {}, summaries: { 'http.response_time': { p99: 1e308 } } },
    };
    const span = { aggregate: { counters: {}, firstMetricAt: -1e308, lastMetricAt: 1e308 } };

    // Act
    const error = errorOf(() => parseArtillery(latency));
    const parsed = parseArtillery(span);

    // Assess
    expect(error).toMatchObject({
      status: 400,
      location: { path: 'aggregate.summaries["http.response_time"].p99' },
    });
    expect(parsed.summary.durationMs).toBeUndefined();
    expect(parsed.warnings).toContain(
      'The span from the first to the last metric (Infinity ms) is longer than 1000000000000 ms: the duration is unknown.',
    );
  });

  it('round2 leaves numbers too large for decimals as they are', () => {
    // Act + Assess
    expect(round2(1e308)).toBe(1e308);
    expect(round2(-1.7e308)).toBe(-1.7e308);
    expect(round2(12.345)).toBe(12.35);
  });
});

describe('benchmark values beyond ±1e15', () => {
  it.each([
    [
      'pytest-benchmark',
      () => parseBenchmark({ benchmarks: [{ name: 'b', stats: { mean: 1.7e308 } }] }),
      'benchmarks[0].stats.mean',
    ],
    [
      'github-action-benchmark',
      () => parseBenchmark([{ name: 'b', unit: 'ms', value: -1.7e308 }]),
      '[0].value',
    ],
    [
      'Google Benchmark',
      () => parseGbench({ context: {}, benchmarks: [{ name: 'b', real_time: 1.7e308 }] }),
      'benchmarks[0].real_time',
    ],
  ])('%s: refused with a 400 naming the field', (_, parse, path) => {
    // Act
    const error = errorOf(parse);

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'invalid_report', location: { path } });
    expect(error.message).toMatch(
      /: expected a number [<>]= -?1000000000000000, got -?1\.7e\+308$/,
    );
  });

  it('go test -bench: refused with a 400 naming the line', () => {
    // Act
    const error = errorOf(() =>
      parseGoBench('BenchmarkA-8 100 12.3 ns/op\nBenchmarkB 1 1.7e308 ns/op\n'),
    );

    // Assess
    expect(error).toMatchObject({ status: 400, location: { line: 2 } });
    expect(error.message).toBe(
      'Invalid go test -bench output: line 2: 1.7e308 ns/op is not a number from -1000000000000000 to 1000000000000000',
    );
  });
});

describe('requests per second', () => {
  it('k6: leaves it out when a near-zero duration would make it Infinity', () => {
    // Prepare: 100 requests and no rate of k6's own, over 1e-320 ms (a valid duration).
    const doc = {
      root_group: { name: '', path: '', groups: [], checks: [] },
      state: { testRunDurationMs: 1e-320 },
      metrics: { http_reqs: { type: 'counter', contains: 'default', values: { count: 100 } } },
    };

    // Act
    const parsed = parseK6(doc);

    // Assess: no rate rather than Infinity (which no event or metric can carry).
    expect(parsed.summary.requests).toBe(100);
    expect(parsed.summary).not.toHaveProperty('requestsPerSecond');
  });
});

describe('keys from the report', () => {
  it('go test -json: an Action named like an Object.prototype member is no result', () => {
    // Prepare: one passed test, and an event whose Action is "constructor".
    const lines = [
      { Action: 'run', Package: 'p', Test: 'T' },
      { Action: 'constructor', Package: 'p', Test: 'T', Elapsed: 5 },
      { Action: 'pass', Package: 'p', Test: 'T', Elapsed: 0.5 },
    ].map((e) => JSON.stringify(e));

    // Act
    const parsed = parseGoTest(lines.join('\n'));

    // Assess: the test passed once, in 500 ms; the odd event counts for nothing.
    expect(parsed.summary).toMatchObject({ total: 1, passed: 1, skipped: 0 });
    expect(parsed.cases[0]?.durationMs).toBe(500);
  });
});
