import { html } from 'htm/preact';
import type { RunsAnswer } from '../../functions/core/history/queries';
import type { RunRecord } from '../../functions/core/history/types';
import type { SeverityCounts } from '../../functions/core/security/model';
import { qs, seg, usePoll } from '../api';
import { Chart } from '../chart';
import { Empty, href, Loading, Name, NoHistory, Pill, Scroll, short, Time } from '../ui';
import { useDefaultBranch } from './coverage';

/** A project's security runs on its default branch: findings by severity over time, new and fixed per run. */

type SecurityRun = Extract<RunRecord, { kind: 'security' }>;

const SEVERITY_COLORS: [keyof SeverityCounts, string][] = [
  ['critical', '#b71c1c'],
  ['high', '#e65100'],
  ['medium', '#f9a825'],
  ['low', '#1565c0'],
  ['info', '#757575'],
];

export const Security = ({ project }: { project: string }) => {
  const branch = useDefaultBranch(project);
  const runs = usePoll<RunsAnswer>(
    branch
      ? `/v1/projects/${seg(project)}/runs${qs({ kind: 'security', branch, limit: 200 })}`
      : null,
  );
  if (branch === null)
    return html`<h1 tabindex="-1">Security of ${project}</h1><${NoHistory} project=${project} />`;
  return html`<h1 tabindex="-1">Security of ${project}</h1>
    <${Loading} state=${runs}>${(a: RunsAnswer) => {
      const all = a.runs.filter((r): r is SecurityRun => r.kind === 'security');
      if (all.length === 0) return html`<${Empty}>No security reports on ${branch}.<//>`;
      const oldestFirst = [...all].reverse();
      return html`<h2>Findings by severity on ${branch}</h2>
        ${
          oldestFirst.length > 1
            ? html`<${Chart} title=${`${project} security findings on ${branch}`} at=${oldestFirst.map((r) => r.ingestedAt)} series=${SEVERITY_COLORS.map(
                ([s, color]) => ({
                  label: s,
                  color,
                  values: oldestFirst.map((r) => r.summary.bySeverity[s]),
                }),
              )} />`
            : html`<${Empty}>One run so far: the trend starts with the next one.<//>`
        }
        <h2>Runs</h2>
        <${Scroll}><table>
          <caption>${all.length} security runs on ${branch}, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Gate</th><th scope="col">Suite</th><th scope="col">Commit</th><th scope="col">Findings</th>${SEVERITY_COLORS.map(([s]) => html`<th scope="col">${s}</th>`)}<th scope="col">New</th><th scope="col">Fixed</th><th scope="col">Suppressed</th></tr></thead>
          <tbody>${all.map(
            (r) => html`<tr>
              <td><a href=${href('run', project, r.runId)}><${Time} iso=${r.ingestedAt} /></a></td>
              <td><${Pill} status=${r.gate} /></td><td><${Name} name=${r.suite} /></td><td><code>${short(r.commit)}</code></td>
              <td>${r.summary.findings}</td>${SEVERITY_COLORS.map(([s]) => html`<td>${r.summary.bySeverity[s]}</td>`)}
              <td>${r.summary.new}</td><td>${r.summary.fixed}</td><td>${r.summary.suppressed}</td>
            </tr>`,
          )}</tbody>
        </table><//>`;
    }}<//>`;
};
