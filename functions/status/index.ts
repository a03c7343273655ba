import { dynamo } from '../adapters/aws/clients';
import {
  DynamoIncidentStore,
  DynamoProbeHistoryStore,
  DynamoRunCatalog,
} from '../adapters/aws/dynamodb-status-store';
import { archiveReader, lambdaEntry } from '../adapters/aws/lambda-entry';
import { historyRetentionDays } from '../core/config-access';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { createStatusHandler } from './handler';

const config = await configFromEnv();
const retentionDays = historyRetentionDays(config, process.env.VIGIL_STAGE);
const options = { table: requireEnv('STATUS_TABLE'), client: dynamo(), retentionDays };

/**
 * Lambda entry: reports, probe runs and alert transitions from the bus (rule
 * `EVENT_PATTERNS.status`) → the DynamoDB status table the dashboard API reads (a run's
 * digest from its normalized result in the S3 archive). No idempotency
 * table: every write is idempotent (see `DynamoProbeHistoryStore`).
 */
export const handler = lambdaEntry(
  'status',
  createStatusHandler({
    probes: new DynamoProbeHistoryStore(options),
    incidents: new DynamoIncidentStore(options),
    catalog: new DynamoRunCatalog(options),
    ttlDays: retentionDays,
    // A run's digest (warnings, first failed tests) from its normalized result.
    archive: archiveReader(),
  }),
);
