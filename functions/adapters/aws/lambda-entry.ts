import type { Context } from 'aws-lambda';
import { PIPELINE_METRICS } from '../../core/metrics/catalog';
import type { EventPublisher } from '../../core/ports';
import { requireEnv } from '../../shared/lambda-config';
import { flushSpans } from '../../shared/otel/spans';
import { emitPipelineMetric, withColdStartMetric } from '../../shared/pipeline-metrics';
import { metrics } from '../../shared/powertools';
import { withSentry } from '../../shared/sentry';
// The X-Ray tracer of every handler (the shared code's tracer is off until this installs it).
import './xray-tracer';

/**
 * What every Lambda entry (functions/<name>/index.ts) wires the same way.
 *
 * The Sentry DSN secret's reader (`sentry-dsn.ts`) and the bus publisher
 * (`eventbridge-publisher.ts`, `eventbridge-client.ts`) are loaded with `import()` when first
 * needed, so their SDKs (Secrets Manager, EventBridge) are not evaluated at init: nothing on the
 * init path may import those modules statically (docs/performance.md, Cold start).
 */

/** The stage's Sentry DSN secret (`SENTRY_DSN_SECRET_ID`), read when an event must first be sent. */
const sentryDsn = async (): Promise<string | undefined> =>
  (await import('./sentry-dsn')).sentryDsn();

/**
 * A handler as Lambda runs it: Sentry outermost (DSN from env or the stage secret), cold-start
 * metric, and the OpenTelemetry spans sent (at most the flush budget) before it returns or
 * throws, since the sandbox may freeze right after.
 */
export const lambdaEntry = <E, R>(
  name: string,
  handler: (event: E, context?: Context) => Promise<R>,
): ((event: E, context?: Context) => Promise<R>) => {
  const flushed = async (event: E, context?: Context): Promise<R> => {
    try {
      return await handler(event, context);
    } finally {
      await flushSpans();
    }
  };
  return withSentry(name, withColdStartMetric(metrics, flushed), { dsn: sentryDsn });
};

/**
 * The stage's Vigil bus (`EVENT_BUS_NAME`, required at init), counting publish retries as a
 * pipeline metric. The `EventBridgePublisher` and its client load at the first publish.
 */
export const busPublisher = (): EventPublisher => {
  const busName = requireEnv('EVENT_BUS_NAME');
  let publisher: Promise<EventPublisher> | undefined;
  return {
    publish: async (events) => {
      publisher ??= Promise.all([
        import('./eventbridge-publisher'),
        import('./eventbridge-client'),
      ]).then(
        ([{ EventBridgePublisher }, { eventBridge }]) =>
          new EventBridgePublisher({
            busName,
            client: eventBridge(),
            onRetry: () => emitPipelineMetric(metrics, PIPELINE_METRICS.publishRetries, {}),
          }),
      );
      return (await publisher).publish(events);
    },
  };
};
