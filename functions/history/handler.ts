import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { VigilConfig } from '../core/config';
import { SOURCES } from '../core/event-names';
import type { BusEvent } from '../core/events';
import { type HistoryDeps, recordReport } from '../core/history/service';
import type { HistoryStore } from '../core/history/types';
import { DIMENSIONS, METRICS } from '../core/metrics/catalog';
import type { ArchiveReader, Clock, EventPublisher } from '../core/ports';
import { flushMetrics } from '../shared/pipeline-metrics';
import { logger } from '../shared/powertools';
import { annotate, traceHandler } from '../shared/tracing';

/**
 * The history handler: an ingest report from the bus (rule `EVENT_PATTERNS.history`) → the run
 * and every test outcome in the history store → `Test Flaky Detected` events for tests that
 * became flaky, and the `FlakyTests` metric. The same function runs in Lambda (DynamoDB, S3,
 * EventBridge) and locally (data-dir files, the local bus).
 */

export interface HistoryHandlerDeps {
  config: VigilConfig;
  stage?: string;
  store: HistoryStore;
  archive: ArchiveReader;
  publisher: EventPublisher;
  clock: Clock;
  metrics: Metrics;
  /** Store requests in flight at once (default 16). */
  maxConcurrency?: number;
}

export const createHistoryHandler = (deps: HistoryHandlerDeps) =>
  traceHandler('history', async (event: BusEvent): Promise<void> => {
    // An invalid event throws (as in the metrics handler): the retries and the dead-letter
    // queue keep it for inspection instead of dropping it silently.
    // The event schemas (zod) load on the first event, not at init (docs/performance.md#cold-start).
    const { parseBusEvent, eventContext } = await import('../core/events');
    const known = parseBusEvent(event);
    const { correlationId, at } = eventContext(known);
    logger.appendKeys({ correlation_id: correlationId });
    annotate({
      correlationId,
      project: known.source === SOURCES.ingest ? known.detail.metadata.project : undefined,
    });
    try {
      const { metrics, ...rest } = deps;
      const serviceDeps: HistoryDeps = rest;
      const result = await recordReport(known, serviceDeps);
      const { run } = result;
      if (run.kind === 'tests') {
        // A gauge per run (read it with Maximum/Average): a redelivered event repeats the
        // same value, which leaves both statistics unchanged.
        metrics.addDimensions({ [DIMENSIONS.project]: run.project });
        metrics.addMetric(METRICS.flakyTests.name, METRICS.flakyTests.unit, result.flaky);
        metrics.setTimestamp(new Date(at));
        metrics.publishStoredMetrics();
      }
      logger.info('history recorded', {
        project: run.project,
        runId: run.runId,
        kind: run.kind,
        tests: result.tests,
        flaky: result.flaky,
        noticed: result.newlyNoticed.length,
        ...(result.newlyNoticed.length
          ? { noticedTests: result.newlyNoticed.slice(0, 20).map((n) => n.test.id) }
          : {}),
      });
    } finally {
      flushMetrics(deps.metrics);
      logger.resetKeys();
    }
  });
