import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { StageSettings } from './config';

/** The stateful building blocks every construct makes the same way. */

export interface StateTableProps {
  readonly partitionKey: string;
  /** @default - no sort key */
  readonly sortKey?: string;
  readonly timeToLiveAttribute: string;
  readonly settings: StageSettings;
  /** @default - on when the stage retains its data (prod) */
  readonly deletionProtection?: boolean;
}

/**
 * A DynamoDB table for Vigil's state: string keys, on demand, point-in-time recovery,
 * encrypted, TTL, and the stage's removal policy (retained, and deletion-protected, in prod).
 */
export const stateTable = (scope: Construct, id: string, props: StateTableProps): Table =>
  new Table(scope, id, {
    partitionKey: { name: props.partitionKey, type: AttributeType.STRING },
    ...(props.sortKey ? { sortKey: { name: props.sortKey, type: AttributeType.STRING } } : {}),
    timeToLiveAttribute: props.timeToLiveAttribute,
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: TableEncryption.AWS_MANAGED,
    deletionProtection:
      props.deletionProtection ?? props.settings.removalPolicy === RemovalPolicy.RETAIN,
    removalPolicy: props.settings.removalPolicy,
  });

/**
 * An encrypted, TLS-only SQS dead-letter queue (14 days' retention). `of` says whose dead
 * letters it holds, in the cdk-nag acknowledgement that a DLQ needs no DLQ of its own.
 */
export const deadLetterQueue = (
  scope: Construct,
  id: string,
  settings: StageSettings,
  of: string,
): Queue => {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: settings.removalPolicy,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself the dead-letter queue of ${of}.`,
  });
  return queue;
};
