import { describe, expect, it } from 'vitest';
import type { LineCoverage } from '../../functions/core/patch/lines';
import { patchCoverage } from '../../functions/core/patch/patch';
import { cpuMs } from '../helpers/cpu-time';

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

  it('counts each changed line once, however often the patch repeats it', () => {
    // Prepare: line 1 covered, lines 2-10 not; the patch names line 1 two hundred times,
    // and lines 2-10 in overlapping ranges and under a second spelling of the path.
    const cov: LineCoverage = new Map([
      ['a.ts', new Map(Array.from({ length: 10 }, (_, i) => [i + 1, i === 0]))],
    ]);
    const ones = Array.from({ length: 200 }, (): [number, number] => [1, 1]);

    // Act
    const summary = patchCoverage(
      cov,
      {
        files: [
          { path: 'a.ts', lines: [...ones, [2, 10], [4, 6]] },
          { path: './a.ts', lines: [[9, 10]] },
        ],
      },
      [],
    );

    // Assess: the change's real coverage, 1 of 10 lines.
    expect(summary).toMatchObject({ coverable: 10, covered: 1, pct: 10 });
    expect(summary.files).toEqual([{ path: 'a.ts', uncovered: [2, 3, 4, 5, 6, 7, 8, 9, 10] }]);
  });

  it('costs what the coverage report holds, not what the ranges span', () => {
    // Prepare: 10,000 ranges of a million lines each over a file with one coverable line.
    const cov: LineCoverage = new Map([['a.ts', lines({ 1: true })]]);
    const wide = Array.from({ length: 10_000 }, (): [number, number] => [1, 999_999]);

    // Act
    const { value: summary, ms } = cpuMs(() =>
      patchCoverage(cov, { files: [{ path: 'a.ts', lines: wide }] }, []),
    );

    // Assess: walking every range's span took seconds; this is milliseconds (bound generous).
    expect(ms).toBeLessThan(1000);
    expect(summary).toMatchObject({ coverable: 1, covered: 1, pct: 100 });
  });
});
