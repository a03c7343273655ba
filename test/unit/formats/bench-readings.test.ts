import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../../functions/core/formats';
import type { Benchmark, ParsedBenchmark } from '../../../functions/core/formats/types';

// Real reports (test/fixtures/real, recorded by generate.sh); expectations come from the
// console text the tool printed, never from Vigil.
const REAL = join(__dirname, '../../fixtures/real');
const read = (path: string): string => readFileSync(join(REAL, path), 'utf8');
const bench = (text: string, format?: 'go-bench'): ParsedBenchmark =>
  parseReport(text, format) as ParsedBenchmark;
const named = (p: ParsedBenchmark) =>
  Object.fromEntries(p.summary.benchmarks.map((b) => [b.name, b] as [string, Benchmark]));

/** `name value` of each `BenchmarkX  N  value ns/op` row, as go printed it. */
const printedRows = (text: string): [string, number][] =>
  [...text.matchAll(/^(Benchmark\S+)\s+\d+\s+([\d.]+) ns\/op/gm)].map(([, n, v]) => [
    n ?? '',
    Number(v),
  ]);

describe('go test -bench: GOMAXPROCS suffixes', () => {
  it('-cpu 1,2: each procs count is its own series; the GOMAXPROCS=1 row gets -1', () => {
    // Arrange: go prints no suffix at GOMAXPROCS=1, `-2` at 2.
    const text = read('go/console-bench-cpu12.txt');
    const rows = printedRows(text);
    expect(rows.map(([n]) => n)).toEqual([
      'BenchmarkSum',
      'BenchmarkSum-2',
      'BenchmarkParse/size-1024',
      'BenchmarkParse/size-1024-2',
    ]);

    // Act
    const byName = named(bench(text));

    // Assert: never the bare name a single-count (-2 stripped) history uses.
    expect(Object.keys(byName)).toEqual([
      'BenchmarkSum-1',
      'BenchmarkSum-2',
      'BenchmarkParse/size-1024-1',
      'BenchmarkParse/size-1024-2',
    ]);
    for (const [i, [, value]] of rows.entries())
      expect(Object.values(byName)[i]).toMatchObject({ unit: 'ns/op', value });
  });

  it("a sub-benchmark's own -1024 is part of its name at GOMAXPROCS 1 and 2 alike", () => {
    const one = read('go/console-bench-parse-cpu1.txt');
    const two = read('go/console-bench-parse-cpu2.txt');
    expect(one).toMatch(/^BenchmarkParse\/size-1024\s/m);
    expect(two).toMatch(/^BenchmarkParse\/size-1024-2\s/m);
    expect(bench(one).summary.benchmarks.map((b) => b.name)).toEqual(['BenchmarkParse/size-1024']);
    expect(bench(two).summary.benchmarks.map((b) => b.name)).toEqual(['BenchmarkParse/size-1024']);
  });

  it('keeps stripping one common count (histories keep their names), and -cpu 2,4 as printed', () => {
    expect(
      bench('BenchmarkA-2  10  5 ns/op\nBenchmarkB/x-2  10  6 ns/op\n').summary.benchmarks.map(
        (b) => b.name,
      ),
    ).toEqual(['BenchmarkA', 'BenchmarkB/x']);
    expect(
      bench('BenchmarkA-2  10  5 ns/op\nBenchmarkA-4  10  6 ns/op\n').summary.benchmarks.map(
        (b) => b.name,
      ),
    ).toEqual(['BenchmarkA-2', 'BenchmarkA-4']);
  });
});

describe('go test -bench: values that are not finite or negative', () => {
  it('keeps the line and leaves out only +Inf, NaN and a negative ns/op, with warnings', () => {
    // Arrange: b.ReportMetric(+Inf, "MB/s"), (NaN, "widgets/op"), (-5, "ns/op").
    const text = read('go/console-bench-metrics.txt');
    const inf = /^BenchmarkHashInf-2\s+\d+\s+([\d.]+) ns\/op\s+\+Inf MB\/s$/m.exec(text);
    const nan = /^BenchmarkNaN-2\s+\d+\s+([\d.]+) ns\/op\s+NaN widgets\/op$/m.exec(text);
    expect(text).toMatch(/^BenchmarkNegative-2\s+\d+\s+-5\.000 ns\/op$/m);

    // Act
    const parsed = bench(text);

    // Assert
    expect(parsed.summary.benchmarks).toEqual([
      {
        name: 'BenchmarkHashInf',
        unit: 'ns/op',
        value: Number(inf?.[1]),
        samples: 1,
        direction: 'smaller',
      },
      {
        name: 'BenchmarkNaN',
        unit: 'ns/op',
        value: Number(nan?.[1]),
        samples: 1,
        direction: 'smaller',
      },
    ]);
    expect(parsed.warnings).toEqual([
      'BenchmarkHashInf-2: line 6: value +Inf MB/s is not finite; left out',
      'BenchmarkNaN-2: line 7: value NaN widgets/op is not finite; left out',
      'BenchmarkNegative-2: line 8: value -5.000 ns/op is negative (a time, size or rate cannot be); left out',
    ]);
  });

  it('still refuses a digit run beyond the limit, and keeps negative custom metrics', () => {
    expect(() => bench('BenchmarkX-2  10  1e400 ns/op\n', 'go-bench')).toThrow(/line 1/);
    expect(bench('BenchmarkX-2  10  5 ns/op  -3 delta\n').summary.benchmarks[1]).toMatchObject({
      name: 'BenchmarkX (delta)',
      value: -3,
    });
  });
});

