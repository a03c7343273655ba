import type { Git, GitResult } from './git';

/**
 * The lines a change added or modified, for patch coverage: `git diff --unified=0` between the
 * merge base with the base branch and the working tree (so uncommitted edits count locally;
 * in CI the checkout is the commit). Renames keep their new path; deleted and binary files
 * have no lines. Only paths and line numbers leave the runner, never content.
 */

export interface ChangedLines {
  base: string;
  files: { path: string; lines: [number, number][] }[];
  /**
   * Where the CLI ran, relative to the repository root (`git rev-parse --show-prefix`: '' at
   * the root, else '/'-separated with a trailing '/'): relative report paths start there.
   */
  prefix?: string;
}

/**
 * Not ok: `warning` says why; `notRepo` when git found no repository at all (not a refusal).
 * Ok: `note` says what was left out, when something was.
 */
export type PatchOutcome =
  | { ok: true; changed: ChangedLines; note?: string }
  | { ok: false; warning: string; notRepo?: boolean };

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

/** Why a git command failed: its first stderr line, or why it did not finish. */
const reason = (r: GitResult): string => firstLine(r.stderr) || r.error || 'no reason given';

/**
 * A file with more added lines than this is generated or data (a lockfile, a fixture, a
 * bundle), not code a test covers: it is left out of the diff, which it could make too large.
 */
export const MAX_ADDED_LINES_PER_FILE = 50_000;

/**
 * Options that make git's diff the same whatever the user's configuration says: a/ and b/
 * prefixes (not diff.noprefix, diff.mnemonicPrefix), paths from the repository root (not
 * diff.relative), no textconv or external diff, hunks never merged across unchanged lines.
 */
const DIFF_OPTIONS = [
  '-c',
  'core.quotePath=false',
  '-c',
  'diff.noprefix=false',
  '-c',
  'diff.mnemonicPrefix=false',
  'diff',
  '--no-color',
  '--no-relative',
  '--no-textconv',
  '--no-ext-diff',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '--find-renames',
  '--diff-filter=d',
] as const;

/** `git diff --numstat -z`: added line count (undefined for binary files) by new path. */
export const parseNumstat = (out: string): { path: string; added?: number }[] => {
  const fields = out.split('\0');
  const files: { path: string; added?: number }[] = [];
  for (let i = 0; i < fields.length; i++) {
    const m = /^(-|\d+)\t(?:-|\d+)\t(.*)$/s.exec(fields[i] ?? '');
    if (!m) continue;
    // A rename: "added\tdeleted\t" then the old and new paths as fields of their own.
    let path = m[2] ?? '';
    if (path === '') {
      path = fields[i + 2] ?? '';
      i += 2;
    }
    files.push(m[1] === '-' ? { path } : { path, added: Number(m[1]) });
  }
  return files;
};

/** A literal pathspec that leaves `path` (from the repository root) out. */
const exclude = (path: string) => `:(top,exclude,literal)${path}`;

/** The changed lines against `base`, or one warning saying why they are not available. */
export const changedLines = async (git: Git, base: string): Promise<PatchOutcome> => {
  const inside = await git(['rev-parse', '--is-inside-work-tree']);
  if (!inside.ok || inside.stdout.trim() !== 'true') {
    const why = reason(inside);
    return {
      ok: false,
      notRepo: !inside.ok && /not a git repository/i.test(inside.stderr),
      warning: inside.ok
        ? 'not inside a git work tree; no patch coverage'
        : `git cannot read the repository here: ${why}; no patch coverage`,
    };
  }
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
  const prefixed = await git(['rev-parse', '--show-prefix']);
  const prefix = prefixed.ok ? prefixed.stdout.replace(/\n$/, '') : undefined;
  // First the size of each file's change: binaries and huge files stay out of the diff.
  const numstat = await git([...DIFF_OPTIONS, '--numstat', '-z', mergeBase]);
  if (!numstat.ok)
    return {
      ok: false,
      warning: `git diff --numstat failed: ${reason(numstat)}; no patch coverage`,
    };
  const stats = parseNumstat(numstat.stdout);
  const huge = stats.filter((f) => f.added !== undefined && f.added > MAX_ADDED_LINES_PER_FILE);
  const left = huge.map((f) => f.path);
  const skipped = left.length
    ? `left out ${left.length === 1 ? `${left[0]}` : `${left.length} files`} (over ${MAX_ADDED_LINES_PER_FILE} added lines: generated or data, not code)`
    : undefined;
  if (!stats.some((f) => f.added !== undefined && f.added <= MAX_ADDED_LINES_PER_FILE))
    return {
      ok: true,
      changed: { base: mergeBase, files: [], ...(prefix === undefined ? {} : { prefix }) },
      ...(skipped ? { note: skipped } : {}),
    };
  const diff = await git([
    ...DIFF_OPTIONS,
    '--unified=0',
    '--inter-hunk-context=0',
    mergeBase,
    ...(left.length ? ['--', ':/', ...left.map(exclude)] : []),
  ]);
  if (!diff.ok)
    return {
      ok: false,
      warning: `git diff failed: ${reason(diff)}; no patch coverage`,
    };
  const parsed = parseUnifiedDiff(diff.stdout);
  if (parsed.problem)
    return {
      ok: false,
      warning: `could not read git's diff (${parsed.problem}); no patch coverage`,
    };
  return {
    ok: true,
    changed: { base: mergeBase, files: parsed.files, ...(prefix === undefined ? {} : { prefix }) },
    ...(skipped ? { note: skipped } : {}),
  };
};
