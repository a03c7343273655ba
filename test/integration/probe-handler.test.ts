import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { parseConfig, type VigilConfigInput } from '../../functions/core/config';
import { VigilError } from '../../functions/core/errors';
import {
  type ProbeCompletedDetail,
  probeCompletedDetailSchema,
  type VigilEvent,
} from '../../functions/core/events';
import type { EventPublisher } from '../../functions/core/ports';
import {
  createProbeHandler,
  type ProbeHandlerDeps,
  parsePayload,
  planSamples,
  selectProbes,
} from '../../functions/probe/handler';
import type { probeHttp } from '../../functions/shared/http-probe';
import { logger } from '../../functions/shared/powertools';

const START = Date.parse('2026-11-25T10:00:00.000Z');
const SECRET = 'sk_live_0123456789abcdef';

/** Remaining Lambda time follows the fake clock: `budgetMs` at the start of the invocation. */
const lambdaContext = (budgetMs: number, now: () => number) =>
  ({
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'vigil-probe',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:vigil-probe',
    memoryLimitInMB: '256',
    awsRequestId: 'req-probe-1',
    logGroupName: '/aws/lambda/vigil-probe',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => budgetMs - (now() - START),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) satisfies Context;

/** What a Vigil schedule sends: its target Input, with Scheduler's context attributes filled in. */
const schedulerEvent = (group = 'all') => ({
  group,
  scheduledTime: '2026-11-25T10:00:00Z',
  executionId: 'd32c5kddcf5bb8c3',
});

let t: number;
let timeline: string[];
let published: VigilEvent[][];
let logged: unknown[];

const clock = { now: () => new Date(t) };
const sleep = async (ms: number) => {
  timeline.push(`sleep ${ms}`);
  t += ms;
};

class RecordingPublisher implements EventPublisher {
  failOnCall: number | undefined;
  async publish(events: VigilEvent[]): Promise<void> {
    published.push(events);
    const attempts = events.map((e) => (e.detail as ProbeCompletedDetail).attempt);
    if (this.failOnCall === published.length) {
      timeline.push(`publish failed ${attempts.join(',')}`);
      throw new VigilError('publish_failed', 'bus unavailable');
    }
    timeline.push(`publish ${attempts.join(',')} at ${t - START}`);
  }
}

/** An HTTP probe stand-in: answers at once, 200 unless the URL says /down. */
const fakeHttp: typeof probeHttp = async (p, headers) => {
  timeline.push(`probe ${p.name}`);
  if (headers.authorization !== undefined && headers.authorization !== `Bearer ${SECRET}`)
    throw new Error('secret not resolved');
  return p.url.endsWith('/down')
    ? {
        statusCode: 503,
        headers: {},
        body: `down; you sent ${headers.authorization}`,
        latencyMs: 3,
      }
    : { statusCode: 200, headers: {}, body: 'ok', latencyMs: 3 };
};

const deps = (config: VigilConfigInput, over: Partial<ProbeHandlerDeps> = {}) => {
  const publisher = new RecordingPublisher();
  return {
    publisher,
    deps: {
      config: parseConfig(config),
      publisher,
      secrets: new EnvSecretResolver({ VIGIL_SECRET_API_KEY: SECRET }),
      clock,
      sleep,
      location: 'eu-west-1',
      probeHttp: fakeHttp,
      newId: () => 'corr-42',
      ...over,
    } satisfies ProbeHandlerDeps,
  };
};

const details = (): ProbeCompletedDetail[] =>
  published.flat().map((e) => probeCompletedDetailSchema.parse(e.detail));

beforeEach(() => {
  t = START;
  timeline = [];
  published = [];
  logged = [];
  vi.restoreAllMocks();
  for (const level of ['debug', 'info', 'warn', 'error'] as const)
    vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
      logged.push([level, ...args]);
    });
});

