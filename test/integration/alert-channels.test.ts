import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SNSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type DeadLetter,
  LocalAlertDispatcher,
} from '../../functions/adapters/local/alert-dispatcher';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { buildNotification, type SlackPayload } from '../../functions/core/alerts/messages';
import type { AlertState } from '../../functions/core/alerts/state';
import { type ChannelConfig, parseConfig } from '../../functions/core/config';
import type { AlertNotification } from '../../functions/core/events';
import { createNotifyHandler } from '../../functions/notify/handler';
import {
  DeliveryError,
  deliver,
  parseRetryAfter,
  urlSecrets,
} from '../../functions/shared/channels';
import { logger } from '../../functions/shared/powertools';
import { MemoryPublisher } from '../helpers/fakes';
import { storeOf } from '../helpers/local-store';

/** A real HTTP server on loopback that answers from a script and records what it got. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

let server: Server;
let base: string;
let received: Received[] = [];
let script: Answer[] = [];
let fallback: Answer = { status: 200, body: 'ok' };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const answer = script.shift() ?? fallback;
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
});

let dataDir: string;
let sleeps: number[];
const sleep = async (ms: number): Promise<void> => {
  sleeps.push(ms);
};
/** The secret part of the webhook URLs: it must never show up in logs or dead letters. */
const HOOK_SECRET = 'T000/B000/XXXXsecretXXXX';
const secretsResolved: string[] = [];
const resolveSecret = async (name: string): Promise<string> => {
  secretsResolved.push(name);
  if (name === 'SLACK_HOOK') return HOOK_SECRET;
  if (name === 'WEBHOOK_TOKEN') return 'Bearer s3cr3t';
  throw new Error(`unknown secret ${name}`);
};

beforeEach(async () => {
  received = [];
  script = [];
  fallback = { status: 200, body: 'ok' };
  sleeps = [];
  secretsResolved.length = 0;
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-alert-channels-'));
});

afterEach(() => {
  vi.restoreAllMocks();
});

const state: AlertState = {
  checkKey: 'probe:shop/checkout-api',
  status: 'FIRING',
  consecutiveFailures: 2,
  consecutiveSuccesses: 0,
  incidentId: 'inc-0001',
  since: '2026-11-25T10:00:00.000Z',
  lastError: 'status: expected 200, got 503',
  lastObservedAt: '2026-11-25T10:01:00.000Z',
  recentObservationIds: [],
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: 'Probe checkout-api',
  runbookUrl: 'https://runbooks.example.com/checkout',
  correlationId: 'corr-7',
  tags: [],
  outbox: [],
  version: 2,
  updatedAt: '2026-11-25T10:01:00.000Z',
};
const notification: AlertNotification = buildNotification('FIRING', state);

const slack = (): Extract<ChannelConfig, { type: 'slack' }> => ({
  type: 'slack',
  webhookUrl: `${base}/services/{{secret:SLACK_HOOK}}`,
});

/** Everything passed to a logger, as one string. */
const captureLogs = (): (() => string) => {
  const lines: unknown[] = [];
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
      lines.push(args);
    });
  }
  return () => JSON.stringify(lines, (_k, v) => (v instanceof Error ? v.message : v));
};

