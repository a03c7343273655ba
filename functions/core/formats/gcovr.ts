import { invalidReport } from '../errors';
import * as z from '../zod-mini';
import { parseShape } from './shape';
import { type CoverageMetric, coverageMetric, type ParsedCoverage } from './types';

/**
 * gcovr JSON summary (`gcovr --json-summary`): root `line_total`/`line_covered`,
 * `branch_total`/`branch_covered` and (gcovr 5+) `function_total`/`function_covered`; the
 * per-file `files[]` are ignored. The counts are read, not the `*_percent` (rounded to 1
 * decimal). A metric with no counts, or 0 of 0, is not measured. gcovr's own summary
 * (`--print-summary`) prints the same counts: `lines: 83.3% (5 out of 6)`.
 */

const WHAT = 'gcovr JSON summary';

const count = z.int().check(z.nonnegative());
const Summary = z.object({
  line_total: count,
  line_covered: count,
  branch_total: z.optional(count),
  branch_covered: z.optional(count),
  function_total: z.optional(count),
  function_covered: z.optional(count),
});

const metric = (
  covered: number | undefined,
  total: number | undefined,
  name: string,
): CoverageMetric => {
  if (covered === undefined || total === undefined)
    return coverageMetric(0, 0, `not measured: the summary has no ${name}_total/${name}_covered`);
  if (covered > total) {
    const path = `${name}_covered`;
    throw invalidReport(
      `Invalid ${WHAT}: ${path}: covered (${covered}) is more than ${name}_total (${total})`,
      { path },
    );
  }
  return coverageMetric(covered, total, `nothing to measure: ${name}_total is 0`);
};

export const parseGcovr = (doc: unknown): ParsedCoverage => {
  // gcovr --json (per-file details, `gcovr/format_version`) has no totals to read.
  if (
    typeof doc === 'object' &&
    doc !== null &&
    'gcovr/format_version' in doc &&
    !('line_total' in doc)
  )
    throw invalidReport(
      `Not a ${WHAT}: this is gcovr's detailed JSON (gcovr --json, "gcovr/format_version"), which has no totals. Post the output of gcovr --json-summary (or --cobertura / --sonarqube) instead.`,
      { path: 'gcovr/format_version' },
    );
  const s = parseShape(Summary, doc, WHAT);
  return {
    kind: 'coverage',
    format: 'gcovr',
    summary: {
      lines: metric(s.line_covered, s.line_total, 'line'),
      branches: metric(s.branch_covered, s.branch_total, 'branch'),
      functions: metric(s.function_covered, s.function_total, 'function'),
    },
    warnings: [],
  };
};
