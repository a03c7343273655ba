import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/metrics/catalog';

/**
 * One logger, tracer and metrics instance per process, created at import time
 * (the Powertools convention). Service name, namespace and log level come from the
 * POWERTOOLS_* environment variables that CDK (or the local runtime) sets.
 */
export const NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE;
export const SERVICE = process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME;

export const logger = new Logger({
  serviceName: SERVICE,
  persistentKeys: { stage: process.env.VIGIL_STAGE ?? 'local' },
});

/** What the shared code (tracing.ts, http-probe.ts) asks of the X-Ray tracer. */
export type SharedTracer = Pick<
  Tracer,
  | 'isTracingEnabled'
  | 'putAnnotation'
  | 'annotateColdStart'
  | 'addServiceNameAnnotation'
  | 'getSegment'
> & { provider: Pick<Tracer['provider'], 'captureAsyncFunc' | 'captureFunc'> };

/**
 * The process's tracer: tracing off, until a Lambda entry installs the Powertools Tracer
 * (functions/adapters/aws/xray-tracer.ts). Local mode, tests and scripts never load the X-Ray
 * SDK (about half of a local start's module load).
 */
export let tracer: SharedTracer = {
  isTracingEnabled: () => false,
  putAnnotation: () => undefined,
  annotateColdStart: () => undefined,
  addServiceNameAnnotation: () => undefined,
  getSegment: () => undefined,
  provider: { captureAsyncFunc: (_name, fn) => fn(), captureFunc: (_name, fn) => fn() },
};

export const installTracer = (installed: SharedTracer): void => {
  tracer = installed;
};

// Powertools' own warnings (e.g. on dimensions) as structured log lines at the log level,
// not raw console output.
export const metrics = new Metrics({ namespace: NAMESPACE, serviceName: SERVICE, logger });
