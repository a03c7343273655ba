import type { Metrics } from '@aws-lambda-powertools/metrics';
import { okStateFor } from '../core/alerts/delivery';
import { SECURITY_NOTICE_KEY, securityNotices } from '../core/alerts/security';
import {
  type AlertStateStore,
  processObservation,
  retireRemovedChecks,
} from '../core/alerts/service';
import {
  isCloudWatchAlarmEvent,
  noticeFromEvent,
  observationFromEvent,
} from '../core/alerts/sources';
import type { AlertState, Observation } from '../core/alerts/state';
import type { VigilConfig } from '../core/config';
import { withDashboardUrl } from '../core/dashboard-links';
import { DETAIL_TYPES } from '../core/event-names';
import type { AlertNotification, BusEvent } from '../core/events';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
import type { Clock, Dispatch } from '../core/ports';
import { activeSpan } from '../shared/otel/spans';
import { emitPipelineMetric, flushMetrics } from '../shared/pipeline-metrics';
import { logger, metrics as sharedMetrics } from '../shared/powertools';
import { annotate, traceHandler } from '../shared/tracing';

/**
 * The alert handler: a bus event (probe runs, test runs and gates from the Vigil bus;
 * CloudWatch alarm state changes from the default bus) → an observation → the alert state
 * machine → a notification handed to `dispatch`. A flaky test found on an alerting branch
 * skips the state machine: it is one NOTICE, sent once; so is each new critical or high security
 * finding on an alerting branch. The same function runs in Lambda
 * (dispatch = SNS + the Vigil bus) and locally (dispatch = direct delivery + the local bus).
 */

export interface AlertHandlerDeps {
  config: VigilConfig;
  store: AlertStateStore;
  dispatch: Dispatch;
  /** A withheld RESOLVED on the bus only (the alert service's `announce`). */
  announce?: Dispatch;
  clock: Clock;
  /** Where the pipeline metrics go. Default: the shared Powertools instance. */
  metrics?: Metrics;
  /**
   * Close the alerts of probes and heartbeats the config no longer names before the first event
   * (default true: on AWS a new config means new containers). Local mode does it at start instead.
   */
  retireRemovedChecks?: boolean;
  /**
   * The dashboard's base address for the links in messages, as the composition root resolved it
   * (`dashboardUrlFor`, else local mode's own address or the API's URL on AWS).
   */
  dashboardUrl?: string;
}

/** What an event asks of the alert handler: an observation for the state machine, or a NOTICE. */
export type AlertRoute =
  | { observation: Observation }
  | {
      notice: AlertNotification;
      /** Sent once per key: the run that found the test flaky. */
      noticeKey: string;
    }
  | {
      /** New critical/high security findings: one NOTICE each, sent once per finding. */
      notices: AlertNotification[];
    };

/** The route an event takes, or `undefined` when it does not alert. */
export const routeEvent = async (
  event: BusEvent,
  config: VigilConfig,
): Promise<AlertRoute | undefined> => {
  // The schemas (zod) of alarms and of Vigil's events load with the first event, not at init.
  if (isCloudWatchAlarmEvent(event)) {
    const { alarmObservation } = await import('../core/alerts/alarm-source');
    const observation = alarmObservation(event, config);
    return observation && { observation };
  }
  const { parseBusEvent } = await import('../core/events');
  const known = parseBusEvent(event);
  if (known.detailType === DETAIL_TYPES.testFlaky) {
    const notice = noticeFromEvent(known, event.id, config);
    return notice && { notice, noticeKey: known.detail.metadata.runId };
  }
  if (known.detailType === DETAIL_TYPES.security) {
    const notices = securityNotices(known.detail, event.id, config);
    return notices.length > 0 ? { notices } : undefined;
  }
  const observation = observationFromEvent(known, event.id, config);
  return observation && { observation };
};

/** Runs whose NOTICE a check remembers (a test is announced at most weekly: plenty). */
const RECENT_NOTICES = 20;

/**
 * Send a NOTICE once per key: the check's state (always `OK`, so never listed as active)
 * remembers the keys already sent, so a redelivered event, or the history announcing the same
 * run again after a retry, sends nothing new. Dispatch first, then remember: a crash in between
 * sends it again on the retry (at least once) rather than never.
 */
