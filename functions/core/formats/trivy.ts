import { invalidReport } from '../errors';
import {
  cleanText,
  cweIds,
  disambiguate,
  type Finding,
  fingerprintOf,
  MAX_FINDINGS,
  type Severity,
  severityOfTrivy,
  summarize,
  TEXT_MAX,
} from '../security/model';
import { isRecord, listOf } from './shape';
import type { ParsedSecurity } from './types';

/**
 * Trivy's own JSON (`trivy image|fs|repo|config --format json`, `SchemaVersion: 2`). Each
 * `Results[]` entry (a `Target`: lockfile, image layer, file) yields findings from:
 * - `Vulnerabilities[]`: rule `VulnerabilityID`, location the package (`PkgName`) and its
 *   installed version, the target in the message. Fingerprint: id + package + installed
 *   version + target (a line number would shift with every lockfile change).
 * - `Secrets[]`: rule `RuleID`, title `Title`, location the target file and `StartLine`.
 *   Fingerprint: rule + target + Trivy's redacted `Match` line (the secret itself is masked),
 *   so moving the line keeps the identity; the same secret twice gets an occurrence suffix.
 * - `Misconfigurations[]` with `Status` `FAIL` (`PASS` only appears with
 *   `--include-non-failures`; `EXCEPTION` is an exception the policy grants, read as suppressed
 *   in the report): rule `ID` (`DS002`; `AVDID` when there is no `ID`), location the target and
 *   `CauseMetadata.StartLine`. Fingerprint: rule + target + `CauseMetadata.Resource`, no line.
 * - `ExperimentalModifiedFindings[]` (`--show-suppressed`): findings Trivy's ignore file, VEX
 *   or `.trivyignore` removed, with `Type`, `Status` and `Statement`/`Source`: read as
 *   suppressed in the report, so the answer lists them and the gate never counts them.
 * Severity: Trivy's `Severity` (UNKNOWN is low) for all three.
 */

const TOOL = 'Trivy';

type Path = string;

const severityAt = (value: unknown, path: Path): Severity => {
  const severity = severityOfTrivy(value);
  if (!severity)
    throw invalidReport(`${path}.Severity must be CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN.`, {
      path: `${path}.Severity`,
    });
  return severity;
};

const positiveLine = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;

const vulnerability = (vuln: Record<string, unknown>, target: string, path: Path): Finding => {
  const severity = severityAt(vuln.Severity, path);
  const ruleId = cleanText(vuln.VulnerabilityID, TEXT_MAX.id) || '(no vulnerability id)';
  const pkg = cleanText(vuln.PkgName, TEXT_MAX.id);
  const installed = cleanText(vuln.InstalledVersion, TEXT_MAX.id);
  const fixed = cleanText(vuln.FixedVersion, TEXT_MAX.id);
  const title = cleanText(vuln.Title, TEXT_MAX.name);
  return {
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
  };
};

const secret = (s: Record<string, unknown>, target: string, path: Path): Finding => {
  const severity = severityAt(s.Severity, path);
  const ruleId = cleanText(s.RuleID, TEXT_MAX.id) || '(no rule id)';
  const title = cleanText(s.Title, TEXT_MAX.name);
  const category = cleanText(s.Category, TEXT_MAX.id);
  const line = positiveLine(s.StartLine);
  return {
    tool: TOOL,
    ruleId,
    ...(title ? { ruleName: title } : {}),
    severity,
    message: cleanText(
      `Secret: ${title || ruleId}${category ? ` (${category})` : ''}`,
      TEXT_MAX.message,
    ),
    location: { ...(target ? { file: target } : {}), ...(line ? { line } : {}) },
    cwe: [],
    // `Match` is the line with the secret masked by Trivy: it never carries the secret.
    fingerprint: fingerprintOf(TOOL, [
      'secret',
      ruleId,
      target,
      cleanText(s.Match, TEXT_MAX.location),
    ]),
  };
};

