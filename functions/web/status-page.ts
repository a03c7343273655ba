import { createHash } from 'node:crypto';
import type { DayBar, PublicComponent, PublicStatus } from '../core/status/api';
import { uptimePercent } from '../core/status/percent';
import { escapeHtml as e } from './security';

/**
 * The public status page, rendered on the server: plain HTML and inline SVG, no script, so it
 * works with JavaScript off and in any reader. Its one stylesheet is inline and allowed by its
 * hash in the Content-Security-Policy. Everything shown comes from `PublicStatus`, which holds
 * only what the config makes public.
 */

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9}
main{max-width:52rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 1rem}
.overall{padding:1rem;border-radius:.4rem;color:#fff;font-weight:600}
.s-operational{background:#2e7d32}.s-degraded,.s-maintenance{background:#b45309}
.s-outage{background:#c62828}.s-unknown{background:#616161}
section{background:#fff;border:1px solid #d0d4da;border-radius:.4rem;padding:1rem;margin:1rem 0}
section h2{font-size:1.1rem;margin:0 0 .5rem}
.comp h2{display:flex;justify-content:space-between;gap:1rem}
.pill{font-size:.85rem;padding:0 .5rem;border-radius:1rem;color:#fff}
svg{display:block;width:100%;height:34px;margin:.5rem 0 .25rem}
.legend{display:flex;justify-content:space-between;font-size:.8rem;color:#4a4f57}
ul{padding-left:1.2rem}footer{font-size:.8rem;color:#4a4f57}
`;

/** `sha256-…` of the inline stylesheet, for the page's Content-Security-Policy. */
export const STATUS_STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

const LABEL: Record<PublicComponent['status'], string> = {
  operational: 'Operational',
  degraded: 'Degraded',
  outage: 'Outage',
  maintenance: 'Maintenance',
  unknown: 'No data',
};

const OVERALL: Record<PublicComponent['status'], string> = {
  operational: 'All systems operational',
  degraded: 'Some systems are degraded',
  outage: 'Some systems are down',
  maintenance: 'Maintenance in progress',
  unknown: 'Status unknown',
};

const BAR_FILL: Record<DayBar['state'], string> = {
  up: '#2e7d32',
  degraded: '#d97706',
  down: '#c62828',
  none: '#c4c8ce',
};

const pct = (uptime: number | null): string =>
  uptime === null ? 'no data' : uptimePercent(uptime);

const duration = (seconds: number): string => {
  // An outage shorter than a minute is not "0 min".
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
};

const when = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** One bar per day, oldest left; each bar has a title (hover text) with its day and uptime. */
const bars = (name: string, days: readonly DayBar[]): string => {
  const w = 8;
  const gap = 2;
  const rects = days.map(
    (d, i) =>
      `<rect x="${i * (w + gap)}" width="${w}" height="34" rx="1" fill="${BAR_FILL[d.state]}"><title>${e(d.day)}: ${e(pct(d.uptime))}</title></rect>`,
  );
  return `<svg viewBox="0 0 ${Math.max(days.length * (w + gap) - gap, 1)} 34" preserveAspectRatio="none" role="img" aria-label="${e(`${name}: uptime per day over ${days.length} days`)}">${rects.join('')}</svg>`;
};

const component = (c: PublicComponent): string =>
  `<section class="comp"><h2><span>${e(c.name)}</span><span class="pill s-${c.status}">${LABEL[c.status]}</span></h2>${bars(c.name, c.days)}<div class="legend"><span>${c.days.length} days ago</span><span>${e(pct(c.uptime))} uptime</span><span>today</span></div></section>`;

export const renderStatusPage = (status: PublicStatus): string => {
  const incidents = status.incidents.length
    ? `<ul>${status.incidents
        .map(
          (i) =>
            `<li><strong>${e(i.components.join(', ') || 'Service')}</strong>: ${i.severity === 'critical' ? 'outage' : 'degraded'} from ${e(when(i.startedAt))} ${
              i.resolvedAt
                ? `to ${e(when(i.resolvedAt))}${i.downtimeSeconds === undefined ? '' : ` (${duration(i.downtimeSeconds)})`}`
                : '<strong>ongoing</strong>'
            }</li>`,
        )
        .join('')}</ul>`
    : '<p>No incidents in the last 90 days.</p>';
  const maintenance = status.maintenance.length
    ? `<ul>${status.maintenance
        .map(
          (m) =>
            `<li>${m.active ? '<strong>Now</strong>: ' : ''}${e(m.components.join(', '))}${m.start && m.end ? ` from ${e(when(m.start))} to ${e(when(m.end))}` : m.durationMinutes ? ` (${m.durationMinutes} min, recurring)` : ''}${m.reason ? `: ${e(m.reason)}` : ''}</li>`,
        )
        .join('')}</ul>`
    : '<p>None announced.</p>';
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">',
    `<title>${e(status.title)}</title><style>${STYLE}</style></head><body><main>`,
    `<h1>${e(status.title)}</h1>`,
    `<p class="overall s-${status.overall}" role="status">${OVERALL[status.overall]}</p>`,
    status.components.map(component).join(''),
    `<section><h2>Incidents</h2>${incidents}</section>`,
    `<section><h2>Maintenance</h2>${maintenance}</section>`,
    `<footer>Updated ${e(when(status.generatedAt))}. This page refreshes when you reload it.</footer>`,
    '</main></body></html>',
  ].join('');
};
