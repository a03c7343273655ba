import { DescribeTableCommand, type DescribeTableCommandOutput } from '@aws-sdk/client-dynamodb';
import {
  DescribeEventBusCommand,
  type DescribeEventBusCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { cachedCheck, type HealthCheck } from '../../core/health';

/**
 * The ingest function's health checks on AWS: the event bus exists (`events:DescribeEventBus`)
 * and the ledger table is reachable and usable (`dynamodb:DescribeTable`). A success is
 * remembered for `cacheMs` so a probe every second costs one API call per check per 30 s;
 * a failure is not cached, so recovery shows at once.
 */

/** The part of `EventBridgeClient` the bus check uses. */
export interface DescribeEventBusClient {
  send(command: DescribeEventBusCommand): Promise<DescribeEventBusCommandOutput>;
}

/** The part of `DynamoDBClient` the table check uses. */
export interface DescribeTableClient {
  send(command: DescribeTableCommand): Promise<DescribeTableCommandOutput>;
}

export const HEALTH_CACHE_MS = 30_000;

interface CacheOptions {
  cacheMs?: number;
  now?: () => number;
}

const cache = (check: HealthCheck, opts: CacheOptions): HealthCheck =>
  cachedCheck(check, {
    ttlMs: opts.cacheMs ?? HEALTH_CACHE_MS,
    ...(opts.now ? { now: opts.now } : {}),
  });

/** AWS SDK errors carry the service's error code as `name`; that is the short reason. */
const awsReason = (error: unknown, what: string): Error => {
  const name = error instanceof Error ? error.name : 'Error';
  return new Error(`${what}: ${name}`);
};

export const eventBusCheck = (
  opts: { client: DescribeEventBusClient; busName: string } & CacheOptions,
): HealthCheck =>
  cache(
    {
      name: 'bus',
      check: async () => {
        try {
          await opts.client.send(new DescribeEventBusCommand({ Name: opts.busName }));
        } catch (error) {
          throw awsReason(error, 'event bus not reachable');
        }
      },
    },
    opts,
  );

export const ledgerTableCheck = (
  opts: { client: DescribeTableClient; tableName: string } & CacheOptions,
): HealthCheck =>
  cache(
    {
      name: 'store',
      check: async () => {
        let status: string | undefined;
        try {
          const out = await opts.client.send(
            new DescribeTableCommand({ TableName: opts.tableName }),
          );
          status = out.Table?.TableStatus;
        } catch (error) {
          throw awsReason(error, 'ledger table not reachable');
        }
        // UPDATING tables still serve reads and writes.
        if (status !== 'ACTIVE' && status !== 'UPDATING')
          throw new Error(`ledger table is ${status ?? 'in an unknown state'}`);
      },
    },
    opts,
  );
