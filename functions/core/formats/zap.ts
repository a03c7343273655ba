import { ownEntry } from '../config-access';
import { invalidReport } from '../errors';
import {
  cleanText,
  cweIds,
  disambiguate,
  type Finding,
  fingerprintOf,
  htmlToText,
  MAX_FINDINGS,
  severityOfZapRisk,
  summarize,
  TEXT_MAX,
} from '../security/model';
import { isRecord, listOf } from './shape';
import type { ParsedSecurity } from './types';
import { readXml } from './xml';

/**
 * OWASP ZAP's traditional JSON report (`-J report.json`, the baseline/full-scan actions'
 * `report_json.json`): `site[] → alerts[] → instances[]`. Each instance is a finding (ZAP's
 * own `count` per alert), with the alert's `riskcode` (3 high, 2 medium, 1 low, 0 info),
 * `confidence` (0 false positive … 4 user confirmed), `pluginid` as the rule, CWE id and the
 * instance's URL, method and parameter. Descriptions are HTML in the report: they become
 * plain text here. Fingerprint: plugin id + method + URL + parameter (no line to shift); equal
 * instances (ZAP lists one per evidence) are told apart by their order.
 *
 * The traditional XML report (`-x report.xml`, root `<OWASPZAPReport>`) carries the same fields
 * as elements (`site → alerts → alertitem → instances → instance`): it is read into the JSON
 * report's shape and goes through the same code, so both give the same findings.
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

export const parseZap = (doc: unknown): ParsedSecurity => {
  if (!isRecord(doc) || !Array.isArray(doc.site))
    throw invalidReport('A ZAP JSON report is an object with a "site" array.', { path: 'site' });
  const findings: Finding[] = [];
  let countMismatch = 0;
  doc.site.forEach((rawSite, s) => {
    const site = isRecord(rawSite) ? rawSite : {};
    listOf(site.alerts).forEach((rawAlert, a) => {
      const alert = isRecord(rawAlert) ? rawAlert : {};
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
      const confidence = ownEntry(CONFIDENCE, String(alert.confidence));
      const cwe = cweIds([alert.cweid].filter((c) => c !== '-1' && c !== -1));
      const instances = listOf(alert.instances);
      if (findings.length + instances.length > MAX_FINDINGS)
        throw invalidReport(
          `The ZAP report has more than ${MAX_FINDINGS} alert instances: split the scan before sending.`,
          { path: `${where}.instances` },
        );
      const count = Number(alert.count);
      if (Number.isFinite(count) && count !== instances.length) countMismatch++;
      for (const rawInstance of instances) {
        const inst = isRecord(rawInstance) ? rawInstance : {};
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
  return {
    kind: 'security',
    format: 'zap',
    summary: summarize(findings),
    findings: disambiguate(findings),
    warnings,
  };
};

/** `<alertitem>` and `<instance>` children read from the XML report (the rest is not used). */
const ALERT_FIELDS = new Set([
  'pluginid',
  'alertRef',
  'alert',
  'name',
  'riskcode',
  'confidence',
  'desc',
  'cweid',
  'count',
]);
const INSTANCE_FIELDS = new Set(['uri', 'method', 'param']);
/** Characters kept of one element's text: descriptions are cut to a message anyway. */
const FIELD_MAX = 8 * TEXT_MAX.message;

export const parseZapXml = (text: string): ParsedSecurity => {
  const sites: Obj[] = [];
  const doc: Obj = { site: sites };
  let site: Obj[] | undefined;
  let alert: Obj | undefined;
  let alertInstances: Obj[] | undefined;
  let instance: Obj | undefined;
  let instances = 0;
  let field: { into: Obj; name: string; depth: number; text: string } | undefined;
  readXml(
    text,
    {
      open(name, _attributes, depth) {
        if (field) return false;
        if (depth === 2 && name === 'site') {
          site = [];
          sites.push({ alerts: site });
        } else if (depth === 4 && name === 'alertitem' && site) {
          alertInstances = [];
          alert = { instances: alertInstances };
          site.push(alert);
        } else if (depth === 6 && name === 'instance' && alertInstances) {
          if (++instances > MAX_FINDINGS)
            throw invalidReport(
              `The ZAP report has more than ${MAX_FINDINGS} alert instances: split the scan before sending.`,
            );
          instance = {};
          alertInstances.push(instance);
        } else {
          const into =
            depth === 5 && ALERT_FIELDS.has(name)
              ? alert
              : depth === 7 && INSTANCE_FIELDS.has(name)
                ? instance
                : undefined;
          if (into) field = { into, name, depth, text: '' };
          return into !== undefined;
        }
        return false;
      },
      text(data) {
        if (field && field.text.length < FIELD_MAX) field.text += data.slice(0, FIELD_MAX);
      },
      close(_name, depth) {
        if (field?.depth === depth) {
          field.into[field.name] = field.text.trim();
          field = undefined;
        } else if (depth === 6) instance = undefined;
        else if (depth === 4) alert = alertInstances = undefined;
        else if (depth === 2) site = undefined;
      },
    },
    { format: 'ZAP XML', roots: ['OWASPZAPReport'] },
  );
  return parseZap(doc);
};
