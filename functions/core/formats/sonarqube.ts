import { invalidReport } from '../errors';
import { coverageMetric, notMeasured, type ParsedCoverage } from './types';
import { readXml } from './xml';

/**
 * SonarQube generic test coverage XML (`gcovr --sonarqube`, and other tools that feed
 * `sonar.coverageReportPaths`): `<coverage version="1"><file path="…"><lineToCover lineNumber="N"
 * covered="true|false" [branchesToCover="B" coveredBranches="C"]/>…</file></coverage>`.
 *
 * Lines: every `lineToCover`, covered when `covered="true"` (a line listed twice for one file
 * counts once, covered if either says so, with its widest branch data). Branches: the sums of
 * `branchesToCover` and `coveredBranches`; 0 of 0 is not measured. The format has no function
 * data: functions are not measured. gcovr prints the same lines and branches for the run.
 */

const WHAT = 'SonarQube generic coverage XML';
const NO_FUNCTIONS =
  'not measured: SonarQube generic coverage has no function data (only lines and branches)';

const bad = (message: string, path: string) =>
  invalidReport(`Invalid ${WHAT}: ${message}`, { path });

export const parseSonarqube = (text: string): ParsedCoverage => {
  /** Path → line number → [covered, branches to cover, covered branches]. */
  const files = new Map<string, Map<number, [boolean, number, number]>>();
  let file: Map<number, [boolean, number, number]> | undefined;
  let filePath = '';
  let version: string | undefined;
  let index = 0;

  const integer = (value: string | undefined, attr: string, where: string): number => {
    if (value === undefined || !/^\d{1,9}$/.test(value.trim()))
      throw bad(
        `${where}: ${attr}=${value === undefined ? '(missing)' : JSON.stringify(value.slice(0, 40))} is not a non-negative integer`,
        attr,
      );
    return Number(value);
  };

  readXml(
    text,
    {
      open(name, a, depth) {
        if (depth === 1) {
          version = a.get('version');
        } else if (depth === 2 && name === 'file') {
          filePath = a.get('path') ?? '';
          if (filePath === '') throw bad('a <file> element has no path attribute', 'file.path');
          file = files.get(filePath) ?? new Map();
          files.set(filePath, file);
          index = 0;
        } else if (name === 'lineToCover' && file) {
          index++;
          const where = `<file path="${filePath.slice(0, 80)}">, <lineToCover> #${index}`;
          const line = integer(a.get('lineNumber'), 'lineNumber', where);
          const coveredAttr = a.get('covered');
          if (coveredAttr !== 'true' && coveredAttr !== 'false')
            throw bad(
              `${where} (line ${line}): covered=${coveredAttr === undefined ? '(missing)' : JSON.stringify(coveredAttr.slice(0, 40))} is neither "true" nor "false"`,
              'covered',
            );
          const hasBranches = a.get('branchesToCover') !== undefined;
          const toCover = hasBranches
            ? integer(a.get('branchesToCover'), 'branchesToCover', where)
            : 0;
          const coveredBranches =
            a.get('coveredBranches') !== undefined
              ? integer(a.get('coveredBranches'), 'coveredBranches', where)
              : 0;
          if (coveredBranches > toCover)
            throw bad(
              `${where} (line ${line}): coveredBranches (${coveredBranches}) is more than branchesToCover (${toCover})`,
              'coveredBranches',
            );
          const seen = file.get(line);
          const covered = coveredAttr === 'true' || seen?.[0] === true;
          const widest =
            !seen || toCover > seen[1] || (toCover === seen[1] && coveredBranches > seen[2])
              ? ([toCover, coveredBranches] as const)
              : ([seen[1], seen[2]] as const);
          file.set(line, [covered, widest[0], widest[1]]);
        }
        return false;
      },
      close(name, depth) {
        if (depth === 2 && name === 'file') file = undefined;
      },
    },
    { format: WHAT, roots: ['coverage'] },
  );

  let linesTotal = 0;
  let linesCovered = 0;
  let branchesTotal = 0;
  let branchesCovered = 0;
  for (const lines of files.values())
    for (const [covered, toCover, coveredBranches] of lines.values()) {
      linesTotal++;
      if (covered) linesCovered++;
      branchesTotal += toCover;
      branchesCovered += coveredBranches;
    }

  const warnings: string[] = [];
  if (version !== '1')
    warnings.push(
      `root version=${version === undefined ? '(missing)' : JSON.stringify(version)}: SonarQube generic coverage is version="1"; read as that.`,
    );
  if (linesTotal === 0)
    warnings.push('The report has no <lineToCover> elements: nothing was measured.');
  return {
    kind: 'coverage',
    format: 'sonarqube',
    summary: {
      lines: coverageMetric(
        linesCovered,
        linesTotal,
        'not measured: the report has no <lineToCover> elements',
      ),
      branches: coverageMetric(
        branchesCovered,
        branchesTotal,
        'not measured: no <lineToCover> has branchesToCover (gcovr writes them only for lines with branches)',
      ),
      functions: notMeasured(NO_FUNCTIONS),
    },
    warnings,
  };
};
