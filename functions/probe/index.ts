import { busPublisher, lambdaEntry, stageSecrets } from '../adapters/aws/lambda-entry';
import { systemClock } from '../core/ports';
import { configFromEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { createProbeHandler } from './handler';

/**
 * Lambda entry: the probe handler, invoked by EventBridge Scheduler every minute, wired to
 * EventBridge (results) and Secrets Manager (`{{secret:NAME}}` → `${SECRETS_PREFIX}NAME`).
 */
export const handler = lambdaEntry(
  'probe',
  createProbeHandler({
    config: await configFromEnv(),
    publisher: busPublisher(),
    secrets: stageSecrets(),
    clock: systemClock,
    location: process.env.AWS_REGION ?? 'unknown',
    metrics,
  }),
);
