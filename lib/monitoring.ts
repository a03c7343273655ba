import { Duration } from 'aws-cdk-lib';
import type { IHttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Metric,
  type MetricOptions,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import {
  DIMENSIONS,
  METRICS,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from '../functions/core/metrics/catalog';

// --- metric factories (shared with the dashboard) ---------------------------------------

/** Powertools' default dimension: every EMF document of Vigil carries `service`. */
export const SERVICE_DIMENSION = 'service';

type CatalogMetric = (typeof METRICS)[keyof typeof METRICS];

/**
 * Dimensions of the CI KPIs exactly as the metrics handler emits them (EMF dimension set
 * `["service", "Project"]`; see functions/core/metrics/catalog.ts `datapointsFor`).
 */
export const projectDimensions = (
  project: string,
  serviceName: string = SERVICE_NAME,
): Record<string, string> => ({
  [SERVICE_DIMENSION]: serviceName,
  [DIMENSIONS.project]: project,
});

/** Dimensions of the probe metrics as emitted: `["service", "Project", "Probe"]`. */
export const probeDimensions = (
  project: string,
  probe: string,
  serviceName: string = SERVICE_NAME,
): Record<string, string> => ({
  [SERVICE_DIMENSION]: serviceName,
  [DIMENSIONS.project]: project,
  [DIMENSIONS.probe]: probe,
});

/** A Vigil metric from the catalog (namespace `Vigil`) with the given dimensions. */
export const vigilMetric = (
  metric: CatalogMetric,
  dimensionsMap: Record<string, string>,
  options: MetricOptions = {},
): Metric =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: metric.name,
    dimensionsMap,
    ...options,
  });

/** Every project that can receive CI reports: the default `project` and `projects` keys. */
export const configuredProjects = (config: VigilConfig): string[] => [
  ...new Set([config.project, ...Object.keys(config.projects)]),
];

/** The project a probe's metrics are emitted under. */
export const probeProject = (config: VigilConfig, probe: { project?: string | undefined }) =>
  probe.project ?? config.project;

// --- the construct ------------------------------------------------------------------------

export type Severity = 'critical' | 'warning';

export interface MonitoredFunction {
  /** Construct ID prefix of the function's alarms (keep stable: it derives logical IDs). */
  readonly name: string;
  readonly function: IFunction;
  /**
   * Severity of the function's Errors and Throttles alarms.
   * @default 'warning'
   */
  readonly severity?: Severity;
}

export interface MonitoringProps {
  /** Alarm and OK actions of critical alarms. */
  readonly criticalTopic: ITopic;
  /** Alarm and OK actions of warning alarms. */
  readonly warningTopic: ITopic;
  /** Used in alarm descriptions. */
  readonly stage: string;
  readonly config: VigilConfig;
  /** Functions that get an Errors > 0 and a Throttles > 0 alarm. */
  readonly functions: readonly MonitoredFunction[];
  /** Every dead-letter queue of the stack: one depth alarm each. */
  readonly deadLetterQueues: readonly IQueue[];
  /**
   * The ingest API's stage: 5xx and p99 latency alarms.
   * @default - no API alarms
   */
  readonly apiStage?: IHttpStage;
  /**
   * The scheduled probe function: a dead-man alarm on its invocations.
   * @default - no dead-man alarm (the config has no probes)
   */
  readonly probeFunction?: IFunction;
  /**
   * p99 latency of the ingest API above which the latency alarm fires, in milliseconds.
   * @default 5000
   */
  readonly apiLatencyP99ThresholdMs?: number;
  /**
   * A project without any test run for this long raises a warning ("the CI feed went
   * silent"). A multiple of 60 between 60 and 10080 (CloudWatch's 7-day evaluation limit).
   * A per-project value would belong in the config (`projects.<name>.ciReportWindowMinutes`),
   * which this construct does not own yet.
   * @default 1440 (no test run in a day)
   */
  readonly ciSilenceMinutes?: number;
  /**
   * `POWERTOOLS_SERVICE_NAME` of the functions (the `service` dimension of every metric).
   * @default SERVICE_NAME
   */
  readonly serviceName?: string;
}

/** Period of every fast alarm: one standard-resolution datapoint. */
/** Functions of the alerting path: their alarms notify the topics directly as well. */
const ALERT_PATH = new Set(['Alert', 'Notify']);

const ONE_MINUTE = Duration.seconds(60);

/** Construct ID from a construct path below the stack, e.g. `ProcessorsDeadLetterQueue`. */
const idFromPath = (construct: IConstruct): string =>
  construct.node.scopes
    .slice(1)
    .map((scope) => scope.node.id.replace(/[^A-Za-z0-9]/g, ''))
    .join('');

