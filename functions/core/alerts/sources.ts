import { checkKey, shownUrl } from '../check-key';
import type { HeartbeatConfig, ProbeConfig, VigilConfig } from '../config';
import { alertBranches } from '../config-access';
import { dashboardPath } from '../dashboard-links';
import { DETAIL_TYPES, SOURCES } from '../event-names';
import type {
  AlertNotification,
  BusEvent,
  EventMetadata,
  Gate,
  HeartbeatCheckedDetail,
  KnownEvent,
  ProbeCompletedDetail,
  TestRunDetail,
} from '../events';
import { oneLine } from '../plain-text';
import { artifactPath } from '../probes/browser';
import { failureText } from '../probes/outcome';
import { alertmanagerObservation } from './alertmanager';
import { flakyNotice, MAX_FLAKY_NOTICES_PER_RUN } from './messages';
import type { Observation } from './state';

/**
 * Turns what Vigil sees into alert observations, one check key per checked thing:
 *
 * - `probe:<project>/<probe>`: every Probe Completed event (thresholds from the probe config);
 * - `heartbeat:<project>/<name>`: every Heartbeat Checked event (thresholds from its config);
 * - `tests:<project>/<suite|default>/<branch>`: test runs with a gate verdict on an alerting branch;
 * - `gate:<project>/<coverage|load|benchmark>/<branch>`: the other reports' gates, same branches;
 * - `alarm:<alarmName>`: CloudWatch alarm state changes (ALARM fails, OK passes).
 *
 * Anything else (other branches, no branch, no verdict, INSUFFICIENT_DATA) gives `undefined`.
 * `Test Flaky Detected` is no observation: on an alerting branch it is a one-off NOTICE
 * (`noticeFromEvent`, check key `flaky:<project>/<test id>`).
 */

/** Test runs, gates and alarms alert on the first failure and resolve on the first pass. */
export const IMMEDIATE = { failureThreshold: 1, recoveryThreshold: 1 } as const;
/** The probe schema's defaults, for a probe event whose probe is no longer in the config. */
const PROBE_DEFAULTS = { failureThreshold: 2, recoveryThreshold: 1 } as const;
const MAX_ERROR_CHARS = 2000;

export const clip = (s: string, max = MAX_ERROR_CHARS): string =>
  s.length <= max ? s : `${s.slice(0, max - 1)}…`;

// Kept in config-access, so the history (which decides when a notice is due) reads it too.
export { alertBranches };

/** A failed browser check's screenshot and trace, as API paths (never cut off by `clip`). */
const artifactLinks = (detail: ProbeCompletedDetail): string =>
  (detail.artifacts ?? []).map((a) => `\n${a.kind}: GET ${artifactPath(a)}`).join('');

const probeObservation = (
  detail: ProbeCompletedDetail,
  eventId: string,
  config: VigilConfig,
): Observation => {
  const { project, probe, correlationId, checkedAt } = detail.metadata;
  const cfg: ProbeConfig | undefined = config.probes.find((p) => p.name === probe);
  const failure = detail.failure;
  const status = detail.statusCode === undefined ? '' : ` (HTTP ${detail.statusCode})`;
  return {
    id: eventId,
    checkKey: checkKey('probe', project, probe),
    ok: detail.status === 'up',
    at: checkedAt,
    source: 'probe',
    project,
    severity: detail.severity,
    title: `Probe ${probe}`,
    target: `${detail.method} ${shownUrl(detail.url)}`,
    ...(detail.status === 'down'
      ? {
          error:
            clip(failure ? `${failureText(failure)}${status}` : `down${status}`) +
            artifactLinks(detail),
        }
      : {}),
    ...(cfg?.runbookUrl ? { runbookUrl: cfg.runbookUrl } : {}),
    dashboardPath: dashboardPath(['probe', project, probe]),
    correlationId,
    ...(detail.metadata.traceId ? { traceId: detail.metadata.traceId } : {}),
    policy: {
      failureThreshold: cfg?.failureThreshold ?? PROBE_DEFAULTS.failureThreshold,
      recoveryThreshold: cfg?.recoveryThreshold ?? PROBE_DEFAULTS.recoveryThreshold,
      ...(cfg?.failureWindow ? { failureWindow: cfg.failureWindow } : {}),
    },
    tags: detail.tags,
    probe,
  };
};

/** The project a heartbeat belongs to: its own, else the config's. */
export const heartbeatProject = (hb: HeartbeatConfig, config: VigilConfig): string =>
  hb.project ?? config.project;

const heartbeatObservation = (detail: HeartbeatCheckedDetail, config: VigilConfig): Observation => {
  const { project, heartbeat, correlationId, checkedAt } = detail.metadata;
  const cfg = config.heartbeats.find(
    (h) => h.name === heartbeat && heartbeatProject(h, config) === project,
  );
  const key = checkKey('heartbeat', project, heartbeat);
  return {
    // A heartbeat result is named by its check and time (one heartbeat's results get increasing
    // times), not by the bus's event id: a result published again after a crash (the outbox of
    // heartbeat-service.ts) is the same observation, applied once.
    id: `${key}@${checkedAt}`,
    checkKey: key,
    ok: detail.status === 'up',
    at: checkedAt,
    source: 'heartbeat',
    project,
    severity: detail.severity,
    title: `Heartbeat ${heartbeat}`,
    target: cfg?.cron
      ? `cron "${cfg.cron}" ${cfg.timezone ?? 'UTC'}`
      : `every ${cfg?.periodSeconds ?? '?'} s`,
    ...(detail.status === 'down' ? { error: clip(`${detail.outcome}: ${detail.message}`) } : {}),
    ...(cfg?.runbookUrl ? { runbookUrl: cfg.runbookUrl } : {}),
    // The dashboard shows heartbeats on the probes' page.
    dashboardPath: dashboardPath(['probe', project, heartbeat]),
    correlationId,
    policy: {
      failureThreshold: cfg?.failureThreshold ?? 1,
      recoveryThreshold: cfg?.recoveryThreshold ?? 1,
      ...(cfg?.failureWindow ? { failureWindow: cfg.failureWindow } : {}),
    },
    tags: detail.tags,
    // Maintenance windows name heartbeats like probes.
    probe: heartbeat,
  };
};

