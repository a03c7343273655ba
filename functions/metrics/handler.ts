import { MetricResolution, type Metrics } from '@aws-lambda-powertools/metrics';
import type { VigilConfig } from '../core/config';
import { type BusEvent, eventContext, parseBusEvent } from '../core/events';
import { datapointsFor } from '../core/metrics/catalog';
import { logger } from '../shared/powertools';

/**
 * Turns canonical events into CloudWatch metrics through Powertools Metrics (EMF).
 * One EMF document per dimension group, timestamped at ingestion so alarms see them.
 */
export const createMetricsHandler =
  (deps: { config: VigilConfig; metrics: Metrics }) =>
  async (event: BusEvent): Promise<void> => {
    const known = parseBusEvent(event);
    const { metrics } = deps;
    const { correlationId, at } = eventContext(known);
    logger.appendKeys({ correlation_id: correlationId });
    try {
      const timestamp = new Date(at);
      for (const group of datapointsFor(known, deps.config)) {
        for (const set of group.dimensionSets) metrics.addDimensions(set);
        for (const datum of group.data)
          metrics.addMetric(
            datum.name,
            datum.unit,
            datum.value,
            datum.highResolution ? MetricResolution.High : MetricResolution.Standard,
          );
        metrics.setTimestamp(timestamp);
        metrics.publishStoredMetrics();
      }
    } finally {
      logger.resetKeys();
    }
  };
