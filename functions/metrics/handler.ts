import { MetricResolution, type Metrics } from '@aws-lambda-powertools/metrics';
import type { VigilConfig } from '../core/config';
import { SOURCES } from '../core/event-names';
import type { BusEvent, KnownEvent } from '../core/events';
import { datapointsFor } from '../core/metrics/catalog';
import { logger } from '../shared/powertools';
import { annotate, traceHandler } from '../shared/tracing';

/** Trace annotations of an event: the project, and the probe for probe results. */
const annotationsOf = (known: KnownEvent): { project: string; probe?: string } =>
  known.source === SOURCES.alert
    ? { project: known.detail.project }
    : known.source === SOURCES.probe
      ? { project: known.detail.metadata.project, probe: known.detail.metadata.probe }
      : { project: known.detail.metadata.project };

/**
 * What a delivery is de-duplicated on. An ingest event: its run (source, detail type, project,
 * run id), since the ingest may publish one run twice under new event ids (a retry after its
 * ledger entry could not be completed, see `ingest`); any other event: its `id`.
 */
export const deliveryKey = (event: BusEvent): string => {
  const m = (event.detail as { metadata?: { project?: unknown; runId?: unknown } } | null)
    ?.metadata;
  return event.source === SOURCES.ingest &&
    typeof m?.project === 'string' &&
    typeof m.runId === 'string'
    ? JSON.stringify([event.source, event['detail-type'], m.project, m.runId])
    : event.id;
};

/**
 * Turns canonical events into CloudWatch metrics through Powertools Metrics (EMF).
 * One EMF document per dimension group, timestamped at ingestion so alarms see them.
 */
export const createMetricsHandler = (deps: { config: VigilConfig; metrics: Metrics }) =>
  traceHandler('metrics', async (event: BusEvent): Promise<void> => {
    // The event schemas (zod) load on the first event, not at init (docs/performance.md#cold-start).
    const { parseBusEvent, eventContext } = await import('../core/events');
    const known = parseBusEvent(event);
    const { metrics } = deps;
    const { correlationId, at } = eventContext(known);
    logger.appendKeys({ correlation_id: correlationId });
    annotate({ correlationId, ...annotationsOf(known) });
    try {
      const timestamp = new Date(at);
      for (const group of datapointsFor(known, deps.config)) {
        // One document per dimension set: EMF allows several in one, but Powertools warns on
        // every publish where two share a key ([Project] and [Project, Suite]).
        for (const set of group.dimensionSets) {
          metrics.addDimensions(set);
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
      }
    } finally {
      logger.resetKeys();
    }
  });
