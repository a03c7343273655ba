import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { PublishCommand, PublishCommandOutput } from '@aws-sdk/client-sns';
import type { SNSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { apiEvent } from '../helpers/fakes';
import { strayRequest } from '../helpers/stray-request';

/**
 * One correlation id, followed from the HTTP ingest request to the alert, through every signal
 * an operator looks at: the response, the JSON logs, the X-Ray segments and Sentry.
 *
 * The handlers run as their Lambda entries run them (`lambdaEntry`: Sentry outermost, then the
 * handler with its `## <name>` X-Ray subsegment), in a Lambda-like environment with active
 * tracing: ingest → bus (the LocalBus, with the CDK rules' patterns) → metrics and alert
 * handlers → SNS dispatch → notify handler → Slack and a webhook. The one stand-in is SNS's
 * hop to the notify function: the SNS client's `send` hands the published message to the notify
 * entry as the SNS event Lambda would receive. Each handler call is a separate invocation: its
 * own Powertools scope (logger keys, metrics) and, as the Lambda runtime gives every
 * invocation, the function's facade segment as its current X-Ray segment.
 *
 * Real parts: a UDP socket as the X-Ray daemon, an HTTP server as Sentry's ingest endpoint,
 * HTTP receivers as Slack and the webhook (which answers 500, so the delivery fails, the notify
 * function throws and Sentry gets the error), the real EventBridge SDK client for the fault
 * test. The tracer and the X-Ray SDK read their environment when loaded, so the handlers are
 * imported only after it is set (vitest runs this file in a process of its own).
 */

const CORRELATION_ID = 'ci-corr-e2e-7f3a91';
const TOKEN = 'correlation-e2e-token';
const ROOT = '1-6745a3c0-c0441e1a7100000000000e2e';
const ROOT_FAULT = '1-6745a3c0-c0441e1a7100000000fa0175';
const LAMBDA_PARENT = '53995c3f42cd8ad8';
const traceEnv = (root: string) => `Root=${root};Parent=${LAMBDA_PARENT};Sampled=1`;

/** One passed and one failed test on `main`: the gate fails, and `main` alerts. */
const FAILING_JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="checkout" tests="2" failures="1">
  <testcase classname="CartTest" name="adds an item" time="0.01"/>
  <testcase classname="CartTest" name="pays" time="0.02">
    <failure message="expected 200, got 500">AssertionError: expected 200, got 500</failure>
  </testcase>
</testsuite>`;

interface XraySegment {
  name: string;
  id: string;
  trace_id?: string;
  parent_id?: string;
  annotations?: Record<string, string | number | boolean>;
  subsegments?: XraySegment[];
}

interface SentryEvent {
  tags?: Record<string, string>;
  exception?: { values?: { type?: string; value?: string }[] };
  message?: string;
}

type LogLine = Record<string, unknown> & { level: string; message: string };

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
};

/** Wait for a condition, bounded (no fixed sleeps). */
const waitFor = async <T>(what: string, probe: () => T | undefined, ms = 5000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** The JSON lines written to stdout and stderr while `fn` runs (Powertools logs and EMF). */
const captureOutput = async <T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> => {
  const lines: string[] = [];
  const record = (chunk: string | Uint8Array): boolean => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) lines.push(line);
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(record);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(record);
  try {
    return { result: await fn(), lines };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
};

const logLines = (lines: readonly string[]): LogLine[] =>
  lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l): l is LogLine => typeof l.level === 'string' && typeof l.message === 'string');

let daemon: Socket;
let segments: XraySegment[] = [];
let sentry: Server;
let sentryEvents: SentryEvent[] = [];
let receivers: Server;
let slackBodies: string[] = [];
let hookAttempts = 0;
let receiverPort: number;
let eventBridgePort: number;

/** Every subsegment received, flattened (a closed parent may carry children not yet streamed). */
const flatten = (list: readonly XraySegment[]): XraySegment[] =>
  list.flatMap((s) => [s, ...flatten(s.subsegments ?? [])]);
const handlerSegment = (name: string, root: string): XraySegment | undefined =>
  flatten(segments).find((s) => s.name === `## ${name}` && s.trace_id === root);

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (msg) => {
    const text = msg.toString('utf8');
    segments.push(JSON.parse(text.slice(text.indexOf('\n') + 1)) as XraySegment);
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));

  // Sentry's ingest endpoint: keeps the event item of every envelope.
  sentry = createServer((req, res) => {
    void readBody(req).then((body) => {
      const items = body
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== '');
      const event = items[2];
      if (event) sentryEvents.push(JSON.parse(event) as SentryEvent);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  // Slack takes the alert; the team's webhook is broken (500 on every attempt).
  receivers = createServer((req, res) => {
    void readBody(req).then((body) => {
      if (strayRequest(req, res)) return;
      if (req.url?.startsWith('/slack')) {
        slackBodies.push(body.toString('utf8'));
        res.writeHead(200).end('ok');
        return;
      }
      hookAttempts++;
      res.writeHead(500).end('internal error');
    });
  });
  // A port nothing listens on: EventBridge unreachable.
  const nothing = createServer();
  eventBridgePort = await listen(nothing);
  await close(nothing);
  const [sentryPort, port] = await Promise.all([listen(sentry), listen(receivers)]);
  receiverPort = port;

  // As Lambda sets them for a function with active tracing, plus Sentry and the stage.
  process.env.AWS_XRAY_DAEMON_ADDRESS = `127.0.0.1:${daemon.address().port}`;
  process.env.AWS_XRAY_CONTEXT_MISSING = 'IGNORE_ERROR';
  // Automatic mode (vitest.config.ts sets manual mode for the others): segments follow the context.
  delete process.env.AWS_XRAY_MANUAL_MODE;
  process.env.POWERTOOLS_TRACE_ENABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  // The EMF the handlers print is asserted here (vitest.config.ts disables it elsewhere).
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs20.x';
  process.env.LAMBDA_TASK_ROOT = '/var/task';
  process.env.AWS_LAMBDA_FUNCTION_NAME = 'vigil-dev';
  process.env._X_AMZN_TRACE_ID = traceEnv(ROOT);
  process.env.SENTRY_DSN = `http://publickey@127.0.0.1:${sentryPort}/1`;
  process.env.VIGIL_STAGE = 'dev';
  process.env.EVENT_BUS_NAME = 'vigil-dev';
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = `http://127.0.0.1:${eventBridgePort}`;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  vi.resetModules();
  // Several seconds of imports (Sentry, X-Ray, the handlers) under the hook's timeout, not
  // under each test's.
  await importPipeline();
});

afterAll(async () => {
  await Promise.all([close(sentry), close(receivers)]);
  daemon.close();
});

/** The pipeline's modules, imported after the environment (first in beforeAll: see there). */
const importPipeline = () =>
  Promise.all([
    import('../../functions/adapters/aws/lambda-entry'),
    import('../../functions/adapters/aws/sns-dispatch'),
    import('../../functions/ingest/handler'),
    import('../../functions/metrics/handler'),
    import('../../functions/alert/handler'),
    import('../../functions/notify/handler'),
    import('../../functions/adapters/local/bus'),
    import('../../functions/adapters/local/invocations'),
    import('../../functions/adapters/local/store'),
    import('../../functions/adapters/local/store/ledger'),
    import('../../functions/core/events'),
    import('../../functions/core/ports'),
    import('../../functions/shared/powertools'),
    import('../../functions/adapters/aws/xray-tracer'),
  ]);

/** The pipeline's handlers as their Lambda entries wire them. */
const loadPipeline = async () => {
  const [
    { lambdaEntry, busPublisher },
    { createSnsDispatch },
    { createIngestHandler },
    { createMetricsHandler },
    { createAlertHandler },
    { createNotifyHandler },
    { LocalBus },
    { invocationScopes },
    { LocalStore },
    { SqliteRunLedger },
    { EVENT_PATTERNS },
    { systemClock },
    { metrics },
    { tracer },
  ] = await importPipeline();
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-correlation-'));
  const config = parseConfig({
    project: 'shop',
    alerts: {
      channels: [
        { type: 'slack', webhookUrl: `http://127.0.0.1:${receiverPort}/slack/T0/B0` },
        { type: 'webhook', url: `http://127.0.0.1:${receiverPort}/hook` },
      ],
    },
  });

  // A new invocation: its own Powertools scope, and the function's facade segment as the
  // current X-Ray segment (not the caller's subsegment: EventBridge and SNS invoke functions
  // asynchronously, each in a segment of its own).
  const scoped = await invocationScopes();
  const xray = tracer.provider.getNamespace();
  const facade = tracer.provider.getSegment();
  if (!facade) throw new Error('no X-Ray facade segment: the Lambda-like environment is not set');
  const invocation = <T>(fn: () => Promise<T>): Promise<T> =>
    scoped(() =>
      xray.runAndReturn(() => {
        xray.set('segment', facade);
        return fn();
      }),
    );

  const store = LocalStore.open(dataDir);
  const bus = new LocalBus({ db: store.db, log: store.log, scope: invocation, maxAttempts: 1 });
  const notify = lambdaEntry(
    'notify',
    createNotifyHandler({
      config,
      resolveSecret: async (name) => `unused-${name}`,
      maxAttempts: 2,
      baseDelayMs: 10,
    }),
  );
  // SNS → Lambda: the notify function gets the `lambda` message of the publish, asynchronously.
  const notifyInvocations: Promise<unknown>[] = [];
  const sns = {
    send: async (command: PublishCommand): Promise<PublishCommandOutput> => {
      const { TopicArn = '', Subject, Message = '{}' } = command.input;
      const messageId = randomUUID();
      const event: SNSEvent = {
        Records: [
          {
            EventSource: 'aws:sns',
            EventVersion: '1.0',
            EventSubscriptionArn: `${TopicArn}:${randomUUID()}`,
            Sns: {
              Type: 'Notification',
              MessageId: messageId,
              TopicArn,
              Subject: Subject ?? '',
              Message: (JSON.parse(Message) as { lambda: string }).lambda,
              Timestamp: new Date().toISOString(),
              SignatureVersion: '1',
              Signature: '',
              SigningCertUrl: '',
              UnsubscribeUrl: '',
              MessageAttributes: {},
            },
          },
        ],
      };
      notifyInvocations.push(
        invocation(() => notify(event)).then(
          () => 'ok',
          (error: unknown) => error,
        ),
      );
      return { MessageId: messageId, $metadata: {} };
    },
  };

  bus.subscribe(
    'metrics',
    EVENT_PATTERNS.metrics,
    lambdaEntry('metrics', createMetricsHandler({ config, metrics })),
  );
  bus.subscribe(
    'alerts',
    EVENT_PATTERNS.alerts,
    lambdaEntry(
      'alert',
      createAlertHandler({
        config,
        store: store.alerts,
        dispatch: createSnsDispatch({
          client: sns,
          topics: { critical: 'arn:aws:sns:::critical', warning: 'arn:aws:sns:::warning' },
          publisher: bus,
        }),
        clock: systemClock,
      }),
    ),
  );
  const ingestWith = (publisher: typeof bus | ReturnType<typeof busPublisher>) =>
    lambdaEntry(
      'ingest',
      createIngestHandler({
        config,
        stage: 'dev',
        publisher,
        archive: store.archive,
        // Without the outbox: the events go to the publisher under test.
        ledger: new SqliteRunLedger(store.db),
        tokens: { tokens: async () => [TOKEN] },
        clock: systemClock,
        version: 'test',
      }),
    );
  return { bus, invocation, notifyInvocations, ingestWith, busPublisher };
};

const postFailingRun = (correlationId: string) =>
  apiEvent({
    query: { project: 'shop', branch: 'main', format: 'junit', runId: `run-${correlationId}` },
    headers: { authorization: `Bearer ${TOKEN}`, 'x-correlation-id': correlationId },
    body: FAILING_JUNIT,
  });

describe('one correlation id, from the ingest request to the alert', () => {
  it('appears in the response, the logs, the X-Ray segments, Sentry and the alert', async () => {
    // Prepare
    segments = [];
    sentryEvents = [];
    slackBodies = [];
    hookAttempts = 0;
    process.env._X_AMZN_TRACE_ID = traceEnv(ROOT);
    const { bus, invocation, notifyInvocations, ingestWith } = await loadPipeline();
    const ingest = ingestWith(bus);

    // Act: the request, then everything it set off.
    const { result: response, lines } = await captureOutput(async () => {
      const res = await invocation(() => ingest(postFailingRun(CORRELATION_ID)));
      await bus.drain();
      await waitFor('the notify invocation', () => (notifyInvocations.length ? true : undefined));
      return { res, notified: await Promise.all(notifyInvocations) };
    });

    // Assess: the response, header and body.
    expect(response.res.statusCode).toBe(202);
    expect(response.res.headers['x-correlation-id']).toBe(CORRELATION_ID);
    expect(JSON.parse(response.res.body ?? '{}')).toMatchObject({
      correlationId: CORRELATION_ID,
      gate: { status: 'fail' },
    });

    // The alert text on Slack names it; the broken webhook failed the notify invocation.
    expect(slackBodies).toHaveLength(1);
    expect(slackBodies[0]).toContain(`Correlation id \`${CORRELATION_ID}\``);
    expect(slackBodies[0]).toContain('FIRING');
    expect(hookAttempts).toBe(2);
    expect(response.notified).toEqual([
      expect.objectContaining({ code: 'unavailable', message: expect.stringContaining('hook') }),
    ]);

    // Logs: the ingest, alert and notify handlers' lines carry it, and so does every other line
    // of the flow; each names the X-Ray trace too.
    const logs = logLines(lines);
    const line = (message: string) => logs.find((l) => l.message === message);
    expect(line('report ingested')).toMatchObject({ correlation_id: CORRELATION_ID, gate: 'fail' });
    expect(line('alert observation applied')).toMatchObject({
      correlation_id: CORRELATION_ID,
      notification: 'FIRING',
    });
    expect(line('alert delivered')).toMatchObject({ correlation_id: CORRELATION_ID });
    expect(line('alert delivery failed')).toMatchObject({
      correlation_id: CORRELATION_ID,
      level: 'ERROR',
    });
    for (const l of logs) {
      expect(l, l.message).toMatchObject({ correlation_id: CORRELATION_ID, xray_trace_id: ROOT });
    }

    // X-Ray: each handler's subsegment, in the one trace, annotated with it.
    for (const name of ['ingest', 'metrics', 'alert', 'notify']) {
      const segment = await waitFor(`## ${name}`, () => handlerSegment(name, ROOT));
      expect(segment, name).toMatchObject({
        parent_id: LAMBDA_PARENT,
        annotations: { correlationId: CORRELATION_ID, project: 'shop' },
      });
    }

    // Sentry: the notify function's error, tagged with it; nothing for the 202. (withSentry
    // waits up to 2 s for delivery; on a busy machine the envelope may land just after.)
    await waitFor('the Sentry event', () => (sentryEvents.length > 0 ? true : undefined));
    expect(sentryEvents).toHaveLength(1);
    expect(sentryEvents[0]).toMatchObject({
      tags: { correlation_id: CORRELATION_ID, function: 'notify', project: 'shop', stage: 'dev' },
    });
    expect(sentryEvents[0]?.exception?.values?.[0]?.value).toContain('alert deliveries failed');
  });
});

describe('faults keep the correlation id', () => {
  it('EventBridge unreachable: 503 with the id in the body and header, reported to Sentry', async () => {
    // Prepare: the real EventBridge client and publisher, aimed at a port nothing listens on.
    const correlationId = 'ci-corr-fault-eb-0001';
    segments = [];
    sentryEvents = [];
    process.env._X_AMZN_TRACE_ID = traceEnv(ROOT_FAULT);
    const { invocation, ingestWith, busPublisher } = await loadPipeline();
    const ingest = ingestWith(busPublisher());

    // Act
    const { result: res, lines } = await captureOutput(() =>
      invocation(() => ingest(postFailingRun(correlationId))),
    );

    // Assess: the client is told to retry, with the id to quote.
    expect(res.statusCode).toBe(503);
    expect(res.headers['x-correlation-id']).toBe(correlationId);
    expect(JSON.parse(res.body ?? '{}')).toEqual({
      error: expect.objectContaining({ code: 'publish_failed', correlationId }),
    });
    const logs = logLines(lines);
    expect(logs.find((l) => l.message === 'ingest failed')).toMatchObject({
      correlation_id: correlationId,
      level: 'ERROR',
    });
    // Every PutEvents retry counted (4 attempts: 3 retries).
    const retries = lines.filter((l) => l.includes('"PublishRetries"'));
    expect(retries).toHaveLength(3);
    await waitFor('the Sentry event', () => (sentryEvents.length > 0 ? true : undefined));
    expect(sentryEvents).toEqual([
      expect.objectContaining({
        tags: expect.objectContaining({
          correlation_id: correlationId,
          function: 'ingest',
          'http.status_code': '503',
        }),
      }),
    ]);
    const segment = await waitFor('## ingest', () => handlerSegment('ingest', ROOT_FAULT));
    expect(segment.annotations).toMatchObject({ correlationId });
  });
});
