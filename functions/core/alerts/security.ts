import type { VigilConfig } from '../config';
import { dashboardPath } from '../dashboard-links';
import type { AlertNotification, SecurityDetail } from '../events';
import { alertBranches } from './sources';

/**
 * New critical and high security findings on an alerting branch become NOTICEs, one per
 * finding: the check key is the finding's fingerprint and the notice key is fixed, so the
 * alert state remembers a finding once notified and never notifies it again (a redelivered
 * event, a later run that still has it, a reintroduction after a fix within the state's life).
 */

/** A run that brings many new findings at once notifies this many; the last names the rest. */
export const MAX_SECURITY_NOTICES_PER_RUN = 10;

/** The key a finding's notice is remembered under in its check state. */
export const SECURITY_NOTICE_KEY = 'new-finding';

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

export const securityNotices = (
  detail: SecurityDetail,
  eventId: string,
  config: VigilConfig,
): AlertNotification[] => {
  const m = detail.metadata;
  if (!m.branch || !alertBranches(config).includes(m.branch)) return [];
  const urgent = detail.newFindings.filter(
    (f) => f.severity === 'critical' || f.severity === 'high',
  );
  const shown = urgent.slice(0, MAX_SECURITY_NOTICES_PER_RUN);
  // The event lists the first new findings, most severe first: the rest of the urgent ones
  // are counted from the summary when the list was cut.
  const total = detail.newFindingsTruncated
    ? Math.max(urgent.length, detail.summary.new)
    : urgent.length;
  const more = total - shown.length;
  const commit = m.commit ? ` @ ${m.commit.slice(0, 12)}` : '';
  return shown.map((f, i) => ({
    checkKey: `security:${m.project}/${f.fingerprint}`,
    incidentId: `${eventId}:${i + 1}`,
    kind: 'NOTICE',
    source: 'security',
    project: m.project,
    severity: f.severity === 'critical' ? 'critical' : 'warning',
    title: clip(`New ${f.severity} security finding in ${m.project}: ${f.ruleId}`, 200),
    summary: clip(
      `${f.tool} reports ${f.ruleId}${f.ruleName ? ` (${f.ruleName})` : ''} at ${f.location} on ${m.branch}${commit}, new since the previous run (fingerprint ${f.fingerprint}).${
        i === shown.length - 1 && more > 0
          ? ` Run ${m.runId} has ${more} more new findings: the ingest answer and the normalized result list them.`
          : ''
      }`,
      1500,
    ),
    since: m.ingestedAt,
    at: m.ingestedAt,
    // The run that brought it (its branch and gate): the Security page shows the default branch.
    dashboardPath: dashboardPath(['run', m.project, m.runId]),
    correlationId: m.correlationId,
  }));
};
