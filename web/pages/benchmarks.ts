import { html } from 'htm/preact';
import type { BenchmarksAnswer, RunsAnswer } from '../../functions/core/history/queries';
import type { RunRecord } from '../../functions/core/history/types';
import type { ProjectsAnswer } from '../../functions/core/status/api';
import { qs, seg, usePoll } from '../api';
import { Chart } from '../chart';
import { Empty, href, Loading, NoHistory, Pill, pct, Scroll } from '../ui';

/**
 * Benchmarks on a branch (a chart each: the values, the baseline band, the runs that failed the
 * regression gate as red dots) and load tests (p95/p99 with their thresholds, error rate).
 */

const MAX_CHARTS = 12;
/** 1.4826 · MAD estimates a standard deviation; the band spans three of them either side. */
const BAND_SDS = 3 * 1.4826;

const BenchmarkChart = ({
  b,
  branch,
}: {
  b: BenchmarksAnswer['benchmarks'][number];
  branch: string;
}) => {
  const at = b.points.map((p) => p.at);
  const half = BAND_SDS * b.baseline.mad;
  return html`<${Chart}
    title=${`${b.name} (${b.unit}) on ${branch}`}
    unit=${b.unit}
    at=${at}
    band=${[1, 2]}
    series=${[
      { label: b.name, color: '#1565c0', values: b.points.map((p) => p.value) },
      {
        label: 'baseline high',
        color: '#2e7d32',
        dash: true,
        values: at.map(() => b.baseline.median + half),
      },
      {
        label: 'baseline low',
        color: '#2e7d32',
        dash: true,
        values: at.map(() => b.baseline.median - half),
      },
      {
        label: 'failed gate',
        color: '#c62828',
        marks: true,
        values: b.points.map((p) => (p.gate === 'fail' ? p.value : null)),
      },
    ]}
  />`;
};

/** `p(95)<500`, `p95 < 200`: the limit of a latency threshold, when it names one. */
export const thresholdLimit = (name: string, q: '95' | '99'): number | undefined => {
  const m = new RegExp(`p\\(?${q}\\)?\\s*<=?\\s*(\\d+(?:\\.\\d+)?)`).exec(name);
  return m?.[1] === undefined ? undefined : Number(m[1]);
};

const LoadCharts = ({ runs }: { runs: RunRecord[] }) => {
  const load = runs.flatMap((r) => (r.kind === 'load' ? [r] : [])).reverse();
  const latest = load.at(-1);
  if (!latest) return html`<${Empty}>No load tests on this branch.<//>`;
  const at = load.map((r) => r.ingestedAt);
  const limits = latest.summary.thresholds.flatMap((t) => {
    const p95 = thresholdLimit(t.name, '95');
    const p99 = thresholdLimit(t.name, '99');
    return [
      ...(p95 === undefined ? [] : [{ label: `p95 limit ${p95}`, v: p95 }]),
      ...(p99 === undefined ? [] : [{ label: `p99 limit ${p99}`, v: p99 }]),
    ];
  });
  return html`
    <${Chart} title="Load test latency" unit="ms" at=${at} series=${[
      { label: 'p95', color: '#1565c0', values: load.map((r) => r.summary.latencyMs.p95 ?? null) },
      { label: 'p99', color: '#6a1b9a', values: load.map((r) => r.summary.latencyMs.p99 ?? null) },
      ...limits.map((l) => ({
        label: l.label,
        color: '#c62828',
        dash: true,
        values: at.map(() => l.v),
      })),
    ]} />
    <${Chart} title="Load test error rate" unit="%" at=${at} series=${[
      {
        label: 'error rate',
        color: '#c62828',
        values: load.map((r) => Math.round(r.summary.errorRate * 10000) / 100),
      },
    ]} />
    ${
      latest.summary.thresholds.length === 0
        ? html`<${Empty}>No thresholds in the latest load test's report (${pct(latest.summary.errorRate)} errors).<//>`
        : html`<${Scroll}><table><caption>Thresholds of the latest load test (${pct(latest.summary.errorRate)} errors)</caption>
      <thead><tr><th scope="col">Threshold</th><th scope="col">Verdict</th></tr></thead>
      <tbody>${latest.summary.thresholds.map((t) => html`<tr><td class="text"><code>${t.name}</code></td><td><${Pill} status=${t.passed ? 'pass' : 'fail'} /></td></tr>`)}</tbody>
    </table><//>`
    }`;
};

/** `#/benchmarks/<project>?branch=…&suite=…&q=…`; `suite=` (empty) keeps "runs without a suite". */
const benchmarksHref = (project: string, branch: string, suite: string | null, q = '') => {
  const params = new URLSearchParams(qs({ branch, q }).slice(1));
  if (suite !== null) params.set('suite', suite);
  return `${href('benchmarks', project)}?${params}`;
};

