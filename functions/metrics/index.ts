import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { dynamo } from '../adapters/aws/clients';
import { lambdaEntry } from '../adapters/aws/lambda-entry';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { createMetricsHandler } from './handler';

/**
 * How long an event id is remembered. EventBridge retries a delivery for up to the rule's
 * maximum event age (60 minutes, lib/processors.ts), and Lambda's asynchronous retries of a
 * failed invocation run for up to the same age again: two hours cover both.
 */
export const IDEMPOTENCY_EXPIRES_AFTER_SECONDS = 2 * 60 * 60;

/**
 * Lambda entry: canonical events from the bus rule -> EMF metrics on stdout -> CloudWatch.
 *
 * EventBridge delivers at least once, so the handler is idempotent on the event `id`: the first
 * invocation for an id records it in the `IDEMPOTENCY_TABLE` DynamoDB table (Powertools
 * Idempotency); a redelivery of the same id within `IDEMPOTENCY_EXPIRES_AFTER_SECONDS` returns
 * without printing metrics again. A failed invocation leaves no record, so its retry counts.
 * `lambdaEntry` (Sentry) passes the Lambda context on, from which `makeIdempotent` takes the remaining
 * time (an in-progress record of a timed-out invocation expires with it).
 */
export const handler = lambdaEntry(
  'metrics',
  makeIdempotent(createMetricsHandler({ config: await configFromEnv(), metrics }), {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: requireEnv('IDEMPOTENCY_TABLE'),
      awsSdkV3Client: dynamo(),
    }),
    config: new IdempotencyConfig({
      eventKeyJmesPath: 'id',
      expiresAfterSeconds: IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    }),
  }),
);
