import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { saveEnv } from '../helpers/env';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver';

/**
 * The span exporter against a collector that stalls: a local OTLP receiver that accepts the
 * connection and does not answer. The tracer's queue and in-flight request are module state, and
 * the files of a worker share the module registry, so this file imports the tracer fresh (and
 * its logger from the same registry, to watch the warnings).
 */

type Spans = typeof import('../../functions/shared/otel/spans');
type Logger = typeof import('../../functions/shared/powertools')['logger'];

let spans: Spans;
let logger: Logger;
let receiver: OtlpReceiver | undefined;
let restoreEnv: () => void;

beforeAll(async () => {
  restoreEnv = saveEnv();
  vi.resetModules();
  spans = await import('../../functions/shared/otel/spans');
  ({ logger } = await import('../../functions/shared/powertools'));
  // Loaded now, from this registry: the exporter logs through the `logger` above.
  await import('../../functions/shared/otel/export');
});
afterAll(() => {
  restoreEnv();
  vi.resetModules();
});
beforeEach(() => {
  for (const k of [
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'OTEL_SDK_DISABLED',
    'OTEL_TRACES_EXPORTER',
  ])
    delete process.env[k];
});
afterEach(async () => {
  vi.restoreAllMocks();
  // Closing drops any request still held, so nothing stays in flight for the next test.
  await receiver?.close();
  receiver = undefined;
  await spans.flushSpans(10_000);
});

/** An entry span (a handler invocation): its end asks for an export at once. */
const entry = (name: string): void => spans.withSpan(name, () => undefined, { entry: true });

/** The exporter's warnings among what `warn` (a spy on the logger) saw. */
const otlpWarnings = (warn: { mock: { calls: unknown[][] } }) =>
  warn.mock.calls.filter((c) => String(c[0]).startsWith('OTLP export'));

describe('span export to a stalled collector', () => {
  it('keeps one request in flight, queues and drops beyond the bound, and sends the queue when the collector answers again', async () => {
    receiver = await startOtlpReceiver('hang');
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    // Longer than the test: the stall ends because the collector answers, not by the timeout.
    process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = '60000';
    const warn = vi.spyOn(logger, 'warn');

    // A storm: every entry span's end wants an export (the audit's 3,239 connections).
    const first = spans.MAX_QUEUED_SPANS + 1000;
    for (let i = 0; i < first; i++) entry(`s${i}`);
    const stalled = receiver;
    await vi.waitFor(() => expect(stalled.connections.peak).toBeGreaterThan(0), {
      timeout: 10_000,
    });
    // More spans while the request hangs, with turns of the event loop in between, so that
    // any further request the exporter started would reach the receiver.
    const total = first + 500;
    for (let i = first; i < total; i++) {
      entry(`s${i}`);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(receiver.connections.peak).toBe(1);
    await vi.waitFor(() => expect(stalled.requests).toHaveLength(1), { timeout: 10_000 });
    expect(otlpWarnings(warn)).toEqual([]);

    // The collector answers again: the held request, then the queue, one request at a time.
    receiver.setMode('ok');
    await spans.flushSpans(30_000);
    const names = receiver.spans.map((s) => s.name);
    // The span in flight, then the queue's 2048 in order; the newer ones were dropped.
    const kept = 1 + spans.MAX_QUEUED_SPANS;
    expect(names).toEqual(Array.from({ length: kept }, (_, i) => `s${i}`));
    expect(receiver.requests).toHaveLength(1 + spans.MAX_QUEUED_SPANS / spans.MAX_EXPORT_BATCH);
    // The drops are one warning with their count, not one per span or batch.
    expect(otlpWarnings(warn)).toEqual([
      ['OTLP export queue full: spans dropped', expect.objectContaining({ dropped: total - kept })],
    ]);
  });

  it('abandons a request the collector never answers after the OTLP timeout, and warns once for the failures', async () => {
    receiver = await startOtlpReceiver('hang');
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = '100';
    const warn = vi.spyOn(logger, 'warn');

    const produced = 1 + 3 * spans.MAX_EXPORT_BATCH;
    for (let i = 0; i < produced; i++) entry(`t${i}`);
    // Each request is abandoned after 100 ms and the next batch goes: the first span alone,
    // then three full batches. The budget is far beyond that: the flush ends when the queue
    // is empty, not at the budget.
    await spans.flushSpans(60_000);

    expect(receiver.requests).toHaveLength(4);
    // Four failed requests, one warning: later failures go into a sum (once a minute at most).
    expect(otlpWarnings(warn)).toEqual([
      [
        'OTLP export failed',
        expect.objectContaining({ error: expect.stringMatching(/timeout|abort/i), spans: 1 }),
      ],
    ]);
  });
});
