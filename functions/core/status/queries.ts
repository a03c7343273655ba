import { activeWindow, covers } from '../alerts/maintenance';
import { type ConfiguredCheck, checkKey, configuredChecks } from '../check-key';
import type { MaintenanceWindow, VigilConfig } from '../config';
import { loadCronParser } from '../cron';
import { VigilError } from '../errors';
import type { ArchivePointer } from '../events';
import { checkProject, type Query, readLimit, safeDecode } from '../history/queries';
import { type HistoryReader, testId } from '../history/types';
import { RUN_ID } from '../ingest/service';
import type { ArchiveReader, Clock } from '../ports';
import { canonicalProject } from '../project';
import { invalid, onlyKnown, wholeNumber } from '../query-params';
import type {
  DayBar,
  FailedTest,
  IncidentsAnswer,
  LatencyPoint,
  MaintenanceView,
  ProbeDetailAnswer,
  ProbeSummary,
  ProbesAnswer,
  ProjectOverview,
  ProjectsAnswer,
  RunDetailAnswer,
  RunHeadline,
  TrendPoint,
} from './api';
import { headlineOf, newer, type RunCatalog, type RunEntry } from './catalog';
import { digestOf } from './digest';
import { bucketStartMs, uptime } from './rollup';
import type { Incident, IncidentStore, ProbeHistoryStore, ProbeRollup, Resolution } from './types';

/**
 * The dashboard API's read side, pure over the ports: which route a path names, each route's
 * validated parameters and its answer (types in `api.ts`). Every read is a key lookup or a
 * one-partition query: no route reads a project's test records.
 */

export interface StatusQueryDeps {
  config: VigilConfig;
  /** The stage this runs as (`VIGIL_STAGE`; `local` in local mode): its gate overrides apply. */
  stage?: string;
  clock: Clock;
  probes: ProbeHistoryStore;
  incidents: IncidentStore;
  catalog: RunCatalog;
  /** Flaky counts in the overview (absent: 0). */
  history?: HistoryReader;
  /** Run detail's failed tests and the raw report. */
  archive?: ArchiveReader;
}

export type StatusRoute =
  | { route: 'projects' }
  | { route: 'run'; project: string; runId: string }
  | { route: 'report'; project: string; runId: string }
  | { route: 'probes' }
  | { route: 'probe'; project: string; probe: string }
  | { route: 'incidents' }
  | { route: 'status' };

/** Routes readable without a token (when the config makes them public). */
export const PUBLIC_ROUTES: readonly StatusRoute['route'][] = ['status'];

/**
 * The dashboard route a GET path names, or undefined (then it may be a history route). A project
 * may contain `/` (sent as `%2F`, decoded once by API Gateway): a run's path is recognized by
 * its last segments (`runs/{runId}` or `runs/{runId}/report`).
 */
export const parseStatusPath = (rawPath: string): StatusRoute | undefined => {
  switch (rawPath) {
    case '/v1/projects':
      return { route: 'projects' };
    case '/v1/probes':
      return { route: 'probes' };
    case '/v1/incidents':
      return { route: 'incidents' };
    case '/v1/status':
      return { route: 'status' };
  }
  if (rawPath.startsWith('/v1/probes/')) {
    // Probe names never hold `/`: the project is everything before the last one.
    const rest = rawPath.slice('/v1/probes/'.length);
    const slash = rest.lastIndexOf('/');
    const project = rest.slice(0, slash);
    const probe = rest.slice(slash + 1);
    if (slash < 0 || !project || !probe) return undefined;
    return { route: 'probe', project: safeDecode(project), probe: safeDecode(probe) };
  }
  if (!rawPath.startsWith('/v1/projects/')) return undefined;
  const segments = rawPath.slice('/v1/projects/'.length).split('/');
  const report = segments.at(-1) === 'report' && segments.at(-3) === 'runs';
  const runAt = report ? segments.length - 2 : segments.length - 1;
  const runId = segments[runAt];
  if (segments[runAt - 1] !== 'runs' || runAt < 2 || !runId) return undefined;
  if (!report && (runId === 'tests' || runId === 'runs')) return undefined;
  const project = safeDecode(segments.slice(0, runAt - 1).join('/'));
  return { route: report ? 'report' : 'run', project, runId: safeDecode(runId) };
};

// --- helpers ---------------------------------------------------------------------------------

const HOUR = 3_600_000;
const DAY = 86_400_000;
const TREND_POINTS = 30;
const FLAKY_CAP = 500;
const PROBE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const iso = (ms: number): string => new Date(ms).toISOString();

