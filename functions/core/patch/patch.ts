import { VigilError } from '../errors';
import type { GateCheck } from '../events';
import { round2 } from '../formats/types';
import { check, skip } from '../gates/checks';
import * as z from '../zod-mini';
import type { LineCoverage } from './lines';

/**
 * Patch coverage: of the lines a change added or modified (sent by the CLI, computed with
 * `git diff --unified=0` against the merge base), how many the coverage report covers. Only
 * lines the coverage tool instruments count (blank lines and comments are not coverable).
 */

/** At most this many uncovered line numbers per file and files in an answer. */
const MAX_UNCOVERED_PER_FILE = 1000;
const MAX_FILES = 500;

/**
 * Where `vigil report` ran, relative to the repository root, as `git rev-parse --show-prefix`
 * prints it: '' at the root, else segments joined and ended by '/' (`packages/a/`). Never
 * absolute, never `.` or `..`, no backslashes.
 */
const isPrefix = (p: string): boolean =>
  p === '' ||
  (p.endsWith('/') &&
    p
      .slice(0, -1)
      .split('/')
      .every(
        (seg) =>
          seg !== '' && seg !== '.' && seg !== '..' && !seg.includes('\\') && !seg.includes('\0'),
      ));

const prefixSchema = z
  .string()
  .check(
    z.maxLength(1024),
    z.refine(
      isPrefix,
      "must be '' or a relative directory ending with '/' (no '..', '.', empty segments or leading '/')",
    ),
  );

/** The changed lines as the CLI sends them: repository-relative paths, inclusive ranges. */
export const changedLinesSchema = z.strictObject({
  /** The directory the CLI ran in, relative to the repository root (`git rev-parse --show-prefix`). */
  prefix: z.optional(prefixSchema),
  /** The merge base the diff was taken against (for messages). */
  base: z.optional(z.string().check(z.maxLength(256))),
  files: z
    .array(
      z.strictObject({
        path: z.string().check(z.minLength(1), z.maxLength(1024)),
        lines: z
          .array(z.tuple([z.int().check(z.positive()), z.int().check(z.positive())]))
          .check(z.maxLength(100_000)),
      }),
    )
    .check(z.maxLength(20_000)),
});

export type ChangedLines = z.infer<typeof changedLinesSchema>;

const envelopeSchema = z.strictObject({ report: z.string(), patch: z.unknown() });

/**
 * The body of `POST /v1/results?patch=1`: `{ "report": "<report text>", "patch": ChangedLines }`.
 * A body that is not such an envelope is a 400; a patch that does not validate only loses the
 * patch (a warning says why), never the report.
 */
export const readEnvelope = (
  text: string,
): { report: string; patch?: ChangedLines; warning?: string; why?: string } => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new VigilError(
      'bad_request',
      'With ?patch=1 the body must be JSON: {"report": "<report text>", "patch": {...}}.',
      { path: 'body' },
    );
  }
  const envelope = envelopeSchema.safeParse(doc);
  if (!envelope.success)
    throw new VigilError(
      'bad_request',
      'With ?patch=1 the body must be {"report": "<report text>", "patch": {...}} and nothing else.',
      { path: 'body' },
    );
  const patch = changedLinesSchema.safeParse(envelope.data.patch);
  if (patch.success) return { report: envelope.data.report, patch: patch.data };
  const issue = patch.error.issues[0];
  const why = `the changed lines are invalid at patch.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`;
  return { report: envelope.data.report, warning: `Patch coverage not computed: ${why}.`, why };
};

export interface PatchSummary {
  coverable: number;
  covered: number;
  /** null when no changed line is coverable. */
  pct: number | null;
  files: { path: string; uncovered: number[] }[];
}

const isAbsolute = (p: string): boolean => p.startsWith('/') || /^[A-Za-z]:\//.test(p);

/**
 * A path with `/` separators, without `.` segments, empty segments or leading `./`, and with
 * `..` segments folded into the segment before them. `undefined` when a relative path climbs
 * above where it starts (it cannot name a file of the repository).
 */
const clean = (p: string): string | undefined => {
  const slashed = p.replaceAll('\\', '/');
  const root = isAbsolute(slashed) ? (slashed.startsWith('/') ? '/' : slashed.slice(0, 3)) : '';
  const out: string[] = [];
  for (const seg of slashed.slice(root.length).split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg !== '..') out.push(seg);
    else if (out.length > 0) out.pop();
    else if (root === '') return undefined;
  }
  return root + out.join('/');
};

