import {
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { VigilError } from '../../core/errors';
import { MAX_EVENT_BYTES } from '../../core/event-names';
import { assertEventFits, eventBytes } from '../../core/event-size';
import type { VigilEvent } from '../../core/events';
import type { EventPublisher } from '../../core/ports';

/** The part of `EventBridgeClient` the publisher uses (a hand-written fake fits in tests). */
export interface PutEventsClient {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
}

export interface RetryInfo {
  /** Attempt about to be made (2 = first retry). */
  attempt: number;
  /** Entries being resent. */
  entries: number;
  /** Why: the failed entries' error codes, or the error name of the whole call. */
  reason: string;
}

export interface EventBridgePublisherOptions {
  busName: string;
  client: PutEventsClient;
  /** Attempts per batch, the first included. Default 4. */
  maxAttempts?: number;
  /** Backoff base: retry n waits about `baseDelayMs * 2^(n-1)`, with jitter. Default 100. */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before every retry (e.g. to emit a metric). */
  onRetry?: (info: RetryInfo) => void;
}

/** PutEvents accepts at most 10 entries per request. */
export const MAX_ENTRIES_PER_REQUEST = 10;

/**
 * Per-entry error codes AWS documents as non-retryable. The documented retryable ones are
 * `InternalFailure` and `ThrottlingException`; unknown codes are retried too (bounded by
 * maxAttempts), since giving up fails the whole ingest.
 */
const FINAL_ENTRY_CODES = new Set([
  'AccessDeniedException',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
]);

/** Whole-call errors worth another attempt: throttling, server faults, network trouble. */
const RETRYABLE_ERROR_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'InternalFailure',
  'InternalException',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

/** The entries this publisher sends: all four fields always set. */
export interface Entry extends PutEventsRequestEntry {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
}

/** Size of a PutEvents entry as EventBridge counts it (see `eventBytes`). */
export const entrySize = (entry: Pick<Entry, 'Source' | 'DetailType' | 'Detail'>): number =>
  eventBytes(entry.Source, entry.DetailType, entry.Detail);

const errorName = (e: unknown): string =>
  e instanceof Error ? e.name : typeof e === 'string' ? e : 'UnknownError';

const isRetryableError = (e: unknown): boolean => {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as {
    name?: unknown;
    code?: unknown;
    $fault?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  if (typeof err.name === 'string' && RETRYABLE_ERROR_NAMES.has(err.name)) return true;
  if (typeof err.code === 'string' && RETRYABLE_NETWORK_CODES.has(err.code)) return true;
  if (err.$retryable !== undefined && err.$retryable !== null) return true;
  if (err.$fault === 'server') return true;
  const status = err.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status === 429 || status >= 500);
};

interface Pending {
  entry: Entry;
  /** Error code of the last failed attempt. */
  code: string;
}

interface BatchOutcome {
  failed: Pending[];
}

const countCodes = (failed: readonly Pending[]): string => {
  const counts = new Map<string, number>();
  for (const f of failed) {
    counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
  }
  return [...counts].map(([code, n]) => (n > 1 ? `${code} x${n}` : code)).join(', ');
};

/** Publishes Vigil events to an EventBridge bus in right-sized batches, retrying what failed. */
export class EventBridgePublisher implements EventPublisher {
  /** Cumulative retries this instance made (per batch, not per entry). */
  readonly stats = { retries: 0 };

  private readonly busName: string;
  private readonly client: PutEventsClient;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;

  constructor(options: EventBridgePublisherOptions) {
    this.busName = options.busName;
    this.client = options.client;
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 4));
    this.baseDelayMs = Math.max(0, options.baseDelayMs ?? 100);
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.onRetry = options.onRetry;
  }

  async publish(events: VigilEvent[]): Promise<void> {
    if (events.length === 0) return;
    const sized = events.map((e) => {
      const entry = this.toEntry(e);
      return { entry, size: entrySize(entry) };
    });
    sized.forEach(({ entry, size }, i) => {
      assertEventFits(i, entry.Source, entry.DetailType, size);
    });

    const batches = this.batch(sized);
    const outcomes = await Promise.all(batches.map((b) => this.sendBatch(b)));
    const failed = outcomes.flatMap((o) => o.failed);
    if (failed.length > 0) {
      throw new VigilError(
        'publish_failed',
        `${failed.length} of ${events.length} events failed to publish to event bus ` +
          `'${this.busName}' (up to ${this.maxAttempts} attempts): ${countCodes(failed)}`,
      );
    }
  }

  private toEntry(event: VigilEvent): Entry {
    return {
      EventBusName: this.busName,
      Source: event.source,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
    };
  }

  /** Greedy batching in order: ≤ 10 entries and ≤ MAX_EVENT_BYTES per request. */
  private batch(sized: { entry: Entry; size: number }[]): Entry[][] {
    const batches: Entry[][] = [];
    let current: Entry[] = [];
    let bytes = 0;
    for (const { entry, size } of sized) {
      if (
        current.length > 0 &&
        (current.length >= MAX_ENTRIES_PER_REQUEST || bytes + size > MAX_EVENT_BYTES)
      ) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(entry);
      bytes += size;
    }
    // publish() never batches an empty list, so the last batch holds at least one entry.
    batches.push(current);
    return batches;
  }

  /** Exponential backoff with "equal jitter": half of the step fixed, half random. */
  private backoff(retry: number): number {
    const step = this.baseDelayMs * 2 ** (retry - 1);
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  private async sendBatch(entries: Entry[]): Promise<BatchOutcome> {
    let pending: Pending[] = entries.map((entry) => ({ entry, code: 'NotSent' }));
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) {
        this.stats.retries++;
        this.onRetry?.({ attempt, entries: pending.length, reason: countCodes(pending) });
        await this.sleep(this.backoff(attempt - 1));
      }

      let output: PutEventsCommandOutput;
      try {
        output = await this.client.send(
          new PutEventsCommand({ Entries: pending.map((p) => p.entry) }),
        );
      } catch (e) {
        const code = errorName(e);
        pending = pending.map((p) => ({ entry: p.entry, code }));
        if (!isRetryableError(e)) return { failed: pending };
        continue;
      }

      if (!output.FailedEntryCount) return { failed: [] };
      // Result entries come back in request order; a failed one carries an ErrorCode.
      const results = output.Entries;
      const failed: Pending[] = [];
      pending.forEach((p, i) => {
        const result = results?.[i];
        if (result === undefined) failed.push({ entry: p.entry, code: 'MissingResultEntry' });
        else if (result.ErrorCode) failed.push({ entry: p.entry, code: result.ErrorCode });
      });
      if (failed.length === 0) return { failed: [] };
      pending = failed;
      // A non-retryable entry fails the whole publish anyway: stop without waiting.
      if (failed.some((f) => f.code !== undefined && FINAL_ENTRY_CODES.has(f.code))) {
        return { failed };
      }
    }
    return { failed: pending };
  }
}