const sendNotice = async (
  n: AlertNotification,
  key: string,
  deps: AlertHandlerDeps,
): Promise<boolean> => {
  const prev = await deps.store.get(n.checkKey);
  if (prev?.recentObservationIds.includes(key)) return false;
  await deps.dispatch(n);
  emitPipelineMetric(deps.metrics ?? sharedMetrics, PIPELINE_METRICS.alertsSent, { Kind: n.kind });
  try {
    await deps.store.appendHistory(n);
  } catch (error) {
    logger.warn('could not record alert history', { checkKey: n.checkKey, error });
  }
  try {
    let current = prev;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const next: AlertState = {
        ...okStateFor(n, deps.clock.now().toISOString()),
        recentObservationIds: [...(current?.recentObservationIds ?? []), key].slice(
          -RECENT_NOTICES,
        ),
        lastNotifiedAt: n.at,
        lastObservedAt: n.at,
        // Deliveries queued by the dispatcher (local mode) stay.
        ...(current?.deliveries ? { deliveries: current.deliveries } : {}),
        version: (current?.version ?? 0) + 1,
      };
      if (await deps.store.putIfVersion(next, current?.version ?? 0)) return true;
      current = await deps.store.get(n.checkKey);
      if (current?.recentObservationIds.includes(key)) return true;
    }
    logger.warn('could not remember a sent notice; a redelivery may repeat it', {
      checkKey: n.checkKey,
    });
  } catch (error) {
    logger.warn('could not remember a sent notice; a redelivery may repeat it', {
      checkKey: n.checkKey,
      error,
    });
  }
  return true;
};

/** Notifications carry the active span's trace context, so their delivery continues the trace. */
const withTraceContext =
  (dispatch: Dispatch): Dispatch =>
  (n) => {
    const traceparent = activeSpan()?.traceparent;
    return dispatch(traceparent ? { ...n, traceparent } : n);
  };

/** `retireRemovedChecks` with the handler's deps, logging what it closed; never throws. */
export const retireRemoved = async (
  deps: Pick<
    AlertHandlerDeps,
    'config' | 'store' | 'dispatch' | 'announce' | 'clock' | 'metrics' | 'dashboardUrl'
  >,
): Promise<void> => {
  try {
    const retired = await retireRemovedChecks(deps.config, {
      store: deps.store,
      dispatch: async (n) => {
        await deps.dispatch(n);
        emitPipelineMetric(deps.metrics ?? sharedMetrics, PIPELINE_METRICS.alertsSent, {
          Kind: n.kind,
        });
      },
      ...(deps.announce ? { announce: deps.announce } : {}),
      clock: deps.clock,
      maintenance: deps.config.alerts.maintenance,
      ...(deps.dashboardUrl === undefined ? {} : { dashboardUrl: deps.dashboardUrl }),
      onHistoryError: (error, n) =>
        logger.warn('could not record alert history', { checkKey: n.checkKey, error }),
    });
    if (retired.length > 0)
      logger.info('alerts of checks removed from the configuration closed', { checkKeys: retired });
  } catch (error) {
    logger.error('closing the alerts of removed checks failed', { error });
  } finally {
    flushMetrics(deps.metrics ?? sharedMetrics);
  }
};

export const createAlertHandler = (handlerDeps: AlertHandlerDeps) => {
  const deps = { ...handlerDeps, dispatch: withTraceContext(handlerDeps.dispatch) };
  // Once per instance (a Lambda container), before its first event.
  let retired: Promise<void> | undefined =
    handlerDeps.retireRemovedChecks === false ? Promise.resolve() : undefined;
  return traceHandler('alert', async (event: BusEvent): Promise<void> => {
    retired ??= retireRemoved(deps);
    await retired;
    const route = await routeEvent(event, deps.config);
    if (!route) {
      logger.debug('event does not alert', { eventId: event.id, detailType: event['detail-type'] });
      return;
    }
    if ('notice' in route || 'notices' in route) {
      const list = (
        'notice' in route
          ? [{ n: route.notice, key: route.noticeKey }]
          : route.notices.map((n) => ({ n, key: SECURITY_NOTICE_KEY }))
      ).map(({ n, key }) => ({ n: withDashboardUrl(n, deps.dashboardUrl), key }));
      const first = list[0]?.n;
      if (first) {
        logger.appendKeys({ correlation_id: first.correlationId });
        annotate({
          correlationId: first.correlationId,
          project: first.project,
          checkKey: first.checkKey,
        });
      }
      try {
        for (const { n, key } of list) {
          const sent = await sendNotice(n, key, deps);
          logger.info(sent ? 'notice sent' : 'notice already sent', {
            checkKey: n.checkKey,
            notification: n.kind,
            incidentId: n.incidentId,
          });
        }
      } finally {
        flushMetrics(deps.metrics ?? sharedMetrics);
        logger.resetKeys();
      }
      return;
    }
    const obs = route.observation;
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
        ...(deps.announce ? { announce: deps.announce } : {}),
        clock: deps.clock,
        maintenance: deps.config.alerts.maintenance,
        repeatMinutes: deps.config.alerts.repeatMinutes,
        ...(deps.dashboardUrl === undefined ? {} : { dashboardUrl: deps.dashboardUrl }),
        onHistoryError: (error, n) =>
          logger.warn('could not record alert history', { checkKey: n.checkKey, error }),
      });
      for (const sent of result.sent)
        emitPipelineMetric(deps.metrics ?? sharedMetrics, PIPELINE_METRICS.alertsSent, {
          Kind: sent.kind,
        });
      const n = result.notification;
      // Every probe result comes here: only what changes something is worth INFO.
      const changed =
        result.from !== result.state.status || n !== undefined || result.sent.length > 0;
      (changed ? logger.info : logger.debug).call(logger, 'alert observation applied', {
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
};
