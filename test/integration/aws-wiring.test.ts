import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  type PutEventsCommandInput,
  type PutEventsCommandOutput,
  type PutEventsResultEntry,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HISTORY_TABLE_KEYS } from '../../functions/adapters/aws/dynamodb-history-store';
import { EventBridgePublisher } from '../../functions/adapters/aws/eventbridge-publisher';
import { parseConfig } from '../../functions/core/config';
import {
  type AlertNotification,
  alertNotificationSchema,
  type BenchmarkDetail,
  type BusEvent,
  DETAIL_TYPES,
  EVENT_PATTERNS,
  MAX_EVENT_BYTES,
  type ProbeCompletedDetail,
  parseBusEvent,
  SOURCES,
  type TestRunDetail,
  type VigilEvent,
} from '../../functions/core/events';
import { MAX_BENCHMARK_METRICS } from '../../functions/core/metrics/catalog';
import { validateEmf } from '../helpers/emf';
import { asInLambda, saveEnv } from '../helpers/env';
import { apiEvent, lambdaContext } from '../helpers/fakes';
import { type MotoServer, motoAvailable, startMoto } from '../helpers/moto';
import {
  type CfnResource,
  functionForEntry,
  type PatternRule,
  type PhysicalResource,
  patternRules,
  type ResolveContext,
  resolveIntrinsics,
  resourcesOfType,
  type SynthesizedStack,
  synthesizeStack,
} from '../helpers/template';

/**
 * The synthesized template and the real Lambda entries agree: the dev stack's buses, tables,
 * buckets, secrets, topics and rules (event patterns unchanged) are recreated in moto_server;
 * each entry is imported with the environment its function gets in the template (references
 * resolved to the moto resources); an SQS queue stands in for every rule target, so the test
 * sees exactly what EventBridge would hand each function.
 *
 * moto delivers rule targets and SNS subscriptions synchronously inside PutEvents / Publish,
 * so a queue is complete as soon as the call that fed it has returned.
 */

const REGION = 'us-east-1';
/** moto's default account. */
const ACCOUNT = '123456789012';
const TOKEN = 't1';
const FIXTURE = readFileSync(
  new URL('../fixtures/corpus/junit/datadog-java-gradle.xml', import.meta.url),
);
const CONFIG = parseConfig({
  project: 'shop',
  defaultBranch: 'main',
  probes: [
    {
      name: 'checkout-api',
      url: 'https://shop.example.com/health',
      failureThreshold: 2,
      runbookUrl: 'https://runbooks.example.com/checkout',
      tags: ['checkout'],
    },
  ],
});

/** Environment of the test process the template must not override. */
const KEEP_FROM_TEST_ENV = new Set(['NODE_OPTIONS', 'POWERTOOLS_LOG_LEVEL']);

let moto: MotoServer;
let stack: SynthesizedStack;
let eventBridge: EventBridgeClient;
let sqs: SQSClient;
let s3: S3Client;
let dynamo: DynamoDBClient;
let secrets: SecretsManagerClient;
let sns: SNSClient;
let restoreEnv: () => void;

/** Everything created in moto, by template logical ID (plus the stand-ins the test adds). */
const physical = new Map<string, PhysicalResource>();
/** SQS queue URL standing in for each rule's targets, by rule logical ID. */
const ruleQueues = new Map<string, string>();
/** SQS queue URL subscribed to each SNS topic, by topic logical ID. */
const topicSubscribers = new Map<string, string>();
let rules: PatternRule[] = [];
let vigilBusName: string;

/** Stand-ins when the template has no alerting yet (see `alertingFromTemplate`). */
const FALLBACK = {
  table: 'FallbackAlertTable',
  critical: 'FallbackCriticalTopic',
  warning: 'FallbackWarningTopic',
  rule: 'FallbackAlertsRule',
} as const;
/** A rule of the test's own on the Vigil bus: sees what the alert handler publishes. */
const OBSERVER_RULE = 'ObserverAlertEvents';

interface Handlers {
  ingest: typeof import('../../functions/ingest/index').handler;
  ingestEventBridge: EventBridgeClient;
  metrics: typeof import('../../functions/metrics/index').handler;
  history: typeof import('../../functions/history/index').handler;
  alert: typeof import('../../functions/alert/index').handler;
  /** Whether the alert function, its table, topics and rule came from the template. */
  alertingFromTemplate: boolean;
  alertEnv: Record<string, string>;
}
let handlers: Handlers;

// Moto resources ----------------------------------------------------------------------------

const resolveContext = (): ResolveContext => ({
  resources: physical,
  region: REGION,
  accountId: ACCOUNT,
});

const createQueue = async (name: string): Promise<{ url: string; arn: string }> => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`moto returned no URL for queue ${name}`);
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = attrs.Attributes?.QueueArn;
  if (!arn) throw new Error(`moto returned no ARN for queue ${name}`);
  return { url: QueueUrl, arn };
};

