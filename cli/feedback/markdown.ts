import { dashboardLink, dashboardPath } from '../../functions/core/dashboard-links';
import {
  type Check,
  type Delivered,
  finite,
  type GateStatus,
  isRecord,
  oneLine,
  quarantineNote,
  type Test,
  testLabel,
  worstGate,
} from './answer';
import { lineRanges, MAX_TESTS_IN_LOG } from './text';

/**
 * The Markdown shown in the GitHub job summary and the pull/merge request comment. Every
 * string from a report is escaped (`md`): no HTML, no links, no @mentions or issue references, no
 * table breaks.
 */

export interface FeedbackContext {
  project: string;
  suite?: string;
  commit?: string;
  /** Vigil's base URL; dashboard links are `<endpoint>/#/run/<project>/<runId>`. */
  endpoint: string;
  delivered: readonly Delivered[];
  /** Reports that did not get a verdict (unreadable, rejected, unreachable), one line each. */
  problems: readonly string[];
  /** How many of the problems are Vigil unreachable under --allow-unreachable (fail nothing). */
  allowedUnreachable?: number;
}

/**
 * U+2060 WORD JOINER: invisible, and kept as it is by the renderer (a character, not an entity
 * decoded before links are found). Put inside what would become a link, it breaks it and the
 * text reads the same.
 */
const JOINER = '\u2060';

/**
 * Text from a report as inert Markdown (one line, capped). Escaping the `.` does not stop every
 * link: GitHub (cmark-gfm) autolinks `scheme://` with a dotless host (`http://1572395042/`, an
 * IPv4 address), an email (`a@b.example`, also after `mailto:`/`xmpp:`; an `&#64;` entity is
 * decoded before that), and on the rendered text `@name`, `#12`, `owner/repo#12`, `GH-12`. A
 * joiner after a `:` before `/`, after each `@` and `#`, and inside `www.` and `GH-` breaks them.
 */