const misconfiguration = (m: Record<string, unknown>, target: string, path: Path): Finding => {
  const severity = severityAt(m.Severity, path);
  const ruleId = cleanText(m.ID, TEXT_MAX.id) || cleanText(m.AVDID, TEXT_MAX.id) || '(no check id)';
  const title = cleanText(m.Title, TEXT_MAX.name);
  const cause = isRecord(m.CauseMetadata) ? m.CauseMetadata : {};
  const resource = cleanText(cause.Resource, TEXT_MAX.id);
  const line = positiveLine(cause.StartLine);
  const detail = cleanText(m.Message, TEXT_MAX.message);
  return {
    tool: TOOL,
    ruleId,
    ...(title ? { ruleName: title } : {}),
    severity,
    message: cleanText(
      `${title || ruleId}${detail && detail !== title ? `: ${detail}` : ''}`,
      TEXT_MAX.message,
    ),
    location: { ...(target ? { file: target } : {}), ...(line ? { line } : {}) },
    cwe: [],
    fingerprint: fingerprintOf(TOOL, ['misconfiguration', ruleId, target, resource]),
  };
};

/** Misconfiguration statuses: FAIL is a finding, EXCEPTION a suppressed one, PASS nothing. */
const misconfStatus = (m: Record<string, unknown>): 'fail' | 'exception' | 'pass' =>
  m.Status === 'PASS' ? 'pass' : m.Status === 'EXCEPTION' ? 'exception' : 'fail';

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
  const warnings: string[] = [];
  let otherModified = 0;
  const room = (n: number, path: Path) => {
    if (findings.length + n > MAX_FINDINGS)
      throw invalidReport(
        `The Trivy report has more than ${MAX_FINDINGS} vulnerabilities, secrets and misconfigurations: split the scan or filter it (--severity) before sending.`,
        { path },
      );
  };
  listOf(doc.Results).forEach((rawResult, r) => {
    const result = isRecord(rawResult) ? rawResult : {};
    const target = cleanText(result.Target, TEXT_MAX.location);
    const at = `Results[${r}]`;
    const vulns = listOf(result.Vulnerabilities);
    const secrets = listOf(result.Secrets);
    const misconfs = listOf(result.Misconfigurations);
    const modified = listOf(result.ExperimentalModifiedFindings);
    room(vulns.length + secrets.length + misconfs.length + modified.length, `${at}`);
    vulns.forEach((raw, i) => {
      findings.push(vulnerability(isRecord(raw) ? raw : {}, target, `${at}.Vulnerabilities[${i}]`));
    });
    secrets.forEach((raw, i) => {
      findings.push(secret(isRecord(raw) ? raw : {}, target, `${at}.Secrets[${i}]`));
    });
    misconfs.forEach((raw, i) => {
      const m = isRecord(raw) ? raw : {};
      const status = misconfStatus(m);
      if (status === 'pass') return;
      const f = misconfiguration(m, target, `${at}.Misconfigurations[${i}]`);
      findings.push(
        status === 'exception' ? { ...f, suppressedInReport: 'Trivy: policy exception' } : f,
      );
    });
    modified.forEach((raw, i) => {
      const mf = isRecord(raw) ? raw : {};
      const inner = isRecord(mf.Finding) ? mf.Finding : {};
      const path = `${at}.ExperimentalModifiedFindings[${i}].Finding`;
      const read =
        mf.Type === 'vulnerability'
          ? vulnerability
          : mf.Type === 'secret'
            ? secret
            : mf.Type === 'misconfiguration'
              ? misconfiguration
              : undefined;
      if (!read) {
        otherModified++;
        return;
      }
      const why = [cleanText(mf.Status, TEXT_MAX.id), cleanText(mf.Statement, TEXT_MAX.name)]
        .filter(Boolean)
        .join(': ');
      const source = cleanText(mf.Source, TEXT_MAX.name);
      findings.push({
        ...read(inner, target, path),
        suppressedInReport: cleanText(
          `Trivy ${why || 'ignored'}${source ? ` (${source})` : ''}`,
          TEXT_MAX.message,
        ),
      });
    });
  });
  if (otherModified > 0)
    warnings.push(
      `${otherModified} suppressed finding(s) of other kinds (licenses) in ExperimentalModifiedFindings are not read.`,
    );
  return {
    kind: 'security',
    format: 'trivy',
    summary: summarize(findings),
    findings: disambiguate(findings),
    warnings,
  };
};
