import { invalidReport } from '../errors';
import * as z from '../zod-mini';
import { looksLikeIstanbulFinal, parseIstanbulFinal } from './istanbul-final';
import { parseShape } from './shape';
import { type CoverageMetric, istanbulMetric, type ParsedCoverage } from './types';

/**
 * Istanbul `json-summary` (coverage-summary.json): `{ total: { lines, statements, functions,
 * branches, … }, "<file path>": { … }, … }`. Only `total` is read; the per-file entries are
 * ignored. Percentages are recomputed from covered/total and truncated as Istanbul truncates its
 * own `pct` (which old versions write as the string "Unknown" when total is 0). With
 * format=istanbul, `{}` is an empty coverage-final.json (no files: not measured, with a warning).
 */

const Metric = z.object({
  total: z.number().check(z.nonnegative()),
  covered: z.number().check(z.nonnegative()),
});

const IstanbulSchema = z.object({
  total: z.object({
    lines: Metric,
    branches: Metric,
    functions: Metric,
    statements: z.optional(Metric),
  }),
});

const WHAT = 'Istanbul coverage summary';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const toMetric = (m: { total: number; covered: number }, name: string): CoverageMetric => {
  if (m.covered > m.total) {
    const path = `total.${name}`;
    throw invalidReport(
      `Invalid ${WHAT}: ${path}: covered (${m.covered}) is more than total (${m.total})`,
      { path },
    );
  }
  return istanbulMetric(m.covered, m.total);
};

export const parseIstanbul = (doc: unknown): ParsedCoverage => {
  // coverage-final.json (per file, per statement) is read by its own parser.
  if (
    isObject(doc) &&
    !('total' in doc) &&
    (Object.keys(doc).length === 0 || looksLikeIstanbulFinal(doc))
  )
    return parseIstanbulFinal(doc);
  const { total } = parseShape(IstanbulSchema, doc, WHAT);
  const parsed: ParsedCoverage = {
    kind: 'coverage',
    format: 'istanbul',
    summary: {
      lines: toMetric(total.lines, 'lines'),
      branches: toMetric(total.branches, 'branches'),
      functions: toMetric(total.functions, 'functions'),
    },
    warnings: [],
  };
  if (total.statements) parsed.summary.statements = toMetric(total.statements, 'statements');
  return parsed;
};
