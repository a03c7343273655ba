import { createHash } from 'node:crypto';
import { dashboardPath, testSearch } from '../dashboard-links';
import type { AlertNotification, TestFlakyDetail } from '../events';
import { oneLine } from '../plain-text';
import type { AlertKind, AlertState } from './state';

/**
 * What every channel receives: the AlertNotification, and its renderings for Slack
 * (incoming-webhook `text` + Block Kit `blocks`) and for email through SNS (subject + body).
 */

/** Human duration: `45s`, `12m 30s`, `3h 5m`, `2d 4h`. */
export const formatDuration = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
};

/** `2026-11-25 10:00:00 UTC` */
export const formatTime = (iso: string): string => {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
};

const elapsed = (from: string, to: string): number =>
  Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

/**
 * The failures behind a FIRING or REMINDER in the source's terms: runs for tests and gates,
 * checks for probes and heartbeats; none for alarms and Alertmanager alerts, whose state
 * changes (and repeats) are not failures to count.
 */
const failureCount = (state: AlertState): string => {
  const n = state.consecutiveFailures;
  switch (state.source) {
    case 'tests':
    case 'gate':
      return n === 1 ? ': 1 failed run' : `: ${n} failed runs in a row`;
    case 'alarm':
    case 'alertmanager':
      return '';
    default:
      return n === 1 ? ': 1 failure' : `: ${n} consecutive failures`;
  }
};

const summaryFor = (kind: AlertKind, state: AlertState, since: string, at: string): string => {
  const what = state.target ? `${state.title} (${state.target})` : state.title;
  switch (kind) {
    case 'FIRING':
      return `${what} is failing since ${formatTime(since)}${failureCount(state)}.`;
    case 'REMINDER':
      return `${what} is still failing after ${formatDuration(elapsed(since, at))}${failureCount(state)}.`;
    case 'RESOLVED':
      return `${what} recovered at ${formatTime(at)} after ${formatDuration(elapsed(since, at))} of downtime.`;
    case 'NOTICE':
      return `${what}.`;
  }
};

/**
 * The notification for a transition. `state` is the state after it (`advance`'s `next`):
 * for RESOLVED the incident is read from `state.lastResolved`.
 */
export const buildNotification = (
  kind: AlertKind,
  state: AlertState,
  suppressedBy?: string,
): AlertNotification => {
  const resolved = kind === 'RESOLVED' ? state.lastResolved : undefined;
  const at = resolved?.resolvedAt ?? state.lastObservedAt ?? state.updatedAt;
  const since = resolved?.since ?? state.since ?? at;
  const incidentId = resolved?.incidentId ?? state.incidentId ?? 'unknown';
  const lastError = resolved ? resolved.lastError : state.lastError;
  return {
    checkKey: state.checkKey,
    incidentId,
    kind,
    source: state.source,
    project: state.project,
    severity: state.severity,
    title: state.title,
    summary: summaryFor(kind, state, since, at),
    since,
    at,
    ...(lastError === undefined ? {} : { lastError }),
    ...(resolved ? { downtimeSeconds: resolved.downtimeSeconds } : {}),
    ...(state.runbookUrl === undefined ? {} : { runbookUrl: state.runbookUrl }),
    ...(state.dashboardPath === undefined ? {} : { dashboardPath: state.dashboardPath }),
    correlationId: state.correlationId,
    ...(suppressedBy === undefined ? {} : { suppressedBy }),
    ...(state.traceId === undefined ? {} : { traceId: state.traceId }),
  };
};

/** The `reason` of the RESOLVED that closes a probe's or heartbeat's incident after it left the config. */
export const REMOVED_FROM_CONFIG = 'check removed from the configuration';

/**
 * The RESOLVED of a FIRING check the config no longer names (`retire`'s transition): it did not
 * recover, it is gone, so the summary says so and `reason` names why.
 */
export const removedNotification = (
  state: AlertState,
  suppressedBy?: string,
): AlertNotification => {
  const n = buildNotification('RESOLVED', state, suppressedBy);
  const what = state.target ? `${state.title} (${state.target})` : state.title;
  return {
    ...n,
    summary: `${what} was removed from the configuration: its incident, failing since ${formatTime(n.since)}, is closed without a recovery.`,
    reason: REMOVED_FROM_CONFIG,
  };
};

