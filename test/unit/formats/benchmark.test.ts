import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchmark } from '../../../functions/core/formats/benchmark';
import { errorOf } from '../../helpers/errors';

const FIXTURES = join(__dirname, '../../fixtures');
const load = (rel: string): unknown => JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));

describe('parseBenchmark on the corpus', () => {
  it('reads pytest-benchmark 3.2.2 output without copying stats.data', () => {
    // Prepare
    const doc = load('corpus/benchmarks/pytest-benchmark-3.2.2-gha-run.json');

    // Act
    const parsed = parseBenchmark(doc);

    // Assess: benchmarks[].fullname and stats.mean/stddev/rounds from the file; means are
    // times, so smaller is better.
    expect(parsed.kind).toBe('benchmark');
    expect(parsed.format).toBe('benchmark');
    expect(parsed.dialect).toBe('pytest-benchmark');
    expect(parsed.summary.benchmarks).toEqual([
      {
        name: 'bench.py::test_fib_10',
        unit: 's',
        value: 1.574023168245432e-5,
        stddev: 1.0165985827415786e-5,
        samples: 37314,
        direction: 'smaller',
      },
      {
        name: 'bench.py::test_fib_20',
        unit: 's',
        value: 0.0019158029923519505,
        stddev: 4.536616993646111e-5,
        samples: 523,
        direction: 'smaller',
      },
    ]);
    expect(JSON.stringify(parsed).length).toBeLessThan(1000);
    expect(parsed.warnings).toEqual([]);
  });

  it('reads vitest bench output (28 benchmarks in 6 groups)', () => {
    // Prepare
    const doc = load('corpus/benchmarks/vitest-bench-twinkleplop.json');

    // Act
    const parsed = parseBenchmark(doc);

    // Assess
    const list = parsed.summary.benchmarks;
    expect(parsed.dialect).toBe('vitest');
    expect(list).toHaveLength(28);
    expect(list[0]).toEqual({
      name: 'src/library/comparison-suite.bench.js > Tiny CSS (~1 line) › Twinkleplop - tokenize only',
      unit: 'ms',
      value: 0.0008389691309966272,
      stddev: 0.00044384985673468695,
      samples: 595970,
      direction: 'smaller',
    });
    expect(list[27]).toEqual({
      name: 'src/library/comparison-suite.bench.js > HTML Generation Performance › Full pipeline',
      unit: 'ms',
      value: 0.042334987892607166,
      stddev: 0.012666058525727409,
      samples: 11811,
      direction: 'smaller',
    });
    expect(new Set(list.map((b) => b.name)).size).toBe(28);
    // `mean` (ms per iteration) is read, not `hz` (iterations per second): smaller is better.
    expect(list.every((b) => b.unit === 'ms' && b.direction === 'smaller')).toBe(true);
    expect(parsed.warnings).toEqual([]);
  });

  it('reads hyperfine --export-json output', () => {
    // Prepare
    const doc = load('corpus/benchmarks/hyperfine-1brc.json');

    // Act
    const parsed = parseBenchmark(doc);

    // Assess
    expect(parsed.dialect).toBe('hyperfine');
    expect(parsed.summary.benchmarks).toEqual([
      {
        name: 'cargo run --release --bin 1brc measurements_1000000000.txt',
        unit: 's',
        value: 11.61481411152,
        stddev: 1.6447334482677183,
        samples: 3,
        direction: 'smaller',
      },
      {
        name: 'cargo run --release --bin lucretiel_1brc measurements_1000000000.txt',
        unit: 's',
        value: 11.55440516752,
        stddev: 1.1389597505435085,
        samples: 3,
        direction: 'smaller',
      },
    ]);
  });

  it('reads github-action-benchmark custom JSON with a string range and extra', () => {
    // Prepare
    const doc = load('corpus/benchmarks/github-action-benchmark-customSmallerIsBetter.json');

    // Act
    const parsed = parseBenchmark(doc);

    // Assess: `range` is not a standard deviation, so it is not mapped. The file does not say
    // it is customSmallerIsBetter (that is in the workflow), so no direction either.
    expect(parsed.dialect).toBe('github-action-benchmark');
    expect(parsed.summary.benchmarks).toEqual([
      { name: 'My Custom Smaller Is Better Benchmark - CPU Load', unit: 'Percent', value: 50 },
      {
        name: 'My Custom Smaller Is Better Benchmark - Memory Used',
        unit: 'Megabytes',
        value: 100,
      },
    ]);
  });

  it('reads github-action-benchmark custom JSON with a numeric range', () => {
    // Prepare
    const doc = load('corpus/benchmarks/github-action-benchmark-customSmallerIsBetter-2.json');

    // Act
    const parsed = parseBenchmark(doc);

    // Assess
    expect(parsed.summary.benchmarks.map((b) => [b.name, b.unit, b.value])).toEqual([
      ['No instrumentation', 'ns', 90.9439],
      ['Deactivated probe', 'ns', 445.661],
      ['No logging', 'ns', 1847.38],
      ['Binary file', 'ns', 3886.75],
    ]);
    expect(parsed.summary.benchmarks.every((b) => b.direction === undefined)).toBe(true);
  });
});

