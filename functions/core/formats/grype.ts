import { invalidReport } from '../errors';
import {
  cleanText,
  disambiguate,
  type Finding,
  fingerprintOf,
  MAX_FINDINGS,
  severityOfGrype,
  summarize,
  TEXT_MAX,
} from '../security/model';
import { isRecord, listOf } from './shape';
import type { ParsedSecurity } from './types';

/**
 * Grype's own JSON (`grype <target> -o json`): every entry of `matches[]` is a finding, and
 * every entry of `ignoredMatches[]` (ignored by a rule in `.grype.yaml`) a finding suppressed in
 * the report. Rule: `vulnerability.id`; severity: Grype's; location: the artifact's name and
 * version, with where it was found (its first location, else the scanned source) in the
 * message. Fingerprint: vulnerability id + package + version + that place.
 */

const TOOL = 'Grype';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (isRecord(v) ? v : {});

/** The scanned source: a directory path, or an image's `userInput`. */
const sourceTarget = (source: Obj): unknown =>
  typeof source.target === 'string' ? source.target : obj(source.target).userInput;

const ignoredBy = (match: Obj): string => {
  const rule = obj(listOf(match.appliedIgnoreRules)[0]);
  const why = cleanText(rule.reason, TEXT_MAX.message);
  return `ignored by a Grype rule${why ? `: ${why}` : ''}`;
};

export const parseGrype = (doc: unknown): ParsedSecurity => {
  if (!isRecord(doc) || !Array.isArray(doc.matches))
    throw invalidReport('A Grype JSON report is an object with a "matches" array.', {
      path: 'matches',
    });
  const ignored = listOf(doc.ignoredMatches);
  if (doc.matches.length + ignored.length > MAX_FINDINGS)
    throw invalidReport(
      `The Grype report has more than ${MAX_FINDINGS} matches: split the scan or filter it (--fail-on, --only-fixed) before sending.`,
      { path: 'matches' },
    );
  const scanned = cleanText(sourceTarget(obj(doc.source)), TEXT_MAX.location);
  const finding = (raw: unknown, where: string, suppressed: boolean): Finding => {
    const match = obj(raw);
    const vuln = obj(match.vulnerability);
    const severity = severityOfGrype(vuln.severity);
    if (!severity)
      throw invalidReport(
        `${where}.vulnerability.severity must be Critical, High, Medium, Low, Negligible or Unknown.`,
        { path: `${where}.vulnerability.severity` },
      );
    const artifact = obj(match.artifact);
    const ruleId = cleanText(vuln.id, TEXT_MAX.id) || '(no vulnerability id)';
    const pkg = cleanText(artifact.name, TEXT_MAX.id);
    const version = cleanText(artifact.version, TEXT_MAX.id);
    const place = cleanText(obj(listOf(artifact.locations)[0]).path, TEXT_MAX.location) || scanned;
    const fix = obj(vuln.fix);
    const fixedIn = listOf(fix.versions)
      .filter((x): x is string => typeof x === 'string')
      .slice(0, 5)
      .join(', ');
    const description = cleanText(vuln.description, TEXT_MAX.message);
    return {
      tool: TOOL,
      ruleId,
      severity,
      message: cleanText(
        `${description || `${ruleId} in ${pkg || 'a package'}`}; ${fixedIn ? `fixed in ${fixedIn}` : 'no fix available'}${place ? ` (${place})` : ''}`,
        TEXT_MAX.message,
      ),
      location: { ...(pkg ? { package: pkg } : {}), ...(version ? { version } : {}) },
      cwe: [],
      fingerprint: fingerprintOf(TOOL, [ruleId, pkg, version, place]),
      ...(suppressed ? { suppressedInReport: ignoredBy(match) } : {}),
    };
  };
  const findings = disambiguate([
    ...doc.matches.map((m, i) => finding(m, `matches[${i}]`, false)),
    ...ignored.map((m, i) => finding(m, `ignoredMatches[${i}]`, true)),
  ]);
  return {
    kind: 'security',
    format: 'grype',
    summary: summarize(findings),
    findings,
    warnings: [],
  };
};
