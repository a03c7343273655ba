import type { GateConfig } from '../config';
import type { Gate, GateCheck } from '../events';
import type { ParsedReport } from '../formats/types';
import { benchmarkChecks } from './benchmarks';
import { DEFAULT_CONTEXT, type GateContext } from './checks';
import { coverageChecks } from './coverage';
import { loadChecks } from './load';
import { securityChecks } from './security';
import { testChecks } from './tests';

export type { GateContext } from './checks';

/**
 * Built-in gate rules. A gate is the CI-facing verdict: `fail` when any check fails,
 * `pass` when at least one check passed and none failed, `none` when nothing applied.
 * `ctx` carries what history gives (baseline runs on the base branch, quarantine, now);
 * without it the history-based checks skip and say why.
 */

export const gateStatus = (checks: GateCheck[]): Gate['status'] => {
  if (checks.some((c) => c.status === 'fail')) return 'fail';
  return checks.some((c) => c.status === 'pass') ? 'pass' : 'none';
};

export const evaluateGate = (
  report: ParsedReport,
  cfg: GateConfig,
  context: Partial<GateContext> = {},
): Gate => {
  const ctx: GateContext = { ...DEFAULT_CONTEXT, ...context };
  let checks: GateCheck[];
  switch (report.kind) {
    case 'tests':
      checks = testChecks(report, cfg, ctx);
      break;
    case 'coverage':
      checks = coverageChecks(report.summary, cfg, ctx);
      break;
    case 'load':
      checks = loadChecks(report.summary, cfg, ctx, report.format);
      break;
    case 'benchmark':
      checks = benchmarkChecks(report.summary, cfg, ctx);
      break;
    case 'security':
      checks = securityChecks(report, cfg, ctx);
      break;
  }
  return { status: gateStatus(checks), checks };
};
