import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { FileArchive } from '../../functions/adapters/local/archive';
import { LocalBus } from '../../functions/adapters/local/bus';
import { loadConfigFile } from '../../functions/adapters/local/config-file';
import { FileRunLedger } from '../../functions/adapters/local/ledger';
import { LocalMetricStore, parseEmf } from '../../functions/adapters/local/metric-store';
import { createLocalMetrics } from '../../functions/adapters/local/metrics';
import { type BusEvent, EVENT_PATTERNS, type VigilEvent } from '../../functions/core/events';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-local-'));
});

const coverageEvent = (project: string) =>
  ({
    source: 'vigil.ingest',
    detailType: 'Coverage Reported',
    detail: { metadata: { project } },
  }) as unknown as VigilEvent;

describe('LocalBus', () => {
  it('delivers matching events to each rule, archives every event, and ignores the rest', async () => {
    // Prepare
    const bus = new LocalBus({ dataDir: dir });
    const got: BusEvent[] = [];
    bus.subscribe('metrics', EVENT_PATTERNS.metrics, async (e) => {
      got.push(e);
    });
    bus.subscribe('none', { source: ['elsewhere'] }, async () => {
      throw new Error('must not be called');
    });
    // Act
    await bus.publish([coverageEvent('a'), coverageEvent('b')]);
    await bus.drain();
    // Assess
    expect(
      got.map((e) => (e.detail as { metadata: { project: string } }).metadata.project),
    ).toEqual(['a', 'b']);
    expect(got[0]).toMatchObject({
      version: '0',
      source: 'vigil.ingest',
      'detail-type': 'Coverage Reported',
    });
    const archived = (await readFile(join(dir, 'events.ndjson'), 'utf8')).trim().split('\n');
    expect(archived).toHaveLength(2);
  });

  it('retries a failing target and dead-letters the event after the last attempt', async () => {
    const errors: number[] = [];
    const bus = new LocalBus({
      dataDir: dir,
      maxAttempts: 3,
      retryDelayMs: 1,
      onDeliveryError: (_r, _e, _err, n) => errors.push(n),
    });
    let calls = 0;
    bus.subscribe('flaky', EVENT_PATTERNS.metrics, async () => {
      calls++;
      if (calls < 2) throw new Error('transient');
    });
    bus.subscribe('broken', EVENT_PATTERNS.metrics, async () => {
      throw new Error('always');
    });
    await bus.publish([coverageEvent('a')]);
    await bus.drain();
    expect(calls).toBe(2);
    expect(bus.deadLetters).toBe(1);
    const dead = JSON.parse(await readFile(join(dir, 'dead-letter.ndjson'), 'utf8')) as {
      rule: string;
      error: string;
    };
    expect(dead).toMatchObject({ rule: 'broken', error: 'Error: always' });
    expect(errors.sort()).toEqual([1, 1, 2, 3]);
  });

  it('delivers the events of one group one at a time, in order, retries included, and other groups alongside', async () => {
    // Prepare: each delivery waits until the test lets it end
    const bus = new LocalBus({ dataDir: dir, retryDelayMs: 1 });
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    let failFirstA1 = true;
    const projectOf = (e: BusEvent) =>
      (e.detail as { metadata: { project: string } }).metadata.project;
    bus.subscribe(
      'history',
      EVENT_PATTERNS.metrics,
      async (e) => {
        const name = `${projectOf(e)}${(e.detail as { metadata: { n: number } }).metadata.n}`;
        log.push(`start ${name}`);
        await new Promise<void>((release) => gates.set(name, release));
        if (name === 'a1' && failFirstA1) {
          failFirstA1 = false;
          log.push(`fail ${name}`);
          throw new Error('lost a race');
        }
        log.push(`end ${name}`);
      },
      { groupBy: projectOf },
    );
    const event = (project: string, n: number) =>
      ({
        ...coverageEvent(project),
        detail: { metadata: { project, n } },
      }) as unknown as VigilEvent;
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
    };
    const release = async (name: string) => {
      gates.get(name)?.();
      gates.delete(name);
      await settle();
    };

    // Act
    await bus.publish([event('a', 1), event('a', 2), event('b', 1)]);
    await settle();
    const first = [...log];
    await release('a1'); // fails: retried before a2
    await release('b1');
    await release('a1');
    await release('a2');
    await bus.drain();

    // Assess
    expect(first).toEqual(['start a1', 'start b1']);
    expect(log).toEqual([
      'start a1',
      'start b1',
      'fail a1',
      'start a1',
      'end b1',
      'end a1',
      'start a2',
      'end a2',
    ]);
    expect(bus.deadLetters).toBe(0);
  });
});

describe('FileRunLedger', () => {
  it('implements claim / duplicate / conflict / release like the DynamoDB ledger', async () => {
    let now = 1_000;
    const ledger = new FileRunLedger(dir, { staleClaimMs: 100, now: () => now });
    expect(await ledger.claim('p#1', 'fp')).toEqual({ state: 'new' });
    expect(await ledger.claim('p#1', 'fp')).toEqual({ state: 'conflict', reason: 'in_progress' });
    expect(await ledger.claim('p#1', 'other')).toEqual({
      state: 'conflict',
      reason: 'different_content',
      fingerprint: 'fp',
    });
    await ledger.complete('p#1', 'fp', { runId: '1' });
    expect(await ledger.claim('p#1', 'fp')).toEqual({
      state: 'duplicate',
      response: { runId: '1' },
    });
    expect(await ledger.claim('p#1', 'other')).toEqual({
      state: 'conflict',
      reason: 'different_content',
      fingerprint: 'fp',
    });
    await ledger.release('p#1'); // done entries are never released
    expect((await ledger.claim('p#1', 'fp')).state).toBe('duplicate');

    expect(await ledger.claim('p#2', 'fp')).toEqual({ state: 'new' });
    await ledger.release('p#2');
    await ledger.release('p#2');
    expect(await ledger.claim('p#2', 'fp')).toEqual({ state: 'new' });
    now += 1_000; // the claim went stale (crashed ingest): it can be taken over
    expect(await ledger.claim('p#2', 'fp')).toEqual({ state: 'new' });
  });

  it('lets exactly one of many concurrent claims win', async () => {
    const ledger = new FileRunLedger(dir);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => ledger.claim('p#race', 'fp')),
    );
    expect(results.filter((r) => r.state === 'new')).toHaveLength(1);
  });
});

