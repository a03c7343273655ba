import { invalidReport } from '../errors';
import { istanbulMetric, type ParsedCoverage } from './types';

/**
 * Istanbul `coverage-final.json` (nyc, Jest/Vitest `json` reporter): one entry per file with
 * `statementMap`/`s`, `fnMap`/`f`, `branchMap`/`b`. Statements, functions and branches are
 * counted from the hit maps; lines as istanbul-lib-coverage does (a statement's start line,
 * covered when any statement starting there ran). An empty document (`{}`, written when no
 * source file was instrumented) is 0 files: nothing measured, with a warning.
 */

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Does this JSON object look like coverage-final.json (first entry has statementMap and s)? */
export const looksLikeIstanbulFinal = (doc: Record<string, unknown>): boolean => {
  const first = Object.values(doc)[0];
  return isObject(first) && isObject(first.statementMap) && isObject(first.s);
};

/**
 * Line → covered for one file entry: a statement's start line, covered when any statement
 * starting there ran (istanbul-lib-coverage's `getLineCoverage`).
 */
export const istanbulLineHits = (entry: Record<string, unknown>): Map<number, boolean> => {
  const byLine = new Map<number, boolean>();
  const s = isObject(entry.s) ? entry.s : {};
  for (const [id, loc] of Object.entries(isObject(entry.statementMap) ? entry.statementMap : {})) {
    const line = isObject(loc) && isObject(loc.start) ? loc.start.line : undefined;
    if (typeof line !== 'number') continue;
    const count = s[id];
    byLine.set(line, (typeof count === 'number' && count > 0) || byLine.get(line) === true);
  }
  return byLine;
};

const hits = (v: unknown): number[] =>
  isObject(v) ? Object.values(v).map((x) => (typeof x === 'number' ? x : 0)) : [];

export const parseIstanbulFinal = (doc: Record<string, unknown>): ParsedCoverage => {
  let statements = 0;
  let statementsHit = 0;
  let functions = 0;
  let functionsHit = 0;
  let branches = 0;
  let branchesHit = 0;
  let lines = 0;
  let linesHit = 0;
  let files = 0;
  for (const [key, entry] of Object.entries(doc)) {
    if (!isObject(entry) || !isObject(entry.statementMap) || !isObject(entry.s))
      throw invalidReport(
        `Invalid Istanbul coverage-final.json: "${key.slice(0, 200)}" has no statementMap and s.`,
        { path: key.slice(0, 200) },
      );
    files++;
    const s = hits(entry.s);
    statements += s.length;
    statementsHit += s.filter((n) => n > 0).length;
    const f = hits(entry.f);
    functions += f.length;
    functionsHit += f.filter((n) => n > 0).length;
    if (isObject(entry.b))
      for (const arms of Object.values(entry.b))
        if (Array.isArray(arms))
          for (const n of arms) {
            branches++;
            if (typeof n === 'number' && n > 0) branchesHit++;
          }
    const byLine = istanbulLineHits(entry);
    lines += byLine.size;
    for (const hit of byLine.values()) if (hit) linesHit++;
  }
  const none = 'not measured: coverage-final.json is `{}` (no source file was instrumented)';
  return {
    kind: 'coverage',
    format: 'istanbul',
    dialect: 'coverage-final',
    summary: {
      lines: istanbulMetric(linesHit, lines, files === 0 ? none : undefined),
      branches: istanbulMetric(branchesHit, branches, files === 0 ? none : undefined),
      functions: istanbulMetric(functionsHit, functions, files === 0 ? none : undefined),
      statements: istanbulMetric(statementsHit, statements, files === 0 ? none : undefined),
    },
    // Vitest and Jest write `{}` when no source file matched the coverage include patterns.
    warnings:
      files === 0
        ? [
            'coverage-final.json has no files (`{}`): no source file was instrumented, so nothing was measured. Check the coverage include/exclude settings.',
          ]
        : [],
  };
};
