import { eventBridge, secrets } from '../adapters/aws/clients';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher';
import { SecretsManagerSecretResolver } from '../adapters/aws/secrets-resolver';
import { sentryDsn } from '../adapters/aws/sentry-dsn';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
import { systemClock } from '../core/ports';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { emitPipelineMetric, withColdStartMetric } from '../shared/pipeline-metrics';
import { metrics } from '../shared/powertools';
import { withSentry } from '../shared/sentry';
import { createProbeHandler } from './handler';

/**
 * Lambda entry: the probe handler, invoked by EventBridge Scheduler every minute, wired to
 * EventBridge (results) and Secrets Manager (`{{secret:NAME}}` → `${SECRETS_PREFIX}NAME`).
 */
export const handler = withSentry(
  'probe',
  withColdStartMetric(
    metrics,
    createProbeHandler({
      config: configFromEnv(),
      publisher: new EventBridgePublisher({
        busName: requireEnv('EVENT_BUS_NAME'),
        client: eventBridge(),
        onRetry: () => emitPipelineMetric(metrics, PIPELINE_METRICS.publishRetries, {}),
      }),
      secrets: new SecretsManagerSecretResolver({
        client: secrets(),
        prefix: process.env.SECRETS_PREFIX ?? '',
      }),
      clock: systemClock,
      location: process.env.AWS_REGION ?? 'unknown',
      metrics,
    }),
  ),
  { dsn: sentryDsn },
);
