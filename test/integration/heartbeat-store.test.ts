import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoHeartbeatStore } from '../../functions/adapters/aws/dynamodb-heartbeat-store';
import { LocalStore } from '../../functions/adapters/local/store';
import type { HeartbeatState } from '../../functions/core/checks/heartbeat';
import {
  evaluateHeartbeats,
  type HeartbeatDeps,
  type HeartbeatStore,
  recordPing,
} from '../../functions/core/checks/heartbeat-service';
import { parseConfig } from '../../functions/core/config';
import type { VigilEvent } from '../../functions/core/events';
import { createHeartbeatHandler } from '../../functions/heartbeat/handler';
import { type MotoServer, motoAvailable, startMoto } from '../helpers/moto';

/**
 * The heartbeat store contract on both runtimes' stores (the embedded SQLite store, DynamoDB on
 * moto), and the evaluator handler on DynamoDB: version-checked writes, concurrent pings all
 * applied, a missed run published once, a failed publish put back to be found again.
 */

const config = parseConfig({
  project: 'shop',
  heartbeats: [
    { name: 'backup', periodSeconds: 3600, graceSeconds: 60 },
    { name: 'report', cron: '0 6 * * *', timezone: 'Europe/Berlin' },
  ],
});
const backup = config.heartbeats[0] as (typeof config.heartbeats)[number];
const T0 = Date.parse('2026-05-01T10:00:00Z');

const state = (key: string, version: number): HeartbeatState => ({
  key,
  since: '2026-05-01T10:00:00.000Z',
  version,
});

const deps = (store: HeartbeatStore, now: () => number, events: VigilEvent[]): HeartbeatDeps => ({
  config,
  store,
  clock: { now: () => new Date(now()) },
  publisher: { publish: async (e) => void events.push(...e) },
  location: 'test',
});

describe('recordPing', () => {
  it('gives up with a 409 when the state keeps changing under it', async () => {
    const store: HeartbeatStore = { get: async () => undefined, putIfVersion: async () => false };
    await expect(
      recordPing(
        deps(store, () => T0, []),
        backup,
        { kind: 'success' },
      ),
    ).rejects.toMatchObject({ code: 'conflict' });
  });
});

const contract = (name: string, open: () => Promise<HeartbeatStore>) =>
  describe(name, () => {
    it('writes only over the version it read', async () => {
      const store = await open();
      expect(await store.get('shop/none')).toBeUndefined();
      expect(await store.putIfVersion(state('shop/a', 1), 0)).toBe(true);
      expect(await store.putIfVersion(state('shop/a', 1), 0)).toBe(false);
      expect(await store.putIfVersion(state('shop/a', 2), 1)).toBe(true);
      expect(await store.putIfVersion(state('shop/a', 3), 1)).toBe(false);
      expect(await store.get('shop/a')).toEqual(state('shop/a', 2));
    });

    it('publishes a result saved by a process killed before publishing it, once', async () => {
      // Prepare: first seen at T0; at T0 + 62 min the evaluation saves the missed run, and the
      // process dies before publishing it (the write returns, then the process is gone).
      const store = await open();
      const events: VigilEvent[] = [];
      const now = T0 + 3722_000;
      await evaluateHeartbeats(
        deps(store, () => T0, events),
        () => {},
      );
      const dying: HeartbeatStore = {
        get: (key) => store.get(key),
        putIfVersion: async (s, v) => {
          const ok = await store.putIfVersion(s, v);
          if (s.missedExpectedAt) throw new Error('killed');
          return ok;
        },
      };
      const errors: unknown[] = [];
      await evaluateHeartbeats(
        deps(dying, () => now, events),
        (_h, e) => errors.push(e),
      );

      // Act: a new process evaluates twice.
      await evaluateHeartbeats(
        deps(store, () => now, events),
        () => {},
      );
      await evaluateHeartbeats(
        deps(store, () => now, events),
        () => {},
      );

      // Assess
      expect(errors).toHaveLength(1);
      expect(events.map((e) => [(e.detail as { outcome: string }).outcome])).toEqual([['missed']]);
      expect(await store.get('shop/backup')).not.toHaveProperty('pending');
    });

    it('applies every one of concurrent pings (lost races are re-applied)', async () => {
      const store = await open();
      const events: VigilEvent[] = [];
      // Received at the same instant (a ping older than the latest one would change nothing).
      const d = deps(store, () => T0, events);
      const answers = await Promise.all(
        [0, 1, 2, 3].map(() => recordPing(d, backup, { kind: 'success' })),
      );
      expect(answers.every((a) => a.outcome === 'ok')).toBe(true);
      // Four results with distinct, increasing times. A ping that finds another's result still
      // pending (saved, maybe not yet published) publishes it too: the same event, taken once
      // by the alerts (by check and result time).
      const details = new Set(events.map((e) => JSON.stringify(e.detail)));
      expect(details.size).toBe(4);
      expect(events.length).toBeGreaterThanOrEqual(4);
      expect(await store.get('shop/backup')).not.toHaveProperty('pending');
    });
  });

