import { Duration, Stack } from 'aws-cdk-lib';
import type { IHttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AlarmState,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  Stats,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import { METRICS, SERVICE_NAME } from '../functions/core/metrics/catalog';
import {
  configuredProjects,
  type MonitoredFunction,
  probeDimensions,
  probeProject,
  projectDimensions,
  vigilMetric,
} from './monitoring';

export interface KpiDashboardProps {
  readonly config: VigilConfig;
  /** Used in the header. */
  readonly stage: string;
  /** Alarms of the open-alerts widget (usually `Monitoring.alarms`). */
  readonly alarms: readonly IAlarm[];
  /** Functions whose errors the pipeline-health row shows. */
  readonly functions: readonly MonitoredFunction[];
  readonly deadLetterQueues: readonly IQueue[];
  /** @default - no API widgets */
  readonly apiStage?: IHttpStage;
  /**
   * Period of the CI KPI graphs (reports arrive a few times a day, not every minute).
   * @default 60
   */
  readonly kpiPeriodMinutes?: number;
  /** @default SERVICE_NAME */
  readonly serviceName?: string;
}

const WIDTH = 24;
const ONE_MINUTE = Duration.minutes(1);

/**
 * One CloudWatch dashboard per stage (generated name, so stages deploy side by side): CI
 * KPIs per project, probe availability and latency per probe, the alarms in ALARM, and the
 * pipeline's own health. Metric names and dimensions come from the core catalog, exactly as
 * the metrics handler emits them (including Powertools' `service` dimension).
 */
export class KpiDashboard extends Construct {
  readonly dashboard: Dashboard;
  /** Console URL of the dashboard (region and name are deploy-time tokens). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: KpiDashboardProps) {
    super(scope, id);
    const { config } = props;
    const serviceName = props.serviceName ?? SERVICE_NAME;
    const kpiPeriod = Duration.minutes(props.kpiPeriodMinutes ?? 60);
    const projects = configuredProjects(config);

    const perProject = (
      metric: (typeof METRICS)[keyof typeof METRICS],
      statistic: string,
      label = '',
    ): IMetric[] =>
      projects.map((project) =>
        vigilMetric(metric, projectDimensions(project, serviceName), {
          period: kpiPeriod,
          statistic,
          label: `${project}${label}`,
        }),
      );
    const kpiGraph = (title: string, left: IMetric[], width = 8): GraphWidget =>
      new GraphWidget({ title, left, width, height: 6 });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(7),
    });

    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Vigil ${props.stage}\nCI results, synthetic probes and the pipeline's own health.`,
        width: WIDTH,
        height: 2,
      }),
    );

    // --- open alerts ---------------------------------------------------------------------
    this.dashboard.addWidgets(
      new AlarmStatusWidget({
        title: 'Open alerts (alarms in ALARM)',
        alarms: [...props.alarms],
        states: [AlarmState.ALARM],
        width: 12,
        height: 4,
      }),
      new AlarmStatusWidget({
        title: 'Pipeline alarms',
        alarms: [...props.alarms],
        width: 12,
        height: 4,
      }),
    );

    // --- CI KPIs -------------------------------------------------------------------------
    this.dashboard.addWidgets(
      kpiGraph('Test pass rate (%)', perProject(METRICS.testPassRate, Stats.AVERAGE)),
      kpiGraph('Failed tests', perProject(METRICS.testsFailed, Stats.SUM)),
      // Reported: tests the report itself marks flaky (passed on a retry), summed per period.
      // Known: tests the history finds flaky, a gauge per run (its latest value, Maximum).
      kpiGraph('Flaky tests', [
        ...perProject(METRICS.testsFlaky, Stats.SUM, ' reported'),
        ...perProject(METRICS.flakyTests, Stats.MAXIMUM, ' known'),
      ]),
    );
    this.dashboard.addWidgets(
      kpiGraph('Coverage (%)', [
        ...perProject(METRICS.coverageLines, Stats.AVERAGE, ' lines'),
        ...perProject(METRICS.coverageBranches, Stats.AVERAGE, ' branches'),
        ...perProject(METRICS.coverageFunctions, Stats.AVERAGE, ' functions'),
      ]),
      kpiGraph('Suite duration (ms)', [
        ...perProject(METRICS.suiteDuration, Stats.p(50), ' p50'),
        ...perProject(METRICS.suiteDuration, Stats.MAXIMUM, ' max'),
      ]),
      kpiGraph('Gate failures', perProject(METRICS.gateFailures, Stats.SUM)),
    );

    // --- probes --------------------------------------------------------------------------
    if (config.probes.length > 0) {
      const perProbe = (
        metric: (typeof METRICS)[keyof typeof METRICS],
        statistic: string,
        label = '',
      ): IMetric[] =>
        config.probes.map((probe) =>
          vigilMetric(
            metric,
            probeDimensions(probeProject(config, probe), probe.name, serviceName),
            { period: ONE_MINUTE, statistic, label: `${probe.name}${label}` },
          ),
        );
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Probe availability (1 = up)',
          left: perProbe(METRICS.probeAvailability, Stats.AVERAGE),
          leftYAxis: { min: 0, max: 1 },
          width: 12,
          height: 6,
        }),
        new GraphWidget({
          title: 'Probe latency p50 / p99 (ms)',
          left: [
            ...perProbe(METRICS.probeLatency, Stats.p(50), ' p50'),
            ...perProbe(METRICS.probeLatency, Stats.p(99), ' p99'),
          ],
          width: 12,
          height: 6,
        }),
      );
    }

    // --- pipeline health -----------------------------------------------------------------
    const health: GraphWidget[] = [
      new GraphWidget({
        title: 'Function errors',
        left: props.functions.map((f) =>
          f.function.metricErrors({ period: ONE_MINUTE, statistic: Stats.SUM, label: f.name }),
        ),
        width: 8,
        height: 6,
      }),
      new GraphWidget({
        title: 'Dead-letter queue depth',
        left: props.deadLetterQueues.map((q) =>
          q.metricApproximateNumberOfMessagesVisible({
            period: ONE_MINUTE,
            statistic: Stats.MAXIMUM,
            label: q.node.scopes
              .slice(1)
              .map((s) => s.node.id)
              .join('/'),
          }),
        ),
        width: 8,
        height: 6,
      }),
    ];
    if (props.apiStage) {
      health.push(
        new GraphWidget({
          title: 'Ingest API 5xx / p99 latency',
          left: [
            props.apiStage.metricServerError({
              period: ONE_MINUTE,
              statistic: Stats.SUM,
              label: '5xx',
            }),
          ],
          right: [
            props.apiStage.metricLatency({
              period: ONE_MINUTE,
              statistic: Stats.p(99),
              label: 'Latency p99 (ms)',
            }),
          ],
          width: 8,
          height: 6,
        }),
      );
    }
    this.dashboard.addWidgets(...health);

    const region = Stack.of(this).region;
    this.url =
      `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}` +
      `#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