/**
 * Vigil's self-monitoring: CloudWatch alarms on the pipeline itself, each notifying the
 * critical or warning topic on ALARM and on OK (so recoveries are announced as well).
 *
 * Detection time. cdk-monitoring-constructs' defaults (5-minute periods, 3 datapoints) alarm
 * after 15+ minutes; Vigil's must fire within two. Every alarm below, except the CI silence
 * alarms, uses a 60 s period, so `period x evaluationPeriods <= 120 s`: one bad minute (or
 * two missing invocations for the dead-man alarm) is enough. CloudWatch adds its own
 * ingestion delay on top of that (typically under a minute for Lambda and API Gateway).
 *
 * No alarm has a physical name: CloudFormation names them `<stackName>-<logicalId>-<suffix>`,
 * which is what the alerting construct's default-bus rule matches (`<stackName>-` prefix),
 * and two stages can deploy side by side.
 *
 * Not here, on purpose: per-probe availability alarms. Probe failures already alert through
 * the alert function's state machine (failure/recovery thresholds, maintenance windows,
 * dedup and reminders, see functions/core/alerts); a CloudWatch alarm on ProbeAvailability
 * would announce every outage twice. The dashboard shows the metric instead.
 */
export class Monitoring extends Construct {
  /** Every alarm of this construct. */
  readonly alarms: Alarm[] = [];
  /** Errors and Throttles, per function. */
  readonly functionAlarms: Alarm[] = [];
  /** ApproximateNumberOfMessagesVisible > 0, one per dead-letter queue. */
  readonly deadLetterAlarms: Alarm[] = [];
  /** 5xx and p99 latency of the ingest API. */
  readonly apiAlarms: Alarm[] = [];
  /** No probe invocation for two minutes (absent without probes). */
  readonly probeDeadManAlarm?: Alarm;
  /**
   * No test run of a project within `ciSilenceMinutes`: the only alarms whose window is
   * longer than two minutes (see the constructor).
   */
  readonly ciSilenceAlarms: Alarm[] = [];

  private readonly topics: Record<Severity, ITopic>;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topics = { critical: props.criticalTopic, warning: props.warningTopic };
    const { stage } = props;
    const serviceName = props.serviceName ?? SERVICE_NAME;

    // --- functions: Errors > 0, Throttles > 0 (1 of 1 x 60 s: worst case 1 min) -----------
    for (const monitored of props.functions) {
      const severity = monitored.severity ?? 'warning';
      const fn = monitored.function;
      const direct = ALERT_PATH.has(monitored.name);
      this.functionAlarms.push(
        this.addAlarm(`${monitored.name}Errors`, severity, {
          description: `Vigil ${stage}: the ${monitored.name} function failed (Errors > 0 in 1 min)`,
          metric: fn.metricErrors({ period: ONE_MINUTE, statistic: Stats.SUM }),
          threshold: 0,
          direct,
        }),
        this.addAlarm(`${monitored.name}Throttles`, severity, {
          description: `Vigil ${stage}: the ${monitored.name} function was throttled (Throttles > 0 in 1 min)`,
          metric: fn.metricThrottles({ period: ONE_MINUTE, statistic: Stats.SUM }),
          threshold: 0,
          direct,
        }),
      );
    }

    // --- ingest API: 5xx > 0 (critical), p99 latency (warning); worst case 1 min ------------
    // HTTP APIs publish AWS/ApiGateway `5xx` and `Latency` per ApiId and per ApiId + Stage;
    // the stage metrics carry both dimensions (Stage `$default`).
    if (props.apiStage) {
      const thresholdMs = props.apiLatencyP99ThresholdMs ?? 5000;
      this.apiAlarms.push(
        this.addAlarm('IngestApi5xx', 'critical', {
          description: `Vigil ${stage}: the ingest API answered 5xx (> 0 in 1 min)`,
          metric: props.apiStage.metricServerError({ period: ONE_MINUTE, statistic: Stats.SUM }),
          threshold: 0,
        }),
        this.addAlarm('IngestApiLatencyP99', 'warning', {
          description: `Vigil ${stage}: ingest API p99 latency above ${thresholdMs} ms (1 min)`,
          metric: props.apiStage.metricLatency({ period: ONE_MINUTE, statistic: Stats.p(99) }),
          threshold: thresholdMs,
        }),
      );
    }

