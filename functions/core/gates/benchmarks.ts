import type { GateConfig } from '../config';
import { ownEntry } from '../config-access';
import type { GateCheck } from '../events';
import type { Benchmark, BenchmarkSummary } from '../formats/types';
import {
  type Detection,
  type Direction,
  detectRegression,
  directionFromUnit,
  type Finding,
  type Sample,
} from '../history/regression';
import {
  baselineOf,
  check,
  clip,
  type GateContext,
  noHistory,
  num,
  pct1,
  plural,
  round4,
  runsUsed,
  signedPct,
  skip,
  verdict,
  where,
} from './checks';

/**
 * One check per benchmark (`benchmark.<name>`) against the same benchmark in the base branch's
 * earlier runs. Reports can hold hundreds of benchmarks, so at most `MAX_BENCHMARK_CHECKS` get
 * their own check, the most important first (regressions, worst first; then improvements,
 * skips, the rest), and `benchmark.others` sums up the remainder (failing if it hides a
 * regression).
 */

export const MAX_BENCHMARK_CHECKS = 20;
/** Regressions beyond the cap named in `benchmark.others`. */
const MAX_NAMED_IN_SUMMARY = 10;

interface Outcome {
  bench: Benchmark;
  detection: Detection | { status: 'unit-changed'; from: string; have: number; need: number };
  direction: Direction;
  /** Where the direction came from. */
  directionFrom: 'config' | 'report' | 'unit' | 'guess';
  thresholdPct: number;
}

const directionOf = (
  b: Benchmark,
  cfg: GateConfig,
): { direction: Direction; from: Outcome['directionFrom'] } => {
  const configured = ownEntry(cfg.benchmarks, b.name)?.direction;
  if (configured) return { direction: configured, from: 'config' };
  if (b.direction) return { direction: b.direction, from: 'report' };
  const u = directionFromUnit(b.unit);
  return { direction: u.direction, from: u.known ? 'unit' : 'guess' };
};

const sampleOf = (b: Benchmark): Sample => ({
  value: b.value,
  ...(b.samples !== undefined ? { samples: b.samples } : {}),
  ...(b.stddev !== undefined ? { stddev: b.stddev } : {}),
});

const evaluate = (
  b: Benchmark,
  history: Map<string, Benchmark>[],
  cfg: GateConfig,
  ctx: GateContext,
): Outcome => {
  const { direction, from } = directionOf(b, cfg);
  const thresholdPct = ownEntry(cfg.benchmarks, b.name)?.thresholdPct ?? cfg.regressionThresholdPct;
  const baseline: Sample[] = [];
  let otherUnit: string | undefined;
  for (const run of history) {
    const old = run.get(b.name);
    if (!old) continue;
    if (old.unit === b.unit) baseline.push(sampleOf(old));
    else otherUnit ??= old.unit;
  }
  let detection: Outcome['detection'] = detectRegression({
    baseline,
    current: sampleOf(b),
    direction,
    thresholdPct,
    minBaseline: ctx.minBaselineRuns,
    // 0 → 1 allocs/op is a regression, not an undefined percentage.
    absoluteFromZero: true,
  });
  if (detection.status === 'insufficient' && otherUnit !== undefined)
    detection = { ...detection, status: 'unit-changed', from: otherUnit };
  return { bench: b, detection, direction, directionFrom: from, thresholdPct };
};

const withUnit = (n: number, unit: string): string => `${num(n)} ${unit}`.trim();

/** `10 runs on "main"`, naming a left-out glitch run and what it would have done to the band. */
const runsOn = (d: Finding, ctx: GateContext): string => {
  const left =
    d.noisePctWithOutliers !== undefined
      ? ` (with it the noise band would be ${pct1(d.noisePctWithOutliers)}%, not ${pct1(d.noisePct)}%)`
      : '';
  return `${runsUsed(d.runs, d.outliers)} on "${clip(ctx.baseBranch, 80)}"${left}`;
};

