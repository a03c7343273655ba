import { LocalAlertDispatcher } from '../../adapters/local/alert-dispatcher';
import type { LocalBus } from '../../adapters/local/bus';
import { EnvSecretResolver } from '../../adapters/local/env-secrets';
import { createLocalMetrics } from '../../adapters/local/metrics';
import type { LocalStore } from '../../adapters/local/store';
import { createAlertHandler, retireRemoved } from '../../alert/handler';
import type { VigilConfig } from '../../core/config';
import { historyRetentionDays } from '../../core/config-access';
import { type BusEvent, EVENT_PATTERNS, eventContext, parseBusEvent } from '../../core/events';
import { systemClock } from '../../core/ports';
import { createHistoryHandler } from '../../history/handler';
import { createMetricsHandler } from '../../metrics/handler';
import { logger, NAMESPACE, SERVICE } from '../../shared/powertools';
import { withSentry } from '../../shared/sentry';
import { createStatusHandler } from '../../status/handler';

/**
 * The bus's subscribers of local mode (the CDK rules' targets): metrics, alerts (with the
 * dispatcher that delivers to Slack and webhooks), history and the dashboard's status. The bus
 * worker thread (bus-worker.ts) wires them to its own connection to the store.
 */

export interface SubscriberOptions {
  config: VigilConfig;
  store: LocalStore;
  bus: LocalBus;
  env: NodeJS.ProcessEnv;
  /** Print EMF lines as the Lambda runtime would. */
  echoMetrics?: boolean;
  /** The dashboard's address for the links in alert messages (see `AlertHandlerDeps`). */
  dashboardUrl?: string;
}

/** The correlation id an event carries, if it is one of Vigil's. */
const correlationIdOf = (event: BusEvent): string | undefined => {
  try {
    return eventContext(parseBusEvent(event)).correlationId;
  } catch {
    return undefined;
  }
};

/** Logs a failed delivery attempt with the event's correlation id. */
export const logDeliveryError = (
  rule: string,
  event: BusEvent,
  error: unknown,
  attempt: number,
): void =>
  logger.error('event delivery failed', {
    rule,
    eventId: event.id,
    attempt,
    error,
    // The handler has reset its keys by now: name the event's id again.
    correlation_id: correlationIdOf(event),
  });

/**
 * The events of one project one at a time, in publish order, so that a project's test records
 * and alert states never race when CI jobs finish together (no version conflicts, retries or
 * dead letters); projects run in parallel.
 */
const byProject = (event: BusEvent): string | undefined => {
  const project = (event.detail as { metadata?: { project?: unknown } } | null)?.metadata?.project;
  return typeof project === 'string' ? project : undefined;
};

/**
 * Subscribes the handlers to `bus`; returns the alert dispatcher (start it after the bus) and
 * `retireRemoved`, which closes the alerts of checks the config no longer names (at start).
 */
export const subscribe = ({
  config,
  store,
  bus,
  env,
  echoMetrics,
  dashboardUrl,
}: SubscriberOptions): { alerts: LocalAlertDispatcher; retireRemoved: () => Promise<void> } => {
  const metrics = createLocalMetrics(store.metrics, {
    namespace: NAMESPACE,
    serviceName: SERVICE,
    echo: echoMetrics ? (line) => process.stdout.write(`${line}\n`) : undefined,
  });
  bus.subscribe(
    'metrics',
    EVENT_PATTERNS.metrics,
    withSentry('metrics', createMetricsHandler({ config, metrics })),
  );
  const secrets = new EnvSecretResolver(env);
  const alerts = new LocalAlertDispatcher({
    channels: config.alerts.channels,
    dataDir: store.dataDir,
    publisher: bus,
    store: store.alerts,
    resolveSecret: (name) => secrets.resolve(name),
    metrics,
  });
  bus.subscribe(
    'alerts',
    EVENT_PATTERNS.alerts,
    withSentry(
      'alert',
      createAlertHandler({
        config,
        store: store.alerts,
        dispatch: alerts.dispatch,
        announce: alerts.announce,
        clock: systemClock,
        metrics,
        // Done once at start (retireRemoved below), not at the first event.
        retireRemovedChecks: false,
        ...(dashboardUrl === undefined ? {} : { dashboardUrl }),
      }),
    ),
    { groupBy: byProject },
  );
  bus.subscribe(
    'history',
    EVENT_PATTERNS.history,
    withSentry(
      'history',
      createHistoryHandler({
        config,
        stage: 'local',
        store: store.history,
        archive: store.archive,
        publisher: bus,
        clock: systemClock,
        metrics,
      }),
    ),
    { groupBy: byProject },
  );
  bus.subscribe(
    'status',
    EVENT_PATTERNS.status,
    withSentry(
      'status',
      createStatusHandler({
        ...store.status,
        ttlDays: historyRetentionDays(config, 'local'),
        archive: store.archive,
      }),
    ),
  );
  return {
    alerts,
    retireRemoved: () =>
      retireRemoved({
        config,
        store: store.alerts,
        dispatch: alerts.dispatch,
        announce: alerts.announce,
        clock: systemClock,
        metrics,
        ...(dashboardUrl === undefined ? {} : { dashboardUrl }),
      }),
  };
};