/** Longest check key kept whole (DynamoDB's alert table keys it; its limit is 2048 bytes). */
const MAX_CHECK_KEY_BYTES = 1024;

/**
 * `flaky:<project>/<test id>`; an absurdly long test id is cut and suffixed with a hash of the
 * whole key so it stays unique and fits a table key.
 */
export const flakyCheckKey = (project: string, testId: string): string => {
  const key = `flaky:${project}/${testId}`;
  if (Buffer.byteLength(key) <= MAX_CHECK_KEY_BYTES) return key;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  let cut = key.slice(0, MAX_CHECK_KEY_BYTES - 40);
  while (Buffer.byteLength(cut) > MAX_CHECK_KEY_BYTES - 40) cut = cut.slice(0, -1);
  return `${cut}…#${hash}`;
};

/**
 * A run that turns many tests flaky at once (a first upload, a broken runner) notifies this many
 * of them; the last of these names how many more there are. The events and the API keep all.
 */
export const MAX_FLAKY_NOTICES_PER_RUN = 5;

/**
 * The NOTICE for a test found flaky: a one-off warning outside the incident cycle (it never
 * fires or resolves). The incident id is the event's id; the summary is the detector's
 * explanation, plus the quarantine covering the test, if any.
 */
export const flakyNotice = (detail: TestFlakyDetail, eventId: string): AlertNotification => {
  const m = detail.metadata;
  const q = detail.quarantined;
  const quarantine = q ? ` Quarantined until ${q.expires} (owner: ${q.owner}).` : '';
  const more = detail.batch.total - MAX_FLAKY_NOTICES_PER_RUN;
  const rest =
    detail.batch.index === MAX_FLAKY_NOTICES_PER_RUN && more > 0
      ? ` ${more} more test${more === 1 ? ' was' : 's were'} found flaky in run ${m.runId}: GET /v1/projects/${encodeURIComponent(m.project)}/tests?status=flaky lists them all.`
      : '';
  return {
    checkKey: flakyCheckKey(m.project, detail.test.id),
    incidentId: eventId,
    kind: 'NOTICE',
    source: 'flaky',
    project: m.project,
    severity: 'warning',
    title: `Flaky test ${detail.test.id}`,
    summary: `${detail.explanation}${quarantine}${rest}`,
    since: m.detectedAt,
    at: m.detectedAt,
    // The project's flaky tests, searched for this one's id (unique; as the page searches).
    dashboardPath: dashboardPath(['tests', m.project], {
      status: 'flaky',
      q: testSearch(detail.test.id),
    }),
    correlationId: m.correlationId,
  };
};

// Slack ---------------------------------------------------------------------------------

/** Slack's Block Kit limits (header text, section text, field text). */
const SLACK = { header: 150, text: 3000, field: 2000 } as const;

const MARK: Record<AlertKind, { emoji: string; label: string }> = {
  FIRING: { emoji: ':rotating_light:', label: 'FIRING' },
  REMINDER: { emoji: ':repeat:', label: 'STILL FIRING' },
  RESOLVED: { emoji: ':white_check_mark:', label: 'RESOLVED' },
  NOTICE: { emoji: ':warning:', label: 'NOTICE' },
};

const truncate = (s: string, max: number): string =>
  s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;

/** Slack's control characters in text: `&`, `<`, `>` must be escaped. */
export const escapeSlack = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * `escapeSlack(s)` in at most `max` characters, `…` when cut. The text is cut before it is
 * escaped, at a whole character: cutting after would split an entity (`&am…`), and the caller's
 * closing backtick or fence must not be what a cut removes.
 */
const escapeCut = (s: string, max: number): string => {
  const escaped = escapeSlack(s);
  if (escaped.length <= max) return escaped;
  let cut = '';
  for (const c of s) {
    const e = escapeSlack(c);
    if (cut.length + e.length > max - 1) break;
    cut += e;
  }
  return `${cut}…`;
};

