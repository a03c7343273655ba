import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoHistoryStore } from '../../functions/adapters/aws/dynamodb-history-store';
import { S3Archive } from '../../functions/adapters/aws/s3-archive';
import { LocalMetricStore } from '../../functions/adapters/local/metric-store';
import { createLocalMetrics } from '../../functions/adapters/local/metrics';
import { createAlertHandler } from '../../functions/alert/handler';
import { parseConfig, type VigilConfig } from '../../functions/core/config';
import {
  type AlertNotification,
  type ArchivePointer,
  type BusEvent,
  EVENT_PATTERNS,
  testFlakyDetailSchema,
  type VigilEvent,
} from '../../functions/core/events';
import { ingest } from '../../functions/core/ingest/service';
import type { ArchiveReader } from '../../functions/core/ports';
import { createHistoryHandler } from '../../functions/history/handler';
import { validateEmf } from '../helpers/emf';
import { asInLambda, saveEnv } from '../helpers/env';
import { MemoryArchive, MemoryLedger, MemoryPublisher } from '../helpers/fakes';
import { busOn, storedEvents, storeOf } from '../helpers/local-store';
import { MemoryHistory } from '../helpers/memory-history';
import { createHistoryTable, type MotoServer, motoAvailable, startMoto } from '../helpers/moto';

const fixture = (path: string): Buffer => readFileSync(join(__dirname, '../fixtures', path));

