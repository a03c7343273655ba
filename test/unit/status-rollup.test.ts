import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRunCatalog } from '../../functions/adapters/local/status-memory';
import { LocalStore } from '../../functions/adapters/local/store';
import { importStatusJournal } from '../../functions/adapters/local/store/status-import';
import { authorize, roleOf } from '../../functions/core/access';
import { parseConfig } from '../../functions/core/config';
import type { ProbeCompletedDetail } from '../../functions/core/events';
import {
  badgeIsPublic,
  coverageBadge,
  gateBadge,
  uptimeBadge,
} from '../../functions/core/status/public';
import {
  binUpperMs,
  bucketStart,
  histogramQuantile,
  histogramQuantiles,
  latencyBin,
  mergeInto,
  uptime,
} from '../../functions/core/status/rollup';
import { runEntry } from '../helpers/fakes';

describe('rollups', () => {
  it('aligns buckets to UTC minutes, hours and days', () => {
    const at = '2026-11-25T10:37:42.123Z';
    expect(bucketStart(at, 'minute')).toBe('2026-11-25T10:37:00.000Z');
    expect(bucketStart(at, 'hour')).toBe('2026-11-25T10:00:00.000Z');
    expect(bucketStart(at, 'day')).toBe('2026-11-25T00:00:00.000Z');
  });

  it('reads quantiles from the histogram within 5% of the samples', () => {
    const hist = {};
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms
    for (const ms of samples) mergeInto(hist, { [latencyBin(ms)]: 1 });
    for (const [q, exact] of [
      [0.5, 500],
      [0.95, 950],
      [0.99, 990],
      [1, 1000],
    ] as const) {
      const estimate = histogramQuantile(hist, q) ?? 0;
      expect(estimate).toBeGreaterThanOrEqual(exact);
      expect(estimate).toBeLessThanOrEqual(exact * 1.05 + 0.1);
    }
    expect(histogramQuantile({}, 0.5)).toBeNull();
    // Bins filled out of order and empty bins (as parsed from a store) read the same.
    const shuffled: Record<number, number> = { 90: 1, 3: 0, 10: 2, 50: 1 };
    expect(histogramQuantiles(shuffled, [0.25, 0.5, 0.75, 1])).toEqual(
      [10, 10, 50, 90].map(binUpperMs),
    );
    expect(histogramQuantiles({ 7: 0 }, [0.5])).toEqual([null]);
    expect(latencyBin(0)).toBe(0);
    expect(binUpperMs(0)).toBe(1);
    // Every latency falls at or under its bin's upper bound and above the previous one.
    for (const ms of [1.5, 2, 99.9, 100, 12345]) {
      expect(binUpperMs(latencyBin(ms))).toBeGreaterThanOrEqual(ms - 0.05);
      expect(binUpperMs(latencyBin(ms) - 1)).toBeLessThan(ms + 0.05);
    }
  });

  it('computes uptime over rollups (null without checks)', () => {
    expect(uptime([])).toBeNull();
    expect(uptime([{ checks: 0, failures: 0 }])).toBeNull();
    expect(
      uptime([
        { checks: 10, failures: 1 },
        { checks: 10, failures: 0 },
      ]),
    ).toBe(0.95);
  });
});

describe('access', () => {
  const tokens = { ingest: ['w'], read: ['r'] };
  it('gives ingest tokens everything and read tokens GET only', () => {
    expect(roleOf('Bearer w', tokens)).toBe('ingest');
    expect(roleOf('Bearer r', tokens)).toBe('read');
    expect(roleOf('Bearer x', tokens)).toBeUndefined();
    expect(roleOf(undefined, tokens)).toBeUndefined();
    expect(authorize('Bearer w', tokens, 'POST', '/v1/results')).toBe('ingest');
    expect(authorize('Bearer r', tokens, 'GET', '/v1/probes')).toBe('read');
    expect(() => authorize('Bearer r', tokens, 'POST', '/v1/results')).toThrow(/read-only/);
    expect(() => authorize('Basic r', tokens, 'GET', '/v1/probes')).toThrow(/bearer token/);
  });
});

