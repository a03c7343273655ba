import { Duration } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import { EVENT_PATTERNS } from '../functions/core/events';
import type { StageSettings } from './config';
import { toCdkEventPattern } from './event-bus';
import { functionEntry, VigilFunction } from './function-defaults';
import { deadLetterQueue, stateTable } from './resources';

export interface ProcessorsProps {
  /** The bus whose events are processed. */
  readonly eventBus: IEventBus;
  readonly settings: StageSettings;
  readonly config: VigilConfig;
  /**
   * Retries of an event, both by EventBridge (delivery) and by Lambda (handler errors).
   * @default 2
   */
  readonly retryAttempts?: number;
  /**
   * Age after which an undelivered or failing event goes to the dead-letter queue: a late
   * datapoint no longer helps an alarm.
   * @default 60
   */
  readonly maxEventAgeMinutes?: number;
  /**
   * Deletion protection on the idempotency table.
   * @default - true when the stage retains its data (`settings.removalPolicy` is RETAIN)
   */
  readonly deletionProtection?: boolean;
}

/**
 * Bus consumers. For now the metrics function: canonical events -> EMF -> CloudWatch metrics,
 * fed by a rule built from `EVENT_PATTERNS.metrics` (the pattern the local bus matches too).
 * Events that cannot be delivered or keep failing land in one encrypted dead-letter queue.
 * EventBridge delivers at least once: the function records each event id it has counted in the
 * idempotency table (Powertools Idempotency), so a redelivered event is not counted twice.
 */
export class Processors extends Construct {
  readonly metrics: VigilFunction;
  readonly metricsRule: Rule;
  /**
   * Event ids the metrics function has handled (Powertools Idempotency's DynamoDB layout:
   * partition key `id`, expiry epoch seconds in `expiration`, removed by TTL).
   */
  readonly idempotencyTable: Table;
  /**
   * Failed metrics events: EventBridge's delivery failures (the event, with ERROR_CODE message
   * attributes) and Lambda's handler failures (an invocation record with `requestPayload`).
   */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ProcessorsProps) {
    super(scope, id);
    const retryAttempts = props.retryAttempts ?? 2;
    const maxEventAge = Duration.minutes(props.maxEventAgeMinutes ?? 60);

    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      props.settings,
      'the metrics rule and function',
    );

    this.idempotencyTable = stateTable(this, 'IdempotencyTable', {
      partitionKey: 'id',
      timeToLiveAttribute: 'expiration',
      settings: props.settings,
      deletionProtection: props.deletionProtection,
    });

    this.metrics = new VigilFunction(this, 'Metrics', {
      entry: functionEntry('metrics'),
      description: `Vigil ${props.settings.stage}: canonical events to CloudWatch metrics (EMF)`,
      settings: props.settings,
      config: props.config,
      environment: { IDEMPOTENCY_TABLE: this.idempotencyTable.tableName },
    });
    // Single-item operations only: what Powertools' DynamoDBPersistenceLayer sends (conditional
    // put of the in-progress record, get, update to completed, delete after a failure).
    this.idempotencyTable.grant(
      this.metrics.function,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    this.metrics.function.configureAsyncInvoke({
      retryAttempts,
      maxEventAge,
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    this.metricsRule = new Rule(this, 'MetricsRule', {
      description: 'Vigil: events that become CloudWatch metrics',
      eventBus: props.eventBus,
      eventPattern: toCdkEventPattern(EVENT_PATTERNS.metrics),
      targets: [
        new LambdaFunction(this.metrics.function, {
          retryAttempts,
          maxEventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