const createTable = async (
  logicalId: string,
  keySchema: KeySchemaElement[],
  attributes: AttributeDefinition[],
  indexes?: GlobalSecondaryIndex[],
): Promise<void> => {
  const out = await dynamo.send(
    new CreateTableCommand({
      TableName: logicalId,
      KeySchema: keySchema,
      AttributeDefinitions: attributes,
      BillingMode: 'PAY_PER_REQUEST',
      ...(indexes ? { GlobalSecondaryIndexes: indexes } : {}),
    }),
  );
  physical.set(logicalId, {
    ref: logicalId,
    attributes: { Arn: out.TableDescription?.TableArn ?? '' },
  });
};

const createTopicWithSubscriber = async (logicalId: string): Promise<void> => {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: logicalId }));
  if (!TopicArn) throw new Error(`moto returned no ARN for topic ${logicalId}`);
  const queue = await createQueue(`${logicalId}-subscriber`);
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queue.arn }));
  physical.set(logicalId, {
    ref: TopicArn,
    attributes: { TopicArn, TopicName: logicalId },
  });
  topicSubscribers.set(logicalId, queue.url);
};

const createRule = async (logicalId: string, busName: string, pattern: unknown): Promise<void> => {
  await eventBridge.send(
    new PutRuleCommand({
      Name: logicalId,
      EventBusName: busName,
      EventPattern: JSON.stringify(pattern),
    }),
  );
  const queue = await createQueue(`${logicalId}-target`);
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: logicalId,
      EventBusName: busName,
      Targets: [{ Id: 'stand-in', Arn: queue.arn }],
    }),
  );
  ruleQueues.set(logicalId, queue.url);
};

const props = (resource: CfnResource): Record<string, unknown> => resource.Properties ?? {};

/** `create` for each resource of a type, all at once (moto answers them in parallel). */
const eachOfType = (
  type: string,
  create: (logicalId: string, resource: CfnResource) => Promise<void>,
): Promise<void> =>
  Promise.all(resourcesOfType(stack, type).map(([id, resource]) => create(id, resource))).then(
    () => undefined,
  );

/** Create every bus, bucket, table, secret, topic and queue of the template, named by logical ID. */
const createTemplateResources = async (): Promise<void> => {
  await Promise.all([
    eachOfType('AWS::Events::EventBus', async (id, bus) => {
      const name = String(props(bus).Name ?? id);
      const out = await eventBridge.send(new CreateEventBusCommand({ Name: name }));
      physical.set(id, { ref: name, attributes: { Arn: out.EventBusArn ?? '', Name: name } });
    }),
    eachOfType('AWS::S3::Bucket', async (id) => {
      const name = id.toLowerCase();
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      // The functions read the archive at AWS_ENDPOINT_URL (moto); the domain is AWS's.
      const domain = `${name}.s3.${REGION}.amazonaws.com`;
      physical.set(id, {
        ref: name,
        attributes: { Arn: `arn:aws:s3:::${name}`, RegionalDomainName: domain },
      });
    }),
    eachOfType('AWS::DynamoDB::Table', async (id, table) => {
      const p = props(table);
      await createTable(
        id,
        p.KeySchema as KeySchemaElement[],
        p.AttributeDefinitions as AttributeDefinition[],
        p.GlobalSecondaryIndexes as GlobalSecondaryIndex[] | undefined,
      );
    }),
    eachOfType('AWS::SecretsManager::Secret', async (id) => {
      // Generated secrets get the one ingest token (a plain string, as the generated one is).
      const out = await secrets.send(new CreateSecretCommand({ Name: id, SecretString: TOKEN }));
      const arn = out.ARN ?? '';
      physical.set(id, { ref: arn, attributes: { Arn: arn } });
    }),
    eachOfType('AWS::SNS::Topic', (id) => createTopicWithSubscriber(id)),
    eachOfType('AWS::SQS::Queue', async (id) => {
      const queue = await createQueue(id);
      physical.set(id, { ref: queue.url, attributes: { Arn: queue.arn, QueueUrl: queue.url } });
    }),
    // The HTTP API is not called here (the entries are): its id only names the dashboard's
    // address in the alert function's environment.
    eachOfType('AWS::ApiGatewayV2::Api', async (id) => {
      physical.set(id, { ref: id.toLowerCase(), attributes: {} });
    }),
  ]);
};

/** The function's environment in the template, resolved against moto, as strings. */
const templateEnv = (entry: string): Record<string, string> | undefined => {
  const fn = functionForEntry(stack, entry);
  if (!fn) return undefined;
  const variables = (props(fn[1]).Environment as { Variables?: unknown } | undefined)?.Variables;
  const resolved = resolveIntrinsics(variables ?? {}, resolveContext()) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(resolved)
      .filter(([k]) => !KEEP_FROM_TEST_ENV.has(k))
      .map(([k, v]) => [k, String(v)]),
  );
};

const requireTemplateEnv = (entry: string): Record<string, string> => {
  const env = templateEnv(entry);
  if (!env) throw new Error(`the template has no function for functions/${entry}/index.ts`);
  return env;
};

