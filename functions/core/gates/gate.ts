import type { GateConfig } from '../config';
import type { Gate, GateCheck } from '../events';
import type { CoverageSummary, ParsedReport } from '../formats/types';

/**
 * Built-in gate rules. A gate is the CI-facing verdict: `fail` when any check fails,
 * `pass` when at least one check passed and none failed, `none` when nothing applied.
 */

const check = (
  id: string,
  failed: boolean,
  message: string,
  actual: number | null,
  threshold: number | null,
): GateCheck => ({ id, status: failed ? 'fail' : 'pass', message, actual, threshold });

const skip = (id: string, message: string): GateCheck => ({
  id,
  status: 'skip',
  message,
  actual: null,
  threshold: null,
});

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export const gateStatus = (checks: GateCheck[]): Gate['status'] => {
  if (checks.some((c) => c.status === 'fail')) return 'fail';
  return checks.some((c) => c.status === 'pass') ? 'pass' : 'none';
};

const coverageChecks = (summary: CoverageSummary, cfg: GateConfig): GateCheck[] =>
  cfg.coverageMetrics.map((name) => {
    const metric = summary[name];
    const id = `coverage.${name}`;
    if (!metric) return skip(id, `The report has no ${name} coverage.`);
    const failed = metric.pct < cfg.minCoverage;
    return check(
      id,
      failed,
      `${name} coverage ${metric.pct}% ${failed ? 'is below' : 'meets'} the minimum of ${cfg.minCoverage}% (${metric.covered}/${metric.total})`,
      metric.pct,
      cfg.minCoverage,
    );
  });

export const evaluateGate = (report: ParsedReport, cfg: GateConfig): Gate => {
  const checks: GateCheck[] = [];
  switch (report.kind) {
    case 'tests': {
      const s = report.summary;
      if (cfg.failOnEmptyTestRun)
        checks.push(
          check(
            'tests.present',
            s.total === 0,
            s.total === 0 ? 'The report contains no tests.' : `${plural(s.total, 'test')} reported`,
            s.total,
            1,
          ),
        );
      if (cfg.failOnFailedTests)
        checks.push(
          check(
            'tests.failed',
            s.failed > 0,
            s.failed > 0 ? `${s.failed} of ${plural(s.total, 'test')} failed` : 'No failed tests',
            s.failed,
            0,
          ),
        );
      const seconds = Math.round(s.durationMs) / 1000;
      const over = seconds > cfg.maxDurationSeconds;
      checks.push(
        check(
          'tests.duration',
          over,
          `Suite took ${seconds}s, ${over ? 'over' : 'within'} the budget of ${cfg.maxDurationSeconds}s`,
          seconds,
          cfg.maxDurationSeconds,
        ),
      );
      break;
    }
    case 'coverage':
      checks.push(...coverageChecks(report.summary, cfg));
      break;
    case 'load': {
      const { thresholds } = report.summary;
      if (!cfg.failOnLoadThresholds) break;
      if (thresholds.length === 0) {
        checks.push(skip('load.thresholds', 'The load test defines no thresholds.'));
        break;
      }
      const failed = thresholds.filter((t) => !t.passed);
      checks.push(
        check(
          'load.thresholds',
          failed.length > 0,
          failed.length > 0
            ? `${failed.length} of ${plural(thresholds.length, 'threshold')} failed: ${failed.map((t) => t.name).join(', ')}`
            : `All ${plural(thresholds.length, 'threshold')} passed`,
          failed.length,
          0,
        ),
      );
      break;
    }
    case 'benchmark':
      checks.push(
        skip(
          'benchmark.regression',
          'Benchmark regression checks need run history, which is not enabled yet.',
        ),
      );
      break;
  }
  return { status: gateStatus(checks), checks };
};
