import { DETAIL_TYPES, SOURCES } from '../event-names';
import type { AlertmanagerAlertDetail, VigilEvent } from '../events';
import { canonicalProject } from '../project';
import { type AlertmanagerPayload, clip } from './alertmanager-payload';
import type { Observation } from './state';

/**
 * Prometheus Alertmanager as a source: `POST /v1/alertmanager` takes Alertmanager's webhook
 * payload (version "4") and publishes one `Alertmanager Alert Received` event per alert; the
 * alert handler turns each into an observation of check `alertmanager:<fingerprint>`, so the
 * alert goes through Vigil's state machine, maintenance windows and channels like a probe:
 * one FIRING per fingerprint (Alertmanager's repeats add nothing), RESOLVED on resolve.
 * The payload is checked and bounded in `alertmanager-payload.ts`.
 */

const isHttpUrl = (s: string | undefined): s is string => {
  try {
    return s !== undefined && ['http:', 'https:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
};

/** One event per alert of the payload; a `project` label names the project (else the config's). */
export const alertmanagerEvents = (
  payload: AlertmanagerPayload,
  ctx: { project: string; correlationId: string; ingestedAt: string; traceparent?: string },
): VigilEvent[] =>
  payload.alerts.map((alert, i) => ({
    source: SOURCES.alertmanager,
    detailType: DETAIL_TYPES.alertmanager,
    detail: {
      metadata: {
        project: alert.labels.project
          ? canonicalProject(alert.labels.project, `body.alerts.${i}.labels.project`)
          : ctx.project,
        correlationId: ctx.correlationId,
        ingestedAt: ctx.ingestedAt,
        receiver: clip(payload.receiver, 256),
        ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
      },
      alert: {
        status: alert.status,
        fingerprint: alert.fingerprint,
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: alert.startsAt,
        endsAt: alert.endsAt,
        ...(isHttpUrl(alert.generatorURL) ? { generatorURL: clip(alert.generatorURL) } : {}),
      },
    },
  }));

/** `severity` label: `critical`/`page`/`error` (or none) page; anything else is a warning. */
const severityOf = (labels: Record<string, string>): 'critical' | 'warning' => {
  const s = labels.severity?.toLowerCase();
  return s === undefined || ['critical', 'page', 'error', 'high'].includes(s)
    ? 'critical'
    : 'warning';
};

const time = (iso: string, fallback: string): string => {
  const t = Date.parse(iso);
  // Alertmanager sends `0001-01-01T00:00:00Z` as endsAt of an alert still firing.
  return Number.isFinite(t) && t > 0 ? new Date(t).toISOString() : fallback;
};

/**
 * An Alertmanager alert → an observation: firing fails, resolved passes, at once (Alertmanager
 * already waited its `for:`). Tags `alertmanager` and `alertname:<name>` let a maintenance
 * window cover them.
 */
export const alertmanagerObservation = (
  detail: AlertmanagerAlertDetail,
  eventId: string,
): Observation => {
  const { alert, metadata } = detail;
  const name = alert.labels.alertname || 'alert';
  const firing = alert.status === 'firing';
  const where = alert.labels.instance || alert.labels.job;
  const description = alert.annotations.summary || alert.annotations.description;
  return {
    // Alertmanager repeats a firing alert every repeat_interval: same start, same observation.
    id: `am:${alert.fingerprint}:${alert.status}:${alert.startsAt}`,
    checkKey: `alertmanager:${alert.fingerprint}`,
    ok: !firing,
    at: firing
      ? time(alert.startsAt, metadata.ingestedAt)
      : time(alert.endsAt, metadata.ingestedAt),
    source: 'alertmanager',
    project: metadata.project,
    severity: severityOf(alert.labels),
    title: `Alertmanager ${name}${where ? ` on ${where}` : ''}`,
    target: clip(
      Object.entries(alert.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
      300,
    ),
    ...(firing ? { error: clip(description || `${name} is firing`, 2000) } : {}),
    ...(isHttpUrl(alert.annotations.runbook_url)
      ? { runbookUrl: alert.annotations.runbook_url }
      : {}),
    correlationId: metadata.correlationId || eventId,
    policy: { failureThreshold: 1, recoveryThreshold: 1 },
    tags: ['alertmanager', `alertname:${name}`],
  };
};
