import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoAlertStore } from '../../functions/adapters/aws/dynamodb-alert-store';
import { createSnsDispatch } from '../../functions/adapters/aws/sns-dispatch';
import { LocalAlertDispatcher } from '../../functions/adapters/local/alert-dispatcher';
import type { LocalBus } from '../../functions/adapters/local/bus';
import { LocalMetricStore } from '../../functions/adapters/local/metric-store';
import { createLocalMetrics } from '../../functions/adapters/local/metrics';
import type { SqliteAlertStore } from '../../functions/adapters/local/store/alert-store';
import { createAlertHandler } from '../../functions/alert/handler';
import type { SlackPayload } from '../../functions/core/alerts/messages';
import { listAlerts } from '../../functions/core/alerts/service';
import { parseConfig, type VigilConfig, type VigilConfigInput } from '../../functions/core/config';
import {
  type AlertNotification,
  alertNotificationSchema,
  type BusEvent,
  EVENT_PATTERNS,
  type Gate,
  type ProbeCompletedDetail,
  type TestFlakyDetail,
  type TestRunDetail,
} from '../../functions/core/events';
import { logger } from '../../functions/shared/powertools';
import { asInLambda, saveEnv } from '../helpers/env';
import { MemoryPublisher } from '../helpers/fakes';
import { busOn, storedEvents, storeOf } from '../helpers/local-store';
import { createAlertTable, type MotoServer, motoAvailable, startMoto } from '../helpers/moto';
import { strayRequest } from '../helpers/stray-request';

// A real HTTP receiver acting as Slack: records every message it gets.
let slack: Server;
let slackUrl: string;
let slackPaths: string[] = [];
let slackMessages: SlackPayload[] = [];