/**
 * Text from a check or a report as inline code of at most `max` characters: no mrkdwn formatting
 * applies inside it, and a backtick in it (which would end the code early) becomes `'`. It is
 * cut inside the backticks, so the code span always ends.
 */
const slackCode = (s: string, max = 500): string =>
  `\`${escapeCut(s.replace(/`/g, "'"), max - 2)}\``;

/** A URL inside `<url|label>`: the delimiters must not appear unencoded. */
const slackLinkUrl = (url: string): string =>
  url.replace(/[|<>]/g, (c) => encodeURIComponent(c)).replace(/\s/g, '%20');

export interface SlackText {
  type: 'mrkdwn' | 'plain_text';
  text: string;
  emoji?: boolean;
}

export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] };

export interface SlackPayload {
  /** Fallback for notifications and clients without blocks. */
  text: string;
  /** The fallback is not mrkdwn: `*`, `_`, `~` and backticks from a report stay as they are. */
  mrkdwn: false;
  blocks: SlackBlock[];
}

/**
 * Vigil's mrkdwn. Its cut is a last resort (a very long runbook URL): parts from a report are
 * already escaped and cut to fit (`escapeCut`, `slackCode`), so it never ends a code span early.
 */
const mrkdwn = (text: string, max: number = SLACK.text): SlackText => ({
  type: 'mrkdwn',
  text: truncate(text, max),
});

/** Room for a field's value after its label (`*Downtime*\n`): the field's cut never reaches it. */
const FIELD_VALUE = SLACK.field - 20;

/**
 * An incoming-webhook message: what, since when, severity, last error, dashboard page, runbook,
 * correlation id.
 */
export const slackPayload = (n: AlertNotification): SlackPayload => {
  const mark = MARK[n.kind];
  const resolved = n.kind === 'RESOLVED';
  const notice = n.kind === 'NOTICE';
  // A time Vigil cannot read is shown as it came (`formatTime`): escaped like the rest.
  const fields: SlackText[] = [
    mrkdwn(`*Severity*\n${n.severity}`, SLACK.field),
    notice
      ? mrkdwn(`*Detected*\n${escapeCut(formatTime(n.at), FIELD_VALUE)}`, SLACK.field)
      : mrkdwn(`*Since*\n${escapeCut(formatTime(n.since), FIELD_VALUE)}`, SLACK.field),
    mrkdwn(`*Project*\n${slackCode(n.project, FIELD_VALUE)}`, SLACK.field),
    mrkdwn(`*Check*\n${slackCode(n.checkKey, FIELD_VALUE)}`, SLACK.field),
  ];
  if (n.downtimeSeconds !== undefined)
    fields.push(mrkdwn(`*Downtime*\n${formatDuration(n.downtimeSeconds)}`, SLACK.field));
  // Plain text: names and messages from a report never format it (bold, italics, code);
  // `&`, `<` and `>` are escaped in every Slack text, the header too (a test's name is in the
  // NOTICE's title), so links and mentions (`<!channel>`) stay text.
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: escapeCut(`${mark.emoji} ${mark.label}: ${n.title}`, SLACK.header),
        emoji: true,
      },
    },
    { type: 'section', text: { type: 'plain_text', text: escapeCut(n.summary, SLACK.text) } },
    { type: 'section', fields },
  ];
  if (n.lastError) {
    const label = resolved && !n.reason ? '*Last error before recovery*' : '*Last error*';
    // Room for the label and the code fences; no ``` inside the block.
    const error = escapeCut(n.lastError.replace(/```/g, "'''"), SLACK.text - 60);
    blocks.push({ type: 'section', text: mrkdwn(`${label}\n\`\`\`${error}\`\`\``) });
  }
  const dashboard =
    n.dashboardUrl && `*Dashboard*: <${slackLinkUrl(n.dashboardUrl)}|open in Vigil>`;
  // Whole or not at all: a link cut at Slack's limit would not be one.
  if (dashboard && dashboard.length <= SLACK.text)
    blocks.push({ type: 'section', text: mrkdwn(dashboard) });
  if (n.runbookUrl) {
    blocks.push({
      type: 'section',
      text: mrkdwn(`*Runbook*: <${slackLinkUrl(n.runbookUrl)}|open the runbook>`),
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        `Correlation id ${slackCode(n.correlationId)}${n.traceId ? ` · trace ${slackCode(n.traceId)}` : ''} · ${notice ? 'event' : 'incident'} ${slackCode(n.incidentId)} · ${escapeCut(formatTime(n.at), 100)} · Vigil`,
      ),
    ],
  });
  const downtime =
    n.downtimeSeconds === undefined
      ? ''
      : `: recovered after ${formatDuration(n.downtimeSeconds)} down`;
  // The push text is what a phone shows: the error's first two lines (a failed gate's count and
  // its first failed test), not the count alone.
  const error =
    !resolved && n.lastError
      ? `: ${truncate(
          n.lastError
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
            .slice(0, 2)
            .join(' — '),
          200,
        )}`
      : '';
  const text = notice
    ? `${mark.label} [${n.severity}] ${n.title}: ${n.summary}`
    : `${mark.label} [${n.severity}] ${n.title}${resolved ? downtime : ` since ${formatTime(n.since)}`}${error}${n.reason ? ` (${n.reason})` : ''}`;
  return { text: escapeCut(text, SLACK.text), mrkdwn: false, blocks };
};