/** `clean`, keeping what it cannot fold: a path that climbs keeps its ending for matching. */
const norm = (p: string): string =>
  clean(p) ??
  p
    .replaceAll('\\', '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    .join('/');

const extension = (p: string): string => {
  const name = p.slice(p.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
};

interface Entry {
  /** The report's path, cleaned (repository-relative when resolved against the prefix). */
  path: string;
  lines: Map<number, boolean>;
  /** Matched only exactly: a relative path resolved against the CLI's directory. */
  resolved: boolean;
}

/**
 * The coverage entry of a repository path.
 *
 * With `prefix` (the directory `vigil report` ran in, relative to the repository root), a
 * relative report path is resolved against it (`packages/a/` + `src/x.ts`) and matched
 * exactly: a report written in one package never covers another package's file of the same
 * name. Absolute report paths are matched by the longest one ending with `/<repository path>`.
 *
 * Without `prefix` (older CLIs), or for paths that are not repository paths (JaCoCo's, Go's:
 * `LineCoverage.byEnding`): the same path, else the longest one of which one ends with the
 * other at a `/` (absolute paths in the report, or a report written in a subdirectory).
 *
 * Returns the entry and whether it was matched by the common ending.
 */
const matcher = (cov: LineCoverage, prefix: string | undefined) => {
  const byEnding = prefix === undefined || cov.byEnding === true;
  const byPath = new Map<string, Entry>();
  for (const [raw, lines] of cov) {
    const resolved = !byEnding && !isAbsolute(raw.replaceAll('\\', '/'));
    // A relative path that climbs out of the repository names none of its files.
    const path = resolved ? clean(`${prefix}${raw.replaceAll('\\', '/')}`) : norm(raw);
    if (path === undefined || path === '') continue;
    const seen = byPath.get(path);
    if (!seen) byPath.set(path, { path, lines: new Map(lines), resolved });
    else for (const [n, hit] of lines) seen.lines.set(n, hit || seen.lines.get(n) === true);
  }
  const entries = [...byPath.values()];
  return {
    entries,
    find(path: string): { entry: Entry; reconciled: boolean } | undefined {
      const hit = byPath.get(path);
      if (hit) return { entry: hit, reconciled: false };
      let best: Entry | undefined;
      for (const e of entries) {
        if (e.resolved) continue;
        const ends = e.path.endsWith(`/${path}`) || (byEnding && path.endsWith(`/${e.path}`));
        if (ends && (!best || e.path.length > best.path.length)) best = e;
      }
      return best ? { entry: best, reconciled: true } : undefined;
    },
  };
};

/** At most this many paths quoted in one warning. */
const MAX_QUOTED = 10;

const quoteList = (paths: readonly string[]): string => {
  const shown = paths
    .slice(0, MAX_QUOTED)
    .map((p) => `'${p}'`)
    .join(', ');
  return paths.length > MAX_QUOTED ? `${shown} and ${paths.length - MAX_QUOTED} more` : shown;
};

/**
 * A file's changed ranges as sorted, disjoint ranges: a line the patch names twice (repeated
 * or overlapping ranges, or the file listed twice) counts once.
 */
const mergeRanges = (ranges: readonly (readonly [number, number])[]): [number, number][] => {
  const merged: [number, number][] = [];
  for (const [from, to] of ranges.filter(([a, b]) => a <= b).sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
};

/** Whether line `n` is in one of the sorted, disjoint `ranges` (binary search). */
const inRanges = (ranges: readonly [number, number][], n: number): boolean => {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [from, to] = ranges[mid] as [number, number];
    if (n < from) hi = mid - 1;
    else if (n > to) lo = mid + 1;
    else return true;
  }
  return false;
};

/** Patch coverage with what the gate check needs to word a skip. */
export interface PatchDetail {
  summary: PatchSummary;
  /** Why no changed line counted, when it is more than "none is coverable". */
  skipWhy?: string;
}

/**
 * Counts each changed line once, walking the file's coverable lines, never the ranges' spans
 * (a patch can make them as wide as it likes): O((coverable lines + ranges) · log ranges).
 */
export const patchDetail = (
  cov: LineCoverage,
  changed: ChangedLines,
  warnings: string[],
): PatchDetail => {
  const { entries, find } = matcher(cov, changed.prefix);
  let coverable = 0;
  let covered = 0;
  let example: string | undefined;
  const missing: string[] = [];
  const files: PatchSummary['files'] = [];
  // Changed ranges per repository path: a file listed twice (or under two spellings) is still
  // one file whose lines count once.
  const byPath = new Map<string, { entry: Entry; exact: boolean; ranges: [number, number][] }>();
  for (const f of changed.files) {
    const path = norm(f.path);
    let file = byPath.get(path);
    if (!file) {
      const found = find(path);
      if (!found) {
        if (!missing.includes(path)) missing.push(path);
        continue;
      }
      file = { entry: found.entry, exact: !found.reconciled, ranges: [] };
      byPath.set(path, file);
    }
    for (const range of f.lines) file.ranges.push(range);
  }
  // One coverage entry is one file: never merge two repository paths into it. An exact match
  // wins over matches by the ending (those files are not in the report); two matches by the
  // ending are ambiguous and neither counts.
  const byEntry = new Map<Entry, string[]>();
  for (const [path, { entry }] of byPath) byEntry.set(entry, [...(byEntry.get(entry) ?? []), path]);
  const ambiguous: string[] = [];
  for (const [entry, paths] of byEntry) {
    if (paths.length < 2) continue;
    const exact = paths.find((p) => byPath.get(p)?.exact);
    for (const p of paths) {
      if (p === exact) continue;
      byPath.delete(p);
      if (exact) missing.push(p);
    }
    if (!exact) ambiguous.push(`'${entry.path}' (${quoteList(paths)})`);
  }
  const truncated: string[] = [];
  let unlisted = 0;
  for (const [path, { entry, exact, ranges }] of byPath) {
    if (!exact) example ??= `'${entry.path}' → '${path}'`;
    const changedLines = mergeRanges(ranges);
    const uncovered: number[] = [];
    let fileCoverable = 0;
    for (const [n, hit] of entry.lines) {
      if (!inRanges(changedLines, n)) continue;
      fileCoverable++;
      if (hit) covered++;
      else uncovered.push(n);
    }
    coverable += fileCoverable;
    if (fileCoverable === 0) continue;
    if (files.length >= MAX_FILES) {
      unlisted++;
      continue;
    }
    if (uncovered.length > MAX_UNCOVERED_PER_FILE)
      truncated.push(`'${path}' and ${uncovered.length - MAX_UNCOVERED_PER_FILE} more`);
    files.push({
      path,
      uncovered: uncovered.sort((a, b) => a - b).slice(0, MAX_UNCOVERED_PER_FILE),
    });
  }
  // Expected of paths that are not repository paths: no warning.
  if (example && !cov.byEnding)
    warnings.push(
      `Patch coverage: coverage paths were matched to repository paths by their common ending (e.g. ${example}); check it is the same file.`,
    );
  if (ambiguous.length > 0)
    warnings.push(
      `Patch coverage: ${quoteList(ambiguous)}: one coverage file matches several changed files by their common ending, so they do not count; run vigil report from the directory the report's paths are relative to.`,
    );
  // Changed files the report could cover (their extension is among its files'): code whose
  // absence matters. Docs, configs and the like are not worth a word.
  const extensions = new Set(entries.map((e) => extension(e.path)));
  const missingCode = missing.filter((p) => extension(p) !== '' && extensions.has(extension(p)));
  const where =
    changed.prefix === undefined
      ? ''
      : ` (its relative paths were read from '${changed.prefix || './'}', where vigil report ran)`;
  let skipWhy: string | undefined;
  if (missingCode.length > 0 && byPath.size === 0 && ambiguous.length === 0) {
    warnings.push(
      `Patch coverage: none of the ${missingCode.length} changed code files is in the coverage report${where} (e.g. '${missingCode[0]}')${changed.prefix === undefined ? '; are the paths from another checkout?' : '.'}`,
    );
    skipWhy = `none of the ${missingCode.length} changed code files is in the coverage report`;
  } else if (missingCode.length > 0) {
    warnings.push(
      `Patch coverage: ${missingCode.length} changed code file${missingCode.length === 1 ? ' is' : 's are'} not in the coverage report${where} and do${missingCode.length === 1 ? 'es' : ''} not count: ${quoteList(missingCode)}.`,
    );
    skipWhy = `no changed line in the coverage report is coverable, and ${missingCode.length} changed code file${missingCode.length === 1 ? ' is' : 's are'} not in it`;
  }
  if (ambiguous.length > 0 && coverable === 0)
    skipWhy = 'the changed files match the coverage report ambiguously';
  if (truncated.length > 0)
    warnings.push(
      `Patch coverage: the first ${MAX_UNCOVERED_PER_FILE} uncovered changed lines per file are listed: ${truncated.slice(0, MAX_QUOTED).join(', ')}${truncated.length > MAX_QUOTED ? ` (and ${truncated.length - MAX_QUOTED} more files)` : ''}.`,
    );
  if (unlisted > 0)
    warnings.push(
      `Patch coverage: ${files.length} files are listed and ${unlisted} more with coverable changed lines are not (they count).`,
    );
  return {
    summary: {
      coverable,
      covered,
      pct: coverable === 0 ? null : round2((covered / coverable) * 100),
      files,
    },
    ...(skipWhy ? { skipWhy } : {}),
  };
};

/** The patch summary alone (see `patchDetail`). */
export const patchCoverage = (
  cov: LineCoverage,
  changed: ChangedLines,
  warnings: string[],
): PatchSummary => patchDetail(cov, changed, warnings).summary;

/** The `coverage.patch` gate check against `gates.minPatchCoverage` (none when unset). */
export const patchCheck = (
  patch: PatchSummary | undefined,
  min: number | undefined,
  why: string | undefined,
): GateCheck[] => {
  if (min === undefined) return [];
  if (!patch)
    return [
      skip(
        'coverage.patch',
        `Patch coverage not checked: ${why ?? 'no changed lines were sent'}.`,
        null,
        min,
      ),
    ];
  if (patch.pct === null)
    return [
      skip(
        'coverage.patch',
        `Patch coverage not checked: ${why ?? 'no changed line is coverable'}.`,
        null,
        min,
      ),
    ];
  const failed = patch.pct < min;
  return [
    check(
      'coverage.patch',
      failed,
      `patch coverage ${patch.pct}% ${failed ? 'is below' : 'meets'} the minimum of ${min}% (${patch.covered}/${patch.coverable} changed lines)`,
      patch.pct,
      min,
    ),
  ];
};
