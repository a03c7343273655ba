import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SNSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import type { AlertNotification, ProbeCompletedDetail } from '../../functions/core/events';
import { systemClock } from '../../functions/core/ports';
import { parseTraceparent } from '../../functions/core/tracing/context';
import { createProbeHandler } from '../../functions/probe/handler';
import { startLocal } from '../../functions/runtime/local/runtime';
import {
  flushSpans,
  MAX_QUEUED_SPANS,
  recordSpans,
  withSpan,
} from '../../functions/shared/otel/spans';
import { asInLambda, saveEnv } from '../helpers/env';
import { MemoryPublisher } from '../helpers/fakes';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver';

/**
 * OpenTelemetry end to end on loopback: a real OTLP/HTTP (JSON) receiver gets Vigil's spans; a
 * target server sees the probes' `traceparent`. Sets OTEL_* in process.env for each test (and
 * puts it back after).
 */

const ENV = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'VIGIL_OTEL_FLUSH_MS',
  'VIGIL_CONFIG_JSON',
  'ALERT_TABLE',
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
] as const;

interface Target {
  url: string;
  seen: { path: string; headers: IncomingHttpHeaders; body: string }[];
  server: Server;
}

const startTarget = async (): Promise<Target> => {
  const seen: Target['seen'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
};

let receiver: OtlpReceiver;
let target: Target;
/** DynamoDB for the notify function's delivery marks: no item yet, every write accepted. */
let dynamo: Server;
let dynamoUrl: string;
let restoreEnv: () => void;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  target = await startTarget();
  dynamo = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}'),
    );
  });
  await new Promise<void>((ok) => dynamo.listen(0, '127.0.0.1', ok));
  dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((ok) => dynamo.close(ok));
  await receiver.close();
  target.server.closeAllConnections();
  await new Promise((ok) => target.server.close(ok));
  // The notify entry (and its clients) was built with this file's environment.
  vi.resetModules();
});
beforeEach(() => {
  restoreEnv = saveEnv();
  for (const k of ENV) delete process.env[k];
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-tenant=vigil%20test';
  receiver.spans.length = 0;
  receiver.requests.length = 0;
  target.seen.length = 0;
});
afterEach(() => {
  restoreEnv();
});

const byName = (name: string): ReceivedSpan => {
  const found = receiver.spans.filter((s) => s.name === name);
  expect(
    found.map((s) => s.name),
    `one span ${name}`,
  ).toEqual([name]);
  return found[0] as ReceivedSpan;
};

const probeConfig = () =>
  parseConfig({
    project: 'shop',
    probes: [
      { name: 'api', url: `${target.url}/health?token=secret` },
      { name: 'billing', project: 'payments', url: `${target.url}/billing` },
      {
        name: 'checkout',
        steps: [
          { name: 'login', url: `${target.url}/login` },
          { name: 'cart', url: `${target.url}/cart` },
        ],
      },
    ],
  });

const runProbes = async () => {
  const publisher = new MemoryPublisher();
  const handler = createProbeHandler({
    config: probeConfig(),
    publisher,
    secrets: { resolve: async () => '' },
    clock: systemClock,
    location: 'local',
    sleep: async () => {},
  });
  await handler({ group: 'all' });
  const details = publisher.events.map((e) => e.detail as ProbeCompletedDetail);
  const detail = (probe: string) => details.find((d) => d.metadata.probe === probe);
  const header = (path: string) =>
    String(target.seen.find((s) => s.path === path)?.headers.traceparent);
  return { detail, header };
};

