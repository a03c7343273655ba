import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SubscriptionFilter, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import { EVENT_PATTERNS, type EventPattern } from '../functions/core/events';
import type { StageSettings } from './config';
import { toCdkEventPattern } from './event-bus';
import { functionEntry, grantStageSecretsRead, VigilFunction } from './function-defaults';
import { deadLetterQueue, stateTable } from './resources';

export interface AlertingProps {
  /** The Vigil bus: source of results to alert on, target of `Alert State Changed` events. */
  readonly eventBus: IEventBus;
  readonly settings: StageSettings;
  readonly config: VigilConfig;
  /** The dashboard's address (the API's URL, or the config's): messages link to their page there. */
  readonly dashboardUrl?: string;
  /**
   * CloudWatch alarms whose name starts with this prefix feed the alert function (from the
   * account's default bus). Alarms without a physical name are named `<stackName>-...`.
   * @default - `${stackName}-`
   */
  readonly alarmNamePrefix?: string;
  /**
   * Retries of an event, both by EventBridge (delivery) and by Lambda (handler errors).
   * @default 2
   */
  readonly retryAttempts?: number;
  /**
   * Age after which an undelivered or failing event goes to the dead-letter queue: an alert
   * an hour late is noise.
   * @default 60
   */
  readonly maxEventAgeMinutes?: number;
  /**
   * Protect the alert table against deletion (including by CloudFormation).
   * @default - true when the stage retains its data (`settings.removalPolicy` is RETAIN)
   */
  readonly deletionProtection?: boolean;
}

/** CloudWatch alarm events: the core pattern, narrowed to alarms whose name has the prefix. */
export const alarmEventPattern = (alarmNamePrefix: string): EventPattern => {
  const base: EventPattern = EVENT_PATTERNS.alarms;
  const detail = base.detail;
  return {
    ...base,
    detail: {
      ...(detail !== undefined && !Array.isArray(detail) ? detail : {}),
      alarmName: [{ prefix: alarmNamePrefix }],
    },
  };
};

/**
 * Alerts: the alert function turns Vigil results (bus rule from `EVENT_PATTERNS.alerts`) and
 * this stack's CloudWatch alarms (default-bus rule from `EVENT_PATTERNS.alarms`) into alert
 * state (DynamoDB) and notifications on two SNS topics, one per severity. Email channels are
 * subscriptions of both topics; the notify function, subscribed too, posts to Slack and
 * webhook channels.
 *
 * The topics use a customer-managed KMS key: CloudWatch alarm actions cannot publish to a
 * topic encrypted with `alias/aws/sns` (its key policy cannot grant them) and drop the
 * notification without an error anywhere but the alarm's history.
 */
export class Alerting extends Construct {
  readonly key: Key;
  readonly criticalTopic: Topic;
  readonly warningTopic: Topic;
  readonly table: Table;
  readonly alert: VigilFunction;
  readonly notify: VigilFunction;
  /** Vigil results for the alert function (on the Vigil bus). */
  readonly alertsRule: Rule;
  /** This stack's CloudWatch alarm state changes (on the account's default bus). */
  readonly alarmsRule: Rule;
  /** Failed alert events: EventBridge delivery failures and alert function failures. */
  readonly alertDeadLetterQueue: Queue;
  /** Failed notifications: SNS delivery failures and notify function failures. */
  readonly notifyDeadLetterQueue: Queue;
  /** One per topic: SNS could not deliver a notification (an email, the notify function). */
  readonly notificationsFailedAlarms: Alarm[];

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const { settings, config } = props;
    const stack = Stack.of(this);
    const retryAttempts = props.retryAttempts ?? 2;
    const maxEventAge = Duration.minutes(props.maxEventAgeMinutes ?? 60);

