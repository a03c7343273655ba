import { GO_COVER_BLOCK } from '../formats/go-cover';
import { istanbulLineHits } from '../formats/istanbul-final';
import type { FormatId } from '../formats/types';
import { readXml } from '../formats/xml';

/**
 * Per-line coverage of a coverage report: file path (as the report writes it) → line number →
 * covered. Only lines a coverage tool instruments are in it, so blank lines and comments are
 * not (they can never count against a patch). Undefined for reports without line data.
 * `byEnding`: the paths are not repository paths (JaCoCo's `com/shop/Cart.kt`, relative to a
 * source folder the report does not name; Go's `example.com/shop/cart.go`, an import path), so
 * they are matched to the changed files by their ending.
 */
export type LineCoverage = Map<string, Map<number, boolean>> & { byEnding?: boolean };

const mark = (cov: LineCoverage, path: string, line: number, hit: boolean): void => {
  if (!Number.isInteger(line) || line <= 0) return;
  let file = cov.get(path);
  if (!file) {
    file = new Map();
    cov.set(path, file);
  }
  file.set(line, hit || file.get(line) === true);
};

/** LCOV `SF:` … `DA:<line>,<hits>` … `end_of_record`. */
const lcovLines = (text: string): LineCoverage => {
  const cov: LineCoverage = new Map();
  let file: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('SF:')) file = line.slice(3);
    else if (line === 'end_of_record') file = undefined;
    else if (file !== undefined && line.startsWith('DA:')) {
      const [n, hits] = line.slice(3).split(',');
      mark(cov, file, Number(n), hits !== undefined && !/^-?0+$/.test(hits.trim()));
    }
  }
  return cov;
};

/**
 * Cobertura `<class filename>` `<line number hits>`, paths joined to the first `<source>`.
 * Only the class's own `<lines>`: lines under `<method>` repeat them (or, alone, are not what
 * the summary counts either; see `parseCobertura`), so patch and project coverage agree.
 */
