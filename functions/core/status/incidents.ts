import type { AlertNotification } from '../events';
import type { Incident } from './types';

/** Incidents from alert transitions, pure: shared by every `IncidentStore`. */

/** Does an incident overlap [from, to)? */
export const overlaps = (i: Incident, from: string, to: string): boolean =>
  i.firedAt < to && (i.resolvedAt === undefined || i.resolvedAt >= from);

/** The incident a notification opens or closes (undefined: nothing to record). */
export const applyNotification = (
  current: Incident | undefined,
  n: AlertNotification,
): Incident | undefined => {
  if (n.kind === 'FIRING') {
    if (current) return undefined;
    return {
      incidentId: n.incidentId,
      checkKey: n.checkKey,
      project: n.project,
      source: n.source,
      severity: n.severity,
      title: n.title,
      since: n.since,
      firedAt: n.at,
      ...(n.lastError === undefined ? {} : { lastError: n.lastError }),
    };
  }
  if (n.kind !== 'RESOLVED' || current?.resolvedAt !== undefined) return undefined;
  // A RESOLVED without its FIRING (lost, or older than the store) still records the incident.
  const base = current ?? {
    incidentId: n.incidentId,
    checkKey: n.checkKey,
    project: n.project,
    source: n.source,
    severity: n.severity,
    title: n.title,
    since: n.since,
    firedAt: n.since,
  };
  const downtimeSeconds =
    n.downtimeSeconds ?? Math.max(0, (Date.parse(n.at) - Date.parse(base.since)) / 1000);
  return { ...base, resolvedAt: n.at, downtimeSeconds };
};

export const byFiredDesc = (a: Incident, b: Incident): number =>
  a.firedAt < b.firedAt ? 1 : a.firedAt > b.firedAt ? -1 : a.incidentId < b.incidentId ? 1 : -1;
