import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoIncidentStore,
  DynamoProbeHistoryStore,
  DynamoRunCatalog,
  STATUS_TABLE_KEYS,
} from '../../functions/adapters/aws/dynamodb-status-store';
import {
  MemoryIncidentStore,
  MemoryProbeHistoryStore,
  MemoryRunCatalog,
} from '../../functions/adapters/local/status-memory';
import { StoreDb } from '../../functions/adapters/local/store/database';
import {
  SqliteIncidentStore,
  SqliteProbeHistoryStore,
  SqliteRunCatalog,
} from '../../functions/adapters/local/store/status-store';
import type { AlertNotification, ProbeCompletedDetail } from '../../functions/core/events';
import type { RunCatalog, RunEntry } from '../../functions/core/status/catalog';
import type { RunDigest } from '../../functions/core/status/digest';
import type { IncidentStore, ProbeHistoryStore } from '../../functions/core/status/types';
import { type MotoServer, startMoto } from '../helpers/moto';
import { requireTools, TOOLS } from '../helpers/requires';

/**
 * One contract for every implementation of the status ports: the memory stores (local mode's
 * and the tests') and the DynamoDB ones against moto_server.
 */

const hasMoto = requireTools('status store contract (DynamoDB)', [TOOLS.moto]);

interface Stores {
  probes: ProbeHistoryStore;
  incidents: IncidentStore;
  catalog: RunCatalog;
}

const sample = (
  probe: string,
  checkedAt: string,
  status: 'up' | 'down',
  latencyMs: number,
  id = checkedAt,
  project = 'shop',
): ProbeCompletedDetail => ({
  metadata: { project, probe, correlationId: id, checkedAt, location: 'test' },
  url: 'https://example.com/',
  method: 'GET',
  status,
  latencyMs,
  attempt: 1,
  ...(status === 'down'
    ? { statusCode: 503, failure: { assertion: 'status', message: `503 at ${checkedAt}` } }
    : {}),
  warnings: [],
  severity: 'critical',
  tags: [],
});

const note = (
  kind: AlertNotification['kind'],
  incidentId: string,
  at: string,
  extra: Partial<AlertNotification> = {},
): AlertNotification => ({
  checkKey: `probe:shop/${incidentId}`,
  incidentId,
  kind,
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: `${incidentId} down`,
  summary: 's',
  since: at,
  at,
  correlationId: 'c',
  ...extra,
});

const run = (runId: string, ingestedAt: string, over: Partial<RunEntry> = {}): RunEntry => ({
  project: 'shop/web',
  runId,
  kind: 'tests',
  format: 'junit',
  branch: 'feat#1',
  ingestedAt,
  correlationId: `corr-${runId}`,
  gate: 'pass',
  facts: { tests: { total: 2, passed: 2, failed: 0, skipped: 0, flaky: 0 }, durationMs: 5 },
  gateChecks: { status: 'pass', checks: [] },
  archive: { uri: 's3://b/a.xml', bytes: 10, sha256: 'a'.repeat(64) },
  normalized: { uri: 's3://b/a.json', bytes: 10, sha256: 'b'.repeat(64) },
  ...over,
});

