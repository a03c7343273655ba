import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoRunLedger } from '../../functions/adapters/aws/dynamodb-ledger';
import { EventBridgePublisher } from '../../functions/adapters/aws/eventbridge-publisher';
import { S3Archive } from '../../functions/adapters/aws/s3-archive';
import { SecretsManagerTokenSource } from '../../functions/adapters/aws/secrets-tokens';
import { VigilError } from '../../functions/core/errors';
import {
  type BusEvent,
  type CoverageDetail,
  DETAIL_TYPES,
  EVENT_PATTERNS,
  SOURCES,
  type TestRunDetail,
  type VigilEvent,
} from '../../functions/core/events';
import { saveEnv } from '../helpers/env';
import { type MotoServer, motoAvailable, startMoto } from '../helpers/moto';

const REGION = 'us-east-1';
const BUS = 'vigil-test';
const BUCKET = 'vigil-archive-test';
const TABLE = 'vigil-ledger-test';
const FIXTURE = new URL('../fixtures/corpus/junit/datadog-java-gradle.xml', import.meta.url);

let moto: MotoServer;
let eventBridge: EventBridgeClient;
let sqs: SQSClient;
let s3: S3Client;
let dynamo: DynamoDBClient;
let secrets: SecretsManagerClient;
let queueUrl: string;
let restoreEnv: () => void;

const noSleep = async (): Promise<void> => {};

/** Every test here needs moto_server (started in beforeAll, which runs only if one does). */
const describeWithMoto = describe.skipIf(!motoAvailable('aws-adapters.test.ts'));

beforeAll(async () => {
  restoreEnv = saveEnv();
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_REGION = REGION;
  moto = await startMoto();
  const config = { region: REGION, endpoint: moto.endpoint };
  eventBridge = new EventBridgeClient(config);
  sqs = new SQSClient(config);
  s3 = new S3Client({ ...config, forcePathStyle: true });
  dynamo = new DynamoDBClient(config);
  secrets = new SecretsManagerClient(config);

  await eventBridge.send(new CreateEventBusCommand({ Name: BUS }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'vigil-metrics-test' }));
  if (!queue.QueueUrl) throw new Error('moto returned no queue URL');
  queueUrl = queue.QueueUrl;
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await eventBridge.send(
    new PutRuleCommand({
      Name: 'metrics',
      EventBusName: BUS,
      EventPattern: JSON.stringify(EVENT_PATTERNS.metrics),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: 'metrics',
      EventBusName: BUS,
      Targets: [{ Id: 'metrics-queue', Arn: attrs.Attributes?.QueueArn }],
    }),
  );
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await dynamo.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  for (const client of [eventBridge, sqs, s3, dynamo, secrets]) client?.destroy();
  await moto?.stop();
  restoreEnv();
  vi.resetModules();
});

const archive = {
  uri: `s3://${BUCKET}/raw/shop/2026/11/25/run-42.xml`,
  bytes: 1234,
  sha256: 'c'.repeat(64),
};
const normalized = {
  uri: `s3://${BUCKET}/normalized/shop/2026/11/25/run-42.json`,
  bytes: 5678,
  sha256: 'd'.repeat(64),
};

const testRunEvent = (runId: string): VigilEvent => ({
  source: SOURCES.ingest,
  detailType: DETAIL_TYPES.testRun,
  detail: {
    metadata: {
      project: 'shop',
      suite: 'backend',
      branch: 'feature/grüße',
      commit: '4f2a9c1e',
      ci: 'github-actions',
      runId,
      correlationId: `corr-${runId}`,
      format: 'junit',
      dialect: 'gradle',
      ingestedAt: '2026-11-25T10:15:00.000Z',
      archive,
      normalized,
    },
    summary: { total: 42, passed: 39, failed: 2, skipped: 1, flaky: 1, durationMs: 8123 },
    gate: {
      status: 'fail',
      checks: [
        {
          id: 'failed-tests',
          status: 'fail',
          message: '2 failed tests (max 0)',
          actual: 2,
          threshold: 0,
        },
      ],
    },
    failedTests: [
      {
        suite: 'CartServiceTest',
        classname: 'shop.cart.CartServiceTest',
        name: 'addsItem',
        message: 'expected 2 but was 1',
      },
      { suite: 'CartServiceTest', classname: 'shop.cart.CartServiceTest', name: 'removesItem' },
    ],
    failedTestsTruncated: false,
    flakyTests: [{ suite: 'Checkout', classname: 'shop.Checkout', name: 'paysWithCard' }],
  },
});