describe('probe handler: sub-minute sampling', () => {
  it('takes samplesPerMinute samples 20 s apart and publishes each one as soon as it completes', async () => {
    // Prepare
    const { deps: d } = deps({
      project: 'shop',
      probes: [{ name: 'api', url: 'https://api.example.com/health', samplesPerMinute: 3 }],
    });
    const handler = createProbeHandler(d);
    // Act
    const summary = await handler(
      schedulerEvent(),
      lambdaContext(70_000, () => t),
    );
    // Assess
    expect(timeline).toEqual([
      'probe api',
      'publish 1 at 0',
      'sleep 20000',
      'probe api',
      'publish 2 at 20000',
      'sleep 20000',
      'probe api',
      'publish 3 at 40000',
    ]);
    expect(summary).toEqual({ runs: 3, up: 3, down: 0, samples: 3, skippedSamples: 0 });
    const results = details();
    expect(results.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(results.map((r) => r.metadata.checkedAt)).toEqual([
      '2026-11-25T10:00:00.000Z',
      '2026-11-25T10:00:20.000Z',
      '2026-11-25T10:00:40.000Z',
    ]);
    expect(results[0]?.metadata).toEqual({
      project: 'shop',
      probe: 'api',
      correlationId: 'corr-42',
      checkedAt: '2026-11-25T10:00:00.000Z',
      location: 'eu-west-1',
      // The trace context its request carried (test/integration/otel.test.ts checks the header).
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
    });
    expect(published.every((batch) => batch[0]?.source === 'vigil.probe')).toBe(true);
    expect(published[0]?.[0]?.detailType).toBe('Probe Completed');
  });

  it('interleaves probes with different rates on one timeline', async () => {
    // Prepare
    const { deps: d } = deps({
      probes: [
        { name: 'a', url: 'https://a.example.com/', samplesPerMinute: 2 },
        { name: 'b', url: 'https://b.example.com/', samplesPerMinute: 3 },
        { name: 'c', url: 'https://c.example.com/' },
      ],
    });
    // Act
    const summary = await createProbeHandler(d)({});
    // Assess
    expect(timeline.filter((l) => l.startsWith('sleep'))).toEqual([
      'sleep 20000',
      'sleep 10000',
      'sleep 10000',
    ]);
    expect(
      published.map((batch) => batch.map((e) => (e.detail as ProbeCompletedDetail).metadata.probe)),
    ).toEqual([['a', 'b', 'c'], ['b'], ['a'], ['b']]);
    expect(details().map((r) => `${r.metadata.probe}#${r.attempt}`)).toEqual([
      'a#1',
      'b#1',
      'c#1',
      'b#2',
      'a#2',
      'b#3',
    ]);
    expect(summary.runs).toBe(6);
  });

  it('stops sampling early when the next sample could not finish before the Lambda timeout', async () => {
    // Prepare: 6 samples 10 s apart; each needs 10 s wait + 20 s timeout + 1 s grace + 2 s publish.
    const { deps: d } = deps({
      probes: [
        { name: 'api', url: 'https://api.example.com/', samplesPerMinute: 6, timeoutMs: 20_000 },
      ],
    });
    // Act
    const summary = await createProbeHandler(d)(
      schedulerEvent(),
      lambdaContext(70_000, () => t),
    );
    // Assess
    expect(summary).toEqual({ runs: 5, up: 5, down: 0, samples: 5, skippedSamples: 1 });
    expect(details().map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(logged).toContainEqual([
      'warn',
      'stopping early: the next sample would not finish in time',
      { remainingMs: 30_000, neededMs: 33_000, skippedSamples: 1 },
    ]);
  });

  it('runs nothing when even the first sample would not fit', async () => {
    // Prepare
    const { deps: d } = deps({ probes: [{ name: 'api', url: 'https://api.example.com/' }] });
    // Act
    const summary = await createProbeHandler(d)(
      {},
      lambdaContext(4000, () => t),
    );
    // Assess
    expect(summary).toEqual({ runs: 0, up: 0, down: 0, samples: 0, skippedSamples: 1 });
    expect(published).toEqual([]);
  });
});

describe('probe handler: the Scheduler payload', () => {
  const config: VigilConfigInput = {
    probes: [
      { name: 'checkout', url: 'https://shop.example.com/checkout', tags: ['critical'] },
      { name: 'blog', url: 'https://blog.example.com/', tags: ['marketing'] },
    ],
  };

  it('runs the probes tagged with the group and logs the schedule attributes', async () => {
    // Prepare
    const { deps: d } = deps(config);
    // Act
    const summary = await createProbeHandler(d)(schedulerEvent('critical'));
    // Assess
    expect(summary.runs).toBe(1);
    expect(details().map((r) => r.metadata.probe)).toEqual(['checkout']);
    expect(logged).toContainEqual([
      'info',
      'probe run started',
      {
        group: 'critical',
        probes: 1,
        samples: 1,
        scheduledTime: '2026-11-25T10:00:00Z',
        schedulerExecutionId: 'd32c5kddcf5bb8c3',
      },
    ]);
  });

  it.each([
    ['an empty object', {}],
    ['null', null],
    ['a string', 'tick'],
    ['group all', { group: 'all' }],
    ['a non-string group', { group: 42 }],
    ['a blank group', { group: '  ' }],
  ])('runs every probe for %s', async (_label, event) => {
    // Prepare
    const { deps: d } = deps(config);
    // Act
    const summary = await createProbeHandler(d)(event);
    // Assess
    expect(summary.runs).toBe(2);
  });

  it('runs nothing, with a warning, for a group no probe carries', async () => {
    // Prepare
    const { deps: d } = deps(config);
    // Act
    const summary = await createProbeHandler(d)({ group: 'nope' });
    // Assess
    expect(summary).toEqual({ runs: 0, up: 0, down: 0, samples: 0, skippedSamples: 0 });
    expect(logged).toContainEqual(['warn', 'no probes to run', { group: 'nope', configured: 2 }]);
  });

  it('parses the payload and selects and plans probes', () => {
    // Prepare
    const probes = parseConfig(config).probes;
    // Act + Assess
    expect(parsePayload({ group: ' critical ', other: 1 })).toEqual({ group: 'critical' });
    expect(selectProbes(probes, 'marketing').map((p) => p.name)).toEqual(['blog']);
    expect(planSamples(probes).map((s) => s.offsetMs)).toEqual([0]);
  });
});

describe('probe handler: failures, secrets and logs', () => {
  it('publishes down results with the failure, and never logs or publishes the secret', async () => {
    // Prepare
    const { deps: d } = deps({
      probes: [
        {
          name: 'private',
          url: 'https://api.example.com/down',
          headers: { authorization: 'Bearer {{secret:api-key}}' },
          expect: { bodyContains: 'never there' },
        },
      ],
    });
    const appendKeys = vi.spyOn(logger, 'appendKeys');
    // Act
    const summary = await createProbeHandler(d)(schedulerEvent());
    // Assess
    expect(summary).toMatchObject({ runs: 1, up: 0, down: 1 });
    expect(details()[0]?.failure).toEqual({
      assertion: 'status',
      message: 'expected status 200, got 503',
    });
    expect(appendKeys).toHaveBeenCalledWith({ correlation_id: 'corr-42' });
    expect(logged).toContainEqual([
      'warn',
      'probe down',
      expect.objectContaining({ probe: 'private', assertion: 'status', statusCode: 503 }),
    ]);
    expect(JSON.stringify(published)).not.toContain(SECRET);
    expect(JSON.stringify(logged)).not.toContain(SECRET);
  });

  it('keeps sampling when one publish fails, then fails the invocation', async () => {
    // Prepare
    const { deps: d, publisher } = deps({
      probes: [{ name: 'api', url: 'https://api.example.com/', samplesPerMinute: 2 }],
    });
    publisher.failOnCall = 1;
    // Act
    const promise = createProbeHandler(d)({});
    // Assess
    await expect(promise).rejects.toThrow('1 of 2 probe samples could not be published');
    expect(timeline).toContain('publish 2 at 30000');
    expect(logged).toContainEqual([
      'error',
      'publishing probe results failed',
      expect.objectContaining({ sample: 1 }),
    ]);
  });
});

describe('probe handler with the real HTTP probe', () => {
  let server: Server;
  let url = '';

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('probes a local target and publishes the result', async () => {
    // Prepare
    const { deps: d } = deps(
      {
        probes: [{ name: 'local', url, expect: { json: [{ path: '$.status', equals: 'ok' }] } }],
      },
      // The defaults: real HTTP probe, real sleep, random correlation ids.
      { probeHttp: undefined, sleep: undefined, newId: undefined },
    );
    // Act
    const summary = await createProbeHandler(d)(schedulerEvent());
    // Assess
    expect(summary).toMatchObject({ runs: 1, up: 1 });
    expect(details()[0]).toMatchObject({ status: 'up', statusCode: 200, url });
    expect(details()[0]?.metadata.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('probe handler: multi-step probes', () => {
  it('runs the steps with the same code as local mode and publishes one result naming the failed step', async () => {
    // Prepare
    const { deps: d } = deps({
      project: 'shop',
      probes: [
        {
          name: 'flow',
          steps: [
            {
              name: 'auth',
              url: 'https://api.example.com/auth',
              headers: { authorization: 'Bearer {{secret:api-key}}' },
            },
            { name: 'use', url: 'https://api.example.com/down' },
          ],
        },
      ],
    });
    // Act
    await createProbeHandler(d)(
      schedulerEvent(),
      lambdaContext(70_000, () => t),
    );
    // Assess
    expect(timeline.filter((l) => l.startsWith('probe'))).toEqual([
      'probe flow/auth',
      'probe flow/use',
    ]);
    const [detail] = details();
    expect(detail).toMatchObject({
      status: 'down',
      url: 'https://api.example.com/auth',
      failure: { assertion: 'status', step: 'use' },
      steps: [
        { name: 'auth', status: 'up' },
        { name: 'use', status: 'down', statusCode: 503 },
      ],
    });
    expect(JSON.stringify(published)).not.toContain(SECRET);
  });
});
