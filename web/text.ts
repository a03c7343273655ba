/** Pure helpers of the dashboard, without the DOM or preact (unit-tested in Node). */

import { uptimePercent } from '../functions/core/status/percent';

/** The meta tag the web handler adds when the deployment has a public status page. */
export const STATUS_PAGE_META_NAME = 'vigil-status-page';

/** The file name of a `Content-Disposition` header (`filename="…"`), if it names one. */
export const dispositionFileName = (header: string | null): string | undefined => {
  const name = /filename="([^"]*)"/i.exec(header ?? '')?.[1]?.trim();
  return name || undefined;
};

/**
 * The file's URL when a download answered a link to it (JSON `{"url": "https://…"}`, e.g. a
 * raw report too large for the AWS API's answer), else undefined: the answer is the file.
 */
export const downloadLink = (contentType: string, text: () => Promise<string>) =>
  /^application\/json\b/i.test(contentType)
    ? text().then((t): string | undefined => {
        try {
          const url = (JSON.parse(t) as { url?: unknown } | null)?.url;
          return typeof url === 'string' && /^https:\/\//i.test(url) ? url : undefined;
        } catch {
          return undefined;
        }
      })
    : Promise.resolve(undefined);

/**
 * Was the token refused (sign out)? A `401`, or on AWS a `403` without Vigil's error body: the
 * API Gateway authorizer's "no" comes as `{"message":"Forbidden"}`, while Vigil's own `403`s
 * (e.g. a read-only token on a write) carry `error.code` and keep the user signed in.
 */
export const tokenRefused = (status: number, body: unknown): boolean =>
  status === 401 ||
  (status === 403 &&
    typeof (body as { error?: { code?: unknown } } | null)?.error?.code !== 'string');

/** Names longer than this are cut (with "…"); the whole name is the cell's tooltip. */
export const NAME_SHOWN = 300;

/** A name as the table shows it: at most NAME_SHOWN characters and "…" (no half surrogate pair). */
export const shownName = (name: string): string =>
  name.length <= NAME_SHOWN
    ? name
    : `${name.slice(0, NAME_SHOWN).replace(/[\uD800-\uDBFF]$/, '')}…`;

/**
 * The y axis of a percentage chart: within 0–100 %, with room around the data. (uPlot's own
 * range pads a flat line, say a pass rate of 100 % every run, out to 150 %.)
 */
export const percentRange = (min: number | null, max: number | null): [number, number] => {
  if (min === null || max === null) return [0, 100];
  const pad = Math.max(5, (max - min) * 0.1);
  return [Math.max(0, Math.floor(min - pad)), Math.min(100, Math.ceil(max + pad))];
};

/** A span of seconds in the largest unit that fits: `45 s`, `12 min`, `3 h`, `2 d`. */
const span = (s: number): string =>
  s < 60
    ? `${s} s`
    : s < 3600
      ? `${Math.round(s / 60)} min`
      : s < 86_400
        ? `${Math.round(s / 3600)} h`
        : `${Math.round(s / 86_400)} d`;

/** A time this close ahead is the two clocks' difference (the server's, the browser's). */
const CLOCK_SKEW_MS = 5000;

/**
 * A time relative to now: `12 s ago`, `3 h ago`; a time to come (a delivery's next attempt) as
 * `in 10 s`. A few seconds ahead is the two clocks' difference (the server's, the browser's),
 * shown as just now.
 */
export const ago = (iso: string | undefined, now = Date.now()): string => {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  return isPast(iso, now) ? `${span(Math.max(s, 0))} ago` : `in ${span(-s)}`;
};

/** Whether a time has come, give or take the clocks' difference (`ago` says it was). */
export const isPast = (iso: string, now = Date.now()): boolean =>
  Date.parse(iso) - now < CLOCK_SKEW_MS;

/** An incident's downtime: seconds under a minute (not "0 min"), minutes under an hour. */
export const downtime = (s: number | undefined): string =>
  s === undefined
    ? ''
    : s < 60
      ? `${Math.max(1, Math.round(s))} s down`
      : s < 3600
        ? `${Math.round(s / 60)} min down`
        : `${(s / 3600).toFixed(1)} h down`;

