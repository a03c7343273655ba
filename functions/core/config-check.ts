import { cronProblem } from './alerts/maintenance';
import { configIssueLines, configSchema, type VigilConfig } from './config';
import { VigilError } from './errors';
import { projectNameProblem } from './project';

/**
 * The full check of a config file, run where files are loaded (CLI, local mode, CDK synth):
 * the schema, every maintenance and heartbeat cron and time zone, and what the schema cannot see
 * (windows, status page components and public badges naming probes that do not exist, status page
 * components whose tags select nothing; windows
 * ending before they start; heartbeat names used twice in a project). Every problem is reported at once, each
 * named by its path, so one edit fixes them all.
 */

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The names of the checks in `items` (probes, heartbeats). */
const namesOf = (...items: unknown[][]): Set<string> =>
  new Set(items.flat().flatMap((p) => (isRecord(p) && typeof p.name === 'string' ? [p.name] : [])));

/** `at.K: no probe is named …` for each name of `names` that `known` lacks. */
const unknownProbes = (
  at: string,
  names: unknown,
  known: Set<string>,
  kind: 'probe' | 'probe or heartbeat' = 'probe',
): string[] => {
  const plural = kind === 'probe' ? 'probes' : 'probes and heartbeats';
  return list(names).flatMap((name, k) =>
    typeof name === 'string' && !known.has(name)
      ? [
          `${at}.${k}: no ${kind} is named ${JSON.stringify(name)}` +
            (known.size
              ? ` (${plural}: ${[...known].join(', ')})`
              : ` (no ${plural} are configured)`),
        ]
      : [],
  );
};

/** Problems the schema does not catch; read from the raw input so they come with its errors. */
const maintenanceProblems = (raw: unknown): string[] => {
  const root = isRecord(raw) ? raw : {};
  const alerts = isRecord(root.alerts) ? root.alerts : {};
  // A window names probes or heartbeats.
  const probes = namesOf(list(root.probes), list(root.heartbeats));
  const kinds = list(root.heartbeats).length ? 'probe or heartbeat' : 'probe';
  return list(alerts.maintenance).flatMap((w, i) => {
    if (!isRecord(w)) return [];
    const at = `alerts.maintenance.${i}`;
    const problems: string[] = [];
    if (typeof w.cron === 'string') {
      const problem = cronProblem(w.cron);
      if (problem) problems.push(`${at}.cron: ${problem}`);
    }
    problems.push(...unknownProbes(`${at}.probes`, w.probes, probes, kinds));
    const start = typeof w.start === 'string' ? Date.parse(w.start) : Number.NaN;
    const end = typeof w.end === 'string' ? Date.parse(w.end) : Number.NaN;
    if (end <= start)
      problems.push(`${at}.end: the window ends (${w.end}) before it starts (${w.start})`);
    return problems;
  });
};

/** Whether one of `items` (probes, heartbeats) has one of `tags`. */
const hasTag = (items: unknown[], tags: unknown[]): boolean =>
  items.some((p) => isRecord(p) && list(p.tags).some((t) => tags.includes(t)));

/**
 * A component shows the probes and heartbeats it names plus those with one of its tags; one
 * whose tags select none (and that names none that exists) would show "unknown" for ever.
 */
const emptyComponent = (
  c: Record<string, unknown>,
  at: string,
  checks: unknown[],
  known: Set<string>,
): string[] => {
  const tags = list(c.tags).filter((t): t is string => typeof t === 'string');
  if (!tags.length) return []; // Without tags, the names are checked one by one.
  if (list(c.probes).some((n) => typeof n === 'string' && known.has(n))) return [];
  if (hasTag(checks, tags)) return [];
  return [
    `${at}.tags: component ${JSON.stringify(c.name)} would show nothing: no probe or heartbeat ` +
      `has the tag${tags.length > 1 ? 's' : ''} ${tags.map((t) => JSON.stringify(t)).join(', ')}`,
  ];
};

/**
 * Status page components name probes and heartbeats, public badges probes only (a badge never
 * shows a heartbeat); a misspelt name, or tags nothing has, would show nothing, or keep a badge
 * private, without a word.
 */
