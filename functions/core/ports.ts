import type { AlertNotification, ArchivePointer, VigilEvent } from './events';

/** Ports: what the core needs from the outside world. AWS and local adapters implement them. */

/** Sends an alert notification: SNS + the Vigil bus in Lambda, direct delivery locally. */
export type Dispatch = (notification: AlertNotification) => Promise<void>;

export interface EventPublisher {
  /**
   * Publish all events or throw. Implementations retry partial failures; when they give up
   * they throw a `VigilError('publish_failed')` so nothing is half-reported silently.
   */
  publish(events: VigilEvent[]): Promise<void>;
}

export interface ArchiveInput {
  /** Relative key, e.g. `shop/2026/11/25/<runId>.xml`. */
  key: string;
  /** Lent until `put` settles (it may be reused after): an archive that keeps it copies it. */
  body: Uint8Array;
  contentType: string;
  sha256: string;
  metadata: Record<string, string>;
}

export interface PayloadArchive {
  put(input: ArchiveInput): Promise<ArchivePointer>;
}

export type LedgerClaim =
  | {
      state: 'new';
      /**
       * Set when this claim took over an abandoned one: the time (epoch ms) that claim gave the
       * run. The run keeps it, so one published before its claim was abandoned is published
       * again as the same run (the same archive keys and `ingestedAt`), not as a second one.
       */
      at?: number;
    }
  | { state: 'duplicate'; response: unknown }
  | {
      state: 'conflict';
      reason: 'different_content' | 'in_progress';
      /** The fingerprint already recorded for the key (to say what differs). */
      fingerprint?: string;
    };

/**
 * Remembers which runs were ingested so a retried POST counts nothing twice.
 * `claim` is an atomic conditional write (DynamoDB condition / exclusive file create).
 */
export interface RunLedger {
  /** `at`: the time (epoch ms) the run is given, kept with the claim (see `LedgerClaim`). */
  claim(key: string, fingerprint: string, at?: number): Promise<LedgerClaim>;
  complete(key: string, fingerprint: string, response: unknown): Promise<void>;
  /** Drop an unfinished claim so the client can retry (publish failed). */
  release(key: string): Promise<void>;
  /**
   * Optional outbox: publish `events` and complete the claim in ONE transaction (the local
   * store). When present, ingest uses it instead of `publish` then `complete`, so a crash can
   * never leave a run published but unrecorded, or recorded without its events.
   */
  commit?(key: string, fingerprint: string, response: unknown, events: VigilEvent[]): Promise<void>;
}

/** Accepted ingest tokens (env locally, Secrets Manager on AWS). */
export interface TokenSource {
  tokens(): Promise<readonly string[]>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Reads back what `PayloadArchive.put` stored (S3 or the data dir), checking its sha256. */
export interface ArchiveReader {
  get(pointer: ArchivePointer): Promise<Uint8Array>;
}

/**
 * A short-lived URL that serves an archived object itself (S3 presigned GET) with these
 * response headers: for answers too large for the runtime's response (Lambda's 6 MB). Local
 * mode has none and answers inline.
 */
export interface ArchiveLinks {
  link(
    pointer: ArchivePointer,
    as: { contentType: string; contentDisposition: string; expiresInSeconds: number },
  ): Promise<string>;
}

/**
 * Which channel already has which notification (the notify function on AWS): a retried
 * invocation skips the channels that succeeded the first time.
 */
export interface DeliveryMarks {
  delivered(key: string): Promise<boolean>;
  mark(key: string): Promise<void>;
}
