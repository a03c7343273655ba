import { Metrics } from '@aws-lambda-powertools/metrics';
import { logger } from '../../shared/powertools';
import type { LocalMetricStore } from './metric-store';

/**
 * A Powertools Metrics instance whose EMF output goes to the local metric store
 * (and optionally to a log) instead of stdout. Powertools prints EMF through its own
 * `console` field, with `log` only; replacing that field is the one seam it offers, and the
 * local runtime's tests fail if an upgrade moves it or calls another method.
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
  // Each EMF document is one `console.log(json)`: read straight into the store, with no stream
  // or line splitting in between.
  const sink = {
    log: (line: string) => {
      store.ingestLine(line);
      opts.echo?.(line);
    },
  };
  Reflect.set(metrics, 'console', sink);
  Reflect.set(metrics, 'disabled', false);
  return metrics;
};
