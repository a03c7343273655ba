import { createHash } from 'node:crypto';

/**
 * The security finding model every scanner format is normalized to (SARIF, OWASP ZAP, npm
 * audit, Trivy, Grype): one severity scale, one location shape, one fingerprint rule.
 */

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** critical 4 … info 0. */
export const severityRank = (s: Severity): number => SEVERITIES.length - 1 - SEVERITIES.indexOf(s);

export const atOrAbove = (s: Severity, threshold: Severity): boolean =>
  severityRank(s) >= severityRank(threshold);

export interface FindingLocation {
  /** Code scanners: the file (as the tool wrote it, `file://` dropped) and 1-based line. */
  file?: string;
  line?: number;
  /** DAST: the URL, HTTP method and parameter. */
  url?: string;
  method?: string;
  param?: string;
  /** Dependency audits: the package and its affected version range. */
  package?: string;
  version?: string;
}

export interface Finding {
  /** The scanner, e.g. `ESLint`, `CodeQL`, `ZAP`, `npm audit`. */
  tool: string;
  ruleId: string;
  /** The rule's or advisory's title, when the report names it. */
  ruleName?: string;
  severity: Severity;
  /** The tool's own confidence or precision, when given (`high`, `medium`, `very-high`...). */
  confidence?: string;
  /** First line of the result message (capped), as plain text. */
  message: string;
  location: FindingLocation;
  /** `CWE-79` style ids. */
  cwe: string[];
  /** 16 hex characters; see `fingerprintOf`. */
  fingerprint: string;
  /** The report itself marks the finding suppressed (SARIF `suppressions`): why. */
  suppressedInReport?: string;
}

export type SeverityCounts = Record<Severity, number>;

export interface SecuritySummary {
  /** Every finding in the report (suppressed ones included). */
  findings: number;
  bySeverity: SeverityCounts;
  /** Findings per tool, in report order. */
  tools: { name: string; findings: number }[];
}

export const zeroCounts = (): SeverityCounts => ({
  critical: 0,
  high: 0,
  medium: 0,
  low: 0,
  info: 0,
});

export const countBySeverity = (findings: readonly Pick<Finding, 'severity'>[]): SeverityCounts => {
  const counts = zeroCounts();
  for (const f of findings) counts[f.severity]++;
  return counts;
};

export const summarize = (findings: readonly Finding[]): SecuritySummary => {
  const tools = new Map<string, number>();
  for (const f of findings) tools.set(f.tool, (tools.get(f.tool) ?? 0) + 1);
  return {
    findings: findings.length,
    bySeverity: countBySeverity(findings),
    tools: [...tools].map(([name, n]) => ({ name, findings: n })),
  };
};

// Severity mapping ----------------------------------------------------------------------

/**
 * A CVSS-like `security-severity` score (SARIF property, GitHub's scale): 9.0+ critical,
 * 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low, 0 info. Not a finite number in [0, 10]: undefined.
 */
export const severityOfScore = (score: unknown): Severity | undefined => {
  const n = typeof score === 'string' && score.trim() !== '' ? Number(score) : score;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 10) return undefined;
  if (n >= 9) return 'critical';
  if (n >= 7) return 'high';
  if (n >= 4) return 'medium';
  if (n > 0) return 'low';
  return 'info';
};

/** SARIF `level`: error high, warning medium, note low, none info (default warning). */
export const severityOfLevel = (level: unknown): Severity => {
  switch (level) {
    case 'error':
      return 'high';
    case 'note':
      return 'low';
    case 'none':
      return 'info';
    default:
      return 'medium';
  }
};

/** `table[value]` for own keys only: `"constructor"` or `"__proto__"` from a report is no severity. */
const lookup = (
  table: Readonly<Record<string, Severity>>,
  value: unknown,
): Severity | undefined => {
  const key = String(value);
  return Object.hasOwn(table, key) ? table[key] : undefined;
};

/** ZAP `riskcode`: 3 High high, 2 Medium medium, 1 Low low, 0 Informational info. */
export const severityOfZapRisk = (riskcode: unknown): Severity | undefined =>
  lookup({ '3': 'high', '2': 'medium', '1': 'low', '0': 'info' }, riskcode);

/** npm audit severity: critical, high, moderate (medium), low, info. */
export const severityOfNpm = (severity: unknown): Severity | undefined =>
  lookup(
    { critical: 'critical', high: 'high', moderate: 'medium', low: 'low', info: 'info' },
    severity,
  );