const coberturaLines = (text: string): LineCoverage => {
  const cov: LineCoverage = new Map();
  let file: string | undefined;
  let methods = 0;
  let inSource = false;
  let source = '';
  let firstSource: string | undefined;
  readXml(
    text,
    {
      open(name, a) {
        if (name === 'source') {
          inSource = true;
          source = '';
          return true;
        }
        if (name === 'class') file = a.get('filename');
        else if (name === 'method') methods++;
        else if (name === 'line' && file !== undefined && methods === 0)
          mark(cov, file, Number(a.get('number')), Number(a.get('hits')) > 0);
        return false;
      },
      close(name) {
        if (name === 'source' && inSource) {
          inSource = false;
          firstSource ??= source.trim();
        } else if (name === 'class') file = undefined;
        else if (name === 'method') methods = Math.max(0, methods - 1);
      },
      // Text arrives only while a <source> is captured (open returned true).
      text(data) {
        source += data;
      },
    },
    { format: 'Cobertura XML', roots: ['coverage'] },
  );
  if (!firstSource) return cov;
  // Class file names are relative to a <source>: keep both spellings for path matching.
  const prefix = firstSource.replace(/[\\/]+$/, '');
  const out: LineCoverage = new Map();
  for (const [path, lines] of cov)
    out.set(path.startsWith('/') || /^[A-Za-z]:/.test(path) ? path : `${prefix}/${path}`, lines);
  return out;
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Istanbul coverage-final.json, line by line (see `istanbulLineHits`). */
const istanbulFinalLines = (doc: Record<string, unknown>): LineCoverage => {
  const cov: LineCoverage = new Map();
  for (const [key, entry] of Object.entries(doc))
    if (isObject(entry))
      cov.set(typeof entry.path === 'string' ? entry.path : key, istanbulLineHits(entry));
  return cov;
};

/** SonarQube generic coverage: `<file path>` `<lineToCover lineNumber covered>`. */
const sonarqubeLines = (text: string): LineCoverage => {
  const cov: LineCoverage = new Map();
  let file: string | undefined;
  readXml(
    text,
    {
      open(name, a, depth) {
        if (depth === 2 && name === 'file') file = a.get('path');
        else if (name === 'lineToCover' && file)
          mark(cov, file, Number(a.get('lineNumber')), a.get('covered') === 'true');
        return false;
      },
      close(name, depth) {
        if (depth === 2 && name === 'file') file = undefined;
      },
      text() {},
    },
    { format: 'SonarQube generic coverage', roots: ['coverage'] },
  );
  return cov;
};

/**
 * Clover XML: `<file>` (its `path`, else its `name`: PHPUnit writes the absolute path there)
 * `<line num count type>` of type `stmt` or `cond`, under `<project>` (OpenClover's
 * `<testproject>` is the tests' own code). `method` lines are left out: they mark where a
 * method starts, and PHPUnit writes a one-line method's statement as its method line only, so
 * that line is not coverable here.
 */
const cloverLines = (text: string): LineCoverage => {
  const cov: LineCoverage = new Map();
  let inProject = false;
  let file: string | undefined;
  readXml(
    text,
    {
      open(name, a, depth) {
        if (depth === 2) inProject = name === 'project';
        else if (inProject && name === 'file') file = a.get('path') ?? a.get('name');
        else if (name === 'line' && file && /^(stmt|cond)$/.test(String(a.get('type'))))
          mark(cov, file, Number(a.get('num')), Number(a.get('count')) > 0);
        return false;
      },
      close(name) {
        if (name === 'file') file = undefined;
      },
      text() {},
    },
    { format: 'Clover XML', roots: ['coverage'] },
  );
  return cov;
};

/**
 * JaCoCo XML: `<package name>` + `<sourcefile name>` (`com/shop/Cart.kt`, relative to a source
 * folder the report does not name) `<line nr mi ci>`, covered when an instruction of the line
 * ran (`ci` > 0), as JaCoCo's LINE counter counts a partly covered line as covered.
 */
const jacocoLines = (text: string): LineCoverage => {
  const cov: LineCoverage = new Map();
  let pkg: string | undefined;
  let file: string | undefined;
  readXml(
    text,
    {
      open(name, a) {
        if (name === 'package') pkg = a.get('name');
        else if (name === 'sourcefile') file = [pkg, a.get('name')].filter(Boolean).join('/');
        else if (name === 'line' && file)
          mark(cov, file, Number(a.get('nr')), Number(a.get('ci')) > 0);
        return false;
      },
      close(name) {
        if (name === 'sourcefile') file = undefined;
      },
      text() {},
    },
    { format: 'JaCoCo XML', roots: ['report'] },
  );
  cov.byEnding = true;
  return cov;
};

/** The most lines a Go cover profile's blocks may expand to (a few per block in real code). */
export const MAX_GO_COVER_LINES = 5_000_000;

/**
 * Go cover profile: each block's lines (`file:startLine.startCol,endLine.endCol n count`), a
 * line covered when a block on it ran, as the converters to LCOV read it. Paths are import
 * paths (`example.com/shop/cart.go`). A profile whose blocks span more than
 * MAX_GO_COVER_LINES lines in all (none written by Go) is refused with an error, not expanded.
 */
const goCoverLines = (text: string): LineCoverage => {
  const blocks: { file: string; first: number; last: number; hit: boolean }[] = [];
  let span = 0;
  for (const raw of text.split('\n')) {
    const block = GO_COVER_BLOCK.exec(raw.trim());
    if (!block) continue;
    const [first, last] = [Number(block[2]), Number(block[4])];
    // A block that ends before it starts spans nothing, and gives no budget back.
    span += Math.max(0, last - first + 1);
    blocks.push({ file: String(block[1]), first, last, hit: Number(block[7]) > 0 });
  }
  // Refused before any line is expanded: a hostile profile costs one pass over its text.
  if (span > MAX_GO_COVER_LINES)
    throw new Error(
      `the Go cover profile's blocks span more than ${MAX_GO_COVER_LINES} lines, more than patch coverage reads`,
    );
  const cov: LineCoverage = new Map();
  for (const { file, first, last, hit } of blocks)
    for (let n = first; n <= last; n++) mark(cov, file, n, hit);
  cov.byEnding = true;
  return cov;
};

/** Line coverage of a report, or undefined when its format has none (coverage-summary.json). */
export const lineCoverage = (text: string, format: FormatId): LineCoverage | undefined => {
  switch (format) {
    case 'lcov':
      return lcovLines(text);
    case 'cobertura':
      return coberturaLines(text);
    case 'sonarqube':
      return sonarqubeLines(text);
    case 'clover':
      return cloverLines(text);
    case 'jacoco':
      return jacocoLines(text);
    case 'go-cover':
      return goCoverLines(text);
    case 'istanbul': {
      const doc: unknown = JSON.parse(text);
      return isObject(doc) && !isObject(doc.total) ? istanbulFinalLines(doc) : undefined;
    }
    default:
      return undefined;
  }
};
