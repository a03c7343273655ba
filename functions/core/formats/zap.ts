import { invalidReport } from '../errors';
import {
  cleanText,
  cweIds,
  type Finding,
  fingerprintOf,
  htmlToText,
  MAX_FINDINGS,
  severityOfZapRisk,
  summarize,
  TEXT_MAX,
} from '../security/model';
import type { ParsedSecurity } from './types';

/**
 * OWASP ZAP's traditional JSON report (`-J report.json`, the baseline/full-scan actions'
 * `report_json.json`): `site[] → alerts[] → instances[]`. Each instance is a finding (ZAP's
 * own `count` per alert), with the alert's `riskcode` (3 high, 2 medium, 1 low, 0 info),
 * `confidence` (0 false positive … 4 user confirmed), `pluginid` as the rule, CWE id and the
 * instance's URL, method and parameter. Descriptions are HTML in the report: they become
 * plain text here. Fingerprint: plugin id + method + URL + parameter (no line to shift).
 */

const TOOL = 'ZAP';
const CONFIDENCE: Record<string, string> = {
  '0': 'false positive',
  '1': 'low',
  '2': 'medium',
  '3': 'high',
  '4': 'user confirmed',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export const parseZap = (doc: unknown): ParsedSecurity => {
  if (!isObj(doc) || !Array.isArray(doc.site))
    throw invalidReport('A ZAP JSON report is an object with a "site" array.', { path: 'site' });
  const findings: Finding[] = [];
  let countMismatch = 0;
  doc.site.forEach((rawSite, s) => {
    const site = isObj(rawSite) ? rawSite : {};
    arr(site.alerts).forEach((rawAlert, a) => {
      const alert = isObj(rawAlert) ? rawAlert : {};
      const where = `site[${s}].alerts[${a}]`;
      const severity = severityOfZapRisk(alert.riskcode);
      if (!severity)
        throw invalidReport(
          `${where}.riskcode must be 0, 1, 2 or 3, not ${JSON.stringify(alert.riskcode ?? null).slice(0, 20)}.`,
          { path: `${where}.riskcode` },
        );
      const ruleId =
        cleanText(String(alert.pluginid ?? alert.alertRef ?? ''), TEXT_MAX.id) || '(no plugin id)';
      const ruleName = cleanText(alert.name ?? alert.alert, TEXT_MAX.name);
      const message = htmlToText(alert.desc, TEXT_MAX.message) || ruleName;
      const confidence = CONFIDENCE[String(alert.confidence)];
      const cwe = cweIds([alert.cweid].filter((c) => c !== '-1' && c !== -1));
      const instances = arr(alert.instances);
      if (findings.length + instances.length > MAX_FINDINGS)
        throw invalidReport(
          `The ZAP report has more than ${MAX_FINDINGS} alert instances: split the scan before sending.`,
          { path: `${where}.instances` },
        );
      const count = Number(alert.count);
      if (Number.isFinite(count) && count !== instances.length) countMismatch++;
      for (const rawInstance of instances) {
        const inst = isObj(rawInstance) ? rawInstance : {};
        const url = cleanText(inst.uri, TEXT_MAX.location);
        const method = cleanText(inst.method, 16);
        const param = cleanText(inst.param, TEXT_MAX.id);
        findings.push({
          tool: TOOL,
          ruleId,
          ...(ruleName ? { ruleName } : {}),
          severity,
          ...(confidence ? { confidence } : {}),
          message,
          location: {
            ...(url ? { url } : {}),
            ...(method ? { method } : {}),
            ...(param ? { param } : {}),
          },
          cwe,
          fingerprint: fingerprintOf(TOOL, [ruleId, method, url, param]),
        });
      }
    });
  });
  const warnings =
    countMismatch > 0
      ? [`${countMismatch} alert(s) list a different number of instances than their "count".`]
      : [];
  return { kind: 'security', format: 'zap', summary: summarize(findings), findings, warnings };
};
