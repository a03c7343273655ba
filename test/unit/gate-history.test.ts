import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gateConfigFor, parseConfig, type VigilConfigInput } from '../../functions/core/config';
import type { GateCheck } from '../../functions/core/events';
import { parseReport } from '../../functions/core/formats';
import type {
  Benchmark,
  CoverageSummary,
  LoadSummary,
  ParsedLoad,
  ParsedReport,
} from '../../functions/core/formats/types';
import { MAX_BENCHMARK_CHECKS } from '../../functions/core/gates/benchmarks';
import { evaluateGate, type GateContext } from '../../functions/core/gates/gate';
import type { RunRecord } from '../../functions/core/history/types';

/** Gate checks that compare with the base branch's earlier runs: coverage drop, benchmarks, load. */

const corpus = (path: string) => parseReport(readFileSync(`test/fixtures/corpus/${path}`, 'utf8'));
const cfgOf = (gates: VigilConfigInput['gates'] = {}) =>
  gateConfigFor(parseConfig({ gates }), 'shop');

// Run-to-run drift of a CI machine: sd ≈ 6%, and a steadier one, sd ≈ 1%.
const DRIFT = [1.0, 0.93, 1.08, 0.97, 1.05, 0.91, 1.1, 0.99, 1.04, 0.95];
const STEADY = [1.0, 0.99, 1.015, 1.005, 0.985, 1.01, 0.995, 1.0, 1.02, 0.99];

let seq = 0;
const record = <K extends RunRecord['kind']>(
  kind: K,
  summary: Extract<RunRecord, { kind: K }>['summary'],
  extra: Partial<RunRecord> = {},
): RunRecord =>
  ({
    kind,
    summary,
    project: 'shop',
    runId: `run-${++seq}`,
    format: 'x',
    suite: 'unit',
    branch: 'main',
    ingestedAt: new Date(Date.UTC(2026, 10, 1) - seq * 60_000).toISOString(),
    correlationId: 'c',
    gate: 'pass',
    ...extra,
  }) as RunRecord;

const ctx = (baseline: RunRecord[] | undefined, more: Partial<GateContext> = {}) => ({
  baseBranch: 'main',
  suite: 'unit',
  baseline,
  minBaselineRuns: 3,
  ...(baseline ? {} : { noHistory: 'run history is not configured' }),
  ...more,
});
const byId = (g: { checks: GateCheck[] }, id: string) => g.checks.find((c) => c.id === id);

