import { invalidReport } from '../errors';
import {
  type CoverageMetric,
  type CoverageSummary,
  coverageMetric,
  istanbulMetric,
  notMeasured,
  type ParsedCoverage,
} from './types';
import { readXml } from './xml';

/**
 * Cobertura XML (coverage.py, istanbul/nyc/jest/vitest, JaCoCo converters, scoverage, ...).
 *
 * Lines and branches come from the root's `lines-*` / `branches-*` attributes when present;
 * otherwise they are counted from the `<line>` elements of each class (once per file and line
 * number, since one file can have several `<class>` elements). Functions are the root's
 * `functions-covered`/`functions-valid` when present (gcovr), else the `<method>` elements,
 * covered when one of their lines was hit. Cobertura has no statement metric. Reports Istanbul
 * wrote (root `version="0.1"`) get its truncated percentages.
 *
 * PHPUnit (php-code-coverage, root `version="0.4"`) counts a method as tested only when all of
 * its lines were hit, and writes each file's functions as methods of a pseudo-class named after
 * the file (the same functions again in every file's pseudo-class): for it, functions are the
 * methods of real classes, covered when all their lines were hit (`line-rate="1"` without
 * lines), which is the `Methods` figure PHPUnit prints.
 *
 * Not measured is not 100%: coverage.py writes no methods and, without `--branch`,
 * `branches-valid="0"`; PHPUnit with pcov writes no branch data; gcovr writes empty
 * `<methods/>`. Such metrics are `null` with the reason.
 */

const NO_FUNCTIONS =
  'not measured: the report has no function data (no <method> elements; coverage.py and gcovr do not write them)';
const NO_BRANCHES =
  'not measured: the report has no branch data (branches-valid="0" and no condition-coverage; e.g. coverage.py without --branch, PHPUnit with pcov)';
const NO_LINES = 'not measured: the report has no <line> elements and no lines-valid';
const ZERO_LINES =
  'not measured: the report declares lines-valid="0" (no executable lines were found)';

/** A non-negative integer attribute, or undefined. */
const integer = (value: string | undefined): number | undefined => {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
};

/** `hits` > 0; hit counts may be huge (u64) or garbage. */
const isHit = (value: string | undefined): boolean => {
  if (value === undefined) return false;
  const n = Number(value);
  return n > 0;
};

const CONDITION = /\((\d+)\s*\/\s*(\d+)\)/;

interface FileLines {
  /** Line number → covered. */
  hit: Map<number, boolean>;
  /** Line number → [covered, total] branches, from `condition-coverage`. */
  branches: Map<number, [number, number]>;
}

