import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import { Alerting } from './alerting';
import { type Stage, stageSettings } from './config';
import { VigilEventBus } from './event-bus';
import { IngestApi } from './ingest-api';
import { Probes } from './probes';
import { Processors } from './processors';

export interface VigilStackProps extends StackProps {
  readonly stage: Stage;
  /** The validated Vigil config (see `loadVigilConfig`). */
  readonly config: VigilConfig;
}

/**
 * One Vigil stage: event bus (with archive), ingest API, the bus processors, the probe
 * schedule (when the config has probes) and alerting (state, SNS topics, email and Slack).
 * No physical names are set, so every stage deploys side by side in one account.
 *
 * Construct IDs below are part of the deployed state (they derive the logical IDs of the
 * bucket, table, bus and secret); renaming one replaces the resource.
 */
export class VigilStack extends Stack {
  readonly events: VigilEventBus;
  readonly ingest: IngestApi;
  readonly processors: Processors;
  /** Absent when the config has no probes. */
  readonly probes?: Probes;
  readonly alerting: Alerting;

  constructor(scope: Construct, id: string, props: VigilStackProps) {
    const { stage, config, ...stackProps } = props;
    super(scope, id, {
      description: `Vigil (${stage}): CI results ingest and monitoring`,
      terminationProtection: stage === 'prod',
      ...stackProps,
    });
    const settings = stageSettings(config, stage);
    Tags.of(this).add('vigil:stage', stage);

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
    if (Probes.needed(config)) {
      this.probes = new Probes(this, 'Probes', {
        eventBus: this.events.bus,
        settings,
        config,
      });
    }
    this.alerting = new Alerting(this, 'Alerting', {
      eventBus: this.events.bus,
      settings,
      config,
    });

    new CfnOutput(this, 'IngestUrl', {
      description: 'Base URL of the ingest API (POST v1/results, GET v1/health)',
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
    new CfnOutput(this, 'CriticalTopicArn', {
      description: 'Critical alerts (subscribe email, chat or paging here)',
      value: this.alerting.criticalTopic.topicArn,
    });
    new CfnOutput(this, 'WarningTopicArn', {
      description: 'Warning alerts',
      value: this.alerting.warningTopic.topicArn,
    });
  }
}