describe('coverage drop against the base branch', () => {
  const current = corpus('istanbul/tsinjex-coverage-summary.json'); // lines 97.52, branches 91.02
  const summary = current.summary as CoverageSummary;
  const base = (lines: number, branches: number, extra: Partial<RunRecord> = {}): RunRecord =>
    record(
      'coverage',
      {
        ...summary,
        lines: { ...summary.lines, pct: lines },
        branches: { ...summary.branches, pct: branches },
      },
      extra,
    );
  const cfg = cfgOf({
    minCoverage: 80,
    coverageMetrics: ['lines', 'branches'],
    maxCoverageDrop: 1,
  });

  it('fails a metric that dropped more than the allowed points against the latest base run', () => {
    const latest = base(98.1, 93.5);
    const older = base(90, 80); // only the latest base run counts
    const g = evaluateGate(current, cfg, ctx([latest, older]));
    expect(g.status).toBe('fail');
    expect(byId(g, 'coverage.drop.lines')).toMatchObject({
      status: 'pass',
      actual: 97.52,
      threshold: 97.1,
      message: `lines coverage 97.52% dropped 0.58 points against 98.1% in the latest coverage on base branch "main" (suite unit) (run ${latest.runId}), within the allowed drop of 1 point`,
    });
    expect(byId(g, 'coverage.drop.branches')).toMatchObject({
      status: 'fail',
      actual: 91.02,
      threshold: 92.5,
      message: expect.stringContaining('dropped 2.48 points against 93.5%'),
    });
    // The absolute minimum still applies next to the drop.
    expect(byId(g, 'coverage.lines')?.status).toBe('pass');
  });

  it('compares with the run at the merge base when the baseline holds it', () => {
    // The base branch raised coverage after the change branched off: not the change's doing.
    const mergeBase = 'abc1234def5678abc1234def5678abc1234def56';
    const latest = base(100, 100, { commit: 'fff0000' });
    const atBase = base(97.52, 91.02, { commit: mergeBase });
    const g = evaluateGate(current, cfg, ctx([latest, atBase], { mergeBase }));
    expect(g.status).toBe('pass');
    expect(byId(g, 'coverage.drop.lines')?.message).toBe(
      `lines coverage 97.52% is unchanged against 97.52% in the coverage at the merge base abc1234 on base branch "main" (suite unit) (run ${atBase.runId}), within the allowed drop of 1 point`,
    );
    // Its gaps are named as the merge base's.
    const { branches: _, ...without } = atBase.summary as CoverageSummary;
    const gap = { ...atBase, summary: without } as RunRecord;
    expect(
      byId(evaluateGate(current, cfg, ctx([latest, gap], { mergeBase })), 'coverage.drop.branches')
        ?.message,
    ).toBe(
      `The coverage at the merge base abc1234 on base branch "main" (suite unit) (run ${atBase.runId}) has no branches.`,
    );
  });

  it('compares with the latest run, and says so, when no run is at the merge base', () => {
    const latest = base(100, 100, { commit: 'fff0000' });
    const g = evaluateGate(
      current,
      cfg,
      ctx([latest, base(97.52, 91.02)], { mergeBase: 'abc1234ffff' }),
    );
    expect(g.status).toBe('fail');
    expect(byId(g, 'coverage.drop.lines')?.message).toBe(
      `lines coverage 97.52% dropped 2.48 points against 100% in the latest coverage on base branch "main" (suite unit) (run ${latest.runId}; none at the merge base abc1234), more than the allowed drop of 1 point`,
    );
  });

  it('says when coverage rose', () => {
    const g = evaluateGate(current, cfg, ctx([base(95, 91.02)]));
    expect(byId(g, 'coverage.drop.lines')?.message).toMatch(/rose 2.52 points/);
    expect(byId(g, 'coverage.drop.branches')?.message).toMatch(/is unchanged/);
    expect(g.status).toBe('pass');
  });

  it('skips a drop check when either side did not measure the metric', () => {
    const unmeasured = { pct: null, covered: 0, total: 0, reason: 'not measured: no BRDA' };
    const baseWithout = record('coverage', { ...summary, branches: unmeasured });
    const g = evaluateGate(current, cfg, ctx([baseWithout]));
    expect(byId(g, 'coverage.drop.branches')).toMatchObject({
      status: 'skip',
      message: `branches coverage was not measured in the latest coverage on base branch "main" (suite unit) (run ${baseWithout.runId}): nothing to compare.`,
    });
    const now = { ...current, summary: { ...summary, branches: unmeasured } } as typeof current;
    const h = evaluateGate(now, cfg, ctx([base(95, 90)]));
    expect(byId(h, 'coverage.drop.branches')).toMatchObject({
      status: 'skip',
      message: 'branches coverage was not measured (not measured: no BRDA).',
    });
    expect(byId(h, 'coverage.branches')?.status).toBe('skip');
  });

  it('skips, and says so, when the base branch has no coverage yet or history is off', () => {
    const none = evaluateGate(current, cfg, ctx([]));
    expect(byId(none, 'coverage.drop.lines')).toMatchObject({
      status: 'skip',
      message: 'No coverage on base branch "main" (suite unit) yet: nothing to compare.',
    });
    const off = evaluateGate(current, cfg, ctx(undefined));
    expect(byId(off, 'coverage.drop.lines')?.message).toBe(
      'Coverage drop not checked: run history is not configured.',
    );
  });

  it('skips, with the reason, a metric the report or the base run lacks or did not measure', () => {
    // Prepare: lines not measured (no reason given), functions absent; the base has no branches.
    const { functions: _, ...withoutFunctions } = summary;
    const report = {
      ...current,
      summary: { ...withoutFunctions, lines: { pct: null, covered: 0, total: 0 } },
    } as ParsedReport;
    const { branches: __, ...baseSummary } = summary;
    const metrics = cfgOf({
      minCoverage: 80,
      coverageMetrics: ['lines', 'branches', 'functions'],
      maxCoverageDrop: 1,
    });

    // Act
    const g = evaluateGate(
      report,
      metrics,
      ctx([record('coverage', baseSummary as CoverageSummary)]),
    );

    // Assess
    const messages = Object.fromEntries(g.checks.map((c) => [c.id, [c.status, c.message]]));
    expect(messages['coverage.lines']?.[1]).toMatch(/^lines coverage was not measured \(no data\)/);
    expect(messages['coverage.functions']).toEqual([
      'skip',
      'The report has no functions coverage.',
    ]);
    expect(messages['coverage.drop.lines']).toEqual([
      'skip',
      'lines coverage was not measured (no data).',
    ]);
    expect(messages['coverage.drop.branches']?.[1]).toMatch(/\(run run-\d+\) has no branches\.$/);
    expect(messages['coverage.drop.functions']).toEqual([
      'skip',
      'The report has no functions coverage.',
    ]);
  });

  it('adds no drop checks unless maxCoverageDrop is set', () => {
    const g = evaluateGate(current, cfgOf({ minCoverage: 80 }), ctx([base(99, 99)]));
    expect(g.checks.map((c) => c.id)).toEqual(['coverage.lines']);
  });
});