const publicProbeProblems = (raw: unknown): string[] => {
  const root = isRecord(raw) ? raw : {};
  const probes = namesOf(list(root.probes));
  const checks = [...list(root.probes), ...list(root.heartbeats)];
  const shown = namesOf(checks);
  const page = isRecord(root.statusPage) ? root.statusPage : {};
  const badges = isRecord(root.badges) && isRecord(root.badges.public) ? root.badges.public : {};
  const kinds = list(root.heartbeats).length ? 'probe or heartbeat' : 'probe';
  return [
    ...list(page.components).flatMap((c, i) =>
      isRecord(c)
        ? [
            ...unknownProbes(`statusPage.components.${i}.probes`, c.probes, shown, kinds),
            ...emptyComponent(c, `statusPage.components.${i}`, checks, shown),
          ]
        : [],
    ),
    ...unknownProbes('badges.public.probes', badges.probes, probes),
  ];
};

/** Why `zone` is not an IANA time zone this runtime knows, or undefined. */
const zoneProblem = (zone: string): string | undefined => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return `${JSON.stringify(zone.slice(0, 64))} is not a known IANA time zone (e.g. "Europe/Berlin", "UTC")`;
  }
};

/**
 * Heartbeats: cron and zone usable, names unique per project and not a ping action, and no
 * probe of the project with the same name (their results share the dashboard's status rows).
 */
const heartbeatProblems = (raw: unknown): string[] => {
  const root = isRecord(raw) ? raw : {};
  const seen = new Set<string>();
  const probeAt = new Map<string, number>();
  for (const [i, p] of list(root.probes).entries())
    if (isRecord(p))
      probeAt.set(`${String(p.project ?? root.project ?? 'default')}/${String(p.name)}`, i);
  return list(root.heartbeats).flatMap((h, i) => {
    if (!isRecord(h)) return [];
    const at = `heartbeats.${i}`;
    const problems: string[] = [];
    const zone = typeof h.timezone === 'string' ? zoneProblem(h.timezone) : undefined;
    if (zone) problems.push(`${at}.timezone: ${zone}`);
    if (typeof h.cron === 'string') {
      const problem = cronProblem(h.cron);
      if (problem) problems.push(`${at}.cron: ${problem}`);
    }
    if (h.name === 'start' || h.name === 'fail')
      problems.push(`${at}.name: "${h.name}" is a ping action (/start, /fail); pick another name`);
    const project = typeof h.project === 'string' ? h.project : (root.project ?? 'default');
    const key = `${String(project)}/${String(h.name)}`;
    if (seen.has(key))
      problems.push(
        `${at}.name: project "${String(project)}" already has a heartbeat named ${JSON.stringify(h.name)}`,
      );
    seen.add(key);
    const probe = probeAt.get(key);
    if (probe !== undefined)
      problems.push(
        `${at}.name: project "${String(project)}" has a probe named ${JSON.stringify(h.name)} too ` +
          `(probes.${probe}); a probe and a heartbeat of one project need different names`,
      );
    return problems;
  });
};

/** Project names in the config follow the rule ingest applies (one canonical spelling). */
const projectProblems = (raw: unknown): string[] => {
  const root = isRecord(raw) ? raw : {};
  const named: [string, unknown][] = [
    ['project', root.project],
    ...Object.keys(isRecord(root.projects) ? root.projects : {}).map((name): [string, unknown] => [
      `projects.${name}`,
      name,
    ]),
    ...list(root.probes).map((p, i): [string, unknown] => [
      `probes.${i}.project`,
      isRecord(p) ? p.project : undefined,
    ]),
    ...list(root.heartbeats).map((h, i): [string, unknown] => [
      `heartbeats.${i}.project`,
      isRecord(h) ? h.project : undefined,
    ]),
  ];
  return named.flatMap(([at, name]) => {
    if (typeof name !== 'string') return [];
    const problem =
      name.normalize('NFC') === name ? projectNameProblem(name) : 'it is not in Unicode NFC form';
    return problem
      ? [`${at}: ${JSON.stringify(name)} is not a valid project name: ${problem}`]
      : [];
  });
};

/** Validate a loaded config file, reporting every problem at once. */
export const checkConfig = (raw: unknown, source: string): VigilConfig => {
  const result = configSchema.safeParse(raw);
  const problems = [
    ...(result.success ? [] : configIssueLines(result.error.issues)),
    ...maintenanceProblems(raw),
    ...publicProbeProblems(raw),
    ...heartbeatProblems(raw),
    ...projectProblems(raw),
  ];
  if (problems.length || !result.success)
    throw new VigilError(
      'bad_request',
      `Invalid Vigil config in ${source}: ${problems.join('; ')}`,
    );
  return result.data;
};
