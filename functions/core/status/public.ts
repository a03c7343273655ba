import { activeWindow, covers } from '../alerts/maintenance';
import { type ConfiguredCheck, checkKey, configuredChecks } from '../check-key';
import type { StatusPageConfig, VigilConfig } from '../config';
import { gateConfigFor } from '../config-access';
import { loadCronParser } from '../cron';
import { VigilError } from '../errors';
import type { BadgeData, PublicComponent, PublicIncident, PublicStatus } from './api';
import { newer } from './catalog';
import {
  announced,
  DAY_BARS,
  dayBar,
  dayWindow,
  maintenanceView,
  type StatusQueryDeps,
} from './queries';
import { bucketStartMs, uptime } from './rollup';

/**
 * What may be read without a token: the public status model and the badges' data. Only what
 * the config names is read, and the answers carry only component names, states, counts and
 * times: never a URL, a probe name, an error text or project data.
 */

/**
 * The checks of a component: the probes and heartbeats it names, plus those with one of its
 * tags. A heartbeat's results are kept in the probe history under its project and name (a probe
 * and a heartbeat of one project never share a name), so it counts like a probe.
 */
const componentProbes = (
  config: VigilConfig,
  component: StatusPageConfig['components'][number],
): ConfiguredCheck[] =>
  configuredChecks(config).filter(
    (c) => component.probes.includes(c.name) || c.tags.some((t) => component.tags.includes(t)),
  );

const RANK: Record<PublicComponent['status'], number> = {
  operational: 0,
  unknown: 1,
  maintenance: 2,
  degraded: 3,
  outage: 4,
};

const worst = (states: PublicComponent['status'][]): PublicComponent['status'] =>
  states.reduce<PublicComponent['status']>(
    (w, s) => (RANK[s] > RANK[w] ? s : w),
    states.length ? 'operational' : 'unknown',
  );

/** `GET /v1/status`: 404 unless the config has a `statusPage`. */
export const publicStatus = async (deps: StatusQueryDeps): Promise<PublicStatus> => {
  const page = deps.config.statusPage;
  if (!page) throw new VigilError('not_found', 'This deployment has no public status page.');
  await loadCronParser(deps.config.alerts.maintenance);
  const now = deps.clock.now();
  const t = now.getTime();
  const window = dayWindow(t);
  const [latest, incidents] = await Promise.all([
    deps.probes.latest(),
    deps.incidents.list({
      from: new Date(window.from).toISOString(),
      to: new Date(t + 1).toISOString(),
    }),
  ]);
  const windows = deps.config.alerts.maintenance;
  // A check is down for the public while its alert fires (its failureThreshold or window was
  // reached) and it still fails, as badly as its severity says: one failed sample below the
  // threshold is no outage, and a page that said so would not match its own incidents. Its
  // latest sample counts too: a check that is up again is no outage, even while the RESOLVED
  // that ends its incident has not reached the incident store (it is announced best effort when
  // a maintenance window holds it back from the channels).
  const openSeverity = new Map<string, PublicIncident['severity']>();
  for (const i of incidents)
    if (i.resolvedAt === undefined && openSeverity.get(i.checkKey) !== 'critical')
      openSeverity.set(i.checkKey, i.severity);
  const components: PublicComponent[] = [];
  const componentsOfKey = new Map<string, string[]>();
  for (const component of page.components) {
    const probes = componentProbes(deps.config, component);
    const perDay = new Map<number, { checks: number; failures: number }>();
    const days = await Promise.all(
      probes.map((p) =>
        deps.probes.rollups({
          project: p.project,
          probe: p.name,
          resolution: 'day',
          from: new Date(window.from).toISOString(),
          to: new Date(window.to).toISOString(),
        }),
      ),
    );
    for (const r of days.flat()) {
      const at = Date.parse(r.bucketStart);
      const d = perDay.get(at) ?? { checks: 0, failures: 0 };
      d.checks += r.checks;
      d.failures += r.failures;
      perDay.set(at, d);
    }
    const states = probes.map((p): PublicComponent['status'] => {
      if (activeWindow(windows, { probe: p.name, tags: p.tags }, now)) return 'maintenance';
      const last = latest.find((l) => l.project === p.project && l.probe === p.name);
      if (!last) return 'unknown';
      const open = openSeverity.get(checkKey(p.kind, p.project, p.name));
      if (open && last.status === 'down') return open === 'critical' ? 'outage' : 'degraded';
      return 'operational';
    });
    // Every check down: an outage; some (or a warning): degraded; else maintenance, then
    // operational once any check has a result.
    const status: PublicComponent['status'] =
      states.length > 0 && states.every((s) => s === 'outage')
        ? 'outage'
        : states.some((s) => s === 'outage' || s === 'degraded')
          ? 'degraded'
          : states.includes('maintenance')
            ? 'maintenance'
            : states.includes('operational')
              ? 'operational'
              : 'unknown';
    const bars = [];
    for (let i = 0; i < DAY_BARS; i++) {
      const day = window.from + i * 86_400_000;
      const d = perDay.get(day);
      bars.push(dayBar(day, d?.checks ?? 0, d?.failures ?? 0));
    }
    components.push({ name: component.name, status, days: bars, uptime: uptime(bars) });
    for (const p of probes) {
      const key = checkKey(p.kind, p.project, p.name);
      componentsOfKey.set(key, [...(componentsOfKey.get(key) ?? []), component.name]);
    }
  }
  const publicIncidents: PublicIncident[] = incidents.flatMap((i) => {
    const names = componentsOfKey.get(i.checkKey);
    if (!names) return [];
    return [
      {
        components: [...new Set(names)],
        severity: i.severity,
        startedAt: i.since,
        ...(i.resolvedAt === undefined ? {} : { resolvedAt: i.resolvedAt }),
        ...(i.downtimeSeconds === undefined ? {} : { downtimeSeconds: i.downtimeSeconds }),
      },
    ];
  });
  const maintenance = windows
    .filter((w) => announced(w, now))
    .flatMap((w) => {
      const names = page.components
        .filter((c) =>
          componentProbes(deps.config, c).some((p) => covers(w, { probe: p.name, tags: p.tags })),
        )
        .map((c) => c.name);
      return names.length ? [{ ...maintenanceView(w, now), components: names }] : [];
    });
  return {
    title: page.title,
    generatedAt: now.toISOString(),
    overall: worst(components.map((c) => c.status)),
    components,
    incidents: publicIncidents,
    maintenance,
    allowFraming: page.allowFraming,
  };
};

