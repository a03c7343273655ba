import type { DescribeTableCommandOutput } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { eventBusCheck, ledgerTableCheck } from '../../functions/adapters/aws/health';

/** Table states and odd failures moto cannot produce, through a stub client. */

const tableIn = (Table: DescribeTableCommandOutput['Table']) =>
  ledgerTableCheck({
    client: { send: async () => ({ Table, $metadata: {} }) },
    tableName: 'ledger',
  });

describe('AWS health checks: states moto does not show', () => {
  it.each([
    ['CREATING' as const, 'ledger table is CREATING'],
    [undefined, 'ledger table is in an unknown state'],
  ])('reports a ledger table in state %s as unhealthy', async (status, message) => {
    await expect(tableIn({ TableStatus: status }).check()).rejects.toThrow(message);
  });

  it('reports a table that is being updated as healthy (it still serves)', async () => {
    await expect(tableIn({ TableStatus: 'UPDATING' }).check()).resolves.toBeUndefined();
  });

  it('names a generic reason when the SDK throws something that is not an Error', async () => {
    const check = eventBusCheck({
      client: { send: () => Promise.reject('socket hang up') },
      busName: 'vigil',
    });
    await expect(check.check()).rejects.toThrow('event bus not reachable: Error');
  });
});
