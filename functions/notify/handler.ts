import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SNSEvent } from 'aws-lambda';
import type { VigilConfig } from '../core/config';
import { firstIssue, messageOf, VigilError } from '../core/errors';
import type { AlertNotification } from '../core/events';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
import type { DeliveryMarks } from '../core/ports';
import {
  type DeliveryDeps,
  deliver,
  deliverableChannels,
  type ResolveSecret,
} from '../shared/channels';
import { emitPipelineMetric } from '../shared/pipeline-metrics';
import { logger, metrics as sharedMetrics } from '../shared/powertools';
import { annotate, traceHandler } from '../shared/tracing';

/**
 * The notify function: subscribed to the alert SNS topics, it posts each AlertNotification
 * to every Slack and webhook channel in the config (email channels are SNS subscriptions of
 * their own). When a channel still fails after its retries the function throws, so Lambda's
 * asynchronous retries and the function's dead-letter queue / on-failure destination take over.
 * Each channel that got a notification is marked (`marks`), so a retry posts only to the
 * channels that failed. (A mark that cannot be written after a post leaves at most that one
 * duplicate.)
 */

export interface NotifyHandlerDeps
  extends Pick<DeliveryDeps, 'fetch' | 'sleep' | 'maxAttempts' | 'baseDelayMs' | 'timeoutMs'> {
  config: VigilConfig;
  resolveSecret: ResolveSecret;
  /** Where the pipeline metrics go. Default: the shared Powertools instance. */
  metrics?: Metrics;
  /** Channels that already have a notification. Default: none recorded (every retry posts again). */
  marks?: DeliveryMarks;
}

/** One notification on one channel. */
export const deliveryKey = (n: AlertNotification, label: string): string =>
  `${n.incidentId}#${n.kind}#${n.at}#${label}`;

const parseMessage = async (messageId: string, message: string): Promise<AlertNotification> => {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw new VigilError('bad_request', `SNS message ${messageId} is not JSON`);
  }
  // The event schemas (zod) load on the first event, not at init (docs/performance.md#cold-start).
  const { alertNotificationSchema } = await import('../core/events');
  const parsed = alertNotificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new VigilError(
      'bad_request',
      `SNS message ${messageId} is not an alert notification: ${firstIssue(parsed.error)}`,
    );
  }
  return parsed.data;
};

export const createNotifyHandler = (deps: NotifyHandlerDeps) => {
  const { config, metrics: injectedMetrics, marks, ...deliveryDeps } = deps;
  const metrics = injectedMetrics ?? sharedMetrics;
  const channels = deliverableChannels(config.alerts.channels);
  const handle = async (event: SNSEvent): Promise<void> => {
    const failures: string[] = [];
    for (const record of event.Records) {
      const n = await parseMessage(record.Sns.MessageId, record.Sns.Message);
      logger.appendKeys({ correlation_id: n.correlationId });
      annotate({ correlationId: n.correlationId, project: n.project, checkKey: n.checkKey });
      try {
        // Every channel is tried; a failed one is logged, counted and named in the error. A
        // channel that already has this notification (an earlier attempt) is skipped.
        const errors = await Promise.all(
          channels.map(async ({ channel, label }) => {
            const key = deliveryKey(n, label);
            try {
              // A mark that cannot be read does not hold the message back (it may repeat once).
              const already = await marks?.delivered(key).catch((error: unknown) => {
                logger.warn('could not read the delivery marks; sending', {
                  channel: label,
                  error: messageOf(error),
                });
                return false;
              });
              if (already) {
                logger.info('alert already delivered', { channel: label, kind: n.kind });
                return undefined;
              }
              const { attempts } = await deliver(n, channel, {
                ...deliveryDeps,
                label,
                onRetry: (info) => logger.warn('alert delivery retry', { ...info }),
              });
              logger.info('alert delivered', {
                channel: label,
                kind: n.kind,
                checkKey: n.checkKey,
                attempts,
              });
            } catch (e) {
              const error = messageOf(e);
              logger.error('alert delivery failed', { channel: label, kind: n.kind, error });
              emitPipelineMetric(metrics, PIPELINE_METRICS.deliveryFailures, {
                Channel: channel.type,
              });
              return error;
            }
            await marks?.mark(key).catch((error: unknown) =>
              logger.warn('could not record a delivery; a retry may post it again', {
                channel: label,
                error: messageOf(error),
              }),
            );
            return undefined;
          }),
        );
        for (const error of errors) if (error !== undefined) failures.push(error);
      } finally {
        logger.resetKeys();
      }
    }
    if (failures.length > 0) {
      throw new VigilError(
        'unavailable',
        `${failures.length} alert deliveries failed: ${failures.join('; ')}`,
      );
    }
  };

  return traceHandler('notify', handle);
};
