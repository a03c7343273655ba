import { html } from 'htm/preact';
import type { BenchmarkAnswer, RunsAnswer } from '../../functions/core/history/queries';
import type { RunRecord } from '../../functions/core/history/types';
import { qs, seg, usePoll } from '../api';
import { Chart } from '../chart';
import { Empty, href, Loading, Pill, pct } from '../ui';
import { useDefaultBranch } from './coverage';

/**
 * Benchmarks on a branch (a chart each: the values, the baseline band, the runs that failed the
 * regression gate as red dots) and load tests (p95/p99 with their thresholds, error rate).
 */

const MAX_CHARTS = 12;
/** 1.4826 · MAD estimates a standard deviation; the band spans three of them either side. */
const BAND_SDS = 3 * 1.4826;

const BenchmarkChart = ({
  project,
  name,
  branch,
}: {
  project: string;
  name: string;
  branch: string;
}) => {
  const b = usePoll<BenchmarkAnswer>(
    `/v1/projects/${seg(project)}/benchmarks/${seg(name)}${qs({ branch, limit: 100 })}`,
  );
  return html`<${Loading} state=${b}>${(a: BenchmarkAnswer) => {
    const at = a.points.map((p) => p.at);
    const half = BAND_SDS * a.baseline.mad;
    return html`<${Chart}
      title=${`${a.name} (${a.unit}) on ${a.branch}`}
      unit=${a.unit}
      at=${at}
      band=${[1, 2]}
      series=${[
        { label: a.name, color: '#1565c0', values: a.points.map((p) => p.value) },
        {
          label: 'baseline high',
          color: '#2e7d32',
          dash: true,
          values: at.map(() => a.baseline.median + half),
        },
        {
          label: 'baseline low',
          color: '#2e7d32',
          dash: true,
          values: at.map(() => a.baseline.median - half),
        },
        {
          label: 'failed gate',
          color: '#c62828',
          marks: true,
          values: a.points.map((p) => (p.gate === 'fail' ? p.value : null)),
        },
      ]}
    />`;
  }}<//>`;
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
    <table><caption>Thresholds of the latest load test (${pct(latest.summary.errorRate)} errors)</caption>
      <thead><tr><th scope="col">Threshold</th><th scope="col">Verdict</th></tr></thead>
      <tbody>${latest.summary.thresholds.map((t) => html`<tr><td><code>${t.name}</code></td><td><${Pill} status=${t.passed ? 'pass' : 'fail'} /></td></tr>`)}</tbody>
    </table>`;
};

/** Benchmark names come from the latest runs (each holds every benchmark: ~9 KB per 200). */
const NAME_RUNS = 5;

export const Benchmarks = ({ project, query }: { project: string; query: URLSearchParams }) => {
  const fallback = useDefaultBranch(project, !query.get('branch'));
  const branch = query.get('branch') || fallback;
  const filter = (query.get('q') ?? '').toLowerCase();
  const runsPath = (kind: string, limit: number) =>
    branch ? `/v1/projects/${seg(project)}/runs${qs({ kind, branch, limit })}` : null;
  const bench = usePoll<RunsAnswer>(runsPath('benchmark', NAME_RUNS));
  const load = usePoll<RunsAnswer>(runsPath('load', 200));
  const onFilter = (ev: Event) => {
    ev.preventDefault();
    const form = new FormData(ev.currentTarget as HTMLFormElement);
    location.hash = `${href('benchmarks', project)}${qs({ branch: String(form.get('branch') ?? ''), q: String(form.get('q') ?? '') })}`;
  };
  return html`<h1 tabindex="-1">Benchmarks and load tests of ${project}</h1>
    <form class="filters" onSubmit=${onFilter} aria-label="Choose branch and benchmarks">
      <label>Branch <input name="branch" value=${branch ?? ''} /></label>
      <label>Benchmark name <input name="q" type="search" value=${query.get('q') ?? ''} /></label>
      <button type="submit">Show</button>
    </form>
    <h2>Benchmarks</h2>
    <${Loading} state=${bench}>${(a: RunsAnswer) => {
      const names = [
        ...new Set(
          a.runs.flatMap((r) =>
            r.kind === 'benchmark' ? r.summary.benchmarks.map((b) => b.name) : [],
          ),
        ),
      ].sort();
      const shown = names.filter((n) => n.toLowerCase().includes(filter));
      if (shown.length === 0)
        return html`<${Empty}>No benchmarks${filter ? ' match' : ' on this branch'}.<//>`;
      return html`<p>${shown.length} benchmarks${shown.length > MAX_CHARTS ? `; the first ${MAX_CHARTS} are drawn, narrow the name to see others` : ''}. The band is the baseline median ± 3 robust standard deviations; red dots are runs that failed the gate.</p>
        <div class="charts">${shown.slice(0, MAX_CHARTS).map((n) => html`<${BenchmarkChart} key=${n} project=${project} name=${n} branch=${branch ?? ''} />`)}</div>`;
    }}<//>
    <h2>Load tests</h2>
    <${Loading} state=${load}>${(a: RunsAnswer) => html`<${LoadCharts} runs=${a.runs} />`}<//>`;
};