const describe = (o: Outcome & { detection: Finding }, ctx: GateContext): string => {
  const d = o.detection;
  const { unit } = o.bench;
  const verb = verdict(d.status);
  const name = `"${clip(o.bench.name)}"`;
  // A baseline of exact zeros: a percentage is meaningless, the absolute change is the news.
  if (d.method === 'zero')
    return `${name} ${verb}: ${num(d.baseline)} → ${withUnit(d.value, unit)} (every one of ${runsOn(d, ctx)} measured 0; smaller is better)`;
  const better = o.direction === 'smaller' ? 'smaller is better' : 'bigger is better';
  const limit =
    d.noisePct > o.thresholdPct
      ? `limit ${pct1(d.limitPct)}% from the baseline's run-to-run noise`
      : `limit ${pct1(d.limitPct)}%`;
  const method =
    d.method === 'welch'
      ? `Welch p${d.pValue === undefined || d.pValue < 1e-4 ? '<0.0001' : `=${num(d.pValue)}`} vs ${runsOn(d, ctx)}`
      : `mean of ${runsOn(d, ctx)}`;
  return `${name} ${verb}: ${withUnit(d.value, unit)} vs baseline ${withUnit(d.baseline, unit)} (${signedPct(d.changePct)}, ${better}; ${limit}; ${method})`;
};

/** A change for the summary list: a percentage, or `0 → 64 B/op` from a zero baseline. */
const changeOf = (o: Outcome): string => {
  const d = o.detection as Finding;
  return d.method === 'zero'
    ? `${num(d.baseline)} → ${withUnit(d.value, o.bench.unit)}`
    : signedPct(d.changePct);
};

const guessNote = (o: Outcome): string =>
  o.directionFrom === 'guess'
    ? `. Unit "${clip(o.bench.unit, 40)}" is neither a time nor a rate: assuming smaller is better (set gates.benchmarks["${clip(o.bench.name, 80)}"].direction)`
    : '';

const toCheck = (o: Outcome, cfg: GateConfig, ctx: GateContext): GateCheck => {
  const id = `benchmark.${clip(o.bench.name)}`;
  const d = o.detection;
  switch (d.status) {
    case 'insufficient':
      return skip(
        id,
        `"${clip(o.bench.name)}": ${plural(d.have, 'earlier run')} ${where(ctx)}, a baseline needs ${d.need}.`,
        round4(o.bench.value),
      );
    case 'unit-changed':
      return skip(
        id,
        `"${clip(o.bench.name)}": unit changed from "${clip(d.from, 40)}" to "${clip(o.bench.unit, 40)}"; ${plural(d.have, 'earlier run')} in the new unit ${where(ctx)}, a baseline needs ${d.need}.`,
        round4(o.bench.value),
      );
    case 'incomparable':
      return skip(id, `"${clip(o.bench.name)}": not compared: ${d.reason}.`, round4(o.bench.value));
    default: {
      const message = describe({ ...o, detection: d }, ctx) + guessNote(o);
      if (d.status === 'regressed' && !cfg.failOnBenchmarkRegression)
        return skip(
          id,
          `${message}. Not failing the gate: failOnBenchmarkRegression is false.`,
          round4(d.value),
          round4(d.baseline),
        );
      return check(id, d.status === 'regressed', message, round4(d.value), round4(d.baseline));
    }
  }
};

const rank = (o: Outcome): number => {
  switch (o.detection.status) {
    case 'regressed':
      return 0;
    case 'improved':
      return 1;
    case 'ok':
      return 3;
    default:
      return 2;
  }
};