describe('FileArchive', () => {
  it('writes the payload under the data dir and returns a file URI', async () => {
    const archive = new FileArchive(dir);
    const pointer = await archive.put({
      key: 'shop/2026/11/25/r1.xml',
      body: Buffer.from('<x/>'),
      contentType: 'application/xml',
      sha256: 'a'.repeat(64),
      metadata: {},
    });
    expect(pointer).toMatchObject({ bytes: 4, sha256: 'a'.repeat(64) });
    expect(await readFile(fileURLToPath(pointer.uri), 'utf8')).toBe('<x/>');
  });

  it('refuses keys that escape the archive directory', async () => {
    const archive = new FileArchive(dir);
    await expect(
      archive.put({
        key: '../../etc/x',
        body: Buffer.from(''),
        contentType: 'text/plain',
        sha256: 'a'.repeat(64),
        metadata: {},
      }),
    ).rejects.toThrow(/escapes the archive/);
  });
});

describe('LocalMetricStore', () => {
  it('reads the EMF that Powertools Metrics prints, per dimension set, and persists it', () => {
    // Prepare
    const store = new LocalMetricStore(dir);
    const echoed: string[] = [];
    const metrics = createLocalMetrics(store, {
      namespace: 'Vigil',
      serviceName: 'vigil',
      echo: (l) => echoed.push(l),
    });
    // Act
    metrics.addDimensions({ Project: 'shop' });
    metrics.addDimensions({ Project: 'shop', Suite: 'api' });
    metrics.addMetric('TestsFailed', 'Count', 3);
    metrics.setTimestamp(new Date('2026-11-25T10:00:00Z'));
    metrics.publishStoredMetrics();
    // Assess
    expect(echoed).toHaveLength(1);
    const projectOnly = store.query({ name: 'TestsFailed', dimensions: { Project: 'shop' } });
    expect(projectOnly).toEqual([
      expect.objectContaining({
        namespace: 'Vigil',
        unit: 'Count',
        value: 3,
        timestamp: Date.parse('2026-11-25T10:00:00Z'),
      }),
    ]);
    expect(
      store.query({ name: 'TestsFailed', dimensions: { Project: 'shop', Suite: 'api' } }),
    ).toHaveLength(1);
    expect(store.query({ name: 'TestsFailed' })).toHaveLength(2);
    expect(
      store.query({ name: 'TestsFailed', sinceMs: Date.parse('2026-11-26T00:00:00Z') }),
    ).toHaveLength(0);
    expect(new LocalMetricStore(dir).query({ name: 'TestsFailed' })).toHaveLength(2);
    expect(store.names()).toEqual(['TestsFailed']);
  });

  it('ignores lines that are not EMF and reads multi-value metrics', () => {
    const store = new LocalMetricStore();
    expect(store.ingestLine('{"level":"INFO","message":"hello"}')).toBe(0);
    expect(store.ingestLine('not json')).toBe(0);
    expect(() => parseEmf('{}')).toThrow();
    const emf = {
      _aws: {
        Timestamp: 1,
        CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['P']], Metrics: [{ Name: 'L' }] }],
      },
      P: 'x',
      L: [1, 2],
    };
    expect(store.ingestLine(JSON.stringify(emf))).toBe(2);
    expect(
      store.query({ name: 'L', dimensions: { P: 'x' } }).map((p) => [p.value, p.unit]),
    ).toEqual([
      [1, 'None'],
      [2, 'None'],
    ]);
  });
});

describe('loadConfigFile', () => {
  it('loads JSON and TypeScript configs and validates them', async () => {
    const { writeFile } = await import('node:fs/promises');
    const json = join(dir, 'vigil.config.json');
    await writeFile(json, JSON.stringify({ project: 'shop', gates: { minCoverage: 80 } }));
    expect((await loadConfigFile(json)).gates.minCoverage).toBe(80);
    const ts = join(dir, 'vigil.config.ts');
    await writeFile(
      ts,
      "export default { project: 'ts-shop' } satisfies Record<string, unknown>;\n",
    );
    expect((await loadConfigFile(ts)).project).toBe('ts-shop');
    expect((await loadConfigFile('vigil.config.ts')).project).toBe('vigil');
  });

  it('says which file is missing or broken and which field is wrong', async () => {
    const { writeFile } = await import('node:fs/promises');
    await expect(loadConfigFile(join(dir, 'nope.json'))).rejects.toThrow(
      /Config file not found: .*nope\.json/,
    );
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ "gates": { "minCoverage": "high" } }');
    await expect(loadConfigFile(bad)).rejects.toThrow(/bad\.json: gates\.minCoverage/);
    const cron = join(dir, 'cron.json');
    await writeFile(
      cron,
      JSON.stringify({ alerts: { maintenance: [{ cron: '99 * * * *', durationMinutes: 5 }] } }),
    );
    await expect(loadConfigFile(cron)).rejects.toThrow(
      /cron\.json: alerts\.maintenance\.0\.cron: /,
    );
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ nope');
    await expect(loadConfigFile(broken)).rejects.toThrow(/Cannot read config file .*broken\.json/);
  });
});