export const md = (s: string, max = 300): string =>
  oneLine(s, max)
    .replace(/[\\`*_{}[\]()#+\-.!|~>]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/:(?=\/)|[@#]|www(?=\\\.)|GH(?=\\-)/gi, `$&${JOINER}`);

const ICON: Record<GateStatus, string> = { pass: '✅', fail: '❌', none: '➖' };
const CHECK_ICON: Record<string, string> = { pass: '✅', fail: '❌', skip: '➖' };
const WORD: Record<GateStatus, string> = { pass: 'passed', fail: 'failed', none: 'no gate' };

export const dashboardUrl = (endpoint: string, project: string, runId: string): string =>
  dashboardLink(endpoint, dashboardPath(['run', project, runId]));

const fmt = (n: number): string =>
  Math.abs(n) >= 1000 ? String(Math.round(n)) : String(Number(n.toPrecision(4)));

const checksTable = (checks: readonly Check[]): string[] => {
  if (checks.length === 0) return [];
  return [
    '| Check | Result | Detail |',
    '| --- | --- | --- |',
    ...checks.map(
      (c) =>
        `| ${md(c.id, 80)} | ${CHECK_ICON[c.status] ?? md(c.status, 10)} | ${md(c.message ?? '', 400)} |`,
    ),
  ];
};

const testList = (title: string, tests: readonly Test[], more: number, messages: boolean) => {
  const total = tests.length + more;
  if (total === 0) return [];
  const lines = ['', `**${title} (${total})**`, ''];
  for (const t of tests.slice(0, MAX_TESTS_IN_LOG)) {
    const where = t.file ? ` (${md(t.line ? `${t.file}:${t.line}` : t.file, 200)})` : '';
    const message = messages && t.message ? `: ${md(t.message, 300)}` : '';
    const quarantined = t.quarantined ? ` ${md(quarantineNote(t))}` : '';
    lines.push(`- ${md(testLabel(t))}${quarantined}${where}${message}`);
  }
  const rest = total - Math.min(tests.length, MAX_TESTS_IN_LOG);
  if (rest > 0) lines.push(`- … and ${rest} more`);
  return lines;
};

const coverageLines = (d: Delivered): string[] => {
  if (d.kind !== 'coverage') return [];
  const parts: string[] = [];
  for (const k of ['lines', 'branches', 'functions', 'statements']) {
    const m = d.summary[k];
    const pct = isRecord(m) ? finite(m.pct) : undefined;
    if (pct !== undefined) parts.push(`${k} ${fmt(pct)}%`);
  }
  const lines = parts.length ? ['', `Coverage: ${parts.join(', ')}`] : [];
  for (const c of d.checks)
    if (c.id.startsWith('coverage.drop.') && c.message) lines.push(`- ${md(c.message, 400)}`);
  const p = d.patch;
  if (p) {
    lines.push(
      '',
      p.pct === null
        ? 'Patch coverage: no coverable changed lines'
        : `Patch coverage: **${fmt(p.pct)}%** (${p.covered} of ${p.coverable} changed lines)`,
    );
    const missing = p.files.filter((f) => f.uncovered.length > 0);
    if (missing.length) lines.push('', '| File | Changed lines not covered |', '| --- | --- |');
    for (const f of missing.slice(0, 50))
      lines.push(`| ${md(f.path, 200)} | ${cutRanges(lineRanges(f.uncovered), 500)} |`);
    if (missing.length > 50) lines.push(`| … and ${missing.length - 50} more files | |`);
  }
  return lines;
};

/** Ranges (`3-5, 9`) cut at a whole entry to at most about `max` characters, saying what is left. */
export const cutRanges = (ranges: string, max: number): string => {
  if (ranges.length <= max) return ranges;
  const entries = ranges.split(', ');
  const kept: string[] = [];
  let length = 0;
  for (const e of entries) {
    if (length + e.length + 2 > max) break;
    kept.push(e);
    length += e.length + 2;
  }
  const more = entries.slice(kept.length).reduce((n, e) => {
    const [a, b] = e.split('-').map(Number);
    return n + (b === undefined ? 1 : (b as number) - (a as number) + 1);
  }, 0);
  return `${kept.join(', ')} … and ${more} more line${more === 1 ? '' : 's'}`;
};

const changePct = (value: number, base: number): string =>
  base === 0 ? '' : `${value >= base ? '+' : '−'}${fmt(Math.abs(((value - base) / base) * 100))}%`;

const benchmarkRow = (c: Check, base: number): string => {
  const value = c.actual === undefined ? '–' : fmt(c.actual);
  const change = c.actual === undefined ? '' : changePct(c.actual, base);
  return `| ${md(c.id, 120)} | ${value} | ${fmt(base)} | ${change} | ${CHECK_ICON[c.status] ?? ''} ${md(c.message ?? '', 300)} |`;
};

const benchmarkLines = (d: Delivered): string[] => {
  const rows = d.checks.flatMap((c) =>
    c.id.startsWith('benchmark.') && c.status !== 'skip' && c.threshold !== undefined
      ? [benchmarkRow(c, c.threshold)]
      : [],
  );
  if (rows.length === 0) return [];
  return [
    '',
    '| Benchmark check | Value | Base | Change | Verdict |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ];
};

const loadLines = (d: Delivered): string[] => {
  if (d.kind !== 'load') return [];
  const thresholds = (Array.isArray(d.summary.thresholds) ? d.summary.thresholds : []).filter(
    isRecord,
  );
  if (thresholds.length === 0) return [];
  return [
    '',
    '| Load threshold | Result |',
    '| --- | --- |',
    ...thresholds.map(
      (t) => `| ${md(String(t.name ?? '?'), 200)} | ${t.passed === true ? '✅' : '❌'} |`,
    ),
  ];
};

const section = (ctx: FeedbackContext, d: Delivered): string[] => {
  const link = d.runId ? ` · [run](${dashboardUrl(ctx.endpoint, ctx.project, d.runId)})` : '';
  return [
    '',
    `#### ${ICON[d.gate]} ${md(d.file, 200)}: ${md(d.kind ?? 'report', 20)}, ${WORD[d.gate]}${link}`,
    '',
    ...checksTable(d.checks),
    ...testList('Failed tests', d.failed, d.moreFailed, true),
    ...testList('Flaky tests (passed on retry)', d.flaky, d.moreFlaky, false),
    ...coverageLines(d),
    ...benchmarkLines(d),
    ...loadLines(d),
    ...d.warnings.slice(0, 10).map((w) => `> ⚠️ ${md(w, 300)}`),
  ];
};

/** GitHub caps a comment body at 65536 characters; the step summary at 1 MiB. */
export const MAX_MARKDOWN_CHARS = 60_000;

export const overallGate = (ctx: FeedbackContext): GateStatus =>
  ctx.problems.length > 0 && ctx.delivered.every((d) => d.gate !== 'fail')
    ? 'none'
    : worstGate(ctx.delivered.map((d) => d.gate));

export const title = (ctx: FeedbackContext): string =>
  `Vigil: ${ctx.project}${ctx.suite ? ` (${ctx.suite})` : ''}`;

/** The whole Markdown report of one `vigil report` run. */
export const renderMarkdown = (ctx: FeedbackContext): string => {
  const gate = overallGate(ctx);
  const head = `### ${ICON[gate]} ${md(title(ctx), 200)}: ${WORD[gate]}${ctx.commit ? ` at \`${ctx.commit.slice(0, 12).replace(/[^0-9A-Za-z._-]/g, '')}\`` : ''}`;
  const lines = [head];
  for (const p of ctx.problems) lines.push('', `> ❗ ${md(p, 400)}`);
  for (const d of ctx.delivered) lines.push(...section(ctx, d));
  let text = `${lines.join('\n')}\n`;
  if (text.length > MAX_MARKDOWN_CHARS)
    text = `${text.slice(0, MAX_MARKDOWN_CHARS)}\n\n… (cut: the full results are in the job log)\n`;
  return text;
};
