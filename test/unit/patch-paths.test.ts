import { describe, expect, it } from 'vitest';
import { parseReport } from '../../functions/core/formats/index';
import { computePatch, unwrapPatch, withPatchCheck } from '../../functions/core/patch/ingest';
import { type LineCoverage, lineCoverage } from '../../functions/core/patch/lines';
import { type ChangedLines, patchCoverage, readEnvelope } from '../../functions/core/patch/patch';

/** A monorepo's package `a` wrote this report (paths relative to packages/a). */
const packageA: LineCoverage = new Map([
  [
    'src/math.js',
    new Map([
      [1, true],
      [2, false],
      [3, true],
    ]),
  ],
]);

const gate = { status: 'pass' as const, checks: [] };

const patchMessage = (text: string, changed: ChangedLines | string, min = 80) => {
  const report = parseReport(text);
  const unwrapped = unwrapPatch({ patch: '1' }, JSON.stringify({ report: text, patch: changed }));
  const result = computePatch(report, text, unwrapped);
  const check = withPatchCheck(gate, report, result, min).checks.find(
    (c) => c.id === 'coverage.patch',
  );
  return { result, warnings: unwrapped.warnings, check };
};

describe('patch coverage in a monorepo (prefix)', () => {
  it("never credits one package's report to another package's file of the same name", () => {
    // Prepare: the change touches packages/b/src/math.js only; the report is package a's.
    const warnings: string[] = [];
    const changed: ChangedLines = {
      prefix: 'packages/a/',
      files: [{ path: 'packages/b/src/math.js', lines: [[1, 3]] }],
    };

    // Act
    const summary = patchCoverage(packageA, changed, warnings);

    // Assess: nothing counts, and the warning says the file is not in the report.
    expect(summary).toEqual({ coverable: 0, covered: 0, pct: null, files: [] });
    expect(warnings.join('\n')).toContain("'packages/b/src/math.js'");
    expect(warnings.join('\n')).toContain("read from 'packages/a/'");
  });

  it('resolves relative report paths against the prefix and matches them exactly', () => {
    // Prepare: both packages changed (pr-h): line 3 of a, lines 1-3 of b.
    const warnings: string[] = [];
    const changed: ChangedLines = {
      prefix: 'packages/a/',
      files: [
        { path: 'packages/a/src/math.js', lines: [[3, 3]] },
        { path: 'packages/b/src/math.js', lines: [[1, 3]] },
      ],
    };

    // Act
    const summary = patchCoverage(packageA, changed, warnings);

    // Assess: 1/1, from package a only; b is named as missing from the report.
    expect(summary).toEqual({
      coverable: 1,
      covered: 1,
      pct: 100,
      files: [{ path: 'packages/a/src/math.js', uncovered: [] }],
    });
    expect(warnings).toEqual([
      "Patch coverage: 1 changed code file is not in the coverage report (its relative paths were read from 'packages/a/', where vigil report ran) and does not count: 'packages/b/src/math.js'.",
    ]);
  });

  it('without a prefix, one report file matched by two changed files is ambiguous', () => {
    // Prepare: an older CLI sends no prefix; both packages' math.js end with src/math.js.
    const warnings: string[] = [];
    const changed: ChangedLines = {
      files: [
        { path: 'packages/a/src/math.js', lines: [[3, 3]] },
        { path: 'packages/b/src/math.js', lines: [[1, 3]] },
      ],
    };

    // Act
    const summary = patchCoverage(packageA, changed, warnings);

    // Assess: neither counts (no merged 2/3), and the warning names both.
    expect(summary).toMatchObject({ coverable: 0, covered: 0, pct: null });
    expect(warnings.join('\n')).toContain(
      "'src/math.js' ('packages/a/src/math.js', 'packages/b/src/math.js')",
    );
  });

  it("folds '..' inside the repository and every leading './'", () => {
    // Prepare: report paths with './' runs and '..' relative to packages/a.
    const cov: LineCoverage = new Map([
      ['./././src/x.js', new Map([[1, true]])],
      ['../b/src/y.js', new Map([[1, false]])],
      ['../../../outside.js', new Map([[1, true]])],
    ]);
    const warnings: string[] = [];

    // Act
    const summary = patchCoverage(
      cov,
      {
        prefix: 'packages/a/',
        files: [
          { path: 'packages/a/src/x.js', lines: [[1, 1]] },
          { path: 'packages/b/src/y.js', lines: [[1, 1]] },
        ],
      },
      warnings,
    );

    // Assess: both matched exactly (no "common ending" warning).
    expect(summary).toMatchObject({ coverable: 2, covered: 1, pct: 50 });
    expect(warnings).toEqual([]);
    // Without a prefix, './' runs are stripped too.
    const plain = patchCoverage(cov, { files: [{ path: 'src/x.js', lines: [[1, 1]] }] }, []);
    expect(plain).toMatchObject({ coverable: 1, covered: 1 });
  });

  it('merges two spellings of one report file, and one changed file listed twice', () => {
    // Prepare: a Windows CI's absolute path and the same file relative, a path climbing out
    // (no prefix: kept by its ending), and the changed file named twice.
    const cov: LineCoverage = new Map([
      ['C:\\w\\repo\\src\\a.ts', new Map([[1, false]])],
      ['C:/w/repo/src/a.ts', new Map([[2, true]])],
      ['../../src/b.ts', new Map([[1, true]])],
    ]);
    const warnings: string[] = [];

    // Act
    const summary = patchCoverage(
      cov,
      {
        files: [
          { path: 'src/a.ts', lines: [[1, 1]] },
          { path: './src/a.ts', lines: [[2, 2]] },
          { path: 'src/b.ts', lines: [[1, 1]] },
        ],
      },
      warnings,
    );

    // Assess: a.ts is one file (1 of its 2 changed lines covered), b.ts found by its ending.
    expect(summary).toMatchObject({ coverable: 3, covered: 2 });
    expect(summary.files).toEqual([
      { path: 'src/a.ts', uncovered: [1] },
      { path: 'src/b.ts', uncovered: [] },
    ]);
  });

  it('validates the prefix strictly', () => {
    const envelope = (prefix: unknown) =>
      readEnvelope(JSON.stringify({ report: 'x', patch: { prefix, files: [] } }));
    expect(envelope('').patch).toEqual({ prefix: '', files: [] });
    expect(envelope('packages/a/').patch).toEqual({ prefix: 'packages/a/', files: [] });
    for (const bad of [
      '../',
      'a/../',
      '/abs/',
      'a',
      'a//',
      './',
      'a\\b/',
      `${'x'.repeat(1030)}/`,
      7,
    ])
      expect(envelope(bad).warning).toContain('patch.prefix');
  });
});