describe('deliver to Slack (real HTTP receiver)', () => {
  it('retries a 500 and delivers once on the following 200', async () => {
    // Prepare
    script = [
      { status: 500, body: 'internal_error' },
      { status: 200, body: 'ok' },
    ];

    // Act
    const result = await deliver(notification, slack(), { resolveSecret, sleep });

    // Assess
    expect(result).toEqual({ channel: 'slack', attempts: 2, status: 200 });
    expect(received).toHaveLength(2);
    expect(received[1]?.path).toBe(`/services/${HOOK_SECRET}`);
    expect(received[1]?.headers['content-type']).toBe('application/json');
    const payload = JSON.parse(received[1]?.body ?? '{}') as SlackPayload;
    expect(payload.text).toContain('FIRING [critical] Probe checkout-api');
    expect(payload.blocks[0]?.type).toBe('header');
    expect(sleeps).toEqual([500]);
    expect(secretsResolved).toEqual(['SLACK_HOOK']);
  });

  it('waits for Retry-After on a 429 (capped at 30 s), and backs off exponentially otherwise', async () => {
    // Prepare
    script = [
      { status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' },
      { status: 429, headers: { 'retry-after': '120' }, body: 'rate_limited' },
      { status: 503 },
      { status: 200, body: 'ok' },
    ];

    // Act
    const result = await deliver(notification, slack(), { resolveSecret, sleep });

    // Assess
    expect(result.attempts).toBe(4);
    expect(sleeps).toEqual([2000, 30_000, 2000]);
    expect(
      parseRetryAfter('Wed, 25 Nov 2026 10:00:05 GMT', Date.parse('2026-11-25T10:00:00Z')),
    ).toBe(5000);
  });

  it('fails at once on a non-retryable answer (e.g. Slack no_service)', async () => {
    // Prepare
    script = [{ status: 404, body: 'no_service' }];

    // Act
    const act = deliver(notification, slack(), { resolveSecret, sleep });

    // Assess
    await expect(act).rejects.toBeInstanceOf(DeliveryError);
    await act.catch((e: DeliveryError) => {
      expect(e.retryable).toBe(false);
      expect(e.attempts).toBe(1);
      expect(e.httpStatus).toBe(404);
      expect(e.message).toBe('delivery to slack failed: HTTP 404 no_service');
    });
    expect(received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('masks the secrets of the request when the receiver echoes them in its error', async () => {
    // Prepare
    script = [{ status: 400, body: `invalid_payload for /services/${HOOK_SECRET}` }];

    // Act
    const error = await deliver(notification, slack(), { resolveSecret, sleep }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect((error as Error).message).toBe(
      'delivery to slack failed: HTTP 400 invalid_payload for ***',
    );
  });

  it('masks a header secret the receiver echoes JSON-escaped in its error', async () => {
    // Prepare: PHP writes `/` as `\/`, so the secret is not in the answer as it was sent.
    const secret = 'hookKey/Secret+987654';
    script = [{ status: 400, body: JSON.stringify({ got: secret }).replaceAll('/', '\\/') }];
    const channel = {
      type: 'webhook' as const,
      url: `${base}/hook`,
      headers: { 'x-api-key': '{{secret:HOOK_KEY}}' },
    };

    // Act
    const error = await deliver(notification, channel, {
      resolveSecret: async () => secret,
      sleep,
    }).catch((e: unknown) => e);

    // Assess
    expect((error as Error).message).toBe('delivery to webhook failed: HTTP 400 {"got":"***"}');
  });

  it('masks a secret channel URL that the receiver echoes in part (its path, as Express does)', async () => {
    // Prepare: the whole URL is the secret; the receiver answers with its path only.
    const path = '/hooks/WHOLEURLSECRET_0123456789';
    script = [{ status: 404, body: `Cannot POST ${path}?k=QUERYSECRET_abcdefghij` }];
    const channel = { type: 'slack' as const, webhookUrl: '{{secret:WHOLE}}' };

    // Act
    const error = await deliver(notification, channel, {
      resolveSecret: async () => `${base}${path}?k=QUERYSECRET_abcdefghij`,
      sleep,
    }).catch((e: unknown) => e);

    // Assess
    expect((error as Error).message).toBe('delivery to slack failed: HTTP 404 Cannot POST ***');
  });

  it('masks the pieces of a channel URL as sent and decoded; an unparsable one whole', () => {
    expect(urlSecrets('http://h/a/%41SECRET_PIECE_0123%zz?q=1')).toEqual([
      'http://h/a/%41SECRET_PIECE_0123%zz?q=1',
      '/a/%41SECRET_PIECE_0123%zz?q=1',
      '/a/%41SECRET_PIECE_0123%zz',
      '%41SECRET_PIECE_0123%zz',
    ]);
    expect(urlSecrets('http://h/hooks/ABCDEFGHIJ%2F0123456')).toContain(
      '/hooks/ABCDEFGHIJ/0123456',
    );
    expect(urlSecrets('not a url')).toEqual(['not a url']);
  });

  it('retries network errors and reports them without the URL', async () => {
    // Prepare: a port nobody listens on
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', () => ok()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const channel: ChannelConfig = {
      type: 'slack',
      webhookUrl: `http://127.0.0.1:${port}/services/{{secret:SLACK_HOOK}}`,
    };

    // Act
    const error = await deliver(notification, channel, { resolveSecret, sleep }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).message).toBe(
      'delivery to slack failed: network error ECONNREFUSED (after 4 attempts)',
    );
    expect(sleeps).toEqual([500, 1000, 2000]);
  });
});

describe('deliver: configuration problems', () => {
  it('fails without a request when a secret cannot be resolved (retryable)', async () => {
    // Prepare
    const channel: ChannelConfig = { type: 'slack', webhookUrl: `${base}/{{secret:MISSING}}` };

    // Act
    const error = await deliver(notification, channel, { resolveSecret, sleep }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ attempts: 0, retryable: true });
    expect((error as Error).message).toBe(
      'delivery to slack failed: could not resolve a secret reference (unknown secret MISSING)',
    );
    expect(received).toHaveLength(0);
  });

  it('gives up at once on a local secret that is not set: the environment cannot change', async () => {
    const channel: ChannelConfig = { type: 'slack', webhookUrl: '{{secret:SLACK_HOOK}}' };
    const env = new EnvSecretResolver({});
    const error = await deliver(notification, channel, {
      resolveSecret: (name) => env.resolve(name),
      sleep,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ attempts: 0, retryable: false });
    expect((error as Error).message).toContain('VIGIL_SECRET_SLACK_HOOK');
    expect(received).toHaveLength(0);
  });

  it('fails without a request for a URL that is not http(s), without showing it', async () => {
    // Prepare
    const channel: ChannelConfig = {
      type: 'webhook',
      url: 'ftp://files.example.com/x',
      headers: {},
    };

    // Act
    const error = await deliver(notification, channel, { resolveSecret, sleep }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toMatchObject({ attempts: 0, retryable: false });
    expect((error as Error).message).toBe(
      'delivery to webhook failed: the configured URL is not a valid http(s) URL',
    );
  });

  it('fails without a request, and without retrying, for a URL with credentials in it', async () => {
    const channel: ChannelConfig = {
      type: 'webhook',
      url: 'https://user:pw@hooks.example.com/x',
      headers: {},
    };
    const error = await deliver(notification, channel, { resolveSecret, sleep }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ attempts: 0, retryable: false });
    expect((error as Error).message).toMatch(/user name or password in it/);
    expect((error as Error).message).not.toContain('pw');
  });

  it('times out a receiver that never answers, and retries', async () => {
    // Prepare
    const silent = createServer(() => undefined);
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', () => ok()));
    const port = (silent.address() as AddressInfo).port;
    const channel: ChannelConfig = {
      type: 'webhook',
      url: `http://127.0.0.1:${port}/x`,
      headers: {},
    };

    // Act
    const error = await deliver(notification, channel, {
      resolveSecret,
      sleep,
      timeoutMs: 100,
      maxAttempts: 2,
    }).catch((e: unknown) => e);
    silent.closeAllConnections();
    await new Promise<void>((ok) => silent.close(() => ok()));

    // Assess
    expect((error as Error).message).toBe('delivery to webhook failed: timeout (after 2 attempts)');
    expect(sleeps).toEqual([500]);
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores garbage', () => {
    // Prepare
    const now = Date.parse('2026-11-25T10:00:00Z');

    // Act
    const values = ['3', '0.5', 'Wed, 25 Nov 2026 09:00:00 GMT', 'soon', null].map((v) =>
      parseRetryAfter(v, now),
    );

    // Assess
    expect(values).toEqual([3000, 500, 0, undefined, undefined]);
  });
});

describe('LocalAlertDispatcher (real HTTP receiver)', () => {
  it('dead-letters what still fails after the last attempt, counts it, and never logs the URL', async () => {
    // Prepare
    fallback = { status: 500, body: 'internal_error' };
    const logs = captureLogs();
    const publisher = new MemoryPublisher();
    const dispatcher = new LocalAlertDispatcher({
      channels: [slack(), { type: 'email', address: 'team@example.com' }],
      dataDir,
      resolveSecret,
      publisher,
      store: storeOf(dataDir).alerts,
      policy: { baseDelayMs: 0, maxAttempts: 4 },
    });

    // Act
    await dispatcher.dispatch(notification);
    await dispatcher.dispatch({
      ...notification,
      kind: 'REMINDER',
      at: '2026-11-25T11:01:00.000Z',
    });
    await dispatcher.idle();

    // Assess
    expect(received).toHaveLength(8);
    expect(dispatcher.stats).toEqual({ delivered: 0, deadLetters: 2 });
    const deadText = await readFile(join(dataDir, 'notify-dead-letter.ndjson'), 'utf8');
    const dead = deadText
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DeadLetter);
    expect(dead).toHaveLength(2);
    expect(dead[0]).toMatchObject({
      channel: 'slack[0]',
      attempts: 4,
      error: 'delivery to slack[0] failed: HTTP 500 internal_error',
      notification,
    });
    expect(publisher.events.map((e) => e.detailType)).toEqual([
      'Alert State Changed',
      'Alert State Changed',
    ]);
    const logged = logs();
    expect(logged).toContain('alert delivery failed; dead-lettered');
    expect(logged).toContain('email alert channels need AWS');
    expect(logged.match(/email alert channels need AWS/g)).toHaveLength(1);
    for (const text of [logged, deadText]) {
      expect(text).not.toContain(HOOK_SECRET);
      expect(text).not.toContain(base);
    }
  });

  it('posts the AlertNotification JSON to a webhook, with its headers and secrets resolved', async () => {
    // Prepare
    const publisher = new MemoryPublisher();
    const dispatcher = new LocalAlertDispatcher({
      channels: [
        {
          type: 'webhook',
          url: `${base}/hooks/{{secret:SLACK_HOOK}}`,
          headers: { Authorization: '{{secret:WEBHOOK_TOKEN}}', 'X-Team': 'shop' },
        },
      ],
      dataDir,
      resolveSecret,
      publisher,
      store: storeOf(dataDir).alerts,
    });

    // Act
    await dispatcher.dispatch(notification);
    await dispatcher.idle();

    // Assess
    expect(dispatcher.stats).toEqual({ delivered: 1, deadLetters: 0 });
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]?.body ?? '')).toEqual(notification);
    expect(received[0]?.headers.authorization).toBe('Bearer s3cr3t');
    expect(received[0]?.headers['x-team']).toBe('shop');
    expect(received[0]?.headers['user-agent']).toMatch(/^Vigil\//);
  });
});

