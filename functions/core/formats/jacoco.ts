import {
  type CoverageMetric,
  type CoverageSummary,
  coverageMetric,
  type ParsedCoverage,
} from './types';
import { readXml } from './xml';

/**
 * JaCoCo XML (`jacoco:report`, Gradle `jacocoTestReport`): the totals are the `<counter>`
 * elements that are direct children of `<report>` (`type` INSTRUCTION, BRANCH, LINE,
 * COMPLEXITY, METHOD, CLASS; `missed` and `covered`). Lines = LINE, branches = BRANCH,
 * functions = METHOD. INSTRUCTION is bytecode, not statements, so it is not mapped. JaCoCo
 * writes no counter for a type with nothing to count (no branches in the code): that metric
 * is not measured. Per-package, per-class and per-line elements are not read.
 */

const WHAT = 'JaCoCo XML';

const count = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\s*\d{1,15}\s*$/.test(value)) return undefined;
  return Number(value);
};

export const parseJacoco = (text: string): ParsedCoverage => {
  const totals = new Map<string, { covered: number; missed: number }>();
  const warnings: string[] = [];
  let bad = 0;
  readXml(
    text,
    {
      open(name, a, depth) {
        if (name !== 'counter' || depth !== 2) return false;
        const type = a.get('type') ?? '';
        const covered = count(a.get('covered'));
        const missed = count(a.get('missed'));
        if (covered === undefined || missed === undefined) bad++;
        else totals.set(type, { covered, missed });
        return false;
      },
      close() {},
    },
    { format: WHAT, roots: ['report'] },
  );
  if (bad > 0)
    warnings.push(
      `${bad} report-level <counter> element(s) without numeric missed/covered ignored`,
    );
  if (totals.size === 0) warnings.push('the report has no report-level <counter> elements');

  const metric = (type: string): CoverageMetric => {
    const t = totals.get(type);
    if (!t)
      return coverageMetric(0, 0, `nothing to measure: JaCoCo writes no ${type} counter (0 of 0)`);
    return coverageMetric(t.covered, t.covered + t.missed);
  };
  const summary: CoverageSummary = {
    lines: metric('LINE'),
    branches: metric('BRANCH'),
    functions: metric('METHOD'),
  };
  return { kind: 'coverage', format: 'jacoco', summary, warnings };
};
