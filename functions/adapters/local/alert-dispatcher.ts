import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { ChannelConfig } from '../../core/config';
import { type AlertNotification, DETAIL_TYPES, SOURCES } from '../../core/events';
import { PIPELINE_METRICS } from '../../core/metrics/catalog';
import type { EventPublisher } from '../../core/ports';
import {
  type DeliveryDeps,
  deliver,
  deliverableChannels,
  isDeliveryError,
  type ResolveSecret,
} from '../../shared/channels';
import { emitPipelineMetric } from '../../shared/pipeline-metrics';
import { logger as sharedLogger } from '../../shared/powertools';

/**
 * Local mode's alert dispatch: puts the `Alert State Changed` event on the local bus, then
 * posts to every Slack and webhook channel directly (with the channel retry policy). What still
 * fails is appended to `<dataDir>/notify-dead-letter.ndjson` and counted (`stats` and the
 * pipeline metric `DeliveryFailures`, as the notify function counts it on AWS), never dropped
 * silently. Email needs SNS: it is skipped, with one log line saying so.
 */

type Log = Pick<typeof sharedLogger, 'info' | 'warn' | 'error'>;

export interface LocalAlertDispatcherOptions
  extends Pick<DeliveryDeps, 'fetch' | 'sleep' | 'maxAttempts' | 'baseDelayMs' | 'timeoutMs'> {
  channels: readonly ChannelConfig[];
  dataDir: string;
  resolveSecret: ResolveSecret;
  publisher: EventPublisher;
  logger?: Log;
  /** Where `DeliveryFailures` goes (the local runtime's metric store). Default: not emitted. */
  metrics?: Metrics;
}

export interface DeadLetter {
  failedAt: string;
  channel: string;
  error: string;
  attempts: number;
  httpStatus?: number;
  notification: AlertNotification;
}

export const NOTIFY_DEAD_LETTER_FILE = 'notify-dead-letter.ndjson';

export class LocalAlertDispatcher {
  readonly stats = { delivered: 0, deadLetters: 0 };
  readonly #opts: LocalAlertDispatcherOptions;
  readonly #log: Log;
  #emailNoticeLogged = false;

  constructor(opts: LocalAlertDispatcherOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? sharedLogger;
  }

  get deadLetterFile(): string {
    return join(this.#opts.dataDir, NOTIFY_DEAD_LETTER_FILE);
  }

  /** The service's `dispatch`: bound, so it can be passed around. */
  readonly dispatch = async (notification: AlertNotification): Promise<void> => {
    // The event first: if the bus refuses it, nothing went out and the service keeps the
    // notification in its outbox for the next attempt.
    await this.#opts.publisher.publish([
      { source: SOURCES.alert, detailType: DETAIL_TYPES.alertStateChanged, detail: notification },
    ]);
    if (!this.#emailNoticeLogged && this.#opts.channels.some((c) => c.type === 'email')) {
      this.#emailNoticeLogged = true;
      this.#log.info('email alert channels need AWS (SNS email subscriptions); skipped locally');
    }
    const {
      channels: _c,
      dataDir: _d,
      publisher: _p,
      logger: _l,
      metrics: _m,
      ...deliveryDeps
    } = this.#opts;
    await Promise.all(
      deliverableChannels(this.#opts.channels).map(async ({ channel, label }) => {
        try {
          const result = await deliver(notification, channel, {
            ...deliveryDeps,
            label,
            onRetry: (info) => this.#log.warn('alert delivery retry', { ...info }),
          });
          this.stats.delivered++;
          this.#log.info('alert delivered', {
            channel: label,
            kind: notification.kind,
            checkKey: notification.checkKey,
            attempts: result.attempts,
          });
        } catch (e) {
          if (this.#opts.metrics)
            emitPipelineMetric(this.#opts.metrics, PIPELINE_METRICS.deliveryFailures, {
              Channel: channel.type,
            });
          await this.#deadLetter(notification, label, e);
        }
      }),
    );
  };

  async #deadLetter(notification: AlertNotification, channel: string, e: unknown): Promise<void> {
    const entry: DeadLetter = {
      failedAt: new Date().toISOString(),
      channel,
      error: e instanceof Error ? e.message : String(e),
      attempts: isDeliveryError(e) ? e.attempts : 0,
      ...(isDeliveryError(e) && e.httpStatus !== undefined ? { httpStatus: e.httpStatus } : {}),
      notification,
    };
    this.stats.deadLetters++;
    this.#log.error('alert delivery failed; dead-lettered', {
      channel,
      kind: notification.kind,
      checkKey: notification.checkKey,
      error: entry.error,
      deadLetters: this.stats.deadLetters,
    });
    await mkdir(this.#opts.dataDir, { recursive: true });
    await appendFile(this.deadLetterFile, `${JSON.stringify(entry)}\n`);
  }
}
