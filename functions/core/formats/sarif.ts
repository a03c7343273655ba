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
 * (SARIF §3.27.9) and are only counted in a warning, as are results whose `baselineState` is
 * `absent` (gone). Rule: `ruleId`, else `rule.id`, else the id of the rule at `ruleIndex`; the
 * rule's descriptor is found by `ruleResolver` (index, id, `R1/sub` → `R1`, tool extensions).
 * A failed invocation or an error-level tool notification sets `toolErrors` (the gate fails).
 * Severity: `properties.security-severity` of the result or its rule (a CVSS-like
 * score), else `level` of the result, else a `ruleConfigurationOverrides` level, else the
 * rule's `defaultConfiguration.level`, else
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

/** A non-negative integer index, else undefined (SARIF uses -1 for "absent"). */
const indexOf = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

/** Does rule `id` describe result rule `ruleId`? `R1/sub` is a sub-rule of `R1` (§3.27.5). */
const describes = (id: unknown, ruleId: string | undefined): boolean =>
  ruleId === undefined ||
  id === undefined ||
  id === ruleId ||
  (typeof id === 'string' && ruleId.startsWith(`${id}/`));

/**
 * The tool components of a run and how a reportingDescriptorReference (a result's `rule`, an
 * override's `descriptor`) resolves to one of their rules: the component is
 * `toolComponent` (index into `tool.extensions`, else `guid` or `name`), the driver when absent
 * (§3.52.7, §3.54); the rule is the one at `index` when its id matches, else the rule with that
 * id in the component, else in any component, else (hierarchical `R1/sub`) the rule `R1`.
 */
const ruleResolver = (run: Obj) => {
  const tool = obj(run.tool);
  const driver = obj(tool.driver);
  const extensions = listOf(tool.extensions).map(obj);
  const all = [driver, ...extensions];
  const componentOf = (ref: unknown): Obj | undefined => {
    if (ref === undefined) return driver;
    const r = obj(ref);
    const i = indexOf(r.index);
    if (i !== undefined) return extensions[i];
    const guid = str(r.guid);
    const name = str(r.name);
    return all.find(
      (c) =>
        (guid !== undefined && c.guid === guid) ||
        (guid === undefined && name !== undefined && c.name === name),
    );
  };
  const byId = (components: Obj[], id: string): Obj | undefined => {
    for (const c of components) {
      const found = listOf(c.rules).find((x) => obj(x).id === id);
      if (found !== undefined) return obj(found);
    }
    return undefined;
  };
  return (ref: Obj, index: number | undefined, ruleId: string | undefined): Obj => {
    const component = componentOf(ref.toolComponent);
    const at = index === undefined || !component ? undefined : listOf(component.rules)[index];
    if (isRecord(at) && describes(at.id, ruleId)) return at;
    if (ruleId === undefined) return {};
    const order = component ? [component, ...all.filter((c) => c !== component)] : all;
    for (let id = ruleId; ; ) {
      const found = byId(order, id);
      if (found) return found;
      const cut = id.lastIndexOf('/');
      if (cut <= 0) return {};
      id = id.slice(0, cut);
    }
  };
};

const notificationText = (n: Obj): string =>
  cleanText(str(obj(n.message).text) ?? str(obj(n.message).markdown), TEXT_MAX.message) ||
  cleanText(str(obj(n.descriptor).id), TEXT_MAX.id) ||
  'no message';

/**
 * Why a run did not complete: an invocation with `executionSuccessful: false` (§3.20.14) or an
 * `error`-level tool execution or configuration notification (§3.20.21, §3.20.22, §3.58.6).
 */
const runErrors = (run: Obj): string[] => {
  const errors: string[] = [];
  for (const rawInv of listOf(run.invocations)) {
    const inv = obj(rawInv);
    const notes = [
      ...listOf(inv.toolExecutionNotifications),
      ...listOf(inv.toolConfigurationNotifications),
    ]
      .map(obj)
      .filter((n) => n.level === 'error')
      .map(notificationText);
    errors.push(...notes);
    if (inv.executionSuccessful === false && notes.length === 0)
      errors.push('executionSuccessful is false');
  }
  return errors;
};

/** Rule → level set by `invocations[].ruleConfigurationOverrides` (§3.20.5, §3.51). */
const overridesOf = (run: Obj, resolve: ReturnType<typeof ruleResolver>): Map<Obj, unknown> => {
  const levels = new Map<Obj, unknown>();
  for (const rawInv of listOf(run.invocations))
    for (const rawOverride of listOf(obj(rawInv).ruleConfigurationOverrides)) {
      const o = obj(rawOverride);
      const level = obj(o.configuration).level;
      if (level === undefined) continue;
      const d = obj(o.descriptor);
      const rule = resolve(d, indexOf(d.index), str(d.id));
      if (Object.keys(rule).length > 0) levels.set(rule, level);
    }
  return levels;
};

/** Most tool errors named in a warning. */
const ERRORS_SHOWN = 3;

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
  /** Results whose `baselineState` is `absent`: gone from the code, so not findings. */
  let absent = 0;
  const toolErrors: string[] = [];
  doc.runs.forEach((rawRun, r) => {
    const run = obj(rawRun);
    const driver = obj(obj(run.tool).driver);
    const tool = cleanText(driver.name, TEXT_MAX.name) || 'unknown tool';
    const resolve = ruleResolver(run);
    const overrides = overridesOf(run, resolve);
    for (const e of runErrors(run)) toolErrors.push(`${tool}: ${e}`);
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
      if (result.baselineState === 'absent') {
        absent++;
        continue;
      }
      const ref = obj(result.rule);
      const givenId = str(result.ruleId) ?? str(ref.id);
      const rule = resolve(ref, indexOf(result.ruleIndex) ?? indexOf(ref.index), givenId);
      const ruleId = cleanText(givenId ?? str(rule.id) ?? '(no rule)', TEXT_MAX.id);
      const resultProps = obj(result.properties);
      const ruleProps = obj(rule.properties);
      const severity =
        severityOfScore(resultProps['security-severity']) ??
        severityOfScore(ruleProps['security-severity']) ??
        severityOfLevel(
          result.level ?? overrides.get(rule) ?? obj(rule.defaultConfiguration).level,
        );
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
  if (absent > 0)
    warnings.push(
      `${absent} result(s) not counted as findings: their baselineState is "absent" (no longer found).`,
    );
  if (toolErrors.length > 0) {
    const more = toolErrors.length - ERRORS_SHOWN;
    warnings.push(
      `The scan did not complete: ${toolErrors.slice(0, ERRORS_SHOWN).join('; ')}${more > 0 ? `; and ${more} more` : ''}.`,
    );
  }
  if (droppedLines > 0)
    warnings.push(
      `${droppedLines} result(s) had a region start line that is not a line number (kept without a line).`,
    );
  return {
    kind: 'security',
    format: 'sarif',
    summary: summarize(findings),
    findings,
    warnings,
    ...(toolErrors.length > 0 ? { toolErrors: toolErrors.slice(0, 20) } : {}),
  };
};
