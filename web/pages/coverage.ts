import { html } from 'htm/preact';
import type { RunsAnswer } from '../../functions/core/history/queries';
import type { ProjectsAnswer } from '../../functions/core/status/api';
import { qs, seg, usePoll } from '../api';
import { Chart } from '../chart';
import { Empty, href, Loading, NoHistory } from '../ui';

/** Coverage of a branch over time, next to the default (base) branch. */

/**
 * The project's default branch (from `/v1/projects`), undefined until known or not `needed`,
 * null when the project has no runs.
 */
export const useDefaultBranch = (project: string, needed = true): string | null | undefined => {
  const projects = usePoll<ProjectsAnswer>(needed ? '/v1/projects' : null).data?.projects;
  return projects && (projects.find((p) => p.project === project)?.defaultBranch ?? null);
};

const series = (a: RunsAnswer | undefined) =>
  (a?.runs ?? [])
    .flatMap((r) =>
      r.kind === 'coverage'
        ? [{ at: r.ingestedAt, lines: r.summary.lines.pct, branches: r.summary.branches.pct }]
        : [],
    )
    .reverse();

export const Coverage = ({ project, query }: { project: string; query: URLSearchParams }) => {
  const base = useDefaultBranch(project);
  const branch = query.get('branch') || base;
  const path = (b: string | null | undefined) =>
    b
      ? `/v1/projects/${seg(project)}/runs${qs({ kind: 'coverage', branch: b, limit: 200 })}`
      : null;
  const mine = usePoll<RunsAnswer>(path(branch));
  const theirs = usePoll<RunsAnswer>(branch === base ? null : path(base));
  const onBranch = (ev: Event) => {
    ev.preventDefault();
    location.hash = `${href('coverage', project)}${qs({ branch: String(new FormData(ev.currentTarget as HTMLFormElement).get('branch') ?? '') })}`;
  };
  if (branch === null)
    return html`<h1 tabindex="-1">Coverage of ${project}</h1><${NoHistory} project=${project} />`;
  return html`<h1 tabindex="-1">Coverage of ${project}</h1>
    <form class="filters" onSubmit=${onBranch} aria-label="Choose branch">
      <label>Branch <input name="branch" key=${branch ?? ''} defaultValue=${branch ?? ''} /></label><button type="submit">Show</button>
    </form>
    <${Loading} state=${mine}>${(a: RunsAnswer) => {
      const points = series(a);
      const basePoints = branch === base ? [] : series(theirs.data);
      if (points.length === 0) return html`<${Empty}>No coverage reports on ${branch}.<//>`;
      // One time axis for both branches: the base branch's latest value before each point.
      const at = [...new Set([...points, ...basePoints].map((p) => p.at))].sort();
      const step = (ps: typeof points, key: 'lines' | 'branches') => {
        let i = 0;
        let last: number | null = null;
        return at.map((t) => {
          while (i < ps.length && (ps[i]?.at ?? '') <= t) last = ps[i++]?.[key] ?? last;
          return last;
        });
      };
      const latest = points.at(-1);
      return html`<p>Latest on ${branch}: lines ${latest?.lines}%, branches ${latest?.branches}%${basePoints.length ? `; on ${base}: lines ${basePoints.at(-1)?.lines}%` : ''}.</p>
        <${Chart} title=${`Coverage on ${branch}${basePoints.length ? ` vs ${base}` : ''}`} unit="%" at=${at} series=${[
          { label: `${branch} lines`, color: '#1565c0', values: step(points, 'lines') },
          { label: `${branch} branches`, color: '#6a1b9a', values: step(points, 'branches') },
          ...(basePoints.length
            ? [
                {
                  label: `${base} lines`,
                  color: '#757575',
                  dash: true,
                  values: step(basePoints, 'lines'),
                },
              ]
            : []),
        ]} />`;
    }}<//>`;
};