describe('badges', () => {
  const config = parseConfig({
    gates: { minCoverage: 80 },
    project: 'shop',
    probes: [
      { name: 'api', url: 'https://shop.example.com/health' },
      { name: 'admin', url: 'https://shop.example.com/admin' },
    ],
    heartbeats: [{ name: 'api', project: 'secret', cron: '0 * * * *' }],
    badges: { public: { projects: ['shop'], probes: ['api'] } },
  });
  const clock = { now: () => new Date('2026-11-25T10:30:00.000Z') };

  it('says which badges are public', () => {
    expect(badgeIsPublic(config, { project: 'shop' })).toBe(true);
    expect(badgeIsPublic(config, { project: 'other' })).toBe(false);
    expect(badgeIsPublic(config, { project: 'shop', probe: 'api' })).toBe(true);
    expect(badgeIsPublic(config, { project: 'shop', probe: 'admin' })).toBe(false);
    // The public probe's name in another project: the heartbeat `secret/api` stays private.
    expect(badgeIsPublic(config, { project: 'secret', probe: 'api' })).toBe(false);
    expect(badgeIsPublic(config, { project: 'shop', probe: 'unknown' })).toBe(false);
  });

  it('reports the gate and the coverage of a branch', async () => {
    const catalog = new MemoryRunCatalog();
    expect(await gateBadge({ catalog }, 'shop', 'main')).toEqual({
      label: 'gate',
      message: 'unknown',
      tone: 'unknown',
    });
    catalog.recordSync(runEntry({}));
    expect((await gateBadge({ catalog }, 'shop', 'main')).message).toBe('passing');
    catalog.recordSync(runEntry({ runId: 'r2', suite: 'e2e', gate: 'fail' }));
    expect((await gateBadge({ catalog }, 'shop', 'main')).tone).toBe('bad');
    expect((await coverageBadge({ catalog, config }, 'shop', 'main')).message).toBe('unknown');
    const coverage = (runId: string, at: string, lines: number) =>
      runEntry({
        runId,
        kind: 'coverage',
        ingestedAt: at,
        facts: { coverage: { lines, branches: 0, functions: 0 } },
      });
    catalog.recordSync(coverage('c1', '2026-11-25T09:00:00.000Z', 91.234));
    catalog.recordSync(coverage('c2', '2026-11-25T11:00:00.000Z', 70));
    expect(await coverageBadge({ catalog, config }, 'shop', 'main')).toEqual({
      label: 'coverage',
      message: '70%',
      tone: 'bad',
    });
    // A stage's minCoverage applies on that stage, as in the gate.
    const staged = parseConfig({
      gates: { minCoverage: 80 },
      stages: { dev: { gates: { minCoverage: 60 } } },
    });
    expect(
      (await coverageBadge({ catalog, config: staged, stage: 'dev' }, 'shop', 'main')).tone,
    ).toBe('good');
    expect(
      (await coverageBadge({ catalog, config: staged, stage: 'prod' }, 'shop', 'main')).tone,
    ).toBe('bad');
  });

  it('takes the newest coverage run whatever the order it was recorded in', async () => {
    // Prepare
    const catalog = new MemoryRunCatalog();
    const coverage = (runId: string, at: string, lines: number) =>
      runEntry({
        runId,
        kind: 'coverage',
        ingestedAt: at,
        facts: { coverage: { lines, branches: null, functions: null } },
      });
    catalog.recordSync(coverage('new', '2026-11-25T11:00:00.000Z', 85));
    catalog.recordSync(coverage('old', '2026-11-25T09:00:00.000Z', 10));

    // Act
    const badge = await coverageBadge({ catalog, config }, 'shop', 'main');

    // Assess
    expect(badge).toEqual({ label: 'coverage', message: '85%', tone: 'good' });
  });

  it('grades uptime good from 99.9% and bad below 99%', async () => {
    // Prepare
    const { MemoryProbeHistoryStore } = await import(
      '../../functions/adapters/local/status-memory'
    );
    const grade = async (down: number) => {
      const probes = new MemoryProbeHistoryStore(clock);
      for (let i = 0; i < 1000; i++)
        probes.recordSync(
          sample(`2026-11-2${i % 5}T0${i % 10}:00:00.000Z`, i, i < down ? 'down' : 'up'),
        );
      return (await uptimeBadge({ probes, clock }, 'shop', 'api')).tone;
    };

    // Act + Assess
    expect([await grade(0), await grade(20)]).toEqual(['good', 'bad']);
  });

  it('reports 30 days of uptime', async () => {
    const { MemoryProbeHistoryStore } = await import(
      '../../functions/adapters/local/status-memory'
    );
    const probes = new MemoryProbeHistoryStore(clock);
    expect((await uptimeBadge({ probes, clock }, 'shop', 'api')).tone).toBe('unknown');
    for (let i = 0; i < 1000; i++)
      probes.recordSync(
        sample(`2026-11-2${i % 5}T0${i % 10}:00:00.000Z`, i, i < 5 ? 'down' : 'up'),
      );
    expect(await uptimeBadge({ probes, clock }, 'shop', 'api')).toEqual({
      label: 'uptime 30d',
      message: '99.5%',
      tone: 'warn',
    });
  });
});