beforeAll(async () => {
  slack = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (strayRequest(req, res)) return;
      slackPaths.push(req.url ?? '');
      slackMessages.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackPayload);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((ok) => slack.listen(0, '127.0.0.1', () => ok()));
  slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T0/B0/X`;
});

afterAll(async () => {
  await new Promise<void>((ok) => slack.close(() => ok()));
});

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
let now = T0;
const clock = { now: () => new Date(now) };
const minutes = (m: number): void => {
  now = T0 + m * 60_000;
};

interface Harness {
  handle: (event: BusEvent) => Promise<void>;
  store: SqliteAlertStore;
  dispatcher: LocalAlertDispatcher;
  bus: LocalBus;
  dataDir: string;
  config: VigilConfig;
}

const harness = async (input: VigilConfigInput = {}, dashboardUrl?: string): Promise<Harness> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-alert-handler-'));
  const config = parseConfig({
    project: 'shop',
    probes: [
      {
        name: 'checkout-api',
        url: 'https://shop.example.com/health',
        failureThreshold: 2,
        runbookUrl: 'https://runbooks.example.com/checkout',
        tags: ['checkout'],
      },
    ],
    ...input,
    alerts: { channels: [{ type: 'slack', webhookUrl: slackUrl }], ...input.alerts },
  });
  const bus = busOn(dataDir, { retryDelayMs: 1 });
  const store = storeOf(dataDir).alerts;
  const dispatcher = new LocalAlertDispatcher({
    channels: config.alerts.channels,
    dataDir,
    resolveSecret: async () => '',
    publisher: bus,
    store,
    clock,
    policy: { baseDelayMs: 0, maxAttempts: 4 },
  });
  const handler = createAlertHandler({
    config,
    store,
    dispatch: dispatcher.dispatch,
    clock,
    ...(dashboardUrl === undefined ? {} : { dashboardUrl }),
  });
  // Deliveries run on the dispatcher's timer: wait for them, as a test reads what was posted.
  const handle = async (event: BusEvent) => {
    await handler(event);
    await dispatcher.idle();
  };
  return { handle, store, dispatcher, bus, dataDir, config };
};

const busEvent = (source: string, detailType: string, detail: unknown): BusEvent => ({
  version: '0',
  id: randomUUID(),
  source,
  account: '000000000000',
  time: new Date(now).toISOString(),
  region: 'local',
  resources: [],
  'detail-type': detailType,
  detail,
});

const probeEvent = (
  status: 'up' | 'down',
  probe = 'checkout-api',
  tags = ['checkout'],
): BusEvent => {
  const detail: ProbeCompletedDetail = {
    metadata: {
      project: 'shop',
      probe,
      correlationId: `probe-${randomUUID().slice(0, 8)}`,
      checkedAt: new Date(now).toISOString(),
      location: 'local',
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
    tags,
  };
  return busEvent('vigil.probe', 'Probe Completed', detail);
};

const gate = (status: 'pass' | 'fail'): Gate => ({
  status,
  checks: [
    {
      id: 'tests.failed',
      status,
      message: status === 'fail' ? '1 of 3 tests failed' : 'No failed tests',
      actual: status === 'fail' ? 1 : 0,
      threshold: 0,
    },
  ],
});

const testRunEvent = (status: 'pass' | 'fail', branch: string): BusEvent => {
  const pointer = { uri: 'file:///tmp/a', bytes: 1, sha256: 'b'.repeat(64) };
  const detail: TestRunDetail = {
    metadata: {
      project: 'shop',
      suite: 'unit',
      branch,
      commit: 'abc1234',
      runId: randomUUID(),
      correlationId: `ingest-${randomUUID().slice(0, 8)}`,
      format: 'junit',
      ingestedAt: new Date(now).toISOString(),
      archive: pointer,
      normalized: pointer,
    },
    summary: {
      total: 3,
      passed: status === 'fail' ? 2 : 3,
      failed: status === 'fail' ? 1 : 0,
      skipped: 0,
      flaky: 0,
      durationMs: 10,
    },
    gate: gate(status),
    failedTests: status === 'fail' ? [{ suite: 's', classname: 'Cart', name: 'adds' }] : [],
    failedTestsTruncated: false,
    flakyTests: [],
  };
  return busEvent('vigil.ingest', 'Test Run Reported', detail);
};

/** CloudWatch's documented "Alarm State Change" event (see the AWS CloudWatch User Guide). */
const alarmEvent = (value: 'ALARM' | 'OK'): BusEvent => {
  const ts = new Date(now).toISOString().replace('Z', '+0000');
  const e = busEvent('aws.cloudwatch', 'CloudWatch Alarm State Change', {
    alarmName: 'vigil-prod-ingest-5xx',
    configuration: { description: 'Ingest API 5xx', metrics: [] },
    previousState: { value: value === 'OK' ? 'ALARM' : 'OK', reason: 'before', timestamp: ts },
    state: {
      value,
      reason:
        value === 'ALARM'
          ? 'Threshold Crossed: 2 out of the last 2 datapoints were greater than the threshold (5.0).'
          : 'Threshold Crossed: back to normal.',
      reasonData: '{"version":"1.0"}',
      timestamp: ts,
    },
  });
  return {
    ...e,
    region: 'us-east-1',
    account: '123456789012',
    resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:vigil-prod-ingest-5xx'],
  };
};

const history = async (dataDir: string): Promise<AlertNotification[]> =>
  (await listAlerts(storeOf(dataDir).alerts, { clock })).history.reverse();

beforeEach(() => {
  slackMessages = [];
  slackPaths = [];
  minutes(0);
});

describe('alert handler: probes', () => {
  it('fires once, reminds after repeatMinutes, and resolves with the downtime', async () => {
    // Prepare
    const h = await harness();
    const headers = (): string[] =>
      slackMessages.map((m) => (m.blocks[0]?.type === 'header' ? m.blocks[0].text.text : ''));

    // Act + Assess: down, down → one FIRING
    await h.handle(probeEvent('down'));
    expect(slackMessages).toHaveLength(0);
    minutes(1);
    await h.handle(probeEvent('down'));
    expect(headers()).toEqual([':rotating_light: FIRING: Probe checkout-api']);

    // down ×5 → no duplicate
    for (let m = 2; m <= 6; m++) {
      minutes(m);
      await h.handle(probeEvent('down'));
    }
    expect(slackMessages).toHaveLength(1);

    // +61 minutes after the FIRING → REMINDER
    minutes(62);
    await h.handle(probeEvent('down'));
    minutes(63);
    await h.handle(probeEvent('down'));
    expect(headers()).toEqual([
      ':rotating_light: FIRING: Probe checkout-api',
      ':repeat: STILL FIRING: Probe checkout-api',
    ]);

    // up → RESOLVED with the downtime (first failure at 10:00, recovery at 11:10)
    minutes(70);
    await h.handle(probeEvent('up'));
    expect(headers()).toHaveLength(3);
    expect(slackMessages[2]?.text).toBe(
      'RESOLVED [critical] Probe checkout-api: recovered after 1h 10m down',
    );
    const resolved = (await history(h.dataDir)).at(-1);
    expect(resolved).toMatchObject({
      kind: 'RESOLVED',
      checkKey: 'probe:shop/checkout-api',
      downtimeSeconds: 4200,
      since: '2026-11-25T10:00:00.000Z',
      at: '2026-11-25T11:10:00.000Z',
      runbookUrl: 'https://runbooks.example.com/checkout',
    });
    const view = await listAlerts(h.store, { clock });
    expect(view.active).toEqual([]);
    expect(view.history.map((n) => n.kind)).toEqual(['RESOLVED', 'REMINDER', 'FIRING']);

    // Every transition is also an Alert State Changed event on the bus.
    await h.bus.drain();
    const events = storedEvents(h.dataDir);
    expect(events.map((e) => e['detail-type'])).toEqual([
      'Alert State Changed',
      'Alert State Changed',
      'Alert State Changed',
    ]);
    expect(alertNotificationSchema.parse(events[0]?.detail)).toMatchObject({ kind: 'FIRING' });
    expect(h.dispatcher.stats).toEqual({ delivered: 3, deadLetters: 0 });
  });

  it('works through the local bus with the CDK rules’ patterns (no loop on its own events)', async () => {
    // Prepare
    const h = await harness();
    const errors: unknown[] = [];
    const bus = busOn(h.dataDir, {
      retryDelayMs: 1,
      onDeliveryError: (_r, _e, error) => errors.push(error),
    });
    const dispatcher = new LocalAlertDispatcher({
      channels: h.config.alerts.channels,
      dataDir: h.dataDir,
      resolveSecret: async () => '',
      publisher: bus,
      store: h.store,
      clock,
    });
    const handle = createAlertHandler({
      config: h.config,
      store: h.store,
      dispatch: dispatcher.dispatch,
      clock,
    });
    bus.subscribe('alerts', EVENT_PATTERNS.alerts, handle);
    bus.subscribe('alarms', EVENT_PATTERNS.alarms, handle);
    const down = probeEvent('down');

    // Act
    await bus.publish([
      {
        source: 'vigil.probe',
        detailType: 'Probe Completed',
        detail: down.detail as ProbeCompletedDetail,
      },
    ]);
    await bus.drain();
    minutes(1);
    await bus.publish([
      {
        source: 'vigil.probe',
        detailType: 'Probe Completed',
        detail: probeEvent('down').detail as ProbeCompletedDetail,
      },
    ]);
    await bus.drain();
    await dispatcher.idle();

    // Assess
    expect(errors).toEqual([]);
    expect(slackMessages).toHaveLength(1);
    expect((await history(h.dataDir)).map((n) => n.kind)).toEqual(['FIRING']);
  });
});

describe('alert handler: log volume', () => {
  it('logs each observation at INFO only when it changes the status or notifies', async () => {
    // Prepare
    const h = await harness();
    const info = vi.spyOn(logger, 'info');
    const debug = vi.spyOn(logger, 'debug');
    const applied = (spy: typeof info) =>
      spy.mock.calls
        .filter(([message]) => message === 'alert observation applied')
        .map(([, extra]) => (extra as { status: string }).status);

    try {
      // Act: a healthy probe, then an outage that fires and goes on (threshold 2).
      const statuses = ['up', 'up', 'up', 'down', 'down', 'down', 'down', 'down'] as const;
      for (const [m, status] of statuses.entries()) {
        minutes(m);
        await h.handle(probeEvent(status));
      }

      // Assess: the steady states at DEBUG; OK → PENDING and PENDING → FIRING once each.
      expect(applied(info)).toEqual(['PENDING', 'FIRING']);
      expect(applied(debug)).toEqual(['OK', 'OK', 'OK', 'FIRING', 'FIRING', 'FIRING']);
    } finally {
      info.mockRestore();
      debug.mockRestore();
    }
  });
});

describe('alert handler: test runs and gates', () => {
  it('alerts on a failed gate on main, ignores the feature branch, and resolves on a green main', async () => {
    // Prepare
    const h = await harness();

    // Act
    await h.handle(testRunEvent('fail', 'feature/cart'));
    const afterFeature = slackMessages.length;
    minutes(1);
    await h.handle(testRunEvent('fail', 'main'));
    minutes(2);
    await h.handle(testRunEvent('fail', 'main'));
    minutes(3);
    await h.handle(testRunEvent('pass', 'feature/cart'));
    minutes(9);
    await h.handle(testRunEvent('pass', 'main'));

    // Assess
    expect(afterFeature).toBe(0);
    const kinds = (await history(h.dataDir)).map((n) => [n.kind, n.checkKey, n.severity]);
    expect(kinds).toEqual([
      ['FIRING', 'tests:shop/unit/main', 'warning'],
      ['RESOLVED', 'tests:shop/unit/main', 'warning'],
    ]);
    expect(slackMessages).toHaveLength(2);
    expect(slackMessages[0]?.text).toContain('FIRING [warning] Tests shop/unit on main');
    expect(slackMessages[1]?.text).toBe(
      'RESOLVED [warning] Tests shop/unit on main: recovered after 8m down',
    );
  });
});

const flakyEvent = (branch: string, runId = 'nightly-7'): BusEvent => {
  const detail: TestFlakyDetail = {
    metadata: {
      project: 'shop',
      runId,
      branch,
      commit: 'c0ffee1234',
      correlationId: `hist-${runId}`,
      detectedAt: new Date(now).toISOString(),
    },
    test: {
      id: 'cart > CartTest > checkout',
      suite: 'cart',
      classname: 'CartTest',
      name: 'checkout',
    },
    reason: 'flip-rate',
    explanation: '3 flips in 8 runs on main (flip rate 43%, threshold 30%).',
    flipRate: 0.429,
    quarantined: { owner: 'team-cart', expires: '2026-12-31' },
    batch: { index: 1, total: 1 },
  };
  return busEvent('vigil.history', 'Test Flaky Detected', detail);
};

describe('alert handler: links to the dashboard', () => {
  /** A run whose id is the report's: hostile characters stay inside their part of the link. */
  const runEvent = (status: 'pass' | 'fail', runId: string): BusEvent => {
    const e = testRunEvent(status, 'main');
    (e.detail as TestRunDetail).metadata.runId = runId;
    return e;
  };
  const slackLinks = (): string[] =>
    slackMessages.map((m) => /<([^|>]+)\|open in Vigil>/.exec(JSON.stringify(m.blocks))?.[1] ?? '');

  it("links a failed run's FIRING to that run and the RESOLVED to the passing one", async () => {
    // Prepare
    const h = await harness({}, 'https://vigil.example.com/team/');

    // Act
    await h.handle(runEvent('fail', 'r1 /#?x=<b>|'));
    minutes(5);
    await h.handle(runEvent('pass', 'r2'));

    // Assess: in Slack, on the bus (what webhooks and SNS get) and in the history alike.
    const links = [
      'https://vigil.example.com/team/#/run/shop/r1%20%2F%23%3Fx%3D%3Cb%3E%7C',
      'https://vigil.example.com/team/#/run/shop/r2',
    ];
    expect(slackLinks()).toEqual(links);
    const published = storedEvents(h.dataDir)
      .filter((e) => e['detail-type'] === 'Alert State Changed')
      .map((e) => (e.detail as AlertNotification).dashboardUrl);
    expect(published).toEqual(links);
    expect((await history(h.dataDir)).map((n) => n.dashboardUrl)).toEqual(links);
  });

  it('links a flaky NOTICE to the test by its id; no link without an address, or for an alarm', async () => {
    // Prepare
    const own = await harness({}, 'http://127.0.0.1:3000');
    const none = await harness();

    // Act
    await own.handle(flakyEvent('main', 'r9'));
    await own.handle(alarmEvent('ALARM'));
    await none.handle(runEvent('fail', 'r3'));

    // Assess
    expect(slackLinks()).toEqual([
      'http://127.0.0.1:3000/#/tests/shop?status=flaky&q=cart+%3E+CartTest+%3E+checkout',
      '',
      '',
    ]);
    expect(slackMessages[2]?.text).toContain('Tests shop/unit on main');
    expect((await history(none.dataDir))[0]).toMatchObject({ dashboardPath: '#/run/shop/r3' });
    expect((await history(none.dataDir))[0]).not.toHaveProperty('dashboardUrl');
  });
});

describe('alert handler: CloudWatch alarms', () => {
  it('fires on ALARM and resolves on OK', async () => {
    // Prepare
    const h = await harness();

    // Act
    await h.handle(alarmEvent('ALARM'));
    minutes(5);
    await h.handle(alarmEvent('OK'));

    // Assess
    const notifications = await history(h.dataDir);
    expect(notifications.map((n) => [n.kind, n.checkKey, n.severity, n.source])).toEqual([
      ['FIRING', 'alarm:vigil-prod-ingest-5xx', 'critical', 'alarm'],
      ['RESOLVED', 'alarm:vigil-prod-ingest-5xx', 'critical', 'alarm'],
    ]);
    expect(notifications[1]?.downtimeSeconds).toBe(300);
    expect(notifications[0]?.lastError).toContain('Threshold Crossed: 2 out of the last 2');
    expect(slackMessages).toHaveLength(2);
  });

  it('rejects a malformed alarm event', async () => {
    // Prepare
    const h = await harness();
    const broken = { ...alarmEvent('ALARM'), detail: { alarmName: 'x' } };

    // Act
    const act = h.handle(broken);

    // Assess
    await expect(act).rejects.toThrow(/^Invalid CloudWatch alarm event: detail.state:/);
  });
});

describe('alert handler: maintenance windows', () => {
  it('records a suppressed FIRING, and sends it on the next failing check after the window', async () => {
    // Prepare: checkout-tagged probes are in maintenance 10:00-10:30
    const h = await harness({
      alerts: {
        maintenance: [
          {
            tags: ['checkout'],
            start: '2026-11-25T10:00:00Z',
            end: '2026-11-25T10:30:00Z',
            reason: 'DB upgrade',
          },
        ],
      },
    });

    // Act: fails during the window
    await h.handle(probeEvent('down'));
    minutes(1);
    await h.handle(probeEvent('down'));
    minutes(2);
    await h.handle(probeEvent('down'));
    const duringWindow = slackMessages.length;
    const duringView = await listAlerts(h.store, {
      clock,
      maintenance: h.config.alerts.maintenance,
    });
    // ... and still fails after it
    minutes(31);
    await h.handle(probeEvent('down'));
    minutes(32);
    await h.handle(probeEvent('down'));

    // Assess
    expect(duringWindow).toBe(0);
    expect(duringView.active).toEqual([
      expect.objectContaining({
        status: 'FIRING',
        suppressedBy: 'maintenance window "DB upgrade" until 2026-11-25T10:30:00.000Z',
      }),
    ]);
    const notifications = await history(h.dataDir);
    expect(notifications.map((n) => [n.kind, n.suppressedBy])).toEqual([
      ['FIRING', 'maintenance window "DB upgrade" until 2026-11-25T10:30:00.000Z'],
      ['FIRING', undefined],
    ]);
    expect(notifications[1]).toMatchObject({
      since: '2026-11-25T10:00:00.000Z',
      at: '2026-11-25T10:31:00.000Z',
    });
    expect(slackMessages).toHaveLength(1);
  });

  it('sends nothing for an incident that starts and ends inside the window', async () => {
    // Prepare
    const h = await harness({
      alerts: {
        maintenance: [{ probes: ['checkout-api'], cron: '0 10 * * *', durationMinutes: 30 }],
      },
    });

    // Act
    await h.handle(probeEvent('down'));
    minutes(1);
    await h.handle(probeEvent('down'));
    minutes(5);
    await h.handle(probeEvent('up'));

    // Assess
    expect(slackMessages).toHaveLength(0);
    expect((await history(h.dataDir)).map((n) => [n.kind, Boolean(n.suppressedBy)])).toEqual([
      ['FIRING', true],
      ['RESOLVED', true],
    ]);
  });
});

describe('alert handler: flaky tests', () => {
  it('sends one NOTICE on main through the channels, records and counts it, and no incident', async () => {
    // Prepare
    const h = await harness();
    const metricStore = new LocalMetricStore();
    const metrics = createLocalMetrics(metricStore, { namespace: 'Vigil', serviceName: 'vigil' });
    const handler = createAlertHandler({
      config: h.config,
      store: h.store,
      dispatch: h.dispatcher.dispatch,
      clock,
      metrics,
    });
    const handle = async (e: BusEvent) => {
      await handler(e);
      await h.dispatcher.idle();
    };
    const event = flakyEvent('main');

    // Act: delivered, redelivered (same id), announced again for the same run (new id), and
    // a week later from another run; plus the same finding on a feature branch
    await handle(event);
    await handle(event);
    await handle(flakyEvent('main'));
    await handle(flakyEvent('feature/cart'));
    minutes(7 * 24 * 60);
    await handle(flakyEvent('main', 'nightly-14'));

    // Assess
    expect(slackMessages.map((m) => m.text)).toEqual([
      'NOTICE [warning] Flaky test cart &gt; CartTest &gt; checkout: 3 flips in 8 runs on main (flip rate 43%, threshold 30%). Quarantined until 2026-12-31 (owner: team-cart).',
      expect.stringContaining('NOTICE [warning] Flaky test'),
    ]);
    const notes = await history(h.dataDir);
    expect(notes.map((n) => [n.kind, n.source, n.checkKey, n.correlationId])).toEqual([
      ['NOTICE', 'flaky', 'flaky:shop/cart > CartTest > checkout', 'hist-nightly-7'],
      ['NOTICE', 'flaky', 'flaky:shop/cart > CartTest > checkout', 'hist-nightly-14'],
    ]);
    expect(notes[0]?.incidentId).toBe(event.id);
    expect((await listAlerts(h.store, { clock })).active).toEqual([]);
    const sent = metricStore.query({ name: 'AlertsSent', dimensions: { Kind: 'NOTICE' } });
    expect(sent.map((p) => p.value)).toEqual([1, 1]);
  });

  it('sends the NOTICE on the retry when the channel failed the first time', async () => {
    // Prepare
    const h = await harness();
    let fail = true;
    const sent: AlertNotification[] = [];
    const handle = createAlertHandler({
      config: h.config,
      store: h.store,
      dispatch: async (n) => {
        if (fail) throw new Error('SNS is down');
        sent.push(n);
      },
      clock,
    });
    const event = flakyEvent('main');

    // Act
    await expect(handle(event)).rejects.toThrow('SNS is down');
    fail = false;
    await handle(event);
    await handle(event);

    // Assess
    expect(sent.map((n) => n.kind)).toEqual(['NOTICE']);
  });
});

// AWS dispatch against moto: SNS topic per severity → an SQS subscriber sees what Lambda would.

const withMoto = motoAvailable('SNS dispatch (alert-handler.test.ts)');

describe.skipIf(!withMoto)('SNS dispatch (moto)', () => {
  let moto: MotoServer;
  let sns: SNSClient;
  let sqs: SQSClient;
  let restoreEnv: () => void;

  beforeAll(async () => {
    restoreEnv = saveEnv();
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    moto = await startMoto();
    const cfg = { region: 'us-east-1', endpoint: moto.endpoint };
    sns = new SNSClient(cfg);
    sqs = new SQSClient(cfg);
  });

  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    await moto?.stop();
    restoreEnv();
    // The Lambda entries (and their clients) were built with this file's environment.
    vi.resetModules();
  });

  const topicWithQueue = async (name: string): Promise<{ topicArn: string; queueUrl: string }> => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-listener` }));
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: attrs.Attributes?.QueueArn ?? '',
      }),
    );
    return { topicArn: TopicArn ?? '', queueUrl: QueueUrl ?? '' };
  };

  /** What the queue holds now: moto delivers to SNS subscribers inside Publish, no need to wait. */
  const receive = async (queueUrl: string): Promise<Message[]> => {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    return out.Messages ?? [];
  };

  it('publishes to the topic of the severity with subject, JSON for subscribers and attributes', async () => {
    // Prepare
    const critical = await topicWithQueue('vigil-critical');
    const warning = await topicWithQueue('vigil-warning');
    const publisher = new MemoryPublisher();
    const h = await harness();
    const handle = createAlertHandler({
      config: h.config,
      store: h.store,
      dispatch: createSnsDispatch({
        client: sns,
        topics: { critical: critical.topicArn, warning: warning.topicArn },
        publisher,
      }),
      clock,
    });

    // Act
    await handle(alarmEvent('ALARM'));

    // Assess
    const [message] = await receive(critical.queueUrl);
    expect(await receive(warning.queueUrl)).toEqual([]);
    const envelope = JSON.parse(message?.Body ?? '{}') as {
      Subject: string;
      Message: string;
      MessageAttributes: Record<string, { Type: string; Value: string }>;
    };
    expect(envelope.Subject).toBe('[Vigil] FIRING critical: Alarm vigil-prod-ingest-5xx (shop)');
    const n = alertNotificationSchema.parse(JSON.parse(envelope.Message));
    expect(n).toMatchObject({ kind: 'FIRING', checkKey: 'alarm:vigil-prod-ingest-5xx' });
    expect(envelope.MessageAttributes).toMatchObject({
      severity: { Type: 'String', Value: 'critical' },
      kind: { Type: 'String', Value: 'FIRING' },
      source: { Type: 'String', Value: 'alarm' },
      project: { Type: 'String', Value: 'shop' },
      checkKey: { Type: 'String', Value: 'alarm:vigil-prod-ingest-5xx' },
    });
    expect(publisher.events).toEqual([
      { source: 'vigil.alert', detailType: 'Alert State Changed', detail: n },
    ]);
  });

  it('keeps the notification when SNS fails, and sends it on the retry of the same event', async () => {
    // Prepare
    const h = await harness();
    let fail = true;
    const sent: AlertNotification[] = [];
    const handle = createAlertHandler({
      config: h.config,
      store: h.store,
      dispatch: async (n) => {
        if (fail) throw new Error('SNS is down');
        sent.push(n);
      },
      clock,
    });
    const event = alarmEvent('ALARM');

    // Act
    const first = handle(event);
    await expect(first).rejects.toThrow('SNS is down');
    const pending = await h.store.get('alarm:vigil-prod-ingest-5xx');
    fail = false;
    await handle(event); // Lambda's retry: same event id

    // Assess
    expect(pending?.outbox.map((n) => n.kind)).toEqual(['FIRING']);
    expect(sent.map((n) => n.kind)).toEqual(['FIRING']);
    expect((await h.store.get('alarm:vigil-prod-ingest-5xx'))?.outbox).toEqual([]);
  });
  it("closes a removed probe's alert at a container's first event, once; CI checks stay (DynamoDB)", async () => {
    // Prepare: with the old config, the probe and main's tests are FIRING in DynamoDB.
    const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: moto.endpoint });
    const table = 'vigil-alerts-removed';
    await createAlertTable(dynamo, table);
    const store = new DynamoAlertStore({ table, client: dynamo });
    const h = await harness();
    const before = createAlertHandler({ config: h.config, store, dispatch: async () => {}, clock });
    await before(probeEvent('down'));
    await before(testRunEvent('fail', 'main'));
    minutes(1);
    await before(probeEvent('down'));
    const critical = await topicWithQueue('vigil-removed-critical');
    const warning = await topicWithQueue('vigil-removed-warning');
    // The probe is gone from the new config (a deploy: new containers).
    const config = parseConfig({ project: 'shop' });
    const container = () =>
      createAlertHandler({
        config,
        store,
        dispatch: createSnsDispatch({
          client: sns,
          topics: { critical: critical.topicArn, warning: warning.topicArn },
          publisher: new MemoryPublisher(),
        }),
        clock,
      });

    try {
      // Act: the first event of a new container (one that alerts on nothing).
      minutes(5);
      await container()(alarmEvent('OK'));

      // Assess: one RESOLVED of the probe's incident, with the reason; main's tests still FIRING.
      const messages = await receive(critical.queueUrl);
      expect(messages).toHaveLength(1);
      const n = alertNotificationSchema.parse(
        JSON.parse((JSON.parse(messages[0]?.Body ?? '{}') as { Message: string }).Message),
      );
      expect(n).toMatchObject({
        kind: 'RESOLVED',
        checkKey: 'probe:shop/checkout-api',
        reason: 'check removed from the configuration',
        since: '2026-11-25T10:00:00.000Z',
        downtimeSeconds: 300,
      });
      expect((await store.get('probe:shop/checkout-api'))?.status).toBe('OK');
      expect((await store.get('tests:shop/unit/main'))?.status).toBe('FIRING');

      // Act: another container starts (a retry, a scale-out) with the same config.
      await container()(alarmEvent('OK'));

      // Assess: nothing more was sent.
      expect(await receive(critical.queueUrl)).toEqual([]);
      expect(await receive(warning.queueUrl)).toEqual([]);
    } finally {
      dynamo.destroy();
    }
  });

  // A longer timeout: two Lambda entries are imported fresh in the test, their whole module
  // graph evaluated again (seconds of CPU on a loaded machine).
  it('runs the Lambda entries end to end: alert (DynamoDB, SNS, bus) and notify (SNS → Slack)', async () => {
    // Prepare: the resources CDK would create, and the environment it would set
    const cfg = { region: 'us-east-1', endpoint: moto.endpoint };
    const dynamo = new DynamoDBClient(cfg);
    await createAlertTable(dynamo, 'vigil-alerts-entry');
    const eventBridge = new EventBridgeClient(cfg);
    await eventBridge.send(new CreateEventBusCommand({ Name: 'vigil-entry' }));
    const secrets = new SecretsManagerClient(cfg);
    await secrets.send(
      new CreateSecretCommand({ Name: 'vigil/slack-hook', SecretString: 'T1/B1/entry' }),
    );
    const critical = await topicWithQueue('vigil-entry-critical');
    const warning = await topicWithQueue('vigil-entry-warning');
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      ALERT_TABLE: 'vigil-alerts-entry',
      CRITICAL_TOPIC_ARN: critical.topicArn,
      WARNING_TOPIC_ARN: warning.topicArn,
      EVENT_BUS_NAME: 'vigil-entry',
      VIGIL_DASHBOARD_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com/',
      VIGIL_CONFIG_JSON: JSON.stringify({
        project: 'shop',
        alerts: {
          channels: [
            {
              type: 'slack',
              webhookUrl: `${slackUrl.replace(/\/services.*$/, '')}/services/{{secret:vigil/slack-hook}}`,
            },
            { type: 'email', address: 'team@example.com' },
          ],
        },
      }),
    });

    asInLambda();
    // The entries read it at import: fresh ones (another file may have imported them).
    vi.resetModules();

    try {
      // Act
      const alert = await import('../../functions/alert/index');
      await alert.handler(alarmEvent('ALARM'));
      const notify = await import('../../functions/notify/index');
      const [message] = await receive(critical.queueUrl);
      const envelope = JSON.parse(message?.Body ?? '{}') as { Message: string; MessageId: string };
      const lastNotifyEvent = {
        Records: [
          {
            EventVersion: '1.0',
            EventSubscriptionArn: `${critical.topicArn}:sub`,
            EventSource: 'aws:sns',
            Sns: {
              SignatureVersion: '1',
              Timestamp: new Date(now).toISOString(),
              Signature: 'x',
              SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/cert.pem',
              MessageId: envelope.MessageId,
              Message: envelope.Message,
              MessageAttributes: {},
              Type: 'Notification',
              UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
              TopicArn: critical.topicArn,
              Subject: 'x',
            },
          },
        ],
      };
      await notify.handler(lastNotifyEvent as never);
      const item = await dynamo.send(
        new GetItemCommand({
          TableName: 'vigil-alerts-entry',
          Key: { pk: { S: 'alarm:vigil-prod-ingest-5xx' }, sk: { S: 'state' } },
        }),
      );

      // Assess
      expect(item.Item?.status?.S).toBe('FIRING');
      expect(item.Item?.version?.N).toBe('3'); // transition, outbox claimed, claim released
      expect(slackPaths).toEqual(['/services/T1/B1/entry']);
      expect(slackMessages[0]?.text).toContain('FIRING [critical] Alarm vigil-prod-ingest-5xx');
      expect(await receive(warning.queueUrl)).toEqual([]);
      // Lambda delivers the same SNS message again (a retry): the channel that has it is skipped.
      await notify.handler(lastNotifyEvent as never);
      expect(slackPaths).toHaveLength(1);
      const mark = await dynamo.send(
        new QueryCommand({
          TableName: 'vigil-alerts-entry',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: '#delivered' } },
        }),
      );
      expect(mark.Items?.map((i) => i.sk?.S)).toEqual([expect.stringMatching(/#FIRING#.*#slack/)]);

      // A failed run on main: its message links to the run's page at the stage's address.
      const run = testRunEvent('fail', 'main');
      await alert.handler(run);
      const [published] = await receive(warning.queueUrl);
      const sent = JSON.parse(
        (JSON.parse(published?.Body ?? '{}') as { Message: string }).Message,
      ) as AlertNotification;
      expect(sent.dashboardUrl).toBe(
        `https://abc123.execute-api.us-east-1.amazonaws.com/#/run/shop/${(run.detail as TestRunDetail).metadata.runId}`,
      );
    } finally {
      dynamo.destroy();
      eventBridge.destroy();
      secrets.destroy();
    }
  }, 60_000);
});
