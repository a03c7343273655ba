import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { VigilError } from '../../functions/core/errors';
import { MAX_EVENT_BYTES, type TestRunDetail } from '../../functions/core/events';
import { type IngestDeps, ingest } from '../../functions/core/ingest/service';
import { fixedClock, MemoryArchive, MemoryLedger, MemoryPublisher, sha256 } from '../helpers/fakes';
import { generateJunit } from '../helpers/generate-junit';

const fixture = (path: string) => readFileSync(`test/fixtures/corpus/${path}`);
const GRADLE = fixture('junit/datadog-java-gradle.xml');

let publisher: MemoryPublisher;
let archive: MemoryArchive;
let ledger: MemoryLedger;
let deps: IngestDeps;

beforeEach(() => {
  publisher = new MemoryPublisher();
  archive = new MemoryArchive();
  ledger = new MemoryLedger();
  deps = { config: parseConfig({}), publisher, archive, ledger, clock: fixedClock() };
});

const post = (body: Uint8Array, query: Record<string, string> = {}, correlationId = 'corr-0001') =>
  ingest({ query: { project: 'shop', ...query }, body, correlationId }, deps);

describe('ingest', () => {
  it('parses, gates, archives, then publishes one canonical event', async () => {
    // Act
    const { status, result } = await post(GRADLE, {
      branch: 'main',
      commit: 'abc123',
      suite: 'unit',
      ci: 'build',
    });
    // Assess
    expect(status).toBe(202);
    expect(result).toMatchObject({
      project: 'shop',
      kind: 'tests',
      format: 'junit',
      duplicate: false,
      correlationId: 'corr-0001',
    });
    expect(result.gate.status).toBe('fail');
    expect(publisher.events).toHaveLength(1);
    const event = publisher.events[0];
    expect(event).toMatchObject({ source: 'vigil.ingest', detailType: 'Test Run Reported' });
    const detail = event?.detail as TestRunDetail;
    expect(detail.metadata).toMatchObject({
      project: 'shop',
      suite: 'unit',
      branch: 'main',
      commit: 'abc123',
      ci: 'build',
      runId: result.runId,
      correlationId: 'corr-0001',
      ingestedAt: '2026-11-25T10:00:00.000Z',
      archive: { bytes: GRADLE.byteLength, sha256: sha256(GRADLE) },
    });
    expect(detail.summary).toEqual(result.summary);
    expect(detail.failedTests.length).toBe((result.summary as { failed: number }).failed);
    // Raw payload and normalized detail are both archived, under a dated key.
    const keys = [...archive.objects.keys()];
    expect(keys).toEqual([
      `shop/2026/11/25/${result.runId}.xml`,
      `shop/2026/11/25/${result.runId}.normalized.json`,
    ]);
    expect(Buffer.from(archive.objects.get(keys[0] ?? '')?.body ?? []).equals(GRADLE)).toBe(true);
  });

  it('archives before publishing, so a published event always points at a stored payload', async () => {
    const order: string[] = [];
    vi.spyOn(archive, 'put').mockImplementation(async (i) => {
      order.push(`archive:${i.key.split('.').slice(1).join('.')}`);
      return { uri: 'mem://x', bytes: 1, sha256: i.sha256 };
    });
    vi.spyOn(publisher, 'publish').mockImplementation(async () => {
      order.push('publish');
    });
    await post(GRADLE);
    expect(order).toEqual(['archive:xml', 'archive:normalized.json', 'publish']);
  });

  it('answers a repeated runId as a duplicate and counts nothing twice', async () => {
    const first = await post(GRADLE, { runId: 'build-42' });
    const again = await post(GRADLE, { runId: 'build-42' }, 'corr-0002');
    expect(again.status).toBe(200);
    expect(again.result).toEqual({ ...first.result, duplicate: true, correlationId: 'corr-0002' });
    expect(publisher.events).toHaveLength(1);
  });

  it('derives a stable runId from the content when none is given', async () => {
    const first = await post(GRADLE);
    const again = await post(GRADLE);
    expect(again.result.runId).toBe(first.result.runId);
    expect(again.result.duplicate).toBe(true);
    const otherSuite = await post(GRADLE, { suite: 'other' });
    expect(otherSuite.result.runId).not.toBe(first.result.runId);
  });

  it('rejects the same runId with different content as a conflict', async () => {
    await post(GRADLE, { runId: 'build-42' });
    await expect(
      post(fixture('junit/datadog-js-jest.xml'), { runId: 'build-42' }),
    ).rejects.toMatchObject({
      code: 'conflict',
      status: 409,
      message: expect.stringContaining('already reported with different content'),
    });
  });

  it('tells a concurrent duplicate to retry', async () => {
    await ledger.claim('shop#build-7', sha256(GRADLE));
    await expect(post(GRADLE, { runId: 'build-7' })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('retry'),
    });
  });

  it('releases the run when publishing fails, so the client can retry', async () => {
    publisher.failWith = new VigilError('publish_failed', '1 of 1 events failed');
    await expect(post(GRADLE, { runId: 'r' })).rejects.toMatchObject({
      code: 'publish_failed',
      status: 503,
    });
    publisher.failWith = undefined;
    const retry = await post(GRADLE, { runId: 'r' });
    expect(retry.status).toBe(202);
    expect(publisher.events).toHaveLength(1);
  });

  it('still answers 202 when recording completion fails after publishing', async () => {
    const warn = vi.fn();
    deps.warn = warn;
    vi.spyOn(ledger, 'complete').mockRejectedValue(new Error('ledger down'));
    const { status } = await post(GRADLE);
    expect(status).toBe(202);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('Could not record run'),
      expect.any(Error),
    );
  });

  it('validates query parameters and names the bad one', async () => {
    await expect(
      ingest({ query: {}, body: GRADLE, correlationId: 'c' }, deps),
    ).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.project' },
    });
    await expect(post(GRADLE, { project: '../etc' })).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.project' },
    });
    await expect(post(GRADLE, { format: 'trx' })).rejects.toMatchObject({
      status: 415,
      location: { path: 'query.format' },
    });
    await expect(post(GRADLE, { runId: 'has space' })).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.runId' },
    });
    await expect(post(GRADLE, { branch: 'a\u0000b' })).rejects.toMatchObject({
      status: 400,
      location: { path: 'query.branch' },
    });
    await expect(post(GRADLE, { commit: 'x'.repeat(200) })).rejects.toMatchObject({ status: 400 });
    expect(publisher.events).toHaveLength(0);
    expect(ledger.entries.size).toBe(0);
  });

  it('honours an explicit format and rejects content that is not that format', async () => {
    const coverage = fixture('istanbul/tsinjex-coverage-summary.json');
    const { result } = await post(coverage, { format: 'istanbul' });
    expect(result.kind).toBe('coverage');
    await expect(post(GRADLE, { format: 'jest' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('not JSON'),
    });
  });

  it('keeps the event under the EventBridge limit for huge failing runs', async () => {
    const big = Buffer.from(generateJunit({ cases: 5000, failRate: 1, seed: 3 }));
    const { result } = await post(big);
    const detail = publisher.events[0]?.detail as TestRunDetail;
    expect((result.summary as { failed: number }).failed).toBe(5000);
    expect(detail.failedTests).toHaveLength(50);
    expect(detail.failedTestsTruncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(detail))).toBeLessThan(MAX_EVENT_BYTES / 2);
  });

  it('publishes coverage, load and benchmark reports with their own detail types', async () => {
    const cases: [string, string, string][] = [
      ['istanbul/tsinjex-coverage-summary.json', 'coverage', 'Coverage Reported'],
      ['lcov/dorny-lcov.info', 'coverage', 'Coverage Reported'],
      ['cobertura/grandlinex-core-istanbul-cobertura.xml', 'coverage', 'Coverage Reported'],
      ['k6/k6-summary-v1-example-basic.json', 'load', 'Load Test Reported'],
      ['artillery/artillery-2.0.21-local-http.json', 'load', 'Load Test Reported'],
      ['benchmarks/hyperfine-1brc.json', 'benchmark', 'Benchmark Reported'],
      ['jest/ethereum-event-scan-jest-results.json', 'tests', 'Test Run Reported'],
    ];
    for (const [file, kind, detailType] of cases) {
      const { result } = await post(fixture(file));
      expect(result.kind, file).toBe(kind);
      expect(publisher.events.at(-1)?.detailType, file).toBe(detailType);
    }
  });
});
