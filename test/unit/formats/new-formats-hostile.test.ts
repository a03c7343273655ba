import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ParsedBenchmark,
  type ParsedCoverage,
  type ParsedTests,
  parseReport,
} from '../../../functions/core/formats';
import { parseGoTest } from '../../../functions/core/formats/go-test';
import { errorOf } from '../../helpers/errors';

/**
 * The new formats against mutated and hostile input: each bad input gets a clear 4xx that says
 * what is wrong and where; odd but valid input is read as documented, with a warning.
 */

const FIXTURES = join(__dirname, '../../fixtures');
const read = (path: string): string => readFileSync(join(FIXTURES, path), 'utf8');

const tests = (text: string, format?: Parameters<typeof parseReport>[1]) =>
  parseReport(text, format) as ParsedTests;
const coverage = (text: string, format?: Parameters<typeof parseReport>[1]) =>
  parseReport(text, format) as ParsedCoverage;
const bench = (text: string, format?: Parameters<typeof parseReport>[1]) =>
  parseReport(text, format) as ParsedBenchmark;

describe('Playwright JSON', () => {
  const real = JSON.parse(read('real/playwright/playwright.json'));

  it('names the bad field of a mutated report', () => {
    const bad = structuredClone(real);
    bad.suites[0].suites[0].specs[0].tests[0].status = 'maybe';
    const error = errorOf(() => parseReport(JSON.stringify(bad)));
    expect(error).toMatchObject({ status: 400, code: 'invalid_report' });
    expect(error.message).toMatch(
      /^Invalid Playwright JSON report: suites\[0\]\.suites\[0\]\.specs\[0\]\.tests\[0\]\.status: /,
    );
    expect(errorOf(() => parseReport('[1]', 'playwright')).message).toContain('expected an object');
  });

  it('reads projects, retries, annotations and says when its stats disagree', () => {
    const doc = {
      config: {},
      stats: { duration: 10, expected: 5, unexpected: 0, flaky: 0, skipped: 0 },
      suites: [
        {
          title: 'a.spec.ts',
          file: 'a.spec.ts',
          specs: [
            {
              title: 'fails as expected',
              tests: [
                {
                  projectName: 'webkit',
                  expectedStatus: 'failed',
                  status: 'expected',
                  annotations: [{ type: 'fail' }],
                  results: [{ status: 'failed', duration: 3 }],
                },
              ],
            },
            {
              title: 'broken',
              tests: [
                {
                  status: 'unexpected',
                  results: [
                    {
                      status: 'failed',
                      duration: 1,
                      error: { message: '\u001b[31mboom\u001b[39m\nstack' },
                    },
                    { status: 'failed', duration: 2, errors: [{ message: 'boom again' }] },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const parsed = tests(JSON.stringify(doc));
    expect(parsed.summary).toEqual({
      total: 2,
      passed: 1,
      failed: 1,
      skipped: 0,
      flaky: 0,
      durationMs: 10,
    });
    expect(parsed.cases[0]).toMatchObject({
      suite: 'webkit',
      classname: 'a.spec.ts',
      status: 'passed',
    });
    expect(parsed.cases[1]).toMatchObject({
      status: 'failed',
      retries: 1,
      message: 'boom again',
      durationMs: 3,
    });
    expect(parsed.warnings).toEqual([
      'stats say expected+flaky (passed)=5 but the tests give 1',
      'stats say unexpected (failed)=0 but the tests give 1',
    ]);
    const noStats = tests(JSON.stringify({ ...doc, stats: undefined, suites: [] }), 'playwright');
    expect(noStats.warnings).toEqual(['the report contains no tests']);
  });
});

describe('Playwright JSON, sparse reports', () => {
  it('reads skipped and flaky tests without files, projects, durations or messages', () => {
    const test = (status: string, results: unknown[]) => ({ status, results });
    const doc = {
      config: {},
      stats: {},
      suites: [
        {
          title: 'top',
          specs: [
            {
              title: 'mixed',
              tests: [
                test('skipped', []),
                test('flaky', [{}, {}]),
                test('unexpected', [{ errors: [] }]),
              ],
            },
          ],
        },
      ],
    };
    const parsed = parseReport(JSON.stringify(doc)) as ParsedTests;
    expect(
      parsed.cases.map((c) => [c.suite, c.classname, c.status, c.flaky, c.retries, c.message]),
    ).toEqual([
      ['', 'top', 'skipped', false, 0, undefined],
      ['', 'top', 'passed', true, 1, undefined],
      ['', 'top', 'failed', false, 0, undefined],
    ]);
    expect(parsed.summary.durationMs).toBe(0);
    expect(parsed.warnings).toContain('stats say flaky=0 but the tests give 1');
  });
});

describe('TRX counters', () => {
  it('says when passed or failed counters disagree, and reads a bad duration as 0', () => {
    const text = `<TestRun><Results><UnitTestResult testName="a" outcome="Failed" duration="soon"><Output><ErrorInfo><Message>

      first line</Message></ErrorInfo></Output></UnitTestResult></Results>
      <ResultSummary><Counters total="1" passed="1" failed="0"/></ResultSummary></TestRun>`;
    const parsed = parseReport(text) as ParsedTests;
    expect(parsed.cases[0]).toMatchObject({ durationMs: 0, message: 'first line', classname: '' });
    expect(parsed.warnings).toEqual([
      '1 duration attribute(s) are not durations (hh:mm:ss.fffffff, at most 1000000000000 ms): they count as unknown, not in the suite duration',
      '<Counters passed="1"> but found 0 passed test results',
      '<Counters> failed+error+timeout+aborted=0 but found 1 failed test results',
    ]);
  });
});

describe('TRX, sparse', () => {
  it('reads results without names, durations or times, and warns when there are none', () => {
    const sparse = `<TestRun><Times/><Results><UnitTestResult outcome="Passed"/><UnitTestResult testName="b" outcome="Failed"><Output><ErrorInfo><Message>one</Message><Message>two</Message></ErrorInfo></Output></UnitTestResult><UnitTestResult testName="c" outcome="NotExecuted"><Output><ErrorInfo><Message>skipped why</Message></ErrorInfo></Output></UnitTestResult></Results></TestRun>`;
    const parsed = parseReport(sparse) as ParsedTests;
    expect(parsed.cases.map((c) => [c.name, c.status, c.durationMs, c.message])).toEqual([
      ['', 'passed', 0, undefined],
      ['b', 'failed', 0, 'one'],
      ['c', 'skipped', 0, undefined],
    ]);
    const none = parseReport('<TestRun><Results/></TestRun>') as ParsedTests;
    expect(none.warnings).toContain('the report contains no <UnitTestResult> elements');
  });
});

describe('Go cover profile, counts', () => {
  it('reads zero counts written with several digits as not hit, and refuses unsafe totals', () => {
    expect(
      coverage('\uFEFFmode: set\na.go:1.1,2.2 2 00\na.go:3.1,4.2 2 01\n').summary.statements?.pct,
    ).toBe(50);
    const huge = errorOf(() => parseReport('mode: set\na.go:1.1,2.2 99999999999999999999 1\n'));
    expect(huge.message).toContain('beyond a safe integer');
  });
});

describe('go test -json', () => {
  const event = (e: Record<string, unknown>) => JSON.stringify({ Package: 'p', ...e });

  it('refuses output with no test2json event, naming the line', () => {
    const error = errorOf(() => parseReport('ok  \tp\t0.1s\n', 'go-test'));
    expect(error).toMatchObject({ status: 400, location: { line: 1 } });
    expect(error.message).toContain('no line is a test2json event');
  });

  it('skips non-JSON lines, counts a failed package without failed tests, and a test cut short', () => {
    const text = [
      event({ Action: 'run', Test: 'TestA' }),
      '# p [build output]',
      event({ Action: 'output', Test: 'TestA', Output: '=== RUN   TestA\n' }),
      event({ Action: 'pass', Test: 'TestA', Elapsed: 0.5 }),
      event({ Action: 'run', Test: 'TestCut' }),
      '{not json',
      event({ Action: 'output', Output: 'panic: boom\n' }),
      event({ Action: 'fail', Elapsed: 1 }),
    ].join('\n');
    const parsed = tests(text);
    expect(parsed.format).toBe('go-test');
    expect(parsed.summary).toEqual({
      total: 2,
      passed: 1,
      failed: 1,
      skipped: 0,
      flaky: 0,
      durationMs: 1000,
    });
    expect(parsed.cases[1]).toMatchObject({
      name: '(package)',
      status: 'failed',
      message: 'panic: boom',
    });
    expect(parsed.warnings).toEqual([
      'package p failed without a failed test (build error, TestMain or a panic): counted as one failed test named "(package)"',
      '1 test(s) started but have no pass/fail/skip event (run cut short?)',
      '2 line(s) are not test2json events and were skipped (first: line 2)',
    ]);
  });

  it('refuses blank output at line 1, and warns when only packages report', () => {
    expect(errorOf(() => parseGoTest('\n\n'))).toMatchObject({ location: { line: 1 } });
    const parsed = parseGoTest(JSON.stringify({ Action: 'pass', Elapsed: 0.2 }));
    expect(parsed.cases).toEqual([]);
    expect(parsed.warnings).toEqual(['the output contains no tests']);
  });

  it('shows the start of a long bad line of a Go cover profile', () => {
    const error = errorOf(() => parseReport(`mode: set\n${'y'.repeat(80)}\n`, 'go-cover'));
    expect(error.message).toContain(`got "${'y'.repeat(59)}…"`);
  });

  it('reads -count runs as attempts and keeps the first message of a failure', () => {
    const text = [
      event({ Action: 'output', Test: 'TestX', Output: '    x_test.go:9: want 2\n' }),
      event({ Action: 'fail', Test: 'TestX', Elapsed: 0.001 }),
      event({ Action: 'fail', Test: 'TestX', Elapsed: 0.001 }),
      event({ Action: 'skip', Test: 'TestS' }),
      event({ Action: 'fail', Elapsed: 'soon' }),
    ].join('\n');
    const parsed = tests(text);
    expect(parsed.cases[0]).toMatchObject({
      status: 'failed',
      retries: 1,
      message: 'x_test.go:9: want 2',
      durationMs: 2,
    });
    expect(parsed.summary).toMatchObject({ total: 2, failed: 1, skipped: 1, durationMs: 2 });
  });
});

describe('Go cover profile', () => {
  it('refuses a profile without its mode line, or with a bad block, naming the line', () => {
    expect(errorOf(() => parseReport('a.go:1.1,2.2 1 1\n', 'go-cover'))).toMatchObject({
      status: 400,
      location: { line: 1 },
    });
    const bad = errorOf(() => parseReport('mode: set\na.go:1.1,2.2 1 1\na.go:garbage\n'));
    expect(bad).toMatchObject({ status: 400, location: { line: 3 } });
    expect(bad.message).toContain('expected "file:line.col,line.col statements count"');
  });

  it('counts a block once across concatenated profiles, hit if any profile hit it', () => {
    const text = 'mode: count\na.go:1.1,2.2 3 0\nb.go:1.1,2.2 1 0\nmode: count\na.go:1.1,2.2 3 5\n';
    expect(coverage(text).summary.statements).toEqual({ pct: 75, covered: 3, total: 4 });
    const empty = coverage('mode: atomic\n');
    expect(empty.summary.statements?.pct).toBeNull();
    expect(empty.warnings).toEqual(['the profile lists no blocks']);
  });
});

describe('go test -bench', () => {
  it('refuses text with no result line, and a value that is not finite', () => {
    expect(errorOf(() => parseReport('goos: linux\nPASS\n', 'go-bench')).message).toContain(
      'no result line',
    );
    const inf = errorOf(() => parseReport('BenchmarkX-2  10  1e400 ns/op\n', 'go-bench'));
    expect(inf).toMatchObject({ status: 400, location: { line: 1 } });
  });

  it('reads -count samples, custom units, packages and mixed GOMAXPROCS', () => {
    const text = [
      'pkg: a',
      'BenchmarkX-2   10   100 ns/op   50.5 MB/s',
      'BenchmarkX-2   10   110 ns/op   49.5 MB/s',
      'pkg: b',
      'BenchmarkY-4   10   7 ns/op   3 widgets',
    ].join('\n');
    const { benchmarks } = bench(text).summary;
    expect(benchmarks[0]).toMatchObject({
      name: 'a.BenchmarkX-2',
      value: 105,
      samples: 2,
      direction: 'smaller',
    });
    expect(benchmarks[0]?.stddev).toBeCloseTo(7.0711, 3);
    expect(benchmarks[1]).toMatchObject({
      name: 'a.BenchmarkX-2 (MB/s)',
      unit: 'MB/s',
      value: 50,
      direction: 'bigger',
    });
    expect(benchmarks[3]).toEqual({
      name: 'b.BenchmarkY-4 (widgets)',
      unit: 'widgets',
      value: 3,
      samples: 1,
    });
  });
});

describe('go test -bench: benchmarks that print', () => {
  // As go prints them (test/fixtures/real/go/console-bench-print.txt): the name, a tab, the
  // benchmark's own output, then `%8d\t` and the figures.
  const printed = [
    'hello',
    'goos: linux',
    'pkg: example.com/p',
    'BenchmarkA-2   \thello',
    'hello',
    '    2000\t        63.34 ns/op\t       8 B/op',
    'partBenchmarkB-2   \tpart    2000\t        7.5 ns/op\t       0 B/op',
    'PASS',
  ].join('\n');

  it('is detected and read when every benchmark printed, with no warning', () => {
    const parsed = bench(printed);
    expect(parsed.format).toBe('go-bench');
    expect(parsed.summary.benchmarks.map((b) => [b.name, b.value])).toEqual([
      ['BenchmarkA', 63.34],
      ['BenchmarkA (B/op)', 8],
      ['BenchmarkB', 7.5],
      ['BenchmarkB (B/op)', 0],
    ]);
    expect(parsed.warnings).toEqual([]);
  });

  it('warns for a benchmark without figures and for a result line it cannot read', () => {
    const text = [
      'BenchmarkOk-2   10   5 ns/op',
      'BenchmarkOdd-2   10   five ns/op',
      'BenchmarkGone-2   \tprinted text',
      'BenchmarkFails-2   \t--- FAIL: BenchmarkFails-2',
    ].join('\n');
    const parsed = bench(text, 'go-bench');
    expect(parsed.summary.benchmarks.map((b) => b.name)).toEqual(['BenchmarkOk']);
    expect(parsed.warnings).toEqual([
      'BenchmarkOdd-2: line 2 could not be read; left out',
      'BenchmarkGone-2: no result line after its name; left out',
      'BenchmarkFails-2: failed (--- FAIL), no result; left out',
    ]);
  });

  it('closes a name left without figures when the next result or name comes', () => {
    const text = [
      'BenchmarkWaits-2   \tprinted',
      '--- FAIL: BenchmarkWaits-2',
      'BenchmarkNext-2   10   5 ns/op',
      'BenchmarkAlone-2   \tprinted',
      'BenchmarkLast-2   \tprinted    10\t 7 ns/op',
    ].join('\n');
    const parsed = bench(text, 'go-bench');
    expect(parsed.summary.benchmarks.map((b) => [b.name, b.value])).toEqual([
      ['BenchmarkNext', 5],
      ['BenchmarkLast', 7],
    ]);
    expect(parsed.warnings).toEqual([
      'BenchmarkWaits-2: failed (--- FAIL), no result; left out',
      'BenchmarkAlone-2: no result line after its name; left out',
    ]);
  });

  it('says why nothing was read when no benchmark has figures', () => {
    expect(errorOf(() => bench('BenchmarkGone-2   \tprinted text', 'go-bench')).message).toBe(
      'Invalid go test -bench output: no result line ("BenchmarkName-8  1000  12.3 ns/op ...") found (BenchmarkGone-2: no result line after its name; left out)',
    );
  });
});

describe('Google Benchmark JSON', () => {
  it('names the bad field', () => {
    const error = errorOf(() => parseReport('{"context":{},"benchmarks":[{"name":1}]}'));
    expect(error.message).toBe(
      'Invalid Google Benchmark JSON report: benchmarks[0].name: expected a string, got number 1',
    );
  });

  it('averages repetitions without aggregates and leaves out runs with errors', () => {
    const doc = {
      context: { library_build_type: 'release' },
      benchmarks: [
        {
          name: 'BM_A',
          run_name: 'BM_A',
          run_type: 'iteration',
          real_time: 10,
          cpu_time: 9,
          time_unit: 'us',
        },
        {
          name: 'BM_A',
          run_name: 'BM_A',
          run_type: 'iteration',
          real_time: 14,
          cpu_time: 9,
          time_unit: 'us',
        },
        { name: 'BM_B', error_occurred: true, error_message: 'no input' },
        { name: 'BM_C', real_time: 3, bytes_per_second: 1000 },
      ],
    };
    const parsed = bench(JSON.stringify(doc));
    expect(parsed.summary.benchmarks).toEqual([
      // Times in nanoseconds whatever time_unit says.
      {
        name: 'BM_A',
        unit: 'ns',
        value: 12000,
        samples: 2,
        stddev: expect.closeTo(2828.427, 3),
        direction: 'smaller',
      },
      { name: 'BM_A (cpu)', unit: 'ns', value: 9000, samples: 2, stddev: 0, direction: 'smaller' },
      { name: 'BM_C', unit: 'ns', value: 3, samples: 1, direction: 'smaller' },
      { name: 'BM_C (bytes/s)', unit: 'bytes/s', value: 1000, samples: 1, direction: 'bigger' },
    ]);
    expect(parsed.warnings).toEqual([
      '1 run(s) reported an error and were left out: BM_B (no input)',
    ]);
    expect(bench('{"context":{},"benchmarks":[]}').warnings).toEqual([
      'the report contains no benchmark results',
    ]);
  });
});

describe('gcovr JSON summary', () => {
  it('refuses covered above total and wrong types, naming the field', () => {
    const over = errorOf(() => parseReport('{"line_total":1,"line_covered":2}'));
    expect(over).toMatchObject({ status: 400, location: { path: 'line_covered' } });
    const type = errorOf(() => parseReport('{"line_total":"1","line_covered":0}', 'gcovr'));
    expect(type.message).toContain('line_total: expected a number');
  });

  it('reports metrics it has no counts for as not measured', () => {
    const s = coverage(
      '{"line_total":4,"line_covered":3,"branch_total":0,"branch_covered":0}',
    ).summary;
    expect(s.lines.pct).toBe(75);
    expect(s.branches).toMatchObject({
      pct: null,
      reason: 'nothing to measure: branch_total is 0',
    });
    expect(s.functions).toMatchObject({
      pct: null,
      reason: expect.stringContaining('no function_total'),
    });
  });
});

describe('JaCoCo XML', () => {
  const real = read('corpus/jacoco/madrapps-multi-module-math.xml');

  it('reads the report-level counters of a real report (branches not written: not measured)', () => {
    const parsed = coverage(real);
    expect(parsed.format).toBe('jacoco');
    expect(parsed.summary.lines).toEqual({ pct: 71.43, covered: 5, total: 7 });
    expect(parsed.summary.functions).toEqual({ pct: 71.43, covered: 5, total: 7 });
    expect(parsed.summary.branches.pct).toBeNull();
    expect(parsed.warnings).toEqual([]);
  });

  it('says where a truncated report breaks, and what a garbage counter is', () => {
    const cut = errorOf(() => parseReport(real.slice(0, 600)));
    expect(cut).toMatchObject({ status: 400, code: 'invalid_report' });
    expect(cut.location?.line).toBeGreaterThan(1);
    const odd = coverage(
      '<report name="x"><counter type="LINE" missed="a" covered="1"/></report>',
      'jacoco',
    );
    expect(odd.warnings).toEqual([
      '1 report-level <counter> element(s) without numeric missed/covered ignored',
      'the report has no report-level <counter> elements',
    ]);
    expect(errorOf(() => parseReport('<coverage/>', 'jacoco')).message).toContain(
      'expected <report>',
    );
  });
});

describe('TRX', () => {
  it('reads a real xUnit v3 TRX', () => {
    const parsed = tests(read('corpus/trx/dorny-dotnet-xunitv3.trx'));
    expect(parsed.format).toBe('trx');
    expect(parsed.summary).toMatchObject({ total: 4, passed: 1, failed: 3, skipped: 0 });
    expect(parsed.cases[0]).toMatchObject({
      classname: 'DotnetTests.XUnitV3Tests.FixtureTests',
      name: 'DotnetTests.XUnitV3Tests.FixtureTests.Failing_Test',
      message: 'Assert.Null() Failure: Value is not null',
      durationMs: 17.055,
    });
    expect(parsed.warnings).toEqual([]);
  });

  it('maps every outcome as dotnet test counts it, ignores inner results, compares Counters', () => {
    const result = (outcome: string, extra = '') =>
      `<UnitTestResult testId="t" testName="${outcome}" outcome="${outcome}" duration="01:00:00.5">${extra}</UnitTestResult>`;
    const text = `<TestRun><Results>${[
      result('Passed', `<InnerResults>${result('Failed')}</InnerResults>`),
      result('PassedButRunAborted'),
      result('Timeout'),
      result('Error'),
      result('NotExecuted'),
      result('Inconclusive'),
    ].join(
      '',
    )}</Results><ResultSummary><Counters total="7" passed="2" failed="1" error="1"/></ResultSummary></TestRun>`;
    const parsed = tests(text);
    expect(parsed.summary).toMatchObject({
      total: 6,
      passed: 2,
      failed: 2,
      skipped: 2,
      durationMs: 6 * 3_600_500,
    });
    expect(parsed.warnings).toEqual(['<Counters total="7"> but found 6 test results']);
    const broken = errorOf(() => parseReport('<TestRun><Results></TestRun>', 'trx'));
    expect(broken).toMatchObject({ status: 400, location: { line: 1 } });
  });
});

describe('detection of the new formats', () => {
  it.each([
    ['real/playwright/playwright.json', 'playwright'],
    ['real/go/go-test.jsonl', 'go-test'],
    ['real/go/cover.out', 'go-cover'],
    ['real/go/bench.txt', 'go-bench'],
    ['real/cpp/benchmark.json', 'google-benchmark'],
    ['real/cpp/gcovr-summary.json', 'gcovr'],
    ['corpus/jacoco/madrapps-multi-module-math.xml', 'jacoco'],
    ['corpus/trx/dorny-dotnet-xunitv3.trx', 'trx'],
  ])('%s is %s, by content and by format=', (path, format) => {
    const text = read(path);
    expect(parseReport(text).format).toBe(format);
    expect(parseReport(text, format as Parameters<typeof parseReport>[1]).format).toBe(format);
  });
});
