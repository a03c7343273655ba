import { dynamo } from '../adapters/aws/clients';
import { DynamoHeartbeatStore } from '../adapters/aws/dynamodb-heartbeat-store';
import { busPublisher, lambdaEntry } from '../adapters/aws/lambda-entry';
import { systemClock } from '../core/ports';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { createHeartbeatHandler } from './handler';

/** Lambda entry: the heartbeat evaluator (one-minute schedule), DynamoDB state, EventBridge results. */
export const handler = lambdaEntry(
  'heartbeat',
  createHeartbeatHandler({
    config: await configFromEnv(),
    store: new DynamoHeartbeatStore({ table: requireEnv('HEARTBEAT_TABLE'), client: dynamo() }),
    publisher: busPublisher(),
    clock: systemClock,
    location: process.env.AWS_REGION ?? 'unknown',
  }),
);