describe('benchmark JSON: negative times', () => {
  it('leaves out a negative time with a warning naming it, keeping the others', () => {
    const parsed = bench(
      JSON.stringify([
        { name: 'parse', unit: 'ms', value: -5 },
        { name: 'render', unit: 'ms', value: 3 },
        { name: 'score delta', unit: 'points', value: -2 },
      ]),
    );
    expect(parsed.summary.benchmarks.map((b) => [b.name, b.value])).toEqual([
      ['render', 3],
      ['score delta', -2],
    ]);
    expect(parsed.warnings).toEqual([
      'benchmark 1 "parse": value -5 ms is negative (a time, size or rate cannot be); left out',
    ]);
  });
});

describe('Google Benchmark: values it cannot keep', () => {
  it('leaves out a negative time and one too large once in ns, with warnings', () => {
    const run = (name: string, real: number, time_unit: string) => ({
      name,
      run_type: 'iteration',
      iterations: 10,
      real_time: real,
      cpu_time: 1,
      time_unit,
    });
    const parsed = parseReport(
      JSON.stringify({
        context: { library_build_type: 'release' },
        benchmarks: [run('BM_Neg', -3, 'ns'), run('BM_Huge', 2e9, 's'), run('BM_Ok', 5, 'ns')],
      }),
    ) as ParsedBenchmark;
    expect(parsed.summary.benchmarks.map((b) => b.name)).toEqual([
      'BM_Neg (cpu)',
      'BM_Huge (cpu)',
      'BM_Ok',
      'BM_Ok (cpu)',
    ]);
    expect(parsed.warnings).toEqual([
      'BM_Neg: value -3 ns is negative (a time, size or rate cannot be); left out',
      'BM_Huge: value 2000000000000000000 ns is above 1000000000000000; left out',
    ]);
  });
});

describe('Google Benchmark: odd runs', () => {
  it('keeps an unknown time unit as written, a mean without stddev, and counts errors', () => {
    const parsed = parseReport(
      JSON.stringify({
        context: {},
        benchmarks: [
          { name: 'BM_Err', run_type: 'iteration', error_occurred: true },
          { name: 'BM_Odd', run_type: 'iteration', iterations: 1, real_time: 3, time_unit: 'tick' },
          {
            name: 'BM_M_mean',
            run_name: 'BM_M',
            run_type: 'aggregate',
            aggregate_name: 'mean',
            repetitions: 0,
            real_time: 2,
            cpu_time: 2,
            time_unit: 'us',
          },
        ],
      }),
    ) as ParsedBenchmark;
    expect(parsed.summary.benchmarks.map((b) => [b.name, b.value, b.unit, b.stddev])).toEqual([
      ['BM_Odd', 3, 'tick', undefined],
      ['BM_M', 2000, 'ns', undefined],
      ['BM_M (cpu)', 2000, 'ns', undefined],
    ]);
    expect(parsed.warnings).toEqual(['1 run(s) reported an error and were left out: BM_Err']);
  });
});

describe('Google Benchmark: time units', () => {
  it('--benchmark_time_unit=us is stored in ns, the unit of a default run', () => {
    // Arrange: the console's _mean rows, in microseconds.
    const text = read('cpp/console-benchmark-us.txt');
    const means = [...text.matchAll(/^(\S+)_mean\s+([\d.]+) us\s+([\d.]+) us\s+(\d+)/gm)];
    expect(means.length).toBe(6);

    // Act
    const parsed = bench(read('cpp/benchmark-us.json'));
    const byName = named(parsed);
    const ns = named(bench(read('cpp/benchmark.json')));

    // Assert
    for (const [, name = '', real, cpu] of means) {
      for (const [key, printed] of [
        [name, real],
        [`${name} (cpu)`, cpu],
      ] as const) {
        const b = byName[key];
        expect(b?.unit).toBe(ns[key]?.unit);
        expect(b?.unit).toBe('ns');
        // Within half of the console's last printed digit (`0.004 us`, `25.2 us`).
        const decimals = printed?.split('.')[1]?.length ?? 0;
        expect(Math.abs((b?.value ?? 0) / 1000 - Number(printed))).toBeLessThanOrEqual(
          0.5 * 10 ** -decimals + 1e-12,
        );
      }
    }
    expect(byName['BM_VectorPush/8 (items/s)']?.unit).toBe('items/s');
  });
});
