import { html } from 'htm/preact';
import type { DeliveryView } from '../../functions/core/alerts/delivery';
import type { AlertsView } from '../../functions/core/alerts/service';
import type { HeartbeatSchedule } from '../../functions/core/check-key';
import type {
  IncidentsAnswer,
  ProbeDetailAnswer,
  ProbesAnswer,
} from '../../functions/core/status/api';
import type { Incident, ProbeFailure } from '../../functions/core/status/types';
import { ApiError, download, qs, seg, usePoll } from '../api';
import { Chart } from '../chart';
import { downtime, incidentTarget, isPast, uptimePct } from '../text';
import {
  Empty,
  href,
  Loading,
  ms,
  Name,
  Pill,
  ProbeState,
  SafeLink,
  Scroll,
  Time,
  UptimeBars,
} from '../ui';
import { ProbeTable } from './overview';

/** Every probe; one probe's 90 days, latency, failures, incidents and maintenance windows. */

export const Probes = () => {
  const probes = usePoll<ProbesAnswer>('/v1/probes', true);
  return html`<h1 tabindex="-1">Probes</h1><${Loading} state=${probes}>${(a: ProbesAnswer) => html`<${ProbeTable} probes=${a.probes} />`}<//>`;
};

/**
 * An incident's title, linked to the page of its cause (the probe or heartbeat; the runs of a
 * gate or tests incident): on-call goes from the alert to what failed. A link to a list says so
 * in its name ("… (runs)"). `linked` false: the page already is the cause's (a probe's).
 */
const IncidentTitle = ({ i, linked }: { i: Incident; linked: boolean }) => {
  const target = linked ? incidentTarget(i) : undefined;
  if (!target) return html`<${Name} name=${i.title} />`;
  const [page = '', ...rest] = target.parts;
  return html`<a href=${`${href(page, ...rest)}${qs(target.query ?? {})}`}><${Name} name=${i.title} />${target.list ? ` (${target.list})` : ''}</a>`;
};

export const IncidentTable = ({
  incidents,
  linked = true,
}: {
  incidents: Incident[];
  linked?: boolean;
}) =>
  incidents.length === 0
    ? html`<${Empty}>No incidents.<//>`
    : html`<${Scroll}><table>
        <thead><tr><th scope="col">State</th><th scope="col">Incident</th><th scope="col">Fired</th><th scope="col">Resolved</th><th scope="col">Last error</th></tr></thead>
        <tbody>${incidents.map(
          (i) => html`<tr key=${i.incidentId}>
            <td><${Pill} status=${i.resolvedAt ? 'RESOLVED' : 'FIRING'} /> <small>${i.severity}</small></td>
            <td><${IncidentTitle} i=${i} linked=${linked} /><br /><small><${Name} name=${i.checkKey} /></small></td>
            <td><${Time} iso=${i.firedAt} /></td>
            <td>${i.resolvedAt ? html`<${Time} iso=${i.resolvedAt} /> <small class="nowrap">${downtime(i.downtimeSeconds)}</small>` : 'ongoing'}</td>
            <td class="text">${i.lastError ?? '—'}</td>
          </tr>`,
        )}</tbody>
      </table><//>`;

/**
 * A failure; a browser or multi-step check's also shows its failed step, step timings and
 * screenshot. A heartbeat's (a missed or failed ping) has no status code or latency.
 */
const FailureRow = ({ f, heartbeat }: { f: ProbeFailure; heartbeat: boolean }) => html`<tr>
  <td><${Time} iso=${f.checkedAt} /></td>
  <td>${f.assertion}${f.step ? html`<br /><small>step <${Name} name=${f.step} /></small>` : null}</td>
  <td class="text">${f.message}
    ${f.steps ? html`<ol class="steps" aria-label="Step timings">${f.steps.map((st) => html`<li>${st.name}: ${st.status}, ${ms(st.latencyMs)}</li>`)}</ol>` : null}
    ${f.screenshot ? html`<button type="button" onClick=${() => download(f.screenshot as string, `${f.probe}-${f.checkedAt}.png`)}>Screenshot</button>` : null}
  </td>
  ${heartbeat ? null : html`<td>${f.statusCode ?? '—'}</td><td class="nowrap">${ms(f.latencyMs)}</td>`}
</tr>`;