describe('parseBenchmark semantics', () => {
  it('uses name when pytest gives no fullname, and tolerates a null stddev', () => {
    // Prepare
    const doc = { benchmarks: [{ name: 'test_a', stats: { mean: 2, stddev: null } }] };

    // Act
    const parsed = parseBenchmark(doc);

    // Assess
    expect(parsed.summary.benchmarks).toEqual([
      { name: 'test_a', unit: 's', value: 2, direction: 'smaller' },
    ]);
  });

  it('counts vitest samples from the array when sampleCount is absent', () => {
    // Prepare
    const doc = {
      files: [
        { groups: [{ fullName: 'g', benchmarks: [{ name: 'b', mean: 1, samples: [1, 1, 1] }] }] },
      ],
    };

    // Act
    const parsed = parseBenchmark(doc);

    // Assess
    expect(parsed.summary.benchmarks).toEqual([
      { name: 'g › b', unit: 'ms', value: 1, samples: 3, direction: 'smaller' },
    ]);
  });

  it('accepts a single hyperfine run (stddev null)', () => {
    // Prepare
    const doc = { results: [{ command: 'sleep 1', mean: 1.002, stddev: null, times: [1.002] }] };

    // Act
    const parsed = parseBenchmark(doc);

    // Assess
    expect(parsed.summary.benchmarks).toEqual([
      { name: 'sleep 1', unit: 's', value: 1.002, samples: 1, direction: 'smaller' },
    ]);
  });

  it('leaves a customBiggerIsBetter file without direction: it looks like any other', () => {
    // Prepare: throughput, as a customBiggerIsBetter step would upload it.
    const doc = [
      { name: 'checkout throughput', unit: 'req/s', value: 1840, range: '± 2%' },
      { name: 'score', unit: 'points', value: 97 },
    ];

    // Act
    const parsed = parseBenchmark(doc);

    // Assess: the unit rule (req/s) or the config decides, not the parser.
    expect(parsed.dialect).toBe('github-action-benchmark');
    expect(parsed.summary.benchmarks).toEqual([
      { name: 'checkout throughput', unit: 'req/s', value: 1840 },
      { name: 'score', unit: 'points', value: 97 },
    ]);
    expect(parsed.summary.benchmarks.some((b) => 'direction' in b)).toBe(false);
  });

  it('warns about empty reports and repeated names', () => {
    // Prepare
    const empty: unknown[] = [];
    const twice = [
      { name: 'x', unit: 'ns', value: 1 },
      { name: 'x', unit: 'ns', value: 2 },
    ];

    // Act
    const a = parseBenchmark(empty);
    const b = parseBenchmark(twice);

    // Assess
    expect(a.warnings).toEqual(['The report contains no benchmarks.']);
    expect(b.warnings).toEqual(['Benchmark names used more than once: x.']);
  });

  it('keeps __proto__ and constructor as plain names and ignores such extra keys', () => {
    // Prepare
    const doc = JSON.parse(
      '[{"name":"__proto__","unit":"ns","value":1,"__proto__":{"value":"x"}},' +
        '{"name":"constructor","unit":"ns","value":2,"constructor":{}}]',
    );

    // Act
    const parsed = parseBenchmark(doc);

    // Assess
    expect(parsed.summary.benchmarks).toEqual([
      { name: '__proto__', unit: 'ns', value: 1 },
      { name: 'constructor', unit: 'ns', value: 2 },
    ]);
  });
});

describe('parseBenchmark rejects bad input', () => {
  it.each([
    ['null', null, '$: expected an object or an array, got null'],
    ['a number', 42, '$: expected an object or an array, got number'],
    ['an empty object', {}, '$: expected `benchmarks` (pytest-benchmark)'],
    [
      'a custom entry without a unit',
      [{ name: 'a', value: 1 }],
      '[0].unit: expected a string, got nothing',
    ],
    [
      'a custom value given as a string',
      [{ name: 'a', unit: 'ns', value: '1.5' }],
      '[0].value: expected a number, got string "1.5"',
    ],
    ['a custom entry that is an array', [['a', 'ns', 1]], '[0]: expected an object, got array'],
    [
      'pytest benchmarks as an object',
      { benchmarks: {} },
      'benchmarks: expected an array, got object',
    ],
    [
      'a pytest mean given as a string',
      { benchmarks: [{ name: 't', stats: { mean: '0.1' } }] },
      'benchmarks[0].stats.mean: expected a number, got string "0.1"',
    ],
    [
      'pytest stats missing',
      { benchmarks: [{ name: 't' }] },
      'benchmarks[0].stats: expected an object, got nothing',
    ],
    [
      'vitest groups as an object',
      { files: [{ groups: {} }] },
      'files[0].groups: expected an array, got object',
    ],
    [
      'a vitest benchmark without a mean',
      { files: [{ groups: [{ fullName: 'g', benchmarks: [{ name: 'b' }] }] }] },
      'files[0].groups[0].benchmarks[0].mean: expected a number, got nothing',
    ],
    [
      'a hyperfine command given as a number',
      { results: [{ command: 1, mean: 1 }] },
      'results[0].command: expected a string, got number 1',
    ],
    [
      'hyperfine times as an object',
      { results: [{ command: 'x', mean: 1, times: {} }] },
      'results[0].times: expected an array, got object',
    ],
  ])('%s', (_label, doc, message) => {
    // Prepare / Act
    const err = errorOf(() => parseBenchmark(doc));

    // Assess
    expect(err.code).toBe('invalid_report');
    expect(err.message).toContain('Invalid benchmark report');
    expect(err.message).toContain(message);
    expect(err.location?.path).toBeTruthy();
  });
});