export const probeCheckKey = (project: string, probe: string): string =>
  checkKey('probe', project, probe);

/** What the probe history holds a row for: a probe, or a heartbeat (recorded as one). */
type CheckKind = NonNullable<ProbeSummary['kind']>;

/**
 * The alert check keys of a row: `probe:` or `heartbeat:`; for a row no longer configured, both
 * (its kind is gone with its config; a name is unique among a project's probes and heartbeats).
 */
const checkKeysOf = (kind: CheckKind | undefined, project: string, name: string): string[] =>
  (kind ? [kind] : (['probe', 'heartbeat'] as const)).map((k) => checkKey(k, project, name));

/** Open incidents now (one query over every project). */
const openIncidents = async (deps: StatusQueryDeps, now: number): Promise<Incident[]> =>
  (await deps.incidents.list({ from: iso(now), to: iso(now + 1) })).filter(
    (i) => i.resolvedAt === undefined,
  );

/** Rollups of one probe, filled to one point per bucket in [from, to). */
const filled = <T>(
  rollups: readonly ProbeRollup[],
  from: number,
  to: number,
  step: number,
  make: (at: number, r: ProbeRollup | undefined) => T,
): T[] => {
  const byStart = new Map(rollups.map((r) => [Date.parse(r.bucketStart), r]));
  const out: T[] = [];
  for (let at = from; at < to; at += step) out.push(make(at, byStart.get(at)));
  return out;
};

const latencyPoint = (at: number, r: ProbeRollup | undefined): LatencyPoint => ({
  at: iso(at),
  p50: r?.latencyMs.p50 ?? null,
  p95: r?.latencyMs.p95 ?? null,
  p99: r?.latencyMs.p99 ?? null,
});

/** A day's bar from its checks and failures. */
export const dayBar = (day: number, checks: number, failures: number): DayBar => ({
  day: iso(day).slice(0, 10),
  checks,
  failures,
  uptime: checks === 0 ? null : (checks - failures) / checks,
  state:
    checks === 0 ? 'none' : failures === 0 ? 'up' : failures / checks < 0.01 ? 'degraded' : 'down',
});

export const DAY_BARS = 90;

/** The window of the 90 day bars ending today (UTC). */
export const dayWindow = (now: number): { from: number; to: number } => {
  const today = bucketStartMs(now, 'day');
  return { from: today - (DAY_BARS - 1) * DAY, to: today + DAY };
};

export const maintenanceView = (w: MaintenanceWindow, now: Date): MaintenanceView => ({
  ...(w.reason === undefined ? {} : { reason: w.reason }),
  ...(w.start === undefined ? {} : { start: w.start }),
  ...(w.end === undefined ? {} : { end: w.end }),
  ...(w.cron === undefined ? {} : { cron: w.cron }),
  ...(w.durationMinutes === undefined ? {} : { durationMinutes: w.durationMinutes }),
  // Cleared of its targets, the window covers anything: is it active at all?
  active: activeWindow([{ ...w, probes: [], tags: [] }], { tags: [] }, now) !== undefined,
});

/** Announced: active now or still to come (a recurring window always is, until its `end`). */
export const announced = (w: MaintenanceWindow, now: Date): boolean =>
  w.end === undefined || Date.parse(w.end) > now.getTime();

// --- projects --------------------------------------------------------------------------------

const trendPoint = (r: RunHeadline): TrendPoint => {
  const t = r.facts.tests;
  const ran = t ? t.total - t.skipped : 0;
  return {
    at: r.ingestedAt,
    runId: r.runId,
    ...(r.commit === undefined ? {} : { commit: r.commit }),
    ...(r.suite === undefined ? {} : { suite: r.suite }),
    ...(t && ran > 0 ? { passRate: t.passed / ran } : {}),
    ...(r.facts.durationMs === undefined ? {} : { durationMs: r.facts.durationMs }),
    ...(typeof r.facts.coverage?.lines === 'number' ? { linesPct: r.facts.coverage.lines } : {}),
  };
};

const trend = async (
  deps: StatusQueryDeps,
  project: string,
  kind: 'tests' | 'coverage',
): Promise<TrendPoint[]> =>
  (
    await deps.catalog.trend({
      project,
      kind,
      branch: deps.config.defaultBranch,
      limit: TREND_POINTS,
    })
  )
    .reverse()
    .map(trendPoint);

