import type { Gate } from '../events';
import type { FormatId, ParsedReport } from '../formats/types';
import { gateStatus } from '../gates/gate';
import { lineCoverage } from './lines';
import {
  type ChangedLines,
  type PatchSummary,
  patchCheck,
  patchDetail,
  readEnvelope,
} from './patch';

/** The ingest's patch-coverage steps (see patch.ts): unwrap, compute, gate. */

/** Why a coverage format without line data in `lineCoverage` cannot give patch coverage. */
const NO_LINES: Partial<Record<FormatId, string>> = {
  istanbul: 'this coverage report has no per-line data (Istanbul coverage-summary.json)',
  gcovr: 'this coverage report has no per-line data (gcovr JSON summary)',
};

export interface Unwrapped {
  /** The report itself (what is parsed and archived). */
  text: string;
  changed?: ChangedLines;
  /** Why the changed lines were dropped (invalid), for the gate check. */
  invalid?: string;
  warnings: string[];
}

/** `?patch=1`: the body is an envelope holding the report and the changed lines. */
export const unwrapPatch = (
  query: Readonly<Record<string, string | undefined>>,
  text: string,
): Unwrapped => {
  if (query.patch !== '1') return { text, warnings: [] };
  const { report, patch, warning, why } = readEnvelope(text);
  return {
    text: report,
    ...(patch ? { changed: patch } : {}),
    ...(why ? { invalid: why } : {}),
    warnings: warning ? [warning] : [],
  };
};

export interface PatchResult {
  patch?: PatchSummary;
  /** Why there is no patch coverage, or none of it counts (for the gate check). */
  why?: string;
}

export const computePatch = (
  report: ParsedReport,
  text: string,
  unwrapped: Unwrapped,
): PatchResult => {
  if (!unwrapped.changed) return unwrapped.invalid ? { why: unwrapped.invalid } : {};
  if (report.kind !== 'coverage') {
    unwrapped.warnings.push(
      `Changed lines ignored: patch coverage needs a coverage report, not ${report.kind}.`,
    );
    return {};
  }
  let lines: ReturnType<typeof lineCoverage>;
  try {
    lines = lineCoverage(text, report.format);
  } catch (error) {
    // The report itself was read: only its patch coverage is given up.
    const why = (error as Error).message;
    unwrapped.warnings.push(`Patch coverage not computed: ${why}.`);
    return { why };
  }
  if (!lines) {
    const why = `${NO_LINES[report.format] ?? `patch coverage does not read ${report.format} reports yet`}; send LCOV, Cobertura, Clover, JaCoCo, a Go cover profile, SonarQube generic coverage or coverage-final.json`;
    unwrapped.warnings.push(`Patch coverage not computed: ${why}.`);
    return { why };
  }
  const { summary, skipWhy } = patchDetail(lines, unwrapped.changed, unwrapped.warnings);
  return { patch: summary, ...(skipWhy ? { why: skipWhy } : {}) };
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