/** Set the environment, then import the entry fresh (it builds its clients at import). */
const withEnv = (env: Record<string, string>): void => {
  Object.assign(process.env, env);
  asInLambda();
  vi.resetModules();
};

const loadHandlers = async (): Promise<Handlers> => {
  withEnv(requireTemplateEnv('ingest'));
  const ingest = (await import('../../functions/ingest/index')).handler;
  // Same module registry as the ingest entry: the very client its publisher uses.
  const ingestEventBridge = (await import('../../functions/adapters/aws/clients')).eventBridge();

  withEnv(requireTemplateEnv('metrics'));
  // The one entry whose EMF is asserted (vitest.config.ts turns EMF off for quiet suites).
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  const metrics = (await import('../../functions/metrics/index')).handler;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';

  withEnv(requireTemplateEnv('history'));
  const history = (await import('../../functions/history/index')).handler;

  // Alerting is being added to the stack: until the template has an alert function, its
  // table (key schema of dynamodb-alert-store.ts), topics and rule (EVENT_PATTERNS.alerts)
  // are stand-ins created in beforeAll.
  const fromTemplate = templateEnv('alert');
  const alertEnv = fromTemplate ?? {
    ...requireTemplateEnv('metrics'),
    ALERT_TABLE: FALLBACK.table,
    CRITICAL_TOPIC_ARN: physical.get(FALLBACK.critical)?.ref ?? '',
    WARNING_TOPIC_ARN: physical.get(FALLBACK.warning)?.ref ?? '',
    EVENT_BUS_NAME: vigilBusName,
  };
  withEnv(alertEnv);
  const alert = (await import('../../functions/alert/index')).handler;
  return {
    ingest,
    ingestEventBridge,
    metrics,
    history,
    alert,
    alertingFromTemplate: fromTemplate !== undefined,
    alertEnv,
  };
};

// Reading what arrived -----------------------------------------------------------------------

/** Everything in a queue right now (and removed from it). */
const drain = async (queueUrl: string): Promise<string[]> => {
  const bodies: string[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return bodies;
    bodies.push(...messages.map((m) => m.Body ?? ''));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
};

const drainEvents = async (queueUrl: string): Promise<BusEvent[]> =>
  (await drain(queueUrl)).map((body) => JSON.parse(body) as BusEvent);

/** SNS → SQS: the notification inside each envelope. */
const drainNotifications = async (queueUrl: string): Promise<AlertNotification[]> =>
  (await drain(queueUrl)).map((body) =>
    alertNotificationSchema.parse(JSON.parse((JSON.parse(body) as { Message: string }).Message)),
  );

/** Rules on the Vigil bus whose (stand-in) targets are the given handler entry. */
const rulesTargeting = (entry: string): string[] =>
  rules
    .filter(
      (r) => r.targets.includes(entry) && physical.get(r.busLogicalId ?? '')?.ref === vigilBusName,
    )
    .map((r) => r.logicalId);

const metricsRules = (): string[] => rulesTargeting('metrics');
const historyRules = (): string[] => rulesTargeting('history');
const statusRules = (): string[] => rulesTargeting('status');
const alertRules = (): string[] =>
  handlers.alertingFromTemplate ? rulesTargeting('alert') : [FALLBACK.rule];

const queueOf = (ruleId: string): string => {
  const url = ruleQueues.get(ruleId);
  if (!url) throw new Error(`no stand-in queue for rule ${ruleId}`);
  return url;
};

/** Drain every rule queue (all at once); the events per rule logical ID. */
const drainAllRules = async (): Promise<Map<string, BusEvent[]>> =>
  new Map(
    await Promise.all(
      [...ruleQueues].map(async ([ruleId, url]) => [ruleId, await drainEvents(url)] as const),
    ),
  );

const topicQueue = (severity: 'critical' | 'warning'): string => {
  const arn =
    handlers.alertEnv[severity === 'critical' ? 'CRITICAL_TOPIC_ARN' : 'WARNING_TOPIC_ARN'];
  const [logicalId] = [...physical].find(([, p]) => p.ref === arn) ?? [];
  const url = logicalId === undefined ? undefined : topicSubscribers.get(logicalId);
  if (!url) throw new Error(`no subscriber queue for the ${severity} topic ${arn}`);
  return url;
};

const alertState = async (
  checkKey: string,
): Promise<{ version?: string; status?: string; incidentId?: string } | undefined> => {
  const out = await dynamo.send(
    new GetItemCommand({
      TableName: handlers.alertEnv.ALERT_TABLE,
      Key: { pk: { S: checkKey }, sk: { S: 'state' } },
      ConsistentRead: true,
    }),
  );
  const item = out.Item;
  if (!item) return undefined;
  const data = JSON.parse(item.data?.S ?? '{}') as { incidentId?: string };
  return { version: item.version?.N, status: item.status?.S, incidentId: data.incidentId };
};

const alertHistory = async (): Promise<AlertNotification[]> => {
  const out = await dynamo.send(
    new QueryCommand({
      TableName: handlers.alertEnv.ALERT_TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: '#history' } },
    }),
  );
  return (out.Items ?? []).map((i) => alertNotificationSchema.parse(JSON.parse(i.data?.S ?? '')));
};

