import type {
  PutEventsCommand,
  PutEventsCommandOutput,
  PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import {
  EventBridgePublisher,
  entrySize,
  type PutEventsClient,
  type RetryInfo,
} from '../../functions/adapters/aws/eventbridge-publisher';
import { VigilError } from '../../functions/core/errors';
import {
  DETAIL_TYPES,
  MAX_EVENT_BYTES,
  SOURCES,
  type TestRunDetail,
  type VigilEvent,
} from '../../functions/core/events';

type Step = Partial<PutEventsCommandOutput> | Error;

/** A scripted stand-in for EventBridgeClient: records each request, answers from `steps`. */
class FakeClient implements PutEventsClient {
  readonly requests: PutEventsRequestEntry[][] = [];
  constructor(private readonly steps: Array<Step | ((entries: PutEventsRequestEntry[]) => Step)>) {}

  async send(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
    const entries = command.input.Entries ?? [];
    this.requests.push(entries);
    const next = this.steps.shift() ?? ok(entries.length);
    const step = typeof next === 'function' ? next(entries) : next;
    if (step instanceof Error) throw step;
    return { $metadata: { httpStatusCode: 200 }, ...step };
  }
}

const ok = (n: number): Partial<PutEventsCommandOutput> => ({
  FailedEntryCount: 0,
  Entries: Array.from({ length: n }, (_, i) => ({ EventId: `id-${i}` })),
});

/** Fails the entries at `failing` with `code`, the others succeed. */
const partial =
  (failing: number[], code: string) =>
  (entries: PutEventsRequestEntry[]): Partial<PutEventsCommandOutput> => ({
    FailedEntryCount: failing.length,
    Entries: entries.map((_, i) =>
      failing.includes(i) ? { ErrorCode: code, ErrorMessage: code } : { EventId: `id-${i}` },
    ),
  });

const serviceError = (name: string, status: number, fault: 'client' | 'server'): Error =>
  Object.assign(new Error(name), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
  });

const detail = (runId: string, extra = ''): TestRunDetail => ({
  metadata: {
    project: 'shop',
    suite: 'unit',
    branch: 'main',
    commit: 'a1b2c3d',
    ci: 'github-actions',
    runId,
    correlationId: `corr-${runId}`,
    format: 'junit',
    ingestedAt: '2026-11-25T10:00:00.000Z',
    archive: {
      uri: `s3://vigil-archive/shop/2026/11/25/${runId}.xml`,
      bytes: 2048,
      sha256: 'a'.repeat(64),
    },
    normalized: {
      uri: `s3://vigil-archive/normalized/shop/2026/11/25/${runId}.json`,
      bytes: 8192,
      sha256: 'b'.repeat(64),
    },
  },
  summary: { total: 10, passed: 9, failed: 1, skipped: 0, flaky: 0, durationMs: 1234 },
  gate: { status: 'fail', checks: [] },
  failedTests: [{ suite: 'cart', classname: 'CartTest', name: 'adds item', message: extra }],
  failedTestsTruncated: false,
  flakyTests: [],
});

const event = (runId: string, extra = '') =>
  ({
    source: SOURCES.ingest,
    detailType: DETAIL_TYPES.testRun,
    detail: detail(runId, extra),
  }) satisfies VigilEvent;

const setup = (client: FakeClient, maxAttempts?: number) => {
  const sleeps: number[] = [];
  const retries: RetryInfo[] = [];
  const publisher = new EventBridgePublisher({
    busName: 'vigil-bus',
    client,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
    baseDelayMs: 100,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onRetry: (info) => retries.push(info),
  });
  return { publisher, sleeps, retries };
};

const sizeOf = (e: PutEventsRequestEntry): number =>
  entrySize({ Source: e.Source ?? '', DetailType: e.DetailType ?? '', Detail: e.Detail ?? '' });

const runIds = (entries: PutEventsRequestEntry[] | undefined): string[] =>
  (entries ?? []).map((e) => (JSON.parse(e.Detail ?? '{}') as TestRunDetail).metadata.runId);

