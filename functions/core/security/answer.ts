import { DETAIL_TYPES, MAX_FINDINGS_IN_EVENT, SOURCES } from '../event-names';
import type { EventMetadata, FindingRef, Gate, VigilEvent } from '../events';
import type { SecurityAnalysis } from './analysis';
import { type Finding, locationText } from './model';

/**
 * What ingest tells CI about a security report (the new findings, what was fixed, every
 * suppression used or expired) and the small bus event (counts and the first new findings;
 * the rest are in the normalized archive).
 */

export interface SecurityAnswer {
  minSeverity: string;
  newOnly: boolean;
  /** Per tool: the base run compared with, or why there is none. */
  bases: { tool: string; baseRunId?: string; baseAt?: string; note?: string }[];
  /** The first new findings, most severe first, then `newTotal`. */
  newFindings: (FindingRef & { message: string })[];
  newTotal: number;
  /**
   * Open findings missing from a partial base run (it kept only its first fingerprints): not
   * counted as new. Present only when there are some.
   */
  unknownTotal?: number;
  /** Fingerprints of base findings no longer reported (first ones), then `fixedTotal`. */
  fixed: { tool: string; fingerprint: string }[];
  fixedTotal: number;
  /** Every suppression used: the finding and the entry (or the report) that suppressed it. */
  suppressed: (FindingRef & { owner?: string; reason: string; expires?: string })[];
  suppressedTotal: number;
  /** Suppressions that matched findings but expired (they no longer suppress). */
  expired: {
    rule?: string;
    path?: string;
    url?: string;
    package?: string;
    tool?: string;
    owner: string;
    reason: string;
    expires: string;
    findings: number;
  }[];
}

export const findingRef = (f: Finding): FindingRef => ({
  tool: f.tool,
  ruleId: f.ruleId,
  ...(f.ruleName ? { ruleName: f.ruleName } : {}),
  severity: f.severity,
  location: locationText(f.location),
  fingerprint: f.fingerprint,
});

export const securityAnswer = (a: SecurityAnalysis): SecurityAnswer => ({
  minSeverity: a.minSeverity,
  newOnly: a.newOnly,
  bases: [...a.bases].map(([tool, base]) =>
    base
      ? {
          tool,
          baseRunId: base.runId,
          baseAt: base.ingestedAt,
          ...(base.complete
            ? {}
            : {
                note: `the base run kept ${base.fingerprints.size} of its ${base.findings} fingerprints: findings not among them are unknown, not new`,
              }),
        }
      : { tool, note: a.noHistory ?? 'no base run of this tool yet' },
  ),
  newFindings: a.newFindings
    .slice(0, MAX_FINDINGS_IN_EVENT)
    .map((f) => ({ ...findingRef(f), message: f.message })),
  newTotal: a.newFindings.length,
  ...(a.unknown.length > 0 ? { unknownTotal: a.unknown.length } : {}),
  fixed: a.fixed.slice(0, MAX_FINDINGS_IN_EVENT),
  fixedTotal: a.fixed.length,
  suppressed: a.suppressed.slice(0, MAX_FINDINGS_IN_EVENT).map(({ finding, by }) => ({
    ...findingRef(finding),
    ...(by === 'report'
      ? { reason: String(finding.suppressedInReport) }
      : { owner: by.owner, reason: by.reason, expires: by.expires }),
  })),
  suppressedTotal: a.suppressed.length,
  expired: a.expired.map(({ entry, findings }) => ({ ...entry, findings })),
});

export const securityEvent = (
  a: SecurityAnalysis,
  metadata: EventMetadata,
  gate: Gate,
): VigilEvent => ({
  source: SOURCES.ingest,
  detailType: DETAIL_TYPES.security,
  detail: {
    metadata,
    summary: { ...a.summary, tools: a.summary.tools.slice(0, MAX_FINDINGS_IN_EVENT) },
    gate,
    newFindings: a.newFindings.slice(0, MAX_FINDINGS_IN_EVENT).map(findingRef),
    newFindingsTruncated: a.newFindings.length > MAX_FINDINGS_IN_EVENT,
  },
});