// Driving the handlers ---------------------------------------------------------------------

const post = async (query: Record<string, string>) => {
  const res = await handlers.ingest(
    apiEvent({
      query,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-encoding': 'gzip' },
      body: gzipSync(FIXTURE),
    }),
  );
  return { status: res.statusCode, body: JSON.parse(res.body ?? '{}') as Record<string, unknown> };
};

/** Runs the metrics entry on `event` and returns the lines it printed (its EMF among them). */
const metricsPrinted = async (event: BusEvent): Promise<string[]> => {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    // With its context, as Lambda calls it (Powertools Idempotency reads the time left).
    await handlers.metrics(event, lambdaContext('Vigil-dev-Metrics'));
  } finally {
    write.mockRestore();
  }
  return lines;
};

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

const readS3 = async (uri: string): Promise<Buffer> => {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2]) throw new Error(`not an s3:// URI: ${uri}`);
  const out = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
  return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
};

const probeEvent = (probe: string, status: 'up' | 'down'): VigilEvent => {
  const detail: ProbeCompletedDetail = {
    metadata: {
      project: 'shop',
      probe,
      correlationId: `probe-${randomUUID().slice(0, 8)}`,
      checkedAt: new Date().toISOString(),
      location: REGION,
    },
    url: 'https://shop.example.com/health',
    method: 'GET',
    status,
    latencyMs: 40,
    ...(status === 'down'
      ? { statusCode: 503, failure: { assertion: 'status', message: 'expected 200, got 503' } }
      : { statusCode: 200 }),
    attempt: 1,
    warnings: [],
    severity: 'critical',
    tags: ['checkout'],
  };
  return { source: SOURCES.probe, detailType: DETAIL_TYPES.probeCompleted, detail };
};

/**
 * Makes the first PutEvents call of `client` report entry `failIndex` as failed
 * (`InternalFailure`): the other entries go to moto, that one does not. Later calls pass.
 * Returns the number of entries of every PutEvents call, and a function removing the fault.
 */
const failOnePutEventsEntry = (
  client: EventBridgeClient,
  failIndex: number,
): { calls: number[]; remove: () => void } => {
  const name = `failOnePutEventsEntry-${randomUUID()}`;
  const calls: number[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutEventsCommand') return next(args);
      const input = args.input as PutEventsCommandInput;
      const entries = input.Entries ?? [];
      calls.push(entries.length);
      if (calls.length > 1) return next(args);
      const kept = entries.filter((_, i) => i !== failIndex);
      const sent =
        kept.length > 0 ? await next({ ...args, input: { ...input, Entries: kept } }) : undefined;
      const results = [...((sent?.output as PutEventsCommandOutput | undefined)?.Entries ?? [])];
      const output: PutEventsCommandOutput = {
        $metadata: { httpStatusCode: 200 },
        FailedEntryCount: 1,
        Entries: entries.map(
          (_, i): PutEventsResultEntry =>
            i === failIndex
              ? { ErrorCode: 'InternalFailure', ErrorMessage: 'injected by the test' }
              : (results.shift() ?? {}),
        ),
      };
      return { output, response: sent?.response ?? {} };
    },
    { step: 'initialize', name },
  );
  return { calls, remove: () => client.middlewareStack.remove(name) };
};

// Setup --------------------------------------------------------------------------------------

/** Every test here needs moto_server (started in beforeAll, which runs only if one does). */
const describeWithMoto = describe.skipIf(!motoAvailable('aws-wiring.test.ts'));

beforeAll(async () => {
  restoreEnv = saveEnv();
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
  });
  // Synthesis (CPU in this process) overlaps with moto's start (another process).
  const started = startMoto();
  stack = synthesizeStack('dev', CONFIG);
  moto = await started;
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  const cfg = { region: REGION, endpoint: moto.endpoint };
  eventBridge = new EventBridgeClient(cfg);
  sqs = new SQSClient(cfg);
  s3 = new S3Client({ ...cfg, forcePathStyle: true });
  dynamo = new DynamoDBClient(cfg);
  secrets = new SecretsManagerClient(cfg);
  sns = new SNSClient(cfg);

  await createTemplateResources();
  const buses = resourcesOfType(stack, 'AWS::Events::EventBus');
  const [vigilBus] = buses;
  if (buses.length !== 1 || !vigilBus) throw new Error('expected exactly one event bus');
  vigilBusName = physical.get(vigilBus[0])?.ref ?? '';

  rules = patternRules(stack);
  const created = rules.map((rule) => {
    const bus = rule.busLogicalId === undefined ? 'default' : physical.get(rule.busLogicalId)?.ref;
    if (bus === undefined) throw new Error(`rule ${rule.logicalId} is on an unknown bus`);
    // The pattern exactly as synthesized (intrinsics such as the account ID resolved).
    return createRule(rule.logicalId, bus, resolveIntrinsics(rule.pattern, resolveContext()));
  });
  if (!rules.some((r) => r.targets.includes('alert'))) {
    created.push(
      createTable(
        FALLBACK.table,
        [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      ),
      createTopicWithSubscriber(FALLBACK.critical),
      createTopicWithSubscriber(FALLBACK.warning),
      createRule(FALLBACK.rule, vigilBusName, EVENT_PATTERNS.alerts),
    );
  }
  created.push(createRule(OBSERVER_RULE, vigilBusName, { source: [SOURCES.alert] }));
  await Promise.all(created);

  handlers = await loadHandlers();
});