/** Trivy `Severity`: CRITICAL, HIGH, MEDIUM, LOW; UNKNOWN is low (Trivy's own SARIF `note`). */
export const severityOfTrivy = (severity: unknown): Severity | undefined =>
  lookup(
    { CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium', LOW: 'low', UNKNOWN: 'low' },
    severity,
  );

/** Grype `severity`: Critical, High, Medium, Low; Negligible is info; Unknown is low (as Trivy's). */
export const severityOfGrype = (severity: unknown): Severity | undefined =>
  lookup(
    {
      Critical: 'critical',
      High: 'high',
      Medium: 'medium',
      Low: 'low',
      Negligible: 'info',
      Unknown: 'low',
    },
    severity,
  );

// Text from reports ---------------------------------------------------------------------

/** Bounds for strings taken from a report: events, checks and messages stay small. */
export const TEXT_MAX = { id: 200, name: 300, message: 500, location: 1000 } as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A report string made safe to carry: control and bidi-override characters dropped, whitespace
 * collapsed, capped at `max`. It stays text: every renderer escapes it for its medium.
 */
export const cleanText = (value: unknown, max: number): string => {
  if (typeof value !== 'string') return '';
  const s = value.replace(CONTROL, '').replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

const ENTITIES: Record<string, string> = {
  lt: '<',
  gt: '>',
  quot: '"',
  '#39': "'",
  apos: "'",
  amp: '&',
};

/**
 * HTML from a report (ZAP writes `<p>` paragraphs) as plain text: tags dropped, the common
 * entities decoded once. The result is still text to escape, never markup to render.
 */
export const htmlToText = (value: unknown, max: number): string => {
  if (typeof value !== 'string') return '';
  const text = value
    .slice(0, max * 4)
    .replace(/<\/p>\s*<p>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(lt|gt|quot|#39|apos|amp);/g, (_, e: string) => ENTITIES[e] ?? '');
  return cleanText(text, max);
};

/** `CWE-79` ids from numbers (`79`, `"79"`) or tags (`external/cwe/cwe-079`, `CWE-79: XSS`). */
export const cweIds = (values: readonly unknown[]): string[] => {
  const out = new Set<string>();
  for (const v of values) {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) out.add(`CWE-${v}`);
    else if (typeof v === 'string') {
      const t = v.trim();
      const n = /^\d+$/.test(t) ? t : /cwe[-/_ ]?(\d+)/i.exec(t)?.[1];
      if (n && Number(n) > 0) out.add(`CWE-${Number(n)}`);
    }
    if (out.size >= 10) break;
  }
  return [...out];
};

// Fingerprints --------------------------------------------------------------------------

/**
 * A finding's fingerprint: the first 16 hex characters of sha256 over the tool name and the
 * given parts, joined by NUL. Callers pass what identifies the finding without its line
 * (see docs/security.md): the tool's own fingerprints when it writes them, else rule and
 * location parts that survive code moving up or down.
 */
export const fingerprintOf = (tool: string, parts: readonly (string | number | undefined)[]) =>
  createHash('sha256')
    .update([tool, ...parts.map((p) => (p === undefined ? '' : String(p)))].join('\0'))
    .digest('hex')
    .slice(0, 16);

/**
 * Give identical fingerprints an occurrence suffix (`:2`, `:3`… in report order), so two
 * equal findings in one file stay two findings and keep their identity across line shifts.
 */
export const disambiguate = <T extends { fingerprint: string }>(findings: T[]): T[] => {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const n = (seen.get(f.fingerprint) ?? 0) + 1;
    seen.set(f.fingerprint, n);
    return n === 1 ? f : { ...f, fingerprint: fingerprintOf(f.fingerprint, [n]) };
  });
};

/** One line for people: `src/a.js:12`, `GET https://x/login (param q)`, `lodash <4.17.21`. */
export const locationText = (l: FindingLocation): string => {
  if (l.file) return l.line ? `${l.file}:${l.line}` : l.file;
  if (l.url)
    return `${l.method ? `${l.method} ` : ''}${l.url}${l.param ? ` (param ${l.param})` : ''}`;
  if (l.package) return l.version ? `${l.package} ${l.version}` : l.package;
  return '(no location)';
};

/** The most findings one report may carry; more is refused (split the scan). */
export const MAX_FINDINGS = 50_000;