// --- badges ----------------------------------------------------------------------------------

/**
 * May this badge be served without a token? A project's badges when the project is listed; a
 * probe's uptime when the probe is listed and the path names its own project (a heartbeat or a
 * probe of another project with the same name stays private).
 */
export const badgeIsPublic = (
  config: VigilConfig,
  subject: { project: string; probe?: string },
): boolean => {
  if (subject.probe === undefined) return config.badges.public.projects.includes(subject.project);
  const { probe } = subject;
  const configured = config.probes.find((p) => p.name === probe);
  return (
    configured !== undefined &&
    (configured.project ?? config.project) === subject.project &&
    config.badges.public.probes.includes(probe)
  );
};

const pct = (n: number): string => `${Number(n.toFixed(2))}%`;

/** The gate of a branch: failing when the latest run of any of its series failed. */
export const gateBadge = async (
  deps: Pick<StatusQueryDeps, 'catalog'>,
  project: string,
  branch: string,
): Promise<BadgeData> => {
  const runs = (await deps.catalog.latest()).filter(
    (r) => r.project === project && r.branch === branch && r.gate !== 'none',
  );
  if (runs.length === 0) return { label: 'gate', message: 'unknown', tone: 'unknown' };
  const failing = runs.some((r) => r.gate === 'fail');
  return failing
    ? { label: 'gate', message: 'failing', tone: 'bad' }
    : { label: 'gate', message: 'passing', tone: 'good' };
};

/**
 * Line coverage of the branch's latest coverage run, against the project's `minCoverage` on
 * this stage (top-level < stage < project, as the gate reads it).
 */
export const coverageBadge = async (
  deps: Pick<StatusQueryDeps, 'catalog' | 'config' | 'stage'>,
  project: string,
  branch: string,
): Promise<BadgeData> => {
  const runs = (await deps.catalog.latest()).filter(
    (r) => r.project === project && r.branch === branch && r.facts.coverage,
  );
  const newest = runs.reduce<(typeof runs)[number] | undefined>(
    (n, r) => (!n || newer(r, n) ? r : n),
    undefined,
  );
  const lines = newest?.facts.coverage?.lines;
  if (lines === undefined || lines === null)
    return { label: 'coverage', message: 'unknown', tone: 'unknown' };
  const min = gateConfigFor(deps.config, project, deps.stage).minCoverage;
  return { label: 'coverage', message: pct(lines), tone: lines >= min ? 'good' : 'bad' };
};

/** A probe's uptime over 30 days: good from 99.9%, warn from 99%. */
export const uptimeBadge = async (
  deps: Pick<StatusQueryDeps, 'probes' | 'clock'>,
  project: string,
  probe: string,
): Promise<BadgeData> => {
  const now = deps.clock.now().getTime();
  const today = bucketStartMs(now, 'day');
  const days = await deps.probes.rollups({
    project,
    probe,
    resolution: 'day',
    from: new Date(today - 29 * 86_400_000).toISOString(),
    to: new Date(today + 86_400_000).toISOString(),
  });
  const u = uptime(days);
  if (u === null) return { label: 'uptime 30d', message: 'unknown', tone: 'unknown' };
  return {
    label: 'uptime 30d',
    message: pct(u * 100),
    tone: u >= 0.999 ? 'good' : u >= 0.99 ? 'warn' : 'bad',
  };
};