const sample = (at: string, n: number, status: 'up' | 'down'): ProbeCompletedDetail => ({
  metadata: { project: 'shop', probe: 'api', correlationId: `c${n}`, checkedAt: at, location: 'l' },
  url: 'https://x',
  method: 'GET',
  status,
  latencyMs: 10,
  attempt: 1,
  warnings: [],
  severity: 'critical',
  tags: [],
});

describe('local store: dashboard data', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports the journals of an earlier version once, skipping a torn line and a line that is no record, and keeps it across restarts', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-status-'));
    const clock = { now: () => new Date('2026-11-25T10:30:00.000Z') };
    const journal = join(dir, 'status');
    await mkdir(journal);
    const down = sample('2026-11-25T10:00:00.000Z', 1, 'down');
    // A redelivered sample, the same with a flipped bit in a key (still JSON, not a sample),
    // then half a line left by a crash mid-append.
    const flipped = JSON.stringify(down).replace('"metadata"', '"metadatq"');
    await writeFile(
      join(journal, 'probes.jsonl'),
      `${JSON.stringify(down)}\n${JSON.stringify(down)}\n${flipped}\n{"metadata":`,
    );
    await writeFile(join(journal, 'runs.jsonl'), `${JSON.stringify(runEntry({}))}\n`);
    await writeFile(
      join(journal, 'incidents.jsonl'),
      `${JSON.stringify({
        checkKey: 'probe:shop/api',
        incidentId: 'i1',
        kind: 'FIRING',
        source: 'probe',
        project: 'shop',
        severity: 'critical',
        title: 't',
        summary: 's',
        since: '2026-11-25T10:00:00.000Z',
        at: '2026-11-25T10:01:00.000Z',
        correlationId: 'c',
      })}\n`,
    );

    const first = LocalStore.open(dir, { clock });
    expect(await importStatusJournal(dir, first.status, 90)).toEqual({
      probes: 2,
      incidents: 1,
      runs: 1,
      skipped: 2,
    });
    expect(await importStatusJournal(dir, first.status, 90)).toBeUndefined();
    first.close();

    const second = LocalStore.open(dir, { clock });
    const { probes, catalog, incidents } = second.status;
    const [rollup] = await probes.rollups({
      project: 'shop',
      probe: 'api',
      resolution: 'hour',
      from: '2026-11-25T00:00:00.000Z',
      to: '2026-11-26T00:00:00.000Z',
    });
    expect(rollup).toMatchObject({ checks: 1, failures: 1 });
    expect(await probes.failures({ project: 'shop', probe: 'api', limit: 5 })).toHaveLength(1);
    expect(await probes.latest('shop')).toHaveLength(1);
    expect((await catalog.get('shop', 'r1'))?.runId).toBe('r1');
    expect(await catalog.latest()).toHaveLength(1);
    expect(
      await catalog.trend({ project: 'shop', kind: 'tests', branch: 'main', limit: 5 }),
    ).toHaveLength(1);
    expect(
      await incidents.list({ from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' }),
    ).toHaveLength(1);

    // Retention: pruning past the sample drops the failure and the rollups.
    await probes.prune('2026-11-26T00:00:00.000Z');
    expect(await probes.failures({ project: 'shop', probe: 'api', limit: 5 })).toEqual([]);
    second.close();
  });

  it('expires a run with its digest, and skips a corrupt digest (the run page then reads the archive)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-status-'));
    let at = Date.parse('2026-11-25T10:30:00.000Z');
    const store = LocalStore.open(dir, { clock: { now: () => new Date(at) } });
    try {
      const { catalog } = store.status;
      const digest = { warnings: [], failedTests: [], failedTestsTotal: 3 };
      await catalog.record(runEntry({ digest }), 1);
      await catalog.record(runEntry({ runId: 'r2', digest }), 2);
      store.db.db.exec("UPDATE run_digests SET body = '{' WHERE run_id = 'r2'");
      expect((await catalog.get('shop', 'r1'))?.digest).toEqual(digest);
      expect(await catalog.get('shop', 'r2')).not.toHaveProperty('digest');
      // A day and a half later, a newer run: retention counts from the newest record.
      at += 1.5 * 86_400_000;
      await catalog.record(runEntry({ runId: 'r3', ingestedAt: new Date(at).toISOString() }), 2);
      await catalog.prune();
      expect(await catalog.get('shop', 'r1')).toBeUndefined();
      const left = store.db.db.prepare('SELECT run_id FROM run_digests').all();
      expect(left).toEqual([{ run_id: 'r2' }]);
    } finally {
      store.close();
    }
  });

  it('imports a journal folder with only some of its files, and renames it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-status-'));
    await mkdir(join(dir, 'status'));
    await writeFile(join(dir, 'status', 'runs.jsonl'), `${JSON.stringify(runEntry({}))}\n`);
    const store = LocalStore.open(dir);
    try {
      expect(await importStatusJournal(dir, store.status, 90)).toEqual({
        probes: 0,
        incidents: 0,
        runs: 1,
        skipped: 0,
      });
      expect((await store.status.catalog.get('shop', 'r1'))?.runId).toBe('r1');
      expect(existsSync(join(dir, 'status.imported', 'runs.jsonl'))).toBe(true);
    } finally {
      store.close();
    }
  });
});

