import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import { dashboardUrlFor } from '../functions/core/config-access';
import { Alerting } from './alerting';
import { type Stage, stageSettings } from './config';
import { KpiDashboard } from './dashboard';
import { VigilEventBus } from './event-bus';
import { Heartbeats } from './heartbeats';
import { History } from './history';
import { IngestApi } from './ingest-api';
import { type MonitoredFunction, Monitoring } from './monitoring';
import { Probes } from './probes';
import { Processors } from './processors';
import { StatusHistory } from './status';
import { Web } from './web';

/** Tag with the stage name on every resource that takes tags. */
const STAGE_TAG = 'vigil:stage';

export interface VigilStackProps extends StackProps {
  readonly stage: Stage;
  /** The validated Vigil config (see `loadVigilConfig`). */
  readonly config: VigilConfig;
  /**
   * A project without a test run for this long raises a warning (see `Monitoring`).
   * @default 1440
   */
  readonly ciSilenceMinutes?: number;
}

/**
 * One Vigil stage: event bus (with archive), ingest API, the bus processors, run and test
 * history (table and function), the probe schedule (when the config has probes), alerting
 * (state, SNS topics, email and Slack), self-monitoring alarms and the KPI dashboard.
 * No physical names are set, so every stage deploys side by side in one account.
 *
 * Construct IDs below are part of the deployed state (they derive the logical IDs of the
 * bucket, table, bus and secret); renaming one replaces the resource.
 */
export class VigilStack extends Stack {
  readonly events: VigilEventBus;
  readonly ingest: IngestApi;
  readonly processors: Processors;
  readonly history: History;
  readonly status: StatusHistory;
  /** Absent when the config has no probes. */
  readonly probes?: Probes;
  /** Absent when the config has no heartbeats. */
  readonly heartbeats?: Heartbeats;
  /** Browser checks' own function and schedule; absent when the config has none. */
  readonly browserChecks?: Probes;
  readonly alerting: Alerting;
  readonly monitoring: Monitoring;
  readonly dashboard: KpiDashboard;
  /** The dashboard page, the status page and badges, on the ingest API's origin. */
  readonly web: Web;

