import type { GateConfig } from '../config';
import type { GateCheck } from '../events';
import type { LoadSummary, LoadThreshold } from '../formats/types';
import { detectRateRegression, detectRegression } from '../history/regression';
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
 * Load-test checks: the test's own thresholds (k6 thresholds) one check each, and p95/p99
 * latency and error rate against the base branch's earlier runs. Latencies are single values
 * per run, so they use the robust path; error rates compare in points. Artillery's JSON report
 * records no `ensure` results (see formats/artillery.ts): its threshold check is a skip saying
 * so, never "no thresholds", since the test may well have failed ones.
 */

/** Thresholds with their own check; the rest are summed up in `load.thresholds`. */
export const MAX_THRESHOLD_CHECKS = 20;

/** Up to 10 names, then a count. */
const named = (ts: LoadThreshold[]): string => {
  const shown = ts.slice(0, 10).map((t) => `"${clip(t.name, 80)}"`);
  return ts.length > shown.length
    ? `${shown.join(', ')} and ${ts.length - shown.length} more`
    : shown.join(', ');
};

/** The `load.thresholds` skip for an Artillery report: its thresholds are not in it. */
export const ARTILLERY_NO_ENSURE =
  "Artillery's JSON report does not record `ensure` results: gate on Artillery's exit code, or rely on Vigil's load regression checks (load.p95, load.p99, load.errorRate, against the base branch's earlier runs).";

const thresholdChecks = (s: LoadSummary, format?: string): GateCheck[] => {
  if (s.thresholds.length === 0)
    return [
      skip(
        'load.thresholds',
        format === 'artillery' ? ARTILLERY_NO_ENSURE : 'The load test defines no thresholds.',
      ),
    ];
  // Failed ones first, so a long list never hides a failure behind the cap.
  const ordered = [
    ...s.thresholds.filter((t) => !t.passed),
    ...s.thresholds.filter((t) => t.passed),
  ];
  const shown =
    ordered.length <= MAX_THRESHOLD_CHECKS ? ordered : ordered.slice(0, MAX_THRESHOLD_CHECKS - 1);
  const checks = shown.map((t) =>
    check(
      `load.threshold.${clip(t.name)}`,
      !t.passed,
      `Load-test threshold "${clip(t.name)}" ${t.passed ? 'passed' : 'failed'}`,
      null,
      null,
    ),
  );
  const rest = ordered.slice(shown.length);
  if (rest.length > 0) {
    const failed = rest.filter((t) => !t.passed);
    checks.push(
      check(
        'load.thresholds',
        failed.length > 0,
        `${plural(rest.length, 'more threshold')}: ${failed.length} failed${failed.length ? ` (${named(failed)})` : ''}, ${rest.length - failed.length} passed`,
        failed.length,
        0,
      ),
    );
  }
  return checks;
};

/** A regression check's status when `failOnLoadRegression` may be off. */
const regressionCheck = (
  id: string,
  regressed: boolean,
  message: string,
  actual: number,
  threshold: number,
  cfg: GateConfig,
): GateCheck =>
  regressed && !cfg.failOnLoadRegression
    ? skip(
        id,
        `${message}. Not failing the gate: failOnLoadRegression is false.`,
        actual,
        threshold,
      )
    : check(id, regressed, message, actual, threshold);

const latencyCheck = (
  key: 'p95' | 'p99',
  s: LoadSummary,
  cfg: GateConfig,
  ctx: GateContext,
): GateCheck => {
  const id = `load.${key}`;
  const current = s.latencyMs[key];
  if (current === undefined) return skip(id, `The report has no ${key} latency.`);
  const runs = baselineOf(ctx, 'load');
  if (!runs) return skip(id, `${key} latency not compared: ${noHistory(ctx)}.`, current);
  const baseline = runs.flatMap((r) => {
    const v = r.summary.latencyMs[key];
    return v === undefined ? [] : [{ value: v }];
  });
  const d = detectRegression({
    baseline,
    current: { value: current },
    direction: 'smaller',
    thresholdPct: cfg.regressionThresholdPct,
    minBaseline: ctx.minBaselineRuns,
  });
  if (d.status === 'insufficient')
    return skip(
      id,
      `${key} latency ${num(current)} ms: ${plural(d.have, 'earlier run')} with a ${key} ${where(ctx)}, a baseline needs ${d.need}.`,
      round4(current),
    );
  if (d.status === 'incomparable')
    return skip(id, `${key} latency not compared: ${d.reason}.`, round4(current));
  const verb = ` ${verdict(d.status)}`;
  const limit =
    d.noisePct > cfg.regressionThresholdPct
      ? `limit ${pct1(d.limitPct)}% from the baseline's run-to-run noise`
      : `limit ${pct1(d.limitPct)}%`;
  return regressionCheck(
    id,
    d.status === 'regressed',
    `${key} latency${verb}: ${num(current)} ms vs baseline ${num(d.baseline)} ms ${where(ctx)} (${signedPct(d.changePct)}; ${limit}; mean of ${runsUsed(d.runs, d.outliers)})`,
    round4(current),
    round4(d.baseline),
    cfg,
  );
};

const pct = (rate: number): string => `${num(rate * 100)}%`;

const errorRateCheck = (s: LoadSummary, cfg: GateConfig, ctx: GateContext): GateCheck => {
  const id = 'load.errorRate';
  const runs = baselineOf(ctx, 'load');
  if (!runs) return skip(id, `Error rate not compared: ${noHistory(ctx)}.`, s.errorRate);
  const d = detectRateRegression({
    baseline: runs.map((r) => r.summary.errorRate),
    current: s.errorRate,
    minBaseline: ctx.minBaselineRuns,
  });
  if (d.status === 'insufficient')
    return skip(
      id,
      `Error rate ${pct(s.errorRate)}: ${plural(d.have, 'earlier run')} ${where(ctx)}, a baseline needs ${d.need}.`,
      round4(s.errorRate),
    );
  const verb = ` ${verdict(d.status)}`;
  const change = `${d.changePoints >= 0 ? '+' : '−'}${plural(Number(pct1(Math.abs(d.changePoints))), 'point')}`;
  return regressionCheck(
    id,
    d.status === 'regressed',
    `Error rate${verb}: ${pct(s.errorRate)} vs baseline ${pct(d.baseline)} ${where(ctx)} (${change}; limit ${plural(Number(pct1(d.limitPoints)), 'point')}; mean of ${plural(d.runs, 'run')})`,
    round4(s.errorRate),
    round4(d.baseline),
    cfg,
  );
};

/** `format`: the report's (`k6`, `artillery`…), for what a missing threshold list means. */
export const loadChecks = (
  s: LoadSummary,
  cfg: GateConfig,
  ctx: GateContext,
  format?: string,
): GateCheck[] => [
  ...(cfg.failOnLoadThresholds ? thresholdChecks(s, format) : []),
  latencyCheck('p95', s, cfg, ctx),
  latencyCheck('p99', s, cfg, ctx),
  errorRateCheck(s, cfg, ctx),
];
