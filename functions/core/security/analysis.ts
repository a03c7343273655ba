import type { SecuritySuppression } from '../config';
import type { ParsedSecurity } from '../formats/types';
import { matchesTest, quarantineEnd } from '../history/quarantine';
import type { RunRecord } from '../history/types';
import {
  atOrAbove,
  type Finding,
  type SecuritySummary,
  type Severity,
  severityRank,
} from './model';

/**
 * New versus base, and suppressions: which findings of a report are new (their fingerprint is
 * not in the latest run of the same tool on the base branch), which base findings are fixed,
 * which findings a suppression covers, and which suppressions expired. Pure: the gate, the
 * ingest answer and the event all read the same analysis.
 */

/** What the history keeps of a security run (its summary plus the fingerprints per tool). */
export interface SecurityRunSummary extends SecurityEventSummary {
  /** Fingerprints of every finding, per tool (at most `MAX_STORED_FINGERPRINTS` in all). */
  fingerprints: { tool: string; fingerprints: string[] }[];
}

/** The counts that travel on the bus and into metrics. */
export interface SecurityEventSummary extends SecuritySummary {
  /** Findings not in the base run of their tool (0 for tools without a base run). */
  new: number;
  /** Base findings no longer reported (tools with a base run only). */
  fixed: number;
  /** Findings covered by a suppression (config or the report's own). */
  suppressed: number;
}

/**
 * Fingerprints kept per run, fewer than a report may carry (`MAX_FINDINGS`, 50,000): a run is
 * one DynamoDB item (400 KB, written gzip-compressed within a 300 KB budget), and 16 hex
 * characters do not compress much: 15,000 fingerprints are ~147 KB gzipped, 50,000 ~490 KB.
 * A base run that kept fewer fingerprints of a tool than it had findings is partial: a finding
 * missing from it is `unknown` (maybe among the ones not kept), never new.
 */
export const MAX_STORED_FINGERPRINTS = 15_000;

export interface BaseRun {
  runId: string;
  ingestedAt: string;
  fingerprints: ReadonlySet<string>;
  /** The tool's findings in that run (from its summary): more than `fingerprints` when cut. */
  findings: number;
  /** Every finding of the tool in that run has its fingerprint stored. */
  complete: boolean;
}

export interface SuppressedFinding {
  finding: Finding;
  /** The config entry, or `report` for a suppression written in the report itself. */
  by: SecuritySuppression | 'report';
}

export interface ExpiredSuppression {
  entry: SecuritySuppression;
  /** Findings it would still cover. */
  findings: number;
}

export interface SecurityAnalysis {
  /**
   * Per tool of the report, and of the newest base run (a tool whose findings all went away
   * is no longer in the report): its base run, or undefined when there is none.
   */
  bases: Map<string, BaseRun | undefined>;
  /** Why no base could be consulted at all (history off or unreadable). */
  noHistory?: string;
  newFindings: Finding[];
  /**
   * Open findings missing from a partial base run (one that kept only the first
   * `MAX_STORED_FINGERPRINTS`): maybe new, maybe among those not kept. Not new, not gated
   * under `newOnly`.
   */
  unknown: Finding[];
  fixed: { tool: string; fingerprint: string }[];
  suppressed: SuppressedFinding[];
  expired: ExpiredSuppression[];
  /** Findings the gate counts: at or above the threshold, not suppressed, new unless `newOnly` is off or the tool has no base. */
  gated: Finding[];
  minSeverity: Severity;
  newOnly: boolean;
  summary: SecurityEventSummary;
}

export interface AnalysisInput {
  report: ParsedSecurity;
  /** Earlier security runs on the base branch, newest first. */
  baseline?: readonly SecurityRun[];
  noHistory?: string;
  suppressions: readonly SecuritySuppression[];
  now: Date;
  minSeverity?: Severity;
  newOnly?: boolean;
}

const matcher = (pattern: string | undefined, value: string | undefined): boolean =>
  pattern === undefined || (value !== undefined && matchesTest(pattern, value));

export const suppressionMatches = (s: SecuritySuppression, f: Finding): boolean =>
  matcher(s.rule, f.ruleId) &&
  matcher(s.path, f.location.file) &&
  matcher(s.url, f.location.url) &&
  matcher(s.package, f.location.package) &&
  matcher(s.tool, f.tool);

/** The newest base run of each tool (baseline is newest first). */
type SecurityRun = Extract<RunRecord, { kind: 'security' }>;

