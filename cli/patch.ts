import type { Git } from './git';

/**
 * The lines a change added or modified, for patch coverage: `git diff --unified=0` between the
 * merge base with the base branch and the working tree (so uncommitted edits count locally;
 * in CI the checkout is the commit). Renames keep their new path; deleted and binary files
 * have no lines. Only paths and line numbers leave the runner, never content.
 */

export interface ChangedLines {
  base: string;
  files: { path: string; lines: [number, number][] }[];
}

/** Not ok: `warning` says why, or is absent outside a git checkout (nothing to say there). */
export type PatchOutcome = { ok: true; changed: ChangedLines } | { ok: false; warning?: string };

const HUNK = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/;

/** Parse `git diff --unified=0 --no-prefix`-free output (default a/ b/ prefixes). */
export const parseUnifiedDiff = (
  diff: string,
): { files: ChangedLines['files']; problem?: string } => {
  const files: ChangedLines['files'] = [];
  let current: { path: string; lines: [number, number][] } | undefined;
  let inHunk = false;
  const lines = diff.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.startsWith('diff --git ')) {
      current = undefined;
      inHunk = false;
    } else if (!inHunk && line.startsWith('+++ ')) {
      let target = line.slice(4).replace(/\t.*$/, '');
      // Names with quotes, backslashes or control characters come C-quoted.
      if (target.startsWith('"') && target.endsWith('"'))
        target = target.slice(1, -1).replace(/\\(["\\])/g, '$1');
      if (target === '/dev/null') current = undefined;
      else if (target.startsWith('b/')) {
        current = { path: target.slice(2), lines: [] };
        files.push(current);
      } else return { files: [], problem: `unexpected file header at diff line ${i + 1}` };
    } else if (line.startsWith('@@')) {
      const m = HUNK.exec(line);
      if (!m) return { files: [], problem: `malformed hunk header at diff line ${i + 1}` };
      inHunk = true;
      const start = Number(m[1]);
      const count = m[2] === undefined ? 1 : Number(m[2]);
      if (current && count > 0) current.lines.push([start, start + count - 1]);
    } else if (line.startsWith('Binary files ')) {
      current = undefined;
    } else if (inHunk && !/^[-+ \\]/.test(line) && line !== '') {
      // A header line of the next file resets inHunk above; anything else is not a diff.
      if (!/^(old|new|deleted|similarity|rename|copy|index|dissimilarity) /.test(line))
        return { files: [], problem: `unexpected line at diff line ${i + 1}` };
    }
  }
  return { files: files.filter((f) => f.lines.length > 0) };
};

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

/** The changed lines against `base`, or one warning saying why they are not available. */
export const changedLines = async (git: Git, base: string): Promise<PatchOutcome> => {
  const inside = await git(['rev-parse', '--is-inside-work-tree']);
  if (!inside.ok || inside.stdout.trim() !== 'true') return { ok: false };
  // Prefer the remote-tracking branch: in CI the base is rarely a local branch.
  let ref: string | undefined;
  for (const candidate of [`origin/${base}`, base]) {
    const r = await git(['rev-parse', '--verify', '-q', `${candidate}^{commit}`]);
    if (r.ok) {
      ref = candidate;
      break;
    }
  }
  const shallow = (await git(['rev-parse', '--is-shallow-repository'])).stdout.trim() === 'true';
  if (!ref)
    return {
      ok: false,
      warning: `unknown base branch '${base}': fetch it first (git fetch origin ${base})${shallow ? ' in this shallow clone' : ''}; no patch coverage`,
    };
  const mb = await git(['merge-base', ref, 'HEAD']);
  if (!mb.ok)
    return {
      ok: false,
      warning: shallow
        ? `the merge base with '${ref}' is not in this shallow clone: fetch more history (actions/checkout with fetch-depth: 0, or git fetch --deepen); no patch coverage`
        : `'${ref}' and HEAD have no common history; no patch coverage`,
    };
  const mergeBase = mb.stdout.trim();
  const diff = await git([
    '-c',
    'core.quotePath=false',
    'diff',
    '--unified=0',
    '--no-color',
    '--no-ext-diff',
    '--find-renames',
    '--diff-filter=d',
    mergeBase,
  ]);
  if (!diff.ok)
    return { ok: false, warning: `git diff failed: ${firstLine(diff.stderr)}; no patch coverage` };
  const parsed = parseUnifiedDiff(diff.stdout);
  if (parsed.problem)
    return {
      ok: false,
      warning: `could not read git's diff (${parsed.problem}); no patch coverage`,
    };
  return { ok: true, changed: { base: mergeBase, files: parsed.files } };
};
