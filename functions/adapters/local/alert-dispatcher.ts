import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import {
  type ChannelDelivery,
  type DeliveryPolicy,
  type DeliveryRunDeps,
  enqueueOnStore,
  fileDeadLetters,
  hasPendingWork,
  nextAttemptAt,
  startDue,
  unfiledDeliveries,
} from '../../core/alerts/delivery';
import { type AlertStateStore, flushOutbox } from '../../core/alerts/service';
import type { ChannelConfig } from '../../core/config';
import { DETAIL_TYPES, SOURCES } from '../../core/event-names';
import type { AlertNotification } from '../../core/events';
import { PIPELINE_METRICS } from '../../core/metrics/catalog';
import { type Clock, type EventPublisher, systemClock } from '../../core/ports';
import {
  type DeliverableChannel,
  type DeliveryDeps,
  DeliveryError,
  deliver,
  deliverableChannels,
  type ResolveSecret,
} from '../../shared/channels';
import { emitPipelineMetric } from '../../shared/pipeline-metrics';
import { logger as sharedLogger } from '../../shared/powertools';
import { syncDir } from './sync-dir';

/**
 * Local mode's alert dispatch. Handing a notification over puts the `Alert State Changed` event
 * on the local bus and queues one delivery per Slack and webhook channel in the check's
 * AlertState (core/alerts/delivery.ts): nothing is posted on the caller's path. A timer then
 * delivers each channel on its own, retries failures with backoff (they survive a restart:
 * they are in the state), and after the retry budget appends the delivery to
 * `<dataDir>/notify-dead-letter.ndjson` and counts it (`stats` and the pipeline metric
 * `DeliveryFailures`, as the notify function counts it on AWS), never dropping it silently: the
 * dead delivery stays marked `unfiled` in the state until its line is appended and flushed, and
 * an append that fails (a full disk) is tried again by the scan timer and at the next start.
 * At least once: a crash between the append and the mark appends the line again.
 * The timer also sends what a check's outbox still holds (e.g. after a crash mid-hand-over).
 * Email needs SNS: it is skipped, with one log line saying so.
 */

type Log = Pick<typeof sharedLogger, 'info' | 'warn' | 'error'>;

export interface LocalAlertDispatcherOptions extends Pick<DeliveryDeps, 'fetch' | 'timeoutMs'> {
  channels: readonly ChannelConfig[];
  dataDir: string;
  resolveSecret: ResolveSecret;
  publisher: EventPublisher;
  /** Where the deliveries are kept: the alert handler's store. */
  store: AlertStateStore;
  clock?: Clock;
  /** Retry budget and backoff (default `DELIVERY_DEFAULTS`: 12 attempts, 1 s doubling to 5 min). */
  policy?: Partial<DeliveryPolicy>;
  /** How often the store is scanned for deliveries left by a restart or a lost race. Default 5 000. */
  scanMs?: number;
  logger?: Log;
  /** Where `DeliveryFailures` goes (the local runtime's metric store). Default: not emitted. */
  metrics?: Metrics;
}

export interface DeadLetter {
  failedAt: string;
  channel: string;
  error: string;
  attempts: number;
  notification: AlertNotification;
}

export const NOTIFY_DEAD_LETTER_FILE = 'notify-dead-letter.ndjson';

/**
 * Appends `line` to `file` on a line of its own and flushes it (fsync; the directory too when the
 * file is new): resolves once the line is on disk. After a last line without its newline (a
 * crash, or a full disk, in the middle of an append) it starts with one, instead of being glued
 * onto the broken line.
 */
