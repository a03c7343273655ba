import { invalidReport } from '../errors';
import { unusableValue } from './benchmark-units';
import { type Benchmark, MAX_BENCHMARK_VALUE, type ParsedBenchmark } from './types';

/**
 * `go test -bench` text output (the benchmark format benchstat reads): result lines
 * `BenchmarkName-8   2000   124.1 ns/op   8 B/op   1 allocs/op   [value unit]...`; every other
 * line (goos/pkg/cpu headers, PASS, ok, test output) is skipped. Each value/unit pair is its own
 * series with its unit: `BenchmarkJoin` (ns/op), `BenchmarkJoin (B/op)`,
 * `BenchmarkJoin (allocs/op)`, custom `b.ReportMetric` units likewise. The `-N` GOMAXPROCS
 * suffix is kept out of the name when every line has the same one (see `procsNames`), so that
 * series survive a runner with another core count; with several counts (`-cpu 1,2`) every
 * name keeps its count. A value that is not finite (`+Inf MB/s`) or a negative time, size or
 * rate is left out with a warning; the line's other values are kept. Repeated lines (`-count=N`) are samples of one series: value
 * = mean, with stddev and samples. Benchmarks of several packages are prefixed by package.
 */

const WHAT = 'go test -bench output';
/**
 * A value: `12`, `12.`, `12.5`, `.5`, with an exponent, or Go's `+Inf`, `-Inf`, `NaN`. Each
 * text matches one way only, so a long digit run that fails to match costs linear time, not one
 * try per way to split it.
 */
const NUMBER = String.raw`(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)`;
const RESULT = new RegExp(String.raw`^(Benchmark\S*)\s+(\d+)((?:\s+${NUMBER}\s+\S+)+)\s*$`);
/** Go's name header, `%-*s\t`, anywhere in the line (unended output can come before it). */
const HEADER = /(Benchmark\S*) *\t/;
/** Go's figures, `%8d\t` then tab-separated `value unit` pairs, at the end of a line. */
const FIGURES = new RegExp(
  String.raw`(?:^|\s)(\d+)\t((?:[ ]*${NUMBER} \S+)(?:\t[ ]*${NUMBER} \S+)*)[ \t]*$`,
);
const PAIR = new RegExp(String.raw`(${NUMBER})\s+(\S+)`, 'g');
const PROCS = /-(\d+)$/;

/** A benchmark result line in the first 64 KiB. */
export const looksLikeGoBench = (text: string): boolean => {
  const head = text.slice(0, 64 * 1024);
  if (/^Benchmark\S*\s+\d+\s+[-+]?[\d.]+(?:[eE][-+]?\d+)?\s+\S+\/op\b/m.test(head)) return true;
  // A benchmark that printed: its name line, then the figures on a later line.
  return (
    /^\S*Benchmark\S* *\t/m.test(head) &&
    /^\s*\d+\t[ ]*[-+]?[\d.]+(?:[eE][-+]?\d+)?\s\S+\/op\b/m.test(head)
  );
};

/** Smaller is better for time and memory per op; bigger for rates (`MB/s`, `x/s`). */
const directionOf = (unit: string): Benchmark['direction'] =>
  unit.endsWith('/s') ? 'bigger' : unit.endsWith('/op') ? 'smaller' : undefined;

/** A capture group of a match (every group of these patterns takes part in a match). */
const group = (m: RegExpExecArray, n: number): string => m[n] ?? '';

interface Series {
  name: string;
  unit: string;
  values: number[];
}

/**
 * The largest `-N` read as a GOMAXPROCS count when only sub-benchmarks carry it: a sub-benchmark
 * named `size-1024` at GOMAXPROCS=1 prints `BenchmarkParse/size-1024`, the same text as a
 * sub-benchmark `size` at GOMAXPROCS=1024. Below this bound the suffix is taken for a count.
 */
const MAX_SUBBENCH_PROCS = 256;

/**
 * How each printed name is stored. Go appends `-N` (GOMAXPROCS) to every name, except at
 * GOMAXPROCS=1. One count on every line: it is dropped, so that a series survives another core
 * count, unless only sub-benchmarks carry it and it is above MAX_SUBBENCH_PROCS (then it is
 * part of the sub-benchmark's name). Anything else (no common count, `-cpu 1,2`, `-cpu 2,4`):
 * names as printed, except that a name printed without a count beside the same name with one
 * (`BenchmarkSum` and `BenchmarkSum-2`) ran at GOMAXPROCS=1 and becomes `BenchmarkSum-1`, so
 * that it is never taken for the GOMAXPROCS-stripped series of a single-count report.
 */
const procsNames = (names: readonly string[]): ((name: string) => string) => {
  const counts = new Set(names.map((n) => PROCS.exec(n)?.[1]));
  const [only] = counts;
  if (counts.size === 1 && only !== undefined) {
    const topLevel = names.some((n) => !n.includes('/'));
    if (topLevel || Number(only) <= MAX_SUBBENCH_PROCS) return (n) => n.replace(PROCS, '');
    return (n) => n;
  }
  const printed = new Set(names);
  const withCount = new Set<string>();
  for (const n of printed) {
    const base = n.replace(PROCS, '');
    if (base !== n && printed.has(base)) withCount.add(base);
  }
  return (n) => (withCount.has(n) ? `${n}-1` : n);
};

