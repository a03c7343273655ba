import * as z from 'zod';
import { VigilError } from '../errors';
import type { GateCheck } from '../events';
import { round2 } from '../formats/types';
import { check, skip } from '../gates/checks';
import type { LineCoverage } from './lines';

/**
 * Patch coverage: of the lines a change added or modified (sent by the CLI, computed with
 * `git diff --unified=0` against the merge base), how many the coverage report covers. Only
 * lines the coverage tool instruments count (blank lines and comments are not coverable).
 */

/** At most this many uncovered line numbers per file and files in an answer. */
const MAX_UNCOVERED_PER_FILE = 1000;
const MAX_FILES = 500;

/** The changed lines as the CLI sends them: repository-relative paths, inclusive ranges. */
export const changedLinesSchema = z
  .object({
    /** The merge base the diff was taken against (for messages). */
    base: z.string().max(256).optional(),
    files: z
      .array(
        z
          .object({
            path: z.string().min(1).max(1024),
            lines: z
              .array(z.tuple([z.number().int().positive(), z.number().int().positive()]))
              .max(100_000),
          })
          .strict(),
      )
      .max(20_000),
  })
  .strict();

export type ChangedLines = z.infer<typeof changedLinesSchema>;

const envelopeSchema = z.object({ report: z.string(), patch: z.unknown() }).strict();

/**
 * The body of `POST /v1/results?patch=1`: `{ "report": "<report text>", "patch": ChangedLines }`.
 * A body that is not such an envelope is a 400; a patch that does not validate only loses the
 * patch (a warning says why), never the report.
 */
export const readEnvelope = (
  text: string,
): { report: string; patch?: ChangedLines; warning?: string } => {
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
  return {
    report: envelope.data.report,
    warning: `Patch coverage not computed: the changed lines are invalid at patch.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}.`,
  };
};

export interface PatchSummary {
  coverable: number;
  covered: number;
  /** null when no changed line is coverable. */
  pct: number | null;
  files: { path: string; uncovered: number[] }[];
}

const norm = (p: string): string => p.replaceAll('\\', '/').replace(/^\.\//, '');

/**
 * The coverage entry of a repository path: the same path, else the longest one of which one
 * ends with the other at a `/` (absolute paths in the report, or a report written in a
 * subdirectory). Returns the entry and whether it was matched that way.
 */
const matcher = (cov: LineCoverage) => {
  const entries = [...cov].map(([path, lines]) => ({ path: norm(path), lines }));
  const exact = new Map(entries.map((e) => [e.path, e]));
  return (path: string) => {
    const hit = exact.get(path);
    if (hit) return { ...hit, reconciled: false };
    let best: (typeof entries)[number] | undefined;
    for (const e of entries)
      if (
        (e.path.endsWith(`/${path}`) || path.endsWith(`/${e.path}`)) &&
        (!best || e.path.length > best.path.length)
      )
        best = e;
    return best ? { ...best, reconciled: true } : undefined;
  };
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

/**
 * Counts each changed line once, walking the file's coverable lines, never the ranges' spans
 * (a patch can make them as wide as it likes): O((coverable lines + ranges) · log ranges).
 */
export const patchCoverage = (
  cov: LineCoverage,
  changed: ChangedLines,
  warnings: string[],
): PatchSummary => {
  const find = matcher(cov);
  let coverable = 0;
  let covered = 0;
  let example: string | undefined;
  const missing: string[] = [];
  const files: PatchSummary['files'] = [];
  // Changed ranges per coverage file: a file listed twice (or under two paths matched to the
  // same coverage file) is still one file whose lines count once.
  const byEntry = new Map<
    string,
    { path: string; coverage: Map<number, boolean>; ranges: [number, number][] }
  >();
  for (const f of changed.files) {
    const path = norm(f.path);
    const entry = find(path);
    if (!entry) {
      missing.push(path);
      continue;
    }
    if (entry.reconciled) example ??= `'${entry.path}' → '${path}'`;
    let file = byEntry.get(entry.path);
    if (!file) {
      file = { path, coverage: entry.lines, ranges: [] };
      byEntry.set(entry.path, file);
    }
    for (const range of f.lines) file.ranges.push(range);
  }
  for (const { path, coverage, ranges } of byEntry.values()) {
    const changedLines = mergeRanges(ranges);
    const uncovered: number[] = [];
    let fileCoverable = 0;
    for (const [n, hit] of coverage) {
      if (!inRanges(changedLines, n)) continue;
      fileCoverable++;
      if (hit) covered++;
      else uncovered.push(n);
    }
    coverable += fileCoverable;
    if (fileCoverable > 0 && files.length < MAX_FILES)
      files.push({
        path,
        uncovered: uncovered.sort((a, b) => a - b).slice(0, MAX_UNCOVERED_PER_FILE),
      });
  }
  if (example)
    warnings.push(
      `Patch coverage: coverage paths were matched to repository paths by their common ending (e.g. ${example}); check it is the same file.`,
    );
  if (missing.length > 0 && missing.length === changed.files.length && cov.size > 0)
    warnings.push(
      `Patch coverage: none of the ${changed.files.length} changed files is in the coverage report (e.g. '${missing[0]}'); are the paths from another checkout?`,
    );
  return {
    coverable,
    covered,
    pct: coverable === 0 ? null : round2((covered / coverable) * 100),
    files,
  };
};

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
        'Patch coverage not checked: no changed line is coverable.',
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
