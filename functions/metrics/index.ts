import { configFromEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { withSentry } from '../shared/sentry';
import { createMetricsHandler } from './handler';

/** Lambda entry: canonical events from the bus rule -> EMF metrics on stdout -> CloudWatch. */
export const handler = withSentry(
  'metrics',
  createMetricsHandler({ config: configFromEnv(), metrics }),
);
