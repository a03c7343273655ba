import { invalidReport } from '../errors';
import {
  cleanText,
  cweIds,
  disambiguate,
  type Finding,
  fingerprintOf,
  MAX_FINDINGS,
  severityOfTrivy,
  summarize,
  TEXT_MAX,
} from '../security/model';
import { isRecord, listOf } from './shape';
import type { ParsedSecurity } from './types';

/**
 * Trivy's own JSON (`trivy image|fs|repo --format json`, `SchemaVersion: 2`): every entry of
 * `Results[].Vulnerabilities[]` is a finding. Rule: `VulnerabilityID`; severity: Trivy's
 * `Severity`; location: the package (`PkgName`) and its installed version, with the result's
 * `Target` (lockfile or image layer) in the message. Fingerprint: vulnerability id + package +
 * installed version + target (a line number would shift with every lockfile change).
 * Misconfigurations and secrets are not read: they are counted in a warning.
 */

const TOOL = 'Trivy';

export const parseTrivy = (doc: unknown): ParsedSecurity => {
  if (!isRecord(doc))
    throw invalidReport('A Trivy JSON report is an object with "SchemaVersion" and "Results".');
  if (doc.SchemaVersion !== 2)
    throw invalidReport(
      `Trivy JSON schema version ${JSON.stringify(doc.SchemaVersion ?? null).slice(0, 20)} is not supported: Vigil reads SchemaVersion 2 (Trivy 0.20 and later), or send --format sarif.`,
      { path: 'SchemaVersion' },
    );
  if (doc.Results !== undefined && !Array.isArray(doc.Results))
    throw invalidReport('The Trivy report\'s "Results" is not an array.', { path: 'Results' });
  const findings: Finding[] = [];
  let notRead = 0;
  listOf(doc.Results).forEach((rawResult, r) => {
    const result = isRecord(rawResult) ? rawResult : {};
    const target = cleanText(result.Target, TEXT_MAX.location);
    notRead += listOf(result.Misconfigurations).length + listOf(result.Secrets).length;
    const vulns = listOf(result.Vulnerabilities);
    if (findings.length + vulns.length > MAX_FINDINGS)
      throw invalidReport(
        `The Trivy report has more than ${MAX_FINDINGS} vulnerabilities: split the scan or filter it (--severity) before sending.`,
        { path: `Results[${r}].Vulnerabilities` },
      );
    vulns.forEach((raw, v) => {
      const vuln = isRecord(raw) ? raw : {};
      const severity = severityOfTrivy(vuln.Severity);
      if (!severity)
        throw invalidReport(
          `Results[${r}].Vulnerabilities[${v}].Severity must be CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN.`,
          { path: `Results[${r}].Vulnerabilities[${v}].Severity` },
        );
      const ruleId = cleanText(vuln.VulnerabilityID, TEXT_MAX.id) || '(no vulnerability id)';
      const pkg = cleanText(vuln.PkgName, TEXT_MAX.id);
      const installed = cleanText(vuln.InstalledVersion, TEXT_MAX.id);
      const fixed = cleanText(vuln.FixedVersion, TEXT_MAX.id);
      const title = cleanText(vuln.Title, TEXT_MAX.name);
      findings.push({
        tool: TOOL,
        ruleId,
        ...(title ? { ruleName: title } : {}),
        severity,
        message: cleanText(
          `${title || ruleId}; ${fixed ? `fixed in ${fixed}` : 'no fix available'}${target ? ` (${target})` : ''}`,
          TEXT_MAX.message,
        ),
        location: {
          ...(pkg ? { package: pkg } : {}),
          ...(installed ? { version: installed } : {}),
        },
        cwe: cweIds(listOf(vuln.CweIDs)),
        fingerprint: fingerprintOf(TOOL, [ruleId, pkg, installed, target]),
      });
    });
  });
  const warnings =
    notRead > 0
      ? [
          `${notRead} misconfiguration(s) and secret(s) in the report are not read: send Trivy's SARIF output (--format sarif) to gate on them.`,
        ]
      : [];
  return {
    kind: 'security',
    format: 'trivy',
    summary: summarize(findings),
    findings: disambiguate(findings),
    warnings,
  };
};
