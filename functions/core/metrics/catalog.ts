import type { VigilConfig } from '../config';
import { ownEntry } from '../config-access';
import { DETAIL_TYPES, SOURCES } from '../event-names';
import type { KnownEvent } from '../events';

/** CloudWatch namespace of Vigil's own metrics (EMF from the metrics handler). */
export const METRICS_NAMESPACE = 'Vigil';

/** `POWERTOOLS_SERVICE_NAME`: one service for every function, as Powertools intends. */
export const SERVICE_NAME = 'vigil';

/**
 * The one list of KPI metric names, units and dimensions. The metrics handler emits
 * them (EMF), CDK alarms and dashboards read them, the local metric store serves them.
 */
export const METRICS = {
  testsTotal: { name: 'TestsTotal', unit: 'Count' },
  testsFailed: { name: 'TestsFailed', unit: 'Count' },
  testsSkipped: { name: 'TestsSkipped', unit: 'Count' },
  testsFlaky: { name: 'TestsFlaky', unit: 'Count' },
  testPassRate: { name: 'TestPassRate', unit: 'Percent' },
  suiteDuration: { name: 'SuiteDuration', unit: 'Milliseconds' },
  testRuns: { name: 'TestRuns', unit: 'Count' },
  gateFailures: { name: 'GateFailures', unit: 'Count' },
  coverageLines: { name: 'CoverageLines', unit: 'Percent' },
  coverageBranches: { name: 'CoverageBranches', unit: 'Percent' },
  coverageFunctions: { name: 'CoverageFunctions', unit: 'Percent' },
  coverageStatements: { name: 'CoverageStatements', unit: 'Percent' },
  loadRequests: { name: 'LoadRequests', unit: 'Count' },
  loadErrorRate: { name: 'LoadErrorRate', unit: 'Percent' },
  loadLatencyP95: { name: 'LoadLatencyP95', unit: 'Milliseconds' },
  loadLatencyP99: { name: 'LoadLatencyP99', unit: 'Milliseconds' },
  benchmarkValue: { name: 'BenchmarkValue', unit: 'None' },
  /** Findings of a security report: per project and severity, and per project and tool. */
  securityFindings: { name: 'SecurityFindings', unit: 'Count' },
  /** Findings not in the base run of their tool, per project. */
  securityNewFindings: { name: 'SecurityNewFindings', unit: 'Count' },
  /** Tests of a run that the history currently considers flaky (history handler). */
  flakyTests: { name: 'FlakyTests', unit: 'Count' },
  /** 1 when a probe sample was up, 0 when down (average = availability). High resolution. */
  probeAvailability: { name: 'ProbeAvailability', unit: 'None' },
  probeLatency: { name: 'ProbeLatency', unit: 'Milliseconds' },
  probeTlsDaysRemaining: { name: 'ProbeTlsDaysRemaining', unit: 'None' },
  /** 1 per heartbeat result that was good (a ping), 0 per bad one (missed, failed, overrun). */
  heartbeatUp: { name: 'HeartbeatUp', unit: 'None' },
} as const;

export type MetricUnitName = (typeof METRICS)[keyof typeof METRICS]['unit'];

/**
 * The pipeline's own health metrics (not the teams' KPIs): emitted by the handlers themselves,
 * each with only the listed dimensions, all of them bounded (formats, outcomes, error codes,
 * notification kinds and channel types are closed sets; never projects, runs or URLs).
 */
export const PIPELINE_METRICS = {
  /** One per report ingested. Format: a FormatId; Outcome: `accepted` or `duplicate`. */
  reportsIngested: { name: 'ReportsIngested', unit: 'Count', dimensions: ['Format', 'Outcome'] },
  /** One per request the ingest API refused (4xx). Code: the VigilError code. */
  inputsRejected: { name: 'InputsRejected', unit: 'Count', dimensions: ['Code'] },
  /** One per PutEvents batch retry. */
  publishRetries: { name: 'PublishRetries', unit: 'Count', dimensions: [] },
  /** Probe results produced by one scheduled run. */
  probeRuns: { name: 'ProbeRuns', unit: 'Count', dimensions: [] },
  /** One per alert notification handed to the channels. Kind: the notification kind. */
  alertsSent: { name: 'AlertsSent', unit: 'Count', dimensions: ['Kind'] },
  /** One per channel delivery that failed after its retries. Channel: the channel type. */
  deliveryFailures: { name: 'DeliveryFailures', unit: 'Count', dimensions: ['Channel'] },
} as const satisfies Record<
  string,
  { name: string; unit: MetricUnitName; dimensions: readonly string[] }
>;

export type PipelineMetric = (typeof PIPELINE_METRICS)[keyof typeof PIPELINE_METRICS];

export const DIMENSIONS = {
  project: 'Project',
  suite: 'Suite',
  benchmark: 'Benchmark',
  probe: 'Probe',
  heartbeat: 'Heartbeat',
  severity: 'Severity',
  tool: 'Tool',
} as const;

/** At most this many tools of one security report become metrics (dimension cardinality bound). */
export const MAX_SECURITY_TOOL_METRICS = 5;

/** At most this many benchmarks of one report become metrics (dimension cardinality bound). */
export const MAX_BENCHMARK_METRICS = 20;

export interface Datum {
  name: string;
  unit: MetricUnitName;
  value: number;
  /** 1-second storage resolution, for alarms that must fire within seconds. */
  highResolution?: boolean;
}

