import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { ingest } from '../../functions/core/ingest/service';
import { tracer } from '../../functions/shared/powertools';
import { annotate, traceHandler, traceSync } from '../../functions/shared/tracing';
import { fixedClock, MemoryArchive, MemoryLedger, MemoryPublisher } from '../helpers/fakes';

/** Tracing disabled (the test environment, local mode): every helper is a plain call. */
describe('tracing helpers with tracing disabled', () => {
  it('passes arguments and results through traceHandler and traceSync', async () => {
    // Prepare
    expect(tracer.isTracingEnabled()).toBe(false);
    const handler = traceHandler('echo', async (a: number, b: string) => `${a}${b}`);
    // Act
    const result = await handler(1, 'x');
    // Assess
    expect(result).toBe('1x');
    expect(traceSync('sync', () => 42)).toBe(42);
  });

  it('rethrows what the handler throws, and annotates nothing', async () => {
    // Prepare
    const put = vi.spyOn(tracer, 'putAnnotation');
    const failing = traceHandler('fail', async () => {
      throw new Error('boom');
    });
    // Act
    annotate({ correlationId: 'c-1', project: undefined });
    // Assess
    await expect(failing()).rejects.toThrow('boom');
    expect(put).not.toHaveBeenCalled();
  });
});

describe('ingest trace hook', () => {
  it('runs report parsing through deps.trace, named after the format', async () => {
    // Prepare
    const steps: string[] = [];
    const trace = <T>(name: string, fn: () => T): T => {
      steps.push(name);
      return fn();
    };
    // Act
    const { status } = await ingest(
      {
        query: { project: 'shop', format: 'junit' },
        body: readFileSync('test/fixtures/corpus/junit/datadog-java-gradle.xml'),
        correlationId: 'c-1',
      },
      {
        config: parseConfig({}),
        publisher: new MemoryPublisher(),
        archive: new MemoryArchive(),
        ledger: new MemoryLedger(),
        clock: fixedClock(),
        trace,
      },
    );
    // Assess
    expect(status).toBe(202);
    expect(steps).toEqual(['parse junit']);
  });
});
