import { invalidReport } from '../errors';
import * as z from '../zod-mini';
import { unusableValue } from './benchmark-units';
import { isRecord, parseShape } from './shape';
import { type Benchmark, MAX_BENCHMARK_VALUE, type ParsedBenchmark } from './types';

/**
 * A benchmark value (any unit): at most MAX_BENCHMARK_VALUE either way. Here, not in shape.ts:
 * a schema built at load time would bring zod into every bundle that imports shape.ts.
 */
export const benchmarkNumber = z
  .number()
  .check(z.gte(-MAX_BENCHMARK_VALUE), z.lte(MAX_BENCHMARK_VALUE));

/**
 * Benchmark results, four producers:
 * - `pytest-benchmark` (`--benchmark-json`): `benchmarks[].stats` mean/stddev/rounds in
 *   seconds. Name = `fullname` (`bench.py::test_fib_10`, unique across modules) or `name`.
 *   The `stats.data` sample arrays are neither validated nor copied.
 * - `vitest` (`vitest bench --outputJson`, tinybench statistics): `files[].groups[].benchmarks[]`
 *   with mean/sd in milliseconds; name = `<group fullName> › <bench name>`; samples =
 *   `sampleCount` (the `samples` array is often empty), else the array's length.
 * - `hyperfine` (`--export-json`): `results[]` with command, mean, stddev (null for one run)
 *   in seconds; samples = `times.length`.
 * - github-action-benchmark custom JSON: `[{ name, unit, value, range?, extra? }]`. Its
 *   `range` is free text ("5%", "± 3") or a number, not a standard deviation, so it is not
 *   mapped to `stddev`.
 * `direction` is set where the format fixes it: the first three report mean times, so smaller
 * is better. The custom JSON is the same for `customSmallerIsBetter` and
 * `customBiggerIsBetter` (the tool is named in the workflow, not the file), so there it is
 * left to the unit rule and the config (gates/benchmarks.ts).
 */

const WHAT = 'benchmark report';

const Pytest = z.object({
  benchmarks: z.array(
    z.object({
      name: z.string(),
      fullname: z.nullish(z.string()),
      stats: z.object({
        mean: benchmarkNumber,
        stddev: z.nullish(benchmarkNumber),
        rounds: z.nullish(z.number().check(z.nonnegative())),
      }),
    }),
  ),
});

const Vitest = z.object({
  files: z.array(
    z.object({
      groups: z.array(
        z.object({
          fullName: z.string(),
          benchmarks: z.array(
            z.object({
              name: z.string(),
              mean: benchmarkNumber,
              sd: z.nullish(benchmarkNumber),
              sampleCount: z.nullish(z.number().check(z.nonnegative())),
              samples: z.nullish(z.array(z.unknown())),
            }),
          ),
        }),
      ),
    }),
  ),
});

const Hyperfine = z.object({
  results: z.array(
    z.object({
      command: z.string(),
      mean: benchmarkNumber,
      stddev: z.nullish(benchmarkNumber),
      times: z.nullish(z.array(z.unknown())),
    }),
  ),
});

const Custom = z.array(
  z.object({
    name: z.string(),
    unit: z.string(),
    value: benchmarkNumber,
  }),
);

type Dialect = 'pytest-benchmark' | 'vitest' | 'hyperfine' | 'github-action-benchmark';

/** What each format says about its values; undefined where it says nothing. */
const DIRECTION: Record<Dialect, Benchmark['direction']> = {
  // stats.mean: seconds per call of the benchmarked function.
  'pytest-benchmark': 'smaller',
  // tinybench mean: milliseconds per iteration (its `hz` would be bigger-is-better, not read).
  vitest: 'smaller',
  // mean wall-clock seconds per run of the command.
  hyperfine: 'smaller',
  // Any unit, either direction: the file does not say which.
  'github-action-benchmark': undefined,
};

const bench = (
  name: string,
  unit: string,
  value: number,
  stddev?: number | null,
  samples?: number | null,
): Benchmark => {
  const b: Benchmark = { name, unit, value };
  if (typeof samples === 'number') b.samples = samples;
  if (typeof stddev === 'number') b.stddev = stddev;
  return b;
};

const extract = (doc: unknown): { dialect: Dialect; benchmarks: Benchmark[] } => {
  if (Array.isArray(doc)) {
    const list = parseShape(Custom, doc, `${WHAT} (github-action-benchmark custom JSON)`);
    return {
      dialect: 'github-action-benchmark',
      benchmarks: list.map((b) => bench(b.name, b.unit, b.value)),
    };
  }
  if (!isRecord(doc))
    throw invalidReport(
      `Invalid ${WHAT}: $: expected an object or an array, got ${doc === null ? 'null' : typeof doc}`,
      { path: '$' },
    );
  if ('benchmarks' in doc) {
    const r = parseShape(Pytest, doc, `${WHAT} (pytest-benchmark)`);
    return {
      dialect: 'pytest-benchmark',
      benchmarks: r.benchmarks.map((b) =>
        bench(b.fullname ?? b.name, 's', b.stats.mean, b.stats.stddev, b.stats.rounds),
      ),
    };
  }
  if ('files' in doc) {
    const r = parseShape(Vitest, doc, `${WHAT} (vitest bench)`);
    const benchmarks: Benchmark[] = [];
    for (const file of r.files)
      for (const group of file.groups)
        for (const b of group.benchmarks) {
          const samples = b.sampleCount ?? (b.samples?.length ? b.samples.length : undefined);
          benchmarks.push(bench(`${group.fullName} › ${b.name}`, 'ms', b.mean, b.sd, samples));
        }
    return { dialect: 'vitest', benchmarks };
  }
  if ('results' in doc) {
    const r = parseShape(Hyperfine, doc, `${WHAT} (hyperfine)`);
    return {
      dialect: 'hyperfine',
      benchmarks: r.results.map((b) => bench(b.command, 's', b.mean, b.stddev, b.times?.length)),
    };
  }
  throw invalidReport(
    `Invalid ${WHAT}: $: expected \`benchmarks\` (pytest-benchmark), \`files\` (vitest bench), \`results\` (hyperfine) or an array of { name, unit, value } (github-action-benchmark)`,
    { path: '$' },
  );
};

export const parseBenchmark = (doc: unknown): ParsedBenchmark => {
  const { dialect, benchmarks } = extract(doc);
  const direction = DIRECTION[dialect];
  if (direction) for (const b of benchmarks) b.direction = direction;
  const warnings: string[] = [];
  // A negative time, size or rate is left out with a warning rather than refusing the report:
  // the other benchmarks stay comparable, and the warning says which value was wrong.
  const kept = benchmarks.filter((b, i) => {
    const why = unusableValue(b.value, b.unit);
    if (why)
      warnings.push(`benchmark ${i + 1} "${b.name}": value ${b.value} ${b.unit} ${why}; left out`);
    return !why;
  });
  benchmarks.length = 0;
  benchmarks.push(...kept);
  if (benchmarks.length === 0) warnings.push('The report contains no benchmarks.');
  const seen = new Set<string>();
  const dupes = new Set<string>();
  for (const b of benchmarks) {
    if (seen.has(b.name)) dupes.add(b.name);
    seen.add(b.name);
  }
  if (dupes.size > 0)
    warnings.push(
      `Benchmark names used more than once: ${[...dupes].slice(0, 5).join(', ')}${dupes.size > 5 ? '…' : ''}.`,
    );
  return { kind: 'benchmark', format: 'benchmark', dialect, summary: { benchmarks }, warnings };
};
