import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DeliveryMarks } from '../../core/ports';

/**
 * Which channel already has which notification, in the alert table: `pk` = `#delivered`,
 * `sk` = the delivery key, expiring after a week (TTL on `expiresAt`). The notify function
 * checks it before posting, so Lambda's retry of a partly failed invocation posts only to the
 * channels that failed.
 */
export class DynamoDeliveryMarks implements DeliveryMarks {
  readonly #table: string;
  readonly #client: DynamoDBClient;
  readonly #now: () => number;

  constructor(options: { table: string; client: DynamoDBClient; now?: () => number }) {
    this.#table = options.table;
    this.#client = options.client;
    this.#now = options.now ?? Date.now;
  }

  async delivered(key: string): Promise<boolean> {
    const out = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { pk: { S: PK }, sk: { S: key } },
        ConsistentRead: true,
      }),
    );
    return out.Item !== undefined;
  }

  async mark(key: string): Promise<void> {
    await this.#client.send(
      new PutItemCommand({
        TableName: this.#table,
        Item: {
          pk: { S: PK },
          sk: { S: key },
          expiresAt: { N: String(Math.floor(this.#now() / 1000) + KEEP_SECONDS) },
        },
      }),
    );
  }
}

const PK = '#delivered';
const KEEP_SECONDS = 7 * 86_400;