const coverageEvent = (runId: string): VigilEvent => ({
  source: SOURCES.ingest,
  detailType: DETAIL_TYPES.coverage,
  detail: {
    metadata: {
      project: 'shop',
      runId,
      correlationId: `corr-${runId}`,
      format: 'lcov',
      ingestedAt: '2026-11-25T10:16:00.000Z',
      archive,
      normalized,
    },
    summary: {
      lines: { pct: 81.5, covered: 815, total: 1000 },
      branches: { pct: 70, covered: 70, total: 100 },
      functions: { pct: 90, covered: 90, total: 100 },
    },
    gate: { status: 'pass', checks: [] },
  },
});

/** An event outside the Vigil vocabulary, to check the rule filters it out. */
const foreignEvent = (source: string, detailType: string): VigilEvent =>
  ({ source, detailType, detail: { runId: 'foreign' } }) as unknown as VigilEvent;

/** Drains the queue. moto delivers rule targets synchronously inside PutEvents. */
const drainQueue = async (): Promise<BusEvent[]> => {
  const received: Message[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (!out.Messages?.length) break;
    received.push(...out.Messages);
  }
  return received.map((m) => JSON.parse(m.Body ?? '{}') as BusEvent);
};

describeWithMoto('EventBridgePublisher on moto', () => {
  const publisher = () =>
    new EventBridgePublisher({ busName: BUS, client: eventBridge, sleep: noSleep });

  it('delivers matching events through the metrics rule and filters the rest', async () => {
    await drainQueue();
    const run = testRunEvent('run-42');
    const coverage = coverageEvent('run-43');
    await publisher().publish([
      foreignEvent(SOURCES.ingest, 'Probe Result Reported'),
      run,
      foreignEvent('vigil.synthetics', DETAIL_TYPES.testRun),
      coverage,
    ]);

    const received = await drainQueue();
    expect(received).toHaveLength(2);
    const byType = new Map(received.map((e) => [e['detail-type'], e]));
    const testRun = byType.get(DETAIL_TYPES.testRun) as BusEvent<TestRunDetail> | undefined;
    expect(testRun).toMatchObject({ source: 'vigil.ingest', region: REGION, version: '0' });
    expect(testRun?.id).toEqual(expect.any(String));
    expect(testRun?.detail).toEqual(run.detail);
    expect(testRun?.detail.metadata.branch).toBe('feature/grüße');
    const cov = byType.get(DETAIL_TYPES.coverage) as BusEvent<CoverageDetail> | undefined;
    expect(cov?.detail).toEqual(coverage.detail);
  });

  it('publishes more than 10 events in several requests', async () => {
    await drainQueue();
    // moto rejects a request with more than 10 entries, so this only passes when batched.
    // Most events match no rule: moto takes ~0.2 s to deliver each matching one to SQS.
    const events = Array.from({ length: 23 }, (_, i) =>
      i === 0 || i === 22 ? testRunEvent(`bulk-${i}`) : foreignEvent('vigil.bulk', `Bulk ${i}`),
    );
    await publisher().publish(events);
    const received = (await drainQueue()) as BusEvent<TestRunDetail>[];
    expect(received.map((e) => e.detail.metadata.runId).sort()).toEqual(['bulk-0', 'bulk-22']);
  });

  it('reports publish_failed when the bus does not exist', async () => {
    const broken = new EventBridgePublisher({
      busName: 'no-such-bus',
      client: eventBridge,
      sleep: noSleep,
    });
    await expect(broken.publish([testRunEvent('lost')])).rejects.toMatchObject({
      code: 'publish_failed',
      message: expect.stringContaining('ResourceNotFoundException'),
    });
  });
});

