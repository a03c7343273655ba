import { dynamo, eventBridge, s3, secrets } from '../adapters/aws/clients';
import { DynamoRunLedger } from '../adapters/aws/dynamodb-ledger';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher';
import { eventBusCheck, ledgerTableCheck } from '../adapters/aws/health';
import { S3Archive } from '../adapters/aws/s3-archive';
import { SecretsManagerTokenSource } from '../adapters/aws/secrets-tokens';
import { sentryDsn } from '../adapters/aws/sentry-dsn';
import { configCheck } from '../core/health';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
import { systemClock } from '../core/ports';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { emitPipelineMetric, withColdStartMetric } from '../shared/pipeline-metrics';
import { metrics } from '../shared/powertools';
import { withSentry } from '../shared/sentry';
import { VERSION } from '../shared/version';
import { createIngestHandler } from './handler';

const config = configFromEnv();
const busName = requireEnv('EVENT_BUS_NAME');
const ledgerTable = requireEnv('LEDGER_TABLE');

/** Lambda entry: the ingest handler wired to EventBridge, S3, DynamoDB and Secrets Manager. */
export const handler = withSentry(
  'ingest',
  withColdStartMetric(
    metrics,
    createIngestHandler({
      config,
      stage: process.env.VIGIL_STAGE,
      publisher: new EventBridgePublisher({
        busName,
        client: eventBridge(),
        onRetry: () => emitPipelineMetric(metrics, PIPELINE_METRICS.publishRetries, {}),
      }),
      archive: new S3Archive({ bucket: requireEnv('ARCHIVE_BUCKET'), client: s3() }),
      ledger: new DynamoRunLedger({ table: ledgerTable, client: dynamo() }),
      tokens: new SecretsManagerTokenSource({
        secretId: requireEnv('TOKENS_SECRET_ARN'),
        client: secrets(),
      }),
      clock: systemClock,
      version: VERSION,
      metrics,
      health: [
        configCheck(config),
        eventBusCheck({ client: eventBridge(), busName }),
        ledgerTableCheck({ client: dynamo(), tableName: ledgerTable }),
      ],
    }),
  ),
  { dsn: sentryDsn },
);