describe('in-memory status stores', () => {
  it('prune drops what is older than the cutoff and keeps the rest, redeliveries included', async () => {
    const { MemoryProbeHistoryStore } = await import(
      '../../functions/adapters/local/status-memory'
    );
    const probes = new MemoryProbeHistoryStore({
      now: () => new Date('2026-11-25T10:30:00.000Z'),
    });
    const old = sample('2026-11-20T10:00:00.000Z', 1, 'down');
    const recent = sample('2026-11-25T10:00:00.000Z', 2, 'down');
    probes.recordSync(old);
    probes.recordSync(recent);
    await probes.prune('2026-11-24T00:00:00.000Z');
    const window = { project: 'shop', probe: 'api', from: '2026-11-01T00:00:00.000Z' };
    const to = '2026-11-26T00:00:00.000Z';
    expect(
      (await probes.rollups({ ...window, to, resolution: 'hour' })).map((r) => r.bucketStart),
    ).toEqual(['2026-11-25T10:00:00.000Z']);
    expect(
      (await probes.failures({ project: 'shop', probe: 'api', limit: 5 })).map((f) => f.checkedAt),
    ).toEqual([recent.metadata.checkedAt]);
    // The recent sample is still known: its redelivery does not count twice.
    probes.recordSync(recent);
    expect((await probes.rollups({ ...window, to, resolution: 'hour' }))[0]).toMatchObject({
      checks: 1,
    });
  });

  it('lists a trend newest first whatever the order it was recorded in', async () => {
    const catalog = new MemoryRunCatalog();
    for (const [runId, at] of [
      ['b', '2026-11-25T11:00:00.000Z'],
      ['a', '2026-11-25T09:00:00.000Z'],
      ['c', '2026-11-25T12:00:00.000Z'],
    ] as const)
      catalog.recordSync(runEntry({ runId, ingestedAt: at }));
    const trend = await catalog.trend({ project: 'shop', kind: 'tests', branch: 'main', limit: 2 });
    expect(trend.map((r) => r.runId)).toEqual(['c', 'b']);
  });
});