describeWithMoto('S3Archive on moto', () => {
  it('stores the body with content type, metadata and checksum', async () => {
    const body = new Uint8Array(await readFile(FIXTURE));
    const sha256 = createHash('sha256').update(body).digest('hex');
    const store = new S3Archive({ bucket: BUCKET, client: s3, prefix: 'raw' });

    const pointer = await store.put({
      key: 'shop/2026/11/25/run-42.xml',
      body,
      contentType: 'application/xml',
      sha256,
      metadata: { project: 'shop', runId: 'run-42', branch: 'feature/grüße' },
    });

    expect(pointer).toEqual({
      uri: `s3://${BUCKET}/raw/shop/2026/11/25/run-42.xml`,
      bytes: body.byteLength,
      sha256,
    });
    const object = await s3.send(
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: 'raw/shop/2026/11/25/run-42.xml',
        ChecksumMode: 'ENABLED',
      }),
    );
    const stored = await object.Body?.transformToByteArray();
    expect(stored && Buffer.from(stored).equals(Buffer.from(body))).toBe(true);
    expect(object.ContentType).toBe('application/xml');
    expect(object.ChecksumSHA256).toBe(Buffer.from(sha256, 'hex').toString('base64'));
    // Metadata names come back lower-case; non-ASCII values RFC 2047 encoded.
    expect(object.Metadata).toEqual({
      project: 'shop',
      runid: 'run-42',
      branch: `=?UTF-8?B?${Buffer.from('feature/grüße').toString('base64')}?=`,
    });
  });

  it('works without a prefix and rejects a malformed sha256', async () => {
    const store = new S3Archive({ bucket: BUCKET, client: s3 });
    const body = new TextEncoder().encode('{"ok":true}');
    const sha256 = createHash('sha256').update(body).digest('hex').toUpperCase();
    const pointer = await store.put({
      key: '/plain.json',
      body,
      contentType: 'application/json',
      sha256,
      metadata: {},
    });
    expect(pointer).toEqual({
      uri: `s3://${BUCKET}/plain.json`,
      bytes: body.byteLength,
      sha256: sha256.toLowerCase(),
    });
    await expect(
      store.put({ key: 'x', body, contentType: 'text/plain', sha256: 'abc', metadata: {} }),
    ).rejects.toMatchObject({ code: 'internal' });
  });
});