const appendLine = async (file: string, line: string): Promise<void> => {
  const handle = await open(file, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT);
  let created = false;
  try {
    const { size } = await handle.stat();
    created = size === 0;
    let torn = false;
    if (size > 0) {
      const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
      torn = buffer[0] !== 0x0a;
    }
    await handle.writeFile(`${torn ? '\n' : ''}${line}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // An empty file may be new: its directory entry must be on disk too.
  if (created) await syncDir(dirname(file));
};

export class LocalAlertDispatcher {
  readonly stats = { delivered: 0, deadLetters: 0 };
  readonly #opts: LocalAlertDispatcherOptions;
  readonly #log: Log;
  readonly #clock: Clock;
  readonly #channels: Map<string, DeliverableChannel>;
  /** Checks with work, and when it is due (ms since epoch). */
  readonly #due = new Map<string, number>();
  /** Claim runs in flight: short (the outbox, then the claims), one per check at a time. */
  readonly #running = new Map<string, Promise<void>>();
  /** Attempts in flight, by check: each channel's on its own, however long it hangs. */
  readonly #sending = new Map<string, Set<Promise<void>>>();
  #timer: NodeJS.Timeout | undefined;
  #scanTimer: NodeJS.Timeout | undefined;
  #stopped = true;
  #emailNoticeLogged = false;
  /**
   * The dead-letter filings, one at a time (each re-reads the state the previous one marked, and
   * checks the end of the file it left).
   */
  #filings: Promise<void> = Promise.resolve();
  /** Checks with a filing queued that has not started yet (it will read their current state). */
  readonly #filingQueued = new Set<string>();
  /** Checks whose dead letters could not be filed, logged once until they are. */
  readonly #unfiledLogged = new Set<string>();

  constructor(opts: LocalAlertDispatcherOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? sharedLogger;
    this.#clock = opts.clock ?? systemClock;
    this.#channels = new Map(
      deliverableChannels(opts.channels).map(({ channel, label }) => [label, channel]),
    );
  }

  get deadLetterFile(): string {
    return join(this.#opts.dataDir, NOTIFY_DEAD_LETTER_FILE);
  }

  /** The service's `announce`: the event on the local bus, no channel notified. */
  readonly announce = async (notification: AlertNotification): Promise<void> => {
    await this.#opts.publisher.publish([
      { source: SOURCES.alert, detailType: DETAIL_TYPES.alertStateChanged, detail: notification },
    ]);
  };

  /** The service's `dispatch`: bound, so it can be passed around. */
  readonly dispatch = async (notification: AlertNotification): Promise<void> => {
    // The event first: if the bus refuses it, nothing went out and the service keeps the
    // notification in its outbox for the next attempt.
    await this.announce(notification);
    if (!this.#emailNoticeLogged && this.#opts.channels.some((c) => c.type === 'email')) {
      this.#emailNoticeLogged = true;
      this.#log.info('email alert channels need AWS (SNS email subscriptions); skipped locally');
    }
    await enqueueOnStore(notification, [...this.#channels.keys()], this.#deps());
    this.#schedule(notification.checkKey, this.#clock.now().getTime());
  };

  /** Deliver on a timer; first find what a previous run left pending. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#scan();
    const scanMs = this.#opts.scanMs ?? 5_000;
    this.#scanTimer = setInterval(() => void this.#scan(), scanMs);
    this.#scanTimer.unref();
  }

  /** Stop the timers and wait for the attempts in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#scanTimer);
    await this.#settled();
  }

  /** Until the claim runs and the attempts in flight now have ended. */
  async #settled(): Promise<void> {
    await Promise.all(this.#running.values());
    await Promise.all([...this.#sending.values()].flatMap((attempts) => [...attempts]));
    await this.#filings;
  }

  /** Run every delivery that is due, until none is (tests, and before a shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      await this.#settled();
      const now = this.#clock.now().getTime();
      const due = [...this.#due].filter(([, at]) => at <= now).map(([key]) => key);
      if (due.length === 0) return;
      await Promise.all(due.map((key) => this.#run(key)));
    }
  }

  /** The checks with deliveries still to make (by the timer or `idle`). */
  get pending(): number {
    return new Set([...this.#due.keys(), ...this.#running.keys(), ...this.#sending.keys()]).size;
  }

  #deps(): DeliveryRunDeps {
    return {
      store: this.#opts.store,
      clock: this.#clock,
      ...(this.#opts.policy ? { policy: this.#opts.policy } : {}),
      send: (label, n) => this.#send(label, n),
      onDelivered: (d) => {
        this.stats.delivered++;
        this.#log.info('alert delivered', {
          channel: d.channel,
          kind: d.notification.kind,
          checkKey: d.notification.checkKey,
          attempts: d.attempts,
        });
      },
      onDead: (d) => this.#deadLetter(d),
      fileDeadLetter: (d) => this.#append(d),
    };
  }

  async #send(label: string, n: AlertNotification): Promise<void> {
    const channel = this.#channels.get(label);
    if (!channel)
      throw new DeliveryError(label, 'the channel is no longer in the config', {
        attempts: 0,
        retryable: false,
      });
    const { fetch, timeoutMs } = this.#opts;
    try {
      await deliver(n, channel, {
        resolveSecret: this.#opts.resolveSecret,
        ...(fetch ? { fetch } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
        maxAttempts: 1,
        label,
      });
    } catch (e) {
      this.#log.warn('alert delivery attempt failed', {
        channel: label,
        kind: n.kind,
        checkKey: n.checkKey,
        error: e instanceof Error ? e.message : String(e),
      });
      throw e;
    }
  }

  #schedule(checkKey: string, at: number): void {
    const known = this.#due.get(checkKey);
    if (known === undefined || at < known) this.#due.set(checkKey, at);
    this.#arm();
  }

  /** One timer, for the earliest due check. */
  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#stopped || this.#due.size === 0) return;
    const soonest = Math.min(...this.#due.values());
    const delay = Math.max(0, soonest - this.#clock.now().getTime());
    this.#timer = setTimeout(() => void this.#tick(), Math.min(delay, 2 ** 31 - 1));
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const now = this.#clock.now().getTime();
    const due = [...this.#due].filter(([, at]) => at <= now).map(([key]) => key);
    await Promise.all(due.map((key) => this.#run(key)));
    this.#arm();
  }

  /**
   * Send a check's outbox and start its due deliveries (one run per check at a time; the
   * attempts it starts go on without it, so the next run need not wait for a slow channel).
   */
  #run(checkKey: string): Promise<void> {
    const running = this.#running.get(checkKey);
    if (running) return running;
    this.#due.delete(checkKey);
    const run = (async () => {
      try {
        await flushOutbox(checkKey, {
          store: this.#opts.store,
          dispatch: this.dispatch,
          clock: this.#clock,
        });
        for (const attempt of await startDue(checkKey, this.#deps()))
          this.#track(checkKey, attempt);
      } catch (error) {
        this.#log.error('alert delivery run failed', { checkKey, error });
      }
      await this.#reschedule(checkKey);
    })().finally(() => this.#running.delete(checkKey));
    this.#running.set(checkKey, run);
    return run;
  }

  /** Keep an attempt until its outcome is recorded, then schedule what the check has next. */
  #track(checkKey: string, attempt: Promise<void>): void {
    const attempts = this.#sending.get(checkKey) ?? new Set<Promise<void>>();
    this.#sending.set(checkKey, attempts);
    const tracked: Promise<void> = attempt
      .catch((error: unknown) => this.#log.error('alert delivery run failed', { checkKey, error }))
      .then(() => {
        attempts.delete(tracked);
        if (attempts.size === 0) this.#sending.delete(checkKey);
        return this.#reschedule(checkKey);
      });
    attempts.add(tracked);
  }

  /** The store is the truth: schedule what it still holds for the check, and nothing else. */
  async #reschedule(checkKey: string): Promise<void> {
    const state = await this.#opts.store.get(checkKey).catch(() => undefined);
    if (state && hasPendingWork(state))
      this.#due.set(checkKey, nextAttemptAt(state) ?? this.#clock.now().getTime());
    else this.#due.delete(checkKey);
    this.#arm();
  }

  /** Find checks with work in the store (after a restart, or an outbox left by a lost race). */
  async #scan(): Promise<void> {
    try {
      const { active } = await this.#opts.store.list({ historyLimit: 0 });
      // A run re-reads the state and schedules what is really due: the list may be stale.
      const now = this.#clock.now().getTime();
      for (const { checkKey } of active.filter(hasPendingWork))
        if (!this.#due.has(checkKey) && !this.#running.has(checkKey)) this.#schedule(checkKey, now);
      // Dead letters an earlier append could not file (a full disk): try them again.
      for (const state of active)
        if (!this.#stopped && unfiledDeliveries(state).length > 0) void this.#file(state.checkKey);
    } catch (error) {
      this.#log.error('could not scan alert state for pending deliveries', { error });
    }
  }

  /** A delivery was given up: count it, log it, and file its dead letter. */
  async #deadLetter(d: ChannelDelivery): Promise<void> {
    const channelType = this.#channels.get(d.channel)?.type ?? 'unknown';
    if (this.#opts.metrics)
      emitPipelineMetric(this.#opts.metrics, PIPELINE_METRICS.deliveryFailures, {
        Channel: channelType,
      });
    this.stats.deadLetters++;
    this.#log.error('alert delivery failed; dead-lettered', {
      channel: d.channel,
      kind: d.notification.kind,
      checkKey: d.notification.checkKey,
      error: d.lastError ?? 'unknown',
      deadLetters: this.stats.deadLetters,
    });
    await this.#file(d.notification.checkKey);
  }

  /**
   * File the check's dead letters not filed yet, after the filings before it (never throws: what
   * fails stays `unfiled` in the state, and the scan tries it again).
   */
  #file(checkKey: string): Promise<void> {
    if (this.#filingQueued.has(checkKey)) return this.#filings;
    this.#filingQueued.add(checkKey);
    const filing = this.#filings.then(async () => {
      this.#filingQueued.delete(checkKey);
      try {
        const filed = await fileDeadLetters(checkKey, {
          store: this.#opts.store,
          clock: this.#clock,
          fileDeadLetter: (d) => this.#append(d),
        });
        if (filed > 0 && this.#unfiledLogged.delete(checkKey))
          this.#log.info('alert dead letters filed after all', { checkKey, filed });
      } catch (error) {
        // Logged once: while the disk is full, the scan tries again every few seconds.
        if (this.#unfiledLogged.has(checkKey)) return;
        this.#unfiledLogged.add(checkKey);
        this.#log.error('could not file an alert dead letter; kept in the alert state, retrying', {
          checkKey,
          file: this.deadLetterFile,
          error,
        });
      }
    });
    this.#filings = filing;
    return filing;
  }

  /** Append one dead delivery's line to the dead-letter file, on disk when it resolves. */
  async #append(d: ChannelDelivery): Promise<void> {
    const entry: DeadLetter = {
      failedAt: d.finishedAt ?? this.#clock.now().toISOString(),
      channel: d.channel,
      error: d.lastError ?? 'unknown',
      attempts: d.attempts,
      notification: d.notification,
    };
    await mkdir(this.#opts.dataDir, { recursive: true });
    await appendLine(this.deadLetterFile, JSON.stringify(entry));
  }
}