export const parseCobertura = (text: string): ParsedCoverage => {
  // The root's declared totals.
  let declaredLinesTotal: number | undefined;
  let declaredLinesCovered: number | undefined;
  let declaredBranchesTotal: number | undefined;
  let declaredBranchesCovered: number | undefined;
  let declaredFunctionsTotal: number | undefined;
  let declaredFunctionsCovered: number | undefined;
  /** Written by Istanbul (nyc, Jest, Vitest, c8), whose root says `version="0.1"`. */
  let istanbul = false;
  const files = new Map<string, FileLines>();
  let file: FileLines | undefined;
  let methodDepth = 0;
  let methodHit = false;
  let methodHasLines = false;
  let methodHits: string | undefined;
  let functionsTotal = 0;
  let functionsCovered = 0;
  let anonymous = 0;
  /** Written by PHPUnit's php-code-coverage (root `version="0.4"`). */
  let phpunit = false;
  /** Inside a PHPUnit pseudo-class (named after its file): its methods are functions. */
  let pseudoClass = false;
  let methodAllHit = true;
  let methodLineRate: string | undefined;
  /** Elements that carry coverage data (class, line, method) or root totals. */
  let readable = 0;

  readXml(
    text,
    {
      open(name, a, depth) {
        switch (name) {
          case 'line': {
            const hit = isHit(a.get('hits'));
            readable++;
            if (methodDepth > 0) {
              methodHasLines = true;
              if (hit) methodHit = true;
              else methodAllHit = false;
              return false;
            }
            if (!file) return false;
            // Lines without a number cannot be matched: count each one.
            const n = integer(a.get('number')) ?? -++anonymous;
            file.hit.set(n, hit || file.hit.get(n) === true);
            const condition = a.get('condition-coverage');
            if (condition !== undefined) {
              const m = CONDITION.exec(condition);
              if (m) {
                const covered = Number(m[1]);
                const total = Number(m[2]);
                const seen = file.branches.get(n);
                if (!seen || total > seen[1] || (total === seen[1] && covered > seen[0])) {
                  file.branches.set(n, [Math.min(covered, total), total]);
                }
              }
            }
            return false;
          }
          case 'method':
            if (methodDepth === 0) {
              methodDepth = depth;
              methodHit = false;
              methodHasLines = false;
              methodHits = a.get('hits');
              methodAllHit = true;
              methodLineRate = a.get('line-rate');
            }
            return false;
          case 'class': {
            readable++;
            const className = a.get('name');
            const fileName = a.get('filename');
            pseudoClass =
              phpunit &&
              className !== undefined &&
              fileName !== undefined &&
              (className === fileName || className === fileName.split(/[\\/]/).pop());
            const key = fileName ?? className ?? '';
            file = files.get(key);
            if (!file) {
              file = { hit: new Map(), branches: new Map() };
              files.set(key, file);
            }
            return false;
          }
          case 'coverage':
            if (depth === 1) {
              declaredLinesTotal = integer(a.get('lines-valid'));
              declaredLinesCovered = integer(a.get('lines-covered'));
              declaredBranchesTotal = integer(a.get('branches-valid'));
              declaredBranchesCovered = integer(a.get('branches-covered'));
              declaredFunctionsTotal = integer(a.get('functions-valid'));
              declaredFunctionsCovered = integer(a.get('functions-covered'));
              istanbul = a.get('version') === '0.1';
              phpunit = a.get('version') === '0.4';
            }
            return false;
          case 'project':
          case 'file':
            // Clover (<coverage><project>) and SonarQube generic coverage (<coverage><file>)
            // share the root element: say which one this is rather than read nothing.
            if (depth === 2)
              throw invalidReport(
                `Not a Cobertura XML report: <coverage> holds <${name}>, so this is ${name === 'project' ? 'Clover XML: use format=clover' : 'SonarQube generic coverage XML: use format=sonarqube'} (or let Vigil detect the format).`,
                { path: name },
              );
            return false;
          default:
            return false;
        }
      },
      close(name, depth) {
        if (depth === methodDepth && name === 'method') {
          readable++;
          if (!phpunit) {
            functionsTotal++;
            if (methodHasLines ? methodHit : isHit(methodHits)) functionsCovered++;
          } else if (!pseudoClass) {
            functionsTotal++;
            const lineRate = Number(methodLineRate);
            if (methodHasLines ? methodAllHit : lineRate >= 1) functionsCovered++;
          }
          methodDepth = 0;
        } else if (name === 'class') {
          file = undefined;
          pseudoClass = false;
        }
      },
    },
    { format: 'Cobertura XML', roots: ['coverage'] },
  );

  let linesTotal = 0;
  let linesCovered = 0;
  let branchesTotal = 0;
  let branchesCovered = 0;
  let conditions = 0;
  for (const f of files.values()) {
    conditions += f.branches.size;
    linesTotal += f.hit.size;
    for (const hit of f.hit.values()) if (hit) linesCovered++;
    for (const [covered, total] of f.branches.values()) {
      branchesCovered += covered;
      branchesTotal += total;
    }
  }

  const warnings: string[] = [];

  // Istanbul truncates the percentages it prints: so does Vigil for its reports.
  const metric = istanbul ? istanbulMetric : coverageMetric;
  const hasDeclaredLines = declaredLinesTotal !== undefined && declaredLinesCovered !== undefined;
  if (
    hasDeclaredLines &&
    linesTotal > 0 &&
    (declaredLinesTotal !== linesTotal || declaredLinesCovered !== linesCovered)
  ) {
    warnings.push(
      `declared lines-covered/lines-valid=${declaredLinesCovered}/${declaredLinesTotal} but counted ${linesCovered}/${linesTotal} <line> elements`,
    );
  }
  const lines =
    declaredLinesTotal !== undefined && declaredLinesCovered !== undefined
      ? metric(
          Math.min(declaredLinesCovered, declaredLinesTotal),
          declaredLinesTotal,
          declaredLinesTotal === 0 && linesTotal === 0 ? ZERO_LINES : NO_LINES,
        )
      : metric(linesCovered, linesTotal, NO_LINES);
  // Declared branch totals are not compared: istanbul counts branches on lines that have no
  // <line> element, so the two legitimately differ.
  const branches =
    declaredBranchesTotal !== undefined && declaredBranchesCovered !== undefined
      ? metric(
          Math.min(declaredBranchesCovered, declaredBranchesTotal),
          declaredBranchesTotal,
          conditions > 0 ? 'nothing to measure: 0 of 0 branches' : NO_BRANCHES,
        )
      : metric(branchesCovered, branchesTotal, NO_BRANCHES);
  let functions: CoverageMetric;
  if (declaredFunctionsTotal !== undefined && declaredFunctionsCovered !== undefined)
    functions = metric(
      Math.min(declaredFunctionsCovered, declaredFunctionsTotal),
      declaredFunctionsTotal,
      NO_FUNCTIONS,
    );
  else if (functionsTotal === 0) functions = notMeasured(NO_FUNCTIONS);
  else functions = metric(functionsCovered, functionsTotal);

  const declared = [declaredLinesTotal, declaredBranchesTotal, declaredFunctionsTotal].some(
    (n) => n !== undefined,
  );
  if (readable === 0 && !declared)
    warnings.push(
      'Nothing to read: the <coverage> root has no <class>, <method> or <line> elements and no lines-valid/branches-valid totals, so every metric is not measured. Is this the report the tool wrote (Clover and SonarQube generic coverage are format=clover and format=sonarqube)?',
    );

  const summary: CoverageSummary = { lines, branches, functions };
  const parsed: ParsedCoverage = { kind: 'coverage', format: 'cobertura', summary, warnings };
  if (phpunit) parsed.dialect = 'phpunit';
  return parsed;
};
