import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoHistoryStore } from '../../functions/adapters/aws/dynamodb-history-store';

/** Empty pages, zero limits and items without a payload, via a stub client. */

const storeAnswering = (answer: unknown) => {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      return answer;
    },
  } as unknown as DynamoDBClient;
  return { store: new DynamoHistoryStore({ table: 'history', client }), sent };
};

describe('DynamoHistoryStore edges', () => {
  it('asks DynamoDB nothing for a limit of 0', async () => {
    const { store, sent } = storeAnswering({ Items: [{ data: { S: '{}' } }] });
    expect(await store.series('shop', 'tests', undefined, 'main', 0)).toEqual([]);
    expect(await store.listRuns('shop', { limit: 0 })).toEqual({ items: [] });
    expect(sent).toHaveLength(0);
  });

  it('answers an empty series and page when DynamoDB returns no items', async () => {
    const { store } = storeAnswering({});
    expect(await store.series('shop', 'tests', undefined, 'main', 5)).toEqual([]);
    expect(await store.listRuns('shop', { limit: 5 })).toEqual({ items: [] });
  });

  it('skips items that carry no payload', async () => {
    const { store } = storeAnswering({
      Items: [{ sk: { S: 'r1' } }, { data: { S: '{"id":"r2"}' } }],
    });
    expect(await store.series('shop', 'tests', 'unit', 'main', 5)).toEqual([{ id: 'r2' }]);
  });
});