    this.key = new Key(this, 'TopicKey', {
      description: `Vigil ${settings.stage}: encrypts the alert topics`,
      enableKeyRotation: true,
      removalPolicy: settings.removalPolicy,
    });
    // The services that publish to the topics themselves (alarm actions, rule targets) need
    // the key through its policy; functions get it through IAM (topic.grantPublish).
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsAndEventBridgeToPublish',
        principals: [
          new ServicePrincipal('cloudwatch.amazonaws.com'),
          new ServicePrincipal('events.amazonaws.com'),
        ],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    const topic = (topicId: string, severity: string): Topic => {
      const t = new Topic(this, topicId, {
        displayName: `Vigil ${settings.stage} ${severity}`,
        masterKey: this.key,
        enforceSSL: true,
      });
      // The topic policy replaces SNS's default one (which lets the account's services in).
      t.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowCloudWatchAlarmsOfThisAccount',
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [t.topicArn],
          conditions: {
            ArnLike: {
              'aws:SourceArn': stack.formatArn({
                service: 'cloudwatch',
                resource: 'alarm',
                resourceName: '*',
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            },
          },
        }),
      );
      return t;
    };
    this.criticalTopic = topic('CriticalTopic', 'critical');
    this.warningTopic = topic('WarningTopic', 'warning');
    const topics = [this.criticalTopic, this.warningTopic];

    for (const channel of config.alerts.channels) {
      if (channel.type !== 'email') continue;
      for (const t of topics) t.addSubscription(new EmailSubscription(channel.address));
    }

    // Key schema as functions/adapters/aws/dynamodb-alert-store.ts uses it.
    this.table = stateTable(this, 'AlertTable', {
      partitionKey: 'pk',
      sortKey: 'sk',
      timeToLiveAttribute: 'expiresAt',
      settings,
      deletionProtection: props.deletionProtection,
    });

    this.alertDeadLetterQueue = deadLetterQueue(
      this,
      'AlertDeadLetterQueue',
      settings,
      'the alert rules and the alert function',
    );
    this.notifyDeadLetterQueue = deadLetterQueue(
      this,
      'NotifyDeadLetterQueue',
      settings,
      'the notify subscriptions and the notify function',
    );

    // --- alert function ---------------------------------------------------------------
    this.alert = new VigilFunction(this, 'Alert', {
      entry: functionEntry('alert'),
      description: `Vigil ${settings.stage}: alert state machine, notifications to SNS`,
      settings,
      config,
      environment: {
        ALERT_TABLE: this.table.tableName,
        CRITICAL_TOPIC_ARN: this.criticalTopic.topicArn,
        WARNING_TOPIC_ARN: this.warningTopic.topicArn,
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        ...(props.dashboardUrl === undefined ? {} : { VIGIL_DASHBOARD_URL: props.dashboardUrl }),
      },
    });
    const alertFn = this.alert.function;
    // Single-item reads and conditional puts (see dynamodb-alert-store.ts), and a scan of the
    // open alerts once per container, to close those of checks removed from the config.
    this.table.grant(alertFn, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan');
    // sns:Publish plus kms:Decrypt / kms:GenerateDataKey* on the topic key.
    for (const t of topics) t.grantPublish(alertFn);
    props.eventBus.grantPutEventsTo(alertFn);
    Validations.of(this.alert.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to a KMS-encrypted topic needs kms:GenerateDataKey* (topic.grantPublish); ' +
        'the statement is limited to the one key of the alert topics.',
    });
    alertFn.configureAsyncInvoke({
      retryAttempts,
      maxEventAge,
      onFailure: new SqsDestination(this.alertDeadLetterQueue),
    });

    const alertTarget = () =>
      new LambdaFunction(alertFn, {
        retryAttempts,
        maxEventAge,
        deadLetterQueue: this.alertDeadLetterQueue,
      });
    this.alertsRule = new Rule(this, 'AlertsRule', {
      description: 'Vigil: results the alert function watches',
      eventBus: props.eventBus,
      eventPattern: toCdkEventPattern(EVENT_PATTERNS.alerts),
      targets: [alertTarget()],
    });
    // No eventBus: the account's default bus, where CloudWatch publishes alarm state changes.
    this.alarmsRule = new Rule(this, 'AlarmsRule', {
      description: `Vigil: state changes of the ${stack.stackName} CloudWatch alarms`,
      eventPattern: toCdkEventPattern(
        alarmEventPattern(props.alarmNamePrefix ?? `${stack.stackName}-`),
      ),
      targets: [alertTarget()],
    });

    // --- notify function --------------------------------------------------------------
    this.notify = new VigilFunction(this, 'Notify', {
      entry: functionEntry('notify'),
      description: `Vigil ${settings.stage}: alert notifications to Slack and webhooks`,
      settings,
      config,
      timeoutSeconds: 180,
    });
    // Which channel already has which notification (a retry skips them): two item actions.
    this.notify.function.addEnvironment('ALERT_TABLE', this.table.tableName);
    this.table.grant(this.notify.function, 'dynamodb:GetItem', 'dynamodb:PutItem');
    const secretsArn = grantStageSecretsRead(this.notify, settings.stage);
    Validations.of(this.notify.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${secretsArn}]`,
      reason:
        'Channel URLs and headers reference secrets by name ({{secret:NAME}} -> ' +
        'vigil/<stage>/NAME); the names come from the config and Secrets Manager appends a ' +
        "random suffix, so the read is scoped to this stage's prefix.",
    });
    // SNS invokes asynchronously; a notification that still fails goes to the DLQ.
    this.notify.function.configureAsyncInvoke({
      retryAttempts,
      maxEventAge,
      onFailure: new SqsDestination(this.notifyDeadLetterQueue),
    });
    for (const t of topics) {
      t.addSubscription(
        new LambdaSubscription(this.notify.function, {
          deadLetterQueue: this.notifyDeadLetterQueue,
          // Only the alert function's notifications (they carry message attributes); raw
          // CloudWatch alarm messages reach email only (the alert function handles alarms).
          filterPolicy: { kind: SubscriptionFilter.existsFilter() },
        }),
      );
    }

    // --- SNS delivery failures ---------------------------------------------------------
    this.notificationsFailedAlarms = topics.map(
      (t) =>
        new Alarm(this, `${t.node.id}NotificationsFailed`, {
          alarmDescription: `Vigil ${settings.stage}: SNS could not deliver notifications of ${t.node.id}`,
          metric: t.metricNumberOfNotificationsFailed({
            period: Duration.seconds(60),
            statistic: Stats.SUM,
          }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
    );
    for (const alarm of this.notificationsFailedAlarms) {
      alarm.addAlarmAction(new SnsAction(this.criticalTopic));
    }
  }
}