describeWithMoto('DynamoRunLedger on moto', () => {
  const T0 = Date.parse('2026-11-25T10:00:00Z');
  const ledger = (clock: { now: number }, ttlDays?: number) =>
    new DynamoRunLedger({ table: TABLE, client: dynamo, ttlDays, now: () => clock.now });

  it('claims, detects conflicts, completes and answers duplicates', async () => {
    const clock = { now: T0 };
    const l = ledger(clock);
    expect(await l.claim('shop/run-1', 'fp-a')).toEqual({ state: 'new' });

    const item = await dynamo.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'shop/run-1' } } }),
    );
    expect(item.Item).toEqual({
      pk: { S: 'shop/run-1' },
      fingerprint: { S: 'fp-a' },
      state: { S: 'in_progress' },
      claimedAt: { N: String(T0) },
      expiresAt: { N: String(T0 / 1000 + 30 * 86_400) },
    });

    expect(await l.claim('shop/run-1', 'fp-a')).toEqual({
      state: 'conflict',
      reason: 'in_progress',
    });
    expect(await l.claim('shop/run-1', 'fp-b')).toEqual({
      state: 'conflict',
      reason: 'different_content',
      fingerprint: 'fp-a',
    });

    const response = { runId: 'run-1', events: 2, gate: 'pass' };
    await l.complete('shop/run-1', 'fp-a', response);
    expect(await l.claim('shop/run-1', 'fp-a')).toEqual({ state: 'duplicate', response });
    expect(await l.claim('shop/run-1', 'fp-b')).toEqual({
      state: 'conflict',
      reason: 'different_content',
      fingerprint: 'fp-a',
    });
    // Releasing a finished entry changes nothing.
    await l.release('shop/run-1');
    expect(await l.claim('shop/run-1', 'fp-a')).toEqual({ state: 'duplicate', response });
    // Even long after the claim went stale: a done entry is never taken over.
    clock.now += 10 * 60_000;
    expect(await l.claim('shop/run-1', 'fp-b')).toEqual({
      state: 'conflict',
      reason: 'different_content',
      fingerprint: 'fp-a',
    });
  });

  it('releases an unfinished claim so the run can be retried', async () => {
    const l = ledger({ now: T0 });
    expect(await l.claim('shop/run-2', 'fp-a')).toEqual({ state: 'new' });
    await l.release('shop/run-2');
    expect(await l.claim('shop/run-2', 'fp-b')).toEqual({ state: 'new' });
    await l.release('shop/never-claimed');
  });

  it('lets a stale claim be taken over, after which the old owner cannot complete', async () => {
    const clock = { now: T0 };
    const l = ledger(clock);
    expect(await l.claim('shop/run-3', 'fp-old')).toEqual({ state: 'new' });
    clock.now += 60_000; // exactly at the limit: not stale yet
    expect(await l.claim('shop/run-3', 'fp-new')).toEqual({
      state: 'conflict',
      reason: 'different_content',
      fingerprint: 'fp-old',
    });
    clock.now += 1;
    expect(await l.claim('shop/run-3', 'fp-new')).toEqual({ state: 'new' });
    await expect(l.complete('shop/run-3', 'fp-old', { ok: true })).rejects.toMatchObject({
      code: 'conflict',
    });
    await l.complete('shop/run-3', 'fp-new', { ok: true });
    expect(await l.claim('shop/run-3', 'fp-new')).toEqual({
      state: 'duplicate',
      response: { ok: true },
    });
  });

  it("gives a run taken over from a stale claim that claim's time, also at a second takeover", async () => {
    // Prepare: a claim that gave the run T0, abandoned (its Lambda died after publishing).
    const clock = { now: T0 };
    const l = ledger(clock);
    expect(await l.claim('shop/taken-1', 'fp-a', T0)).toEqual({ state: 'new' });
    // Act: retried after the claim went stale, then again after that claim went stale too.
    clock.now += 60_001;
    const first = await l.claim('shop/taken-1', 'fp-a', clock.now);
    clock.now += 60_001;
    const second = await l.claim('shop/taken-1', 'fp-a', clock.now);
    // Assess
    expect(first).toEqual({ state: 'new', at: T0 });
    expect(second).toEqual({ state: 'new', at: T0 });
    await l.complete('shop/taken-1', 'fp-a', { ok: true });
    expect(await l.claim('shop/taken-1', 'fp-a', clock.now)).toEqual({
      state: 'duplicate',
      response: { ok: true },
    });
  });

  it('gives a run a new time when the claim it takes over expired or had none', async () => {
    // Prepare: an abandoned claim that goes past its TTL, and a stale one made without a time.
    const clock = { now: T0 };
    const l = ledger(clock, 1);
    await l.claim('shop/taken-2', 'fp-a', T0);
    await l.claim('shop/taken-3', 'fp-a');
    // Act + Assess
    clock.now += 60_001;
    expect(await l.claim('shop/taken-3', 'fp-a', clock.now)).toEqual({ state: 'new' });
    clock.now += 86_400_000;
    expect(await l.claim('shop/taken-2', 'fp-a', clock.now)).toEqual({ state: 'new' });
  });

  it('treats an entry past its TTL as absent', async () => {
    const clock = { now: T0 };
    const l = ledger(clock, 1);
    expect(await l.claim('shop/run-4', 'fp-a')).toEqual({ state: 'new' });
    await l.complete('shop/run-4', 'fp-a', null);
    expect(await l.claim('shop/run-4', 'fp-a')).toEqual({ state: 'duplicate', response: null });
    clock.now += 86_400_000 + 1_000;
    expect(await l.claim('shop/run-4', 'fp-a')).toEqual({ state: 'new' });
  });

  it('lets exactly one of several concurrent claims win', async () => {
    const l = new DynamoRunLedger({ table: TABLE, client: dynamo });
    for (let round = 0; round < 5; round++) {
      const key = `shop/race-${round}`;
      const results = await Promise.all(Array.from({ length: 6 }, () => l.claim(key, 'fp-x')));
      expect(results.filter((r) => r.state === 'new')).toHaveLength(1);
      expect(results.filter((r) => r.state === 'conflict')).toHaveLength(5);
    }
  });

  it('reads the blocking entry when the endpoint returns no item with the failed condition', async () => {
    // Emulates endpoints without ReturnValuesOnConditionCheckFailure (e.g. older emulators).
    const stripping = new DynamoDBClient({ region: REGION, endpoint: moto.endpoint });
    stripping.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (e) {
          if (e instanceof Error && 'Item' in e) Reflect.deleteProperty(e, 'Item');
          throw e;
        }
      },
      { step: 'initialize', name: 'stripConditionItem' },
    );
    const l = new DynamoRunLedger({ table: TABLE, client: stripping, staleClaimMs: 5_000 });
    try {
      expect(await l.claim('shop/run-5', 'fp-a')).toEqual({ state: 'new' });
      expect(await l.claim('shop/run-5', 'fp-a')).toEqual({
        state: 'conflict',
        reason: 'in_progress',
      });
      await l.complete('shop/run-5', 'fp-a', { n: 1 });
      expect(await l.claim('shop/run-5', 'fp-a')).toEqual({
        state: 'duplicate',
        response: { n: 1 },
      });
    } finally {
      stripping.destroy();
    }
  });

  it('claims again when the blocking entry vanished before it could be read', async () => {
    const racing = new DynamoDBClient({ region: REGION, endpoint: moto.endpoint });
    // A concurrent release lands between the failed put and the read.
    racing.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (e) {
          if (e instanceof Error && e.name === 'ConditionalCheckFailedException') {
            Reflect.deleteProperty(e, 'Item');
            await ledger({ now: T0 }).release('shop/run-6');
          }
          throw e;
        }
      },
      { step: 'initialize', name: 'concurrentRelease' },
    );
    try {
      const l = ledger({ now: T0 });
      expect(await l.claim('shop/run-6', 'fp-a')).toEqual({ state: 'new' });
      const other = new DynamoRunLedger({ table: TABLE, client: racing, now: () => T0 });
      expect(await other.claim('shop/run-6', 'fp-b')).toEqual({ state: 'new' });
    } finally {
      racing.destroy();
    }
  });

  it('gives up on an entry that is not a ledger item', async () => {
    await dynamo.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'shop/foreign' } } }),
    );
    await expect(ledger({ now: T0 }).claim('shop/foreign', 'fp')).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  it('passes other DynamoDB errors through', async () => {
    const l = new DynamoRunLedger({ table: 'no-such-table', client: dynamo });
    const notFound = { name: 'ResourceNotFoundException' };
    await expect(l.claim('k', 'fp')).rejects.toMatchObject(notFound);
    await expect(l.complete('k', 'fp', {})).rejects.toMatchObject(notFound);
    await expect(l.release('k')).rejects.toMatchObject(notFound);
  });

  it('fails complete for an entry that does not exist', async () => {
    await expect(ledger({ now: T0 }).complete('shop/ghost', 'fp', {})).rejects.toBeInstanceOf(
      VigilError,
    );
  });
});

