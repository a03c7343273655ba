import type { VigilConfig } from './config';

/**
 * The alert check key of a probe or a heartbeat: what its observations, alert state and
 * incidents are keyed on (`probe:<project>/<name>`, `heartbeat:<project>/<name>`).
 */
export const checkKey = (kind: 'probe' | 'heartbeat', project: string, name: string): string =>
  `${kind}:${project}/${name}`;

/**
 * A checked URL as Vigil shows it (alert messages, the dashboard): scheme, host and path only,
 * since user info or a query string may carry credentials. (Not `origin`: it is "null" for the
 * tcp://, dns:// and browser:// targets of the other check types.)
 */
export const shownUrl = (url: string): string => {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
};

/** A probe or a heartbeat the config names, its project filled in. */
export interface ConfiguredCheck {
  kind: 'probe' | 'heartbeat';
  project: string;
  name: string;
  /** What the probe checks, as shown (`shownUrl`). */
  url?: string;
  /** The check's `runbookUrl`: what on-call reads when it fires. */
  runbookUrl?: string;
  /** A heartbeat's schedule, as its config says it. */
  schedule?: HeartbeatSchedule;
  tags: string[];
}

/** When a heartbeat's pings are expected: `periodSeconds`, or `cron` in `timezone` (UTC). */
export interface HeartbeatSchedule {
  periodSeconds?: number;
  cron?: string;
  timezone?: string;
  graceSeconds: number;
}

/**
 * The probes and heartbeats the config names: what is checked, alerted on and shown (a probe
 * and a heartbeat of one project never share a name: config-check refuses it).
 */
export const configuredChecks = (config: VigilConfig): ConfiguredCheck[] => [
  ...config.probes.map((p) => ({
    kind: 'probe' as const,
    project: p.project ?? config.project,
    name: p.name,
    ...(p.url === undefined ? {} : { url: shownUrl(p.url) }),
    ...(p.runbookUrl === undefined ? {} : { runbookUrl: p.runbookUrl }),
    tags: p.tags,
  })),
  ...config.heartbeats.map((h) => ({
    kind: 'heartbeat' as const,
    project: h.project ?? config.project,
    name: h.name,
    ...(h.runbookUrl === undefined ? {} : { runbookUrl: h.runbookUrl }),
    schedule: {
      graceSeconds: h.graceSeconds,
      ...(h.periodSeconds === undefined ? {} : { periodSeconds: h.periodSeconds }),
      ...(h.cron === undefined ? {} : { cron: h.cron, timezone: h.timezone ?? 'UTC' }),
    },
    tags: h.tags,
  })),
];