export const parseGoBench = (text: string): ParsedBenchmark => {
  const rows: { pkg: string; name: string; pairs: [number, string][] }[] = [];
  const warnings: string[] = [];
  /** Names printed without figures, and why, in order, once each. */
  const unread = new Map<string, string>();
  let pending: { name: string; failed: boolean } | undefined;
  const leaveOut = (name: string, why: string) => {
    if (!unread.has(name)) unread.set(name, why);
  };
  const closePending = () => {
    if (pending)
      leaveOut(
        pending.name,
        pending.failed ? 'failed (--- FAIL), no result' : 'no result line after its name',
      );
    pending = undefined;
  };
  const readPairs = (name: string, figures: string, i: number): [number, string][] => {
    const pairs: [number, string][] = [];
    for (const [, value = '', unit = ''] of figures.matchAll(PAIR)) {
      // Go prints a value that is not finite as `+Inf`, `-Inf` or `NaN`: left out, like a
      // negative time, size or rate. A digit run beyond the limit is a broken report.
      const printedNotFinite = /Inf|NaN/.test(value);
      const n = printedNotFinite ? Number.NaN : Number(value);
      if (!printedNotFinite && !(Math.abs(n) <= MAX_BENCHMARK_VALUE))
        throw invalidReport(
          `Invalid ${WHAT}: line ${i + 1}: ${value} ${unit} is not a number from -${MAX_BENCHMARK_VALUE} to ${MAX_BENCHMARK_VALUE}`,
          { line: i + 1 },
        );
      const why = unusableValue(n, unit);
      if (why) {
        warnings.push(`${name}: line ${i + 1}: value ${value} ${unit} ${why}; left out`);
        continue;
      }
      pairs.push([n, unit]);
    }
    return pairs;
  };
  let pkg = '';
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line.startsWith('pkg: ')) {
      pkg = line.slice(5).trim();
      continue;
    }
    const m = RESULT.exec(line);
    if (m) {
      closePending();
      const name = group(m, 1);
      rows.push({ pkg, name, pairs: readPairs(name, group(m, 3), i) });
      continue;
    }
    const h = HEADER.exec(raw);
    if (h) {
      // A name header: the benchmark's output follows, and maybe its figures on this line.
      closePending();
      const rest = raw.slice(h.index + h[0].length);
      const f = FIGURES.exec(rest);
      const name = group(h, 1);
      if (f) rows.push({ pkg, name, pairs: readPairs(name, group(f, 2), i) });
      else pending = { name, failed: /--- FAIL: /.test(rest) };
      continue;
    }
    if (pending) {
      const f = FIGURES.exec(raw);
      if (f) {
        rows.push({ pkg, name: pending.name, pairs: readPairs(pending.name, group(f, 2), i) });
        pending = undefined;
      } else if (line.startsWith(`--- FAIL: ${pending.name}`)) pending.failed = true;
      continue;
    }
    // A result-like line that none of the above could read.
    if (/^Benchmark\S*\s+\d/.test(line))
      leaveOut(line.split(/\s/, 1).join(''), `line ${i + 1} could not be read`);
  }
  closePending();
  for (const [name, why] of unread) warnings.push(`${name}: ${why}; left out`);
  if (rows.length === 0)
    throw invalidReport(
      `Invalid ${WHAT}: no result line ("BenchmarkName-8  1000  12.3 ns/op ...") found${
        warnings.length ? ` (${warnings.join('; ')})` : ''
      }`,
    );

  const nameOf = procsNames(rows.map((r) => r.name));
  const manyPackages = new Set(rows.map((r) => r.pkg)).size > 1;
  const series = new Map<string, Series>();
  for (const row of rows) {
    let name = nameOf(row.name);
    if (manyPackages && row.pkg) name = `${row.pkg}.${name}`;
    row.pairs.forEach(([value, unit], k) => {
      const full = k === 0 && unit === 'ns/op' ? name : `${name} (${unit})`;
      const key = `${full}\u0000${unit}`;
      let s = series.get(key);
      if (!s) {
        s = { name: full, unit, values: [] };
        series.set(key, s);
      }
      s.values.push(value);
    });
  }

  const benchmarks: Benchmark[] = [];
  for (const s of series.values()) {
    const n = s.values.length;
    const mean = s.values.reduce((a, b) => a + b, 0) / n;
    const b: Benchmark = { name: s.name, unit: s.unit, value: mean, samples: n };
    if (n > 1) b.stddev = Math.sqrt(s.values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
    const direction = directionOf(s.unit);
    if (direction) b.direction = direction;
    benchmarks.push(b);
  }
  return { kind: 'benchmark', format: 'go-bench', summary: { benchmarks }, warnings };
};
