import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { dynamo, secrets } from '../adapters/aws/clients';
import {
  DynamoIncidentStore,
  DynamoProbeHistoryStore,
  DynamoRunCatalog,
} from '../adapters/aws/dynamodb-status-store';
import { lambdaEntry } from '../adapters/aws/lambda-entry';
import { SecretsManagerTokenSource } from '../adapters/aws/secrets-tokens';
import { historyRetentionDays } from '../core/config-access';
import { systemClock } from '../core/ports';
import type { HttpResult } from '../shared/http';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { readAssetDir } from './assets';
import { publicData } from './data';
import { createWebHandler } from './handler';

/**
 * Lambda entry: the dashboard's files (built next to this bundle at deploy time, see lib/web.ts),
 * the public status page and the badges, read from the status table. The files are read once,
 * on the first request.
 */
const config = await configFromEnv();
const ASSETS = fileURLToPath(new URL('./web/', import.meta.url));
const status = {
  table: requireEnv('STATUS_TABLE'),
  client: dynamo(),
  retentionDays: historyRetentionDays(config, process.env.VIGIL_STAGE),
};
const ingestTokens = new SecretsManagerTokenSource({
  secretId: requireEnv('TOKENS_SECRET_ARN'),
  client: secrets(),
});
const readTokens = new SecretsManagerTokenSource({
  secretId: requireEnv('READ_TOKENS_SECRET_ARN'),
  client: secrets(),
});
const data = publicData({
  config,
  stage: process.env.VIGIL_STAGE,
  clock: systemClock,
  probes: new DynamoProbeHistoryStore(status),
  incidents: new DynamoIncidentStore(status),
  catalog: new DynamoRunCatalog(status),
});

let web: Promise<(event: APIGatewayProxyEventV2) => Promise<HttpResult>> | undefined;

export const handler = lambdaEntry('web', async (event: APIGatewayProxyEventV2) => {
  web ??= readAssetDir(ASSETS).then((files) =>
    createWebHandler({
      files,
      // Badges that are not public accept any token that may read.
      tokens: {
        tokens: async () => [...(await ingestTokens.tokens()), ...(await readTokens.tokens())],
      },
      ...data,
    }),
  );
  return (await web)(event);
});
