import { looksLikeGoBench } from './go-bench';
import { looksLikeGoCover } from './go-cover';
import { looksLikeGoTestJson } from './go-test';
import { looksLikeIstanbulFinal } from './istanbul-final';
import { isRecord } from './shape';
import type { FormatId } from './types';

/**
 * Guess the format of a report from its content. Cheap: XML and LCOV are recognised
 * from their first bytes; JSON by the shape of the already-parsed document.
 */

/** A line of an LCOV tracefile (lcov 1.x tags plus lcov 2's VER, FNL and FNA). */
const LCOV_LINE =
  /^(?:(?:TN|SF|VER|FN|FNDA|FNF|FNH|FNL|FNA|DA|BRDA|BRF|BRH|LF|LH):|end_of_record$)/;

export type Sniffed =
  | { syntax: 'xml'; root: string | undefined }
  | { syntax: 'json' }
  | { syntax: 'text' }
  | { syntax: 'html' }
  | { syntax: 'empty' };

/** Name of the first element of an XML document, skipping the prolog, comments and PIs. */
export const xmlRootName = (text: string): string | undefined => {
  let i = 0;
  const n = Math.min(text.length, 64 * 1024);
  while (i < n) {
    const lt = text.indexOf('<', i);
    if (lt < 0 || lt >= n) return undefined;
    const next = text[lt + 1];
    if (next === '?') {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end < 0) return undefined;
      i = end + 3;
    } else if (next === '!') {
      // A DOCTYPE naming an external DTD (Cobertura writes one) is skipped, never fetched;
      // one with an internal subset, where entities are declared, is reported as such.
      const end = text.indexOf('>', lt);
      const subset = text.indexOf('[', lt);
      if (end < 0 || (subset >= 0 && subset < end)) return '!DOCTYPE';
      i = end + 1;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(lt, lt + 256));
      return m?.[1];
    }
  }
  return undefined;
};

export const sniff = (text: string): Sniffed => {
  const start = text.search(/\S/);
  if (start < 0) return { syntax: 'empty' };
  const head = text.slice(start, start + 512).toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return { syntax: 'html' };
  const c = text[start];
  if (c === '<') {
    const root = xmlRootName(text);
    if (root?.toLowerCase() === 'html') return { syntax: 'html' };
    return { syntax: 'xml', root };
  }
  if (c === '{' || c === '[') return { syntax: 'json' };
  return { syntax: 'text' };
};

/**
 * Which report a `<coverage>` root holds, from the root's start tag and its first child element:
 * Clover (`<project>` child, or a `clover` version attribute), SonarQube generic coverage
 * (`<file>` child), else Cobertura (`<sources>`, `<packages>`, or nothing).
 */
