import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SNSEvent } from 'aws-lambda';
import type { VigilConfig } from '../core/config';
import { VigilError } from '../core/errors';
import { type AlertNotification, alertNotificationSchema } from '../core/events';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
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
 * (A retry posts to every channel again: a channel that had succeeded may see a duplicate.)
 */

export interface NotifyHandlerDeps
  extends Pick<DeliveryDeps, 'fetch' | 'sleep' | 'maxAttempts' | 'baseDelayMs' | 'timeoutMs'> {
  config: VigilConfig;
  resolveSecret: ResolveSecret;
  /** Where the pipeline metrics go. Default: the shared Powertools instance. */
  metrics?: Metrics;
}

const parseMessage = (messageId: string, message: string): AlertNotification => {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw new VigilError('bad_request', `SNS message ${messageId} is not JSON`);
  }
  const parsed = alertNotificationSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VigilError(
      'bad_request',
      `SNS message ${messageId} is not an alert notification: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad shape'}`,
    );
  }
  return parsed.data;
};

export const createNotifyHandler = (deps: NotifyHandlerDeps) => {
  const { config, metrics: injectedMetrics, ...deliveryDeps } = deps;
  const metrics = injectedMetrics ?? sharedMetrics;
  const channels = deliverableChannels(config.alerts.channels);
  const handle = async (event: SNSEvent): Promise<void> => {
    const failures: string[] = [];
    for (const record of event.Records) {
      const n = parseMessage(record.Sns.MessageId, record.Sns.Message);
      logger.appendKeys({ correlation_id: n.correlationId });
      annotate({ correlationId: n.correlationId, project: n.project, checkKey: n.checkKey });
      try {
        // Every channel is tried; a failed one is logged, counted and named in the error.
        const errors = await Promise.all(
          channels.map(async ({ channel, label }) => {
            try {
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
              return undefined;
            } catch (e) {
              const error = e instanceof Error ? e.message : String(e);
              logger.error('alert delivery failed', { channel: label, kind: n.kind, error });
              emitPipelineMetric(metrics, PIPELINE_METRICS.deliveryFailures, {
                Channel: channel.type,
              });
              return error;
            }
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
