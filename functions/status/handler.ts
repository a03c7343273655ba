import type { BusEvent } from '../core/events';
import { recordStatusEvent, type StatusRecordDeps } from '../core/status/service';
import { logger } from '../shared/powertools';
import { annotate, traceHandler } from '../shared/tracing';

/**
 * The status handler: reports, probe runs and alert transitions from the bus (rule
 * `EVENT_PATTERNS.status`) → the run catalog, the probe history and the incidents that the
 * dashboard API reads. The same function runs in Lambda (DynamoDB) and locally.
 */
export const createStatusHandler = (deps: StatusRecordDeps) =>
  traceHandler('status', async (event: BusEvent): Promise<void> => {
    // An invalid event throws: the retries and the dead-letter queue keep it.
    // The event schemas (zod) load on the first event, not at init (docs/performance.md#cold-start).
    const { parseBusEvent, eventContext } = await import('../core/events');
    const known = parseBusEvent(event);
    const { correlationId } = eventContext(known);
    logger.appendKeys({ correlation_id: correlationId });
    annotate({ correlationId });
    try {
      const recorded = await recordStatusEvent(known, deps);
      logger.debug('status recorded', { recorded, detailType: known.detailType });
    } finally {
      logger.resetKeys();
    }
  });