describe('notify handler (SNS → channels)', () => {
  const snsEvent = (message: string): SNSEvent => ({
    Records: [
      {
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:vigil-critical:21be56ed',
        EventSource: 'aws:sns',
        Sns: {
          SignatureVersion: '1',
          Timestamp: '2026-11-25T10:01:00.000Z',
          Signature: 'EXAMPLE',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/cert.pem',
          MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
          Message: message,
          MessageAttributes: { severity: { Type: 'String', Value: 'critical' } },
          Type: 'Notification',
          UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
          TopicArn: 'arn:aws:sns:us-east-1:123456789012:vigil-critical',
          Subject: '[Vigil] FIRING critical: Probe checkout-api (shop)',
        },
      },
    ],
  });

  const config = () =>
    parseConfig({
      alerts: {
        channels: [
          { type: 'slack', webhookUrl: `${base}/services/{{secret:SLACK_HOOK}}` },
          { type: 'webhook', url: `${base}/generic` },
          { type: 'email', address: 'team@example.com' },
        ],
      },
    });

  it('delivers the SNS message to every Slack and webhook channel', async () => {
    // Prepare
    const handler = createNotifyHandler({ config: config(), resolveSecret, sleep });

    // Act
    await handler(snsEvent(JSON.stringify(notification)));

    // Assess
    expect(received.map((r) => r.path).sort()).toEqual(['/generic', `/services/${HOOK_SECRET}`]);
    const generic = received.find((r) => r.path === '/generic');
    expect(JSON.parse(generic?.body ?? '')).toEqual(notification);
  });

  it('throws after the last attempt so that Lambda retries and the DLQ apply', async () => {
    // Prepare
    fallback = { status: 502 };
    const logs = captureLogs();
    const handler = createNotifyHandler({ config: config(), resolveSecret, sleep });

    // Act
    const act = handler(snsEvent(JSON.stringify(notification)));

    // Assess
    await expect(act).rejects.toThrow(
      '2 alert deliveries failed: delivery to slack[0] failed: HTTP 502 (after 4 attempts); delivery to webhook[1] failed: HTTP 502 (after 4 attempts)',
    );
    expect(received).toHaveLength(8);
    expect(logs()).not.toContain(HOOK_SECRET);
  });

  it('delivers to the healthy webhook while Slack fails, then throws for the retry', async () => {
    // Prepare: Slack cannot be reached (port 1 refuses), the webhook takes the message.
    const handler = createNotifyHandler({
      config: parseConfig({
        alerts: {
          channels: [
            { type: 'slack', webhookUrl: 'http://127.0.0.1:1/slack' },
            { type: 'webhook', url: `${base}/generic` },
          ],
        },
      }),
      resolveSecret,
      sleep,
    });

    // Act
    const act = handler(snsEvent(JSON.stringify(notification)));

    // Assess
    await expect(act).rejects.toThrow('1 alert deliveries failed: delivery to slack[0] failed');
    expect(received.filter((r) => r.path === '/generic')).toHaveLength(1);
  });

  it('a retry posts only to the channel that failed, even when a mark cannot be written', async () => {
    // Prepare: Slack takes every message; the webhook is down (port 1 refuses), then back.
    const marked = new Set<string>();
    let markFails = false;
    const marks = {
      delivered: async (key: string) => marked.has(key),
      mark: async (key: string) => {
        if (markFails) throw new Error('table unavailable');
        marked.add(key);
      },
    };
    const channels = (webhook: string) =>
      parseConfig({
        alerts: {
          channels: [
            { type: 'slack', webhookUrl: `${base}/slack` },
            { type: 'webhook', url: webhook },
          ],
        },
      });
    const down = createNotifyHandler({
      config: channels('http://127.0.0.1:1/generic'),
      resolveSecret,
      sleep,
      marks,
    });
    const up = createNotifyHandler({
      config: channels(`${base}/generic`),
      resolveSecret,
      sleep,
      marks,
    });
    const event = snsEvent(JSON.stringify(notification));

    // Act: the first invocation fails on the webhook; Lambda retries the same event.
    await expect(down(event)).rejects.toThrow('delivery to webhook[1] failed');
    await up(event);
    await up(event); // both channels marked: nothing is posted again
    // A mark that cannot be written does not fail a delivery that went out.
    markFails = true;
    await up(snsEvent(JSON.stringify({ ...notification, at: '2026-12-03T12:00:00.000Z' })));

    // Assess
    expect(received.map((r) => r.path)).toEqual(['/slack', '/generic', '/slack', '/generic']);
    expect([...marked].map((k) => k.split('#').at(-1))).toEqual(['slack[0]', 'webhook[1]']);
  });

  it('rejects a message that is not an AlertNotification', async () => {
    // Prepare
    const handler = createNotifyHandler({ config: config(), resolveSecret, sleep });

    // Act
    const act = handler(snsEvent('Hello from SNS!'));

    // Assess
    await expect(act).rejects.toThrow(
      'SNS message 95df01b4-ee98-5cb9-9903-4c221d41eb5e is not JSON',
    );
    expect(received).toHaveLength(0);
  });

  it('names the first bad field of JSON that is not an AlertNotification', async () => {
    // Prepare
    const handler = createNotifyHandler({ config: config(), resolveSecret, sleep });
    const { title: _t, ...untitled } = notification;

    // Act
    const act = handler(snsEvent(JSON.stringify(untitled)));

    // Assess
    await expect(act).rejects.toThrow(
      /^SNS message 95df01b4-ee98-5cb9-9903-4c221d41eb5e is not an alert notification: title: /,
    );
    expect(received).toHaveLength(0);
  });
});
