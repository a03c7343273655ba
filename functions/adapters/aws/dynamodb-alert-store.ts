import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { AlertStateStore } from '../../core/alerts/service';
import type { AlertState } from '../../core/alerts/state';
import type { AlertNotification } from '../../core/events';

export interface DynamoAlertStoreOptions {
  table: string;
  client: DynamoDBClient;
  /** How long history items live (DynamoDB TTL on `expiresAt`). Default 30. */
  historyTtlDays?: number;
  now?: () => number;
}

type Item = Record<string, AttributeValue>;

const DAY_SECONDS = 86_400;
const STATE_SK = 'state';
/** Partition of the history items (check keys always contain a `:`, so no clash). */
const HISTORY_PK = '#history';

// `status`, `data` and `version` are reserved words in DynamoDB expressions.
const NAMES = {
  '#version': 'version',
  '#status': 'status',
};

// By name rather than instanceof, so a second copy of the SDK in a bundle cannot break it.
const isConditionFailed = (e: unknown): boolean =>
  e instanceof Error && e.name === 'ConditionalCheckFailedException';

const parseState = (item: Item | undefined): AlertState | undefined => {
  const data = item?.data?.S;
  return data === undefined ? undefined : (JSON.parse(data) as AlertState);
};

/**
 * Alert state and history in one DynamoDB table (partition key `pk`, sort key `sk`, both
 * strings; TTL attribute `expiresAt`).
 *
 * - State: `pk` = check key, `sk` = `state`, `version` (N), `status` (S), `data` (the
 *   AlertState as JSON), `updatedAt`. Writes are conditional on `version`.
 * - History: `pk` = `#history`, `sk` = `<at>#<checkKey>#<kind>`, `data` (the notification as
 *   JSON), `expiresAt` (epoch seconds).
 */
export class DynamoAlertStore implements AlertStateStore {
  private readonly table: string;
  private readonly client: DynamoDBClient;
  private readonly ttlSeconds: number;
  private readonly now: () => number;

  constructor(options: DynamoAlertStoreOptions) {
    this.table = options.table;
    this.client = options.client;
    this.ttlSeconds = Math.round((options.historyTtlDays ?? 30) * DAY_SECONDS);
    this.now = options.now ?? Date.now;
  }

  async get(checkKey: string): Promise<AlertState | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: { S: checkKey }, sk: { S: STATE_SK } },
        ConsistentRead: true,
      }),
    );
    return parseState(out.Item);
  }

  async putIfVersion(state: AlertState, expectedVersion: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: state.checkKey },
            sk: { S: STATE_SK },
            version: { N: String(state.version) },
            status: { S: state.status },
            data: { S: JSON.stringify(state) },
            updatedAt: { S: state.updatedAt },
          },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': NAMES['#version'] },
                ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
              }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async appendHistory(notification: AlertNotification): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          pk: { S: HISTORY_PK },
          sk: { S: `${notification.at}#${notification.checkKey}#${notification.kind}` },
          data: { S: JSON.stringify(notification) },
          expiresAt: { N: String(Math.floor(this.now() / 1000) + this.ttlSeconds) },
        },
      }),
    );
  }

  async list(
    opts: { historyLimit?: number } = {},
  ): Promise<{ active: AlertState[]; history: AlertNotification[] }> {
    const [active, history] = await Promise.all([
      this.activeStates(),
      this.latestHistory(opts.historyLimit ?? 200),
    ]);
    return { active, history };
  }

  /** A scan: the table holds one item per check plus TTL-bounded history; fine for an API. */
  private async activeStates(): Promise<AlertState[]> {
    const states: AlertState[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'sk = :state AND #status <> :ok',
          ExpressionAttributeNames: { '#status': NAMES['#status'] },
          ExpressionAttributeValues: { ':state': { S: STATE_SK }, ':ok': { S: 'OK' } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const s = parseState(item);
        if (s) states.push(s);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return states;
  }

  private async latestHistory(limit: number): Promise<AlertNotification[]> {
    if (limit <= 0) return [];
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: HISTORY_PK } },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).flatMap((item) => {
      const data = item.data?.S;
      return data === undefined ? [] : [JSON.parse(data) as AlertNotification];
    });
  }
}