describe('probe requests and spans', () => {
  it('sends traceparent to the target, reports the trace id, and exports the probe spans', async () => {
    const { detail, header } = await runProbes();
    await flushSpans(10_000);

    const api = parseTraceparent(header('/health?token=secret'));
    expect(api).toBeDefined();
    expect(detail('api')?.metadata.traceId).toBe(api?.traceId);

    // The handler's span is the root; the check is its child and the request's parent.
    const root = byName('probe');
    expect(root.parentSpanId).toBeUndefined();
    expect(root.attributes['vigil.correlation_id']).toBe(detail('api')?.metadata.correlationId);
    expect(root.attributes['vigil.project']).toBe('shop');
    const check = byName('probe api');
    expect(check).toMatchObject({ traceId: root.traceId, parentSpanId: root.spanId, kind: 3 });
    expect(api).toMatchObject({ traceId: check.traceId, spanId: check.spanId });
    expect(check.attributes).toMatchObject({
      'vigil.probe': 'api',
      'http.response.status_code': 200,
      // The query (it may hold a token) stays out of the span.
      'url.full': `${target.url}/health`,
    });
    expect(detail('api')?.metadata.traceparent).toBe(`00-${check.traceId}-${check.spanId}-01`);

    // A multi-step probe: one check span, a child span per step, each the parent of its request.
    const steps = byName('probe checkout');
    for (const step of ['login', 'cart']) {
      const span = byName(`step checkout/${step}`);
      expect(span).toMatchObject({ traceId: root.traceId, parentSpanId: steps.spanId, kind: 3 });
      expect(parseTraceparent(header(`/${step}`))).toMatchObject({
        traceId: root.traceId,
        spanId: span.spanId,
      });
    }
    expect(detail('checkout')?.metadata.traceId).toBe(root.traceId);

    // Resource and headers of the export.
    expect(root.resource).toMatchObject({
      'service.name': 'vigil-test',
      'service.version': expect.any(String),
    });
    expect(receiver.requests[0]).toMatchObject({ path: '/v1/traces' });
    expect(receiver.requests[0]?.headers['x-tenant']).toBe('vigil test');
    expect(receiver.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('names the effective project on each probe span: its own, else the config default', async () => {
    const { detail } = await runProbes();
    await flushSpans(10_000);
    // `api` names no project: the config's top-level one is its project, as in its result.
    expect(detail('api')?.metadata.project).toBe('shop');
    expect(byName('probe api').attributes['vigil.project']).toBe('shop');
    expect(byName('probe checkout').attributes['vigil.project']).toBe('shop');
    expect(detail('billing')?.metadata.project).toBe('payments');
    expect(byName('probe billing').attributes['vigil.project']).toBe('payments');
  });

  it('with export off still sends traceparent and reports the trace id, and exports nothing', async () => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    const { detail, header } = await runProbes();
    await flushSpans(10_000);
    const api = parseTraceparent(header('/health?token=secret'));
    const login = parseTraceparent(header('/login'));
    const cart = parseTraceparent(header('/cart'));
    expect(detail('api')?.metadata.traceId).toBe(api?.traceId);
    // The steps of one check share its trace id, each with its own span id.
    expect(cart?.traceId).toBe(login?.traceId);
    expect(cart?.spanId).not.toBe(login?.spanId);
    expect(detail('checkout')?.metadata.traceId).toBe(login?.traceId);
    expect(api?.traceId).not.toBe(login?.traceId);
    expect(receiver.requests).toEqual([]);
  });

  it('keeps a traceparent the probe configures itself', async () => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const publisher = new MemoryPublisher();
    await createProbeHandler({
      config: parseConfig({
        project: 'shop',
        probes: [{ name: 'own', url: `${target.url}/own`, headers: { traceparent: own } }],
      }),
      publisher,
      secrets: { resolve: async () => '' },
      clock: systemClock,
      location: 'local',
    })({});
    expect(target.seen[0]?.headers.traceparent).toBe(own);
  });
});

const JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="cart" tests="2" failures="1" time="0.5">
    <testcase classname="shop.Cart" name="adds an item" time="0.2"/>
    <testcase classname="shop.Cart" name="applies a coupon" time="0.3"><failure message="expected 10 to be 9">stack</failure></testcase>
  </testsuite>
  <testsuite name="search" tests="1" time="0.1">
    <testcase classname="shop.Search" name="finds shoes" time="0.1"/>
  </testsuite>
</testsuites>`;

describe('local mode', () => {
  it('continues the request trace across the bus and exports the test run as a CI trace', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-otel-'));
    const pipeline = await startLocal({
      config: parseConfig({ project: 'shop' }),
      dataDir,
      port: 0,
      tokens: ['t0k'],
      probes: false,
    });
    try {
      const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
      const res = await fetch(
        `${pipeline.url}/v1/results?project=shop&branch=main&commit=abc123&ci=github-actions&runId=r-1`,
        {
          method: 'POST',
          headers: {
            authorization: 'Bearer t0k',
            traceparent: `00-${caller.traceId}-${caller.spanId}-01`,
          },
          body: JUNIT,
        },
      );
      expect(res.status).toBe(202);

      const ingest = await receiver.waitFor('ingest');
      expect(ingest).toMatchObject({
        traceId: caller.traceId,
        parentSpanId: caller.spanId,
        kind: 2,
      });
      expect(ingest.attributes).toMatchObject({ 'vigil.project': 'shop', 'vigil.format': 'junit' });
      const parse = await receiver.waitFor(/^parse /);
      expect(parse).toMatchObject({ traceId: caller.traceId, parentSpanId: ingest.spanId });
      // Every handler the event reaches continues the ingest's trace, as a consumer.
      for (const name of ['metrics', 'history', 'status', 'alert']) {
        const span = await receiver.waitFor(name, (s) => s.parentSpanId === ingest.spanId);
        expect(span, name).toMatchObject({ traceId: caller.traceId, kind: 5 });
      }
      // The failed gate on main fires an alert; its event continues the alert handler's trace.
      const alert = await receiver.waitFor('alert', (s) => s.parentSpanId === ingest.spanId);
      const onAlert = await receiver.waitFor('status', (s) => s.parentSpanId === alert.spanId);
      expect(onAlert.traceId).toBe(caller.traceId);

      // The CI trace: the run, a span per suite, a span per failed test.
      const run = await receiver.waitFor('test run shop');
      expect(run.parentSpanId).toBeUndefined();
      expect(run.attributes).toMatchObject({
        'cicd.pipeline.name': 'github-actions',
        'cicd.pipeline.run.id': 'r-1',
        'cicd.pipeline.task.type': 'test',
        'cicd.pipeline.result': 'failure',
        'vcs.ref.head.name': 'main',
        'vcs.ref.head.revision': 'abc123',
        'vigil.tests.failed': 1,
      });
      expect(run.status?.code).toBe(2);
      const cart = receiver.spans.find((s) => s.name === 'test suite cart');
      const search = receiver.spans.find((s) => s.name === 'test suite search');
      expect(cart).toMatchObject({ traceId: run.traceId, parentSpanId: run.spanId });
      expect(cart?.attributes).toMatchObject({
        'test.suite.name': 'cart',
        'test.suite.run.status': 'failure',
      });
      expect(search?.attributes['test.suite.run.status']).toBe('success');
      const failed = receiver.spans.filter((s) => s.name.startsWith('test shop.'));
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({
        parentSpanId: cart?.spanId,
        status: { code: 2, message: 'expected 10 to be 9' },
      });
      expect(failed[0]?.attributes).toMatchObject({
        'test.case.name': 'shop.Cart.applies a coupon',
        'test.case.result.status': 'fail',
      });
      expect(BigInt(run.startTimeUnixNano)).toBeLessThanOrEqual(
        BigInt(cart?.startTimeUnixNano ?? 0),
      );
    } finally {
      await pipeline.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Lambda (notify function)', () => {
  const notification: AlertNotification = {
    checkKey: 'probe:shop/api',
    incidentId: 'inc-1',
    kind: 'FIRING',
    source: 'probe',
    project: 'shop',
    severity: 'critical',
    title: 'Probe api',
    summary: 'down',
    since: '2026-12-03T10:00:00.000Z',
    at: '2026-12-03T10:01:00.000Z',
    correlationId: 'corr-1',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  };
  const snsEvent = (): SNSEvent =>
    ({
      Records: [{ Sns: { MessageId: 'm-1', Message: JSON.stringify(notification) } }],
    }) as unknown as SNSEvent;

  const loadNotify = async () => {
    process.env.VIGIL_CONFIG_JSON = JSON.stringify({
      project: 'shop',
      alerts: { channels: [{ type: 'webhook', url: `${target.url}/hook` }] },
    });
    Object.assign(process.env, {
      ALERT_TABLE: 'vigil-otel-alerts',
      AWS_ENDPOINT_URL: dynamoUrl,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    asInLambda();
    vi.resetModules();
    return (await import('../../functions/notify/index')).handler;
  };

  it('sends its spans before returning, in the trace of the alert', async () => {
    // A budget no export on loopback needs, so the assertion does not depend on machine load.
    process.env.VIGIL_OTEL_FLUSH_MS = '10000';
    const handler = await loadNotify();
    await handler(snsEvent());
    // No flush by the test: the Lambda entry flushed before returning.
    const notify = byName('notify');
    expect(notify).toMatchObject({
      traceId: notification.traceId,
      parentSpanId: '00f067aa0ba902b7',
      kind: 5,
    });
    expect(notify.attributes['vigil.correlation_id']).toBe('corr-1');
    const deliver = receiver.spans.find((s) => s.name.startsWith('deliver '));
    expect(deliver).toMatchObject({ traceId: notification.traceId, parentSpanId: notify.spanId });
    expect(target.seen.map((s) => s.path)).toEqual(['/hook']);
    expect(target.seen[0]?.body).toContain(notification.traceId);
  });

  it('never waits on a hanging collector beyond its flush budget, and never fails', async () => {
    const hanging = await startOtlpReceiver('hang');
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = hanging.url;
      process.env.VIGIL_OTEL_FLUSH_MS = '50';
      const handler = await loadNotify();
      const started = performance.now();
      await expect(handler(snsEvent())).resolves.toBeUndefined();
      expect(performance.now() - started).toBeLessThan(2000);
      // The export was sent (it may arrive after the 50 ms: the first export loads its encoder).
      await vi.waitFor(() => expect(hanging.requests).toHaveLength(1));
      expect(target.seen).toHaveLength(1);
    } finally {
      await hanging.close();
    }
  });

  it('shrugs off a failing collector', async () => {
    const failing = await startOtlpReceiver('fail');
    try {
      process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${failing.url}/custom/traces`;
      const handler = await loadNotify();
      await expect(handler(snsEvent())).resolves.toBeUndefined();
      expect(failing.requests.map((r) => r.path)).toEqual(['/custom/traces']);
    } finally {
      await failing.close();
    }
  });
});

describe('the tracer', () => {
  it('marks thrown and rejected work as errors, and bounds the queue', async () => {
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
    expect(() =>
      withSpan('sync', () => {
        throw new TypeError('bad input');
      }),
    ).toThrow('bad input');
    await expect(
      withSpan('async', async () => {
        throw 'plain';
      }),
    ).rejects.toBe('plain');
    const one = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      name: 'bulk',
      kind: 1 as const,
      startMs: 1,
      endMs: 2,
      attributes: {},
    };
    recordSpans(Array.from({ length: MAX_QUEUED_SPANS + 5 }, () => one));
    await flushSpans(10_000);
    // Sent as JSON all the same; the overflow was dropped, not sent.
    expect(receiver.spans.find((s) => s.name === 'sync')).toMatchObject({
      status: { code: 2, message: 'bad input' },
      attributes: { 'exception.type': 'TypeError' },
    });
    expect(receiver.spans.find((s) => s.name === 'async')?.status).toEqual({
      code: 2,
      message: 'plain',
    });
    expect(receiver.spans.filter((s) => s.name === 'bulk').length).toBeLessThanOrEqual(
      MAX_QUEUED_SPANS,
    );
  });
});