/** Reads back what `MemoryArchive.put` stored (its pointers are `mem://<key>`). */
const readerOf = (archive: MemoryArchive): ArchiveReader => ({
  async get(pointer: ArchivePointer): Promise<Uint8Array> {
    const stored = archive.objects.get(pointer.uri.replace(/^mem:\/\//, ''));
    if (!stored) throw new Error(`NoSuchKey: ${pointer.uri}`);
    return stored.body;
  },
});

const now = Date.parse('2026-11-25T10:00:00.000Z');
const clock = { now: () => new Date(now) };

const config: VigilConfig = parseConfig({
  project: 'shop',
  quarantine: [
    {
      test: 'example.ExampleTests > throwsOnly*',
      owner: 'team-checkout',
      reason: 'retries on CI',
      expires: '2026-12-31',
    },
  ],
});

/** Post a report through the real ingest use case; returns the published bus events. */
const post = async (
  body: Buffer,
  query: Record<string, string>,
  deps: { archive: MemoryArchive; publisher: { publish(events: VigilEvent[]): Promise<void> } },
): Promise<void> => {
  await ingest(
    { query: { project: 'shop', ...query }, body, correlationId: `corr-${query.runId}` },
    { config, publisher: deps.publisher, archive: deps.archive, ledger: new MemoryLedger(), clock },
  );
};

const toBusEvent = (e: VigilEvent, id: string): BusEvent => ({
  version: '0',
  id,
  source: e.source,
  account: '000000000000',
  time: new Date(now).toISOString(),
  region: 'us-east-1',
  resources: [],
  'detail-type': e.detailType,
  detail: e.detail,
});

describe('history handler (local runtime: the same handlers on the local bus)', () => {
  it('records real reports, announces flaky tests, counts them, and the alert handler sends NOTICEs for main', async () => {
    // Prepare: ingest → bus → history handler → bus → alert handler, as `npm start` wires them
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-history-'));
    const errors: unknown[] = [];
    const bus = busOn(dataDir, {
      retryDelayMs: 1,
      onDeliveryError: (_rule, _event, error) => errors.push(error),
    });
    const archive = new MemoryArchive();
    const store = new MemoryHistory();
    const metricStore = new LocalMetricStore();
    const emf: string[] = [];
    const metrics = createLocalMetrics(metricStore, {
      namespace: 'Vigil',
      serviceName: 'vigil',
      echo: (line) => emf.push(line),
    });
    const notices: AlertNotification[] = [];
    bus.subscribe(
      'history',
      EVENT_PATTERNS.history,
      createHistoryHandler({
        config,
        store,
        archive: readerOf(archive),
        publisher: bus,
        clock,
        metrics,
      }),
    );
    bus.subscribe(
      'alerts',
      EVENT_PATTERNS.alerts,
      createAlertHandler({
        config,
        store: storeOf(dataDir).alerts,
        dispatch: async (n) => {
          notices.push(n);
        },
        clock,
        metrics,
      }),
    );

    // Act: Surefire with reruns on main, Jest with retries on a feature branch, coverage
    await post(
      fixture('corpus/junit/enricomi-surefire-rerun-flaky.xml'),
      { runId: 'mvn-1', branch: 'main', commit: '4f2a9c1e77b0' },
      { archive, publisher: bus },
    );
    await post(
      fixture('generated/jest-30-json-retries-broken-suite.json'),
      { runId: 'jest-1', branch: 'feature/coupons', commit: 'aa11bb22' },
      { archive, publisher: bus },
    );
    await post(
      fixture('corpus/lcov/dorny-lcov.info'),
      { runId: 'lcov-1', branch: 'main' },
      { archive, publisher: bus },
    );
    await bus.drain();

    // Assess: runs and tests recorded
    expect(errors).toEqual([]);
    expect(store.runs.size).toBe(3);
    expect(store.tests.size).toBe(4 + 7);
    const flaky = await store.listTests('shop', { status: 'flaky', limit: 10 });
    expect(flaky.items.map((t) => [t.id, t.flaky?.reason])).toEqual([
      [
        '/tmp/jjson/__tests__/cart.test.js > cart › totals > passes on the third attempt',
        'retried',
      ],
      ['example.ExampleTests > failsAssertionOnlyFirstAttempt', 'retried'],
      ['example.ExampleTests > throwsOnlyFirstAttempt', 'retried'],
    ]);

    // Test Flaky Detected on the bus, valid, carrying the run's correlation id and the quarantine
    const archived = storedEvents(dataDir);
    const detected = archived.filter((e) => e['detail-type'] === 'Test Flaky Detected');
    expect(detected).toHaveLength(3);
    const details = detected.map((e) => testFlakyDetailSchema.parse(e.detail));
    expect(details.find((d) => d.test.name === 'throwsOnlyFirstAttempt')).toMatchObject({
      metadata: { runId: 'mvn-1', branch: 'main', correlationId: 'corr-mvn-1' },
      quarantined: { owner: 'team-checkout', expires: '2026-12-31' },
    });

    // NOTICE for the two found on main, not for the feature branch (the failed tests of the
    // main run fire their own alert through the state machine)
    expect(
      notices
        .filter((n) => n.kind === 'NOTICE')
        .map((n) => n.title)
        .sort(),
    ).toEqual([
      'Flaky test example.ExampleTests > failsAssertionOnlyFirstAttempt',
      'Flaky test example.ExampleTests > throwsOnlyFirstAttempt',
    ]);
    expect(notices.filter((n) => n.kind !== 'NOTICE').map((n) => n.checkKey)).toEqual([
      'tests:shop/default/main',
    ]);

    // FlakyTests per test run, by project, as valid EMF timestamped at ingestion
    expect(
      metricStore
        .query({ name: 'FlakyTests', dimensions: { Project: 'shop' } })
        .map((p) => p.value),
    ).toEqual([2, 1]);
    const flakyLines = emf.filter((l) => l.includes('"FlakyTests"'));
    expect(flakyLines).toHaveLength(2);
    for (const line of flakyLines) expect(validateEmf(line)).toEqual([]);
    expect(JSON.parse(flakyLines[0] ?? '{}')._aws.Timestamp).toBe(now);
  });

  it('changes nothing and announces nothing on a redelivered event, and rejects an invalid one', async () => {
    // Prepare
    const archive = new MemoryArchive();
    const captured = new MemoryPublisher();
    const published = new MemoryPublisher();
    const store = new MemoryHistory();
    const handle = createHistoryHandler({
      config,
      store,
      archive: readerOf(archive),
      publisher: published,
      clock,
      metrics: createLocalMetrics(new LocalMetricStore(), { namespace: 'Vigil', serviceName: 'v' }),
    });
    await post(
      fixture('corpus/junit/mikepenz-surefire-flaky.xml'),
      { runId: 'mvn-2', branch: 'main' },
      { archive, publisher: captured },
    );
    const [event] = captured.events;
    if (!event) throw new Error('ingest published nothing');

    // Act
    await handle(toBusEvent(event, 'evt-1'));
    const afterFirst = structuredClone([...store.tests.values()]);
    await handle(toBusEvent(event, 'evt-1'));
    const broken = handle({ ...toBusEvent(event, 'evt-2'), detail: { metadata: {} } });

    // Assess
    expect(published.events.map((e) => e.detailType)).toEqual(['Test Flaky Detected']);
    expect([...store.tests.values()]).toEqual(afterFirst);
    await expect(broken).rejects.toThrow(/^Invalid Test Run Reported event: metadata\.project: /);
  });
});

// AWS: the Lambda entry against moto (DynamoDB history table, S3 archive, EventBridge bus).

const withMoto = motoAvailable('history Lambda entry (history-handler.test.ts)');

describe.skipIf(!withMoto)('history Lambda entry (moto)', () => {
  let moto: MotoServer;
  const clients: { destroy(): void }[] = [];
  let restoreEnv: () => void;

  beforeAll(async () => {
    restoreEnv = saveEnv();
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    moto = await startMoto();
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await moto?.stop();
    restoreEnv();
    // The Lambda entry (and its clients) was built with this file's environment.
    vi.resetModules();
  });

  // A longer timeout: the Lambda entry is imported fresh in the test, its whole module graph
  // evaluated again (seconds of CPU on a loaded machine).
  it('records the run in DynamoDB from the S3 archive and puts Test Flaky Detected on the bus', async () => {
    // Prepare: the resources CDK creates, and the environment it sets
    const cfg = { region: 'us-east-1', endpoint: moto.endpoint };
    const dynamo = new DynamoDBClient(cfg);
    const s3 = new S3Client({ ...cfg, forcePathStyle: true });
    const eventBridge = new EventBridgeClient(cfg);
    const sqs = new SQSClient(cfg);
    clients.push(dynamo, s3, eventBridge, sqs);
    await createHistoryTable(dynamo, 'vigil-history');
    await s3.send(new CreateBucketCommand({ Bucket: 'vigil-archive' }));
    await eventBridge.send(new CreateEventBusCommand({ Name: 'vigil-history-bus' }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'flaky-listener' }));
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await eventBridge.send(
      new PutRuleCommand({
        Name: 'flaky-listener',
        EventBusName: 'vigil-history-bus',
        EventPattern: JSON.stringify({ source: ['vigil.history'] }),
      }),
    );
    await eventBridge.send(
      new PutTargetsCommand({
        Rule: 'flaky-listener',
        EventBusName: 'vigil-history-bus',
        Targets: [{ Id: 'listener', Arn: attrs.Attributes?.QueueArn ?? '' }],
      }),
    );
    // What ingest wrote: the normalized result in S3, the event pointing at it
    const captured = new MemoryPublisher();
    await ingest(
      {
        query: { project: 'shop', runId: 'mvn-9', branch: 'main', commit: 'abc123' },
        body: fixture('corpus/junit/enricomi-surefire-rerun-flaky.xml'),
        correlationId: 'corr-mvn-9',
      },
      {
        config,
        publisher: captured,
        archive: new S3Archive({ bucket: 'vigil-archive', client: s3 }),
        ledger: new MemoryLedger(),
        clock,
      },
    );
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      HISTORY_TABLE: 'vigil-history',
      ARCHIVE_BUCKET: 'vigil-archive',
      ARCHIVE_BUCKET_DOMAIN: 'vigil-archive.s3.us-east-1.amazonaws.com',
      EVENT_BUS_NAME: 'vigil-history-bus',
      VIGIL_CONFIG_JSON: JSON.stringify({ project: 'shop' }),
    });

    asInLambda();
    // The entry reads it at import: a fresh one (another file may have imported it).
    vi.resetModules();

    // Act
    const entry = await import('../../functions/history/index');
    const [event] = captured.events;
    if (!event) throw new Error('ingest published nothing');
    await entry.handler(toBusEvent(event, 'evt-aws-1'));
    const received: Message[] = [];
    for (let i = 0; i < 5 && received.length < 2; i++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      received.push(...(out.Messages ?? []));
    }

    // Assess
    const store = new DynamoHistoryStore({ table: 'vigil-history', client: dynamo });
    const flaky = await store.listTests('shop', { status: 'flaky', limit: 10 });
    expect(flaky.items.map((t) => t.id)).toEqual([
      'example.ExampleTests > failsAssertionOnlyFirstAttempt',
      'example.ExampleTests > throwsOnlyFirstAttempt',
    ]);
    expect((await store.listRuns('shop', { limit: 5 })).items.map((r) => r.runId)).toEqual([
      'mvn-9',
    ]);
    const events = received.map((m) => JSON.parse(m.Body ?? '{}') as BusEvent);
    expect(events.map((e) => e['detail-type'])).toEqual([
      'Test Flaky Detected',
      'Test Flaky Detected',
    ]);
    expect(testFlakyDetailSchema.parse(events[0]?.detail).metadata.correlationId).toBe(
      'corr-mvn-9',
    );
  }, 60_000);
});