describeWithMoto('SecretsManagerTokenSource on moto', () => {
  it('reads a JSON secret, trimming and dropping empty tokens', async () => {
    await secrets.send(
      new CreateSecretCommand({
        Name: 'vigil/tokens-json',
        SecretString: JSON.stringify({ tokens: [' tok-a ', '', 'tok-b', '   '] }),
      }),
    );
    const source = new SecretsManagerTokenSource({
      secretId: 'vigil/tokens-json',
      client: secrets,
    });
    expect(await source.tokens()).toEqual(['tok-a', 'tok-b']);
  });

  it('reads a comma-separated secret and caches it', async () => {
    await secrets.send(
      new CreateSecretCommand({ Name: 'vigil/tokens-csv', SecretString: ' tok-1 , tok-2,,tok-3 ' }),
    );
    const clock = { now: 0 };
    const source = new SecretsManagerTokenSource({
      secretId: 'vigil/tokens-csv',
      client: secrets,
      cacheMs: 1_000,
      now: () => clock.now,
    });
    const [first, concurrent] = await Promise.all([source.tokens(), source.tokens()]);
    expect(first).toEqual(['tok-1', 'tok-2', 'tok-3']);
    expect(concurrent).toBe(first);

    await secrets.send(
      new PutSecretValueCommand({ SecretId: 'vigil/tokens-csv', SecretString: 'tok-9' }),
    );
    clock.now = 999;
    expect(await source.tokens()).toEqual(['tok-1', 'tok-2', 'tok-3']);
    clock.now = 1_000;
    expect(await source.tokens()).toEqual(['tok-9']);

    // Refresh fails (secret gone): keep serving the cached tokens.
    await secrets.send(
      new DeleteSecretCommand({ SecretId: 'vigil/tokens-csv', ForceDeleteWithoutRecovery: true }),
    );
    clock.now = 5_000;
    expect(await source.tokens()).toEqual(['tok-9']);
  });

  it('accepts a secret with no tokens (nobody may ingest)', async () => {
    await secrets.send(
      new CreateSecretCommand({ Name: 'vigil/tokens-empty', SecretString: ' , ' }),
    );
    const source = new SecretsManagerTokenSource({
      secretId: 'vigil/tokens-empty',
      client: secrets,
    });
    expect(await source.tokens()).toEqual([]);
  });

  it('is unavailable without a cached value', async () => {
    const missing = new SecretsManagerTokenSource({ secretId: 'vigil/missing', client: secrets });
    await expect(missing.tokens()).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('ResourceNotFoundException'),
    });

    await secrets.send(
      new CreateSecretCommand({ Name: 'vigil/tokens-bad', SecretString: '{"tokens": "tok-z"}' }),
    );
    const bad = new SecretsManagerTokenSource({ secretId: 'vigil/tokens-bad', client: secrets });
    const error = await bad.tokens().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable' });
    expect(String((error as Error).message)).not.toContain('tok-z');

    await secrets.send(
      new CreateSecretCommand({ Name: 'vigil/tokens-broken', SecretString: '{tok-y' }),
    );
    const broken = new SecretsManagerTokenSource({
      secretId: 'vigil/tokens-broken',
      client: secrets,
    });
    const brokenError = await broken.tokens().catch((e: unknown) => e);
    expect(brokenError).toMatchObject({ code: 'unavailable' });
    expect(String((brokenError as Error).message)).not.toContain('tok-y');

    await secrets.send(
      new CreateSecretCommand({
        Name: 'vigil/tokens-binary',
        SecretBinary: new TextEncoder().encode('tok-b'),
      }),
    );
    const binary = new SecretsManagerTokenSource({
      secretId: 'vigil/tokens-binary',
      client: secrets,
    });
    await expect(binary.tokens()).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describeWithMoto('shared clients', () => {
  it('create one traced client per service and honour AWS_ENDPOINT_URL', async () => {
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    // Clients are created once per module instance: a fresh one sees this environment.
    vi.resetModules();
    const clients = {
      ...(await import('../../functions/adapters/aws/clients')),
      ...(await import('../../functions/adapters/aws/s3-client')),
    };

    expect(clients.s3()).toBe(clients.s3());
    const buckets = await clients.s3().send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => b.Name)).toContain(BUCKET);
    const tables = await clients.dynamo().send(new ListTablesCommand({}));
    expect(tables.TableNames).toContain(TABLE);
    const buses = await clients.eventBridge().send(new ListEventBusesCommand({}));
    expect(buses.EventBuses?.map((b) => b.Name)).toContain(BUS);
    const list = await clients.secrets().send(new ListSecretsCommand({}));
    expect(list.SecretList).toBeDefined();
    for (const client of [clients.s3(), clients.dynamo(), clients.eventBridge(), clients.secrets()])
      client.destroy();
  });
});