describe('status subscriber', () => {
  it('ignores events it does not record and refuses invalid ones', async () => {
    const { recordStatusEvent } = await import('../../functions/core/status/service');
    const { createStatusHandler } = await import('../../functions/status/handler');
    const catalog = new MemoryRunCatalog();
    const deps = {
      probes: new (
        await import('../../functions/adapters/local/status-memory')
      ).MemoryProbeHistoryStore(),
      incidents: new (
        await import('../../functions/adapters/local/status-memory')
      ).MemoryIncidentStore(),
      catalog,
      ttlDays: 90,
    };
    const flaky = {
      source: 'vigil.history',
      detailType: 'Test Flaky Detected',
      detail: {},
    } as unknown as Parameters<typeof recordStatusEvent>[0];
    expect(await recordStatusEvent(flaky, deps)).toBe('ignored');
    await expect(
      createStatusHandler(deps)({
        version: '0',
        id: '1',
        source: 'vigil.probe',
        account: 'a',
        time: 't',
        region: 'r',
        resources: [],
        'detail-type': 'Probe Completed',
        detail: { nope: true },
      }),
    ).rejects.toThrow(/Invalid Probe Completed event/);
  });

  it('shows a heartbeat beside the probes: its status now and why it went down', async () => {
    const { recordStatusEvent } = await import('../../functions/core/status/service');
    const { MemoryProbeHistoryStore, MemoryIncidentStore } = await import(
      '../../functions/adapters/local/status-memory'
    );
    const deps = {
      probes: new MemoryProbeHistoryStore(),
      incidents: new MemoryIncidentStore(),
      catalog: new MemoryRunCatalog(),
      ttlDays: 90,
    };
    const missed = {
      source: 'vigil.heartbeat',
      detailType: 'Heartbeat Checked',
      detail: {
        metadata: {
          project: 'ops',
          heartbeat: 'nightly-backup',
          correlationId: 'c1',
          checkedAt: '2026-12-03T02:40:00.000Z',
          location: 'local',
        },
        status: 'down',
        outcome: 'missed',
        message: 'no ping since 2026-12-02T02:31:00.000Z (expected by 02:35)',
        severity: 'critical',
        tags: [],
      },
    } as unknown as Parameters<typeof recordStatusEvent>[0];
    expect(await recordStatusEvent(missed, deps)).toBe('probe');
    expect(await deps.probes.latest('ops')).toEqual([
      expect.objectContaining({ probe: 'nightly-backup', status: 'down' }),
    ]);
    expect(
      await deps.probes.failures({ project: 'ops', probe: 'nightly-backup', limit: 1 }),
    ).toEqual([
      expect.objectContaining({
        assertion: 'heartbeat:missed',
        message: 'no ping since 2026-12-02T02:31:00.000Z (expected by 02:35)',
      }),
    ]);
  });
});

describe('run catalog entries', () => {
  const metadata = {
    project: 'shop',
    runId: 'r',
    correlationId: 'c',
    format: 'k6',
    ingestedAt: '2026-11-25T10:00:00.000Z',
    archive: { uri: 'mem://a', bytes: 1, sha256: 'a'.repeat(64) },
    normalized: { uri: 'mem://n', bytes: 1, sha256: 'b'.repeat(64) },
  };
  const gate = { status: 'pass' as const, checks: [] };

  it('keeps the headline figures of each kind of run', async () => {
    const { runEntryOf } = await import('../../functions/core/status/catalog');
    const load = (latencyMs: Record<string, number>) =>
      runEntryOf('load', {
        metadata,
        gate,
        summary: { requests: 10, failedRequests: 1, errorRate: 0.1, latencyMs, thresholds: [] },
      }).facts;
    expect(load({ p95: 200, p99: 300 })).toEqual({
      load: { requests: 10, errorRate: 0.1, p95Ms: 200, p99Ms: 300 },
    });
    expect(load({})).toEqual({ load: { requests: 10, errorRate: 0.1 } });
    const metric = { pct: 50, covered: 1, total: 2 };
    expect(
      runEntryOf('coverage', {
        metadata,
        gate,
        summary: { lines: metric, branches: metric, functions: metric, statements: metric },
      }).facts,
    ).toEqual({ coverage: { lines: 50, branches: 50, functions: 50, statements: 50 } });
    const bench = runEntryOf('benchmark', {
      metadata: { ...metadata, suite: 's', branch: 'b', commit: 'c1' },
      gate,
      summary: { benchmarks: [{ name: 'x', unit: 'ms', value: 1 }] },
    });
    expect(bench).toMatchObject({
      facts: { benchmarks: 1 },
      suite: 's',
      branch: 'b',
      commit: 'c1',
    });
    // An event cut to the size limit counts every benchmark of the report.
    const cut = runEntryOf('benchmark', {
      metadata,
      gate,
      summary: { benchmarks: [{ name: 'x', unit: 'ms', value: 1 }] },
      benchmarksTotal: 3400,
    });
    expect(cut.facts).toEqual({ benchmarks: 3400 });
  });
});
