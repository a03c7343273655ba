import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  MemoryIncidentStore,
  MemoryProbeHistoryStore,
  MemoryRunCatalog,
} from '../../functions/adapters/local/status-memory';
import { parseConfig, type VigilConfigInput } from '../../functions/core/config';
import type {
  AlertNotification,
  ArchivePointer,
  ProbeCompletedDetail,
  VigilEvent,
} from '../../functions/core/events';
import { testId } from '../../functions/core/history/types';
import type { ArchiveReader } from '../../functions/core/ports';
import type {
  ProbeDetailAnswer,
  ProbeSummary,
  ProbesAnswer,
  ProjectOverview,
  ProjectsAnswer,
  PublicStatus,
  RunDetailAnswer,
} from '../../functions/core/status/api';
import { parseStatusPath } from '../../functions/core/status/queries';
import { createIngestHandler, type IngestHandlerDeps } from '../../functions/ingest/handler';
import type { StatusStores } from '../../functions/ingest/status-routes';
import { createStatusHandler } from '../../functions/status/handler';
import { apiEvent, MemoryArchive, MemoryLedger, MemoryPublisher } from '../helpers/fakes';
import { MemoryHistory } from '../helpers/memory-history';

const INGEST = 'ingest-token';
const READ = 'read-token';
const NOW = '2026-11-25T10:30:00.000Z';
const HOSTILE = '<img src=x onerror=alert(1)>';

const fixture = (path: string): Buffer => readFileSync(join(__dirname, '../fixtures/corpus', path));

const baseConfig: VigilConfigInput = {
  project: 'shop',
  probes: [
    {
      name: 'checkout',
      url: 'https://secret.example.com/internal/health',
      tags: ['public'],
      runbookUrl: 'https://runbooks.example.com/checkout',
    },
    // Credentials and a key in its URL: shown to readers without them.
    {
      name: 'admin',
      url: 'https://ops:hunter2pass@admin.example.com/status?apikey=URLKEY123456',
      tags: ['private'],
    },
  ],
  alerts: {
    maintenance: [
      {
        probes: ['checkout'],
        start: '2026-11-26T00:00:00Z',
        end: '2026-11-26T02:00:00Z',
        reason: 'DB upgrade',
      },
    ],
  },
  statusPage: { title: 'Shop status', components: [{ name: 'Checkout', tags: ['public'] }] },
};

let now = Date.parse(NOW);
let deps: IngestHandlerDeps;
let publisher: MemoryPublisher;
let archive: MemoryArchive;
let probes: MemoryProbeHistoryStore;
let incidents: MemoryIncidentStore;
/** The status subscriber reads the normalized result for the run's digest (as both runtimes do). */
let digests: boolean;