/** A heartbeat's schedule in words: `every 3600 s` or `at cron 30 2 * * * (Europe/Berlin)`. */
const schedule = (s: HeartbeatSchedule): string =>
  `${s.cron === undefined ? `every ${s.periodSeconds ?? '?'} s` : `at cron ${s.cron} (${s.timezone ?? 'UTC'})`}, late after ${s.graceSeconds} s more`;

export const Probe = ({ project, probe }: { project: string; probe: string }) => {
  const detail = usePoll<ProbeDetailAnswer>(`/v1/probes/${seg(project)}/${seg(probe)}`, true);
  const heartbeat = detail.data?.summary.kind === 'heartbeat';
  return html`<h1 tabindex="-1">${heartbeat ? 'Heartbeat' : 'Probe'} ${probe}</h1>
    <${Loading} state=${detail}>${(d: ProbeDetailAnswer) => {
      const s = d.summary;
      // A line needs two hours with samples; after a fresh start one of the 168 has any.
      const sampled = d.latency.filter(
        (p) => p.p50 !== null || p.p95 !== null || p.p99 !== null,
      ).length;
      // Only the status is a live region: the "Checked 3 s ago" beside it changes every poll,
      // and a screen reader would read the whole block out each time.
      return html`
        <p class="facts">
          <span aria-live="polite">Status: <${ProbeState} status=${s.status} configured=${s.configured} /></span>
          ${
            heartbeat
              ? html`<span>Last result <${Time} iso=${s.checkedAt} /></span>
                ${s.schedule ? html`<span>Expected ${schedule(s.schedule)}</span>` : null}`
              : html`<span>Checked <${Time} iso=${s.checkedAt} /> (${ms(s.latencyMs)})</span>`
          }
          <span>Uptime 24 h ${uptimePct(s.uptime.h24)}, 7 d ${uptimePct(s.uptime.d7)}, 30 d ${uptimePct(s.uptime.d30)}</span>
          ${s.url ? html`<span>Target: <${SafeLink} url=${s.url} /></span>` : null}
          ${s.runbookUrl ? html`<span><${SafeLink} url=${s.runbookUrl}>Runbook</${SafeLink}></span>` : null}
        </p>
        <h2>Uptime, last ${d.days.length} days</h2>
        <${UptimeBars} days=${d.days} label=${`${probe}: uptime per day over ${d.days.length} days, oldest first`} />
        ${heartbeat ? null : html`<h2>Latency, last 7 days</h2>`}
        ${
          heartbeat
            ? null
            : sampled > 1
              ? html`<${Chart} title=${`${probe} latency per hour`} unit="ms" at=${d.latency.map((p) => p.at)} series=${[
                  { label: 'p50', color: '#2e7d32', values: d.latency.map((p) => p.p50) },
                  { label: 'p95', color: '#1565c0', values: d.latency.map((p) => p.p95) },
                  { label: 'p99', color: '#6a1b9a', values: d.latency.map((p) => p.p99) },
                ]} />`
              : html`<${Empty}>Not enough samples yet: the chart starts once two hours have latency samples.<//>`
        }
        <h2>Recent failures</h2>
        ${
          d.failures.length === 0
            ? html`<${Empty}>No failures kept.<//>`
            : html`<${Scroll}><table><thead><tr><th scope="col">When</th><th scope="col">${heartbeat ? 'Outcome' : 'Assertion'}</th><th scope="col">Message</th>${heartbeat ? null : html`<th scope="col">Status code</th><th scope="col">Latency</th>`}</tr></thead>
              <tbody>${d.failures.map((f) => html`<${FailureRow} f=${f} heartbeat=${heartbeat} />`)}</tbody></table><//>`
        }
        <h2>Incidents</h2>
        <${IncidentTable} incidents=${d.incidents} linked=${false} />
        <h2>Maintenance windows</h2>
        ${
          d.maintenance.length === 0
            ? html`<${Empty}>None cover this ${heartbeat ? 'heartbeat' : 'probe'}.<//>`
            : html`<ul>${d.maintenance.map(
                (m) =>
                  html`<li>${m.active ? html`<strong>Active now. </strong>` : null}${m.start && m.end ? `${m.start} to ${m.end}` : `cron ${m.cron ?? ''} for ${m.durationMinutes ?? '?'} min`}${m.reason ? `: ${m.reason}` : ''}</li>`,
              )}</ul>`
        }`;
    }}<//>`;
};