const contract = (name: string, make: () => Stores) => {
  describe(name, () => {
    let stores: Stores;
    beforeAll(() => {
      stores = make();
    });

    it('rolls samples up per minute, hour and day, once per sample', async () => {
      const { probes } = stores;
      const samples = [
        sample('api', '2026-11-25T10:00:05.000Z', 'up', 100),
        sample('api', '2026-11-25T10:00:35.000Z', 'down', 300),
        sample('api', '2026-11-25T10:59:00.000Z', 'up', 200),
        sample('api', '2026-11-25T11:00:00.000Z', 'up', 50),
        sample('web', '2026-11-25T10:00:00.000Z', 'up', 10),
      ];
      for (const s of samples) await probes.record(s);
      await probes.record(samples[1] as ProbeCompletedDetail); // redelivered
      const minutes = await probes.rollups({
        project: 'shop',
        probe: 'api',
        resolution: 'minute',
        from: '2026-11-25T10:00:00.000Z',
        to: '2026-11-25T11:00:00.000Z',
      });
      expect(minutes.map((r) => [r.bucketStart, r.checks, r.failures])).toEqual([
        ['2026-11-25T10:00:00.000Z', 2, 1],
        ['2026-11-25T10:59:00.000Z', 1, 0],
      ]);
      const [hour] = await probes.rollups({
        project: 'shop',
        probe: 'api',
        resolution: 'hour',
        from: '2026-11-25T10:00:00.000Z',
        to: '2026-11-25T11:00:00.000Z',
      });
      expect(hour).toMatchObject({ checks: 3, failures: 1, resolution: 'hour', probe: 'api' });
      expect(hour?.latencyMs.p50).toBeGreaterThanOrEqual(200);
      expect(hour?.latencyMs.p50).toBeLessThanOrEqual(210);
      expect(hour?.latencyMs.max).toBeGreaterThanOrEqual(300);
      expect(hour?.latencyMs.max).toBeLessThanOrEqual(315);
      const [day] = await probes.rollups({
        project: 'shop',
        probe: 'api',
        resolution: 'day',
        from: '2026-11-01T00:00:00.000Z',
        to: '2026-12-01T00:00:00.000Z',
      });
      expect(day).toMatchObject({
        bucketStart: '2026-11-25T00:00:00.000Z',
        checks: 4,
        failures: 1,
      });
    });

    it('sums checks and failures over a window without the latency, as the rollups count them', async () => {
      const { probes } = stores;
      // The samples of the case above (the redelivered one counted once).
      const range = { project: 'shop', probe: 'api' } as const;
      const hours = {
        ...range,
        resolution: 'hour',
        from: '2026-11-25T10:00:00.000Z',
        to: '2026-11-25T12:00:00.000Z',
      } as const;
      expect(await probes.counts(hours)).toEqual({ checks: 4, failures: 1 });
      // [from, to): the 11:00 bucket is left out; another probe, another window: nothing.
      expect(await probes.counts({ ...hours, to: '2026-11-25T11:00:00.000Z' })).toEqual({
        checks: 3,
        failures: 1,
      });
      expect(await probes.counts({ ...hours, probe: 'web' })).toEqual({ checks: 1, failures: 0 });
      expect(
        await probes.counts({
          ...range,
          resolution: 'day',
          from: '2026-11-26T00:00:00.000Z',
          to: '2026-12-26T00:00:00.000Z',
        }),
      ).toEqual({ checks: 0, failures: 0 });
      expect(await probes.counts({ ...hours, probe: 'nope' })).toEqual({ checks: 0, failures: 0 });
    });

    it('keeps the latest sample per probe and the newest failures', async () => {
      const { probes } = stores;
      await probes.record(sample('api', '2026-11-25T09:00:00.000Z', 'down', 5)); // late and old
      await probes.record(sample('db', '2026-11-25T10:00:00.000Z', 'up', 5, 'x', 'other'));
      const latest = await probes.latest('shop');
      expect(latest.map((l) => [l.probe, l.checkedAt, l.status])).toEqual([
        ['api', '2026-11-25T11:00:00.000Z', 'up'],
        ['web', '2026-11-25T10:00:00.000Z', 'up'],
      ]);
      expect((await probes.latest()).length).toBe(3);
      const failures = await probes.failures({ project: 'shop', probe: 'api', limit: 1 });
      expect(failures).toEqual([
        expect.objectContaining({
          checkedAt: '2026-11-25T10:00:35.000Z',
          assertion: 'status',
          message: '503 at 2026-11-25T10:00:35.000Z',
          statusCode: 503,
        }),
      ]);
      expect(await probes.failures({ project: 'shop', probe: 'api', limit: 10 })).toHaveLength(2);
      await probes.prune('2026-01-01T00:00:00.000Z');
    });

    it("keeps a browser check's failed step, step timings and screenshot with its failure", async () => {
      const { probes } = stores;
      const shot = `${'c'.repeat(64)}.png`;
      await probes.record({
        ...sample('login', '2026-11-25T10:05:00.000Z', 'down', 900),
        failure: { assertion: 'script', message: 'no button', step: 'submit' },
        steps: [
          { name: 'open', status: 'up', latencyMs: 300, statusCode: 200 },
          {
            name: 'submit',
            status: 'down',
            latencyMs: 600,
            failure: { assertion: 'script', message: 'no button' },
          },
        ],
        artifacts: [
          { kind: 'trace', name: `${'d'.repeat(64)}.zip`, bytes: 20 },
          { kind: 'screenshot', name: shot, bytes: 10 },
        ],
      });
      const [failure] = await probes.failures({ project: 'shop', probe: 'login', limit: 1 });
      expect(failure).toMatchObject({
        step: 'submit',
        steps: [
          { name: 'open', status: 'up', latencyMs: 300 },
          { name: 'submit', status: 'down', latencyMs: 600 },
        ],
        screenshot: `/v1/artifacts/${shot}?bytes=10`,
      });
      // Only the timings are kept per step, not each step's own failure.
      expect(failure?.steps?.[1]).not.toHaveProperty('failure');
    });

    it('opens and closes incidents once, and lists those overlapping a range', async () => {
      const { incidents } = stores;
      await incidents.apply(note('FIRING', 'a', '2026-11-20T10:00:00.000Z', { lastError: 'e1' }));
      await incidents.apply(note('FIRING', 'a', '2026-11-20T10:00:00.000Z'));
      await incidents.apply(note('REMINDER', 'a', '2026-11-20T11:00:00.000Z'));
      await incidents.apply(note('FIRING', 'b', '2026-11-24T10:00:00.000Z'));
      await incidents.apply(
        note('RESOLVED', 'b', '2026-11-24T10:10:00.000Z', {
          since: '2026-11-24T10:00:00.000Z',
          downtimeSeconds: 600,
        }),
      );
      await incidents.apply(note('RESOLVED', 'b', '2026-11-24T12:00:00.000Z'));
      // Resolved without its FIRING (lost): still recorded, fired at `since`.
      await incidents.apply(
        note('RESOLVED', 'c', '2026-11-10T10:05:00.000Z', {
          since: '2026-11-10T10:00:00.000Z',
          project: 'other',
        }),
      );
      const all = await incidents.list({
        from: '2026-11-01T00:00:00.000Z',
        to: '2026-11-26T00:00:00.000Z',
      });
      expect(all.map((i) => [i.incidentId, i.resolvedAt, i.downtimeSeconds])).toEqual([
        ['b', '2026-11-24T10:10:00.000Z', 600],
        ['a', undefined, undefined],
        ['c', '2026-11-10T10:05:00.000Z', 300],
      ]);
      expect(all[1]?.lastError).toBe('e1');
      const now = await incidents.list({
        from: '2026-11-25T00:00:00.000Z',
        to: '2026-11-25T00:00:00.001Z',
      });
      expect(now.map((i) => i.incidentId)).toEqual(['a']);
      const before = await incidents.list({
        from: '2026-11-01T00:00:00.000Z',
        to: '2026-11-15T00:00:00.000Z',
      });
      expect(before.map((i) => i.incidentId)).toEqual(['c']);
      const narrowed = await incidents.list({
        from: '2026-11-01T00:00:00.000Z',
        to: '2026-11-26T00:00:00.000Z',
        project: 'shop',
        checkKey: 'probe:shop/b',
      });
      expect(narrowed.map((i) => i.incidentId)).toEqual(['b']);
      const limited = await incidents.list({
        from: '2026-11-01T00:00:00.000Z',
        to: '2026-11-26T00:00:00.000Z',
        limit: 1,
      });
      expect(limited).toHaveLength(1);
    });

    it('finds runs by id, the latest per series and the trend of a branch', async () => {
      const { catalog } = stores;
      await catalog.record(run('r2', '2026-11-25T10:00:00.000Z'), 90);
      await catalog.record(run('r1', '2026-11-24T10:00:00.000Z'), 90); // late
      await catalog.record(run('r3', '2026-11-25T11:00:00.000Z', { kind: 'coverage' }), 90);
      await catalog.record(run('r4', '2026-11-25T12:00:00.000Z', { branch: undefined }), 90);
      await catalog.record(run('r2', '2026-11-25T10:00:00.000Z'), 90); // redelivered
      expect((await catalog.get('shop/web', 'r1'))?.gateChecks).toEqual({
        status: 'pass',
        checks: [],
      });
      expect(await catalog.get('shop/web', 'nope')).toBeUndefined();
      const latest = (await catalog.latest()).map((r) => [r.runId, r.kind, r.branch]).sort();
      expect(latest).toEqual([
        ['r2', 'tests', 'feat#1'],
        ['r3', 'coverage', 'feat#1'],
        ['r4', 'tests', undefined],
      ]);
      const trend = await catalog.trend({
        project: 'shop/web',
        kind: 'tests',
        branch: 'feat#1',
        limit: 5,
      });
      expect(trend.map((r) => r.runId)).toEqual(['r2', 'r1']);
      expect(trend[0]).not.toHaveProperty('archive');
      expect(
        await catalog.trend({ project: 'shop/web', kind: 'tests', branch: 'feat#1', limit: 1 }),
      ).toHaveLength(1);
    });

    it("keeps a run's digest with the run, never in the overview's latest runs or trends", async () => {
      const { catalog } = stores;
      const digest: RunDigest = {
        warnings: ['line 3: unknown element <x>'],
        failedTests: [
          {
            suite: 's',
            classname: 'C',
            name: 'fails <b>',
            message: 'expected 1 to be 2',
            details: 'Error: expected 1 to be 2\n    at t (a.test.ts:3:5)',
            file: 'a.test.ts',
            line: 3,
            durationMs: 4,
          },
        ],
        failedTestsTotal: 7,
      };
      await catalog.record(
        { ...run('d1', '2026-11-25T13:00:00.000Z', { branch: 'd' }), digest },
        90,
      );
      await catalog.record(run('d2', '2026-11-25T13:01:00.000Z', { branch: 'd' }), 90);
      expect((await catalog.get('shop/web', 'd1'))?.digest).toEqual(digest);
      expect(await catalog.get('shop/web', 'd2')).not.toHaveProperty('digest');
      const trend = await catalog.trend({
        project: 'shop/web',
        kind: 'tests',
        branch: 'd',
        limit: 5,
      });
      expect(trend.map((r) => r.runId)).toEqual(['d2', 'd1']);
      for (const r of [...trend, ...(await catalog.latest())])
        expect(r).not.toHaveProperty('digest');
    });
  });
};