  constructor(scope: Construct, id: string, props: VigilStackProps) {
    const { stage, config, ciSilenceMinutes, ...stackProps } = props;
    super(scope, id, {
      description: `Vigil (${stage}): CI results ingest and monitoring`,
      terminationProtection: stage === 'prod',
      ...stackProps,
    });
    const settings = stageSettings(config, stage);
    Tags.of(this).add(STAGE_TAG, stage);

    this.events = new VigilEventBus(this, 'Events', {
      archiveRetentionDays: settings.archiveRetentionDays,
    });
    this.ingest = new IngestApi(this, 'Ingest', {
      eventBus: this.events.bus,
      settings,
      config,
    });
    this.processors = new Processors(this, 'Processors', {
      eventBus: this.events.bus,
      settings,
      config,
    });
    this.history = new History(this, 'History', {
      eventBus: this.events.bus,
      archiveBucket: this.ingest.archiveBucket,
      settings,
      config,
    });
    // Gate baselines and the history API: read-only.
    this.history.grantQuery(this.ingest.handler);
    // The dashboard's data (probe history, incidents, run catalog), read by the same API.
    this.status = new StatusHistory(this, 'Status', {
      eventBus: this.events.bus,
      archiveBucket: this.ingest.archiveBucket,
      settings,
      config,
    });
    this.status.grantRead(this.ingest.handler);
    this.web = new Web(this, 'Web', {
      api: this.ingest.api,
      tokensSecret: this.ingest.tokensSecret,
      readTokensSecret: this.ingest.readTokensSecret,
      settings,
      config,
    });
    this.status.grantRead(this.web.handler);
    if (Probes.needed(config)) {
      this.probes = new Probes(this, 'Probes', {
        eventBus: this.events.bus,
        settings,
        config,
      });
    }
    if (Heartbeats.needed(config)) {
      this.heartbeats = new Heartbeats(this, 'Heartbeats', {
        eventBus: this.events.bus,
        ingest: this.ingest,
        settings,
        config,
      });
    }
    if (Probes.needed(config, 'browser')) {
      this.browserChecks = new Probes(this, 'BrowserChecks', {
        eventBus: this.events.bus,
        settings,
        config,
        kind: 'browser',
        archiveBucket: this.ingest.archiveBucket,
      });
    }
    this.alerting = new Alerting(this, 'Alerting', {
      eventBus: this.events.bus,
      settings,
      config,
      // The stage's own address when the config names one (a custom domain), else the API's.
      dashboardUrl: dashboardUrlFor(config, stage) ?? this.ingest.url,
    });

    // --- self-monitoring and the KPI dashboard --------------------------------------------
    const functions: MonitoredFunction[] = [
      { name: 'Ingest', function: this.ingest.handler.function, severity: 'critical' },
      // Every authenticated request passes through it: its failure is the ingest's.
      {
        name: 'Authorizer',
        function: this.ingest.authorizerFunction.function,
        severity: 'critical',
      },
      { name: 'Metrics', function: this.processors.metrics.function },
      { name: 'History', function: this.history.handler.function },
      { name: 'Status', function: this.status.handler.function },
      ...(this.probes ? [{ name: 'Probe', function: this.probes.handler.function }] : []),
      ...(this.heartbeats
        ? [{ name: 'Heartbeat', function: this.heartbeats.handler.function }]
        : []),
      ...(this.browserChecks
        ? [{ name: 'Browser', function: this.browserChecks.handler.function }]
        : []),
      { name: 'Alert', function: this.alerting.alert.function },
      { name: 'Notify', function: this.alerting.notify.function },
      { name: 'Web', function: this.web.handler.function },
    ];
    const deadLetterQueues = [
      this.processors.deadLetterQueue,
      this.history.deadLetterQueue,
      this.status.deadLetterQueue,
      ...(this.probes ? [this.probes.deadLetterQueue] : []),
      ...(this.heartbeats ? [this.heartbeats.deadLetterQueue] : []),
      ...(this.browserChecks ? [this.browserChecks.deadLetterQueue] : []),
      this.alerting.alertDeadLetterQueue,
      this.alerting.notifyDeadLetterQueue,
    ];
    this.monitoring = new Monitoring(this, 'Monitoring', {
      criticalTopic: this.alerting.criticalTopic,
      warningTopic: this.alerting.warningTopic,
      stage,
      config,
      functions,
      deadLetterQueues,
      apiStage: this.ingest.stage,
      ...(this.probes ? { probeFunction: this.probes.handler.function } : {}),
      ...(ciSilenceMinutes === undefined ? {} : { ciSilenceMinutes }),
    });
    this.dashboard = new KpiDashboard(this, 'Dashboard', {
      config,
      stage,
      alarms: [...this.monitoring.alarms, ...this.alerting.notificationsFailedAlarms],
      functions,
      deadLetterQueues,
      apiStage: this.ingest.stage,
    });
    // CloudFormation added Tags to AWS::CloudWatch::Dashboard only recently (CDK renders them
    // since 2.257); the cfn-lint schema on the build machines (1.51) still rejects them
    // (E3002). The dashboard's stage is in its header and its generated name anyway.
    Tags.of(this.dashboard).remove(STAGE_TAG);

    new CfnOutput(this, 'IngestUrl', {
      description:
        'Base URL of the ingest API (POST v1/results, GET v1/health, GET v1/projects/{project}/...)',
      value: this.ingest.url,
    });
    new CfnOutput(this, 'WebUrl', {
      description: 'Dashboard (sign in with /#token=<token>) and public status page (/status)',
      value: this.ingest.url,
    });
    new CfnOutput(this, 'EventBusName', {
      description: 'The stage event bus',
      value: this.events.bus.eventBusName,
    });
    new CfnOutput(this, 'ArchiveBucketName', {
      description: 'Raw and normalized reports',
      value: this.ingest.archiveBucket.bucketName,
    });
    new CfnOutput(this, 'TokensSecretArn', {
      description: 'Ingest bearer tokens (aws secretsmanager get-secret-value --secret-id ...)',
      value: this.ingest.tokensSecret.secretArn,
    });
    new CfnOutput(this, 'ReadTokensSecretArn', {
      description: 'Read-only tokens for the dashboard API (GET routes only)',
      value: this.ingest.readTokensSecret.secretArn,
    });
    new CfnOutput(this, 'CriticalTopicArn', {
      description: 'Critical alerts (subscribe email, chat or paging here)',
      value: this.alerting.criticalTopic.topicArn,
    });
    new CfnOutput(this, 'WarningTopicArn', {
      description: 'Warning alerts',
      value: this.alerting.warningTopic.topicArn,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'CloudWatch dashboard: CI KPIs, probes, open alerts, pipeline health',
      value: this.dashboard.url,
    });
  }
}
