import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import type { TokenSource } from '../../functions/core/ports';
import { createIngestHandler } from '../../functions/ingest/handler';
import { startLocal } from '../../functions/runtime/local/runtime';
import { sentryClientFor, withSentry } from '../../functions/shared/sentry';
import { saveEnv } from '../helpers/env';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
} from '../helpers/fakes';
import { listen, type SentryReceiver, startSentryReceiver } from '../helpers/sentry-receiver';

/**
 * withSentry against a local HTTP server standing in for Sentry's ingest endpoint
 * (DSN `http://publickey@127.0.0.1:<port>/1`): the raw envelope bytes are inspected.
 */

const TOKEN = 'sentry-test-secret-token-4242';
const BODY_MARKER = 'BODY-MARKER-7f3a9c';
const CORRELATION_ID = 'corr-sentry-0001';

/** A loopback port with nothing listening (Sentry down). */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

const config = parseConfig({});

const tokens = (failWith?: Error): TokenSource => ({
  tokens: async () => {
    if (failWith) throw failWith;
    return [TOKEN];
  },
});

const dsnReader = (
  dsn: string | undefined | (() => Promise<string | undefined>),
): (() => string | undefined | Promise<string | undefined>) =>
  typeof dsn === 'function' ? dsn : () => dsn;

const ingestHandler = (opts: {
  dsn: string | undefined | (() => Promise<string | undefined>);
  tokenFailure?: Error;
}) =>
  withSentry(
    'ingest',
    createIngestHandler({
      config,
      stage: 'dev',
      publisher: new MemoryPublisher(),
      archive: new MemoryArchive(),
      ledger: new MemoryLedger(),
      tokens: tokens(opts.tokenFailure),
      clock: fixedClock(),
      version: 'test',
    }),
    { dsn: dsnReader(opts.dsn) },
  );

/** A DSN reader (as functions/adapters/aws/sentry-dsn.ts builds) that counts its calls. */
const countingReader = (read: () => Promise<string | undefined>) => {
  const reader = Object.assign(
    async (): Promise<string | undefined> => {
      reader.calls += 1;
      return read();
    },
    { calls: 0 },
  );
  return reader;
};

const resultsEvent = (authorization = `Bearer ${TOKEN}`) =>
  apiEvent({
    query: { project: 'shop' },
    headers: {
      authorization,
      'x-correlation-id': CORRELATION_ID,
      'content-type': 'application/xml',
      cookie: 'session=cookie-secret',
    },
    body: `<testsuite name="${BODY_MARKER}" tests="1"><testcase name="a"/></testsuite>`,
  });

const lambdaContext = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'vigil-dev-ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:vigil-dev-ingest',
  memoryLimitInMB: '512',
  awsRequestId: 'aws-req-1',
  logGroupName: '/aws/lambda/vigil-dev-ingest',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

/** The JSON items of an envelope (header line, item header, payload, ...). */
const envelopeItems = (envelope: Buffer): unknown[] =>
  envelope
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);

const eventOf = (envelope: Buffer): { tags?: Record<string, string>; level?: string } => {
  const items = envelopeItems(envelope);
  const payload = items[2];
  return (payload ?? {}) as { tags?: Record<string, string>; level?: string };
};

let receiver: SentryReceiver;

/** The one envelope the receiver got (fails when it got none or more). */
const onlyEnvelope = (): Buffer => {
  expect(receiver.envelopes).toHaveLength(1);
  return receiver.envelopes[0] as Buffer;
};
let restoreEnv: () => void;

beforeEach(async () => {
  restoreEnv = saveEnv();
  delete process.env.SENTRY_DSN;
  process.env.VIGIL_STAGE = 'dev';
  receiver = await startSentryReceiver();
});

afterEach(async () => {
  await receiver.close();
  restoreEnv();
});

