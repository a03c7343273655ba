import {
  type AttributeValue,
  type ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { VigilError } from '../../core/errors';
import type { LedgerClaim, RunLedger } from '../../core/ports';

export interface DynamoRunLedgerOptions {
  table: string;
  client: DynamoDBClient;
  /** How long entries live (DynamoDB TTL on `expiresAt`). Default 30. */
  ttlDays?: number;
  /** An `in_progress` claim older than this may be taken over. Default 60 000. */
  staleClaimMs?: number;
  now?: () => number;
}

type Item = Record<string, AttributeValue>;

type State = 'in_progress' | 'done';

interface LedgerEntry {
  fingerprint: string;
  state: State;
  response?: unknown;
}

const DAY_SECONDS = 86_400;
/** A failed claim whose blocking item vanished before we could read it is tried again. */
const CLAIM_ATTEMPTS = 3;

// `state` is a DynamoDB reserved word; the others are aliased for uniformity.
const NAMES = {
  '#state': 'state',
  '#fingerprint': 'fingerprint',
  '#response': 'response',
  '#claimedAt': 'claimedAt',
  '#expiresAt': 'expiresAt',
  '#runAt': 'runAt',
};

// By name rather than instanceof, so a second copy of the SDK in a bundle cannot break it.
const isConditionFailed = (e: unknown): e is ConditionalCheckFailedException =>
  e instanceof Error && e.name === 'ConditionalCheckFailedException';

const str = (item: Item, name: string): string | undefined => item[name]?.S;

/** Reads an item; `undefined` when it is absent or not a ledger entry. */
const parseEntry = (item: Item | undefined): LedgerEntry | undefined => {
  if (!item) return undefined;
  const fingerprint = str(item, 'fingerprint');
  const state = str(item, 'state');
  if (fingerprint === undefined || (state !== 'in_progress' && state !== 'done')) {
    return undefined;
  }
  const raw = str(item, 'response');
  return raw === undefined
    ? { fingerprint, state }
    : { fingerprint, state, response: JSON.parse(raw) as unknown };
};

/**
 * Idempotency ledger in one DynamoDB table (partition key `pk`, TTL attribute `expiresAt`).
 * Items: `pk`, `fingerprint`, `state` ('in_progress' | 'done'), `response` (JSON, once done),
 * `claimedAt` (ms), `runAt` (ms: the time the claim gave the run, kept when a stale claim is
 * taken over) and `expiresAt` (epoch seconds).
 */
export class DynamoRunLedger implements RunLedger {
  private readonly table: string;
  private readonly client: DynamoDBClient;
  private readonly ttlSeconds: number;
  private readonly staleClaimMs: number;
  private readonly now: () => number;

  constructor(options: DynamoRunLedgerOptions) {
    this.table = options.table;
    this.client = options.client;
    this.ttlSeconds = Math.round((options.ttlDays ?? 30) * DAY_SECONDS);
    this.staleClaimMs = options.staleClaimMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  async claim(key: string, fingerprint: string, at?: number): Promise<LedgerClaim> {
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      const tried = await this.tryClaim(key, fingerprint, at);
      if (tried.claimed)
        return tried.at === undefined ? { state: 'new' } : { state: 'new', at: tried.at };
      const entry = parseEntry(tried.blocking ?? (await this.read(key)));
      if (!entry) continue; // Released or expired in between: try again.
      if (entry.fingerprint !== fingerprint) {
        return { state: 'conflict', reason: 'different_content', fingerprint: entry.fingerprint };
      }
      if (entry.state === 'done') return { state: 'duplicate', response: entry.response };
      return { state: 'conflict', reason: 'in_progress' };
    }
    throw new VigilError('unavailable', `could not claim ledger entry '${key}'; try again`);
  }

  async complete(key: string, fingerprint: string, response: unknown): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET #state = :done, #response = :response, #expiresAt = :expiresAt',
          ConditionExpression: '#fingerprint = :fingerprint',
          ExpressionAttributeNames: {
            '#state': NAMES['#state'],
            '#response': NAMES['#response'],
            '#expiresAt': NAMES['#expiresAt'],
            '#fingerprint': NAMES['#fingerprint'],
          },
          ExpressionAttributeValues: {
            ':done': { S: 'done' },
            ':response': { S: JSON.stringify(response ?? null) },
            ':expiresAt': { N: String(this.expiresAt()) },
            ':fingerprint': { S: fingerprint },
          },
        }),
      );
    } catch (e) {
      if (isConditionFailed(e)) {
        throw new VigilError(
          'conflict',
          `ledger entry '${key}' is gone or belongs to different content; it was not completed`,
        );
      }
      throw e;
    }
  }

  async release(key: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: { S: key } },
          ConditionExpression: '#state = :inProgress',
          ExpressionAttributeNames: { '#state': NAMES['#state'] },
          ExpressionAttributeValues: { ':inProgress': { S: 'in_progress' } },
        }),
      );
    } catch (e) {
      // Absent or already done: nothing to release.
      if (!isConditionFailed(e)) throw e;
    }
  }

  private expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.ttlSeconds;
  }

  /**
   * Conditional put of a fresh `in_progress` entry. Succeeds when no entry exists, the entry
   * is an abandoned claim, or it has passed its TTL (DynamoDB deletes expired items lazily).
   * Otherwise returns the blocking item (via ReturnValuesOnConditionCheckFailure, when the
   * endpoint supports it).
   */
  private async tryClaim(
    key: string,
    fingerprint: string,
    at: number | undefined,
  ): Promise<{ claimed: true; at?: number } | { claimed: false; blocking?: Item }> {
    const now = this.now();
    try {
      const out = await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: key },
            fingerprint: { S: fingerprint },
            state: { S: 'in_progress' },
            claimedAt: { N: String(now) },
            ...(at === undefined ? {} : { runAt: { N: String(at) } }),
            expiresAt: { N: String(this.expiresAt()) },
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR (#state = :inProgress AND #claimedAt < :staleBefore) ' +
            'OR #expiresAt < :nowSeconds',
          ExpressionAttributeNames: {
            '#state': NAMES['#state'],
            '#claimedAt': NAMES['#claimedAt'],
            '#expiresAt': NAMES['#expiresAt'],
          },
          ExpressionAttributeValues: {
            ':inProgress': { S: 'in_progress' },
            ':staleBefore': { N: String(now - this.staleClaimMs) },
            ':nowSeconds': { N: String(Math.floor(now / 1000)) },
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const old = out.Attributes;
      const runAt = Number(old?.runAt?.N);
      // A stale claim taken over (not an expired entry): its run may be on the bus already.
      if (
        str(old ?? {}, 'state') !== 'in_progress' ||
        !Number.isFinite(runAt) ||
        runAt === at ||
        Number(old?.expiresAt?.N) < Math.floor(now / 1000)
      )
        return { claimed: true };
      await this.keepRunAt(key, now, runAt);
      return { claimed: true, at: runAt };
    } catch (e) {
      if (isConditionFailed(e)) return { claimed: false, blocking: e.Item };
      throw e;
    }
  }

  /** The taken-over claim's `runAt` on ours, so a later takeover keeps it too. */
  private async keepRunAt(key: string, claimedAt: number, runAt: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET #runAt = :runAt',
          ConditionExpression: '#claimedAt = :claimedAt',
          ExpressionAttributeNames: {
            '#runAt': NAMES['#runAt'],
            '#claimedAt': NAMES['#claimedAt'],
          },
          ExpressionAttributeValues: {
            ':runAt': { N: String(runAt) },
            ':claimedAt': { N: String(claimedAt) },
          },
        }),
      );
    } catch (e) {
      // Taken over again meanwhile: that claim is the run's now, and ours will not complete.
      if (!isConditionFailed(e)) throw e;
    }
  }

  private async read(key: string): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    return out.Item;
  }
}
