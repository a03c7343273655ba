import { describe, expect, it } from 'vitest';
import type { LineCoverage } from '../../functions/core/patch/lines';
import { patchCoverage } from '../../functions/core/patch/patch';

const lines = (hits: Record<number, boolean>) =>
  new Map(Object.entries(hits).map(([n, hit]) => [Number(n), hit]));

describe('patchCoverage', () => {
  it('matches a repository path to the longest report path ending with it', () => {
    // Prepare: three absolute paths end with src/x.ts; the longest is the closest match.
    const cov: LineCoverage = new Map([
      ['/a/src/x.ts', lines({ 1: true })],
      ['/ci/work/src/x.ts', lines({ 1: false })],
      ['/b/src/x.ts', lines({ 1: true })],
    ]);

    // Act
    const summary = patchCoverage(cov, { files: [{ path: 'src/x.ts', lines: [[1, 1]] }] }, []);

    // Assess
    expect(summary).toMatchObject({ coverable: 1, covered: 0, pct: 0 });
    expect(summary.files).toEqual([{ path: 'src/x.ts', uncovered: [1] }]);
  });

  it('lists at most 500 files, and none whose changed lines are not coverable', () => {
    // Prepare: 501 files with one uncovered changed line, and one whose changes are comments.
    const paths = Array.from({ length: 501 }, (_, i) => `f${i}.ts`);
    const cov: LineCoverage = new Map([
      ...paths.map((p): [string, Map<number, boolean>] => [p, lines({ 2: false })]),
      ['comments.ts', lines({ 9: true })],
    ]);
    const files = [...paths, 'comments.ts'].map((path) => ({
      path,
      lines: [[1, 3]] as [number, number][],
    }));

    // Act
    const summary = patchCoverage(cov, { files }, []);

    // Assess: every file counts, only the first 500 are listed.
    expect(summary).toMatchObject({ coverable: 501, covered: 0 });
    expect(summary.files).toHaveLength(500);
    expect(summary.files.some((f) => f.path === 'comments.ts')).toBe(false);
  });
});