describe('withSentry', () => {
  it('sends a 500 of the ingest handler with its tags, and no body, token or cookie', async () => {
    // Prepare
    const handler = ingestHandler({ dsn: receiver.dsn, tokenFailure: new Error('boom inside') });

    // Act
    const response = await handler(resultsEvent(), lambdaContext);

    // Assess
    expect(response.statusCode).toBe(500);
    const envelope = onlyEnvelope();
    expect(eventOf(envelope).tags).toMatchObject({
      correlation_id: CORRELATION_ID,
      stage: 'dev',
      function: 'ingest',
      project: 'shop',
    });
    const raw = envelope.toString('utf8');
    expect(raw).not.toContain(TOKEN);
    expect(raw).not.toContain(BODY_MARKER);
    expect(raw).not.toContain('cookie-secret');
    expect(raw.toLowerCase()).not.toContain('authorization');
  });

  it.each([
    ['400 (invalid report)', `Bearer ${TOKEN}`, 'not xml', 400],
    ['401 (wrong token)', 'Bearer wrong-token', undefined, 401],
  ])('sends nothing for a %s', async (_label, authorization, body, status) => {
    // Prepare
    const handler = ingestHandler({ dsn: receiver.dsn });
    const event =
      body === undefined
        ? resultsEvent(authorization)
        : apiEvent({
            query: { project: 'shop', format: 'junit' },
            headers: { authorization },
            body,
          });

    // Act
    const response = await handler(event, lambdaContext);

    // Assess
    expect(response.statusCode).toBe(status);
    expect(receiver.envelopes).toHaveLength(0);
  });

  it("sends local mode's 5xx answers too (a store that fails), not its 2xx", async () => {
    // Prepare: local mode with SENTRY_DSN set, as on a team's VM (no VIGIL_STAGE there).
    process.env.SENTRY_DSN = receiver.dsn;
    delete process.env.VIGIL_STAGE;
    const dir = await mkdtemp(join(tmpdir(), 'vigil-sentry-local-'));
    const pipeline = await startLocal({
      config: parseConfig({}),
      dataDir: dir,
      port: 0,
      tokens: [TOKEN],
      probes: false,
    });
    const post = (runId: string) =>
      fetch(`${pipeline.url}/v1/results?project=shop&runId=${runId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/xml' },
        body: `<testsuite name="${BODY_MARKER}" tests="1"><testcase name="a"/></testsuite>`,
      });
    try {
      // Act
      const ok = await post('fine');
      pipeline.store.db.close(); // every read and write now fails
      const failed = await post('lost');
      // Assess
      expect(ok.status).toBe(202);
      expect(failed.status).toBeGreaterThanOrEqual(500);
      const envelope = onlyEnvelope();
      expect(eventOf(envelope).tags).toMatchObject({
        stage: 'local',
        function: 'ingest',
        project: 'shop',
        'http.status_code': String(failed.status),
      });
      expect(envelope.toString('utf8')).not.toContain(TOKEN);
    } finally {
      await pipeline.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('captures and rethrows an unhandled error of a bus handler', async () => {
    // Prepare
    const failure = new Error('alert store exploded');
    const handler = withSentry(
      'alert',
      async (_event: { detail: unknown }): Promise<void> => {
        throw failure;
      },
      { dsn: () => receiver.dsn },
    );
    const event = {
      detail: { metadata: { project: 'shop', correlationId: 'corr-bus-0002' } },
    };

    // Act
    const outcome = handler(event);

    // Assess
    await expect(outcome).rejects.toBe(failure);
    const envelope = onlyEnvelope();
    expect(eventOf(envelope).tags).toMatchObject({
      correlation_id: 'corr-bus-0002',
      stage: 'dev',
      function: 'alert',
      project: 'shop',
    });
    expect(envelope.toString('utf8')).toContain('alert store exploded');
  });

  it('reads SENTRY_DSN by default, and with no DSN sends nothing and creates no client', async () => {
    // Prepare
    const failing = withSentry('probe', async (): Promise<void> => {
      throw new Error('no dsn');
    });

    // Act
    const outcome = failing({});

    // Assess
    await expect(outcome).rejects.toThrow('no dsn');
    expect(receiver.envelopes).toHaveLength(0);
    expect(sentryClientFor(receiver.dsn)).toBeUndefined();

    // Act (now with SENTRY_DSN)
    process.env.SENTRY_DSN = receiver.dsn;
    await expect(failing({})).rejects.toThrow('no dsn');

    // Assess
    expect(receiver.envelopes).toHaveLength(1);
    expect(sentryClientFor(receiver.dsn)).toBeDefined();
  });

  it('answers correctly and quickly when Sentry is down', async () => {
    // Prepare
    const port = await closedPort();
    const handler = ingestHandler({
      dsn: `http://publickey@127.0.0.1:${port}/1`,
      tokenFailure: new Error('boom'),
    });

    // Act
    const started = performance.now();
    const response = await handler(resultsEvent(), lambdaContext);
    const elapsed = performance.now() - started;

    // Assess
    expect(response.statusCode).toBe(500);
    expect(response.headers['x-correlation-id']).toBe(CORRELATION_ID);
    expect(elapsed).toBeLessThan(1000);
  });

  it('answers within ~2.5 s when Sentry accepts the connection and never answers', async () => {
    // Prepare
    const hanging = await startSentryReceiver('hang');
    const handler = ingestHandler({ dsn: hanging.dsn, tokenFailure: new Error('boom') });

    // Act
    const started = performance.now();
    const response = await handler(resultsEvent(), lambdaContext);
    const elapsed = performance.now() - started;
    await hanging.close();

    // Assess
    expect(response.statusCode).toBe(500);
    expect(elapsed).toBeLessThan(2500);
  });

  describe('with the DSN from a reader (the Secrets Manager secret in Lambda)', () => {
    it('sends an envelope with the DSN the reader returns (no SENTRY_DSN)', async () => {
      // Prepare
      const reader = countingReader(async () => receiver.dsn);
      const handler = ingestHandler({ dsn: reader, tokenFailure: new Error('boom via secret') });

      // Act
      const response = await handler(resultsEvent(), lambdaContext);

      // Assess
      expect(response.statusCode).toBe(500);
      expect(reader.calls).toBe(1);
      const envelope = onlyEnvelope();
      expect(eventOf(envelope).tags).toMatchObject({ function: 'ingest', stage: 'dev' });
    });

    it('does not call the reader when no event needs sending', async () => {
      // Prepare
      const reader = countingReader(async () => receiver.dsn);
      const ok = withSentry('alert', async (_event: unknown) => ({ statusCode: 200 }), {
        dsn: reader,
      });
      const badRequest = ingestHandler({ dsn: reader });

      // Act
      const okResult = await ok({});
      const badResult = await badRequest(resultsEvent('Bearer wrong-token'), lambdaContext);

      // Assess
      expect(okResult.statusCode).toBe(200);
      expect(badResult.statusCode).toBe(401);
      expect(reader.calls).toBe(0);
      expect(receiver.envelopes).toHaveLength(0);
    });

    it('answers normally and sends nothing when the reader fails', async () => {
      // Prepare
      const rejecting = countingReader(async () => {
        throw new Error('AccessDeniedException');
      });
      const empty = countingReader(async () => undefined);
      const failure = new Error('handler failure');
      const throwing = withSentry(
        'probe',
        async (): Promise<void> => {
          throw failure;
        },
        { dsn: rejecting },
      );

      // Act
      const response = await ingestHandler({
        dsn: rejecting,
        tokenFailure: new Error('boom'),
      })(resultsEvent(), lambdaContext);
      const emptyResponse = await ingestHandler({
        dsn: empty,
        tokenFailure: new Error('boom'),
      })(resultsEvent(), lambdaContext);
      const outcome = throwing({});

      // Assess
      await expect(outcome).rejects.toBe(failure);
      expect(response.statusCode).toBe(500);
      expect(response.headers['x-correlation-id']).toBe(CORRELATION_ID);
      expect(emptyResponse.statusCode).toBe(500);
      expect(rejecting.calls).toBe(2);
      expect(empty.calls).toBe(1);
      expect(receiver.envelopes).toHaveLength(0);
    });

    it('prefers SENTRY_DSN over the reader', async () => {
      // Prepare
      const other = await startSentryReceiver();
      process.env.SENTRY_DSN = receiver.dsn;
      const reader = countingReader(async () => other.dsn);
      const handler = ingestHandler({ dsn: reader, tokenFailure: new Error('boom env wins') });

      // Act
      const response = await handler(resultsEvent(), lambdaContext);
      await other.close();

      // Assess
      expect(response.statusCode).toBe(500);
      expect(reader.calls).toBe(0);
      expect(receiver.envelopes).toHaveLength(1);
      expect(other.envelopes).toHaveLength(0);
    });
  });
});