export const queryProjects = async (
  deps: StatusQueryDeps,
  query: Query,
): Promise<ProjectsAnswer> => {
  onlyKnown(query, []);
  const now = deps.clock.now().getTime();
  const [latest, open] = await Promise.all([deps.catalog.latest(), openIncidents(deps, now)]);
  const byProject = new Map<string, Map<string, RunHeadline[]>>();
  for (const run of latest) {
    const branches = byProject.get(run.project) ?? new Map<string, RunHeadline[]>();
    const branch = run.branch ?? '';
    branches.set(branch, [...(branches.get(branch) ?? []), run]);
    byProject.set(run.project, branches);
  }
  const projects = await Promise.all(
    [...byProject.keys()].sort().map(async (project): Promise<ProjectOverview> => {
      const byBranch = byProject.get(project) as Map<string, RunHeadline[]>;
      const branches = [...byBranch.entries()].map(([branch, runs]) => ({
        branch,
        latest: runs.sort((a, b) => (newer(a, b) ? -1 : 1)),
      }));
      branches.sort((a, b) =>
        newer(a.latest[0] as RunHeadline, b.latest[0] as RunHeadline) ? -1 : 1,
      );
      const [tests, coverage, flaky] = await Promise.all([
        trend(deps, project, 'tests'),
        trend(deps, project, 'coverage'),
        deps.history?.listTests(project, { status: 'flaky', limit: FLAKY_CAP }),
      ]);
      return {
        project,
        defaultBranch: deps.config.defaultBranch,
        branches,
        trends: { tests, coverage },
        flakyTests: flaky?.items.length ?? 0,
        flakyCapped: flaky?.cursor !== undefined,
        openIncidents: open.filter((i) => i.project === project).length,
      };
    }),
  );
  return { generatedAt: iso(now), projects };
};

// --- run detail and raw report ----------------------------------------------------------------

const findRun = async (
  deps: StatusQueryDeps,
  rawProject: string,
  runId: string,
): Promise<RunEntry> => {
  const project = checkProject(rawProject);
  if (!RUN_ID.test(runId))
    throw new VigilError(
      'bad_request',
      'The run id in the path is invalid: letters, digits, . _ : - (max 128).',
      { path: 'path.runId' },
    );
  const run = await deps.catalog.get(project, runId);
  if (!run)
    throw new VigilError('not_found', `No run "${runId}" in project "${project}".`, {
      path: 'path.runId',
    });
  return run;
};

const readArchive = async (
  deps: StatusQueryDeps,
  run: RunEntry,
  which: 'archive' | 'normalized',
) => {
  if (!deps.archive)
    throw new VigilError('unavailable', 'The report archive is not configured on this deployment.');
  return deps.archive.get(run[which]);
};

export const runPath = (project: string, runId: string): string =>
  `/v1/projects/${encodeURIComponent(project)}/runs/${encodeURIComponent(runId)}`;

export const queryRun = async (
  deps: StatusQueryDeps,
  project: string,
  runId: string,
  query: Query,
): Promise<RunDetailAnswer> => {
  onlyKnown(query, []);
  const run = await findRun(deps, project, runId);
  // Runs recorded before digests existed (or without an archive reader) read the archive.
  const { warnings, failedTests, failedTestsTotal } =
    run.digest ?? digestOf(await readArchive(deps, run, 'normalized'));
  return {
    run: headlineOf(run),
    gate: run.gateChecks,
    warnings,
    failedTests: await withFlakyState(deps, project, failedTests),
    failedTestsTotal,
    reportPath: `${runPath(project, runId)}/report`,
    report: { bytes: run.archive.bytes, sha256: run.archive.sha256 },
  };
};

/**
 * The failed tests, those the history finds flaky now marked (with its reason): one read of the
 * project's flaky tests (the first FLAKY_CAP), and none when nothing failed. A name the digest
 * clipped (`clipText`: its first 511 characters and "…") is found by its start.
 */
