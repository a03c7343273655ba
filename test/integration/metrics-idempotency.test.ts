import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import type { BusEvent } from '../../functions/core/events';
import { validateEmf } from '../helpers/emf';
import { asInLambda, saveEnv } from '../helpers/env';
import { type MotoServer, motoAvailable, startMoto } from '../helpers/moto';
import { functionForEntry, synthesizeStack } from '../helpers/template';

/**
 * The metrics Lambda entry against DynamoDB in moto_server: EventBridge delivers at least once,
 * and a redelivered event (same `id`) must not reach CloudWatch twice. The idempotency table is
 * created with the key schema of the synthesized template; the entry is imported fresh with the
 * environment its function gets, and the EMF documents it prints on stdout are counted.
 */

const REGION = 'us-east-1';
const TABLE = 'vigil-metrics-idempotency';
const CONFIG = parseConfig({ projects: { shop: { metricSuites: ['api'] } } });
const EXPIRES_AFTER_SECONDS = 2 * 60 * 60;

let moto: MotoServer;
let dynamo: DynamoDBClient;
let handler: typeof import('../../functions/metrics/index').handler;
let ttlAttribute: string;
let restoreEnv: () => void;

const archive = { uri: 's3://archive/shop/r1.xml', bytes: 1, sha256: 'a'.repeat(64) };

/** A valid `Test Run Reported` event as the metrics rule delivers it. */
const testRunEvent = (id: string): BusEvent => ({
  version: '0',
  id,
  source: 'vigil.ingest',
  account: '123456789012',
  time: new Date().toISOString(),
  region: REGION,
  resources: [],
  'detail-type': 'Test Run Reported',
  detail: {
    metadata: {
      project: 'shop',
      suite: 'api',
      branch: 'main',
      commit: 'abc',
      runId: `run-${id}`,
      correlationId: 'c-123456789',
      format: 'junit',
      // CloudWatch takes datapoints from the last 14 days only.
      ingestedAt: new Date(Date.now() - 60_000).toISOString(),
      archive,
      normalized: archive,
    },
    summary: { total: 10, passed: 7, failed: 1, skipped: 2, flaky: 1, durationMs: 1234 },
    gate: { status: 'fail', checks: [] },
    failedTests: [],
    failedTestsTruncated: false,
    flakyTests: [],
  },
});

const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'Vigil-dev-ProcessorsMetricsFunction',
  functionVersion: '$LATEST',
  invokedFunctionArn:
    'arn:aws:lambda:us-east-1:123456789012:function:Vigil-dev-ProcessorsMetricsFunction',
  memoryLimitInMB: '512',
  awsRequestId: 'b3f2c7e0-0000-4000-8000-000000000001',
  logGroupName: '/aws/lambda/Vigil-dev-ProcessorsMetricsFunction',
  logStreamName: '2026/11/25/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 29_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

/** Invoke the entry and return the EMF documents it printed. */
const invoke = async (event: BusEvent): Promise<string[]> => {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    await handler(event, context);
  } finally {
    write.mockRestore();
  }
  return lines.filter((l) => l.includes('"_aws"'));
};

const records = async (): Promise<Record<string, unknown>[]> => {
  const out = await dynamo.send(new ScanCommand({ TableName: TABLE }));
  return (out.Items ?? []).map((item) =>
    Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? v.N])),
  );
};

/** Every test here needs moto_server (started in beforeAll, which runs only if one does). */
const describeWithMoto = describe.skipIf(!motoAvailable('metrics-idempotency.test.ts'));

beforeAll(async () => {
  // The table as the template defines it: the one the metrics function's IDEMPOTENCY_TABLE names.
  const started = startMoto();
  const stack = synthesizeStack('dev', CONFIG);
  moto = await started;
  const fn = functionForEntry(stack, 'metrics');
  const variables = (fn?.[1].Properties?.Environment as { Variables?: Record<string, unknown> })
    ?.Variables;
  const ref = (variables?.IDEMPOTENCY_TABLE as { Ref?: string } | undefined)?.Ref;
  const table = ref === undefined ? undefined : stack.resources[ref]?.Properties;
  if (!table) throw new Error('the metrics function names no idempotency table in the template');
  ttlAttribute = String(
    (table.TimeToLiveSpecification as { AttributeName?: unknown } | undefined)?.AttributeName,
  );

  dynamo = new DynamoDBClient({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await dynamo.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: table.KeySchema as KeySchemaElement[],
      AttributeDefinitions: table.AttributeDefinitions as AttributeDefinition[],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );

  // The Lambda environment (what the template sets, pointed at moto), metrics switched on.
  restoreEnv = saveEnv();
  for (const name of [
    'POWERTOOLS_METRICS_DISABLED',
    'POWERTOOLS_DEV',
    'POWERTOOLS_IDEMPOTENCY_DISABLED',
    'SENTRY_DSN',
  ]) {
    delete process.env[name];
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
    IDEMPOTENCY_TABLE: TABLE,
    VIGIL_CONFIG_JSON: JSON.stringify(CONFIG),
  });
  asInLambda();
  vi.resetModules();
  handler = (await import('../../functions/metrics/index')).handler;
});

