import { html } from 'htm/preact';
import type {
  IncidentsAnswer,
  ProbeDetailAnswer,
  ProbesAnswer,
} from '../../functions/core/status/api';
import type { Incident, ProbeFailure } from '../../functions/core/status/types';
import { download, seg, usePoll } from '../api';
import { Chart } from '../chart';
import { downtime } from '../text';
import {
  Empty,
  Loading,
  ms,
  Pill,
  ProbeState,
  pct,
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

export const IncidentTable = ({ incidents }: { incidents: Incident[] }) =>
  incidents.length === 0
    ? html`<${Empty}>No incidents.<//>`
    : html`<${Scroll}><table>
        <thead><tr><th scope="col">State</th><th scope="col">Incident</th><th scope="col">Fired</th><th scope="col">Resolved</th><th scope="col">Last error</th></tr></thead>
        <tbody>${incidents.map(
          (i) => html`<tr>
            <td><${Pill} status=${i.resolvedAt ? 'RESOLVED' : 'FIRING'} /> <small>${i.severity}</small></td>
            <td>${i.title}<br /><small>${i.checkKey}</small></td>
            <td><${Time} iso=${i.firedAt} /></td>
            <td>${i.resolvedAt ? html`<${Time} iso=${i.resolvedAt} /> <small>${downtime(i.downtimeSeconds)}</small>` : 'ongoing'}</td>
            <td>${i.lastError ?? '—'}</td>
          </tr>`,
        )}</tbody>
      </table><//>`;

/** A failure; a browser or multi-step check's also shows its failed step, step timings and screenshot. */
const FailureRow = ({ f }: { f: ProbeFailure }) => html`<tr>
  <td><${Time} iso=${f.checkedAt} /></td>
  <td>${f.assertion}${f.step ? html`<br /><small>step ${f.step}</small>` : null}</td>
  <td>${f.message}
    ${f.steps ? html`<ol class="steps" aria-label="Step timings">${f.steps.map((st) => html`<li>${st.name}: ${st.status}, ${ms(st.latencyMs)}</li>`)}</ol>` : null}
    ${f.screenshot ? html`<button type="button" onClick=${() => download(f.screenshot as string, `${f.probe}-${f.checkedAt}.png`)}>Screenshot</button>` : null}
  </td>
  <td>${f.statusCode ?? '—'}</td><td>${ms(f.latencyMs)}</td>
</tr>`;

export const Probe = ({ project, probe }: { project: string; probe: string }) => {
  const detail = usePoll<ProbeDetailAnswer>(`/v1/probes/${seg(project)}/${seg(probe)}`, true);
  return html`<h1 tabindex="-1">Probe ${probe}</h1>
    <${Loading} state=${detail}>${(d: ProbeDetailAnswer) => {
      const s = d.summary;
      return html`
        <p class="facts" aria-live="polite">
          <span>Status: <${ProbeState} status=${s.status} configured=${s.configured} /></span>
          <span>Checked <${Time} iso=${s.checkedAt} /> (${ms(s.latencyMs)})</span>
          <span>Uptime 24 h ${pct(s.uptime.h24)}, 7 d ${pct(s.uptime.d7)}, 30 d ${pct(s.uptime.d30)}</span>
          ${s.url ? html`<span>Target: <${SafeLink} url=${s.url} /></span>` : null}
        </p>
        <h2>Uptime, last ${d.days.length} days</h2>
        <${UptimeBars} days=${d.days} label=${`${probe}: uptime per day over ${d.days.length} days, oldest first`} />
        <h2>Latency, last 7 days</h2>
        ${
          d.latency.length > 1
            ? html`<${Chart} title=${`${probe} latency per hour`} unit="ms" at=${d.latency.map((p) => p.at)} series=${[
                { label: 'p50', color: '#2e7d32', values: d.latency.map((p) => p.p50) },
                { label: 'p95', color: '#1565c0', values: d.latency.map((p) => p.p95) },
                { label: 'p99', color: '#6a1b9a', values: d.latency.map((p) => p.p99) },
              ]} />`
            : html`<${Empty}>Not enough samples yet.<//>`
        }
        <h2>Recent failures</h2>
        ${
          d.failures.length === 0
            ? html`<${Empty}>No failures kept.<//>`
            : html`<${Scroll}><table><thead><tr><th scope="col">When</th><th scope="col">Assertion</th><th scope="col">Message</th><th scope="col">Status code</th><th scope="col">Latency</th></tr></thead>
              <tbody>${d.failures.map((f) => html`<${FailureRow} f=${f} />`)}</tbody></table><//>`
        }
        <h2>Incidents</h2>
        <${IncidentTable} incidents=${d.incidents} />
        <h2>Maintenance windows</h2>
        ${
          d.maintenance.length === 0
            ? html`<${Empty}>None cover this probe.<//>`
            : html`<ul>${d.maintenance.map(
                (m) =>
                  html`<li>${m.active ? html`<strong>Active now. </strong>` : null}${m.start && m.end ? `${m.start} to ${m.end}` : `cron ${m.cron ?? ''} for ${m.durationMinutes ?? '?'} min`}${m.reason ? `: ${m.reason}` : ''}</li>`,
              )}</ul>`
        }`;
    }}<//>`;
};

export const Alerts = () => {
  const open = usePoll<IncidentsAnswer>('/v1/incidents?open=true', true);
  const recent = usePoll<IncidentsAnswer>('/v1/incidents?days=30');
  return html`<h1 tabindex="-1">Alerts</h1>
    <h2>Open incidents</h2>
    <${Loading} state=${open}>${(a: IncidentsAnswer) => html`<${IncidentTable} incidents=${a.incidents} />`}<//>
    <h2>Last 30 days</h2>
    <${Loading} state=${recent}>${(a: IncidentsAnswer) => html`<${IncidentTable} incidents=${a.incidents} />`}<//>
    <p class="note">Delivery per channel (Slack, webhook, email) is reported by the notify function's metrics; this API does not list it yet.</p>`;
};
