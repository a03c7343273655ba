import { cliFileReader } from '../adapters/aws/cli-file';
import { dynamo, eventBridge, secrets } from '../adapters/aws/clients';
import { DynamoHeartbeatStore } from '../adapters/aws/dynamodb-heartbeat-store';
import { DynamoHistoryStore } from '../adapters/aws/dynamodb-history-store';
import { DynamoRunLedger } from '../adapters/aws/dynamodb-ledger';
import {
  DynamoIncidentStore,
  DynamoProbeHistoryStore,
  DynamoRunCatalog,
} from '../adapters/aws/dynamodb-status-store';
import { eventBusCheck, ledgerTableCheck } from '../adapters/aws/health';
import {
  archiveReader,
  busPublisher,
  lambdaEntry,
  stageSecrets,
} from '../adapters/aws/lambda-entry';
import { S3Archive } from '../adapters/aws/s3-archive';
import { S3ArchiveLinks } from '../adapters/aws/s3-archive-links';
import { s3 } from '../adapters/aws/s3-client';
import { S3Uploads } from '../adapters/aws/s3-uploads';
import { SecretsManagerTokenSource } from '../adapters/aws/secrets-tokens';
import { historyRetentionDays } from '../core/config-access';
import { configCheck } from '../core/health';
import { systemClock } from '../core/ports';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { VERSION } from '../shared/version';
import { createIngestHandler } from './handler';

const config = await configFromEnv();
const busName = requireEnv('EVENT_BUS_NAME');
const ledgerTable = requireEnv('LEDGER_TABLE');
const archive = new S3Archive({ bucket: requireEnv('ARCHIVE_BUCKET'), client: s3() });
const heartbeatTable = process.env.HEARTBEAT_TABLE;
const status = {
  table: requireEnv('STATUS_TABLE'),
  client: dynamo(),
  retentionDays: historyRetentionDays(config, process.env.VIGIL_STAGE),
};

/**
 * Lambda entry: the ingest handler wired to EventBridge, S3, DynamoDB (ledger; history and
 * status, read only, for gate baselines, the history and the dashboard API) and Secrets Manager
 * (ingest and read-only tokens).
 */
export const handler = lambdaEntry(
  'ingest',
  createIngestHandler({
    config,
    stage: process.env.VIGIL_STAGE,
    publisher: busPublisher(),
    archive,
    archiveReader: archiveReader(),
    // Raw reports too large for a Lambda answer: a presigned GET (s3:GetObject, granted).
    archiveLinks: new S3ArchiveLinks({ bucket: requireEnv('ARCHIVE_BUCKET'), client: s3() }),
    // Browser check artifacts: `artifacts/<sha256>.<ext>` in the same bucket (browser function).
    artifactUri: (name) => `s3://${requireEnv('ARCHIVE_BUCKET')}/artifacts/${name}`,
    // Staged uploads: in the archive bucket under `_uploads/` (expired after a day).
    uploads: new S3Uploads({ bucket: requireEnv('ARCHIVE_BUCKET'), client: s3() }),
    ledger: new DynamoRunLedger({ table: ledgerTable, client: dynamo() }),
    history: new DynamoHistoryStore({ table: requireEnv('HISTORY_TABLE'), client: dynamo() }),
    tokens: new SecretsManagerTokenSource({
      secretId: requireEnv('TOKENS_SECRET_ARN'),
      client: secrets(),
    }),
    readTokens: new SecretsManagerTokenSource({
      secretId: requireEnv('READ_TOKENS_SECRET_ARN'),
      client: secrets(),
    }),
    status: {
      probes: new DynamoProbeHistoryStore(status),
      incidents: new DynamoIncidentStore(status),
      catalog: new DynamoRunCatalog(status),
    },
    // Heartbeat pings (set when the config has heartbeats; see lib/heartbeats.ts).
    ...(heartbeatTable
      ? {
          heartbeats: {
            store: new DynamoHeartbeatStore({ table: heartbeatTable, client: dynamo() }),
            secrets: stageSecrets(),
            location: process.env.AWS_REGION ?? 'unknown',
          },
        }
      : {}),
    clock: systemClock,
    version: VERSION,
    metrics,
    // Written next to this handler's bundle by the CDK bundling (lib/ingest-api.ts).
    cliFile: cliFileReader(new URL('./vigil.mjs', import.meta.url)),
    health: [
      configCheck(config),
      eventBusCheck({ client: eventBridge(), busName }),
      ledgerTableCheck({ client: dynamo(), tableName: ledgerTable }),
    ],
  }),
);
