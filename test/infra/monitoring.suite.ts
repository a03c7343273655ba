import { CfnElement, type PolicyValidationPluginReport, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalMetricStore } from '../../functions/adapters/local/metric-store';
import { createLocalMetrics } from '../../functions/adapters/local/metrics';
import { parseConfig, type VigilConfig } from '../../functions/core/config';
import type { BusEvent } from '../../functions/core/events';
import { METRICS, METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/core/metrics/catalog';
import { createMetricsHandler } from '../../functions/metrics/handler';
import { Monitoring } from '../../lib/monitoring';
import { testApp } from '../helpers/cdk-app';
import { repoConfig } from '../helpers/repo-config';
import { nagFindings, type Synthesized, stageConfig, synthesize } from './synth';

interface Dimension {
  Name: string;
  Value: unknown;
}

interface AlarmProps {
  AlarmName?: unknown;
  AlarmDescription?: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Dimension[];
  Period?: number;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  TreatMissingData?: string;
  ComparisonOperator: string;
  Threshold?: number;
  Statistic?: string;
  ExtendedStatistic?: string;
}

interface WithAlarms extends Synthesized {
  alarms: Record<string, AlarmProps>;
}

/** The dev stack for `config` (shared with the other CDK suites) and its alarms by logical ID. */
const synthesizeDev = async (config: VigilConfig): Promise<WithAlarms> => {
  const synthesized = await synthesize('dev', config);
  const alarms: Record<string, AlarmProps> = {};
  for (const [id, r] of Object.entries(synthesized.resources)) {
    if (r.Type === 'AWS::CloudWatch::Alarm') alarms[id] = r.Properties as unknown as AlarmProps;
  }
  return { ...synthesized, alarms };
};

/** One probe, two CI projects besides the default one. */
const withProbes = async (): Promise<VigilConfig> =>
  parseConfig({
    ...(await repoConfig()),
    probes: [
      { name: 'shop-health', url: 'https://shop.example.com/health' },
      { name: 'api-health', project: 'api', url: 'https://api.example.com/health' },
    ],
    projects: { shop: { metricSuites: ['e2e'] }, 'api-gw': {} },
  });

/** As stack.suite.ts's config without probes or heartbeats, so both share that synthesis. */
const withoutProbes = async (): Promise<VigilConfig> => ({
  ...(await stageConfig()),
  probes: [],
  heartbeats: [],
});

let full: WithAlarms;
let fullNag: PolicyValidationPluginReport;
let bare: WithAlarms;
let config: VigilConfig;

beforeAll(async () => {
  config = await withProbes();
  full = await synthesizeDev(config);
  fullNag = full.nag();
  bare = await synthesizeDev(await withoutProbes());
});

const logicalIdOf = (s: WithAlarms, construct: IConstruct): string => {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no L1`);
  return s.stack.getLogicalId(resource);
};

const alarmOf = (s: WithAlarms, construct: IConstruct): AlarmProps => {
  const alarm = s.alarms[logicalIdOf(s, construct)];
  if (!alarm) throw new Error(`${construct.node.path} is not in the template`);
  return alarm;
};

const silenceIds = (s: WithAlarms): Set<string> =>
  new Set(s.stack.monitoring.ciSilenceAlarms.map((a) => logicalIdOf(s, a)));

/**
 * The EMF the metrics handler prints for an event (Powertools, the functions' namespace and
 * service name), as [namespace, metric names, dimension sets with their values].
 */
const emitted = async (
  cfg: VigilConfig,
  event: BusEvent,
): Promise<{ namespace: string; metrics: string[]; dimensionSets: Dimension[][] }[]> => {
  const lines: string[] = [];
  const metrics = createLocalMetrics(new LocalMetricStore(), {
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    echo: (line) => lines.push(line),
  });
  await createMetricsHandler({ config: cfg, metrics })(event);
  return lines.flatMap((line) => {
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string }[];
        }[];
      };
    };
    return doc._aws.CloudWatchMetrics.map((d) => ({
      namespace: d.Namespace,
      metrics: d.Metrics.map((m) => m.Name),
      dimensionSets: d.Dimensions.map((set) =>
        set.map((name) => ({ Name: name, Value: doc[name] })),
      ),
    }));
  });
};

const busEvent = (source: string, detailType: string, detail: unknown): BusEvent => ({
  version: '0',
  id: 'e1',
  source,
  account: '111111111111',
  time: new Date().toISOString(),
  region: 'eu-west-1',
  resources: [],
  'detail-type': detailType,
  detail,
});

const archive = { uri: 'mem://x', bytes: 1, sha256: 'a'.repeat(64) };
const testRun = (project: string): BusEvent =>
  busEvent('vigil.ingest', 'Test Run Reported', {
    metadata: {
      project,
      runId: 'r1',
      correlationId: 'c-123456789',
      format: 'junit',
      ingestedAt: new Date().toISOString(),
      archive,
      normalized: archive,
    },
    summary: { total: 1, passed: 1, failed: 0, skipped: 0, flaky: 0, durationMs: 5 },
    gate: { status: 'pass', checks: [] },
    failedTests: [],
    failedTestsTruncated: false,
    flakyTests: [],
  });
const probeRun = (project: string, probe: string): BusEvent =>
  busEvent('vigil.probe', 'Probe Completed', {
    metadata: {
      project,
      probe,
      correlationId: 'c-123456789',
      checkedAt: new Date().toISOString(),
      location: 'eu-west-1',
    },
    url: 'https://shop.example.com/health',
    method: 'GET',
    status: 'up',
    latencyMs: 12,
    attempt: 1,
    warnings: [],
    severity: 'critical',
    tags: [],
  });

const sortDims = (dims: Dimension[]): Dimension[] =>
  [...dims].sort((a, b) => a.Name.localeCompare(b.Name));

describe('Monitoring alarms', () => {
  it('detects a bad datapoint within 2 minutes (period x evaluation periods <= 120 s) except the CI silence alarms', () => {
    const silence = silenceIds(full);
    const slow = Object.entries(full.alarms)
      .filter(([id]) => !silence.has(id))
      .filter(([, a]) => (a.Period ?? Number.POSITIVE_INFINITY) * a.EvaluationPeriods > 120)
      .map(([id, a]) => `${id}: ${a.Period} s x ${a.EvaluationPeriods}`);
    expect(slow).toEqual([]);
    // Sanity: the rule really ran over every alarm of the stack (alerting's two included).
    expect(Object.keys(full.alarms).length).toBe(full.stack.monitoring.alarms.length + 2);
    for (const [id, a] of Object.entries(full.alarms)) {
      expect(a.DatapointsToAlarm ?? a.EvaluationPeriods, id).toBe(a.EvaluationPeriods);
    }
  });

  it('sets no physical alarm name (CloudFormation generates <stackName>-<logicalId>-<suffix>)', () => {
    const named = Object.entries(full.alarms).filter(([, a]) => a.AlarmName !== undefined);
    expect(named.map(([id]) => id)).toEqual([]);
  });

  it('reaches people through the alert function; only alarms on the alert path notify directly', () => {
    // Every alarm's generated name starts with the stack name, which the default-bus rule
    // forwards to the alert function (ALARM and OK: recoveries are announced); the severity
    // is read from the name.
    const topics = new Set([
      logicalIdOf(full, full.stack.alerting.criticalTopic),
      logicalIdOf(full, full.stack.alerting.warningTopic),
    ]);
    const alertPath = [full.stack.alerting.alert.function, full.stack.alerting.notify.function].map(
      (f) => logicalIdOf(full, f),
    );
    for (const alarm of full.stack.monitoring.alarms) {
      const a = alarmOf(full, alarm);
      expect(a.AlarmName, alarm.node.path).toBeUndefined();
      const onAlertPath =
        alertPath.some((id) => JSON.stringify(a.Dimensions ?? []).includes(id)) ||
        alarm.node.path.includes('Alerting');
      if (!onAlertPath) {
        expect(a.AlarmActions, alarm.node.path).toBeUndefined();
        continue;
      }
      expect(a.AlarmActions, alarm.node.path).toHaveLength(1);
      expect(a.OKActions, alarm.node.path).toEqual(a.AlarmActions);
      const ref = (a.AlarmActions?.[0] as { Ref?: string } | undefined)?.Ref ?? '';
      expect(topics.has(ref), alarm.node.path).toBe(true);
    }
    const warnings = full.stack.monitoring.alarms.filter((al) =>
      alarmOf(full, al).AlarmDescription?.startsWith('[warning]'),
    );
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) expect(w.node.id, w.node.path).toMatch(/Warning$/);
  });

  it('alarms on Errors and Throttles of every function, critical for ingest', () => {
    const warning = logicalIdOf(full, full.stack.alerting.warningTopic);
    const functions = Object.entries(full.resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function',
    );
    const vigilFunctions = functions.filter(([, r]) =>
      JSON.stringify(r.Properties?.Environment ?? {}).includes('VIGIL_CONFIG_JSON'),
    );
    expect(vigilFunctions).toHaveLength(9); // ingest, authorizer, metrics, history, status, probe, alert, notify, web
    const critical = [full.stack.ingest.handler, full.stack.ingest.authorizerFunction].map((f) =>
      logicalIdOf(full, f.function),
    );
    for (const [fnId] of vigilFunctions) {
      for (const metricName of ['Errors', 'Throttles']) {
        const matching = Object.values(full.alarms).filter(
          (a) =>
            a.Namespace === 'AWS/Lambda' &&
            a.MetricName === metricName &&
            JSON.stringify(a.Dimensions) ===
              JSON.stringify([{ Name: 'FunctionName', Value: { Ref: fnId } }]),
        );
        expect(matching, `${metricName} of ${fnId}`).toHaveLength(1);
        const [a] = matching;
        expect(a).toMatchObject({
          Period: 60,
          EvaluationPeriods: 1,
          Statistic: 'Sum',
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
        });
        const severity = critical.includes(fnId) ? '[critical]' : '[warning]';
        expect(a?.AlarmDescription?.startsWith(severity), `${metricName} of ${fnId}`).toBe(true);
        const onAlertPath = [
          full.stack.alerting.alert.function,
          full.stack.alerting.notify.function,
        ]
          .map((f) => logicalIdOf(full, f))
          .includes(fnId);
        expect(a?.AlarmActions).toEqual(onAlertPath ? [{ Ref: warning }] : undefined);
      }
    }
  });

  it('alarms on the ingest API 5xx and p99 latency of the $default stage', () => {
    const apiId = logicalIdOf(full, full.stack.ingest.api);
    const dims = [
      { Name: 'ApiId', Value: { Ref: apiId } },
      { Name: 'Stage', Value: '$default' },
    ];
    const [fiveXx, latency] = full.stack.monitoring.apiAlarms.map((a) => alarmOf(full, a));
    expect(fiveXx).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Statistic: 'Sum',
      Period: 60,
      Threshold: 0,
    });
    expect(sortDims(fiveXx?.Dimensions ?? [])).toEqual(dims);
    expect(latency).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Period: 60,
      Threshold: 5000,
    });
    expect(sortDims(latency?.Dimensions ?? [])).toEqual(dims);
  });

  it('has one depth alarm per dead-letter queue', () => {
    for (const s of [full, bare]) {
      const queues = Object.entries(s.resources)
        .filter(([id, r]) => r.Type === 'AWS::SQS::Queue' && /dead-?letter|dlq/i.test(id))
        .map(([id]) => id);
      // metrics, history, status, alert, notify (+ probe when the config has probes)
      expect(queues.length).toBe(s === full ? 6 : 5);
      for (const queueId of queues) {
        const matching = Object.values(s.alarms).filter(
          (a) =>
            a.Namespace === 'AWS/SQS' &&
            a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
            JSON.stringify(a.Dimensions) ===
              JSON.stringify([
                { Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } },
              ]),
        );
        expect(matching, queueId).toHaveLength(1);
        expect(matching[0]).toMatchObject({
          Period: 60,
          EvaluationPeriods: 1,
          Statistic: 'Maximum',
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        });
      }
      expect(s.stack.monitoring.deadLetterAlarms).toHaveLength(queues.length);
    }
  });

  it('has a probe dead-man alarm: no invocation in 2 of 2 minutes, missing data breaching', () => {
    const deadMan = full.stack.monitoring.probeDeadManAlarm;
    if (!deadMan) throw new Error('no dead-man alarm');
    expect(alarmOf(full, deadMan)).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [
        {
          Name: 'FunctionName',
          Value: { Ref: logicalIdOf(full, full.stack.probes?.handler.function ?? full.stack) },
        },
      ],
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(bare.stack.monitoring.probeDeadManAlarm).toBeUndefined();
  });

  it('creates no per-probe availability alarm (the alert state machine alerts on probes)', () => {
    const probeAlarms = Object.values(full.alarms).filter((a) =>
      ([METRICS.probeAvailability.name, METRICS.probeLatency.name] as string[]).includes(
        a.MetricName ?? '',
      ),
    );
    expect(probeAlarms).toEqual([]);
  });

  it('warns when a project has no test run for a day (24 hourly periods, missing data breaching)', () => {
    const projects = full.stack.monitoring.ciSilenceAlarms.map((alarm) => {
      const a = alarmOf(full, alarm);
      expect(a).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRICS.testRuns.name,
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 24,
        DatapointsToAlarm: 24,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmDescription: expect.stringMatching(/^\[warning\]/),
      });
      return a.Dimensions?.find((d) => d.Name === 'Project')?.Value;
    });
    expect(projects.sort()).toEqual([config.project, 'api-gw', 'shop'].sort());
  });

  it('watches Vigil metrics under exactly the dimensions the metrics handler emits', async () => {
    const vigilAlarms = Object.values(full.alarms).filter((a) => a.Namespace === METRICS_NAMESPACE);
    expect(vigilAlarms.length).toBeGreaterThan(0);
    for (const a of vigilAlarms) {
      const project = a.Dimensions?.find((d) => d.Name === 'Project')?.Value;
      if (typeof project !== 'string') throw new Error('Vigil alarm without a Project dimension');
      const docs = await emitted(config, testRun(project));
      const match = docs.some(
        (doc) =>
          doc.namespace === a.Namespace &&
          doc.metrics.includes(a.MetricName ?? '') &&
          doc.dimensionSets.some(
            (set) => JSON.stringify(sortDims(set)) === JSON.stringify(sortDims(a.Dimensions ?? [])),
          ),
      );
      expect(
        match,
        `${a.MetricName} ${JSON.stringify(a.Dimensions)} vs ${JSON.stringify(docs)}`,
      ).toBe(true);
    }
  });

  it('rejects a CI silence window that is not a whole number of hours within 7 days', () => {
    const stack = new Stack(testApp(), 'Check');
    const make = (ciSilenceMinutes: number) => () =>
      new Monitoring(stack, `M${ciSilenceMinutes}`, {
        criticalTopic: full.stack.alerting.criticalTopic,
        warningTopic: full.stack.alerting.warningTopic,
        stage: 'dev',
        config,
        functions: [],
        deadLetterQueues: [],
        ciSilenceMinutes,
      });
    expect(make(90)).toThrow(/whole number of hours/);
    expect(make(20_000)).toThrow(/whole number of hours/);
  });

  it('passes cdk-nag with no unacknowledged findings', () => {
    expect(nagFindings(fullNag, 'error')).toEqual([]);
    expect(nagFindings(fullNag, 'warning')).toEqual([]);
  });
});

/** The dashboard body as JSON, with CloudFormation tokens replaced by `{{Ref}}` text. */
const dashboardBody = (
  s: WithAlarms,
): { widgets: { type: string; properties: Record<string, unknown> }[] } => {
  const dashboards = Object.values(s.resources).filter(
    (r) => r.Type === 'AWS::CloudWatch::Dashboard',
  );
  expect(dashboards).toHaveLength(1);
  const [dashboard] = dashboards;
  expect(dashboard?.Properties?.DashboardName).toBeUndefined();
  const body = dashboard?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) =>
      typeof part === 'string' ? part : `{{${JSON.stringify(part).replace(/"/g, "'")}}}`,
    )
    .join('');
  return JSON.parse(text) as { widgets: { type: string; properties: Record<string, unknown> }[] };
};

const graphMetrics = (s: WithAlarms): unknown[][] =>
  dashboardBody(s).widgets.flatMap((w) => (w.properties.metrics as unknown[][] | undefined) ?? []);

describe('KPI dashboard', () => {
  it('has the KPI, probe, open-alert and pipeline-health widgets', () => {
    const body = dashboardBody(full);
    const text = JSON.stringify(body);
    for (const metric of [
      METRICS.testPassRate,
      METRICS.testsFailed,
      METRICS.testsFlaky,
      METRICS.flakyTests,
      METRICS.coverageLines,
      METRICS.coverageBranches,
      METRICS.coverageFunctions,
      METRICS.suiteDuration,
      METRICS.gateFailures,
      METRICS.probeAvailability,
      METRICS.probeLatency,
    ]) {
      expect(text, metric.name).toContain(`"${metric.name}"`);
    }
    for (const name of ['Errors', 'ApproximateNumberOfMessagesVisible', '5xx', 'Latency']) {
      expect(text).toContain(`"${name}"`);
    }
    const alarmWidgets = body.widgets.filter((w) => w.type === 'alarm');
    expect(alarmWidgets.map((w) => w.properties.title)).toContain('Open alerts (alarms in ALARM)');
    const open = alarmWidgets.find((w) => w.properties.title === 'Open alerts (alarms in ALARM)');
    expect(open?.properties.states).toEqual(['ALARM']);
    expect(((open?.properties.alarms as unknown[] | undefined) ?? []).length).toBe(
      full.stack.monitoring.alarms.length + 2,
    );
  });

  it('graphs Vigil metrics under exactly the dimensions the metrics handler emits', async () => {
    const vigil = graphMetrics(full).filter((m) => m[0] === METRICS_NAMESPACE);
    expect(vigil.length).toBeGreaterThan(0);
    for (const m of vigil) {
      const name = m[1] as string;
      const dims: Dimension[] = [];
      for (let i = 2; i + 1 < m.length && typeof m[i] === 'string'; i += 2) {
        dims.push({ Name: m[i] as string, Value: m[i + 1] });
      }
      const project = dims.find((d) => d.Name === 'Project')?.Value as string;
      const probe = dims.find((d) => d.Name === 'Probe')?.Value;
      const docs = await emitted(
        config,
        typeof probe === 'string' ? probeRun(project, probe) : testRun(project),
      );
      // Coverage metrics come from another event type with the same dimensions.
      const sameDims = docs.some((doc) =>
        doc.dimensionSets.some(
          (set) => JSON.stringify(sortDims(set)) === JSON.stringify(sortDims(dims)),
        ),
      );
      expect(sameDims, `${name} ${JSON.stringify(dims)}`).toBe(true);
    }
    // Probe metrics: per probe, under the probe's own project.
    const dimsOf = (m: unknown[]): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (let i = 2; i + 1 < m.length && typeof m[i] === 'string'; i += 2) {
        out[m[i] as string] = m[i + 1];
      }
      return out;
    };
    const probeDims = vigil
      .filter((m) => m[1] === METRICS.probeAvailability.name)
      .map((m) => `${dimsOf(m).Project}/${dimsOf(m).Probe}`);
    expect(probeDims.sort()).toEqual([`${config.project}/shop-health`, 'api/api-health'].sort());
  });

  it('leaves out the probe widgets without probes', () => {
    const text = JSON.stringify(dashboardBody(bare));
    expect(text).not.toContain(METRICS.probeAvailability.name);
    expect(text).toContain(METRICS.testPassRate.name);
  });

  it('outputs the console URL of the dashboard', () => {
    const outputs = full.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const url = JSON.stringify(outputs.DashboardUrl?.Value);
    const dashboardId = Object.entries(full.resources).find(
      ([, r]) => r.Type === 'AWS::CloudWatch::Dashboard',
    )?.[0];
    expect(url).toContain('.console.aws.amazon.com/cloudwatch/home?region=');
    expect(url).toContain('#dashboards:name=');
    expect(url).toContain(`{"Ref":"${dashboardId}"}`);
    expect(url).toContain('{"Ref":"AWS::Region"}');
  });
});
