import { secrets } from '../adapters/aws/clients';
import { SecretsManagerSecretResolver } from '../adapters/aws/secrets-resolver';
import { sentryDsn } from '../adapters/aws/sentry-dsn';
import { configFromEnv } from '../shared/lambda-config';
import { withColdStartMetric } from '../shared/pipeline-metrics';
import { metrics } from '../shared/powertools';
import { withSentry } from '../shared/sentry';
import { createNotifyHandler } from './handler';

/**
 * Lambda entry: SNS (the alert topics) → Slack and webhook channels. `{{secret:NAME}}` in
 * channel URLs and headers reads the Secrets Manager secret `${SECRETS_PREFIX}NAME`, as probes do.
 */
const resolver = new SecretsManagerSecretResolver({
  client: secrets(),
  prefix: process.env.SECRETS_PREFIX ?? '',
});

export const handler = withSentry(
  'notify',
  withColdStartMetric(
    metrics,
    createNotifyHandler({
      config: configFromEnv(),
      resolveSecret: (name) => resolver.resolve(name),
      metrics,
    }),
  ),
  { dsn: sentryDsn },
);
