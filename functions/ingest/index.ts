import { dynamo, eventBridge, s3, secrets } from '../adapters/aws/clients';
import { DynamoRunLedger } from '../adapters/aws/dynamodb-ledger';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher';
import { S3Archive } from '../adapters/aws/s3-archive';
import { SecretsManagerTokenSource } from '../adapters/aws/secrets-tokens';
import { sentryDsn } from '../adapters/aws/sentry-dsn';
import { systemClock } from '../core/ports';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { withSentry } from '../shared/sentry';
import { VERSION } from '../shared/version';
import { createIngestHandler } from './handler';

/** Lambda entry: the ingest handler wired to EventBridge, S3, DynamoDB and Secrets Manager. */
export const handler = withSentry(
  'ingest',
  createIngestHandler({
    config: configFromEnv(),
    stage: process.env.VIGIL_STAGE,
    publisher: new EventBridgePublisher({
      busName: requireEnv('EVENT_BUS_NAME'),
      client: eventBridge(),
    }),
    archive: new S3Archive({ bucket: requireEnv('ARCHIVE_BUCKET'), client: s3() }),
    ledger: new DynamoRunLedger({ table: requireEnv('LEDGER_TABLE'), client: dynamo() }),
    tokens: new SecretsManagerTokenSource({
      secretId: requireEnv('TOKENS_SECRET_ARN'),
      client: secrets(),
    }),
    clock: systemClock,
    version: VERSION,
  }),
  { dsn: sentryDsn },
);