afterAll(async () => {
  dynamo?.destroy();
  await moto?.stop();
  restoreEnv?.();
  // The entry (its Metrics, clients and idempotency store) was built with this environment.
  vi.resetModules();
});

describeWithMoto('metrics entry with idempotency', () => {
  beforeEach(() => {
    vi.restoreAllMocks();
  });

  it('counts an event once when EventBridge delivers it twice, and remembers its id in the table', async () => {
    // Prepare
    const event = testRunEvent('11111111-2222-4333-8444-555555555555');
    const before = Math.floor(Date.now() / 1000);
    // The records of the other tests (they may run first).
    const others = new Set((await records()).map((r) => r.id));

    // Act
    const first = await invoke(event);
    const redelivery = await invoke(structuredClone(event));

    // Assess: valid EMF with the run's KPIs, one document per dimension set ([Project] and
    // [Project, Suite]), and nothing for the redelivery
    expect(first).toHaveLength(2);
    for (const line of first) {
      expect(validateEmf(line)).toEqual([]);
      expect(JSON.parse(line)).toMatchObject({ TestsTotal: 10, TestsFailed: 1 });
    }
    expect(redelivery).toEqual([]);
    // Assess: one completed record, expiring after the configured window (TTL attribute)
    const stored = (await records()).filter((r) => !others.has(r.id));
    expect(stored).toEqual([
      expect.objectContaining({ id: expect.any(String), status: 'COMPLETED' }),
    ]);
    const expiration = Number(stored[0]?.[ttlAttribute]);
    expect(expiration).toBeGreaterThanOrEqual(before + EXPIRES_AFTER_SECONDS);
    expect(expiration).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + EXPIRES_AFTER_SECONDS);
  });

  it('counts an event with another id, and records that id too', async () => {
    // Prepare
    const countBefore = (await records()).length;

    // Act
    const other = await invoke(testRunEvent('66666666-7777-4888-8999-000000000000'));

    // Assess
    expect(other).toHaveLength(2);
    for (const line of other) expect(validateEmf(line)).toEqual([]);
    const stored = await records();
    expect(stored).toHaveLength(countBefore + 1);
    expect(new Set(stored.map((r) => r.id)).size).toBe(stored.length);
    for (const record of stored) expect(record.status).toBe('COMPLETED');
  });

  it('counts a run once when the ingest publishes it again under a new event id', async () => {
    // Prepare: the ingest's retry after its ledger entry stayed in progress (new id, same run)
    const first = testRunEvent('12121212-3434-4565-8787-909090909090');
    const republished = {
      ...testRunEvent('abababab-cdcd-4efe-8a1a-b2b2b2b2b2b2'),
      detail: structuredClone(first.detail),
    };
    // Another run still counts.
    const otherRun = testRunEvent('f0f0f0f0-e1e1-4d2d-8c3c-b4b4b4b4b4b4');

    // Act
    const counted = await invoke(first);
    const again = await invoke(republished);
    const other = await invoke(otherRun);

    // Assess
    expect(counted).toHaveLength(2);
    expect(again).toEqual([]);
    expect(other).toHaveLength(2);
  });

  it('keeps no record of an event that failed, so its retry is handled', async () => {
    // Prepare: a detail the handler rejects
    const event = { ...testRunEvent('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'), detail: {} };
    const countBefore = (await records()).length;

    // Act
    const failed = invoke(event);
    await expect(failed).rejects.toThrow();
    const stored = await records();

    // Assess
    expect(stored).toHaveLength(countBefore);
  });
});
