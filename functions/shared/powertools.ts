import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * One logger, tracer and metrics instance per process, created at import time
 * (the Powertools convention). Service name, namespace and log level come from the
 * POWERTOOLS_* environment variables that CDK (or the local runtime) sets.
 */
export const NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Vigil';
export const SERVICE = process.env.POWERTOOLS_SERVICE_NAME ?? 'vigil';

export const logger = new Logger({
  serviceName: SERVICE,
  persistentKeys: { stage: process.env.VIGIL_STAGE ?? 'local' },
});

export const tracer = new Tracer({ serviceName: SERVICE });

// Powertools' own warnings (e.g. on dimensions) as structured log lines at the log level,
// not raw console output.
export const metrics = new Metrics({ namespace: NAMESPACE, serviceName: SERVICE, logger });
