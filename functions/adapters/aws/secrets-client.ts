import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { tracer } from './xray-tracer';

let client: SecretsManagerClient | undefined;

/**
 * The process's Secrets Manager client (see clients.ts), created on first use, in a module of its
 * own that imports nothing from clients.ts: the Lambda entries load it with `import()` when the
 * Sentry DSN secret must first be read (`lambda-entry.ts`), so functions that read no other
 * secret evaluate no Secrets Manager SDK at init.
 */
export const secrets = (): SecretsManagerClient => {
  client ??= tracer.captureAWSv3Client(new SecretsManagerClient({}));
  return client;
};
