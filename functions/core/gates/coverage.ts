import type { GateConfig } from '../config';
import type { GateCheck } from '../events';
import { type CoverageSummary, round2 } from '../formats/types';
import { baselineOf, check, type GateContext, noHistory, num, plural, skip, where } from './checks';

/**
 * Coverage checks: the absolute minimum per gated metric, and with `maxCoverageDrop` the drop
 * against the base branch's coverage run of the same suite at the change's merge base (when the
 * CLI sent it and that run is in the baseline), else the latest such run. Without any run the
 * drop check says so rather than comparing with something arbitrary.
 */

const minimumChecks = (summary: CoverageSummary, cfg: GateConfig): GateCheck[] =>
  cfg.coverageMetrics.map((name) => {
    const metric = summary[name];
    const id = `coverage.${name}`;
    if (!metric) return skip(id, `The report has no ${name} coverage.`);
    if (metric.pct === null)
      return skip(
        id,
        `${name} coverage was not measured (${metric.reason ?? 'no data'}): the minimum of ${cfg.minCoverage}% cannot be checked; measure ${name} or remove it from coverageMetrics.`,
        null,
        cfg.minCoverage,
      );
    const failed = metric.pct < cfg.minCoverage;
    return check(
      id,
      failed,
      `${name} coverage ${metric.pct}% ${failed ? 'is below' : 'meets'} the minimum of ${cfg.minCoverage}% (${metric.covered}/${metric.total})`,
      metric.pct,
      cfg.minCoverage,
    );
  });

const capitalise = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}`;

const points = (n: number): string => plural(Number(num(n)), 'point');

type CoverageRun = NonNullable<ReturnType<typeof baselineOf<'coverage'>>>[number];

/**
 * The run to compare with: the one at the merge base when the baseline holds it (a change
 * branched before the base branch raised coverage is not blamed for the rise), else the latest.
 * `label` names it for messages.
 */
const baseRunOf = (
  runs: readonly CoverageRun[],
  ctx: GateContext,
): { run: CoverageRun | undefined; label: string } => {
  const mergeBase = ctx.mergeBase;
  const atBase = mergeBase && runs.find((r) => r.commit === mergeBase);
  if (mergeBase && atBase)
    return {
      run: atBase,
      label: `the coverage at the merge base ${mergeBase.slice(0, 7)} ${where(ctx)} (run ${atBase.runId})`,
    };
  const run = runs[0];
  const noBase = mergeBase ? `; none at the merge base ${mergeBase.slice(0, 7)}` : '';
  return { run, label: `the latest coverage ${where(ctx)} (run ${run?.runId}${noBase})` };
};

/** `threshold` is the lowest pct allowed (base − maxDrop), so `actual < threshold` ⇔ fail. */
const dropChecks = (
  summary: CoverageSummary,
  cfg: GateConfig,
  maxDrop: number,
  ctx: GateContext,
): GateCheck[] => {
  const runs = baselineOf(ctx, 'coverage');
  const { run: base, label } = baseRunOf(runs ?? [], ctx);
  return cfg.coverageMetrics.map((name) => {
    const metric = summary[name];
    const id = `coverage.drop.${name}`;
    if (!runs) return skip(id, `Coverage drop not checked: ${noHistory(ctx)}.`);
    if (!base) return skip(id, `No coverage ${where(ctx)} yet: nothing to compare.`);
    const before = base.summary[name];
    if (!metric) return skip(id, `The report has no ${name} coverage.`);
    if (!before) return skip(id, `${capitalise(label)} has no ${name}.`);
    if (metric.pct === null)
      return skip(id, `${name} coverage was not measured (${metric.reason ?? 'no data'}).`);
    if (before.pct === null)
      return skip(id, `${name} coverage was not measured in ${label}: nothing to compare.`);
    const drop = round2(before.pct - metric.pct);
    const failed = drop > maxDrop;
    const change =
      drop > 0 ? `dropped ${points(drop)}` : drop < 0 ? `rose ${points(-drop)}` : 'is unchanged';
    return check(
      id,
      failed,
      `${name} coverage ${metric.pct}% ${change} against ${before.pct}% in ${label}, ${failed ? 'more than' : 'within'} the allowed drop of ${points(maxDrop)}`,
      metric.pct,
      round2(before.pct - maxDrop),
    );
  });
};

export const coverageChecks = (
  summary: CoverageSummary,
  cfg: GateConfig,
  ctx: GateContext,
): GateCheck[] => {
  const checks = minimumChecks(summary, cfg);
  if (cfg.maxCoverageDrop !== undefined)
    checks.push(...dropChecks(summary, cfg, cfg.maxCoverageDrop, ctx));
  return checks;
};