export const Benchmarks = ({ project, query }: { project: string; query: URLSearchParams }) => {
  // The suites with benchmark runs on a branch: its latest run per kind and suite.
  const overview = usePoll<ProjectsAnswer>('/v1/projects');
  const known = overview.data !== undefined || overview.error !== undefined;
  const mine = overview.data?.projects.find((p) => p.project === project);
  const branch = query.get('branch') || mine?.defaultBranch;
  const suites = (mine?.branches.find((b) => b.branch === branch)?.latest ?? [])
    .filter((r) => r.kind === 'benchmark')
    .map((r) => r.suite ?? '');
  // The address's suite (`''`: runs posted without one), else the newest benchmark run's.
  const asked = query.get('suite');
  const suite = asked ?? (known ? (suites[0] ?? '') : undefined);
  if (suite !== undefined && !suites.includes(suite)) suites.push(suite);
  const filter = query.get('q') ?? '';
  // Every chart's series in one call (the names and the first MAX_CHARTS series).
  const bench = usePoll<BenchmarksAnswer>(
    branch && suite !== undefined
      ? `/v1/projects/${seg(project)}/benchmarks${qs({ branch, suite, q: filter, limit: 100, max: MAX_CHARTS })}`
      : null,
  );
  const load = usePoll<RunsAnswer>(
    branch ? `/v1/projects/${seg(project)}/runs${qs({ kind: 'load', branch, limit: 200 })}` : null,
  );
  const onFilter = (ev: Event) => {
    ev.preventDefault();
    const form = new FormData(ev.currentTarget as HTMLFormElement);
    const b = String(form.get('branch') ?? '');
    // Another branch: its own newest suite.
    const s = b === branch ? String(form.get('suite') ?? '') : null;
    location.hash = benchmarksHref(project, b, s, String(form.get('q') ?? ''));
  };
  if (overview.data && !branch)
    return html`<h1 tabindex="-1">Benchmarks and load tests of ${project}</h1><${NoHistory} project=${project} />`;
  return html`<h1 tabindex="-1">Benchmarks and load tests of ${project}</h1>
    <form class="filters" onSubmit=${onFilter} aria-label="Choose branch and benchmarks">
      <label>Branch <input name="branch" key=${branch ?? ''} defaultValue=${branch ?? ''} /></label>
      <label>Suite <select name="suite" value=${suite ?? ''}>${suites.map((s) => html`<option key=${s} value=${s}>${s || '(no suite)'}</option>`)}</select></label>
      <label>Benchmark name <input name="q" type="search" key=${query.get('q') ?? ''} defaultValue=${query.get('q') ?? ''} /></label>
      <button type="submit">Show</button>
    </form>
    <h2>Benchmarks</h2>
    <${Loading} state=${bench}>${(a: BenchmarksAnswer) => {
      const where = a.suite === null ? 'on this branch' : `in suite “${a.suite}” on this branch`;
      if (a.names.length === 0)
        return html`<${Empty}>No benchmarks${filter ? ' match' : ` ${where}`}.<//>`;
      return html`<p>${a.names.length} benchmarks ${where}${a.names.length > MAX_CHARTS ? `; the first ${MAX_CHARTS} are drawn, narrow the name to see others` : ''}. The band is the baseline median ± 3 robust standard deviations; red dots are runs that failed the gate.</p>
        <div class="charts">${a.benchmarks.map((b) => html`<${BenchmarkChart} key=${b.name} b=${b} branch=${a.branch} />`)}</div>`;
    }}<//>
    <h2>Load tests</h2>
    <${Loading} state=${load}>${(a: RunsAnswer) => html`<${LoadCharts} runs=${a.runs} />`}<//>`;
};