let dataDir = '';
let local: LocalStore;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-hb-store-'));
  local = LocalStore.open(dataDir);
});
afterAll(async () => {
  local?.close();
  await rm(dataDir, { recursive: true, force: true });
});

contract('SqliteHeartbeatStore', async () => {
  local.db.q('DELETE FROM heartbeat_state').run();
  return local.heartbeats;
});

// DynamoDB on moto --------------------------------------------------------------------------

const withMoto = motoAvailable('DynamoHeartbeatStore (heartbeat-store.test.ts)');
let moto: MotoServer;
let dynamo: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  if (!withMoto) return;
  moto = await startMoto();
  dynamo = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  dynamo?.destroy();
  await moto?.stop();
});

/** A fresh table, keyed as lib/heartbeats.ts creates it. */
const dynamoStore = async (): Promise<DynamoHeartbeatStore> => {
  const table = `vigil-heartbeats-${++tables}`;
  await dynamo.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  return new DynamoHeartbeatStore({ table, client: dynamo });
};

describe.skipIf(!withMoto)('on moto', () => {
  contract('DynamoHeartbeatStore (moto)', dynamoStore);

  it('the evaluator handler publishes a missed run once, and again after a failed publish', async () => {
    // Prepare: both heartbeats first seen at T0; the backup one pinged at T0.
    const store = await dynamoStore();
    const events: VigilEvent[] = [];
    let now = T0;
    const d = deps(store, () => now, events);
    const handler = createHeartbeatHandler(d);
    await handler();
    await recordPing(d, backup, { kind: 'success' });
    events.length = 0;

    // Act: past the backup's due time, with the bus down once, then up.
    now = T0 + 3662_000;
    let down = true;
    const flaky = createHeartbeatHandler({
      ...d,
      publisher: {
        publish: async (e) => {
          if (down) throw new Error('bus down');
          events.push(...e);
        },
      },
    });
    const failed = await flaky();
    down = false;
    const first = await flaky();
    const second = await flaky();

    // Assess
    expect([failed, first, second]).toEqual([{ results: 0 }, { results: 1 }, { results: 0 }]);
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({
      metadata: { project: 'shop', heartbeat: 'backup', location: 'test' },
      status: 'down',
      outcome: 'missed',
    });
  });

  it('passes on errors other than a lost race (e.g. a missing table)', async () => {
    const store = new DynamoHeartbeatStore({ table: 'no-such-table', client: dynamo });
    await expect(store.putIfVersion(state('shop/a', 1), 0)).rejects.toThrow();
  });

  it('the evaluator handler fails when no heartbeat could be evaluated', async () => {
    const broken: HeartbeatStore = {
      get: async () => {
        throw new Error('table gone');
      },
      putIfVersion: async () => false,
    };
    await expect(createHeartbeatHandler(deps(broken, () => T0, []))()).rejects.toThrow(
      'table gone',
    );
  });
});
