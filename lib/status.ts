import { Duration } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { STATUS_TABLE_KEYS } from '../functions/adapters/aws/dynamodb-status-store';
import type { VigilConfig } from '../functions/core/config';
import { EVENT_PATTERNS } from '../functions/core/events';
import type { StageSettings } from './config';
import { toCdkEventPattern } from './event-bus';
import { functionEntry, VigilFunction } from './function-defaults';
import { grantReadNormalized } from './history';
import { deadLetterQueue, stateTable } from './resources';

export interface StatusHistoryProps {
  /** The bus whose reports, probe runs and alert transitions are recorded. */
  readonly eventBus: IEventBus;
  /** Where the ingest archived the normalized results (a run's digest is read from them). */
  readonly archiveBucket: IBucket;
  readonly settings: StageSettings;
  readonly config: VigilConfig;
  /**
   * Retries of an event, both by EventBridge (delivery) and by Lambda (handler errors).
   * @default 2
   */
  readonly retryAttempts?: number;
  /**
   * Age after which an undelivered or failing event goes to the dead-letter queue.
   * @default 60
   */
  readonly maxEventAgeMinutes?: number;
  /**
   * Protect the status table against deletion (including by CloudFormation).
   * @default - true when the stage retains its data (`settings.removalPolicy` is RETAIN)
   */
  readonly deletionProtection?: boolean;
}

/**
 * What the dashboard and the status page read: one DynamoDB table (probe rollups, latest
 * samples, failures, incidents, the run catalog; items expire by TTL) and the status function,
 * fed by a rule built from `EVENT_PATTERNS.status` (the pattern the local bus matches too).
 * The ingest function reads the table through `grantRead`.
 */
export class StatusHistory extends Construct {
  readonly table: Table;
  readonly handler: VigilFunction;
  readonly rule: Rule;
  /** Events the rule could not deliver and invocations that kept failing. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: StatusHistoryProps) {
    super(scope, id);
    const { settings } = props;
    const retryAttempts = props.retryAttempts ?? 2;
    const maxEventAge = Duration.minutes(props.maxEventAgeMinutes ?? 60);

    this.table = stateTable(this, 'Table', {
      partitionKey: STATUS_TABLE_KEYS.partitionKey,
      sortKey: STATUS_TABLE_KEYS.sortKey,
      timeToLiveAttribute: STATUS_TABLE_KEYS.ttl,
      settings,
      deletionProtection: props.deletionProtection,
    });
    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      settings,
      'the status rule and function',
    );
    this.handler = new VigilFunction(this, 'Function', {
      entry: functionEntry('status'),
      description: `Vigil ${settings.stage}: record dashboard data (uptime rollups, incidents, run catalog)`,
      settings,
      config: props.config,
      environment: { STATUS_TABLE: this.table.tableName },
    });
    const fn = this.handler.function;
    // What the DynamoDB status stores send: single-item puts, gets and queries, and
    // TransactWriteItems (which needs the item actions it contains: Put, Update, Delete and
    // the condition checks). No Scan: every read is a query on one partition.
    this.table.grant(
      fn,
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
    );
    grantReadNormalized(this.handler, props.archiveBucket);
    fn.configureAsyncInvoke({
      retryAttempts,
      maxEventAge,
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
    this.rule = new Rule(this, 'Rule', {
      description: 'Vigil: reports, probe runs and incidents recorded for the dashboard',
      eventBus: props.eventBus,
      eventPattern: toCdkEventPattern(EVENT_PATTERNS.status),
      targets: [
        new LambdaFunction(fn, {
          retryAttempts,
          maxEventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }

  /** Let a function read the status table (the dashboard API): GetItem and Query only. */
  grantRead(fn: VigilFunction): void {
    fn.function.addEnvironment('STATUS_TABLE', this.table.tableName);
    this.table.grant(fn.function, 'dynamodb:GetItem', 'dynamodb:Query');
  }
}