describe('benchmark regressions', () => {
  // Vitest bench (corpus): 28 benchmarks with sample counts and sds, in ms.
  const vitest = corpus('benchmarks/vitest-bench-twinkleplop.json');
  const benchmarks = (vitest.summary as { benchmarks: Benchmark[] }).benchmarks;
  const scaled = (f: (b: Benchmark, i: number) => number): Benchmark[] =>
    benchmarks.map((b, i) => ({ ...b, value: b.value * f(b, i) }));
  const report = (list: Benchmark[]): ParsedReport => ({
    kind: 'benchmark',
    format: 'benchmark',
    summary: { benchmarks: list },
    warnings: [],
  });
  // Each run drifts as a whole, and each benchmark a little on its own.
  const history = DRIFT.map((d, run) =>
    record('benchmark', { benchmarks: scaled((_, i) => d * (1 + 0.01 * (((run + i) % 5) - 2))) }),
  );
  const slowName = benchmarks[5]?.name ?? '';

  it('fails the one benchmark that regressed, naming its baseline, value and change', () => {
    const current = report(scaled((_, i) => (i === 5 ? 1.6 : 1.03)));
    const g = evaluateGate(current, cfgOf(), ctx(history));
    expect(g.status).toBe('fail');
    const failed = g.checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.id)).toEqual([`benchmark.${slowName}`]);
    expect(failed[0]?.message).toMatch(
      new RegExp(
        `^"${slowName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" regressed: [\\d.]+ ms vs baseline [\\d.]+ ms \\(\\+59\\.\\d%, smaller is better; limit [\\d.]+%( from the baseline's run-to-run noise)?; Welch p<0\\.0001 vs 10 runs on "main"\\)$`,
      ),
    );
    // actual = the value, threshold = the baseline (6 significant digits).
    const value = benchmarks[5]?.value ?? Number.NaN;
    expect((failed[0]?.actual ?? 0) / (value * 1.6)).toBeCloseTo(1, 5);
    expect((failed[0]?.threshold ?? 0) / value).toBeCloseTo(1.002, 3);
    // 28 benchmarks: the regression first, then 18 more individual checks and a summary.
    expect(g.checks).toHaveLength(MAX_BENCHMARK_CHECKS);
    expect(g.checks[0]?.id).toBe(`benchmark.${slowName}`);
    expect(g.checks.at(-1)).toMatchObject({
      id: 'benchmark.others',
      status: 'pass',
      message: '9 more benchmarks: 9 within noise.',
    });
  });

  it('does not false-alarm on a noisy history when nothing changed', () => {
    // A run 14% above the history's mean, within its run-to-run spread (8%, 10% above):
    // a fixed 10% rule would fail all 28 benchmarks.
    const g = evaluateGate(report(scaled(() => 1.14)), cfgOf(), ctx(history));
    expect(g.status).toBe('pass');
    expect(g.checks.filter((c) => c.status !== 'pass')).toEqual([]);
  });

  it('passes improvements and says so', () => {
    const g = evaluateGate(report(scaled((_, i) => (i === 0 ? 0.5 : 1))), cfgOf(), ctx(history));
    expect(g.status).toBe('pass');
    expect(g.checks[0]?.message).toMatch(/^".*" improved: .*\(−50\.\d%/);
  });

  it('reports a regression without failing when failOnBenchmarkRegression is off', () => {
    const current = report(scaled((_, i) => (i === 5 ? 1.6 : 1)));
    const g = evaluateGate(current, cfgOf({ failOnBenchmarkRegression: false }), ctx(history));
    expect(g.status).toBe('pass');
    expect(byId(g, `benchmark.${slowName}`)).toMatchObject({
      status: 'skip',
      message: expect.stringMatching(
        / regressed: .*Not failing the gate: failOnBenchmarkRegression is false\.$/,
      ),
    });
  });

  it('skips with the reason when the history is too short or the unit changed', () => {
    const short = evaluateGate(report(benchmarks.slice(0, 2)), cfgOf(), ctx(history.slice(0, 2)));
    expect(short.status).toBe('none');
    expect(short.checks[0]?.message).toBe(
      `"${benchmarks[0]?.name}": 2 earlier runs on base branch "main" (suite unit), a baseline needs 3.`,
    );
    const inSeconds = benchmarks
      .slice(0, 1)
      .map((b) => ({ ...b, unit: 's', value: b.value / 1000 }));
    const changed = evaluateGate(report(inSeconds), cfgOf(), ctx(history));
    expect(changed.checks[0]).toMatchObject({
      status: 'skip',
      message: expect.stringContaining(
        'unit changed from "ms" to "s"; 0 earlier runs in the new unit',
      ),
    });
  });

  it('takes direction and threshold from the config, else the unit, and flags a guess', () => {
    // github-action-benchmark custom JSON (corpus): "CPU Load" in "Percent", "Memory Used" in "Megabytes".
    const custom = corpus('benchmarks/github-action-benchmark-customSmallerIsBetter.json');
    const list = (custom.summary as { benchmarks: Benchmark[] }).benchmarks;
    const runs = STEADY.map((f) =>
      record('benchmark', { benchmarks: list.map((b) => ({ ...b, value: b.value * f })) }),
    );
    const now = report(list.map((b) => ({ ...b, value: b.value * 1.3 })));
    const guessed = evaluateGate(now, cfgOf(), ctx(runs));
    const cpu = guessed.checks[0];
    expect(cpu?.status).toBe('fail');
    expect(cpu?.message).toContain(
      '). Unit "Percent" is neither a time nor a rate: assuming smaller is better (set gates.benchmarks["My Custom Smaller Is Better Benchmark - CPU Load"].direction)',
    );
    expect(guessed.checks[1]?.message).not.toContain('assuming');
    const configured = evaluateGate(
      now,
      cfgOf({
        benchmarks: {
          'My Custom Smaller Is Better Benchmark - CPU Load': { direction: 'bigger' },
          'My Custom Smaller Is Better Benchmark - Memory Used': { thresholdPct: 40 },
        },
      }),
      ctx(runs),
    );
    expect(configured.checks.map((c) => c.status)).toEqual(['pass', 'pass']);
    expect(configured.checks[0]?.message).toMatch(/improved: .*bigger is better/);
    expect(configured.checks[1]?.message).toMatch(/within noise: .*limit 40%/);
  });

  it('fails the summary check when regressions overflow the cap, naming some', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({
      name: `bench ${i}`,
      unit: 'ns',
      value: 100 + i,
    }));
    const runs = STEADY.map((f) =>
      record('benchmark', { benchmarks: many.map((b) => ({ ...b, value: b.value * f })) }),
    );
    const g = evaluateGate(
      report(many.map((b) => ({ ...b, value: b.value * 2 }))),
      cfgOf(),
      ctx(runs),
    );
    expect(g.checks).toHaveLength(MAX_BENCHMARK_CHECKS);
    expect(g.checks.every((c) => c.status === 'fail')).toBe(true);
    const others = g.checks.at(-1);
    expect(others).toMatchObject({ id: 'benchmark.others', actual: 21 });
    expect(others?.message).toMatch(
      /^21 more benchmarks: 21 regressed\. Regressed: "bench \d+" \(\+/,
    );
    expect(others?.message).toContain('and 11 more');
  });

  it('skips an empty report, a repeated name, a new benchmark and a zero throughput', () => {
    // Prepare
    const runs = STEADY.map(() =>
      record('benchmark', { benchmarks: [{ name: 'zero', unit: 'MB/s', value: 0 }] }),
    );
    const current = report([
      { name: 'zero', unit: 'MB/s', value: 5 },
      { name: 'zero', unit: 'MB/s', value: 500 },
      { name: 'new', unit: 'ns', value: 5 },
    ]);

    // Act
    const empty = evaluateGate(report([]), cfgOf(), ctx(runs));
    const g = evaluateGate(current, cfgOf(), ctx(runs));

    // Assess
    expect(empty.checks.map((c) => c.message)).toEqual(['The report contains no benchmarks.']);
    expect(g.checks.map((c) => [c.id, c.status, c.message])).toEqual([
      [
        'benchmark.zero',
        'skip',
        '"zero": not compared: the baseline mean is 0: a relative change is undefined.',
      ],
      [
        'benchmark.new',
        'skip',
        '"new": 0 earlier runs on base branch "main" (suite unit), a baseline needs 3.',
      ],
    ]);
  });

  it('names the few regressions left for the summary and does not fail when told not to', () => {
    // Prepare: 22 regressed (19 get their own check), 8 improved.
    const many = Array.from({ length: 30 }, (_, i) => ({ name: `b${i}`, unit: 'ns', value: 100 }));
    const runs = STEADY.map((f) =>
      record('benchmark', { benchmarks: many.map((b) => ({ ...b, value: b.value * f })) }),
    );
    const current = report(many.map((b, i) => ({ ...b, value: i < 22 ? 200 : 50 })));

    // Act
    const g = evaluateGate(current, cfgOf({ failOnBenchmarkRegression: false }), ctx(runs));

    // Assess: every check is a skip (regressions reported, not failed), so no verdict.
    expect(g.status).toBe('none');
    const others = g.checks.at(-1);
    expect(others).toMatchObject({ id: 'benchmark.others', status: 'skip', actual: 3 });
    expect(others?.message).toMatch(
      /^11 more benchmarks: 3 regressed, 8 improved\. Regressed: "b\d+" \(\+[\d.]+%\), "b\d+" \(\+[\d.]+%\), "b\d+" \(\+[\d.]+%\)\. Not failing the gate: failOnBenchmarkRegression is false\.$/,
    );
  });

  it('fails an allocation regression from zero, stated in absolute terms', () => {
    // go test -benchmem (audit): 0 B/op, 0 allocs/op on main; the PR allocates 64 B once.
    const go = (bytes: number, allocs: number): Benchmark[] => [
      { name: 'BenchmarkAlloc (B/op)', unit: 'B/op', value: bytes },
      { name: 'BenchmarkAlloc (allocs/op)', unit: 'allocs/op', value: allocs },
    ];
    const runs = STEADY.slice(0, 4).map(() => record('benchmark', { benchmarks: go(0, 0) }));
    const g = evaluateGate(report(go(64, 1)), cfgOf(), ctx(runs));
    expect(g.status).toBe('fail');
    expect(g.checks.map((c) => [c.status, c.message])).toEqual([
      [
        'fail',
        '"BenchmarkAlloc (B/op)" regressed: 0 → 64 B/op (every one of 4 runs on "main" measured 0; smaller is better)',
      ],
      [
        'fail',
        '"BenchmarkAlloc (allocs/op)" regressed: 0 → 1 allocs/op (every one of 4 runs on "main" measured 0; smaller is better)',
      ],
    ]);
    expect(evaluateGate(report(go(0, 0)), cfgOf(), ctx(runs)).status).toBe('pass');
  });

  it('warns about benchmarks of the latest base run that this report lacks (removed or renamed)', () => {
    const list = Array.from({ length: 14 }, (_, i) => ({ name: `b${i}`, unit: 'ns', value: 100 }));
    const runs = STEADY.map((f) =>
      record('benchmark', { benchmarks: list.map((b) => ({ ...b, value: b.value * f })) }),
    );
    // b0 renamed (and 3x slower: the rename would have hidden it), b1..b11 dropped.
    const current = report([{ name: 'b0 renamed', unit: 'ns', value: 300 }, ...list.slice(12)]);
    const g = evaluateGate(current, cfgOf(), ctx(runs));
    expect(byId(g, 'benchmark.missing')).toEqual({
      id: 'benchmark.missing',
      status: 'skip',
      message:
        '12 benchmarks of the latest run on base branch "main" (suite unit) not in this report, so not compared: "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9" and 2 more. Removed or renamed? A renamed benchmark starts a new baseline.',
      actual: 12,
      threshold: 0,
    });
    // Nothing missing: no such check.
    expect(byId(evaluateGate(report(list), cfgOf(), ctx(runs)), 'benchmark.missing')).toBe(
      undefined,
    );
  });

  it('names the base branch in pass messages and says what a left-out glitch run did to the band', () => {
    const runs = STEADY.map((f, i) =>
      record('benchmark', {
        benchmarks: [{ name: 'parse', unit: 'ns', value: i === 4 ? 210 : 100 * f }],
      }),
    );
    const g = evaluateGate(report([{ name: 'parse', unit: 'ns', value: 101 }]), cfgOf(), ctx(runs));
    expect(g.checks[0]?.status).toBe('pass');
    expect(g.checks[0]?.message).toMatch(
      /; mean of 9 runs, 1 outlier run left out on "main" \(with it the noise band would be \d+(\.\d)?%, not [\d.]+%\)\)$/,
    );
  });

  it('says why nothing was compared without history', () => {
    const g = evaluateGate(report(benchmarks), cfgOf(), ctx(undefined));
    expect(g.checks).toEqual([
      {
        id: 'benchmark.regression',
        status: 'skip',
        message: 'Benchmark regressions not checked: run history is not configured.',
        actual: null,
        threshold: null,
      },
    ]);
  });
});