export const coverageXmlFormat = (text: string): 'cobertura' | 'clover' | 'sonarqube' => {
  const head = text.slice(0, 64 * 1024);
  const root = /<coverage\b(?:[^>"']|"[^"]*"|'[^']*')*>/.exec(head);
  if (!root) return 'cobertura';
  if (/\sclover\s*=/.test(root[0])) return 'clover';
  if (root[0].endsWith('/>')) return 'cobertura';
  let rest = head.slice(root.index + root[0].length);
  // Skip whitespace, comments and processing instructions before the first child.
  for (;;) {
    rest = rest.trimStart();
    const end = rest.startsWith('<!--')
      ? rest.indexOf('-->') + 3
      : rest.startsWith('<?')
        ? rest.indexOf('?>') + 2
        : 0;
    if (end <= 2) break;
    rest = rest.slice(end);
  }
  const child = /^<([A-Za-z_][\w.:-]*)/.exec(rest)?.[1];
  if (child === 'project') return 'clover';
  if (child === 'file') return 'sonarqube';
  return 'cobertura';
};

/**
 * The format of an XML report from its root element; with the document's `text`, a `<coverage>`
 * root is told apart as Cobertura, Clover or SonarQube generic coverage.
 */
export const formatOfXmlRoot = (root: string | undefined, text?: string): FormatId | undefined => {
  if (root === 'testsuites' || root === 'testsuite') return 'junit';
  if (root === 'coverage') return text === undefined ? 'cobertura' : coverageXmlFormat(text);
  if (root === 'report') return 'jacoco';
  if (root === 'TestRun') return 'trx';
  if (root === 'OWASPZAPReport') return 'zap';
  return undefined;
};

/**
 * LCOV text: the first lines (up to 20, within the first 4 KiB) are all LCOV lines and one of
 * them opens a record (`SF:`). A line cut by the 4 KiB window is not judged.
 */
export const looksLikeLcov = (text: string): boolean => {
  const head = text.slice(0, 4096);
  const lines = head.split('\n');
  if (text.length > head.length && lines.length > 1) lines.pop();
  const first = lines
    .slice(0, 20)
    .map((l, i) => (i === 0 ? l.replace(/^\uFEFF/, '') : l).trim())
    .filter((l) => l !== '');
  return (
    first.length > 0 &&
    first.some((l) => l.startsWith('SF:')) &&
    first.every((l) => LCOV_LINE.test(l))
  );
};

/** Which text (neither XML nor JSON) format this is: LCOV, a Go cover profile, go test -bench. */
export const detectTextFormat = (text: string): FormatId | undefined => {
  if (looksLikeLcov(text)) return 'lcov';
  if (looksLikeGoCover(text)) return 'go-cover';
  if (looksLikeGoBench(text)) return 'go-bench';
  // go test -json that starts with a plain `FAIL\t<pkg> [build failed]` line (before Go 1.24).
  if (looksLikeGoTestJson(text)) return 'go-test';
  return undefined;
};

/**
 * Which JSON format a parsed document is, from its shape. Cheap (looks at a few keys and the
 * first element of arrays) and conservative: anything unrecognised is undefined.
 */
export const detectJsonFormat = (doc: unknown): FormatId | undefined => {
  if (Array.isArray(doc)) {
    // github-action-benchmark custom JSON: [{ name, unit, value }].
    const first = doc[0];
    if (isRecord(first) && typeof first.name === 'string' && 'unit' in first && 'value' in first)
      return 'benchmark';
    return undefined;
  }
  if (!isRecord(doc)) return undefined;
  // SARIF: `runs` with a version, or a SARIF `$schema` (a wrong version is then told as such).
  if (
    (typeof doc.$schema === 'string' && /sarif/i.test(doc.$schema)) ||
    (Array.isArray(doc.runs) && 'version' in doc)
  )
    return 'sarif';
  // OWASP ZAP traditional JSON report.
  if (Array.isArray(doc.site) && ('@programName' in doc || '@version' in doc)) return 'zap';
  // npm audit --json (any version: the parser says which ones it reads).
  if ('auditReportVersion' in doc) return 'npm-audit';
  // Trivy --format json (the parser says which SchemaVersion it reads).
  if ('SchemaVersion' in doc && ('ArtifactName' in doc || 'Results' in doc)) return 'trivy';
  // Grype -o json: `matches` with the `descriptor` naming grype, or its `source`.
  if (Array.isArray(doc.matches) && (isRecord(doc.descriptor) || isRecord(doc.source)))
    return 'grype';
  // Jest --json and Vitest --reporter=json.
  if (Array.isArray(doc.testResults) && ('numTotalTests' in doc || 'numPassedTests' in doc))
    return 'jest';
  // Istanbul json-summary.
  if (isRecord(doc.total) && isRecord(doc.total.lines) && 'covered' in doc.total.lines)
    return 'istanbul';
  // Istanbul coverage-final.json: { "<path>": { path, statementMap, s, ... }, ... }.
  if (looksLikeIstanbulFinal(doc)) return 'istanbul';
  // Artillery 2 (aggregate.counters) and 1.x (aggregate + intermediate).
  if (isRecord(doc.aggregate) && (isRecord(doc.aggregate.counters) || 'intermediate' in doc))
    return 'artillery';
  // k6 1.x machine-readable summary.
  if (isRecord(doc.results) && Array.isArray(doc.results.metrics) && isRecord(doc.metadata))
    return 'k6';
  // k6 handleSummary data and --summary-export (both have root_group; handleSummary has state).
  if (isRecord(doc.metrics) && (isRecord(doc.root_group) || isRecord(doc.state))) return 'k6';
  // pytest-benchmark.
  if (Array.isArray(doc.benchmarks) && ('machine_info' in doc || 'commit_info' in doc))
    return 'benchmark';
  // Google Benchmark: `context` (host, library build type...) and `benchmarks`.
  if (Array.isArray(doc.benchmarks) && isRecord(doc.context)) return 'google-benchmark';
  // Playwright JSON reporter: `config` with `projects`, `suites`, `stats`.
  if (Array.isArray(doc.suites) && isRecord(doc.config) && isRecord(doc.stats)) return 'playwright';
  // gcovr --json-summary.
  // gcovr --json (`gcovr/format_version`, no totals) too: its parser says to use --json-summary.
  if (
    'gcovr/summary_format_version' in doc ||
    'gcovr/format_version' in doc ||
    ('line_total' in doc && 'line_covered' in doc)
  )
    return 'gcovr';
  // hyperfine --export-json.
  if (Array.isArray(doc.results) && isRecord(doc.results[0]) && 'command' in doc.results[0])
    return 'benchmark';
  // vitest bench --outputJson.
  if (Array.isArray(doc.files) && isRecord(doc.files[0]) && 'groups' in doc.files[0])
    return 'benchmark';
  return undefined;
};
