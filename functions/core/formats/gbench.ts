import * as z from '../zod-mini';
import { benchmarkNumber } from './benchmark';
import { unusableValue } from './benchmark-units';
import { parseShape } from './shape';
import { type Benchmark, MAX_BENCHMARK_VALUE, type ParsedBenchmark } from './types';

/**
 * Google Benchmark JSON (`--benchmark_format=json` or `--benchmark_out=x.json`): `context` and
 * `benchmarks[]`, each a run (`run_type: iteration`, one per repetition) or an aggregate
 * (`run_type: aggregate`: mean, median, stddev, cv over the repetitions). One series per
 * `run_name` (`BM_Grade/10`): with aggregates, value = the `mean` aggregate's real time and
 * stddev = the `stddev` aggregate's, samples = `repetitions`; without them, the mean of the
 * repetitions' real times (one run: its real time). CPU time is a second series
 * `<name> (cpu)`; `bytes_per_second`/`items_per_second` counters are series with units
 * `bytes/s`/`items/s` (bigger is better). Runs with `error_occurred` are left out with a warning.
 * Times are stored in nanoseconds whatever `--benchmark_time_unit` (or `->Unit()`) printed them
 * in (`ns`, `us`, `ms`, `s`), so that a series and its gate survive a change of display unit.
 */

const WHAT = 'Google Benchmark JSON report';

const Run = z.object({
  name: z.string(),
  run_name: z.optional(z.string()),
  run_type: z.optional(z.enum(['iteration', 'aggregate'])),
  aggregate_name: z.optional(z.string()),
  repetitions: z.optional(z.int().check(z.nonnegative())),
  real_time: z.optional(benchmarkNumber),
  cpu_time: z.optional(benchmarkNumber),
  time_unit: z.optional(z.string()),
  error_occurred: z.optional(z.boolean()),
  error_message: z.optional(z.string()),
  bytes_per_second: z.optional(benchmarkNumber),
  items_per_second: z.optional(benchmarkNumber),
});

const Report = z.object({
  context: z.object({ library_build_type: z.optional(z.string()) }),
  benchmarks: z.array(Run),
});

type RunT = z.infer<typeof Run>;

const COUNTERS = [
  ['bytes_per_second', 'bytes/s'],
  ['items_per_second', 'items/s'],
] as const;

/** Nanoseconds per `time_unit` Google Benchmark writes (`GetTimeUnitString`). */
const NS_PER: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]): number | undefined => {
  if (xs.length < 2) return undefined;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, v) => a + (v - m) ** 2, 0) / (xs.length - 1));
};

export const parseGbench = (doc: unknown): ParsedBenchmark => {
  const report = parseShape(Report, doc, WHAT);
  const warnings: string[] = [];
  if (report.context.library_build_type === 'debug')
    warnings.push('the benchmark library was built as DEBUG: timings may be affected');

  const groups = new Map<string, { runs: RunT[]; aggregates: Map<string, RunT> }>();
  const failed: string[] = [];
  for (const run of report.benchmarks) {
    if (run.error_occurred) {
      failed.push(`${run.name}${run.error_message ? ` (${run.error_message})` : ''}`);
      continue;
    }
    const key = run.run_name ?? run.name;
    let g = groups.get(key);
    if (!g) {
      g = { runs: [], aggregates: new Map() };
      groups.set(key, g);
    }
    if (run.run_type === 'aggregate') g.aggregates.set(run.aggregate_name ?? '', run);
    else g.runs.push(run);
  }
  if (failed.length > 0)
    warnings.push(
      `${failed.length} run(s) reported an error and were left out: ${failed.slice(0, 3).join(', ')}`,
    );

  const benchmarks: Benchmark[] = [];
  for (const [name, g] of groups) {
    const m = g.aggregates.get('mean');
    const s = g.aggregates.get('stddev');
    const printed = (m ?? g.runs[0])?.time_unit ?? 'ns';
    const scale = NS_PER[printed];
    // An unknown unit is kept as written: comparable with itself only.
    const unit = scale === undefined ? printed : 'ns';
    /** A run's time in the series' unit (each run carries its own time_unit). */
    const timeOf = (r: RunT, t: number | undefined): number | undefined =>
      t === undefined || scale === undefined ? t : t * (NS_PER[r.time_unit ?? 'ns'] ?? scale);
    const samples = m?.repetitions ?? g.runs.length;
    const series = (
      suffix: string,
      seriesUnit: string,
      pick: (r: RunT) => number | undefined,
      direction: Benchmark['direction'],
    ): void => {
      let value: number | undefined;
      let stddev: number | undefined;
      if (m) {
        value = pick(m);
        stddev = s ? pick(s) : undefined;
      } else {
        const xs = g.runs.map(pick).filter((x): x is number => x !== undefined);
        if (xs.length > 0) {
          value = mean(xs);
          stddev = sd(xs);
        }
      }
      if (value === undefined || !Number.isFinite(value)) return;
      const why =
        unusableValue(value, seriesUnit) ??
        (Math.abs(value) > MAX_BENCHMARK_VALUE ? `is above ${MAX_BENCHMARK_VALUE}` : undefined);
      if (why) {
        warnings.push(`${name}${suffix}: value ${value} ${seriesUnit} ${why}; left out`);
        return;
      }
      const b: Benchmark = { name: `${name}${suffix}`, unit: seriesUnit, value, direction };
      if (samples > 0) b.samples = samples;
      if (stddev !== undefined && Number.isFinite(stddev)) b.stddev = stddev;
      benchmarks.push(b);
    };
    series('', unit, (r) => timeOf(r, r.real_time), 'smaller');
    series(' (cpu)', unit, (r) => timeOf(r, r.cpu_time), 'smaller');
    for (const [key, counterUnit] of COUNTERS)
      series(` (${counterUnit})`, counterUnit, (r) => r[key], 'bigger');
  }
  if (benchmarks.length === 0) warnings.push('the report contains no benchmark results');
  return { kind: 'benchmark', format: 'google-benchmark', summary: { benchmarks }, warnings };
};
