import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { TestsAnswer, TestView } from '../../functions/core/history/queries';
import { qs, seg, usePoll } from '../api';
import { NAME_SHOWN, shownName } from '../text';
import { Empty, href, Loading, OutcomeStrip, Pill, Scroll, Time } from '../ui';

/** Flaky tests (rule and explanation), quarantine, outcome strips, failing tests, search. */

const TABS = [
  ['flaky', 'Flaky'],
  ['failing', 'Failing'],
  ['all', 'All'],
] as const;

const RULES: Record<string, string> = {
  'same-commit': 'failed and passed on one commit',
  retried: 'passed only after a retry',
  'flip-rate': 'flips between pass and fail often',
};

const Row = ({ t, project }: { t: TestView; project: string }) => html`<tr>
  <td><span class="test-name" title=${t.name.length > NAME_SHOWN ? t.name : undefined}>${shownName(t.name)}</span><br /><small>${shownName([t.suite, t.classname].filter(Boolean).join(' › '))}</small></td>
  <td>${t.last ? html`<a href=${href('run', project, t.last.runId)}><${Pill} status=${t.last.status} /></a> <${Time} iso=${t.last.at} />` : '—'}</td>
  <td>${t.flaky ? html`<strong>${t.flaky.reason}</strong>: ${RULES[t.flaky.reason] ?? ''}<br /><small>${t.flaky.explanation}</small>` : '—'}</td>
  <td>${
    t.quarantine
      ? html`${t.quarantine.owner}: ${t.quarantine.reason}<br /><small>${t.quarantine.expired ? 'expired' : 'until'} ${t.quarantine.expires}</small>`
      : '—'
  }</td>
  <td><${OutcomeStrip} outcomes=${t.outcomes} /><br /><small>${t.counts.passed} passed, ${t.counts.failed} failed, ${t.counts.retried} retried</small></td>
</tr>`;

/** Rows drawn at first and per "Show more": 500 rows of strips are ~15,000 elements. */
const ROWS = 100;

const TestTable = ({
  tests,
  project,
  caption,
}: {
  tests: TestView[];
  project: string;
  caption: string;
}) => {
  const [rows, setRows] = useState(ROWS);
  const more = tests.length - rows;
  return html`<${Scroll}><table class="tests">
      <caption>${caption}${more > 0 ? `, first ${rows} shown` : ''}</caption>
      <thead><tr><th scope="col">Test</th><th scope="col">Last</th><th scope="col">Flaky rule</th><th scope="col">Quarantine</th><th scope="col">Outcomes, oldest first</th></tr></thead>
      <tbody>${tests.slice(0, rows).map((t) => html`<${Row} key=${t.id} t=${t} project=${project} />`)}</tbody>
    </table><//>
    ${more > 0 ? html`<button type="button" onClick=${() => setRows(rows + ROWS)}>Show ${Math.min(more, ROWS)} more</button>` : null}`;
};

export const Tests = ({ project, query }: { project: string; query: URLSearchParams }) => {
  const status = query.get('status') ?? 'flaky';
  const search = query.get('q') ?? '';
  // The API searches (`q`): the first 500 tests alone would miss a match further down the list.
  const tests = usePoll<TestsAnswer>(
    `/v1/projects/${seg(project)}/tests${qs({ status, q: search, limit: 500 })}`,
  );
  const onSearch = (ev: Event) => {
    ev.preventDefault();
    const q = String(new FormData(ev.currentTarget as HTMLFormElement).get('q') ?? '').trim();
    location.hash = `${href('tests', project)}${qs({ status, q })}`;
  };
  return html`<h1 tabindex="-1">Tests of ${project}</h1>
    <nav class="tabs" aria-label="Which tests">
      ${TABS.map(([s, label]) => html`<a href=${`${href('tests', project)}${qs({ status: s, q: search })}`} aria-current=${s === status ? 'page' : undefined}>${label}</a>`)}
    </nav>
    <form role="search" class="filters" onSubmit=${onSearch}>
      <label>Test name <input name="q" type="search" key=${search} defaultValue=${search} /></label>
      <button type="submit">Search</button>
    </form>
    <${Loading} state=${tests}>${(a: TestsAnswer) => {
      const shown = a.tests;
      const matching = search ? ` matching “${search}”` : '';
      // A cursor: the list goes on (500 shown, or a search that stopped before its end).
      const partial = a.cursor
        ? shown.length === 500
          ? ' (first 500)'
          : ' so far (the list goes on)'
        : '';
      return shown.length === 0
        ? html`<${Empty}>No ${status === 'all' ? '' : `${status} `}tests${matching}${a.cursor ? ' among the tests searched so far; the list goes on' : ''}.<//>`
        : html`<${TestTable}
            key=${`${status}?${search}`}
            tests=${shown}
            project=${project}
            caption=${`${shown.length} ${status} tests${matching}${partial}`}
          />`;
    }}<//>`;
};
