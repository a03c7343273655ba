import { invalidReport } from '../errors';
import {
  cleanText,
  cweIds,
  disambiguate,
  type Finding,
  type FindingLocation,
  fingerprintOf,
  MAX_FINDINGS,
  severityOfLevel,
  severityOfScore,
  summarize,
  TEXT_MAX,
} from '../security/model';
import { isRecord, listOf } from './shape';
import type { ParsedSecurity } from './types';

/**
 * SARIF 2.1.0 (CodeQL, Semgrep, Trivy, Grype, OSV-Scanner, ESLint's SARIF formatter, ZAP...):
 * every result of every run whose `kind` is `fail` (or absent: the default) is a finding; the
 * other kinds (`pass`, `notApplicable`, `review`, `open`, `informational`) are not problems
 * (SARIF §3.27.9) and are only counted in a warning. Rule: `ruleId`, else `rule.id`, else the rule at
 * `ruleIndex`. Severity: `properties.security-severity` of the result or its rule (a CVSS-like
 * score), else `level` of the result, else the rule's `defaultConfiguration.level`, else
 * `warning`. Location: the first physical location's `artifactLocation.uri` and
 * `region.startLine`. Fingerprint: the result's `fingerprints`, else its `partialFingerprints`
 * (CodeQL's `primaryLocationLineHash` hashes the line's content, not its number), else
 * rule + file + the code snippet or message + occurrence (see docs/security.md).
 * Results with `suppressions` (not `rejected`) are findings suppressed in the report.
 */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (isRecord(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Lines past this are not believable (an absurd region): the line is dropped. */
const MAX_LINE = 10_000_000;

const lineOf = (region: Obj): number | undefined => {
  const n = region.startLine;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= MAX_LINE
    ? n
    : undefined;
};

const fileOf = (uri: string | undefined): string | undefined =>
  uri === undefined ? undefined : cleanText(uri.replace(/^file:\/\//, ''), TEXT_MAX.location);

/** `{a: x, b: y}` → `a=x\0b=y`, keys sorted, strings only. */
const fingerprintText = (fps: Obj): string | undefined => {
  const parts = Object.keys(fps)
    .sort()
    .filter((k) => typeof fps[k] === 'string')
    .map((k) => `${k}=${fps[k] as string}`);
  return parts.length > 0 ? parts.join('\0') : undefined;
};

const suppressionOf = (result: Obj): string | undefined => {
  const list = listOf(result.suppressions).filter(isRecord);
  const used = list.find((s) => s.status === undefined || s.status === 'accepted');
  if (!used) return undefined;
  const kind = str(used.kind) ?? 'external';
  const why = cleanText(str(used.justification), TEXT_MAX.message);
  return `suppressed in the report (${kind}${why ? `: ${why}` : ''})`;
};

export const parseSarif = (doc: unknown): ParsedSecurity => {
  if (!isRecord(doc))
    throw invalidReport('A SARIF log is a JSON object with "version" and "runs".');
  if (doc.version !== '2.1.0')
    throw invalidReport(
      `SARIF version ${JSON.stringify(doc.version ?? null).slice(0, 40)} is not supported: Vigil reads SARIF 2.1.0 (the version CodeQL, Semgrep, Trivy and ESLint write).`,
      { path: 'version' },
    );
  if (!Array.isArray(doc.runs))
    throw invalidReport('The SARIF log has no "runs" array.', { path: 'runs' });
  const warnings: string[] = [];
  const findings: Finding[] = [];
  let droppedLines = 0;
  /** Results whose `kind` is not `fail`, by kind: not problems, so not findings. */
  const notProblems = new Map<string, number>();
  doc.runs.forEach((rawRun, r) => {
    const run = obj(rawRun);
    const driver = obj(obj(run.tool).driver);
    const tool = cleanText(driver.name, TEXT_MAX.name) || 'unknown tool';
    const rules = listOf(driver.rules);
    if (run.results !== undefined && !Array.isArray(run.results))
      throw invalidReport(`runs[${r}].results is not an array.`, { path: `runs[${r}].results` });
    const results = listOf(run.results);
    if (findings.length + results.length > MAX_FINDINGS)
      throw invalidReport(
        `The SARIF log has more than ${MAX_FINDINGS} results: split the scan or filter it (e.g. by severity) before sending.`,
        { path: `runs[${r}].results` },
      );
    const inRun: Finding[] = [];
    for (const rawResult of results) {
      const result = obj(rawResult);
      if (result.kind !== undefined && result.kind !== 'fail') {
        const kind = typeof result.kind === 'string' ? cleanText(result.kind, 40) : 'invalid';
        notProblems.set(kind, (notProblems.get(kind) ?? 0) + 1);
        continue;
      }
      const ref = obj(result.rule);
      const index = typeof result.ruleIndex === 'number' ? result.ruleIndex : ref.index;
      const byIndex = typeof index === 'number' ? obj(rules[index]) : {};
      const ruleId = cleanText(
        str(result.ruleId) ?? str(ref.id) ?? str(byIndex.id) ?? '(no rule)',
        TEXT_MAX.id,
      );
      const rule =
        str(byIndex.id) === ruleId || byIndex.id === undefined
          ? byIndex
          : obj(rules.find((x) => obj(x).id === ruleId));
      const resultProps = obj(result.properties);
      const ruleProps = obj(rule.properties);
      const severity =
        severityOfScore(resultProps['security-severity']) ??
        severityOfScore(ruleProps['security-severity']) ??
        severityOfLevel(result.level ?? obj(rule.defaultConfiguration).level);
      const physical = obj(obj(listOf(result.locations)[0]).physicalLocation);
      const region = obj(physical.region);
      const file = fileOf(str(obj(physical.artifactLocation).uri));
      const line = lineOf(region);
      if (region.startLine !== undefined && line === undefined) droppedLines++;
      const location: FindingLocation = {
        ...(file ? { file } : {}),
        ...(line ? { line } : {}),
      };
      const message = obj(result.message);
      const text =
        cleanText(str(message.text) ?? str(message.markdown), TEXT_MAX.message) ||
        cleanText(obj(rule.shortDescription).text, TEXT_MAX.message);
      const own =
        fingerprintText(obj(result.fingerprints)) ??
        fingerprintText(obj(result.partialFingerprints));
      const snippet = cleanText(obj(region.snippet).text, 2000);
      const ruleName = cleanText(
        str(rule.name) ?? str(obj(rule.shortDescription).text),
        TEXT_MAX.name,
      );
      const confidence = str(ruleProps.precision) ?? str(resultProps.confidence);
      const suppressed = suppressionOf(result);
      inRun.push({
        tool,
        ruleId,
        ...(ruleName ? { ruleName } : {}),
        severity,
        ...(confidence ? { confidence: cleanText(confidence, 40) } : {}),
        message: text,
        location,
        cwe: cweIds([
          ...listOf(ruleProps.tags),
          ...listOf(resultProps.tags),
          ...listOf(ruleProps.cwe),
        ]),
        fingerprint: own
          ? fingerprintOf(tool, [ruleId, own])
          : fingerprintOf(tool, [ruleId, file, snippet || text]),
        ...(suppressed ? { suppressedInReport: suppressed } : {}),
      });
    }
    findings.push(...disambiguate(inRun));
  });
  if (notProblems.size > 0) {
    const kinds = [...notProblems].map(([kind, n]) => `${kind} ${n}`).join(', ');
    const total = [...notProblems.values()].reduce((a, b) => a + b, 0);
    warnings.push(
      `${total} result(s) not counted as findings: their kind is not "fail" (${kinds}), so they are not problems.`,
    );
  }
  if (droppedLines > 0)
    warnings.push(
      `${droppedLines} result(s) had a region start line that is not a line number (kept without a line).`,
    );
  return { kind: 'security', format: 'sarif', summary: summarize(findings), findings, warnings };
};
