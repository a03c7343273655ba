import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { FileArchive } from '../../functions/adapters/local/archive';
import { LocalBus } from '../../functions/adapters/local/bus';
import { loadConfigFile } from '../../functions/adapters/local/config-file';
import { LocalMetricStore, parseEmf } from '../../functions/adapters/local/metric-store';
import { createLocalMetrics } from '../../functions/adapters/local/metrics';
import { LocalStore } from '../../functions/adapters/local/store';
import { type BusEvent, EVENT_PATTERNS, type VigilEvent } from '../../functions/core/events';
import { payloadSha256 } from '../../functions/core/payload-hash';
import { archiveInput } from '../helpers/archive-input';

let dir: string;
let store: LocalStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-local-'));
  store?.close();
  store = LocalStore.open(dir);
});

const newBus = (opts: Partial<ConstructorParameters<typeof LocalBus>[0]> = {}) =>
  new LocalBus({ db: store.db, log: store.log, ...opts });

const coverageEvent = (project: string) =>
  ({
    source: 'vigil.ingest',
    detailType: 'Coverage Reported',
    detail: { metadata: { project } },
  }) as unknown as VigilEvent;

describe('LocalBus', () => {
  it('delivers matching events to each rule, archives every event, and ignores the rest', async () => {
    // Prepare
    const bus = newBus();
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
    expect(store.log.all()).toHaveLength(2);
  });

  it('retries a failing target and dead-letters the event after the last attempt', async () => {
    const errors: number[] = [];
    const bus = newBus({
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
    expect(store.log.deadLetters()).toEqual([
      expect.objectContaining({ subscriber: 'broken', error: 'Error: always', seq: 1 }),
    ]);
    expect(errors.sort()).toEqual([1, 1, 2, 3]);
  });

  it('delivers the events of one group one at a time, in order, retries included, and other groups alongside', async () => {
    // Prepare: each delivery waits until the test lets it end
    const bus = newBus({ retryDelayMs: 1 });
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

  it('refuses a subscription once started, and resumes each subscriber from its own progress', async () => {
    const first = newBus();
    const seen: string[] = [];
    const project = (e: BusEvent) =>
      (e.detail as { metadata: { project: string } }).metadata.project;
    first.subscribe('old', EVENT_PATTERNS.metrics, async (e) => {
      seen.push(`old:${project(e)}`);
    });
    await first.publish([coverageEvent('a')]);
    await first.drain();
    expect(() => first.subscribe('late', EVENT_PATTERNS.metrics, async () => {})).toThrow(
      'subscribe "late" before the bus starts',
    );
    await first.stop();
    // Committed after the stop: not delivered by the stopped bus, kept for the next one.
    await first.publish([coverageEvent('b')]);
    await first.drain();
    expect(seen).toEqual(['old:a']);

    const second = newBus();
    second.subscribe('old', EVENT_PATTERNS.metrics, async (e) => {
      seen.push(`old:${project(e)}`);
    });
    second.subscribe('new', EVENT_PATTERNS.metrics, async (e) => {
      seen.push(`new:${project(e)}`);
    });
    second.start();
    await second.drain();
    await second.stop();
    // The old subscriber gets only what it had not finished; the new one starts from the first.
    expect(seen.slice(1).sort()).toEqual(['new:a', 'new:b', 'old:b']);
  });
});

describe('SqliteRunLedger', () => {
  it('implements claim / duplicate / conflict / release like the DynamoDB ledger', async () => {
    const { ledger } = store;
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
  });

  it('forgets the claims of a process that is gone, keeps its completed runs', async () => {
    await store.ledger.claim('p#open', 'fp');
    await store.ledger.claim('p#done', 'fp');
    await store.ledger.complete('p#done', 'fp', { runId: 'done' });
    store.close();
    store = LocalStore.open(dir);
    expect(await store.ledger.claim('p#open', 'fp')).toEqual({ state: 'new' });
    expect((await store.ledger.claim('p#done', 'fp')).state).toBe('duplicate');
  });

  it('commits the events with the completed run, or neither', async () => {
    const event = coverageEvent('a');
    await store.ledger.claim('p#1', 'fp');
    await store.ledger.commit?.('p#1', 'fp', { runId: '1' }, [event]);
    store.db.db.exec(
      `CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'no'); END`,
    );
    await store.ledger.claim('p#2', 'fp');
    await expect(store.ledger.commit?.('p#2', 'fp', { runId: '2' }, [event])).rejects.toThrow();
    store.db.db.exec('DROP TRIGGER refuse');
    expect(store.log.all()).toHaveLength(1);
    expect((await store.ledger.claim('p#1', 'fp')).state).toBe('duplicate');
    expect(await store.ledger.claim('p#2', 'fp')).toEqual({
      state: 'conflict',
      reason: 'in_progress',
    });
  });

  it('lets exactly one of many concurrent claims win', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.ledger.claim('p#race', 'fp')),
    );
    expect(results.filter((r) => r.state === 'new')).toHaveLength(1);
  });
});

describe('FileArchive', () => {
  const input = archiveInput;

  it('stores the payload by its content and returns a file URI it reads back', async () => {
    const archive = new FileArchive(dir);
    const pointer = await archive.put(input('shop/2026/11/25/r1.xml', '<x/>'));
    expect(pointer).toMatchObject({ bytes: 4, sha256: input('', '<x/>').sha256 });
    expect(pointer.uri).toMatch(/\/archive\/objects\/[0-9a-f]{2}\/[0-9a-f]{64}\.xml$/);
    expect(await readFile(fileURLToPath(pointer.uri), 'utf8')).toBe('<x/>');
    expect(Buffer.from(await archive.get(pointer)).toString()).toBe('<x/>');
  });

  it('never lets two spellings of a project overwrite each other', async () => {
    const archive = new FileArchive(dir);
    const a = await archive.put(input('col/x/2026/11/25/r1.xml', '<a/>'));
    const b = await archive.put(input('col//x/2026/11/25/r1.xml', '<b/>'));
    expect(a.uri).not.toBe(b.uri);
    expect(Buffer.from(await archive.get(a)).toString()).toBe('<a/>');
    expect(Buffer.from(await archive.get(b)).toString()).toBe('<b/>');
  });

  it('refuses a body that does not match its sha256', async () => {
    const archive = new FileArchive(dir);
    await expect(
      archive.put({ ...input('k.xml', '<x/>'), sha256: 'a'.repeat(64) }),
    ).rejects.toThrow(/does not match its sha256/);
  });

  it('refuses a mismatch even for bytes ingest has hashed: their hash with other bytes, another hash with them', async () => {
    const archive = new FileArchive(dir);
    const raw = Buffer.from('<x/>');
    const normalized = Buffer.from('{"x":1}');
    const rawSha = payloadSha256(raw);
    const normalizedSha = payloadSha256(normalized);
    const put = (body: Buffer, sha256: string) =>
      archive.put({ key: 'k.xml', body, contentType: 'application/xml', sha256, metadata: {} });
    await expect(put(normalized, rawSha)).rejects.toThrow(/does not match its sha256/);
    await expect(put(raw, normalizedSha)).rejects.toThrow(/does not match its sha256/);
    const pointer = await put(raw, rawSha);
    expect(pointer.sha256).toBe(rawSha);
    expect(Buffer.from(await archive.get(pointer)).toString()).toBe('<x/>');
  });
});

describe('LocalMetricStore', () => {
  it('reads the EMF that Powertools Metrics prints, per dimension set, and persists it', async () => {
    // Prepare
    const metricStore = new LocalMetricStore(store.db);
    const echoed: string[] = [];
    const metrics = createLocalMetrics(metricStore, {
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
    await store.db.batch(() => undefined); // the points' group commit
    // Assess
    expect(echoed).toHaveLength(1);
    const projectOnly = metricStore.query({ name: 'TestsFailed', dimensions: { Project: 'shop' } });
    expect(projectOnly).toEqual([
      expect.objectContaining({
        namespace: 'Vigil',
        unit: 'Count',
        value: 3,
        timestamp: Date.parse('2026-11-25T10:00:00Z'),
      }),
    ]);
    expect(
      metricStore.query({ name: 'TestsFailed', dimensions: { Project: 'shop', Suite: 'api' } }),
    ).toHaveLength(1);
    expect(metricStore.query({ name: 'TestsFailed' })).toHaveLength(2);
    expect(
      metricStore.query({ name: 'TestsFailed', sinceMs: Date.parse('2026-11-26T00:00:00Z') }),
    ).toHaveLength(0);
    store.close();
    store = LocalStore.open(dir);
    expect(store.metrics.query({ name: 'TestsFailed' })).toHaveLength(2);
    expect(store.metrics.names()).toEqual(['TestsFailed']);
  });

  it('keeps raw points for the retention, then hourly rollups, then nothing', async () => {
    const line = (ts: number, value: number) =>
      JSON.stringify({
        _aws: {
          Timestamp: ts,
          CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['P']], Metrics: [{ Name: 'L' }] }],
        },
        P: 'x',
        L: value,
      });
    const hour = 3_600_000;
    const t0 = Date.parse('2026-11-01T10:00:00Z');
    for (const [ts, v] of [
      [t0 + 60_000, 2],
      [t0 + 120_000, 4],
      [t0 + hour + 1, 10],
      [t0 + 40 * hour, 7],
    ] as const)
      store.metrics.ingestLine(line(ts, v));
    await store.db.batch(() => undefined);

    expect(store.metrics.prune(t0 + 2 * hour, 0)).toBe(3);
    expect(store.metrics.query({ name: 'L' }).map((p) => p.value)).toEqual([7]);
    expect(store.metrics.rollups('L')).toEqual([
      { hour: t0, dimensions: { P: 'x' }, count: 2, sum: 6, min: 2, max: 4 },
      { hour: t0 + hour, dimensions: { P: 'x' }, count: 1, sum: 10, min: 10, max: 10 },
    ]);
    store.metrics.prune(0, t0 + hour);
    expect(store.metrics.rollups('L').map((r) => r.hour)).toEqual([t0 + hour]);
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

  const emfLine = (ts: number, values: unknown, p = 'x') =>
    JSON.stringify({
      _aws: {
        Timestamp: ts,
        CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['P']], Metrics: [{ Name: 'L' }] }],
      },
      P: p,
      L: values,
    });

  it('in memory: skips values that are not numbers, keeps the newest 200 000 points, has no rollups', () => {
    const memory = new LocalMetricStore();
    expect(memory.ingestLine(emfLine(1, [1, 'two', null, 3]))).toBe(2);
    memory.ingestLine(emfLine(2, 5, 'y'));
    expect(memory.latest(['L', 'Other']).map((p) => [p.dimensions.P, p.value])).toEqual([
      ['x', 3],
      ['y', 5],
    ]);
    expect(memory.names()).toEqual(['L']);
    expect(memory.prune(Date.now(), Date.now())).toBe(0);
    expect(memory.rollups('L')).toEqual([]);
    // One line with more values than the cap: only the newest 200 000 stay.
    const many = Array.from({ length: 200_001 }, (_, i) => i);
    expect(memory.ingestLine(emfLine(3, many))).toBe(200_001);
    const kept = memory.query({ name: 'L' });
    expect(kept).toHaveLength(200_000);
    expect(kept[0]?.value).toBe(1);
  });

  it('skips a stored point or rollup whose dimensions are corrupt, keeping the others', async () => {
    store.metrics.ingestLine(emfLine(10, 1));
    await store.db.batch(() => undefined);
    store.db
      .q(
        `INSERT INTO metrics (name, ts, dims, unit, namespace, value) VALUES ('L', 20, '{"P":', 'None', 'N', 9)`,
      )
      .run();
    store.db
      .q(
        `INSERT INTO metric_rollups (name, dims, unit, namespace, hour, count, sum, min, max) VALUES ('L', 'oops', 'None', 'N', 0, 1, 2, 2, 2)`,
      )
      .run();
    expect(store.metrics.query({ name: 'L' }).map((p) => p.value)).toEqual([1]);
    expect(store.metrics.latest(['L']).map((p) => p.value)).toEqual([1]);
    expect(store.metrics.rollups('L')).toEqual([
      { hour: 0, dimensions: {}, count: 1, sum: 2, min: 2, max: 2 },
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
    // A path relative to the working directory; a TypeScript config that imports the repo's
    // own modules by relative path, as the shipped vigil.config.ts does (a fixture copy of it:
    // the root one is the user's to edit).
    expect((await loadConfigFile('test/fixtures/config/vigil.config.ts')).project).toBe('vigil');
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
    await writeFile(broken, '{\n  "project": "shop",\n}');
    await expect(loadConfigFile(broken)).rejects.toThrow(
      /Invalid JSON in config file .*broken\.json: .*\(?line 3,? column 1\)?/,
    );
    // No position to turn into a line: the message as JSON.parse gives it.
    const cut = join(dir, 'cut.json');
    await writeFile(cut, '{ "project": ');
    await expect(loadConfigFile(cut)).rejects.toThrow(
      /^Invalid JSON in config file .*cut\.json: Unexpected end of JSON input$/,
    );
    const yaml = join(dir, 'vigil.config.yaml');
    await writeFile(yaml, 'project: shop\n');
    await expect(loadConfigFile(yaml)).rejects.toThrow(
      `Cannot read config file ${yaml}: a config is a .ts, .mts, .cts, .js, .mjs, .cjs, .json file (YAML is not read: write it as JSON)`,
    );
  });

  it('reads what an async default export resolves to, and refuses one that is not an object', async () => {
    const { writeFile } = await import('node:fs/promises');
    const later = join(dir, 'later.config.mjs');
    await writeFile(later, "export default Promise.resolve({ project: 'later' });\n");
    expect((await loadConfigFile(later)).project).toBe('later');
    for (const [name, value, what] of [
      ['map', 'new Map([["project", "x"]])', 'is a Map'],
      ['fn', '() => ({ project: "x" })', 'is a function'],
      ['list', '[{ project: "x" }]', 'is an Array'],
      ['later-null', 'Promise.resolve(null)', 'resolves to null'],
    ]) {
      const file = join(dir, `${name}.config.mjs`);
      await writeFile(file, `export default ${value};\n`);
      await expect(loadConfigFile(file)).rejects.toThrow(
        `Invalid Vigil config in ${file}: the default export ${what}, not an object: write export default defineConfig({ ... })`,
      );
    }
  });
});
