import type { Gate } from '../events';
import type { ParsedReport } from '../formats/types';
import { gateStatus } from '../gates/gate';
import { lineCoverage } from './lines';
import {
  type ChangedLines,
  type PatchSummary,
  patchCheck,
  patchCoverage,
  readEnvelope,
} from './patch';

/** The ingest's patch-coverage steps (see patch.ts): unwrap, compute, gate. */

export interface Unwrapped {
  /** The report itself (what is parsed and archived). */
  text: string;
  changed?: ChangedLines;
  warnings: string[];
}

/** `?patch=1`: the body is an envelope holding the report and the changed lines. */
export const unwrapPatch = (
  query: Readonly<Record<string, string | undefined>>,
  text: string,
): Unwrapped => {
  if (query.patch !== '1') return { text, warnings: [] };
  const { report, patch, warning } = readEnvelope(text);
  return { text: report, ...(patch ? { changed: patch } : {}), warnings: warning ? [warning] : [] };
};

export interface PatchResult {
  patch?: PatchSummary;
  /** Why there is no patch coverage (for the gate check). */
  why?: string;
}

export const computePatch = (
  report: ParsedReport,
  text: string,
  unwrapped: Unwrapped,
): PatchResult => {
  if (!unwrapped.changed) return {};
  if (report.kind !== 'coverage') {
    unwrapped.warnings.push(
      `Changed lines ignored: patch coverage needs a coverage report, not ${report.kind}.`,
    );
    return {};
  }
  const lines = lineCoverage(text, report.format);
  if (!lines) {
    const why =
      'this coverage report has no per-line data (Istanbul coverage-summary.json); send LCOV, Cobertura or coverage-final.json';
    unwrapped.warnings.push(`Patch coverage not computed: ${why}.`);
    return { why };
  }
  return { patch: patchCoverage(lines, unwrapped.changed, unwrapped.warnings) };
};

/** The gate with `coverage.patch` added (coverage reports only; none without a minimum). */
export const withPatchCheck = (
  gate: Gate,
  report: ParsedReport,
  result: PatchResult,
  minPatchCoverage: number | undefined,
): Gate => {
  if (report.kind !== 'coverage') return gate;
  const extra = patchCheck(result.patch, minPatchCoverage, result.why);
  if (extra.length === 0) return gate;
  const checks = [...gate.checks, ...extra];
  return { status: gateStatus(checks), checks };
};