afterAll(async () => {
  for (const client of [eventBridge, sqs, s3, dynamo, secrets, sns]) client?.destroy();
  await moto?.stop();
  restoreEnv();
  // The entries (and their clients) were built with this file's environment.
  vi.resetModules();
});

beforeEach(async () => {
  await Promise.all([drainAllRules(), ...[...topicSubscribers.values()].map(drain)]);
});

// Tests --------------------------------------------------------------------------------------

describeWithMoto('template wiring', () => {
  it('points the functions at the Vigil bus and gives the tables the keys the adapters use', () => {
    // Prepare
    const keysOf = (table: string | undefined): unknown =>
      table === undefined ? undefined : stack.resources[table]?.Properties?.KeySchema;

    // Assess: one metrics and one history rule on the Vigil bus; ingest and alert publish to it
    expect(metricsRules()).toHaveLength(1);
    expect(historyRules()).toHaveLength(1);
    expect(requireTemplateEnv('history').EVENT_BUS_NAME).toBe(vigilBusName);
    expect(requireTemplateEnv('ingest').EVENT_BUS_NAME).toBe(vigilBusName);
    expect(handlers.alertEnv.EVENT_BUS_NAME).toBe(vigilBusName);
    expect(alertRules()).toHaveLength(1);
    // Tables are created under their logical IDs: the env names the table, the template its keys
    expect(keysOf(requireTemplateEnv('ingest').LEDGER_TABLE)).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
    ]);
    // The history function writes the table the ingest function reads, with the store's keys.
    const historyTable = requireTemplateEnv('history').HISTORY_TABLE;
    expect(requireTemplateEnv('ingest').HISTORY_TABLE).toBe(historyTable);
    expect(requireTemplateEnv('history').ARCHIVE_BUCKET).toBe(
      requireTemplateEnv('ingest').ARCHIVE_BUCKET,
    );
    expect(keysOf(historyTable)).toEqual([
      { AttributeName: HISTORY_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: HISTORY_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ]);
    if (handlers.alertingFromTemplate) {
      expect(keysOf(handlers.alertEnv.ALERT_TABLE)).toEqual([
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ]);
    }
  });
});

describeWithMoto('ingest → bus → rule targets', () => {
  it('archives the report, routes one Test Run Reported to the metrics, history, status and alerts rules only, and answers a repost as duplicate', async () => {
    // Prepare
    const query = { project: 'shop', suite: 'unit', branch: 'main', runId: 'wiring-run-1' };

    // Act
    const first = await post(query);
    const delivered = await drainAllRules();
    const again = await post(query);
    const afterRepost = await drainAllRules();

    // Assess: the answer
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      runId: 'wiring-run-1',
      project: 'shop',
      kind: 'tests',
      format: 'junit',
      duplicate: false,
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ runId: 'wiring-run-1', duplicate: true });
    expect([...afterRepost.values()].flat()).toEqual([]);

    // Assess: routing
    const recipients = [...metricsRules(), ...historyRules(), ...statusRules(), ...alertRules()];
    for (const [ruleId, events] of delivered) {
      expect(events, `events delivered through rule ${ruleId}`).toHaveLength(
        recipients.includes(ruleId) ? 1 : 0,
      );
    }
    const [event] = delivered.get(metricsRules()[0] ?? '') ?? [];
    if (!event) throw new Error('the metrics rule delivered nothing');
    expect(event).toMatchObject({
      version: '0',
      source: SOURCES.ingest,
      'detail-type': DETAIL_TYPES.testRun,
      region: REGION,
    });
    // moto (5.2) leaves `account` out of events it hands to SQS targets; EventBridge sets it.
    const known = parseBusEvent(event);
    const detail = known.detail as TestRunDetail;
    expect(detail.metadata).toMatchObject({
      project: 'shop',
      suite: 'unit',
      branch: 'main',
      runId: 'wiring-run-1',
      format: 'junit',
    });
    expect(detail.summary).toEqual(first.body.summary);
    expect(detail.gate).toEqual(first.body.gate);
    for (const ruleId of [...historyRules(), ...alertRules()]) {
      expect(delivered.get(ruleId)?.[0]?.detail).toEqual(event.detail);
    }

    // Assess: the archive pointers lead to the raw report and the normalized result
    const bucket = requireTemplateEnv('ingest').ARCHIVE_BUCKET;
    expect(detail.metadata.archive.uri).toMatch(new RegExp(`^s3://${bucket}/shop/.+\\.xml$`));
    const raw = await readS3(detail.metadata.archive.uri);
    expect(raw.equals(FIXTURE)).toBe(true);
    expect(detail.metadata.archive).toMatchObject({
      bytes: FIXTURE.byteLength,
      sha256: sha256(FIXTURE),
    });
    const normalizedBytes = await readS3(detail.metadata.normalized.uri);
    expect(sha256(normalizedBytes)).toBe(detail.metadata.normalized.sha256);
    const normalized = JSON.parse(normalizedBytes.toString('utf8')) as {
      runId: string;
      gate: unknown;
      report: { summary: unknown };
    };
    expect(normalized.runId).toBe('wiring-run-1');
    expect(normalized.gate).toEqual(detail.gate);
    expect(normalized.report.summary).toEqual(detail.summary);
  });

  it('the metrics handler turns the delivered event into valid EMF', async () => {
    // Prepare
    await post({ project: 'shop', suite: 'unit', branch: 'feature/x', runId: 'wiring-run-2' });
    const [event] = await drainEvents(queueOf(metricsRules()[0] ?? ''));
    if (!event) throw new Error('the metrics rule delivered nothing');

    // Act
    const lines = await metricsPrinted(event);

    // Assess
    const emf = lines.filter((l) => l.includes('"_aws"'));
    expect(emf.length).toBeGreaterThan(0);
    for (const line of emf) expect(validateEmf(line)).toEqual([]);
    const docs = emf.map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = (event.detail as TestRunDetail).summary;
    expect(docs.find((d) => 'TestsTotal' in d)?.TestsTotal).toBe(summary.total);
    expect(docs.find((d) => 'TestsFailed' in d)?.TestsFailed).toBe(summary.failed);
  });
});

