import { invalidReport } from '../errors';
import {
  type CoverageMetric,
  coverageMetric,
  istanbulMetric,
  notMeasured,
  type ParsedCoverage,
} from './types';
import { readXml } from './xml';

/**
 * Clover XML (PHPUnit `--coverage-clover`, Istanbul's `clover` reporter in Jest, Vitest, nyc,
 * c8; OpenClover): `<coverage><project>…<metrics …/></project></coverage>`. Only the project's
 * own `<metrics>` (a direct child of `<project>`: Istanbul writes it first, PHPUnit last) is
 * read: `statements`/`coveredstatements` → lines (both tools count executable lines there, as
 * their text reports print `Lines`), `conditionals`/`coveredconditionals` → branches,
 * `methods`/`coveredmethods` → functions. 0 of 0 is not measured (PHPUnit with pcov writes
 * `conditionals="0"`). Istanbul's reports (root `clover="3.2.0"`) get its truncated percentages.
 */

const WHAT = 'Clover XML';

type Dialect = 'istanbul' | 'phpunit' | 'clover';

const PAIRS = {
  lines: ['statements', 'coveredstatements'],
  branches: ['conditionals', 'coveredconditionals'],
  functions: ['methods', 'coveredmethods'],
} as const;

/** A non-negative integer attribute of the project's `<metrics>`, or an error naming it. */
const count = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(value))
    throw invalidReport(
      `Invalid ${WHAT}: <project><metrics ${name}="${value.slice(0, 40)}">: expected a non-negative integer`,
      { path: `project.metrics.${name}` },
    );
  return Number(value);
};

export const parseClover = (text: string): ParsedCoverage => {
  let dialect = 'clover' as Dialect;
  let projectDepth = 0;
  let projects = 0;
  let metrics: Map<string, string> | undefined;

  readXml(
    text,
    {
      open(name, a, depth) {
        if (depth === 1) {
          const version = a.get('clover');
          dialect = version === undefined ? 'phpunit' : version === '3.2.0' ? 'istanbul' : 'clover';
        } else if (depth === 2 && name === 'project') {
          projectDepth = depth;
          projects++;
        } else if (
          projectDepth > 0 &&
          depth === projectDepth + 1 &&
          name === 'metrics' &&
          projects === 1 &&
          !metrics
        ) {
          metrics = new Map();
          for (const key of Object.values(PAIRS).flat()) {
            const v = a.get(key);
            if (v !== undefined) metrics.set(key, v);
          }
        }
        return false;
      },
      close(name, depth) {
        if (name === 'project' && depth === projectDepth) projectDepth = 0;
      },
    },
    { format: WHAT, roots: ['coverage'] },
  );

  if (projects === 0)
    throw invalidReport(
      `Invalid ${WHAT}: no <project> element under <coverage>, so there are no totals to read.`,
      { path: 'project' },
    );
  if (!metrics)
    throw invalidReport(
      `Invalid ${WHAT}: <project> has no <metrics> element of its own, so there are no totals to read.`,
      { path: 'project.metrics' },
    );
  const found = metrics;
  const metric = dialect === 'istanbul' ? istanbulMetric : coverageMetric;
  const read = (what: keyof typeof PAIRS): CoverageMetric => {
    const [totalName, coveredName] = PAIRS[what];
    const total = count(found.get(totalName), totalName);
    const covered = count(found.get(coveredName), coveredName);
    if (total === undefined || covered === undefined)
      return notMeasured(
        `not measured: the project's <metrics> has no ${totalName}/${coveredName} attributes`,
      );
    if (covered > total)
      throw invalidReport(
        `Invalid ${WHAT}: <project><metrics>: ${coveredName} (${covered}) is more than ${totalName} (${total})`,
        { path: `project.metrics.${coveredName}` },
      );
    return metric(
      covered,
      total,
      `not measured: the project's <metrics> says ${totalName}="0" (nothing of that kind was measured)`,
    );
  };

  const warnings: string[] = [];
  if (projects > 1)
    warnings.push(`${projects} <project> elements: only the first one's <metrics> were read.`);
  return {
    kind: 'coverage',
    format: 'clover',
    dialect,
    summary: { lines: read('lines'), branches: read('branches'), functions: read('functions') },
    warnings,
  };
};