    // --- dead-letter queues: depth > 0 (critical); worst case 1 min ---------------------
    // A message in a DLQ is a lost metric, alert or notification that needs a redrive within
    // the queue's 14-day retention. Caveat: SQS publishes metrics only for active queues and
    // an idle DLQ "wakes up" with the first message, whose datapoint can arrive late; the
    // failure that put it there (function Errors, above) alarms within a minute regardless.
    for (const queue of props.deadLetterQueues) {
      const name = idFromPath(queue);
      this.deadLetterAlarms.push(
        this.addAlarm(`${name}Depth`, 'critical', {
          description: `Vigil ${stage}: messages in the dead-letter queue ${queue.node.path}`,
          metric: queue.metricApproximateNumberOfMessagesVisible({
            period: ONE_MINUTE,
            statistic: Stats.MAXIMUM,
          }),
          threshold: 0,
          direct: name.includes('Alerting'),
        }),
      );
    }

    // --- probe dead-man: Invocations < 1, 2 of 2 x 60 s, missing = breaching ----------------
    // The schedule invokes once a minute. Two empty minutes in a row (worst case: 2 min
    // after the last invocation) mean the schedule, its role or the function is broken; one
    // empty minute alone can be jitter (two invocations landing in the same minute).
    if (props.probeFunction) {
      this.probeDeadManAlarm = this.addAlarm('ProbeDeadMan', 'critical', {
        description: `Vigil ${stage}: the probe function was not invoked for 2 minutes`,
        metric: props.probeFunction.metricInvocations({
          period: ONE_MINUTE,
          statistic: Stats.SUM,
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: TreatMissingData.BREACHING,
      });
    }

    // --- CI feed silence: TestRuns Sum < 1 over ciSilenceMinutes, missing = breaching -------
    // The two-minute rule is about noticing a bad datapoint; silence can only be noticed once
    // the expected window has passed, so these alarms look at N hourly periods (all must be
    // empty). Worst case: ciSilenceMinutes after the last test run (plus up to one hour,
    // the bucket of that run).
    const silenceMinutes = props.ciSilenceMinutes ?? 1440;
    if (
      !Number.isInteger(silenceMinutes) ||
      silenceMinutes % 60 !== 0 ||
      silenceMinutes < 60 ||
      silenceMinutes > 7 * 24 * 60
    ) {
      throw new Error(
        `ciSilenceMinutes must be a whole number of hours between 60 and 10080, not ${silenceMinutes}.`,
      );
    }
    const hours = silenceMinutes / 60;
    const silenceIds = new Map<string, string>();
    for (const project of configuredProjects(props.config)) {
      const alarmId = `CiSilence${idFromName(project)}`;
      const clash = silenceIds.get(alarmId);
      if (clash !== undefined) {
        throw new Error(
          `Projects '${clash}' and '${project}' map to the same alarm ID ${alarmId}; rename one.`,
        );
      }
      silenceIds.set(alarmId, project);
      this.ciSilenceAlarms.push(
        this.addAlarm(alarmId, 'warning', {
          description: `Vigil ${stage}: no test run of project ${project} in ${hours} h`,
          metric: vigilMetric(METRICS.testRuns, projectDimensions(project, serviceName), {
            period: Duration.hours(1),
            statistic: Stats.SUM,
          }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: hours,
          treatMissingData: TreatMissingData.BREACHING,
        }),
      );
    }
  }

  private addAlarm(
    id: string,
    severity: Severity,
    options: {
      description: string;
      metric: Metric;
      threshold: number;
      comparisonOperator?: ComparisonOperator;
      evaluationPeriods?: number;
      treatMissingData?: TreatMissingData;
      /** Also notify the topic directly (alarms about the alerting path itself). */
      direct?: boolean;
    },
  ): Alarm {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    // The generated alarm name carries the construct ID: "Warning" in it tells the alert
    // function the severity (functions/core/alerts/sources.ts, alarmSeverity).
    const alarm = new Alarm(this, severity === 'warning' ? `${id}Warning` : id, {
      alarmDescription: `[${severity}] ${options.description}`,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
    });
    // Alarm state changes reach the team through the alert function (default-bus rule), in
    // the same format as every other alert. Only alarms about that path itself (the alert and
    // notify functions and their queues) also notify the topic directly, so a broken alert
    // path is still heard; the others would otherwise arrive twice by email.
    if (options.direct) {
      const action = new SnsAction(this.topics[severity]);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms.push(alarm);
    return alarm;
  }
}

/** A construct ID fragment from a project name (letters, digits, `.`, `_`, `-`). */
const idFromName = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('') || 'Unnamed';
