import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { apiEvent, fixedClock, MemoryArchive, MemoryLedger } from '../helpers/fakes';

/**
 * Real X-Ray segments, as Lambda would send them: the Powertools tracer (aws-xray-sdk-core) in
 * Lambda mode builds the facade segment from `_X_AMZN_TRACE_ID` and streams every closed
 * subsegment to `AWS_XRAY_DAEMON_ADDRESS` over UDP, where this file listens.
 *
 * The tracer and the X-Ray SDK read their environment when first loaded, so the handlers are
 * imported (dynamically) only after it is set; vitest runs this file in a process of its own.
 */

interface XraySegment {
  name: string;
  id: string;
  trace_id?: string;
  parent_id?: string;
  type?: string;
  annotations?: Record<string, string | number | boolean>;
  subsegments?: XraySegment[];
  error?: boolean;
}

const HEADER = '{"format":"json","version":1}';
const ROOT_1 = '1-6745a3c0-0123456789abcdef01234567';
const ROOT_2 = '1-6745a3c0-fedcba9876543210fedcba98';
const ROOT_3 = '1-6745a3c0-00000000000000000000aaaa';
const traceEnv = (root: string) => `Root=${root};Parent=53995c3f42cd8ad8;Sampled=1`;
const TOKEN = 'xray-token';
const GRADLE = readFileSync('test/fixtures/corpus/junit/datadog-java-gradle.xml');

let daemon: Socket;
let daemonPort: number;
let received: XraySegment[];
let rawDatagrams: string[];

/** A stand-in EventBridge endpoint: accepts every PutEvents and keeps the request headers. */
let eventBridge: Server;
let putEventsHeaders: IncomingHttpHeaders[];
/** A service for the probes to check. */
let service: Server;
let serviceHeaders: IncomingHttpHeaders[];

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
const closeServer = (server: Server | undefined): Promise<void> =>
  new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));

/** Every subsegment received, flattened (a closed parent may carry children not yet streamed). */
const flatten = (segments: readonly XraySegment[]): XraySegment[] =>
  segments.flatMap((s) => [s, ...flatten(s.subsegments ?? [])]);
const all = () => flatten(received);
const named = (name: string, root: string) =>
  all().filter((s) => s.name === name && (s.trace_id === undefined || s.trace_id === root));

