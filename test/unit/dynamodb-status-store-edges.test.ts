import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoProbeHistoryStore } from '../../functions/adapters/aws/dynamodb-status-store';

/** Paged rollups with partial counters (moto does not page small results), via a stub client. */

describe('DynamoProbeHistoryStore.rollups edges', () => {
  it('reads every page and counts a missing counter as zero', async () => {
    const sent: QueryCommand[] = [];
    const client = {
      send: async (command: QueryCommand) => {
        sent.push(command);
        return command.input.ExclusiveStartKey
          ? { Items: [{ sk: { S: '2026-12-03T21:00' }, failures: { N: '2' } }] }
          : {
              Items: [{ sk: { S: '2026-12-03T20:00' }, checks: { N: '3' } }],
              LastEvaluatedKey: { pk: { S: 'p' }, sk: { S: '2026-12-03T20:00' } },
            };
      },
    } as unknown as DynamoDBClient;
    const store = new DynamoProbeHistoryStore({ table: 'status', client, retentionDays: 30 });
    const rollups = await store.rollups({
      project: 'shop',
      probe: 'api',
      resolution: 'hour',
      from: '2026-12-03T00:00',
      to: '2026-12-04T00:00',
    });
    expect(
      rollups.map(({ bucketStart, checks, failures }) => [bucketStart, checks, failures]),
    ).toEqual([
      ['2026-12-03T20:00', 3, 0],
      ['2026-12-03T21:00', 0, 2],
    ]);
    expect(sent).toHaveLength(2);
    expect(sent.every((c) => c instanceof QueryCommand)).toBe(true);
    // Counts: every page, the counters only, a bucket at `to` left out.
    sent.length = 0;
    expect(
      await store.counts({
        project: 'shop',
        probe: 'api',
        resolution: 'hour',
        from: '2026-12-03T00:00',
        to: '2026-12-03T21:00',
      }),
    ).toEqual({ checks: 3, failures: 0 });
    expect(sent).toHaveLength(2);
    expect(sent[0]?.input.ProjectionExpression).toBe('sk, checks, failures');
  });
});
