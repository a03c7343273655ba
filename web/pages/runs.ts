import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { testSearch } from '../../functions/core/dashboard-links';
import type { RunsAnswer } from '../../functions/core/history/queries';
import type { RunRecord } from '../../functions/core/history/types';
import type { RunDetailAnswer } from '../../functions/core/status/api';
import { ApiError, download, getJson, qs, seg, usePoll } from '../api';
import { FLAKY_RULES } from '../text';
import { Empty, href, Loading, Name, Pill, Scroll, short, Time } from '../ui';
import { runFacts } from './overview';

/** A project's runs, filtered by branch, kind and suite; one run with its checks and failures. */

const KINDS = ['', 'tests', 'coverage', 'load', 'benchmark', 'security'];

const facts = (r: RunRecord): string =>
  runFacts({
    ...r,
    facts:
      r.kind === 'tests'
        ? { tests: r.summary }
        : r.kind === 'coverage'
          ? {
              coverage: {
                lines: r.summary.lines.pct,
                branches: r.summary.branches.pct,
                functions: r.summary.functions.pct,
              },
            }
          : r.kind === 'load'
            ? {
                load: {
                  requests: r.summary.requests,
                  errorRate: r.summary.errorRate,
                  p95Ms: r.summary.latencyMs.p95,
                },
              }
            : r.kind === 'benchmark'
              ? { benchmarks: r.summary.benchmarks.length }
              : {
                  security: {
                    findings: r.summary.findings,
                    bySeverity: r.summary.bySeverity,
                    new: r.summary.new,
                    fixed: r.summary.fixed,
                    suppressed: r.summary.suppressed,
                  },
                },
  });

export const Runs = ({ project, query }: { project: string; query: URLSearchParams }) => {
  const filters = {
    branch: query.get('branch') ?? '',
    kind: query.get('kind') ?? '',
    suite: query.get('suite') ?? '',
  };
  const runs = usePoll<RunsAnswer>(
    `/v1/projects/${seg(project)}/runs${qs({ ...filters, limit: 100 })}`,
  );
  const [more, setMore] = useState<{ runs: RunRecord[]; cursor?: string }>({ runs: [] });
  const apply = (ev: Event) => {
    ev.preventDefault();
    const form = new FormData(ev.currentTarget as HTMLFormElement);
    const next = Object.fromEntries([...form].map(([k, v]) => [k, String(v).trim()]));
    location.hash = `${href('runs', project)}${qs(next)}`;
  };
  // Every row shown so far is kept: a refresh replaces the first page only, and a run pushed
  // past its end by a newer one would be lost.
  const loadMore = async (shown: RunRecord[], cursor: string) => {
    const page = await getJson<RunsAnswer>(
      `/v1/projects/${seg(project)}/runs${qs({ ...filters, limit: 100, cursor })}`,
    );
    setMore({ runs: [...shown, ...page.runs], cursor: page.cursor });
  };
  return html`<h1 tabindex="-1">Runs of ${project}</h1>
    <form class="filters" onSubmit=${apply} aria-label="Filter runs">
      <label>Branch <input name="branch" key=${filters.branch} defaultValue=${filters.branch} /></label>
      <label>Kind <select name="kind" value=${filters.kind}>${KINDS.map((k) => html`<option value=${k}>${k || 'any'}</option>`)}</select></label>
      <label>Suite <input name="suite" key=${filters.suite} defaultValue=${filters.suite} /></label>
      <button type="submit">Filter</button>
    </form>
    <${Loading} state=${runs}>${(a: RunsAnswer) => {
      const seen = new Set<string>();
      const all = [...a.runs, ...more.runs].filter((r) => !seen.has(r.runId) && seen.add(r.runId));
      const cursor = more.runs.length ? more.cursor : a.cursor;
      return all.length === 0
        ? html`<${Empty}>No runs match.<//>`
        : html`<${Scroll}><table>
            <caption>${all.length} runs, newest first</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Gate</th><th scope="col">Kind</th><th scope="col">Branch</th><th scope="col">Suite</th><th scope="col">Commit</th><th scope="col">Result</th></tr></thead>
            <tbody>${all.map(
              (r) => html`<tr>
                <td><a href=${href('run', project, r.runId)}><${Time} iso=${r.ingestedAt} /></a></td>
                <td><${Pill} status=${r.gate} /></td><td>${r.kind}</td><td><${Name} name=${r.branch} /></td><td><${Name} name=${r.suite} /></td>
                <td><code>${short(r.commit)}</code></td><td>${facts(r)}</td>
              </tr>`,
            )}</tbody>
          </table><//>
          ${cursor ? html`<button type="button" onClick=${() => loadMore(all, cursor)}>Load more</button>` : null}`;
    }}<//>`;
};