/**
 * One line per suite of a trend (a unit and an e2e suite would make one jagged line): each
 * point's value in its suite's line, none in the others', over the times of every point (the
 * chart joins a line across the gaps). The suites with the newest points first, at most `max`.
 */
export const seriesBySuite = <T extends { at: string; suite?: string }>(
  points: readonly T[],
  value: (p: T) => number | null,
  max = 4,
): { at: string[]; lines: { suite: string; values: (number | null)[] }[] } => {
  const suites = [...new Set(points.map((p) => p.suite ?? '').reverse())].slice(0, max);
  const shown = points.filter((p) => suites.includes(p.suite ?? ''));
  return {
    at: shown.map((p) => p.at),
    lines: suites.map((suite) => ({
      suite,
      values: shown.map((p) => ((p.suite ?? '') === suite ? value(p) : null)),
    })),
  };
};

/** What each flaky rule of the history found (docs/history-and-flaky-tests.md). */
export const FLAKY_RULES: Record<string, string> = {
  'same-commit': 'failed and passed on one commit',
  retried: 'passed only after a retry',
  'flip-rate': 'flips between pass and fail often',
};

/** An uptime as the status page shows it (`uptimePercent`: rounded down), or a dash. */
export const uptimePct = (x: number | null | undefined): string =>
  x === null || x === undefined ? '—' : uptimePercent(x);

/** Where an incident's cause is shown in the dashboard: a route (path segments and query). */
export interface IncidentTarget {
  parts: string[];
  query?: Record<string, string>;
  /** What a link to a list says it leads to (the incident's title names the check itself). */
  list?: string;
}

/**
 * The page of an incident's cause, read from its check key (`probe:<project>/<name>`,
 * `gate:<project>/<kind>/<branch>`, …; see functions/core/alerts). The project is the
 * incident's own, so a project holding "/" splits no differently. Incidents carry no run id:
 * a gate or tests incident leads to the runs it is about. Undefined: nothing in the dashboard
 * shows it (a CloudWatch alarm, an Alertmanager alert).
 */
export const incidentTarget = (i: {
  checkKey: string;
  project: string;
  title: string;
}): IncidentTarget | undefined => {
  const colon = i.checkKey.indexOf(':');
  const kind = i.checkKey.slice(0, colon);
  const prefix = `${i.project}/`;
  const rest = i.checkKey.slice(colon + 1);
  if (colon < 0 || !rest.startsWith(prefix)) return undefined;
  const name = rest.slice(prefix.length);
  if (!name) return undefined;
  switch (kind) {
    case 'probe':
    case 'heartbeat':
      return { parts: ['probe', i.project, name] };
    case 'gate': {
      // `<kind>/<branch>`: the kind (coverage, load, benchmark) holds no "/", a branch may.
      const slash = name.indexOf('/');
      if (slash < 1) return undefined;
      return {
        parts: ['runs', i.project],
        query: { kind: name.slice(0, slash), branch: name.slice(slash + 1) },
        list: 'runs',
      };
    }
    case 'tests': {
      // `<suite>/<branch>`, both of which may hold "/": the split the title agrees with
      // ("Tests <project>/<suite> on <branch>"), else the project's test runs on any branch.
      const splits = [...name.matchAll(/\//g)]
        .map((m) => [name.slice(0, m.index), name.slice(m.index + 1)] as const)
        .filter(([suite, branch]) => i.title === `Tests ${i.project}/${suite} on ${branch}`);
      const [suite, branch] = splits.length === 1 ? (splits[0] ?? []) : [];
      return {
        parts: ['runs', i.project],
        query: {
          kind: 'tests',
          ...(branch ? { branch } : {}),
          // A run posted without a suite alerts as suite "default".
          ...(suite && suite !== 'default' ? { suite } : {}),
        },
        list: 'runs',
      };
    }
    case 'security':
      return { parts: ['security', i.project], list: 'security runs' };
    case 'flaky':
      return { parts: ['tests', i.project], query: { status: 'flaky' }, list: 'flaky tests' };
    default:
      return undefined;
  }
};