contract('memory status stores', () => {
  const clock = { now: () => new Date('2026-11-25T12:00:00.000Z') };
  return {
    probes: new MemoryProbeHistoryStore(clock),
    incidents: new MemoryIncidentStore(),
    catalog: new MemoryRunCatalog(),
  };
});

contract('embedded store (SQLite)', () => {
  const clock = { now: () => new Date('2026-11-25T12:00:00.000Z') };
  const db = new StoreDb(mkdtempSync(join(tmpdir(), 'vigil-status-')));
  return {
    probes: new SqliteProbeHistoryStore(db, clock),
    incidents: new SqliteIncidentStore(db),
    catalog: new SqliteRunCatalog(db, clock),
  };
});

describe.skipIf(!hasMoto)('DynamoDB', () => {
  let moto: MotoServer;
  let client: DynamoDBClient;
  const TABLE = 'vigil-status-test';

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    moto = await startMoto();
    client = new DynamoDBClient({ region: 'us-east-1', endpoint: moto.endpoint });
    const { partitionKey, sortKey, ttl } = STATUS_TABLE_KEYS;
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          { AttributeName: sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: TABLE,
        TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
      }),
    );
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  contract('DynamoDB status stores (moto_server)', () => {
    const options = { table: TABLE, client, retentionDays: 90 };
    return {
      probes: new DynamoProbeHistoryStore(options),
      incidents: new DynamoIncidentStore(options),
      catalog: new DynamoRunCatalog(options),
    };
  });
});
