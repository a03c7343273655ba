import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { secrets } from '../adapters/aws/clients';
import { lambdaEntry } from '../adapters/aws/lambda-entry';
import { SecretsManagerTokenSource } from '../adapters/aws/secrets-tokens';
import type { HttpResult } from '../shared/http';
import { requireEnv } from '../shared/lambda-config';
import { readAssetDir } from './assets';
import { createWebHandler } from './handler';

/**
 * Lambda entry: the dashboard's files (built next to this bundle at deploy time, see lib/web.ts),
 * the public status page and the badges. The files are read on the first request, once.
 */
const ASSETS = fileURLToPath(new URL('./web/', import.meta.url));
const tokens = new SecretsManagerTokenSource({
  secretId: requireEnv('TOKENS_SECRET_ARN'),
  client: secrets(),
});

let web: Promise<(event: APIGatewayProxyEventV2) => Promise<HttpResult>> | undefined;

export const handler = lambdaEntry('web', async (event: APIGatewayProxyEventV2) => {
  web ??= readAssetDir(ASSETS).then((files) =>
    createWebHandler({
      files,
      tokens,
      badges: {
        isPublic: () => false,
        badge: async () => ({ label: 'vigil', message: 'unknown', tone: 'unknown' }),
      },
    }),
  );
  return (await web)(event);
});