describe('EventBridgePublisher', () => {
  it('maps events to PutEvents entries on the configured bus', async () => {
    const client = new FakeClient([]);
    const { publisher } = setup(client);
    await publisher.publish([event('r1')]);
    expect(client.requests).toHaveLength(1);
    const [entry] = client.requests[0] ?? [];
    expect(entry).toEqual({
      EventBusName: 'vigil-bus',
      Source: 'vigil.ingest',
      DetailType: 'Test Run Reported',
      Detail: JSON.stringify(detail('r1')),
    });
  });

  it('does nothing for an empty list', async () => {
    const client = new FakeClient([]);
    await setup(client).publisher.publish([]);
    expect(client.requests).toHaveLength(0);
  });

  it('resends only the failed entry of a partial failure', async () => {
    const client = new FakeClient([partial([1], 'ThrottlingException'), ok(1)]);
    const { publisher, sleeps, retries } = setup(client);
    await expect(
      publisher.publish([event('r1'), event('r2'), event('r3')]),
    ).resolves.toBeUndefined();
    expect(client.requests).toHaveLength(2);
    expect(runIds(client.requests[0])).toEqual(['r1', 'r2', 'r3']);
    expect(runIds(client.requests[1])).toEqual(['r2']);
    expect(publisher.stats.retries).toBe(1);
    expect(retries).toEqual([{ attempt: 2, entries: 1, reason: 'ThrottlingException' }]);
    // First retry waits between half and all of baseDelayMs.
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
  });

  it('gives up after maxAttempts with publish_failed naming counts and codes', async () => {
    const client = new FakeClient([
      partial([0, 2], 'ThrottlingException'),
      partial([1], 'InternalFailure'),
      partial([0], 'InternalFailure'),
    ]);
    const { publisher, sleeps } = setup(client, 3);
    const error = await publisher.publish([event('r1'), event('r2'), event('r3')]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VigilError);
    expect(error).toMatchObject({ code: 'publish_failed', status: 503 });
    expect((error as VigilError).message).toMatch(/1 of 3 events failed/);
    expect((error as VigilError).message).toContain('InternalFailure');
    expect(client.requests.map(runIds)).toEqual([['r1', 'r2', 'r3'], ['r1', 'r3'], ['r3']]);
    // Backoff grows: retry n waits in [step/2, step] with step = 100 * 2^(n-1).
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
    expect(publisher.stats.retries).toBe(2);
  });

  it('uses 4 attempts by default', async () => {
    const client = new FakeClient(
      Array.from({ length: 10 }, () => partial([0], 'ThrottlingException')),
    );
    const { publisher } = setup(client);
    await expect(publisher.publish([event('r1')])).rejects.toThrow(
      /1 of 1 events failed .*ThrottlingException/,
    );
    expect(client.requests).toHaveLength(4);
  });

  it('does not retry entries with a non-retryable error code', async () => {
    const client = new FakeClient([partial([0], 'MalformedDetail')]);
    const { publisher } = setup(client);
    await expect(publisher.publish([event('r1'), event('r2')])).rejects.toMatchObject({
      code: 'publish_failed',
      message: expect.stringMatching(/1 of 2 events failed.*MalformedDetail/),
    });
    expect(client.requests).toHaveLength(1);
  });

  it('batches 25 events into 3 requests of at most 10', async () => {
    const client = new FakeClient([]);
    const events = Array.from({ length: 25 }, (_, i) => event(`r${i}`));
    await setup(client).publisher.publish(events);
    expect(client.requests.map((r) => r.length)).toEqual([10, 10, 5]);
    expect(client.requests.flatMap(runIds)).toEqual(events.map((e) => e.detail.metadata.runId));
  });

  it('splits batches so that no request exceeds MAX_EVENT_BYTES', async () => {
    const client = new FakeClient([]);
    // Each event a bit over a third of the limit: two fit a request, three do not.
    const big = 'x'.repeat(Math.floor(MAX_EVENT_BYTES / 3));
    const events = Array.from({ length: 5 }, (_, i) => event(`r${i}`, big));
    await setup(client).publisher.publish(events);
    expect(client.requests.map((r) => r.length)).toEqual([2, 2, 1]);
    for (const request of client.requests) {
      const bytes = request.reduce((sum, e) => sum + sizeOf(e), 0);
      expect(bytes).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    }
  });

  it('rejects an oversize event before sending anything', async () => {
    const client = new FakeClient([]);
    const { publisher } = setup(client);
    const huge = event('r2', 'x'.repeat(MAX_EVENT_BYTES));
    await expect(publisher.publish([event('r1'), huge])).rejects.toMatchObject({
      code: 'payload_too_large',
      status: 413,
      message: expect.stringMatching(/event #1 .* over the event bus limit of 262144 bytes/),
    });
    expect(client.requests).toHaveLength(0);
  });

  it('retries a throttled or failed whole call', async () => {
    const client = new FakeClient([
      serviceError('ThrottlingException', 400, 'client'),
      serviceError('InternalException', 500, 'server'),
      ok(2),
    ]);
    const { publisher, retries } = setup(client);
    await publisher.publish([event('r1'), event('r2')]);
    expect(client.requests.map(runIds)).toEqual([
      ['r1', 'r2'],
      ['r1', 'r2'],
      ['r1', 'r2'],
    ]);
    expect(retries.map((r) => r.reason)).toEqual([
      'ThrottlingException x2',
      'InternalException x2',
    ]);
  });

  it.each([
    ['a network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['an error the SDK marks retryable', Object.assign(new Error('x'), { $retryable: {} })],
    ['a server fault', Object.assign(new Error('x'), { name: 'Weird', $fault: 'server' })],
    ['an HTTP 503', serviceError('SomethingNew', 503, 'client')],
    ['an HTTP 429', serviceError('SlowDown', 429, 'client')],
  ])('retries %s', async (_, error) => {
    const client = new FakeClient([error, ok(1)]);
    const { publisher } = setup(client);
    await publisher.publish([event('r1')]);
    expect(client.requests).toHaveLength(2);
  });

  it('does not retry something thrown that is not an error', async () => {
    const client = new FakeClient([
      () => {
        throw 'boom';
      },
    ]);
    const { publisher } = setup(client);
    await expect(publisher.publish([event('r1')])).rejects.toThrow(/1 of 1 events failed.*boom/);
    expect(client.requests).toHaveLength(1);
  });

  it('resends the batch when a partial failure comes without result entries', async () => {
    const client = new FakeClient([{ FailedEntryCount: 1 }, ok(2)]);
    const { publisher, retries } = setup(client);
    await publisher.publish([event('r1'), event('r2')]);
    expect(client.requests.map(runIds)).toEqual([
      ['r1', 'r2'],
      ['r1', 'r2'],
    ]);
    expect(retries[0]?.reason).toBe('MissingResultEntry x2');
  });

  it('trusts the result entries when FailedEntryCount names no failed entry', async () => {
    const client = new FakeClient([{ ...ok(2), FailedEntryCount: 1 }]);
    await setup(client).publisher.publish([event('r1'), event('r2')]);
    expect(client.requests).toHaveLength(1);
  });

  it('waits with a real timer by default', async () => {
    const client = new FakeClient([partial([0], 'InternalFailure'), ok(1)]);
    const publisher = new EventBridgePublisher({ busName: 'vigil-bus', client, baseDelayMs: 1 });
    await publisher.publish([event('r1')]);
    expect(publisher.stats.retries).toBe(1);
  });

  it('fails at once on a non-retryable whole-call error', async () => {
    const client = new FakeClient([serviceError('AccessDeniedException', 400, 'client')]);
    const { publisher } = setup(client);
    await expect(publisher.publish([event('r1'), event('r2')])).rejects.toMatchObject({
      code: 'publish_failed',
      message: expect.stringMatching(/2 of 2 events failed.*AccessDeniedException x2/),
    });
    expect(client.requests).toHaveLength(1);
  });

  it('counts failures across batches in the error', async () => {
    // Requests run concurrently; fail every entry of the request holding r20..r24.
    const client = new FakeClient(
      Array.from(
        { length: 12 },
        () => (entries: PutEventsRequestEntry[]) =>
          runIds(entries).includes('r20')
            ? partial(
                entries.map((_, i) => i),
                'ThrottlingException',
              )(entries)
            : ok(entries.length),
      ),
    );
    const { publisher } = setup(client, 2);
    const events = Array.from({ length: 25 }, (_, i) => event(`r${i}`));
    await expect(publisher.publish(events)).rejects.toThrow(
      /5 of 25 events failed .*ThrottlingException x5/,
    );
  });

  it('never under-estimates the documented entry size', () => {
    const entry = {
      Source: 'vigil.ingest',
      DetailType: 'Test Run Reported',
      Detail: JSON.stringify({ name: 'grüße ✓' }),
    };
    const documented =
      Buffer.byteLength(entry.Source) +
      Buffer.byteLength(entry.DetailType) +
      Buffer.byteLength(entry.Detail);
    expect(entrySize(entry)).toBeGreaterThan(documented);
  });
});
