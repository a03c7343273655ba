import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { TestsAnswer, TestView } from '../../functions/core/history/queries';
import { getJson, qs, seg, usePoll } from '../api';
import { FLAKY_RULES, NAME_SHOWN, shownName } from '../text';
import { Empty, href, Loading, OutcomeStrip, Pill, Scroll, Time } from '../ui';

/** Flaky tests (rule and explanation), quarantine, outcome strips, failing tests, search. */

const TABS = [
  ['flaky', 'Flaky'],
  ['failing', 'Failing'],
  ['all', 'All'],
] as const;

const Row = ({ t, project }: { t: TestView; project: string }) => html`<tr>
  <td><span class="test-name" title=${t.name.length > NAME_SHOWN ? t.name : undefined}>${shownName(t.name)}</span><br /><small>${shownName([t.suite, t.classname].filter(Boolean).join(' › '))}</small></td>
  <td>${t.last ? html`<a href=${href('run', project, t.last.runId)}><${Pill} status=${t.last.status} /></a> <${Time} iso=${t.last.at} />` : '—'}</td>
  <td>${t.flaky ? html`<strong>${t.flaky.reason}</strong>: ${FLAKY_RULES[t.flaky.reason] ?? ''}<br /><small>${t.flaky.explanation}</small>` : '—'}</td>
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
  const path = (cursor?: string) =>
    `/v1/projects/${seg(project)}/tests${qs({ status, q: search, limit: 500, cursor })}`;
  const tests = usePoll<TestsAnswer>(path());
  // Every row shown when the next page is loaded (a long list, or a search that stopped before
  // the end of a long one: the API reads at most 20 pages of its limit per call) is kept, as
  // on the runs page: a refresh replaces the first page only, and rows pushed past its end by
  // newer tests would be in neither.
  const [more, setMore] = useState<{ tests: TestView[]; cursor?: string; loaded: boolean }>({
    tests: [],
    loaded: false,
  });
  const loadMore = async (shown: TestView[], cursor: string) => {
    const next = await getJson<TestsAnswer>(path(cursor));
    setMore({ tests: [...shown, ...next.tests], cursor: next.cursor, loaded: true });
  };
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
      const seen = new Set<string>();
      const shown = [...a.tests, ...more.tests].filter((t) => !seen.has(t.id) && seen.add(t.id));
      const cursor = more.loaded ? more.cursor : a.cursor;
      const matching = search ? ` matching “${search}”` : '';
      // A cursor: the list goes on (a full page shown, or a search that stopped before its end).
      const partial = cursor ? ' so far (the list goes on)' : '';
      const further = cursor
        ? html`<button type="button" onClick=${() => loadMore(shown, cursor)}>${search ? 'Search further' : 'Load more tests'}</button>`
        : null;
      return shown.length === 0
        ? html`<${Empty}>No ${status === 'all' ? '' : `${status} `}tests${matching}${cursor ? ' among the tests searched so far; the list goes on' : ''}.<//>${further}`
        : html`<${TestTable}
            key=${`${status}?${search}`}
            tests=${shown}
            project=${project}
            caption=${`${shown.length} ${status === 'all' ? '' : `${status} `}tests${matching}${partial}`}
          />${further}`;
    }}<//>`;
};