const withFlakyState = async (
  deps: StatusQueryDeps,
  project: string,
  failed: FailedTest[],
): Promise<FailedTest[]> => {
  if (failed.length === 0 || !deps.history) return failed;
  const flaky = (await deps.history.listTests(project, { status: 'flaky', limit: FLAKY_CAP }))
    .items;
  const byId = new Map(flaky.map((r) => [r.id, r]));
  const startsAs = (shown: string, full: string) =>
    shown === full || (shown.endsWith('…') && full.startsWith(shown.slice(0, -1)));
  return failed.map((t) => {
    const clipped = [t.suite, t.classname, t.name].some((s) => s.endsWith('…'));
    const record =
      byId.get(testId(t)) ??
      (clipped
        ? flaky.find(
            (r) =>
              startsAs(t.name, r.name) &&
              startsAs(t.classname, r.classname) &&
              startsAs(t.suite, r.suite),
          )
        : undefined);
    return record?.flaky
      ? { ...t, flaky: { reason: record.flaky.reason, since: record.flaky.since } }
      : t;
  });
};

/**
 * The raw report as received: where it is archived, the name it was archived under, and its
 * bytes on demand (a report too large to answer inline is not read, see status-routes.ts).
 */
export const queryReport = async (
  deps: StatusQueryDeps,
  project: string,
  runId: string,
  query: Query,
): Promise<{ pointer: ArchivePointer; fileName: string; read: () => Promise<Uint8Array> }> => {
  onlyKnown(query, []);
  const run = await findRun(deps, project, runId);
  const ext = /\.([a-z]+)$/.exec(run.archive.uri)?.[1] ?? 'txt';
  return {
    pointer: run.archive,
    fileName: `${runId}.${ext}`,
    read: () => readArchive(deps, run, 'archive'),
  };
};

// --- probes ----------------------------------------------------------------------------------

/** A row of the probes list, with the config's check of that name when it names one. */
interface ProbeRow {
  project: string;
  probe: string;
  configured?: ConfiguredCheck;
}

/** What the summary shows of the config's check: its kind, target, runbook, schedule, tags. */
const fromConfig = (c: ConfiguredCheck | undefined) =>
  c === undefined
    ? { tags: [], configured: false }
    : {
        kind: c.kind,
        ...(c.url === undefined ? {} : { url: c.url }),
        ...(c.runbookUrl === undefined ? {} : { runbookUrl: c.runbookUrl }),
        ...(c.schedule === undefined ? {} : { schedule: c.schedule }),
        tags: c.tags,
        configured: true,
      };

const probeSummary = async (
  deps: StatusQueryDeps,
  p: ProbeRow,
  latest: { checkedAt: string; status: 'up' | 'down'; latencyMs: number } | undefined,
  open: readonly Incident[],
  now: number,
): Promise<ProbeSummary> => {
  const hourNow = bucketStartMs(now, 'hour');
  const dayNow = bucketStartMs(now, 'day');
  const dayStart = hourNow - 23 * HOUR;
  const range = (resolution: Resolution, from: number, to: number) => ({
    project: p.project,
    probe: p.probe,
    resolution,
    from: iso(from),
    to: iso(to),
  });
  // 24 hourly rollups (with latency) for the sparkline; counts only over 7 and 30 days.
  const [hours, week, month] = await Promise.all([
    deps.probes.rollups(range('hour', dayStart, hourNow + HOUR)),
    deps.probes.counts(range('hour', hourNow - 167 * HOUR, hourNow + HOUR)),
    deps.probes.counts(range('day', dayNow - 29 * DAY, dayNow + DAY)),
  ]);
  const keys = checkKeysOf(p.configured?.kind, p.project, p.probe);
  return {
    project: p.project,
    probe: p.probe,
    ...fromConfig(p.configured),
    status: latest?.status ?? 'unknown',
    ...(latest ? { checkedAt: latest.checkedAt, latencyMs: latest.latencyMs } : {}),
    uptime: { h24: uptime(hours), d7: uptime([week]), d30: uptime([month]) },
    sparkline: filled(hours, dayStart, hourNow + HOUR, HOUR, latencyPoint),
    incidentOpen: open.some((i) => keys.includes(i.checkKey)),
  };
};

/** Every probe and heartbeat the config names plus every one with recorded samples. */
const knownProbes = async (deps: StatusQueryDeps) => {
  const latest = await deps.probes.latest();
  const all = new Map<string, ProbeRow & { latest?: (typeof latest)[number] }>();
  // Keyed as the probe history keys its rows: project and name.
  const rowKey = (project: string, name: string) => `${project}/${name}`;
  for (const c of configuredChecks(deps.config))
    all.set(rowKey(c.project, c.name), { project: c.project, probe: c.name, configured: c });
  for (const l of latest) {
    const key = rowKey(l.project, l.probe);
    all.set(key, { project: l.project, probe: l.probe, ...all.get(key), latest: l });
  }
  return [...all.values()].sort((a, b) =>
    a.project === b.project ? (a.probe < b.probe ? -1 : 1) : a.project < b.project ? -1 : 1,
  );
};