// One line each (`oneLine`): a check message quotes report names, and a line break, C1 or bidi
// control in them must not forge a line of the alert (a "RESOLVED: all clear" in an email) nor
// reorder what it shows.
const failedChecks = (gate: Gate): string[] =>
  gate.checks.filter((c) => c.status === 'fail').map((c) => oneLine(c.message));

const shortCommit = (m: EventMetadata): string => (m.commit ? ` @ ${m.commit.slice(0, 12)}` : '');

type GateKind = 'coverage' | 'load' | 'benchmark';

interface Report {
  metadata: EventMetadata;
  gate: Gate;
}

/** The verdict of a report on an alerting branch, or `undefined` when it does not count. */
const reportObservation = (
  report: Report,
  eventId: string,
  config: VigilConfig,
  kind: 'tests' | GateKind,
  extraError: string[] = [],
): Observation | undefined => {
  const m = report.metadata;
  const branch = m.branch;
  if (!branch || !alertBranches(config).includes(branch)) return undefined;
  if (report.gate.status === 'none') return undefined;
  const ok = report.gate.status === 'pass';
  const suite = m.suite ?? 'default';
  const isTests = kind === 'tests';
  const error = [...failedChecks(report.gate), ...extraError].join('\n');
  return {
    id: eventId,
    checkKey: isTests
      ? `tests:${m.project}/${suite}/${branch}`
      : `gate:${m.project}/${kind}/${branch}`,
    ok,
    at: m.ingestedAt,
    source: isTests ? 'tests' : 'gate',
    project: m.project,
    // A red branch needs the team's attention, not a page.
    severity: 'warning',
    title: isTests
      ? `Tests ${m.project}/${suite} on ${branch}`
      : `${kind.charAt(0).toUpperCase()}${kind.slice(1)} gate ${m.project} on ${branch}`,
    target: `${branch}${shortCommit(m)}${m.ci ? ` (${m.ci})` : ''}`,
    ...(!ok ? { error: clip(error || 'The gate failed.') } : {}),
    dashboardPath: dashboardPath(['run', m.project, m.runId]),
    correlationId: m.correlationId,
    policy: IMMEDIATE,
    tags: [],
  };
};

const failedTestNames = (detail: TestRunDetail): string[] => {
  const shown = detail.failedTests.slice(0, 5).map((t) => {
    // One line per test, as the checks: names and messages are the report's.
    const name = oneLine(t.classname ? `${t.classname} > ${t.name}` : t.name);
    const message = oneLine((t.message ?? '').replace(/\n[\s\S]*/, '')).slice(0, 200);
    return `✗ ${name}${message ? `: ${message}` : ''}`;
  });
  const more = detail.summary.failed - shown.length;
  return more > 0 ? [...shown, `…and ${more} more`] : shown;
};

/** A validated Vigil event → an observation (or `undefined` when it does not alert). */
export const observationFromEvent = (
  event: KnownEvent,
  eventId: string,
  config: VigilConfig,
): Observation | undefined => {
  switch (event.detailType) {
    case DETAIL_TYPES.probeCompleted:
      return probeObservation(event.detail, eventId, config);
    case DETAIL_TYPES.heartbeatChecked:
      return heartbeatObservation(event.detail, config);
    case DETAIL_TYPES.testRun:
      return reportObservation(
        event.detail,
        eventId,
        config,
        'tests',
        failedTestNames(event.detail),
      );
    case DETAIL_TYPES.coverage:
      return reportObservation(event.detail, eventId, config, 'coverage');
    case DETAIL_TYPES.load:
      return reportObservation(event.detail, eventId, config, 'load');
    case DETAIL_TYPES.benchmark:
      return reportObservation(event.detail, eventId, config, 'benchmark');
    case DETAIL_TYPES.alertmanager:
      return alertmanagerObservation(event.detail, eventId);
    default:
      return undefined;
  }
};

/**
 * The NOTICE a validated event stands for: a test found flaky on an alerting branch. Other
 * events, other branches and findings without a branch give `undefined`.
 */
export const noticeFromEvent = (
  event: KnownEvent,
  eventId: string,
  config: VigilConfig,
): AlertNotification | undefined => {
  if (event.detailType !== DETAIL_TYPES.testFlaky) return undefined;
  const branch = event.detail.metadata.branch;
  if (!branch || !alertBranches(config).includes(branch)) return undefined;
  if (event.detail.batch.index > MAX_FLAKY_NOTICES_PER_RUN) return undefined;
  return flakyNotice(event.detail, eventId);
};

export const isCloudWatchAlarmEvent = (event: Pick<BusEvent, 'source' | 'detail-type'>): boolean =>
  event.source === SOURCES.cloudwatch && event['detail-type'] === DETAIL_TYPES.cloudwatchAlarm;

/** Alarm severity: `warning` when the alarm name contains "warning", else `critical`. */
export const alarmSeverity = (alarmName: string): 'critical' | 'warning' =>
  /warning/i.test(alarmName) ? 'warning' : 'critical';
