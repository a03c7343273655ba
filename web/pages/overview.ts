import { html } from 'htm/preact';
import type {
  ProbesAnswer,
  ProjectOverview,
  ProjectsAnswer,
  RunHeadline,
} from '../../functions/core/status/api';
import { qs, usePoll } from '../api';
import { Chart } from '../chart';
import { seriesBySuite, uptimePct } from '../text';
import {
  Empty,
  href,
  Loading,
  ms,
  Name,
  Pill,
  ProbeState,
  pct,
  Scroll,
  Sparkline,
  short,
  Time,
} from '../ui';

/** Every project (latest run per branch, trends, flaky count, incidents) and every probe. */

export const runFacts = (r: RunHeadline): string => {
  const f = r.facts;
  if (f.tests)
    return `${f.tests.passed}/${f.tests.total} passed, ${f.tests.failed} failed${f.tests.flaky ? `, ${f.tests.flaky} flaky` : ''}`;
  if (f.coverage) return `lines ${f.coverage.lines}%, branches ${f.coverage.branches}%`;
  if (f.load)
    return `${f.load.requests} requests, ${pct(f.load.errorRate)} errors, p95 ${ms(f.load.p95Ms)}`;
  if (f.benchmarks !== undefined) return `${f.benchmarks} benchmarks`;
  if (f.security) {
    const s = f.security;
    return `${s.findings} findings (${s.bySeverity.critical} critical, ${s.bySeverity.high} high), ${s.new} new, ${s.fixed} fixed`;
  }
  return '';
};

/** Line colours of a chart's suites, in order. */
const SUITE_COLORS = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a'];

const Project = ({ p }: { p: ProjectOverview }) => {
  const tests = p.trends.tests;
  const perSuite = (value: (t: (typeof tests)[number]) => number | null) => {
    const { at, lines } = seriesBySuite(tests, value);
    return {
      at,
      series: lines.map((l, i) => ({
        label: l.suite || '(no suite)',
        color: SUITE_COLORS[i] as string,
        values: l.values,
      })),
    };
  };
  const passRate = perSuite((t) =>
    t.passRate === undefined ? null : Math.round(t.passRate * 1000) / 10,
  );
  const duration = perSuite((t) => (t.durationMs === undefined ? null : t.durationMs / 1000));
  // The facts' links hold their label ("Open incidents: 4"): a link named "4" says nothing of
  // where it leads. The incidents are this project's.
  return html`<section class="card">
    <h2><a href=${href('runs', p.project)}>${p.project}</a></h2>
    <p class="facts">
      <a href=${`${href('tests', p.project)}?status=flaky`}>Flaky tests: ${p.flakyTests}${p.flakyCapped ? '+' : ''}</a>
      <a href=${`${href('alerts')}${qs({ project: p.project })}`}>Open incidents: ${p.openIncidents}</a>
    </p>
    <${Scroll}><table>
      <caption>Latest run per branch</caption>
      <thead><tr><th scope="col">Branch</th><th scope="col">Kind</th><th scope="col">Suite</th><th scope="col">Gate</th><th scope="col">When</th><th scope="col">Commit</th><th scope="col">Result</th></tr></thead>
      <tbody>
        ${p.branches.flatMap((b) =>
          b.latest.map(
            (r) => html`<tr>
              <td><${Name} name=${b.branch} /></td><td>${r.kind}</td><td><${Name} name=${r.suite} /></td>
              <td><a href=${href('run', p.project, r.runId)}><${Pill} status=${r.gate} /></a></td>
              <td><${Time} iso=${r.ingestedAt} /></td><td><code>${short(r.commit)}</code></td><td>${runFacts(r)}</td>
            </tr>`,
          ),
        )}
      </tbody>
    </table><//>
    <div class="charts">
      ${
        tests.length > 1
          ? html`<${Chart} title=${`Pass rate on ${p.defaultBranch}`} at=${passRate.at} unit="%" height=${160}
            series=${passRate.series} />
          <${Chart} title=${`Suite duration on ${p.defaultBranch}`} at=${duration.at} unit="s" height=${160}
            series=${duration.series} />`
          : null
      }
      ${
        p.trends.coverage.length > 1
          ? html`<${Chart} title=${`Line coverage on ${p.defaultBranch}`} at=${p.trends.coverage.map((t) => t.at)} unit="%" height=${160}
            series=${[{ label: 'lines', color: '#6a1b9a', values: p.trends.coverage.map((t) => t.linesPct ?? null) }]} />`
          : null
      }
    </div>
  </section>`;
};

export const ProbeTable = ({ probes }: { probes: ProbesAnswer['probes'] }) =>
  probes.length === 0
    ? html`<${Empty}>No probes have reported yet.<//>`
    : html`<${Scroll}><table>
        <caption>Probes</caption>
        <thead><tr><th scope="col">Probe</th><th scope="col">Status</th><th scope="col">Checked</th><th scope="col">24 h</th><th scope="col">7 d</th><th scope="col">30 d</th><th scope="col">p95 latency, 24 h</th></tr></thead>
        <tbody>
          ${probes.map(
            (p) => html`<tr data-probe=${p.probe}>
              <td><a href=${href('probe', p.project, p.probe)}><${Name} name=${p.probe} /></a>${p.kind === 'heartbeat' ? html` <small class="kind">heartbeat</small>` : null}${p.incidentOpen ? html` <span class="pill bad">incident</span>` : null}</td>
              <td><${ProbeState} status=${p.status} configured=${p.configured} /></td>
              <td><${Time} iso=${p.checkedAt} /></td>
              <td class="nowrap">${uptimePct(p.uptime.h24)}</td><td class="nowrap">${uptimePct(p.uptime.d7)}</td><td class="nowrap">${uptimePct(p.uptime.d30)}</td>
              <td><${Sparkline} points=${p.sparkline} label=${`${p.probe} p95 latency over 24 hours`} /></td>
            </tr>`,
          )}
        </tbody>
      </table><//>`;

export const Overview = () => {
  const projects = usePoll<ProjectsAnswer>('/v1/projects', true);
  const probes = usePoll<ProbesAnswer>('/v1/probes', true);
  return html`<h1 tabindex="-1">Overview</h1>
    <${Loading} state=${probes}>${(a: ProbesAnswer) => html`<${ProbeTable} probes=${a.probes} />`}<//>
    <${Loading} state=${projects}>${(a: ProjectsAnswer) =>
      a.projects.length === 0
        ? html`<${Empty}>No runs yet. Post a report to /v1/results.<//>`
        : a.projects.map((p) => html`<${Project} key=${p.project} p=${p} />`)}<//>`;
};
