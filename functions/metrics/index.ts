import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import { dynamo } from '../adapters/aws/clients';
import { lambdaEntry } from '../adapters/aws/lambda-entry';
import type { BusEvent } from '../core/events';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { createMetricsHandler, deliveryKey } from './handler';

/**
 * How long a delivery key is remembered. EventBridge retries a delivery for up to the rule's
 * maximum event age (60 minutes, lib/processors.ts), and Lambda's asynchronous retries of a
 * failed invocation run for up to the same age again: two hours cover both.
 */
export const IDEMPOTENCY_EXPIRES_AFTER_SECONDS = 2 * 60 * 60;

/**
 * Lambda entry: canonical events from the bus rule -> EMF metrics on stdout -> CloudWatch.
 *
 * EventBridge delivers at least once, so the handler is idempotent on `deliveryKey` (the run of
 * an ingest event, else the event `id`): the first invocation for a key records it in the
 * `IDEMPOTENCY_TABLE` DynamoDB table (Powertools Idempotency); a redelivery of the same key
 * within `IDEMPOTENCY_EXPIRES_AFTER_SECONDS` returns without printing metrics again. A failed invocation leaves no record, so its retry counts.
 * `lambdaEntry` (Sentry) passes the Lambda context on, from which `makeIdempotent` takes the remaining
 * time (an in-progress record of a timed-out invocation expires with it).
 */
const handle = createMetricsHandler({ config: await configFromEnv(), metrics });
const once = makeIdempotent(
  // With the context: Powertools takes the remaining time from it.
  (delivery: { key: string; event: BusEvent }, _context: Context) => handle(delivery.event),
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: requireEnv('IDEMPOTENCY_TABLE'),
      awsSdkV3Client: dynamo(),
    }),
    config: new IdempotencyConfig({
      eventKeyJmesPath: 'key',
      expiresAfterSeconds: IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    }),
  },
);

export const handler = lambdaEntry('metrics', (event: BusEvent, context?: Context) =>
  once({ key: deliveryKey(event), event }, context as Context),
);