describe('patch coverage messages', () => {
  const lcov = 'SF:src/a.ts\nDA:1,1\nDA:2,0\nend_of_record\n';

  it('an invalid patch: the gate check says why, not that nothing was sent', () => {
    const { check, warnings } = patchMessage(lcov, {
      files: [{ path: 'src/a.ts', lines: [[0, 1]] }],
    } as unknown as ChangedLines);
    expect(warnings[0]).toContain('the changed lines are invalid at patch.files.0.lines.0.0');
    expect(check?.status).toBe('skip');
    expect(check?.message).toContain('the changed lines are invalid at patch.files.0.lines.0.0');
    expect(check?.message).not.toContain('no changed lines were sent');
  });

  it("a Go cover profile: its blocks give lines, matched to the changed file by the import path's ending", () => {
    const { result, warnings } = patchMessage(
      'mode: set\nexample.com/m/a.go:1.1,3.2 2 1\nexample.com/m/a.go:5.1,5.9 1 0\n',
      { prefix: '', files: [{ path: 'a.go', lines: [[1, 5]] }] },
    );
    expect(result.patch).toEqual({
      coverable: 4,
      covered: 3,
      pct: 75,
      files: [{ path: 'a.go', uncovered: [5] }],
    });
    expect(warnings).toEqual([]);
  });

  it('SonarQube generic coverage: its lineToCover lines give patch coverage', () => {
    const xml =
      '<coverage version="1"><file path="src/a.ts"><lineToCover lineNumber="1" covered="true"/><lineToCover lineNumber="2" covered="false"/></file></coverage>';
    const { result, check, warnings } = patchMessage(xml, {
      prefix: '',
      files: [{ path: 'src/a.ts', lines: [[1, 5]] }],
    });
    expect(result.patch).toEqual({
      coverable: 2,
      covered: 1,
      pct: 50,
      files: [{ path: 'src/a.ts', uncovered: [2] }],
    });
    expect(warnings).toEqual([]);
    expect(check).toMatchObject({ status: 'fail' });
  });

  it('a docs-only change says nothing about other checkouts', () => {
    const { result, warnings, check } = patchMessage(lcov, {
      files: [{ path: 'README.md', lines: [[1, 4]] }],
    });
    expect(result.patch?.pct).toBeNull();
    expect(warnings).toEqual([]);
    expect(check?.message).toBe('Patch coverage not checked: no changed line is coverable.');
  });

  it('names changed code files missing from the report, and the skip says so', () => {
    const { warnings, check } = patchMessage(lcov, {
      files: [
        { path: 'src/a.ts', lines: [[5, 6]] },
        { path: 'src/b.ts', lines: [[1, 2]] },
        { path: 'docs/x.md', lines: [[1, 2]] },
      ],
    });
    expect(warnings).toEqual([
      "Patch coverage: 1 changed code file is not in the coverage report and does not count: 'src/b.ts'.",
    ]);
    expect(check?.message).toContain('1 changed code file is not in it');
  });

  it('bounds the list of missing files', () => {
    const files = Array.from({ length: 13 }, (_, i) => ({
      path: `src/m${i}.ts`,
      lines: [[1, 1]] as [number, number][],
    }));
    const { warnings } = patchMessage(lcov, {
      files: [{ path: 'src/a.ts', lines: [[1, 1]] }, ...files],
    });
    expect(warnings[0]).toContain("'src/m9.ts' and 3 more.");
    expect(warnings[0]).not.toContain('src/m10.ts');
  });

  it('says how many uncovered lines past 1000 per file are not listed', () => {
    const cov: LineCoverage = new Map([
      ['a.ts', new Map(Array.from({ length: 1200 }, (_, i) => [i + 1, false]))],
    ]);
    const warnings: string[] = [];
    const summary = patchCoverage(cov, { files: [{ path: 'a.ts', lines: [[1, 1200]] }] }, warnings);
    expect(summary.coverable).toBe(1200);
    expect(summary.files[0]?.uncovered).toHaveLength(1000);
    expect(warnings.join('\n')).toContain("'a.ts' and 200 more");
  });

  it('lists 500 files and counts the rest, saying so', () => {
    const names = Array.from({ length: 503 }, (_, i) => `f${i}.ts`);
    const cov: LineCoverage = new Map(names.map((n) => [n, new Map([[1, false]])]));
    const warnings: string[] = [];
    const summary = patchCoverage(
      cov,
      { files: names.map((path) => ({ path, lines: [[1, 1]] })) },
      warnings,
    );
    expect(summary.coverable).toBe(503);
    expect(summary.files).toHaveLength(500);
    expect(warnings).toContain(
      'Patch coverage: 500 files are listed and 3 more with coverable changed lines are not (they count).',
    );
  });
});

describe('Cobertura lines for patch coverage', () => {
  it('counts the class lines, not the method lines, like the summary', () => {
    // Prepare: line 5 only under <method>; lines 1 and 2 are the class's own lines.
    const xml = `<coverage><packages><package><classes><class filename="a.ts">
<methods><method name="f"><lines><line number="5" hits="0"/><line number="1" hits="1"/></lines></method></methods>
<lines><line number="1" hits="1"/><line number="2" hits="0"/></lines>
</class></classes></package></packages></coverage>`;

    // Act
    const cov = lineCoverage(xml, 'cobertura');
    const summary = cov && patchCoverage(cov, { files: [{ path: 'a.ts', lines: [[1, 9]] }] }, []);

    // Assess: the same two lines as the summary.
    expect(summary).toMatchObject({ coverable: 2, covered: 1 });
    const report = parseReport(xml);
    expect(report.kind === 'coverage' && report.summary.lines).toMatchObject({
      total: 2,
      covered: 1,
    });
  });
});