describe('load-test regressions', () => {
  // k6 summary (corpus): p95 421.32 ms, p99 445.12 ms, error rate 2%.
  const k6 = corpus('k6/k6-summary-v1-example-basic.json') as ParsedLoad;
  const summary: LoadSummary = k6.summary;
  const runs = DRIFT.map((f, i) =>
    record('load', {
      ...summary,
      errorRate: [0.01, 0.015, 0.02, 0.01, 0.012, 0.018, 0.01, 0.02, 0.015, 0.01][i] ?? 0.01,
      latencyMs: { ...summary.latencyMs, p95: 300 * f, p99: 440 * f },
    }),
  );

  it('fails p95 and error rate that regressed, passes p99 within its noise', () => {
    const g = evaluateGate(k6, cfgOf(), ctx(runs));
    expect(g.status).toBe('fail');
    expect(byId(g, 'load.p95')).toMatchObject({
      status: 'fail',
      actual: 421.32,
      message: expect.stringMatching(
        /^p95 latency regressed: 421\.3 ms vs baseline 300\.6 ms on base branch "main" \(suite unit\) \(\+40\.\d%; limit \d+(\.\d+)?% from the baseline's run-to-run noise; mean of 10 runs\)$/,
      ),
    });
    expect(byId(g, 'load.p99')).toMatchObject({ status: 'pass' });
    expect(byId(g, 'load.errorRate')).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(
        /^Error rate within noise: 2% vs baseline 1\.4% .*\(\+0\.6 points; limit 1\.4 points;/,
      ),
    });
    const worse = evaluateGate(
      { ...k6, summary: { ...summary, errorRate: 0.05 } },
      cfgOf(),
      ctx(runs),
    );
    expect(byId(worse, 'load.errorRate')?.status).toBe('fail');
  });

  it('leaves a glitch run out of the baseline and says so', () => {
    const glitched = runs.map((r, i) =>
      i === 2 && r.kind === 'load'
        ? { ...r, summary: { ...r.summary, latencyMs: { ...r.summary.latencyMs, p95: 1500 } } }
        : r,
    );
    const p95 = byId(evaluateGate(k6, cfgOf(), ctx(glitched)), 'load.p95');
    expect(p95?.status).toBe('fail');
    expect(p95?.message).toMatch(/mean of 9 runs, 1 outlier run left out\)$/);
  });

  it('reports load regressions without failing when failOnLoadRegression is off', () => {
    const g = evaluateGate(k6, cfgOf({ failOnLoadRegression: false }), ctx(runs));
    expect(g.status).toBe('pass');
    expect(byId(g, 'load.p95')).toMatchObject({
      status: 'skip',
      message: expect.stringMatching(/Not failing the gate: failOnLoadRegression is false\.$/),
    });
  });

  it('skips the comparisons without history, or when the report lacks a percentile', () => {
    const g = evaluateGate(
      { ...k6, summary: { ...summary, latencyMs: { p95: 400 } } },
      cfgOf(),
      ctx(runs.slice(0, 2)),
    );
    expect(byId(g, 'load.p95')?.message).toBe(
      'p95 latency 400 ms: 2 earlier runs with a p95 on base branch "main" (suite unit), a baseline needs 3.',
    );
    expect(byId(g, 'load.p99')?.message).toBe('The report has no p99 latency.');
    expect(byId(evaluateGate(k6, cfgOf(), ctx(undefined)), 'load.errorRate')?.message).toBe(
      'Error rate not compared: run history is not configured.',
    );
  });

  it('skips a latency against a zero baseline, and reads runs without the percentile', () => {
    // Prepare: earlier runs at p95 0 ms, one without a p95; an error rate that fell.
    const zero = runs.map((r, i) =>
      r.kind === 'load'
        ? {
            ...r,
            summary: {
              ...r.summary,
              errorRate: 0.5,
              latencyMs: i === 0 ? { p99: 1 } : { ...r.summary.latencyMs, p95: 0 },
            },
          }
        : r,
    );

    // Act
    const g = evaluateGate(k6, cfgOf(), ctx(zero));

    // Assess
    expect(byId(g, 'load.p95')?.message).toBe(
      'p95 latency not compared: the baseline mean is 0: a relative change is undefined.',
    );
    expect(byId(g, 'load.errorRate')).toMatchObject({
      status: 'pass',
      message: expect.stringContaining('(−48 points;'),
    });
  });

  it('gives the default reason when the context says neither baseline nor why', () => {
    // Prepare
    const bare = { baseBranch: 'main', suite: 'unit', minBaselineRuns: 3 };
    const coverage: ParsedReport = {
      kind: 'coverage',
      format: 'lcov',
      summary: { lines: { pct: 90, covered: 9, total: 10 } } as CoverageSummary,
      warnings: [],
    };

    // Act
    const load = evaluateGate(k6, cfgOf(), bare);
    const cov = evaluateGate(coverage, cfgOf({ maxCoverageDrop: 1 }), bare);

    // Assess
    expect(byId(load, 'load.p95')?.message).toBe(
      'p95 latency not compared: no run history was consulted.',
    );
    expect(byId(load, 'load.errorRate')?.message).toBe(
      'Error rate not compared: no run history was consulted.',
    );
    expect(byId(cov, 'coverage.drop.lines')?.message).toBe(
      'Coverage drop not checked: no run history was consulted.',
    );
  });

  it('keeps a long list of thresholds to a capped number of checks, failures first', () => {
    const thresholds = Array.from({ length: 30 }, (_, i) => ({
      name: `t${i}`,
      passed: i !== 25 && i !== 27,
    }));
    const g = evaluateGate({ ...k6, summary: { ...summary, thresholds } }, cfgOf(), ctx(runs));
    const ids = g.checks.map((c) => c.id).filter((id) => id.startsWith('load.threshold'));
    expect(ids.slice(0, 2)).toEqual(['load.threshold.t25', 'load.threshold.t27']);
    expect(byId(g, 'load.thresholds')).toMatchObject({
      status: 'pass',
      message: '11 more thresholds: 0 failed, 11 passed',
    });
    const allFailed = thresholds.map((t) => ({ ...t, passed: false }));
    const overflow = evaluateGate(
      { ...k6, summary: { ...summary, thresholds: allFailed } },
      cfgOf(),
      ctx(runs),
    );
    expect(byId(overflow, 'load.thresholds')).toMatchObject({
      status: 'fail',
      actual: 11,
      message: expect.stringMatching(
        /^11 more thresholds: 11 failed \("t19", .* and 1 more\), 0 passed$/,
      ),
    });
  });
});
