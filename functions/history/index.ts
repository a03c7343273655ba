import { dynamo } from '../adapters/aws/clients';
import { DynamoHistoryStore } from '../adapters/aws/dynamodb-history-store';
import { archiveReader, busPublisher, lambdaEntry } from '../adapters/aws/lambda-entry';
import { systemClock } from '../core/ports';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { createHistoryHandler } from './handler';

/**
 * Lambda entry: ingest reports from the bus (rule `EVENT_PATTERNS.history`) → runs and test
 * outcomes in the DynamoDB history table (normalized results read back from the S3 archive) →
 * `Test Flaky Detected` on the Vigil bus and the `FlakyTests` metric (EMF).
 *
 * No idempotency table: the use case itself is idempotent on the run id (a redelivered event
 * adds no outcome and announces nothing new), and a failed invocation's retry finishes the job.
 */
export const handler = lambdaEntry(
  'history',
  createHistoryHandler({
    config: await configFromEnv(),
    stage: process.env.VIGIL_STAGE,
    store: new DynamoHistoryStore({ table: requireEnv('HISTORY_TABLE'), client: dynamo() }),
    archive: archiveReader(),
    publisher: busPublisher(),
    clock: systemClock,
    metrics,
  }),
);
