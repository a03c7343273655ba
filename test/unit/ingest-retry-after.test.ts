import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { VigilError } from '../../functions/core/errors';
import { identityOf } from '../../functions/core/ingest/identity';
import { createIngestHandler } from '../../functions/ingest/handler';
import { errorResponse } from '../../functions/shared/http';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
  sha256,
} from '../helpers/fakes';

/**
 * A retry that arrives while the first post of the same run is still being ingested is told
 * when to come back (`Retry-After`), so a client can tell it from a content conflict.
 */

const TOKEN = 'vgl_test-token-0123456789';
const REPORT = '<testsuite name="s"><testcase classname="c" name="t" time="0.1"/></testsuite>';

const handler = (ledger: MemoryLedger) =>
  createIngestHandler({
    config: parseConfig({}),
    publisher: new MemoryPublisher(),
    archive: new MemoryArchive(),
    ledger,
    clock: fixedClock(),
    tokens: { tokens: async () => [TOKEN] },
    version: 'test',
  });

const post = (ledger: MemoryLedger, body: string) =>
  handler(ledger)(
    apiEvent({
      query: { project: 'shop', runId: 'build-7' },
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/xml' },
      body,
    }),
  );

describe('409 for a run being ingested', () => {
  it('carries Retry-After; a content conflict does not', async () => {
    const ledger = new MemoryLedger();
    await ledger.claim('shop#build-7', JSON.stringify(identityOf(sha256(REPORT), {})));
    const busy = await post(ledger, REPORT);
    expect(busy.statusCode).toBe(409);
    expect(busy.headers['retry-after']).toBe('5');
    expect(JSON.parse(String(busy.body)).error).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('is being ingested right now'),
    });

    const done = new MemoryLedger();
    expect((await post(done, REPORT)).statusCode).toBe(202);
    const conflict = await post(done, REPORT.replace('name="t"', 'name="u"'));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.headers['retry-after']).toBeUndefined();
  });

  it('errorResponse sends a VigilError retryAfterSeconds as Retry-After, beside the other headers', () => {
    const res = errorResponse(
      new VigilError('conflict', 'busy', { path: 'query.runId' }, { retryAfterSeconds: 5 }),
      { 'x-correlation-id': 'corr-0001' },
    );
    expect(res.statusCode).toBe(409);
    expect(res.headers).toEqual({
      'content-type': 'application/json',
      'x-content-type-options': 'nosniff',
      'retry-after': '5',
      'x-correlation-id': 'corr-0001',
    });
    expect(JSON.parse(String(res.body))).toEqual({
      error: {
        code: 'conflict',
        message: 'busy',
        location: { path: 'query.runId' },
        correlationId: 'corr-0001',
      },
    });
    expect(
      errorResponse(new VigilError('conflict', 'other')).headers['retry-after'],
    ).toBeUndefined();
  });
});