const summary = (rest: Outcome[], cfg: GateConfig): GateCheck => {
  const count = (s: string) => rest.filter((o) => o.detection.status === s).length;
  const regressed = rest.filter((o) => o.detection.status === 'regressed');
  const ok = count('ok');
  const improved = count('improved');
  const skipped = rest.length - ok - improved - regressed.length;
  const parts = [
    regressed.length ? `${regressed.length} regressed` : '',
    improved ? `${improved} improved` : '',
    ok ? `${ok} within noise` : '',
    skipped ? `${skipped} not compared` : '',
  ].filter(Boolean);
  let message = `${plural(rest.length, 'more benchmark')}: ${parts.join(', ')}`;
  if (regressed.length) {
    const named = regressed
      .slice(0, MAX_NAMED_IN_SUMMARY)
      .map((o) => `"${clip(o.bench.name, 80)}" (${changeOf(o)})`);
    const more = regressed.length - named.length;
    message += `. Regressed: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  }
  const fail = regressed.length > 0 && cfg.failOnBenchmarkRegression;
  if (regressed.length && !fail)
    message += '. Not failing the gate: failOnBenchmarkRegression is false';
  const status = fail ? 'fail' : ok + improved > 0 && !regressed.length ? 'pass' : 'skip';
  return {
    id: 'benchmark.others',
    status,
    message: `${message}.`,
    actual: regressed.length,
    threshold: 0,
  };
};

/** Missing benchmarks named in `benchmark.missing`. */
const MAX_NAMED_MISSING = 10;

/**
 * `benchmark.missing` (a skip, never a failure: a filtered run is legitimate): benchmarks the
 * newest base-branch run had that this report lacks. Without it a removed or renamed benchmark
 * leaves the gate silently, and a rename is an easy way round a regression.
 */
const missingCheck = (
  report: BenchmarkSummary,
  runs: readonly { summary: BenchmarkSummary }[],
  ctx: GateContext,
): GateCheck[] => {
  const latest = runs[0];
  if (!latest) return [];
  const now = new Set(report.benchmarks.map((b) => b.name));
  const gone = [...new Set(latest.summary.benchmarks.map((b) => b.name))].filter(
    (n) => !now.has(n),
  );
  if (gone.length === 0) return [];
  const named = gone.slice(0, MAX_NAMED_MISSING).map((n) => `"${clip(n, 80)}"`);
  const more = gone.length - named.length;
  return [
    skip(
      'benchmark.missing',
      `${plural(gone.length, 'benchmark')} of the latest run ${where(ctx)} not in this report, so not compared: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}. Removed or renamed? A renamed benchmark starts a new baseline.`,
      gone.length,
      0,
    ),
  ];
};

export const benchmarkChecks = (
  report: BenchmarkSummary,
  cfg: GateConfig,
  ctx: GateContext,
): GateCheck[] => {
  if (report.benchmarks.length === 0)
    return [skip('benchmark.regression', 'The report contains no benchmarks.')];
  const runs = baselineOf(ctx, 'benchmark');
  if (!runs)
    return [skip('benchmark.regression', `Benchmark regressions not checked: ${noHistory(ctx)}.`)];
  // Index each baseline run by name once; a name repeated in one report keeps its first entry.
  const history = runs.map((r) => {
    const byName = new Map<string, Benchmark>();
    for (const b of r.summary.benchmarks) if (!byName.has(b.name)) byName.set(b.name, b);
    return byName;
  });
  const seen = new Set<string>();
  const outcomes: Outcome[] = [];
  for (const b of report.benchmarks) {
    if (seen.has(b.name)) continue;
    seen.add(b.name);
    outcomes.push(evaluate(b, history, cfg, ctx));
  }
  const missing = missingCheck(report, runs, ctx);
  if (outcomes.length <= MAX_BENCHMARK_CHECKS)
    return [...outcomes.map((o) => toCheck(o, cfg, ctx)), ...missing];
  // A regression from a zero baseline (worsePct Infinity) ranks with the largest.
  const size = (o: Outcome) =>
    'worsePct' in o.detection ? Math.min(Math.abs(o.detection.worsePct), Number.MAX_VALUE) : 0;
  const ranked = outcomes
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o) - rank(b.o) || size(b.o) - size(a.o) || a.i - b.i)
    .map(({ o }) => o);
  const shown = ranked.slice(0, MAX_BENCHMARK_CHECKS - 1);
  return [
    ...shown.map((o) => toCheck(o, cfg, ctx)),
    summary(ranked.slice(MAX_BENCHMARK_CHECKS - 1), cfg),
    ...missing,
  ];
};