/** A Google Benchmark report (JSON) of `n` entries: ~215 bytes each, ~180 in its event. */
const googleBenchmark = (n: number): Buffer =>
  Buffer.from(
    JSON.stringify({
      context: { date: '2026-01-01', host_name: 'ci', executable: 'bench', num_cpus: 8 },
      benchmarks: Array.from({ length: n }, (_, i) => ({
        name: `BM_Encode/${i}`,
        run_name: `BM_Encode/${i}`,
        run_type: 'iteration',
        repetitions: 1,
        threads: 1,
        iterations: 1000,
        real_time: 100 + i,
        cpu_time: 99 + i,
        time_unit: 'ns',
      })),
    }),
  );

describeWithMoto('a benchmark report whose summary passes the event size limit', () => {
  it('is accepted with a bounded event, and the history and metrics functions still see all they need', async () => {
    // Prepare: 1,700 benchmarks (366 KB) make a summary over EventBridge's 256 KB
    const report = googleBenchmark(1700);
    const query = { project: 'shop', branch: 'main', runId: 'wiring-bench-1' };

    // Act
    const res = await handlers.ingest(
      apiEvent({ query, headers: { authorization: `Bearer ${TOKEN}` }, body: report }),
    );
    const delivered = await drainAllRules();
    const [event] = delivered.get(historyRules()[0] ?? '') ?? [];
    if (!event) throw new Error('the history rule delivered nothing');
    await handlers.history(event);
    const runs = await handlers.ingest(
      apiEvent({
        method: 'GET',
        path: '/v1/projects/shop/runs',
        query: { kind: 'benchmark', branch: 'main' },
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    const lines = await metricsPrinted(event);

    // Assess: accepted, one event under the limit that says how many it left out
    expect(res.statusCode, res.body).toBe(202);
    const all = (JSON.parse(res.body ?? '{}') as BenchmarkDetail).summary.benchmarks;
    expect(all.length).toBeGreaterThanOrEqual(1700);
    expect(JSON.stringify(event).length).toBeLessThan(MAX_EVENT_BYTES);
    const detail = event.detail as BenchmarkDetail;
    expect(detail.benchmarksTotal).toBe(all.length);
    expect(detail.summary.benchmarks.length).toBeLessThan(all.length);
    expect(detail.summary.benchmarks).toEqual(all.slice(0, detail.summary.benchmarks.length));
    // The history reads every benchmark from the normalized result (regression baselines)
    const [run] = JSON.parse(runs.body ?? '{}').runs as { summary: { benchmarks: unknown[] } }[];
    expect(run?.summary.benchmarks).toEqual(all);
    // The metrics function emits its BenchmarkValue per benchmark for the first ones
    const values = lines
      .filter((l) => l.includes('"BenchmarkValue"'))
      .map((l) => (JSON.parse(l) as { Benchmark: string }).Benchmark);
    expect(values).toEqual(all.slice(0, MAX_BENCHMARK_METRICS).map((b) => b.name));
  });
});

describeWithMoto('history handler and history API on the delivered events', () => {
  it('records the run and its tests from the normalized archive, and the ingest function serves them', async () => {
    // Prepare
    await post({ project: 'shop', suite: 'unit', branch: 'main', runId: 'wiring-run-5' });
    const [event] = await drainEvents(queueOf(historyRules()[0] ?? ''));
    if (!event) throw new Error('the history rule delivered nothing');
    const get = async (path: string, query: Record<string, string> = {}) => {
      const res = await handlers.ingest(
        apiEvent({ method: 'GET', path, query, headers: { authorization: `Bearer ${TOKEN}` } }),
      );
      return {
        status: res.statusCode,
        body: JSON.parse(res.body ?? '{}') as Record<string, unknown>,
      };
    };

    // Act: the history function (S3 GetObject, DynamoDB writes), then the API (DynamoDB Query)
    await handlers.history(event);
    const runs = await get('/v1/projects/shop/runs', { branch: 'main', suite: 'unit' });
    const failing = await get('/v1/projects/shop/tests', { status: 'failing' });
    const unauthorized = await handlers.ingest(
      apiEvent({ method: 'GET', path: '/v1/projects/shop/runs' }),
    );

    // Assess
    const summary = (event.detail as TestRunDetail).summary;
    expect(runs.status).toBe(200);
    expect(runs.body.runs).toEqual([
      expect.objectContaining({
        runId: 'wiring-run-5',
        kind: 'tests',
        branch: 'main',
        suite: 'unit',
        summary: expect.objectContaining({ total: summary.total, failed: summary.failed }),
      }),
    ]);
    expect(failing.status).toBe(200);
    const tests = failing.body.tests as { last: { runId: string; status: string } }[];
    expect(tests).toHaveLength(summary.failed);
    for (const t of tests)
      expect(t.last).toMatchObject({ runId: 'wiring-run-5', status: 'failed' });
    expect(unauthorized.statusCode).toBe(401);
    // As local mode answers: no cache keeps an error meant for one caller.
    expect(unauthorized.headers?.['cache-control']).toBe('no-store');
  });
});

describeWithMoto('alert handler on the delivered events', () => {
  it('opens one incident for a failing run on main through a versioned write, even when the event is handled twice at once', async () => {
    // Prepare
    const checkKey = 'tests:shop/unit/main';
    await post({ project: 'shop', suite: 'unit', branch: 'main', runId: 'wiring-run-3' });
    const [event] = (await drainAllRules()).get(alertRules()[0] ?? '') ?? [];
    if (!event) throw new Error('the alerts rule delivered nothing');

    // Act: two concurrent invocations with the same event (EventBridge delivers at least once)
    await Promise.all([handlers.alert(event), handlers.alert(event)]);
    const state = await alertState(checkKey);
    const warning = await drainNotifications(topicQueue('warning'));
    const critical = await drainNotifications(topicQueue('critical'));
    const published = await drainAllRules();
    // ... and a later redelivery
    await handlers.alert(event);

    // Assess: the conditional write let exactly one transition through
    expect(state).toMatchObject({ status: 'FIRING', incidentId: expect.any(String) });
    expect(Number(state?.version)).toBeGreaterThanOrEqual(1);
    expect((await alertHistory()).filter((n) => n.checkKey === checkKey)).toEqual([
      expect.objectContaining({ kind: 'FIRING', incidentId: state?.incidentId }),
    ]);
    // Only the invocation that claimed the outbox sends: exactly one FIRING reaches SNS.
    expect(warning).toHaveLength(1);
    for (const n of warning) {
      expect(n).toMatchObject({
        kind: 'FIRING',
        checkKey,
        incidentId: state?.incidentId,
        source: 'tests',
        severity: 'warning',
        project: 'shop',
        title: 'Tests shop/unit on main',
        // The run's page at the API's address (the stack's WebUrl).
        dashboardUrl: expect.stringMatching(
          /^https:\/\/\w+\.execute-api\.us-east-1\.amazonaws\.com\/#\/run\/shop\/wiring-run-3$/,
        ),
      });
    }
    expect(critical).toEqual([]);
    // Each notification is also an event on the bus, and no rule feeds it back to a handler.
    expect(published.get(OBSERVER_RULE)?.map((e) => e['detail-type'])).toEqual(
      warning.map(() => DETAIL_TYPES.alertStateChanged),
    );
    for (const ruleId of [...metricsRules(), ...alertRules()]) {
      expect(published.get(ruleId)).toEqual([]);
    }
    // The redelivery found the event applied and the outbox empty: nothing sent, nothing written.
    expect(await drain(topicQueue('warning'))).toEqual([]);
    expect((await alertState(checkKey))?.version).toBe(state?.version);
  });

  it('fires a critical alert after two failing probe runs routed through the bus', async () => {
    // Prepare: the probe function publishes to the bus; the alerts rule hands events over
    const publisher = new EventBridgePublisher({ busName: vigilBusName, client: eventBridge });
    await publisher.publish([probeEvent('checkout-api', 'down')]);
    const [first] = await drainEvents(queueOf(alertRules()[0] ?? ''));
    await publisher.publish([probeEvent('checkout-api', 'down')]);
    const [second] = await drainEvents(queueOf(alertRules()[0] ?? ''));
    if (!first || !second) throw new Error('the alerts rule did not deliver both probe events');

    // Act
    await handlers.alert(first);
    const afterFirst = await drainNotifications(topicQueue('critical'));
    await handlers.alert(second);

    // Assess
    expect(afterFirst).toEqual([]);
    expect(await drainNotifications(topicQueue('critical'))).toEqual([
      expect.objectContaining({
        kind: 'FIRING',
        checkKey: 'probe:shop/checkout-api',
        severity: 'critical',
        runbookUrl: 'https://runbooks.example.com/checkout',
      }),
    ]);
    expect(await drainNotifications(topicQueue('warning'))).toEqual([]);
    const state = await alertState('probe:shop/checkout-api');
    expect(state?.status).toBe('FIRING');
    expect(state?.version).toMatch(/^\d+$/);
  });
});

describeWithMoto('PutEvents entries that fail', () => {
  it('the ingest handler retries an entry EventBridge rejected, and the event arrives once', async () => {
    // Prepare
    const fault = failOnePutEventsEntry(handlers.ingestEventBridge, 0);

    // Act
    let res: Awaited<ReturnType<typeof post>>;
    try {
      res = await post({ project: 'shop', suite: 'unit', branch: 'main', runId: 'wiring-run-4' });
    } finally {
      fault.remove();
    }

    // Assess
    expect(res.status).toBe(202);
    expect(fault.calls).toEqual([1, 1]);
    const delivered = await drainEvents(queueOf(metricsRules()[0] ?? ''));
    expect(delivered.map((e) => (e.detail as TestRunDetail).metadata.runId)).toEqual([
      'wiring-run-4',
    ]);
  });

  it('the publisher resends only the failed entry of a batch', async () => {
    // Prepare
    const client = new EventBridgeClient({ region: REGION, endpoint: moto.endpoint });
    const fault = failOnePutEventsEntry(client, 1);
    const publisher = new EventBridgePublisher({
      busName: vigilBusName,
      client,
      sleep: async () => undefined,
    });
    const probes = ['retry-a', 'retry-b', 'retry-c'];

    // Act
    try {
      await publisher.publish(probes.map((p) => probeEvent(p, 'up')));
    } finally {
      fault.remove();
      client.destroy();
    }

    // Assess
    expect(fault.calls).toEqual([3, 1]);
    expect(publisher.stats.retries).toBe(1);
    const delivered = await drainEvents(queueOf(metricsRules()[0] ?? ''));
    expect(delivered.map((e) => (e.detail as ProbeCompletedDetail).metadata.probe).sort()).toEqual(
      probes,
    );
  });
});

describeWithMoto('Alertmanager webhook through API route, bus and alert function', () => {
  const webhook = (status: 'firing' | 'resolved') =>
    handlers.ingest(
      apiEvent({
        path: '/v1/alertmanager',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          version: '4',
          receiver: 'vigil',
          status,
          alerts: [
            {
              status,
              labels: { alertname: 'InstanceDown', instance: 'web-1', severity: 'critical' },
              annotations: { summary: 'web-1 is down' },
              startsAt: '2026-12-03T10:00:00Z',
              endsAt: status === 'resolved' ? '2026-12-03T10:04:00Z' : '0001-01-01T00:00:00Z',
              fingerprint: '5ad0cafe',
            },
          ],
        }),
      }),
    );

  it('the ingest function publishes the alert, the alerts rule delivers it, and the alert function fires then resolves', async () => {
    // Act: the webhook is accepted and lands on the bus, in the alerts rule only
    const fired = await webhook('firing');
    expect(fired.statusCode).toBe(200);
    const delivered = await drainAllRules();
    const [event] = delivered.get(alertRules()[0] ?? '') ?? [];
    if (!event) throw new Error('the alerts rule delivered nothing');
    expect(event).toMatchObject({
      source: 'vigil.alertmanager',
      'detail-type': 'Alertmanager Alert Received',
    });
    for (const ruleId of metricsRules()) expect(delivered.get(ruleId)).toEqual([]);
    await handlers.alert(event);
    await handlers.alert(event);

    // Assess: one FIRING on the critical topic, then a RESOLVED
    expect(await drainNotifications(topicQueue('critical'))).toEqual([
      expect.objectContaining({
        kind: 'FIRING',
        source: 'alertmanager',
        checkKey: 'alertmanager:5ad0cafe',
        lastError: 'web-1 is down',
      }),
    ]);
    expect((await webhook('resolved')).statusCode).toBe(200);
    const [resolved] = (await drainAllRules()).get(alertRules()[0] ?? '') ?? [];
    if (!resolved) throw new Error('the alerts rule did not deliver the resolved alert');
    await handlers.alert(resolved);
    expect(await drainNotifications(topicQueue('critical'))).toEqual([
      expect.objectContaining({ kind: 'RESOLVED', checkKey: 'alertmanager:5ad0cafe' }),
    ]);
  });
});