/** A group of datapoints that share one set of dimensions. */
export interface DatumGroup {
  /** Each entry is one dimension set the data is published under. */
  dimensionSets: Record<string, string>[];
  data: Datum[];
}

const d = (metric: { name: string; unit: MetricUnitName }, value: number): Datum => ({
  ...metric,
  value,
});

/** Which metrics an event produces, and under which bounded dimensions. */
export const datapointsFor = (event: KnownEvent, config: VigilConfig): DatumGroup[] => {
  if (
    event.source === SOURCES.alert ||
    event.source === SOURCES.history ||
    event.source === SOURCES.alertmanager
  )
    return [];
  if (event.source === SOURCES.probe) {
    const { project, probe } = event.detail.metadata;
    const data: Datum[] = [
      {
        ...METRICS.probeAvailability,
        value: event.detail.status === 'up' ? 1 : 0,
        highResolution: true,
      },
      { ...METRICS.probeLatency, value: event.detail.latencyMs, highResolution: true },
    ];
    if (event.detail.tls)
      data.push(d(METRICS.probeTlsDaysRemaining, event.detail.tls.daysRemaining));
    return [
      { dimensionSets: [{ [DIMENSIONS.project]: project, [DIMENSIONS.probe]: probe }], data },
    ];
  }
  if (event.source === SOURCES.heartbeat) {
    const { project, heartbeat } = event.detail.metadata;
    return [
      {
        dimensionSets: [{ [DIMENSIONS.project]: project, [DIMENSIONS.heartbeat]: heartbeat }],
        data: [d(METRICS.heartbeatUp, event.detail.status === 'up' ? 1 : 0)],
      },
    ];
  }
  const { project, suite } = event.detail.metadata;
  const dimensionSets: Record<string, string>[] = [{ [DIMENSIONS.project]: project }];
  if (suite && ownEntry(config.projects, project)?.metricSuites.includes(suite))
    dimensionSets.push({ [DIMENSIONS.project]: project, [DIMENSIONS.suite]: suite });
  const gateFailed = d(METRICS.gateFailures, event.detail.gate.status === 'fail' ? 1 : 0);

  switch (event.detailType) {
    case DETAIL_TYPES.testRun: {
      const s = event.detail.summary;
      const ran = s.passed + s.failed;
      const data = [
        d(METRICS.testRuns, 1),
        d(METRICS.testsTotal, s.total),
        d(METRICS.testsFailed, s.failed),
        d(METRICS.testsSkipped, s.skipped),
        d(METRICS.testsFlaky, s.flaky),
        d(METRICS.suiteDuration, s.durationMs),
        gateFailed,
      ];
      if (ran > 0) data.push(d(METRICS.testPassRate, Math.round((s.passed / ran) * 10000) / 100));
      return [{ dimensionSets, data }];
    }
    case DETAIL_TYPES.coverage: {
      const s = event.detail.summary;
      // A metric the tool did not measure (pct null) emits no datum, never a number.
      const data: Datum[] = [];
      const measured = (metric: Parameters<typeof d>[0], m?: { pct: number | null }) => {
        if (m && m.pct !== null) data.push(d(metric, m.pct));
      };
      measured(METRICS.coverageLines, s.lines);
      measured(METRICS.coverageBranches, s.branches);
      measured(METRICS.coverageFunctions, s.functions);
      data.push(gateFailed);
      measured(METRICS.coverageStatements, s.statements);
      return [{ dimensionSets, data }];
    }
    case DETAIL_TYPES.load: {
      const s = event.detail.summary;
      const data = [
        d(METRICS.loadRequests, s.requests),
        d(METRICS.loadErrorRate, Math.round(s.errorRate * 10000) / 100),
        gateFailed,
      ];
      if (s.latencyMs.p95 !== undefined) data.push(d(METRICS.loadLatencyP95, s.latencyMs.p95));
      if (s.latencyMs.p99 !== undefined) data.push(d(METRICS.loadLatencyP99, s.latencyMs.p99));
      return [{ dimensionSets, data }];
    }
    case DETAIL_TYPES.benchmark: {
      const groups: DatumGroup[] = [{ dimensionSets, data: [gateFailed] }];
      for (const b of event.detail.summary.benchmarks.slice(0, MAX_BENCHMARK_METRICS)) {
        groups.push({
          dimensionSets: [
            { [DIMENSIONS.project]: project, [DIMENSIONS.benchmark]: b.name.slice(0, 250) },
          ],
          data: [d(METRICS.benchmarkValue, b.value)],
        });
      }
      return groups;
    }
    case DETAIL_TYPES.security: {
      const s = event.detail.summary;
      const groups: DatumGroup[] = [
        { dimensionSets, data: [gateFailed, d(METRICS.securityNewFindings, s.new)] },
      ];
      for (const [severity, n] of Object.entries(s.bySeverity))
        groups.push({
          dimensionSets: [{ [DIMENSIONS.project]: project, [DIMENSIONS.severity]: severity }],
          data: [d(METRICS.securityFindings, n)],
        });
      for (const t of s.tools.slice(0, MAX_SECURITY_TOOL_METRICS))
        groups.push({
          dimensionSets: [
            { [DIMENSIONS.project]: project, [DIMENSIONS.tool]: t.name.slice(0, 250) },
          ],
          data: [d(METRICS.securityFindings, t.findings)],
        });
      return groups;
    }
  }
};
