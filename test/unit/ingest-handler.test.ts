import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import type { TestRunDetail } from '../../functions/core/events';
import { createIngestHandler, type IngestHandlerDeps } from '../../functions/ingest/handler';
import { logger } from '../../functions/shared/powertools';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
} from '../helpers/fakes';

const GRADLE = readFileSync('test/fixtures/corpus/junit/datadog-java-gradle.xml');
const TOKEN = 'secret-token-1';
const auth = { authorization: `Bearer ${TOKEN}` };

const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'vigil-ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:vigil-ingest',
  memoryLimitInMB: '512',
  awsRequestId: 'req-123',
  logGroupName: '/aws/lambda/vigil-ingest',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 29_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

let deps: IngestHandlerDeps;
let publisher: MemoryPublisher;

beforeEach(() => {
  publisher = new MemoryPublisher();
  deps = {
    config: parseConfig({ ingest: { maxBodyBytes: 2 * 1024 * 1024 } }),
    stage: 'dev',
    publisher,
    archive: new MemoryArchive(),
    ledger: new MemoryLedger(),
    clock: fixedClock(),
    tokens: { tokens: async () => ['other-token', TOKEN] },
    version: '1.2.3',
  };
});

const body = (res: { body?: string }) => JSON.parse(res.body ?? '{}');

describe('ingest handler (API Gateway v2)', () => {
  it('answers the health check without a token', async () => {
    const res = await createIngestHandler(deps)(
      apiEvent({ method: 'GET', path: '/v1/health' }),
      context,
    );
    expect(res.statusCode).toBe(200);
    expect(body(res)).toEqual({ status: 'ok', version: '1.2.3', stage: 'dev', checks: {} });
  });

  it('accepts a gzipped, base64-encoded report and returns the verdict with the correlation id', async () => {
    // Act
    const res = await createIngestHandler(deps)(
      apiEvent({
        query: { project: 'shop', branch: 'main' },
        headers: { ...auth, 'content-encoding': 'gzip', 'x-correlation-id': 'ci-run-000042' },
        body: gzipSync(GRADLE),
      }),
      context,
    );
    // Assess
    expect(res.statusCode).toBe(202);
    expect(res.headers['x-correlation-id']).toBe('ci-run-000042');
    expect(body(res)).toMatchObject({
      project: 'shop',
      kind: 'tests',
      format: 'junit',
      gate: { status: 'fail' },
      duplicate: false,
    });
    const detail = publisher.events[0]?.detail as TestRunDetail | undefined;
    expect(detail?.metadata.correlationId).toBe('ci-run-000042');
  });

  it('generates a correlation id when the caller sends none or a malformed one', async () => {
    const handler = createIngestHandler(deps);
    const none = await handler(apiEvent({ method: 'GET', path: '/v1/health' }));
    const bad = await handler(
      apiEvent({
        method: 'GET',
        path: '/v1/health',
        headers: { 'x-correlation-id': 'bad id\n<script>' },
      }),
    );
    for (const res of [none, bad])
      expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['no header', {}],
    ['wrong token', { authorization: 'Bearer nope' }],
    ['wrong scheme', { authorization: `Basic ${TOKEN}` }],
    ['empty bearer', { authorization: 'Bearer ' }],
  ])(
    'rejects %s with 401 before reading the body, and logs who sent it',
    async (_name, headers) => {
      const logged = vi.spyOn(logger, 'info');
      const res = await createIngestHandler(deps)(
        apiEvent({ query: { project: 'shop' }, headers, body: '<not xml' }),
      );
      expect(res.statusCode).toBe(401);
      expect(logged).toHaveBeenCalledWith('ingest rejected', {
        route: 'POST /v1/results',
        status: 401,
        error: expect.stringContaining('Bearer'),
        sourceIp: '10.0.0.1',
      });
      logged.mockRestore();
      expect(body(res)).toEqual({
        error: {
          code: 'unauthorized',
          message: expect.stringContaining('Bearer'),
          correlationId: res.headers['x-correlation-id'],
        },
      });
      expect(publisher.events).toHaveLength(0);
    },
  );

  it('maps input errors to 4xx JSON errors with the location', async () => {
    const handler = createIngestHandler(deps);
    const malformed = await handler(
      apiEvent({
        query: { project: 'shop' },
        headers: auth,
        body: '<testsuite><testcase></testsuite>',
      }),
    );
    expect(malformed.statusCode).toBe(400);
    expect(body(malformed).error).toMatchObject({ code: 'invalid_report', location: { line: 1 } });
    const tooBig = await handler(
      apiEvent({
        query: { project: 'shop' },
        headers: auth,
        body: Buffer.alloc(3 * 1024 * 1024, 32),
      }),
    );
    expect(tooBig.statusCode).toBe(413);
    const unknown = await handler(
      apiEvent({ query: { project: 'shop' }, headers: auth, body: 'hello world' }),
    );
    expect(unknown.statusCode).toBe(415);
    const html = await handler(
      apiEvent({
        query: { project: 'shop' },
        headers: auth,
        body: '<!DOCTYPE html><html><body>502 Bad Gateway</body></html>',
      }),
    );
    expect(html.statusCode).toBe(415);
    expect(body(html).error.message).toContain('HTML page');
    const empty = await handler(apiEvent({ query: { project: 'shop' }, headers: auth }));
    expect(empty.statusCode).toBe(400);
    expect(body(empty).error.message).toContain('empty');
    expect(publisher.events).toHaveLength(0);
  });

  it('answers 404 for unknown routes', async () => {
    const res = await createIngestHandler(deps)(
      apiEvent({ method: 'DELETE', path: '/v1/results' }),
    );
    expect(res.statusCode).toBe(404);
  });

  it('hides internal errors behind a 500 that points at the correlation id', async () => {
    deps.tokens = {
      tokens: vi.fn().mockRejectedValue(new Error('secret store exploded: arn:aws:secret')),
    };
    const res = await createIngestHandler(deps)(
      apiEvent({ query: { project: 'shop' }, headers: auth, body: GRADLE }),
    );
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('exploded');
    expect(body(res).error).toEqual({
      code: 'internal',
      message: expect.stringContaining('correlationId'),
      correlationId: res.headers['x-correlation-id'],
    });
  });

  it('answers 503 for throttling or a fault of an AWS service', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $fault: 'client',
      $retryable: { throttling: true },
      $metadata: { httpStatusCode: 400 },
    });
    deps.tokens = { tokens: vi.fn().mockRejectedValue(throttled) };
    const res = await createIngestHandler(deps)(
      apiEvent({ query: { project: 'shop' }, headers: auth, body: GRADLE }),
    );
    expect(res.statusCode).toBe(503);
    expect(body(res).error.code).toBe('unavailable');
  });

  it('answers 503 when the bus rejects the events, so the client retries', async () => {
    const { VigilError } = await import('../../functions/core/errors');
    publisher.failWith = new VigilError('publish_failed', '1 of 1 events could not be published');
    const res = await createIngestHandler(deps)(
      apiEvent({ query: { project: 'shop' }, headers: auth, body: GRADLE }),
    );
    expect(res.statusCode).toBe(503);
    expect(body(res).error).toMatchObject({
      code: 'publish_failed',
      correlationId: res.headers['x-correlation-id'],
    });
  });
});

