import { secrets } from '../adapters/aws/clients';
import { lambdaEntry } from '../adapters/aws/lambda-entry';
import { SecretsManagerTokenSource } from '../adapters/aws/secrets-tokens';
import { requireEnv } from '../shared/lambda-config';
import { createAuthorizer } from './handler';

const tokenSource = (variable: string) =>
  new SecretsManagerTokenSource({ secretId: requireEnv(variable), client: secrets() });

/** Lambda entry: the API's bearer-token authorizer, ingest and read tokens from Secrets Manager. */
export const handler = lambdaEntry(
  'authorizer',
  createAuthorizer({
    ingest: tokenSource('TOKENS_SECRET_ARN'),
    read: tokenSource('READ_TOKENS_SECRET_ARN'),
  }),
);
