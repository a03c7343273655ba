import { secrets } from '../adapters/aws/clients';
import { lambdaEntry } from '../adapters/aws/lambda-entry';
import { SecretsManagerTokenSource } from '../adapters/aws/secrets-tokens';
import { requireEnv } from '../shared/lambda-config';
import { createAuthorizer } from './handler';

/** Lambda entry: the API's bearer-token authorizer, tokens from Secrets Manager. */
export const handler = lambdaEntry(
  'authorizer',
  createAuthorizer(
    new SecretsManagerTokenSource({ secretId: requireEnv('TOKENS_SECRET_ARN'), client: secrets() }),
  ),
);