const readerOf = (a: MemoryArchive): ArchiveReader => ({
  async get(pointer: ArchivePointer) {
    const stored = a.objects.get(pointer.uri.replace(/^mem:\/\//, ''));
    if (!stored) throw new Error(`NoSuchKey: ${pointer.uri}`);
    return stored.body;
  },
});

const setup = (input: VigilConfigInput = baseConfig): void => {
  const clock = { now: () => new Date(now) };
  digests = true;
  publisher = new MemoryPublisher();
  archive = new MemoryArchive();
  probes = new MemoryProbeHistoryStore(clock);
  incidents = new MemoryIncidentStore();
  deps = {
    config: parseConfig(input),
    publisher,
    archive,
    archiveReader: readerOf(archive),
    ledger: new MemoryLedger(),
    clock,
    tokens: { tokens: async () => [INGEST] },
    readTokens: { tokens: async () => [READ] },
    version: 'test',
    history: new MemoryHistory(),
    status: { probes, incidents, catalog: new MemoryRunCatalog() },
  };
};

beforeEach(() => {
  now = Date.parse(NOW);
  setup();
});

/** A JSON answer, read field by field. */
// biome-ignore lint/suspicious/noExplicitAny: answers of many shapes, checked by the assertions
type Answer = any;

const call = async (
  method: string,
  path: string,
  opts: { token?: string; query?: Record<string, string>; body?: Buffer } = {},
) => {
  const res = await createIngestHandler(deps)(
    apiEvent({
      method,
      path,
      query: opts.query ?? {},
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      ...(opts.body ? { body: opts.body } : {}),
    }),
  );
  return {
    status: res.statusCode,
    headers: res.headers,
    text: res.body ?? '',
    body: (() => {
      try {
        return JSON.parse(res.body ?? '{}');
      } catch {
        return undefined;
      }
    })() as Answer,
  };
};

/** Deliver what was published to the status subscriber, as the bus would. */
const deliver = async (events: VigilEvent[] = publisher.events.splice(0)): Promise<void> => {
  const handler = createStatusHandler({
    ...(deps.status as StatusStores),
    ttlDays: 90,
    ...(digests ? { archive: readerOf(archive) } : {}),
  });
  for (const e of events)
    await handler({
      version: '0',
      id: 'x',
      source: e.source,
      account: 'local',
      time: NOW,
      region: 'local',
      resources: [],
      'detail-type': e.detailType,
      detail: e.detail,
    });
};

const post = async (file: string, query: Record<string, string>) => {
  const res = await call('POST', '/v1/results', {
    token: INGEST,
    query: { project: 'shop', branch: 'main', ...query },
    body: fixture(file),
  });
  expect(res.status).toBe(202);
  await deliver();
  return res.body as { runId: string };
};

const sample = (
  probe: string,
  at: string,
  status: 'up' | 'down',
  latencyMs = 100,
  extra: Partial<ProbeCompletedDetail> = {},
): ProbeCompletedDetail => ({
  metadata: { project: 'shop', probe, correlationId: `c-${at}`, checkedAt: at, location: 'local' },
  url: 'https://secret.example.com/internal/health',
  method: 'GET',
  status,
  latencyMs,
  attempt: 1,
  ...(status === 'down'
    ? { statusCode: 500, failure: { assertion: 'status', message: 'secret error text 500' } }
    : {}),
  warnings: [],
  severity: 'critical',
  tags: [],
  ...extra,
});

const alert = (kind: AlertNotification['kind'], at: string): AlertNotification => ({
  checkKey: 'probe:shop/checkout',
  incidentId: 'inc-1',
  kind,
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: 'checkout is down',
  summary: 'secret summary',
  since: '2026-11-25T09:58:00.000Z',
  at,
  lastError: 'secret error text 500',
  correlationId: 'corr-1',
  ...(kind === 'RESOLVED' ? { downtimeSeconds: 240 } : {}),
});

const probeEvents = (details: ProbeCompletedDetail[]): VigilEvent[] =>
  details.map((detail) => ({
    source: 'vigil.probe',
    detailType: 'Probe Completed',
    detail,
  }));

const alertEvents = (ns: AlertNotification[]): VigilEvent[] =>
  ns.map((detail) => ({ source: 'vigil.alert', detailType: 'Alert State Changed', detail }));

describe('tokens', () => {
  it('refuses every private route without a token (401) and a read token on POST (403)', async () => {
    for (const path of [
      '/v1/projects',
      '/v1/probes',
      '/v1/incidents',
      '/v1/probes/shop/checkout',
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect((await call('GET', path, { token: 'wrong' })).status).toBe(401);
    }
    const posted = await call('POST', '/v1/results', {
      token: READ,
      query: { project: 'shop' },
      body: fixture('junit/dorny-jest-junit.xml'),
    });
    expect(posted.status).toBe(403);
    expect(posted.body.error.code).toBe('forbidden');
    expect(posted.body.error.message).toContain('read-only');
    expect(publisher.events).toHaveLength(0);
  });

  it('lets a read token call every GET route, the history API included', async () => {
    await post('junit/dorny-jest-junit.xml', {});
    expect((await call('GET', '/v1/projects', { token: READ })).status).toBe(200);
    // Past the token check: the (empty) memory history answers.
    const history = await call('GET', '/v1/projects/shop/runs', { token: READ });
    expect(history.body.error.code).toBe('not_found');
  });

  it('answers 503 for the dashboard routes when no status store is configured', async () => {
    delete deps.status;
    const res = await call('GET', '/v1/projects', { token: READ });
    expect(res.status).toBe(503);
  });
});

describe('projects and runs', () => {
  it('lists every project with its latest run per branch, trends and open incidents', async () => {
    const first = await post('junit/dorny-jest-junit.xml', { commit: 'aaa111' });
    now += 60_000;
    await post('cobertura/grandlinex-core-istanbul-cobertura.xml', { commit: 'aaa111' });
    now += 60_000;
    await post('junit/dorny-jest-junit.xml', { branch: 'feature/x', runId: 'feature-run' });
    await deliver(alertEvents([alert('FIRING', '2026-11-25T10:00:00.000Z')]));

    const res = await call('GET', '/v1/projects', { token: INGEST });
    expect(res.status).toBe(200);
    const answer = res.body as ProjectsAnswer;
    expect(answer.projects).toHaveLength(1);
    const [shop] = answer.projects as [ProjectOverview];
    expect(shop.project).toBe('shop');
    expect(shop.branches.map((b) => b.branch)).toEqual(['feature/x', 'main']);
    const main = shop.branches[1] as ProjectOverview['branches'][number];
    expect(main.latest.map((r) => r.kind).sort()).toEqual(['coverage', 'tests']);
    const tests = main.latest.find((r) => r.kind === 'tests');
    expect(tests).toMatchObject({ runId: first.runId, commit: 'aaa111', gate: 'fail' });
    expect(tests?.facts.tests?.failed).toBeGreaterThan(0);
    expect(shop.trends.tests).toHaveLength(1);
    expect(shop.trends.tests[0]?.passRate).toBeGreaterThan(0);
    expect(shop.trends.tests[0]?.passRate).toBeLessThan(1);
    expect(shop.trends.coverage[0]?.linesPct).toBeGreaterThan(0);
    expect(shop.openIncidents).toBe(1);
    expect(shop.flakyTests).toBe(0);
    expect(
      (await call('GET', '/v1/projects', { token: READ, query: { x: '1' } })).body.error.message,
    ).toContain('Unknown query parameter "x"');
  });

  it('marks the failed tests of a run that the history finds flaky', async () => {
    const { runId } = await post('junit/dorny-jest-junit.xml', {});
    const path = `/v1/projects/shop/runs/${runId}`;
    const before = (await call('GET', path, { token: READ })).body as RunDetailAnswer;
    const [first, ...others] = before.failedTests;
    expect(first).toBeDefined();
    expect(before.failedTests.every((t) => t.flaky === undefined)).toBe(true);
    const since = '2026-11-20T10:00:00.000Z';
    const test = first as (typeof before.failedTests)[number];
    await (deps.history as MemoryHistory).putTest(
      {
        project: 'shop',
        id: testId(test),
        suite: test.suite,
        classname: test.classname,
        name: test.name,
        outcomes: [],
        flaky: { reason: 'same-commit', explanation: 'passed and failed on one commit', since },
        version: 1,
      },
      0,
    );
    const after = (await call('GET', path, { token: READ })).body as RunDetailAnswer;
    expect(after.failedTests[0]?.flaky).toEqual({ reason: 'same-commit', since });
    expect(after.failedTests.slice(1)).toEqual(others);
  });

  it('marks a flaky failed test whose name the run digest clipped, by the start of its name', async () => {
    const long = `renders ${'x'.repeat(600)}`;
    const junit = Buffer.from(
      `<testsuite name="s" tests="1" failures="1"><testcase classname="c" name="${long}" time="0.1"><failure message="no"/></testcase></testsuite>`,
    );
    const posted = await call('POST', '/v1/results', {
      token: INGEST,
      query: { project: 'shop', branch: 'main' },
      body: junit,
    });
    expect(posted.status).toBe(202);
    await deliver();
    const { runId } = posted.body;
    const since = '2026-11-20T10:00:00.000Z';
    await (deps.history as MemoryHistory).putTest(
      {
        project: 'shop',
        id: testId({ suite: 's', classname: 'c', name: long }),
        suite: 's',
        classname: 'c',
        name: long,
        outcomes: [],
        flaky: { reason: 'flip-rate', explanation: 'flips', since },
        version: 1,
      },
      0,
    );
    const detail = (await call('GET', `/v1/projects/shop/runs/${runId}`, { token: READ }))
      .body as RunDetailAnswer;
    expect(detail.failedTests[0]?.name).toHaveLength(512);
    expect(detail.failedTests[0]?.flaky).toEqual({ reason: 'flip-rate', since });
  });

  it('shows a run with its gate checks, failed tests with messages and stack traces, and the raw report', async () => {
    const { runId } = await post('junit/dorny-jest-junit.xml', {});
    const res = await call('GET', `/v1/projects/shop/runs/${runId}`, { token: READ });
    expect(res.status).toBe(200);
    const detail = res.body as RunDetailAnswer;
    expect(detail.run.runId).toBe(runId);
    expect(detail.gate.status).toBe('fail');
    expect(detail.gate.checks.length).toBeGreaterThan(0);
    expect(detail.failedTestsTotal).toBeGreaterThan(0);
    expect(detail.failedTests[0]?.message).toBeTruthy();
    // The stack trace and where it failed, read from the archived normalized result.
    expect(detail.failedTests[0]?.details).toContain('\n    at ');
    expect(detail.failedTests[0]?.line).toBeGreaterThan(0);
    expect(detail.run.correlationId).toBeTruthy();
    expect(detail.reportPath).toBe(`/v1/projects/shop/runs/${runId}/report`);

    const raw = await call('GET', detail.reportPath, { token: READ });
    expect(raw.status).toBe(200);
    expect(raw.text).toBe(fixture('junit/dorny-jest-junit.xml').toString('utf8'));
    expect(raw.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(raw.headers['x-content-type-options']).toBe('nosniff');
    expect(raw.headers['content-security-policy']).toContain('sandbox');
    expect(raw.headers['content-disposition']).toBe(`inline; filename="${runId}.xml"`);

    // The failed tests and warnings come from the digest taken when the run was recorded: the
    // run page no longer reads the archive.
    delete deps.archiveReader;
    const again = await call('GET', `/v1/projects/shop/runs/${runId}`, { token: READ });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(detail);
  });

  it('names the bad part of a run path and 404s an unknown run', async () => {
    const bad = await call('GET', '/v1/projects/shop/runs/bad$id', { token: READ });
    expect(bad.status).toBe(400);
    expect(bad.body.error.location.path).toBe('path.runId');
    const badProject = await call('GET', '/v1/projects/-x/runs/r1', { token: READ });
    expect(badProject.body.error.location.path).toBe('path.project');
    const missing = await call('GET', '/v1/projects/shop/runs/nope', { token: READ });
    expect(missing.status).toBe(404);
    expect((await call('GET', '/v1/projects/shop/runs/nope/report', { token: READ })).status).toBe(
      404,
    );
  });

  it('reads runs of projects with "/" in their name', async () => {
    expect(parseStatusPath('/v1/projects/shop/web/runs/r1')).toEqual({
      route: 'run',
      project: 'shop/web',
      runId: 'r1',
    });
    expect(parseStatusPath('/v1/projects/shop%2Fweb/runs/r1/report')).toEqual({
      route: 'report',
      project: 'shop/web',
      runId: 'r1',
    });
    // The history routes keep their meaning.
    expect(parseStatusPath('/v1/projects/shop/runs')).toBeUndefined();
    expect(parseStatusPath('/v1/projects/x/runs/tests')).toBeUndefined();
    expect(parseStatusPath('/v1/projects/x/tests')).toBeUndefined();
    // A probe's project may hold `/` (decoded once from `%2F`); probe names never do.
    expect(parseStatusPath('/v1/probes/shop/web/checkout')).toEqual({
      route: 'probe',
      project: 'shop/web',
      probe: 'checkout',
    });
    expect(parseStatusPath('/v1/probes/shop%2Fweb/checkout')).toEqual({
      route: 'probe',
      project: 'shop/web',
      probe: 'checkout',
    });
    expect(parseStatusPath('/v1/probes/checkout')).toBeUndefined();
    expect(parseStatusPath('/v1/probes/shop/')).toBeUndefined();
    expect(parseStatusPath('/v1/other')).toBeUndefined();
  });
});

describe('edges', () => {
  it('reads the archive for a run recorded without a digest, and answers 503 without an archive reader', async () => {
    digests = false;
    const { runId } = await post('junit/dorny-jest-junit.xml', {});
    const detail = (await call('GET', `/v1/projects/shop/runs/${runId}`, { token: READ }))
      .body as RunDetailAnswer;
    expect(detail.failedTestsTotal).toBeGreaterThan(0);
    expect(detail.failedTests[0]?.details).toContain('\n    at ');
    delete deps.archiveReader;
    const res = await call('GET', `/v1/projects/shop/runs/${runId}`, { token: READ });
    expect(res.status).toBe(503);
  });

  it('lists a probe that reports but is no longer configured, and counts no flaky tests without history', async () => {
    delete deps.history;
    await deliver(probeEvents([sample('retired', '2026-11-25T10:00:00.000Z', 'up')]));
    const probes = (await call('GET', '/v1/probes', { token: READ })).body as ProbesAnswer;
    expect(probes.probes.find((p) => p.probe === 'retired')).toMatchObject({
      tags: [],
      status: 'up',
    });
    expect(probes.probes.find((p) => p.probe === 'retired')).not.toHaveProperty('url');
    const detail = await call('GET', '/v1/probes/shop/retired', { token: READ });
    expect(detail.status).toBe(200);
    expect(detail.body.summary).not.toHaveProperty('url');
    const none = await call('GET', '/v1/probes/shop/checkout', { token: READ });
    expect(none.body.summary.status).toBe('unknown');
  });

  it('limits open incidents and describes recurring maintenance', async () => {
    setup({
      ...baseConfig,
      alerts: { maintenance: [{ cron: '0 3 * * *', durationMinutes: 30, reason: 'nightly' }] },
    });
    await deliver(
      alertEvents([
        alert('FIRING', '2026-11-25T10:00:00.000Z'),
        { ...alert('FIRING', '2026-11-25T10:01:00.000Z'), incidentId: 'inc-2' },
      ]),
    );
    const open = await call('GET', '/v1/incidents', {
      token: READ,
      query: { open: 'true', limit: '1' },
    });
    expect(open.body.incidents.map((i: { incidentId: string }) => i.incidentId)).toEqual(['inc-2']);
    const d = (await call('GET', '/v1/probes/shop/checkout', { token: READ }))
      .body as ProbeDetailAnswer;
    expect(d.maintenance).toEqual([
      { reason: 'nightly', cron: '0 3 * * *', durationMinutes: 30, active: false },
    ]);
    // What on-call reads when it fires; the admin probe has none.
    expect(d.summary.runbookUrl).toBe('https://runbooks.example.com/checkout');
    const admin = (await call('GET', '/v1/probes/shop/admin', { token: READ })).body;
    expect(admin.summary).not.toHaveProperty('runbookUrl');
  });
});

describe('probes and incidents', () => {
  const feed = async () => {
    const details: ProbeCompletedDetail[] = [];
    // 10 days of one sample per hour; the latest hour down.
    for (let h = 240; h >= 1; h--) {
      const at = new Date(now - h * 3_600_000).toISOString();
      details.push(sample('checkout', at, h === 1 ? 'down' : 'up', 100 + (h % 10)));
    }
    details.push(sample('admin', new Date(now - 60_000).toISOString(), 'up', 50));
    await deliver(probeEvents(details));
    await deliver(
      alertEvents([
        alert('FIRING', '2026-11-25T10:00:00.000Z'),
        alert('FIRING', '2026-11-25T10:00:00.000Z'),
      ]),
    );
  };

  it('lists every probe with its status, uptimes and a 24 h sparkline', async () => {
    await feed();
    const res = await call('GET', '/v1/probes', { token: READ });
    const answer = res.body as ProbesAnswer;
    expect(answer.probes.map((p) => p.probe)).toEqual(['admin', 'checkout']);
    const checkout = answer.probes[1] as ProbeSummary;
    expect(checkout.status).toBe('down');
    expect(checkout.uptime.h24).toBeCloseTo(22 / 23, 5);
    expect(checkout.uptime.d7).toBeCloseTo(166 / 167, 5);
    expect(checkout.uptime.d30).toBeCloseTo(239 / 240, 5);
    expect(checkout.sparkline).toHaveLength(24);
    expect(checkout.sparkline.at(-1)?.p95).toBeNull();
    expect(checkout.sparkline.at(-2)?.p95).toBeGreaterThan(100);
    expect(checkout.incidentOpen).toBe(true);
    expect(answer.probes[0]?.incidentOpen).toBe(false);
    // The target as alert messages show it: no user info, no query.
    expect(answer.probes[0]?.url).toBe('https://admin.example.com/status');
    const detail = await call('GET', '/v1/probes/shop/admin', { token: READ });
    expect(JSON.stringify([answer, detail.body])).not.toMatch(/hunter2pass|URLKEY/);
  });

  it('marks a probe the config no longer names, whose samples stay, as not configured', async () => {
    // Prepare: samples of a probe since removed from the config, beside the configured ones.
    await feed();
    await deliver(probeEvents([sample('retired', new Date(now - 60_000).toISOString(), 'up', 40)]));

    // Act
    const list = (await call('GET', '/v1/probes', { token: READ })).body as ProbesAnswer;
    const detail = await call('GET', '/v1/probes/shop/retired', { token: READ });

    // Assess: listed with its history, and flagged in the list and in its detail.
    expect(list.probes.map((p) => [p.probe, p.configured])).toEqual([
      ['admin', true],
      ['checkout', true],
      ['retired', false],
    ]);
    expect(detail.status).toBe(200);
    expect((detail.body as ProbeDetailAnswer).summary.configured).toBe(false);
  });

  /** A heartbeat's missed result and the FIRING it opened. */
  const missedHeartbeat = (name: string, incidentId: string): VigilEvent[] => [
    {
      source: 'vigil.heartbeat',
      detailType: 'Heartbeat Checked',
      detail: {
        metadata: {
          project: 'shop',
          heartbeat: name,
          correlationId: `hb-${name}`,
          checkedAt: new Date(now - 60_000).toISOString(),
          location: 'local',
        },
        status: 'down',
        outcome: 'missed',
        message: 'no ping',
        severity: 'critical',
        tags: [],
      },
    },
    ...alertEvents([
      {
        ...alert('FIRING', NOW),
        checkKey: `heartbeat:shop/${name}`,
        incidentId,
        source: 'heartbeat',
      },
    ]),
  ];

  it('lists a configured heartbeat as configured, a heartbeat, with its own incident', async () => {
    // Prepare: a heartbeat's result and its FIRING, beside a probe's FIRING.
    setup({ ...baseConfig, heartbeats: [{ name: 'nightly', periodSeconds: 3600 }] });
    await feed();
    await deliver(missedHeartbeat('nightly', 'inc-hb'));

    // Act
    const list = (await call('GET', '/v1/probes', { token: READ })).body as ProbesAnswer;
    const detail = (await call('GET', '/v1/probes/shop/nightly', { token: READ }))
      .body as ProbeDetailAnswer;

    // Assess
    expect(list.probes.map((p) => [p.probe, p.kind, p.configured, p.incidentOpen])).toEqual([
      ['admin', 'probe', true, false],
      ['checkout', 'probe', true, true],
      ['nightly', 'heartbeat', true, true],
    ]);
    expect(detail.summary).toMatchObject({
      kind: 'heartbeat',
      configured: true,
      status: 'down',
      schedule: { periodSeconds: 3600, graceSeconds: 300 },
    });
    expect(list.probes.find((p) => p.probe === 'checkout')).not.toHaveProperty('schedule');
    expect(detail.incidents.map((i) => i.checkKey)).toEqual(['heartbeat:shop/nightly']);
  });

  it("keeps a removed heartbeat's incidents on its page (its kind went with its config)", async () => {
    // Prepare: a heartbeat's result and its FIRING, the heartbeat no longer in the config.
    await feed();
    await deliver(missedHeartbeat('gone', 'inc-gone'));

    // Act
    const list = (await call('GET', '/v1/probes', { token: READ })).body as ProbesAnswer;
    const detail = (await call('GET', '/v1/probes/shop/gone', { token: READ }))
      .body as ProbeDetailAnswer;

    // Assess
    expect(list.probes.find((p) => p.probe === 'gone')).toMatchObject({
      configured: false,
      incidentOpen: true,
    });
    expect(detail.incidents.map((i) => i.incidentId)).toEqual(['inc-gone']);
  });

  it('details a probe: 90 day bars, latency, failures, incidents, maintenance', async () => {
    await feed();
    const res = await call('GET', '/v1/probes/shop/checkout', { token: READ });
    expect(res.status).toBe(200);
    const d = res.body as ProbeDetailAnswer;
    expect(d.days).toHaveLength(90);
    expect(d.days.at(-1)?.day).toBe('2026-11-25');
    expect(d.days.at(-1)?.state).toBe('down');
    expect(d.days.at(-2)?.state).toBe('up');
    expect(d.days[0]?.state).toBe('none');
    expect(d.latency).toHaveLength(168);
    expect(d.failures).toEqual([
      expect.objectContaining({
        assertion: 'status',
        message: 'secret error text 500',
        statusCode: 500,
      }),
    ]);
    expect(d.incidents).toHaveLength(1);
    expect(d.incidents[0]?.resolvedAt).toBeUndefined();
    expect(d.maintenance).toEqual([
      {
        reason: 'DB upgrade',
        start: '2026-11-26T00:00:00Z',
        end: '2026-11-26T02:00:00Z',
        active: false,
      },
    ]);
    expect((await call('GET', '/v1/probes/shop/nope', { token: READ })).status).toBe(404);
    const bad = await call('GET', '/v1/probes/shop/bad$', { token: READ });
    expect(bad.body.error.location.path).toBe('path.probe');
    // The project follows the project rule (`/` allowed), not the probe name's.
    expect((await call('GET', '/v1/probes/shop/web/nope', { token: READ })).status).toBe(404);
    const badProject = await call('GET', '/v1/probes/shop//web/nope', { token: READ });
    expect(badProject.body.error.location.path).toBe('path.project');
  });

  it('closes incidents and lists them with validated parameters', async () => {
    await feed();
    await deliver(alertEvents([alert('RESOLVED', '2026-11-25T10:05:00.000Z')]));
    const all = await call('GET', '/v1/incidents', { token: READ });
    expect(all.body.incidents).toEqual([
      expect.objectContaining({
        incidentId: 'inc-1',
        resolvedAt: '2026-11-25T10:05:00.000Z',
        downtimeSeconds: 240,
      }),
    ]);
    const open = await call('GET', '/v1/incidents', { token: READ, query: { open: 'true' } });
    expect(open.body.incidents).toEqual([]);
    const other = await call('GET', '/v1/incidents', {
      token: READ,
      query: { project: 'other', days: '90' },
    });
    expect(other.body.incidents).toEqual([]);
    for (const [key, value] of [
      ['open', 'yes'],
      ['days', '91'],
      ['days', '365'],
      ['project', '-x'],
      ['limit', '0'],
    ] as const) {
      const res = await call('GET', '/v1/incidents', { token: READ, query: { [key]: value } });
      expect(res.status, key).toBe(400);
      expect(res.body.error.location.path).toBe(`query.${key}`);
    }
  });
});

describe('public status page', () => {
  it('is readable without a token, cacheable, and leaks nothing the config does not make public', async () => {
    const { runId } = await post('junit/dorny-jest-junit.xml', {});
    const details = [
      sample('checkout', '2026-11-25T10:00:00.000Z', 'up'),
      sample('checkout', '2026-11-25T10:01:00.000Z', 'down'),
      sample('admin', '2026-11-25T10:01:00.000Z', 'down', 10, {
        failure: { assertion: 'status', message: HOSTILE },
      }),
    ];
    await deliver(probeEvents(details));
    await deliver(alertEvents([alert('FIRING', '2026-11-25T10:02:00.000Z')]));
    const res = await call('GET', '/v1/status');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=5');
    const page = res.body as PublicStatus;
    expect(page.title).toBe('Shop status');
    expect(page.overall).toBe('outage');
    expect(page.components).toHaveLength(1);
    expect(page.components[0]).toMatchObject({ name: 'Checkout', status: 'outage', uptime: 0.5 });
    expect(page.components[0]?.days).toHaveLength(90);
    expect(page.incidents).toEqual([
      { components: ['Checkout'], severity: 'critical', startedAt: '2026-11-25T09:58:00.000Z' },
    ]);
    expect(page.maintenance).toEqual([
      {
        reason: 'DB upgrade',
        start: '2026-11-26T00:00:00Z',
        end: '2026-11-26T02:00:00Z',
        active: false,
        components: ['Checkout'],
      },
    ]);
    expect(page.allowFraming).toBe(false);
    for (const secret of [
      'secret',
      'example.com',
      'admin',
      'checkout',
      'shop',
      runId,
      HOSTILE,
      'inc-1',
      'corr-1',
    ])
      expect(res.text, secret).not.toContain(secret);
    expect((await call('GET', '/v1/status', { query: { a: '1' } })).status).toBe(400);
  });

  it('shows a component with some probes down as degraded, and only windows that touch it', async () => {
    setup({
      ...baseConfig,
      alerts: {
        maintenance: [
          { probes: ['admin'], start: '2026-11-26T00:00:00Z', end: '2026-11-26T01:00:00Z' },
          { tags: ['elsewhere'], start: '2026-11-26T00:00:00Z', end: '2026-11-26T01:00:00Z' },
        ],
      },
      statusPage: { title: 'S', components: [{ name: 'Shop', probes: ['checkout', 'admin'] }] },
    });
    await deliver(
      probeEvents([
        sample('checkout', '2026-11-25T10:00:00.000Z', 'up'),
        sample('admin', '2026-11-25T10:00:00.000Z', 'down'),
      ]),
    );
    const status = async () => ((await call('GET', '/v1/status')).body as PublicStatus).overall;
    // A failed sample below the probe's failureThreshold opens no incident: no outage either.
    expect(await status()).toBe('operational');
    const admin = { ...alert('FIRING', '2026-11-25T10:01:00.000Z'), checkKey: 'probe:shop/admin' };
    await deliver(alertEvents([{ ...admin, incidentId: 'inc-admin' }]));
    const page = (await call('GET', '/v1/status')).body as PublicStatus;
    expect(page.components.map((c) => c.status)).toEqual(['degraded']);
    expect(page.overall).toBe('degraded');
    expect(page.maintenance.map((m) => m.components)).toEqual([['Shop']]);
    // Both failing and firing: an outage.
    await deliver(probeEvents([sample('checkout', '2026-11-25T10:01:30.000Z', 'down')]));
    await deliver(alertEvents([alert('FIRING', '2026-11-25T10:02:00.000Z')]));
    expect(await status()).toBe('outage');
    // A check up again is no outage, even with its incident still open (a RESOLVED held back
    // by a maintenance window never reaches the incident store).
    await deliver(probeEvents([sample('checkout', '2026-11-25T10:02:30.000Z', 'up')]));
    expect(await status()).toBe('degraded');
    await deliver(alertEvents([alert('RESOLVED', '2026-11-25T10:03:00.000Z')]));
    await deliver(
      alertEvents([
        { ...admin, kind: 'RESOLVED', at: '2026-11-25T10:03:00.000Z', incidentId: 'inc-admin' },
      ]),
    );
    expect(await status()).toBe('operational');
  });

  it('shows a warning-severity check that fires as degraded, not as an outage', async () => {
    setup({
      ...baseConfig,
      statusPage: { title: 'S', components: [{ name: 'Search', probes: ['checkout'] }] },
    });
    await deliver(probeEvents([sample('checkout', '2026-11-25T10:00:00.000Z', 'down')]));
    await deliver(
      alertEvents([{ ...alert('FIRING', '2026-11-25T10:01:00.000Z'), severity: 'warning' }]),
    );
    const page = (await call('GET', '/v1/status')).body as PublicStatus;
    expect(page.components.map((c) => c.status)).toEqual(['degraded']);
    expect(page.incidents.map((i) => i.severity)).toEqual(['warning']);
  });

  it('shows heartbeats in components, by tag or by name, with their incidents', async () => {
    // Prepare: a component of jobs only (a heartbeat by tag, another by name).
    setup({
      ...baseConfig,
      heartbeats: [
        { name: 'nightly', periodSeconds: 3600, tags: ['jobs'] },
        { name: 'hourly', periodSeconds: 3600 },
      ],
      statusPage: {
        title: 'S',
        components: [
          { name: 'Jobs', tags: ['jobs'], probes: ['hourly'] },
          { name: 'Checkout', tags: ['public'] },
        ],
      },
    });
    const result = (heartbeat: string, status: 'up' | 'down') => ({
      source: 'vigil.heartbeat',
      detailType: 'Heartbeat Checked',
      detail: {
        metadata: {
          project: 'shop',
          heartbeat,
          correlationId: `hb-${heartbeat}`,
          checkedAt: '2026-11-25T10:00:00.000Z',
          location: 'local',
        },
        status,
        outcome: status === 'up' ? 'ok' : 'missed',
        message: 'm',
        severity: 'critical',
        tags: [],
      },
    });
    await deliver([
      result('nightly', 'down'),
      result('hourly', 'up'),
      ...alertEvents([
        {
          ...alert('FIRING', '2026-11-25T10:00:00.000Z'),
          checkKey: 'heartbeat:shop/nightly',
          incidentId: 'inc-hb',
          source: 'heartbeat',
        },
      ]),
    ] as Parameters<typeof deliver>[0]);

    // Act
    const page = (await call('GET', '/v1/status')).body as PublicStatus;

    // Assess
    expect(page.components.map((c) => [c.name, c.status])).toEqual([
      ['Jobs', 'degraded'],
      ['Checkout', 'unknown'],
    ]);
    expect(page.components[0]?.uptime).toBe(0.5);
    expect(page.incidents.map((i) => i.components)).toEqual([['Jobs']]);
  });

  it('shows maintenance and unknown states, and 404s without a statusPage', async () => {
    setup({
      ...baseConfig,
      alerts: {
        maintenance: [
          { tags: ['public'], start: '2026-11-25T10:00:00Z', end: '2026-11-25T11:00:00Z' },
        ],
      },
      statusPage: {
        title: 'S',
        components: [
          { name: 'A', tags: ['public'] },
          { name: 'B', probes: ['admin'] },
        ],
        allowFraming: true,
      },
    });
    await deliver(probeEvents([sample('admin', '2026-11-25T10:00:00.000Z', 'up')]));
    const page = (await call('GET', '/v1/status')).body as PublicStatus;
    expect(page.components.map((c) => c.status)).toEqual(['maintenance', 'operational']);
    expect(page.overall).toBe('maintenance');
    expect(page.allowFraming).toBe(true);
    setup({ ...baseConfig, statusPage: undefined });
    expect((await call('GET', '/v1/status')).status).toBe(404);
  });
});
