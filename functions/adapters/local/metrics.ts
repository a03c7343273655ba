import { Console } from 'node:console';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logger } from '../../shared/powertools';
import type { LocalMetricStore } from './metric-store';

/**
 * A Powertools Metrics instance whose EMF output goes to the local metric store
 * (and optionally to a log) instead of stdout. Powertools prints EMF through its own
 * `console` field; replacing that field is the one seam it offers, and the local
 * runtime's tests fail if an upgrade moves it.
 */
export const createLocalMetrics = (
  store: LocalMetricStore,
  opts: { namespace: string; serviceName: string; echo?: (line: string) => void },
): Metrics => {
  const metrics = new Metrics({
    namespace: opts.namespace,
    serviceName: opts.serviceName,
    logger, // its warnings as log lines, like the Lambda functions' (shared/powertools.ts)
  });
  const sink = store.writable(opts.echo);
  Reflect.set(metrics, 'console', new Console({ stdout: sink, stderr: process.stderr }));
  Reflect.set(metrics, 'disabled', false);
  return metrics;
};
