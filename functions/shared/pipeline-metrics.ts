import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { PipelineMetric } from '../core/metrics/catalog';

/** The dimensions a pipeline metric takes: exactly the ones the catalog lists. */
export type DimensionsOf<M extends PipelineMetric> = Record<M['dimensions'][number], string>;

/**
 * Emits one pipeline metric as its own EMF document, under only its own dimensions. Anything
 * already buffered is flushed first so it does not pick up these dimensions, and nothing is
 * left buffered: a Metrics instance shared with another handler (the local runtime) never sees
 * half-built documents.
 */
export const emitPipelineMetric = <M extends PipelineMetric>(
  metrics: Metrics,
  metric: M,
  dimensions: DimensionsOf<M>,
  value = 1,
): void => {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  for (const [name, dimension] of Object.entries<string>(dimensions))
    metrics.addDimension(name, dimension);
  metrics.addMetric(metric.name, metric.unit, value);
  metrics.publishStoredMetrics();
};

/** Flushes whatever an invocation left buffered (end of every invocation). */
export const flushMetrics = (metrics: Metrics): void => {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
};

/** A Lambda entry that records Powertools' `ColdStart` metric on its first invocation. */
export const withColdStartMetric =
  <A extends unknown[], R>(metrics: Metrics, handler: (...args: A) => Promise<R>) =>
  (...args: A): Promise<R> => {
    metrics.captureColdStartMetric();
    return handler(...args);
  };
