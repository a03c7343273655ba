import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { AttributeType, CfnTable, ProjectionType, type Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { CfnBucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HISTORY_TABLE_KEYS } from '../functions/adapters/aws/dynamodb-history-store';
import type { VigilConfig } from '../functions/core/config';
import { EVENT_PATTERNS } from '../functions/core/events';
import type { StageSettings } from './config';
import { toCdkEventPattern } from './event-bus';
import { functionEntry, VigilFunction } from './function-defaults';
import { deadLetterQueue, stateTable } from './resources';

/** The ARN of a bucket or table of this app as cdk-nag prints it (`<LogicalId.Arn>`). */
const nagArn = (construct: Construct): string => {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnBucket || resource instanceof CfnTable))
    throw new Error(`${construct.node.path}: expected a bucket or table defined in this app`);
  return `<${Stack.of(resource).getLogicalId(resource)}.Arn>`;
};

/** Archived objects the history function reads: the normalized results, never raw reports. */
export const NORMALIZED_OBJECTS = '*.normalized.json';

/**
 * Let a function read the normalized results in the archive (`ARCHIVE_BUCKET`): GetObject on
 * the objects ending in .normalized.json only; the raw reports stay unreadable. The bucket is
 * S3-managed (SSE-S3), so no KMS grant is needed.
 */
export const grantReadNormalized = (fn: VigilFunction, bucket: IBucket): void => {
  fn.function.addEnvironment('ARCHIVE_BUCKET', bucket.bucketName);
  // Where the function sends its signed GETs (functions/adapters/aws/s3-archive-reader.ts).
  fn.function.addEnvironment('ARCHIVE_BUCKET_DOMAIN', bucket.bucketRegionalDomainName);
  fn.function.addToRolePolicy(
    new PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(NORMALIZED_OBJECTS)],
    }),
  );
  Validations.of(fn.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagArn(bucket)}/${NORMALIZED_OBJECTS}]`,
    reason:
      'The function reads the normalized result of each run, archived under a key chosen ' +
      'per run (<project>/<yyyy>/<mm>/<dd>/<runId>.normalized.json): s3:GetObject on the ' +
      'objects ending in .normalized.json only, never the raw reports.',
  });
};

export interface HistoryProps {
  /** The bus whose report events are recorded, and where `Test Flaky Detected` goes. */
  readonly eventBus: IEventBus;
  /** Where the ingest archived the normalized results the events point at (in this app). */
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
   * Protect the history table against deletion (including by CloudFormation).
   * @default - true when the stage retains its data (`settings.removalPolicy` is RETAIN)
   */
  readonly deletionProtection?: boolean;
}

/**
 * Run and test history: one DynamoDB table (single-table design; items expire by TTL after
 * the stage's `historyRetentionDays`) and the history function, fed by a rule built from
 * `EVENT_PATTERNS.history` (the pattern the local bus matches too). It reads each run's
 * normalized result from the archive, records the run and every test's outcome, detects flaky
 * tests and announces them on the bus. The ingest function reads the same table (gate
 * baselines, the history API) through `grantQuery`.
 */
export class History extends Construct {
  readonly table: Table;
  readonly handler: VigilFunction;
  readonly rule: Rule;
  /** Events the rule could not deliver and invocations that kept failing. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: HistoryProps) {
    super(scope, id);
    const { settings } = props;
    const retryAttempts = props.retryAttempts ?? 2;
    const maxEventAge = Duration.minutes(props.maxEventAgeMinutes ?? 60);

    this.table = stateTable(this, 'Table', {
      partitionKey: HISTORY_TABLE_KEYS.partitionKey,
      sortKey: HISTORY_TABLE_KEYS.sortKey,
      timeToLiveAttribute: HISTORY_TABLE_KEYS.ttl,
      settings,
      deletionProtection: props.deletionProtection,
    });
    // Sparse: only flaky tests carry its partition key, so `?status=flaky` reads only them.
    const { flakyIndex } = HISTORY_TABLE_KEYS;
    this.table.addGlobalSecondaryIndex({
      indexName: flakyIndex.name,
      partitionKey: { name: flakyIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: flakyIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      settings,
      'the history rule and function',
    );

    // Sized for a 20,000-case run: its normalized JSON (~5 MB) parsed and walked in memory,
    // and ~20,000 conditional test writes (batched reads, versioned puts, retried on conflict).
    // Lambda's CPU share grows with memory, so 1 GB roughly halves the wall time of 512 MB;
    // 5 minutes leaves room for DynamoDB throttling retries on a cold on-demand table.
    this.handler = new VigilFunction(this, 'Function', {
      entry: functionEntry('history'),
      description: `Vigil ${settings.stage}: record runs and test outcomes, detect flaky tests`,
      settings,
      config: props.config,
      memorySizeMb: 1024,
      timeoutSeconds: 300,
      environment: {
        HISTORY_TABLE: this.table.tableName,
        EVENT_BUS_NAME: props.eventBus.eventBusName,
      },
    });
    const fn = this.handler.function;
    // What DynamoHistoryStore sends: puts (runs, versioned test records), batched test reads,
    // queries of the table and the flaky index. No Scan, Delete or Update: TTL removes items.
    this.table.grant(fn, 'dynamodb:PutItem', 'dynamodb:BatchGetItem', 'dynamodb:Query');
    grantReadNormalized(this.handler, props.archiveBucket);
    props.eventBus.grantPutEventsTo(fn);
    fn.configureAsyncInvoke({
      retryAttempts,
      maxEventAge,
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    this.rule = new Rule(this, 'Rule', {
      description: 'Vigil: reports recorded in the run and test history',
      eventBus: props.eventBus,
      eventPattern: toCdkEventPattern(EVENT_PATTERNS.history),
      targets: [
        new LambdaFunction(fn, {
          retryAttempts,
          maxEventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    Validations.of(this.handler.role).acknowledge(this.indexAcknowledgement());
  }

  /**
   * Let a function read the history (gate baselines, the history API): Query on the table and
   * its flaky index, no writes; and point it at the table with `HISTORY_TABLE`.
   */
  grantQuery(fn: VigilFunction): void {
    fn.function.addEnvironment('HISTORY_TABLE', this.table.tableName);
    this.table.grant(fn.function, 'dynamodb:Query');
    Validations.of(fn.role).acknowledge(this.indexAcknowledgement());
  }

  /** cdk-nag flags `<table>/index/*`, the ARN form IAM needs for querying an index. */
  private indexAcknowledgement(): { id: string; reason: string } {
    return {
      id: `AwsSolutions-IAM5[Resource::${nagArn(this.table)}/index/*]`,
      reason:
        "Queries of the history table's sparse flaky index need the index ARN; the table has " +
        'that one index, so <table>/index/* names exactly it.',
    };
  }
}
