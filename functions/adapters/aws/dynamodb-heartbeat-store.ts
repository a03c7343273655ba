import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { HeartbeatState } from '../../core/checks/heartbeat';
import type { HeartbeatStore } from '../../core/checks/heartbeat-service';

export interface DynamoHeartbeatStoreOptions {
  table: string;
  client: DynamoDBClient;
}

// By name rather than instanceof, so a second copy of the SDK in a bundle cannot break it.
const isConditionFailed = (e: unknown): boolean =>
  e instanceof Error && e.name === 'ConditionalCheckFailedException';

/**
 * Heartbeat state in DynamoDB (the heartbeat table: partition key `pk` = `<project>/<name>`),
 * `version` (N), `data` (the HeartbeatState as JSON). Writes are conditional on `version`;
 * reads are strongly consistent, so a ping and the evaluator see each other's writes.
 */
export class DynamoHeartbeatStore implements HeartbeatStore {
  private readonly table: string;
  private readonly client: DynamoDBClient;

  constructor(options: DynamoHeartbeatStoreOptions) {
    this.table = options.table;
    this.client = options.client;
  }

  async get(key: string): Promise<HeartbeatState | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    const data = out.Item?.data?.S;
    return data === undefined ? undefined : (JSON.parse(data) as HeartbeatState);
  }

  async putIfVersion(state: HeartbeatState, expectedVersion: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: state.key },
            version: { N: String(state.version) },
            data: { S: JSON.stringify(state) },
          },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
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
}
