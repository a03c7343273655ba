import { invalidReport } from '../errors';
import {
  cleanText,
  cweIds,
  type Finding,
  fingerprintOf,
  MAX_FINDINGS,
  severityOfNpm,
  summarize,
  TEXT_MAX,
} from '../security/model';
import { isRecord, listOf } from './shape';
import type { ParsedSecurity } from './types';

/**
 * `npm audit --json` (npm 7 and later, `auditReportVersion: 2`): one finding per vulnerable
 * package, as npm's own `metadata.vulnerabilities` counts them. Rule: the first advisory's
 * GHSA id (or `via <package>` for a package vulnerable only through a dependency); severity:
 * npm's (moderate is medium); location: the package and its affected range. Fingerprint:
 * package name + its advisories (or the packages it is vulnerable through).
 */

const TOOL = 'npm audit';

const ghsa = (url: unknown): string | undefined =>
  typeof url === 'string' ? /GHSA(?:-[0-9a-z]{4}){3}/i.exec(url)?.[0] : undefined;

export const parseNpmAudit = (doc: unknown): ParsedSecurity => {
  if (!isRecord(doc)) throw invalidReport('An npm audit report is a JSON object.');
  if (doc.auditReportVersion !== 2)
    throw invalidReport(
      `npm audit report version ${JSON.stringify(doc.auditReportVersion ?? null).slice(0, 20)} is not supported: Vigil reads auditReportVersion 2 (npm 7 and later: npm audit --json).`,
      { path: 'auditReportVersion' },
    );
  if (!isRecord(doc.vulnerabilities))
    throw invalidReport('The npm audit report has no "vulnerabilities" object.', {
      path: 'vulnerabilities',
    });
  const entries = Object.entries(doc.vulnerabilities);
  if (entries.length > MAX_FINDINGS)
    throw invalidReport(`The npm audit report lists more than ${MAX_FINDINGS} packages.`, {
      path: 'vulnerabilities',
    });
  const findings: Finding[] = entries.map(([key, raw]) => {
    const v = isRecord(raw) ? raw : {};
    const name = cleanText(typeof v.name === 'string' ? v.name : key, TEXT_MAX.id);
    const severity = severityOfNpm(v.severity);
    if (!severity)
      throw invalidReport(
        `vulnerabilities["${name}"].severity must be critical, high, moderate, low or info.`,
        { path: `vulnerabilities.${name}.severity` },
      );
    const advisories = listOf(v.via).filter(isRecord);
    const through = listOf(v.via)
      .filter((x): x is string => typeof x === 'string')
      .map((x) => cleanText(x, TEXT_MAX.id));
    const ids = advisories.map((a) => ghsa(a.url) ?? String(a.source ?? '')).filter(Boolean);
    const first = advisories[0];
    const ruleId = ids[0] ?? `via ${through.join(', ') || '(unknown)'}`;
    const title = cleanText(first?.title, TEXT_MAX.name);
    const range = cleanText(v.range, TEXT_MAX.id);
    const fix = v.fixAvailable;
    const fixText =
      fix === true
        ? 'fix available'
        : isRecord(fix)
          ? `fix: ${cleanText(fix.name, TEXT_MAX.id)}@${cleanText(fix.version, 40)}${fix.isSemVerMajor ? ' (major)' : ''}`
          : 'no fix available';
    const message = cleanText(
      `${title || `Vulnerable through ${through.join(', ')}`}${ids.length > 1 ? ` (+${ids.length - 1} more advisories)` : ''}; ${fixText}`,
      TEXT_MAX.message,
    );
    return {
      tool: TOOL,
      ruleId: cleanText(ruleId, TEXT_MAX.id),
      ...(title ? { ruleName: title } : {}),
      severity,
      message,
      location: { package: name, ...(range ? { version: range } : {}) },
      cwe: cweIds(advisories.flatMap((a) => listOf(a.cwe))),
      fingerprint: fingerprintOf(TOOL, [
        name,
        ...(ids.length > 0 ? [...ids].sort() : through.sort()),
      ]),
    };
  });
  const warnings: string[] = [];
  const meta =
    isRecord(doc.metadata) && isRecord(doc.metadata.vulnerabilities)
      ? doc.metadata.vulnerabilities
      : undefined;
  if (meta && typeof meta.total === 'number' && meta.total !== findings.length)
    warnings.push(
      `npm counted ${meta.total} vulnerable packages in metadata.vulnerabilities.total, the report lists ${findings.length}.`,
    );
  return {
    kind: 'security',
    format: 'npm-audit',
    summary: summarize(findings),
    findings,
    warnings,
  };
};
