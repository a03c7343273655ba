import { type DynamoDBClient, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoAlertStore } from '../../functions/adapters/aws/dynamodb-alert-store';
import type { AlertState } from '../../functions/core/alerts/state';

/** Paging, throttling and odd items that moto does not produce, through a stub client. */

type Answer = (command: unknown) => unknown;

const storeWith = (answer: Answer) => {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      return answer(command);
    },
  } as unknown as DynamoDBClient;
  return { store: new DynamoAlertStore({ table: 'alerts', client }), sent };
};

const state = (checkKey: string) =>
  ({ checkKey, status: 'ALARM', updatedAt: '2026-12-03T20:00:00Z' }) as unknown as AlertState;
const item = (value: unknown) => ({ data: { S: JSON.stringify(value) } });

describe('DynamoAlertStore edges', () => {
  it('lets a throttling error through instead of reporting a lost version race', async () => {
    const { store } = storeWith(() => {
      throw Object.assign(new Error('slow down'), {
        name: 'ProvisionedThroughputExceededException',
      });
    });
    await expect(store.putIfVersion(state('shop/api'), 1)).rejects.toThrow('slow down');
  });

  it('lists active states across scan pages, skipping items without data', async () => {
    const { store, sent } = storeWith((command) => {
      if (command instanceof ScanCommand)
        return command.input.ExclusiveStartKey
          ? { Items: [item(state('shop/web'))] }
          : { Items: [item(state('shop/api')), {}], LastEvaluatedKey: { pk: { S: 'shop/api' } } };
      return {};
    });
    const { active, history } = await store.list();
    expect(active.map((s) => s.checkKey)).toEqual(['shop/api', 'shop/web']);
    expect(history).toEqual([]);
    const query = sent.find((c) => c instanceof QueryCommand) as QueryCommand;
    expect(query.input.Limit).toBe(200);
  });

  it('reads no history for a limit of 0 and skips history items without data', async () => {
    const { store, sent } = storeWith((command) =>
      command instanceof QueryCommand ? { Items: [item({ kind: 'OPEN' }), {}] } : {},
    );
    expect((await store.list({ historyLimit: 0 })).history).toEqual([]);
    expect(sent.some((c) => c instanceof QueryCommand)).toBe(false);
    expect((await store.list({ historyLimit: 5 })).history).toEqual([{ kind: 'OPEN' }]);
  });
});
