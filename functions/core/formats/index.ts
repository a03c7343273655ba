import { invalidReport, VigilError } from '../errors';
import { parseArtillery } from './artillery';
import { parseBenchmark } from './benchmark';
import { parseClover } from './clover';
import { parseCobertura } from './cobertura';
import { detectJsonFormat, detectTextFormat, formatOfXmlRoot, sniff } from './detect';
import { parseGbench } from './gbench';
import { parseGcovr } from './gcovr';
import { parseGoBench } from './go-bench';
import { parseGoCover } from './go-cover';
import { looksLikeGoTestJson, parseGoTest } from './go-test';
import { parseGrype } from './grype';
import { parseIstanbul } from './istanbul';
import { parseJacoco } from './jacoco';
import { parseJest } from './jest';
import { jsonErrorOffset } from './json-error';
import { parseJunit } from './junit';
import { parseK6 } from './k6';
import { parseLcov } from './lcov';
import { parseNpmAudit } from './npm-audit';
import { parsePlaywright } from './playwright';
import { parseSarif } from './sarif';
import { parseSonarqube } from './sonarqube';
import { parseTrivy } from './trivy';
import { parseTrx } from './trx';
import { FORMATS, type FormatId, type ParsedReport } from './types';
import { parseZap, parseZapXml } from './zap';

export * from './types';

const JSON_PARSERS = {
  jest: parseJest,
  istanbul: parseIstanbul,
  k6: parseK6,
  artillery: parseArtillery,
  benchmark: parseBenchmark,
  playwright: parsePlaywright,
  'google-benchmark': parseGbench,
  gcovr: parseGcovr,
  sarif: parseSarif,
  zap: parseZap,
  'npm-audit': parseNpmAudit,
  trivy: parseTrivy,
  grype: parseGrype,
} as const satisfies Partial<Record<FormatId, (doc: unknown) => ParsedReport>>;

const TEXT_PARSERS = {
  junit: parseJunit,
  cobertura: parseCobertura,
  clover: parseClover,
  sonarqube: parseSonarqube,
  lcov: parseLcov,
  jacoco: parseJacoco,
  trx: parseTrx,
  'go-test': parseGoTest,
  'go-cover': parseGoCover,
  'go-bench': parseGoBench,
} as const satisfies Partial<Record<FormatId, (text: string) => ParsedReport>>;

export const isFormat = (value: string): value is FormatId =>
  (FORMATS as readonly string[]).includes(value);

const unsupported = (what: string): VigilError =>
  new VigilError(
    'unsupported_format',
    `${what}. Supported formats: ${FORMATS.join(', ')}; pass ?format=<name> if detection fails.`,
  );

/** Line and column (1-based) of a character offset. */
export const lineColumnAt = (text: string, offset: number): { line: number; column: number } => {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: offset - last };
};

/** JSON.parse with an error that says where the syntax breaks. */
export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const offset = jsonErrorOffset(text);
    if (offset < 0) throw invalidReport(`Malformed JSON: ${reason}`);
    const at = lineColumnAt(text, offset);
    const near = JSON.stringify(text.slice(offset, offset + 20));
    const what = offset >= text.length ? 'the document ends too early' : `unexpected ${near}`;
    throw invalidReport(`Malformed JSON at line ${at.line}, column ${at.column}: ${what}.`, at);
  }
};

/**
 * Parse a report into its canonical form. Without `format`, the format is detected
 * from the content; with it, the content must be that format.
 */
export const parseReport = (text: string, format?: FormatId): ParsedReport => {
  const shape = sniff(text);
  if (shape.syntax === 'empty')
    throw invalidReport('The request body is empty: post the report file as the body.');
  if (shape.syntax === 'html')
    throw unsupported(
      'The body is an HTML page, not a report (was an error page or a redirect posted by mistake?)',
    );
  if (format && format in TEXT_PARSERS)
    return TEXT_PARSERS[format as keyof typeof TEXT_PARSERS](text);
  // ZAP writes the same report as JSON or XML: format=zap takes either.
  if (format === 'zap' && shape.syntax === 'xml') return parseZapXml(text);
  if (format) {
    if (shape.syntax !== 'json')
      throw invalidReport(`format=${format} expects a JSON document, but the body is not JSON.`);
    return JSON_PARSERS[format as keyof typeof JSON_PARSERS](parseJson(text));
  }
  if (shape.syntax === 'xml') {
    if (shape.root === '!DOCTYPE')
      throw invalidReport(
        'XML with an internal DOCTYPE subset (entity declarations) is not accepted: entity expansion and external entities are refused.',
      );
    // Cobertura, Clover and SonarQube generic coverage all have a <coverage> root.
    const detected = formatOfXmlRoot(shape.root, text);
    if (!detected)
      throw unsupported(`Unrecognised XML report with root element <${shape.root ?? '?'}>`);
    if (detected === 'zap') return parseZapXml(text);
    return TEXT_PARSERS[detected as keyof typeof TEXT_PARSERS](text);
  }
  if (shape.syntax === 'json') {
    // go test -json is one JSON event per line, not one document.
    if (looksLikeGoTestJson(text)) return parseGoTest(text);
    const doc = parseJson(text);
    const detected = detectJsonFormat(doc);
    if (!detected) throw unsupported('Unrecognised JSON report');
    return JSON_PARSERS[detected as keyof typeof JSON_PARSERS](doc);
  }
  const detected = detectTextFormat(text);
  if (detected) return TEXT_PARSERS[detected as keyof typeof TEXT_PARSERS](text);
  throw unsupported(
    'Unrecognised report: neither XML, JSON, LCOV, a Go cover profile nor go test -bench output',
  );
};