// Email (SNS) ---------------------------------------------------------------------------

/** SNS: the subject must be under 100 characters, without line breaks or control characters. */
export const MAX_SUBJECT_CHARS = 99;

/**
 * `[Vigil] FIRING critical: Probe checkout-api (shop)`: ASCII only (SNS rewrites subjects with
 * non-ASCII characters), no control characters, at most 99 characters.
 */
export const emailSubject = (n: AlertNotification): string => {
  const label = MARK[n.kind].label;
  // A title that names the project already (`Tests shop/unit on main`) does not get it again.
  const project = n.title.includes(`${n.project}/`) ? '' : ` (${n.project})`;
  const raw = `[Vigil] ${label} ${n.severity}: ${n.title}${project}`;
  const ascii = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return ascii.length <= MAX_SUBJECT_CHARS ? ascii : `${ascii.slice(0, MAX_SUBJECT_CHARS - 3)}...`;
};

/**
 * A readable plain-text body for email subscribers. Text from a report (names, branches,
 * messages) is put on one line (`oneLine`): a line break, C1 or bidi control in it must not forge
 * a line of the email (a "RESOLVED: all clear") nor reorder one. The last error keeps its lines
 * (a failed check or test each), indented, so none reads as one of the email's own.
 */
export const emailBody = (n: AlertNotification): string => {
  const notice = n.kind === 'NOTICE';
  const rows: [string, string | undefined][] = [
    ['Project', n.project],
    ['Check', n.checkKey],
    ['Severity', n.severity],
    ['Since', notice ? undefined : formatTime(n.since)],
    [n.kind === 'RESOLVED' ? 'Resolved' : notice ? 'Detected' : 'At', formatTime(n.at)],
    ['Downtime', n.downtimeSeconds === undefined ? undefined : formatDuration(n.downtimeSeconds)],
    ['Reason', n.reason],
    ['Dashboard', n.dashboardUrl],
    ['Runbook', n.runbookUrl],
    [notice ? 'Event' : 'Incident', n.incidentId],
    ['Correlation id', n.correlationId],
    ['Trace id', n.traceId],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const table = rows
    .filter((r): r is [string, string] => r[1] !== undefined)
    .map(([k, v]) => `${`${k}:`.padEnd(width)}${oneLine(v)}`)
    .join('\n');
  const lines = (n.lastError ?? '').split('\n').map(oneLine).filter(Boolean);
  const error = lines.length
    ? `\n\n${n.kind === 'RESOLVED' && !n.reason ? 'Last error before recovery' : 'Last error'}:\n${lines.map((l) => `  ${l}`).join('\n')}`
    : '';
  return `${MARK[n.kind].label}: ${oneLine(n.title)}\n\n${oneLine(n.summary)}${error}\n\n${table}\n\n-- \nSent by Vigil.\n`;
};