const waitFor = async <T>(what: string, probe: () => T | undefined): Promise<T> => {
  const deadline = Date.now() + 3000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; received: ${rawDatagrams.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (msg) => {
    const text = msg.toString('utf8');
    rawDatagrams.push(text);
    const newline = text.indexOf('\n');
    if (text.slice(0, newline) !== HEADER) throw new Error(`bad X-Ray datagram header: ${text}`);
    received.push(JSON.parse(text.slice(newline + 1)) as XraySegment);
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  daemonPort = daemon.address().port;

  putEventsHeaders = [];
  eventBridge = createServer((req, res) => {
    putEventsHeaders.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Entries: [{ EventId: 'e-1' }], FailedEntryCount: 0 }));
    });
  });
  serviceHeaders = [];
  service = createServer((req, res) => {
    serviceHeaders.push(req.headers);
    res.writeHead(req.url === '/down' ? 503 : 200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  const [ebPort, servicePort] = await Promise.all([listen(eventBridge), listen(service)]);
  process.env.VIGIL_TEST_SERVICE_PORT = String(servicePort);

  // As Lambda sets them for a function with active tracing.
  process.env.AWS_XRAY_DAEMON_ADDRESS = `127.0.0.1:${daemonPort}`;
  process.env.AWS_XRAY_CONTEXT_MISSING = 'IGNORE_ERROR';
  // Automatic mode (vitest.config.ts sets manual mode for the others): segments follow the context.
  delete process.env.AWS_XRAY_MANUAL_MODE;
  process.env.POWERTOOLS_TRACE_ENABLED = 'true';
  process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs20.x';
  process.env.LAMBDA_TASK_ROOT = '/var/task';
  process.env.AWS_LAMBDA_FUNCTION_NAME = 'vigil-dev-ingest';
  process.env._X_AMZN_TRACE_ID = traceEnv(ROOT_1);
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = `http://127.0.0.1:${ebPort}`;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  vi.resetModules();
});

afterAll(async () => {
  await Promise.all([closeServer(eventBridge), closeServer(service)]);
  try {
    daemon.close();
  } catch {
    // already closed by the last test
  }
});

beforeEach(() => {
  received = [];
  rawDatagrams = [];
  putEventsHeaders = [];
  serviceHeaders = [];
});

const loadIngest = async () => {
  const [{ createIngestHandler }, { EventBridgePublisher }, { eventBridge: client }, { tracer }] =
    await Promise.all([
      import('../../functions/ingest/handler'),
      import('../../functions/adapters/aws/eventbridge-publisher'),
      import('../../functions/adapters/aws/clients'),
      import('../../functions/adapters/aws/xray-tracer'),
    ]);
  const handler = createIngestHandler({
    config: parseConfig({ project: 'shop' }),
    stage: 'dev',
    publisher: new EventBridgePublisher({ busName: 'vigil-dev', client: client() }),
    archive: new MemoryArchive(),
    ledger: new MemoryLedger(),
    clock: fixedClock(),
    tokens: { tokens: async () => [TOKEN] },
    version: '1.2.3',
  });
  return { handler, tracer };
};

const postReport = (correlationId: string) =>
  apiEvent({
    query: { project: 'shop', format: 'junit', runId: `run-${correlationId}` },
    headers: { authorization: `Bearer ${TOKEN}`, 'x-correlation-id': correlationId },
    body: GRADLE,
  });

describe('X-Ray tracing (real segments over UDP)', () => {
  it('is enabled in this Lambda-like environment', async () => {
    const { tracer } = await loadIngest();
    expect(tracer.isTracingEnabled()).toBe(true);
  });

  it('ingest: a handler subsegment annotated with correlationId and project, a parse subsegment, an EventBridge subsegment', async () => {
    // Prepare
    process.env._X_AMZN_TRACE_ID = traceEnv(ROOT_1);
    const { handler } = await loadIngest();
    // Act
    const res = await handler(postReport('ci-xray-1'));
    // Assess
    expect(res.statusCode).toBe(202);
    const handlerSeg = await waitFor('## ingest', () => named('## ingest', ROOT_1)[0]);
    expect(handlerSeg).toMatchObject({
      trace_id: ROOT_1,
      parent_id: '53995c3f42cd8ad8',
      type: 'subsegment',
      annotations: {
        correlationId: 'ci-xray-1',
        project: 'shop',
        format: 'junit',
        ColdStart: expect.any(Boolean),
        Service: 'vigil-test',
      },
    });
    const parse = await waitFor('parse junit', () => named('parse junit', ROOT_1)[0]);
    expect(parse.parent_id).toBe(handlerSeg.id);
    const putEvents = await waitFor('EventBridge', () => named('EventBridge', ROOT_1)[0]);
    expect(putEvents.parent_id).toBe(handlerSeg.id);
  });

  it('joins the trace across EventBridge: PutEvents carries the X-Ray trace header of its subsegment', async () => {
    // Prepare
    process.env._X_AMZN_TRACE_ID = traceEnv(ROOT_2);
    const { handler } = await loadIngest();
    // Act
    const res = await handler(postReport('ci-xray-2'));
    // Assess
    expect(res.statusCode).toBe(202);
    expect(putEventsHeaders).toHaveLength(1);
    const header = String(putEventsHeaders[0]?.['x-amzn-trace-id']);
    const putEvents = await waitFor('EventBridge', () => named('EventBridge', ROOT_2)[0]);
    // EventBridge passes this header on to the rule targets (the processors' Lambda functions),
    // whose segments then belong to the same trace.
    expect(header).toBe(`Root=${ROOT_2};Parent=${putEvents.id};Sampled=1`);
  });

  it('probe: a subsegment per probe annotated with the probe name, under the annotated handler subsegment', async () => {
    // Prepare
    process.env._X_AMZN_TRACE_ID = traceEnv(ROOT_3);
    const { createProbeHandler } = await import('../../functions/probe/handler');
    const base = `http://127.0.0.1:${process.env.VIGIL_TEST_SERVICE_PORT}`;
    const published: unknown[] = [];
    const handler = createProbeHandler({
      config: parseConfig({
        project: 'shop',
        probes: [
          { name: 'api', url: `${base}/health` },
          { name: 'web', url: `${base}/down` },
        ],
      }),
      publisher: { publish: async (events) => void published.push(...events) },
      secrets: { resolve: async (name) => `unused-${name}` },
      clock: { now: () => new Date() },
      sleep: async () => undefined,
      location: 'eu-west-1',
      newId: () => 'corr-probe-1',
    });
    // Act
    const summary = await handler({ group: 'all' });
    // Assess
    expect(summary).toMatchObject({ runs: 2, up: 1, down: 1 });
    const handlerSeg = await waitFor('## probe', () => named('## probe', ROOT_3)[0]);
    expect(handlerSeg.annotations).toMatchObject({
      correlationId: 'corr-probe-1',
      project: 'shop',
    });
    const api = await waitFor('probe api', () => named('probe api', ROOT_3)[0]);
    const web = await waitFor('probe web', () => named('probe web', ROOT_3)[0]);
    expect(api).toMatchObject({ parent_id: handlerSeg.id, annotations: { probe: 'api' } });
    expect(web).toMatchObject({
      parent_id: handlerSeg.id,
      annotations: { probe: 'web', status_code: 503 },
    });
    // The probed service receives the trace header too (its own traces can join).
    expect(serviceHeaders.map((h) => String(h['x-amzn-trace-id']))).toEqual([
      expect.stringContaining(`Root=${ROOT_3}`),
      expect.stringContaining(`Root=${ROOT_3}`),
    ]);
  });

  it('never fails nor waits when no X-Ray daemon listens', async () => {
    // Prepare: nothing listens on the daemon port any more.
    await new Promise<void>((resolve) => daemon.close(() => resolve()));
    process.env._X_AMZN_TRACE_ID = traceEnv(ROOT_1);
    const { handler } = await loadIngest();
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    try {
      // Act
      const started = performance.now();
      const ok = await handler(postReport('ci-xray-3'));
      const health = await handler(apiEvent({ method: 'GET', path: '/v1/health' }));
      const elapsed = performance.now() - started;
      await new Promise((r) => setTimeout(r, 200));
      // Assess
      expect(ok.statusCode).toBe(202);
      expect(JSON.parse(ok.body ?? '{}')).toMatchObject({ correlationId: 'ci-xray-3' });
      expect(health.statusCode).toBe(200);
      expect(elapsed).toBeLessThan(2000);
      expect(errors).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    }
  });
});