const basesOf = (tools: readonly string[], baseline: readonly SecurityRun[]) => {
  const bases = new Map<string, BaseRun | undefined>();
  for (const tool of tools) {
    let found: BaseRun | undefined;
    for (const r of baseline) {
      const entry = r.summary.fingerprints?.find((e) => e.tool === tool);
      if (!entry) continue;
      const fingerprints = new Set(entry.fingerprints);
      const counted = r.summary.tools.find((t) => t.name === tool)?.findings ?? 0;
      const findings = Math.max(counted, entry.fingerprints.length);
      found = {
        runId: r.runId,
        ingestedAt: r.ingestedAt,
        fingerprints,
        findings,
        complete: entry.fingerprints.length >= findings,
      };
      break;
    }
    bases.set(tool, found);
  }
  return bases;
};

const bySeverityThenOrder = (a: Finding, b: Finding): number =>
  severityRank(b.severity) - severityRank(a.severity);

export const analyseSecurity = (input: AnalysisInput): SecurityAnalysis => {
  const { report, now } = input;
  const minSeverity = input.minSeverity ?? 'high';
  const newOnly = input.newOnly ?? true;
  const baseline = input.baseline ?? [];
  // The newest base run's tools too: a tool with no findings left is absent from the report's
  // summary, and its base findings are all fixed.
  const tools = [
    ...new Set([
      ...report.summary.tools.map((t) => t.name),
      ...(baseline[0]?.summary.fingerprints ?? []).map((e) => e.tool),
    ]),
  ];
  const bases = basesOf(tools, baseline);
  const suppressed: SuppressedFinding[] = [];
  const expiredCounts = new Map<SecuritySuppression, number>();
  const open: Finding[] = [];
  for (const f of report.findings) {
    if (f.suppressedInReport) {
      suppressed.push({ finding: f, by: 'report' });
      continue;
    }
    let expired: SecuritySuppression | undefined;
    const entry = input.suppressions.find((s) => {
      if (!suppressionMatches(s, f)) return false;
      if (now.getTime() < quarantineEnd(s.expires)) return true;
      expired ??= s;
      return false;
    });
    if (entry) suppressed.push({ finding: f, by: entry });
    else {
      if (expired) expiredCounts.set(expired, (expiredCounts.get(expired) ?? 0) + 1);
      open.push(f);
    }
  }
  const current = new Set(report.findings.map((f) => f.fingerprint));
  const notInBase = (f: Finding): boolean => {
    const base = bases.get(f.tool);
    return base !== undefined && !base.fingerprints.has(f.fingerprint);
  };
  const isNew = (f: Finding): boolean => notInBase(f) && bases.get(f.tool)?.complete === true;
  const newFindings = open.filter(isNew).sort(bySeverityThenOrder);
  const unknown = open.filter((f) => notInBase(f) && !isNew(f)).sort(bySeverityThenOrder);
  const fixed: SecurityAnalysis['fixed'] = [];
  for (const [tool, base] of bases)
    for (const fp of base?.fingerprints ?? [])
      if (!current.has(fp)) fixed.push({ tool, fingerprint: fp });
  const gated = open
    .filter((f) => atOrAbove(f.severity, minSeverity))
    .filter((f) => !newOnly || bases.get(f.tool) === undefined || isNew(f))
    .sort(bySeverityThenOrder);
  return {
    bases,
    ...(input.noHistory ? { noHistory: input.noHistory } : {}),
    newFindings,
    unknown,
    fixed,
    suppressed,
    expired: [...expiredCounts].map(([entry, findings]) => ({ entry, findings })),
    gated,
    minSeverity,
    newOnly,
    summary: {
      ...report.summary,
      new: newFindings.length,
      fixed: fixed.length,
      suppressed: suppressed.length,
    },
  };
};

/** The run summary the history keeps: the event's counts plus every fingerprint per tool. */
export const securityRunSummary = (
  summary: SecurityEventSummary,
  findings: readonly Pick<Finding, 'tool' | 'fingerprint'>[],
): SecurityRunSummary => {
  const byTool = new Map<string, string[]>(summary.tools.map((t) => [t.name, []]));
  for (const f of findings.slice(0, MAX_STORED_FINGERPRINTS))
    byTool.get(f.tool)?.push(f.fingerprint);
  return {
    ...summary,
    fingerprints: [...byTool].map(([tool, fingerprints]) => ({ tool, fingerprints })),
  };
};
