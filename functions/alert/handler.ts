import type { Metrics } from '@aws-lambda-powertools/metrics';
import { ZodError } from 'zod';
import { type AlertStateStore, processObservation } from '../core/alerts/service';
import {
  isCloudWatchAlarmEvent,
  observationFromAlarm,
  observationFromEvent,
} from '../core/alerts/sources';
import type { Observation } from '../core/alerts/state';
import type { VigilConfig } from '../core/config';
import { VigilError } from '../core/errors';
import { type AlertNotification, type BusEvent, parseBusEvent } from '../core/events';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
import type { Clock } from '../core/ports';
import { emitPipelineMetric, flushMetrics } from '../shared/pipeline-metrics';
import { logger, metrics as sharedMetrics } from '../shared/powertools';
import { annotate, traceHandler } from '../shared/tracing';

/**
 * The alert handler: a bus event (probe runs, test runs and gates from the Vigil bus;
 * CloudWatch alarm state changes from the default bus) → an observation → the alert state
 * machine → a notification handed to `dispatch`. The same function runs in Lambda (dispatch =
 * SNS + the Vigil bus) and locally (dispatch = direct delivery + the local bus).
 */

export type Dispatch = (notification: AlertNotification) => Promise<void>;

export interface AlertHandlerDeps {
  config: VigilConfig;
  store: AlertStateStore;
  dispatch: Dispatch;
  clock: Clock;
  /** Where the pipeline metrics go. Default: the shared Powertools instance. */
  metrics?: Metrics;
}

/** The observation an event stands for, or `undefined` when it does not alert. */
export const observationFor = (event: BusEvent, config: VigilConfig): Observation | undefined => {
  if (isCloudWatchAlarmEvent(event)) {
    try {
      return observationFromAlarm(event, config);
    } catch (e) {
      if (e instanceof ZodError) {
        const issue = e.issues[0];
        throw new VigilError(
          'bad_request',
          `Invalid CloudWatch alarm event: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad detail'}`,
        );
      }
      throw e;
    }
  }
  return observationFromEvent(parseBusEvent(event), event.id, config);
};

export const createAlertHandler = (deps: AlertHandlerDeps) =>
  traceHandler('alert', async (event: BusEvent): Promise<void> => {
    const obs = observationFor(event, deps.config);
    if (!obs) {
      logger.debug('event does not alert', { eventId: event.id, detailType: event['detail-type'] });
      return;
    }
    logger.appendKeys({ correlation_id: obs.correlationId });
    annotate({
      correlationId: obs.correlationId,
      project: obs.project,
      probe: obs.probe,
      checkKey: obs.checkKey,
    });
    try {
      const result = await processObservation(obs, {
        store: deps.store,
        dispatch: deps.dispatch,
        clock: deps.clock,
        maintenance: deps.config.alerts.maintenance,
        repeatMinutes: deps.config.alerts.repeatMinutes,
        onHistoryError: (error, n) =>
          logger.warn('could not record alert history', { checkKey: n.checkKey, error }),
      });
      for (const sent of result.sent)
        emitPipelineMetric(deps.metrics ?? sharedMetrics, PIPELINE_METRICS.alertsSent, {
          Kind: sent.kind,
        });
      const n = result.notification;
      logger.info('alert observation applied', {
        checkKey: obs.checkKey,
        ok: obs.ok,
        status: result.state.status,
        attempts: result.attempts,
        ...(n ? { notification: n.kind, incidentId: n.incidentId } : {}),
        ...(n?.suppressedBy ? { suppressedBy: n.suppressedBy } : {}),
        sent: result.sent.length,
      });
    } finally {
      flushMetrics(deps.metrics ?? sharedMetrics);
      logger.resetKeys();
    }
  });