export const Run = ({ project, runId }: { project: string; runId: string }) => {
  const run = usePoll<RunDetailAnswer>(`/v1/projects/${seg(project)}/runs/${seg(runId)}`);
  // The heading comes with the run; a run that cannot be read gets one with the error, so the
  // page still has its <h1> (and focus a heading to move to).
  const failed = run.data === undefined && run.error !== undefined;
  return html`${failed ? html`<h1 tabindex="-1">${run.error instanceof ApiError && run.error.status === 404 ? 'Run not found' : `Run ${runId}`}</h1>` : null}
  <${Loading} state=${run}>${(d: RunDetailAnswer) => html`
    <h1 tabindex="-1">Run ${d.run.runId}</h1>
    <dl class="meta">
      <dt>Project</dt><dd><a href=${href('runs', project)}>${d.run.project}</a></dd>
      <dt>Gate</dt><dd><${Pill} status=${d.run.gate} /></dd>
      <dt>Kind</dt><dd>${d.run.kind} (${d.run.format})</dd>
      <dt>Branch</dt><dd>${d.run.branch ?? '—'}</dd>
      <dt>Suite</dt><dd>${d.run.suite ?? '—'}</dd>
      <dt>Commit</dt><dd><code>${d.run.commit ?? '—'}</code></dd>
      <dt>Received</dt><dd><${Time} iso=${d.run.ingestedAt} /> (${d.run.ingestedAt})</dd>
      <dt>Correlation id</dt><dd><code>${d.run.correlationId}</code></dd>
      <dt>Raw report</dt><dd><button type="button" onClick=${() => download(d.reportPath)}>Download (${d.report.bytes} bytes)</button></dd>
    </dl>
    <h2>Gate checks</h2>
    ${
      d.gate.checks.length === 0
        ? html`<${Empty}>No checks applied.<//>`
        : html`<${Scroll}><table><thead><tr><th scope="col">Check</th><th scope="col">Verdict</th><th scope="col">Message</th><th scope="col">Actual</th><th scope="col">Threshold</th></tr></thead>
          <tbody>${d.gate.checks.map((c) => html`<tr><td>${c.id}</td><td><${Pill} status=${c.status} /></td><td class="text">${c.message}</td><td>${c.actual ?? '—'}</td><td>${c.threshold ?? '—'}</td></tr>`)}</tbody></table><//>`
    }
    ${d.warnings.length ? html`<h2>Warnings</h2><ul>${d.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : null}
    ${
      d.run.kind === 'tests'
        ? html`<h2>Failed tests (${d.failedTestsTotal})</h2>
        ${
          d.failedTests.length === 0
            ? html`<${Empty}>No test failed.<//>`
            : html`<ul class="failures">${d.failedTests.map(
                (t) => html`<li class="failure">
                <h3>${t.name}</h3>
                ${
                  t.flaky
                    ? html`<p><${Pill} status="flaky" /> since <${Time} iso=${t.flaky.since} /> (${FLAKY_RULES[t.flaky.reason] ?? t.flaky.reason}): this failure may not be the change's.</p>`
                    : null
                }
                <p><a href=${`${href('tests', project)}?${new URLSearchParams({ status: 'all', q: testSearch(t.name) })}`}>History of this test</a></p>
                <p class="where">${[t.suite, t.classname].filter(Boolean).join(' › ')}${t.file ? ` (${t.file}${t.line ? `:${t.line}` : ''})` : ''}</p>
                ${t.message ? html`<p class="message">${t.message}</p>` : null}
                ${t.details ? html`<details><summary>Failure details</summary><pre>${t.details}</pre></details>` : null}
              </li>`,
              )}</ul>
            ${d.failedTestsTotal > d.failedTests.length ? html`<p>${d.failedTestsTotal - d.failedTests.length} more not shown.</p>` : null}`
        }`
        : null
    }
  `}<//>`;
};
