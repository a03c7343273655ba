import { html } from 'htm/preact';
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { dashboardPath } from '../functions/core/dashboard-links';
import type { DayBar, LatencyPoint } from '../functions/core/status/api';
import type { Loaded } from './api';
import { ago, NAME_SHOWN, shownName, uptimePct } from './text';

/**
 * Small components shared by the pages. Every value from a report is passed to Preact as a
 * child or attribute (text); nothing is ever set as HTML.
 */

// --- routing (hash based: `#/runs/<project>?branch=main`) -----------------------------------

export interface Route {
  parts: string[];
  query: URLSearchParams;
}

const readRoute = (): Route => {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = hash.split('?');
  return {
    parts: path
      .split('/')
      .filter(Boolean)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return p;
        }
      }),
    query: new URLSearchParams(query),
  };
};

export const useRoute = (): Route => {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const on = () => setRoute(readRoute());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
};

/** A link inside the dashboard; every path segment is encoded (the alert messages' rule too). */
export const href = (...parts: string[]): string => dashboardPath(parts);

/** Links from data are followed only when they are http(s); anything else stays text. */
export const SafeLink = ({ url, children }: { url: string; children?: ComponentChildren }) =>
  /^https?:\/\//i.test(url)
    ? html`<a href=${url} rel="noopener noreferrer nofollow" target="_blank">${children ?? url}</a>`
    : html`<span>${children ?? url}</span>`;

/**
 * A name from a report (branch, suite, probe) in a table cell: cut to NAME_SHOWN characters
 * (the whole name in its tooltip) and wrapping within a bounded width, so a long name cannot
 * take the other columns' room.
 */
export const Name = ({ name }: { name: string | undefined }) =>
  name
    ? html`<span class="name" title=${name.length > NAME_SHOWN ? name : undefined}>${shownName(name)}</span>`
    : '—';

/** A table scrolls sideways inside this box on a narrow screen, never the whole page. */
export const Scroll = ({ children }: { children: ComponentChildren }) =>
  html`<div class="scroll">${children}</div>`;

// --- formatting ------------------------------------------------------------------------------

export const Time = ({ iso }: { iso: string | undefined }) =>
  iso ? html`<time datetime=${iso} title=${iso}>${ago(iso)}</time>` : html`<span>—</span>`;

/** A share (an error rate) as a percentage, to the nearest; uptimes: `uptimePct`. */
export const pct = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)}%`;

export const ms = (x: number | null | undefined): string =>
  x === null || x === undefined
    ? '—'
    : x >= 1000
      ? `${(x / 1000).toFixed(2)} s`
      : `${Math.round(x)} ms`;

export const short = (commit: string | undefined): string => (commit ? commit.slice(0, 8) : '—');

// --- status ----------------------------------------------------------------------------------

const TONE: Record<string, string> = {
  pass: 'good',
  up: 'good',
  passed: 'good',
  operational: 'good',
  RESOLVED: 'good',
  delivered: 'good',
  fail: 'bad',
  down: 'bad',
  failed: 'bad',
  FIRING: 'bad',
  degraded: 'warn',
  pending: 'warn',
  flaky: 'warn',
  skip: 'muted',
  skipped: 'muted',
  none: 'muted',
  unknown: 'muted',
};

/** A status word with its colour; the word itself is always shown (colour is not the only cue). */
export const Pill = ({ status }: { status: string }) =>
  html`<span class=${`pill ${TONE[status] ?? 'muted'}`}>${status}</span>`;

// --- page scaffolding ------------------------------------------------------------------------

/** Why a request failed, in words: fetch's own "Failed to fetch" says nothing of the cause. */
const failure = (error: Error): string =>
  error instanceof TypeError
    ? 'Vigil did not answer: it may be stopped or unreachable from here'
    : error.message;

export const Loading = <T>({
  state,
  children,
}: {
  state: Loaded<T>;
  children: (data: T) => ComponentChildren;
}) => {
  if (state.data !== undefined)
    return html`${state.error ? html`<p class="error" role="alert">Could not refresh (${failure(state.error)}): this is what Vigil answered <${Time} iso=${state.at} />.</p>` : null}${children(state.data)}`;
  if (state.error) return html`<p class="error" role="alert">${failure(state.error)}</p>`;
  return html`<p aria-busy="true">Loading…</p>`;
};

export const Empty = ({ children }: { children: ComponentChildren }) =>
  html`<p class="empty">${children}</p>`;

/** A project page of a project without runs (`/v1/projects` does not list it). */
export const NoHistory = ({ project }: { project: string }) =>
  html`<${Empty}>No history for project "${project}".<//>`;

// --- small charts (SVG: many per page, no library needed) ------------------------------------

const BAR_CLASS: Record<DayBar['state'], string> = {
  up: 'bar-up',
  degraded: 'bar-warn',
  down: 'bar-down',
  none: 'bar-none',
};

/** One bar per UTC day, oldest first; each bar says its day and uptime on hover. */
export const UptimeBars = ({ days, label }: { days: DayBar[]; label: string }) => html`
  <svg class="bars" viewBox=${`0 0 ${Math.max(days.length * 10 - 2, 1)} 30`} preserveAspectRatio="none" role="img" aria-label=${label}>
    ${days.map(
      (d, i) =>
        html`<rect x=${i * 10} width="8" height="30" rx="1" class=${BAR_CLASS[d.state]}><title>${d.day}: ${d.uptime === null ? 'no checks' : `${uptimePct(d.uptime)} up, ${d.failures} of ${d.checks} checks failed`}</title></rect>`,
    )}
  </svg>`;

/**
 * p95 latency as a line, for tables: one line per run of hours with samples (an hour without
 * any is a gap, not a slope), and a dot for an hour alone (a line needs two points).
 */
export const Sparkline = ({ points, label }: { points: LatencyPoint[]; label: string }) => {
  const values = points.map((p) => p.p95);
  const max = Math.max(1, ...values.map((v) => v ?? 0));
  const step = values.length > 1 ? 100 / (values.length - 1) : 0;
  const runs: [number, number][][] = [[]];
  values.forEach((v, i) => {
    if (v !== null) runs.at(-1)?.push([i * step, 20 - (v / max) * 18]);
    else if (runs.at(-1)?.length) runs.push([]);
  });
  return html`<svg class="spark" viewBox="0 0 100 20" preserveAspectRatio="none" role="img" aria-label=${label}>${runs.map(
    (run) =>
      run.length > 1
        ? html`<polyline points=${run.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')} />`
        : run.map(
            ([x, y]) =>
              html`<circle cx=${Math.min(98, Math.max(2, x)).toFixed(1)} cy=${y.toFixed(1)} r="1.5" />`,
          ),
  )}</svg>`;
};

/** A probe's status now; one the config no longer names is not checked, so it says that instead. */
export const ProbeState = ({ status, configured }: { status: string; configured: boolean }) =>
  configured
    ? html`<${Pill} status=${status} />`
    : html`<span class="pill muted" title="No longer in the config: not checked any more; its history is kept.">removed from config</span>`;

/** A test's recent outcomes, oldest first, one cell per run (P, R, F, S). */
export const OutcomeStrip = ({ outcomes }: { outcomes: string }) => {
  const names: Record<string, string> = {
    P: 'passed',
    R: 'passed after retry',
    F: 'failed',
    S: 'skipped',
  };
  return html`<span class="strip" role="img" aria-label=${`outcomes, oldest first: ${outcomes
    .split('')
    .map((c) => names[c] ?? c)
    .join(', ')}`}>${outcomes.split('').map((c) => html`<i class=${`o-${c}`}></i>`)}</span>`;
};