describe('ingest handler on a deployment without optional parts', () => {
  it('reports the stage as local when none is configured', async () => {
    const { stage: _stage, ...local } = deps;
    const res = await createIngestHandler(local)(apiEvent({ method: 'GET', path: '/v1/health' }));
    expect(body(res)).toMatchObject({ status: 'ok', stage: 'local' });
  });

  it('answers 503 to a staged upload when uploads are not configured', async () => {
    const res = await createIngestHandler(deps)(
      apiEvent({
        path: '/v1/uploads',
        headers: auth,
        body: JSON.stringify({ bytes: 10, contentType: 'application/gzip' }),
      }),
    );
    expect(res.statusCode).toBe(503);
    expect(body(res).error).toMatchObject({
      code: 'unavailable',
      message: 'Staged uploads are not configured on this deployment.',
    });
  });

  it('answers 503 to a heartbeat ping when heartbeats are not configured', async () => {
    const res = await createIngestHandler(deps)(
      apiEvent({ method: 'POST', path: '/v1/heartbeats/shop/nightly-backup' }),
    );
    expect(res.statusCode).toBe(503);
    expect(body(res).error).toMatchObject({
      code: 'unavailable',
      message: 'Heartbeats are not configured on this deployment.',
    });
    expect(publisher.events).toHaveLength(0);
  });
});