export const queryProbes = async (deps: StatusQueryDeps, query: Query): Promise<ProbesAnswer> => {
  onlyKnown(query, []);
  const now = deps.clock.now().getTime();
  const [probes, open] = await Promise.all([knownProbes(deps), openIncidents(deps, now)]);
  const summaries = await Promise.all(
    probes.map((p) => probeSummary(deps, p, p.latest, open, now)),
  );
  return { generatedAt: iso(now), probes: summaries };
};

const checkProbeName = (value: string): void => {
  if (!PROBE_NAME.test(value))
    throw new VigilError(
      'bad_request',
      'The probe in the path is invalid: letters, digits, . _ - (max 64), starting with a letter or digit.',
      { path: 'path.probe' },
    );
};

export const queryProbe = async (
  deps: StatusQueryDeps,
  project: string,
  probe: string,
  query: Query,
): Promise<ProbeDetailAnswer> => {
  onlyKnown(query, []);
  canonicalProject(project, 'path.project');
  checkProbeName(probe);
  await loadCronParser(deps.config.alerts.maintenance);
  const now = deps.clock.now();
  const t = now.getTime();
  const configured = configuredChecks(deps.config).find(
    (p) => p.project === project && p.name === probe,
  );
  const [latest] = await deps.probes
    .latest(project)
    .then((all) => all.filter((l) => l.probe === probe));
  if (!configured && !latest)
    throw new VigilError('not_found', `No probe "${probe}" in project "${project}".`, {
      path: 'path.probe',
    });
  const window = dayWindow(t);
  const keys = checkKeysOf(configured?.kind, project, probe);
  const hourNow = bucketStartMs(t, 'hour');
  const [open, days, hours, failures, incidents] = await Promise.all([
    openIncidents(deps, t),
    deps.probes.rollups({
      project,
      probe,
      resolution: 'day',
      from: iso(window.from),
      to: iso(window.to),
    }),
    deps.probes.rollups({
      project,
      probe,
      resolution: 'hour',
      from: iso(hourNow - 167 * HOUR),
      to: iso(hourNow + HOUR),
    }),
    deps.probes.failures({ project, probe, limit: 50 }),
    Promise.all(
      keys.map((checkKey) =>
        deps.incidents.list({ from: iso(window.from), to: iso(t + 1), project, checkKey }),
      ),
    ),
  ]);
  const tags = configured?.tags ?? [];
  const summary = await probeSummary(
    deps,
    { project, probe, ...(configured ? { configured } : {}) },
    latest,
    open,
    t,
  );
  return {
    summary,
    days: filled(days, window.from, window.to, DAY, (at, r) =>
      dayBar(at, r?.checks ?? 0, r?.failures ?? 0),
    ),
    latency: filled(hours, hourNow - 167 * HOUR, hourNow + HOUR, HOUR, latencyPoint),
    failures,
    // Newest first, as each list is (two only for a row no longer configured).
    incidents: incidents.flat().sort((a, b) => b.firedAt.localeCompare(a.firedAt)),
    maintenance: deps.config.alerts.maintenance
      .filter((w) => covers(w, { probe, tags }))
      .map((w) => maintenanceView(w, now)),
  };
};

// --- incidents -------------------------------------------------------------------------------

export const queryIncidents = async (
  deps: StatusQueryDeps,
  query: Query,
): Promise<IncidentsAnswer> => {
  onlyKnown(query, ['open', 'project', 'days', 'limit']);
  const open = query.open;
  if (open !== undefined && open !== '' && open !== 'true' && open !== 'false')
    throw invalid('open', 'true or false');
  let project = query.project || undefined;
  if (project !== undefined) {
    try {
      project = checkProject(project);
    } catch {
      throw invalid('project', 'a project name');
    }
  }
  const days = wholeNumber(query, 'days', { min: 1, max: DAY_BARS, fallback: 30 });
  const limit = readLimit(query);
  const now = deps.clock.now().getTime();
  const from = iso(now - days * DAY);
  const to = iso(now + 1);
  const all = await deps.incidents.list({
    from,
    to,
    ...(project ? { project } : {}),
    ...(open === 'true' ? {} : { limit }),
  });
  const incidents =
    open === 'true' ? all.filter((i) => i.resolvedAt === undefined).slice(0, limit) : all;
  return { from, to, incidents };
};