/** `#/alerts?project=…`: one project's incidents (the overview's "Open incidents" links here). */
export const Alerts = ({ query }: { query: URLSearchParams }) => {
  const project = query.get('project') ?? '';
  const open = usePoll<IncidentsAnswer>(`/v1/incidents${qs({ open: 'true', project })}`, true);
  const recent = usePoll<IncidentsAnswer>(`/v1/incidents${qs({ days: 30, project })}`);
  // The open ones are listed once, above. (The 30 days refresh less often: one resolved since
  // shows there as firing until their next refresh, rather than in neither list.)
  const openIds = new Set(open.data?.incidents.map((i) => i.incidentId));
  return html`<h1 tabindex="-1">${project ? `Alerts of ${project}` : 'Alerts'}</h1>
    ${project ? html`<p>Incidents of project ${project} only. <a href=${href('alerts')}>Alerts of every project</a></p>` : null}
    <h2>Open incidents</h2>
    <${Loading} state=${open}>${(a: IncidentsAnswer) => html`<${IncidentTable} incidents=${a.incidents} />`}<//>
    <h2>Last 30 days, besides the open ones</h2>
    <${Loading} state=${recent}>${(a: IncidentsAnswer) => html`<${IncidentTable} incidents=${a.incidents.filter((i) => !openIds.has(i.incidentId))} />`}<//>
    <h2>Deliveries to the channels</h2>
    <${Deliveries} />`;
};

/** What failed first, then what waits, then what went out; the latest first within each. */
const DELIVERY_RANK: Record<DeliveryView['status'], number> = { dead: 0, pending: 1, delivered: 2 };
const DELIVERY_WORD: Record<DeliveryView['status'], string> = {
  dead: 'failed',
  pending: 'pending',
  delivered: 'delivered',
};

/** Why a delivery is where it is: its last error, and what happens next. */
const DeliveryDetail = ({ d }: { d: DeliveryView }) => {
  if (d.status === 'delivered')
    return d.attempts > 1
      ? html`<small>after ${d.attempts} attempts; the last failed one: ${d.lastError ?? '—'}</small>`
      : null;
  if (d.status === 'dead')
    return html`${d.lastError ?? ''}<br /><small>${d.unfiled ? 'not yet in the dead-letter file (retried)' : 'given up: in the dead-letter file, not sent again'}</small>`;
  if (d.attempts === 0)
    return html`<small>waiting to be sent, after this check's earlier messages on this channel</small>`;
  const next = d.nextAttemptAt;
  // One due a moment ago is being made, or about to be: the page polls every few seconds.
  return html`${d.lastError ?? ''}${next ? html`<br /><small>next attempt ${isPast(next) ? 'due now' : html`<${Time} iso=${next} />`}</small>` : null}`;
};

/**
 * Each channel's delivery of the recent notifications (local mode's `GET /v1/alerts`): a
 * failing Slack webhook shows here, not only in the logs. The AWS API has no such route (404):
 * there the notify function's retries and dead-letter queue stand for it.
 */
const Deliveries = () => {
  const state = usePoll<AlertsView>('/v1/alerts?history=0', true);
  if (state.data === undefined && state.error instanceof ApiError && state.error.status === 404)
    return html`<p class="note">On AWS the notify function delivers to each channel on its own and retries; what still fails goes to its dead-letter queue, whose alarm pages the team.</p>`;
  return html`<${Loading} state=${state}>${(a: AlertsView) => {
    const rows = [...a.deliveries].sort(
      (x, y) => DELIVERY_RANK[x.status] - DELIVERY_RANK[y.status] || y.at.localeCompare(x.at),
    );
    if (rows.length === 0) return html`<${Empty}>No notification sent yet.<//>`;
    return html`<${Scroll}><table>
      <thead><tr><th scope="col">State</th><th scope="col">Channel</th><th scope="col">Notification</th><th scope="col">Attempts</th><th scope="col">Detail</th></tr></thead>
      <tbody>${rows.map(
        (d) => html`<tr key=${`${d.checkKey} ${d.incidentId} ${d.kind} ${d.at} ${d.channel}`}>
          <td><${Pill} status=${DELIVERY_WORD[d.status]} /></td>
          <td>${d.channel}</td>
          <td>${d.kind} <${Time} iso=${d.at} /><br /><small><${Name} name=${d.checkKey} /></small></td>
          <td>${d.attempts}</td>
          <td class="text"><${DeliveryDetail} d=${d} /></td>
        </tr>`,
      )}</tbody></table><//>`;
  }}<//>`;
};
