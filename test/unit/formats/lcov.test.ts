import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLcov } from '../../../functions/core/formats/lcov';
import { errorOf } from '../../helpers/errors';

const FIXTURES = join(__dirname, '../../fixtures');
const read = (rel: string): string => readFileSync(join(FIXTURES, rel), 'utf8');

const lcov = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('parseLcov on the corpus', () => {
  it('reads coveralls-test.lcov (no TN on the first record, u64-max hit count)', () => {
    // Prepare
    const text = read('corpus/lcov/coveralls-test.lcov');

    // Act
    const parsed = parseLcov(text);

    // Assess: LF/LH 1/1 + 2/2 + 14/13; FNF/FNH 0/0 + 0/0 + 6/5; BRF/BRH 0/0 + 0/0 + 8/7.
    expect(parsed.kind).toBe('coverage');
    expect(parsed.format).toBe('lcov');
    expect(parsed.summary).toEqual({
      lines: { pct: 94.12, covered: 16, total: 17 },
      functions: { pct: 83.33, covered: 5, total: 6 },
      branches: { pct: 87.5, covered: 7, total: 8 },
    });
    expect(parsed.summary.statements).toBeUndefined();
    expect(parsed.warnings).toEqual([]);
  });

  it('reads dorny-lcov.info (two records)', () => {
    // Prepare
    const text = read('corpus/lcov/dorny-lcov.info');

    // Act
    const parsed = parseLcov(text);

    // Assess: LF/LH 21/21 + 17/17; FNF/FNH 10/10 + 3/3; BRF/BRH 6/3 + 4/3.
    expect(parsed.summary).toEqual({
      lines: { pct: 100, covered: 38, total: 38 },
      functions: { pct: 100, covered: 13, total: 13 },
      branches: { pct: 60, covered: 6, total: 10 },
    });
  });

  it('counts the coveralls record the same way from its detail lines alone', () => {
    // Prepare: drop every summary line, keeping DA/FN/FNDA/BRDA.
    const text = read('corpus/lcov/coveralls-test.lcov')
      .split('\n')
      .filter((l) => !/^(LF|LH|FNF|FNH|BRF|BRH):/.test(l))
      .join('\n');

    // Act
    const parsed = parseLcov(text);

    // Assess: DA:13,18446744073709551615 counts as hit, DA:35,0 does not.
    expect(parsed.summary).toEqual({
      lines: { pct: 94.12, covered: 16, total: 17 },
      functions: { pct: 83.33, covered: 5, total: 6 },
      branches: { pct: 87.5, covered: 7, total: 8 },
    });
  });
});

describe('parseLcov detail-line fallbacks', () => {
  it('counts distinct DA lines, merging repeats', () => {
    // Prepare
    const text = lcov('SF:a.js', 'DA:1,0', 'DA:1,3', 'DA:2,0', 'DA:3,-1', 'end_of_record');

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 66.67, covered: 2, total: 3 });
  });

  it('counts functions from FN/FNDA, lcov 2 FN with an end line, and FNA', () => {
    // Prepare
    const text = lcov(
      'SF:a.c',
      'FN:1,main',
      'FN:5,9,helper',
      'FN:12,operator,',
      'FNDA:4,main',
      'FNDA:0,helper',
      'FNDA:1,operator,',
      'end_of_record',
      'SF:b.c',
      'FNL:0,3,7',
      'FNA:0,0,unused',
      'FNA:1,2,used',
      'end_of_record',
    );

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.functions).toEqual({ pct: 60, covered: 3, total: 5 });
  });

  it('keeps a function hit when FNDA comes before its FN line or FN repeats it', () => {
    // Prepare: lcov files merged by hand list FNDA before FN and repeat FN lines.
    const text = lcov(
      'SF:a.c',
      'FNDA:3,early',
      'FN:1,early',
      'FN:1,early',
      'FN:9,never',
      'end_of_record',
    );

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.functions).toEqual({ pct: 50, covered: 1, total: 2 });
  });

  it("counts BRDA branches, '-' meaning never taken", () => {
    // Prepare
    const text = lcov('SF:a.js', 'BRDA:3,0,0,-', 'BRDA:3,0,1,2', 'BRDA:4,e0,0,0', 'end_of_record');

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.branches).toEqual({ pct: 33.33, covered: 1, total: 3 });
  });

  it('prefers LF/LH over DA lines when both are present', () => {
    // Prepare
    const text = lcov('SF:a.js', 'DA:1,1', 'LF:10', 'LH:7', 'end_of_record');

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 70, covered: 7, total: 10 });
  });

  it('reads CRLF line endings, a BOM, blank lines and VER/TN lines', () => {
    // Prepare
    const text = '\uFEFFVER:2.0\r\nTN:unit\r\n\r\nSF:a.js\r\nDA:1,1\r\nDA:2,0\r\nend_of_record\r\n';

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 50, covered: 1, total: 2 });
    expect(parsed.warnings).toEqual([]);
  });

  it('reports an empty record as not measured, never 100%', () => {
    // Prepare / Act
    const parsed = parseLcov(lcov('SF:empty.js', 'end_of_record'));

    // Assess
    expect(parsed.summary.lines).toEqual({
      pct: null,
      covered: 0,
      total: 0,
      reason: 'not measured: the LCOV report has no DA/LF records (0 of 0)',
    });
    expect(parsed.summary.branches.reason).toContain('BRDA/BRF');
  });

  it('treats __proto__ and constructor as ordinary function and file names', () => {
    // Prepare
    const text = lcov(
      'SF:__proto__',
      'FN:1,__proto__',
      'FN:2,constructor',
      'FNDA:1,__proto__',
      'FNDA:0,constructor',
      'end_of_record',
    );

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.functions).toEqual({ pct: 50, covered: 1, total: 2 });
  });
});

describe('parseLcov warnings', () => {
  it('accepts a last record without end_of_record, with a warning', () => {
    // Prepare / Act
    const parsed = parseLcov('SF:a.js\nDA:1,1');

    // Assess
    expect(parsed.summary.lines.total).toBe(1);
    expect(parsed.warnings).toEqual([
      'The last record (a.js, line 1) has no end_of_record; counted anyway.',
    ]);
  });

  it('ignores unknown TAG: lines and repeated source files, with warnings', () => {
    // Prepare
    const text = lcov(
      'SF:a.js',
      'MCDC:1,0,t,1,0,x',
      'DA:1,1',
      'end_of_record',
      'SF:a.js',
      'end_of_record',
    );

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.lines).toMatchObject({ covered: 1, total: 1 });
    expect(parsed.warnings).toEqual(['Ignored unknown LCOV line types: MCDC.', MERGED]);
  });
});

const MERGED =
  '1 source file(s) appear in more than one record (shard outputs joined?); their records were merged as lcov does: a line, branch or function counts once, covered if any record hit it.';

describe('parseLcov merges records of one source file (shards joined with cat)', () => {
  it('counts a line once, covered if any record hit it: 2 of 3 lines, as genhtml says', () => {
    // Prepare
    const text = lcov(
      'SF:src/a.js',
      'DA:1,1',
      'DA:2,0',
      'DA:3,0',
      'LF:3',
      'LH:1',
      'end_of_record',
      'SF:src/b.js',
      'DA:1,1',
      'LF:1',
      'LH:1',
      'end_of_record',
      'SF:src/a.js',
      'DA:1,0',
      'DA:2,4',
      'DA:3,0',
      'LF:3',
      'LH:1',
      'end_of_record',
    );

    // Act
    const parsed = parseLcov(text);

    // Assess: a.js 2 of 3 distinct lines, b.js 1 of 1.
    expect(parsed.summary.lines).toEqual({ pct: 75, covered: 3, total: 4 });
    expect(parsed.warnings).toEqual([MERGED]);
  });

  it('reads the brief example as 66.67%, not 33.33%', () => {
    // Prepare
    const rec = (hit: number) => [
      'SF:src/a.js',
      ...[1, 2, 3].map((l) => `DA:${l},${l === hit ? 1 : 0}`),
      'LF:3',
      'LH:1',
      'end_of_record',
    ];

    // Act
    const parsed = parseLcov(lcov(...rec(1), ...rec(2)));

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 66.67, covered: 2, total: 3 });
  });

  it('merges branches by (line, block, branch) and functions by name', () => {
    // Prepare
    const text = lcov(
      'SF:a.js',
      'FN:1,f',
      'FN:5,g',
      'FNDA:1,f',
      'FNDA:0,g',
      'FNF:2',
      'FNH:1',
      'BRDA:2,0,0,1',
      'BRDA:2,0,1,-',
      'BRF:2',
      'BRH:1',
      'DA:1,1',
      'end_of_record',
      'SF:a.js',
      'FN:1,2,f',
      'FN:5,6,g',
      'FN:9,h',
      'FNDA:0,f',
      'FNDA:3,g',
      'FNDA:0,h',
      'BRDA:2,0,0,0',
      'BRDA:2,0,1,2',
      'BRDA:7,0,0,0',
      'DA:1,0',
      'end_of_record',
    );

    // Act
    const parsed = parseLcov(text);

    // Assess
    expect(parsed.summary.functions).toEqual({ pct: 66.67, covered: 2, total: 3 });
    expect(parsed.summary.branches).toEqual({ pct: 66.67, covered: 2, total: 3 });
    expect(parsed.summary.lines).toEqual({ pct: 100, covered: 1, total: 1 });
    expect(parsed.warnings).toEqual([MERGED]);
  });

  it('adds records that have only LF/LH summaries, as before, with a warning', () => {
    // Prepare
    const rec = ['SF:a.js', 'LF:3', 'LH:1', 'end_of_record'];

    // Act
    const parsed = parseLcov(lcov(...rec, ...rec));

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 33.33, covered: 2, total: 6 });
    expect(parsed.warnings).toEqual([
      '1 source file(s) appear in more than one record with only summary counts (LF/LH, BRF/BRH or FNF/FNH without DA, BRDA or FN/FNDA lines to merge them by); each record is counted.',
    ]);
  });

  it('keeps per-record counts when one record of a file has DA lines and the other only LF/LH', () => {
    // Act
    const parsed = parseLcov(
      lcov('SF:a.js', 'DA:1,1', 'end_of_record', 'SF:a.js', 'LF:2', 'LH:0', 'end_of_record'),
    );

    // Assess
    expect(parsed.summary.lines).toMatchObject({ covered: 1, total: 3 });
    expect(parsed.warnings).toEqual([
      '1 source file(s) appear in more than one record with only summary counts (LF/LH, BRF/BRH or FNF/FNH without DA, BRDA or FN/FNDA lines to merge them by); each record is counted.',
    ]);
  });
});

describe('parseLcov rejects bad input', () => {
  it.each([
    ['an empty text', '', 'no SF: record found', undefined],
    ['only a test name', 'TN:x\n', 'no SF: record found', undefined],
    [
      'a garbage line',
      lcov('SF:a.js', 'DA:1,1', 'hello world', 'end_of_record'),
      'line 3: not an LCOV line: "hello world"',
      3,
    ],
    ['a lowercase tag', lcov('SF:a.js', 'da:1,1'), 'line 2: not an LCOV line', 2],
    [
      'a long garbage line',
      lcov('SF:a.js', 'x'.repeat(100)),
      `line 2: not an LCOV line: "${'x'.repeat(59)}…"`,
      2,
    ],
    ['a JSON document', '{"total": {}}', 'line 1: not an LCOV line', 1],
    ['a DA line before any SF', lcov('DA:1,1', 'SF:a.js'), 'line 1: DA: line outside a record', 1],
    [
      'end_of_record without SF',
      lcov('end_of_record'),
      'line 1: end_of_record without a preceding SF',
      1,
    ],
    [
      'a second SF without end_of_record',
      lcov('SF:a.js', 'DA:1,1', 'SF:b.js'),
      'line 3: SF: line inside the record that starts at line 1',
      3,
    ],
    ['an empty SF', lcov('SF:', 'end_of_record'), 'line 1: SF: the source file name is empty', 1],
    [
      'a non-numeric count',
      lcov('SF:a.js', 'LF:ten', 'end_of_record'),
      'line 2: LF: expected a non-negative integer, got "ten"',
      2,
    ],
    [
      'a negative count',
      lcov('SF:a.js', 'BRH:-1', 'end_of_record'),
      'line 2: BRH: expected a non-negative integer',
      2,
    ],
    [
      'a non-numeric hit count',
      lcov('SF:a.js', 'DA:3,lots', 'end_of_record'),
      'line 2: DA: expected an integer count, got "lots"',
      2,
    ],
    [
      'a DA without a count',
      lcov('SF:a.js', 'DA:3', 'end_of_record'),
      'line 2: DA: expected at least 2 comma-separated fields',
      2,
    ],
    [
      'a DA with a bad line number',
      lcov('SF:a.js', 'DA:x,1', 'end_of_record'),
      'line 2: DA: expected a line number, got "x"',
      2,
    ],
    [
      'a BRDA with three fields',
      lcov('SF:a.js', 'BRDA:1,0,1', 'end_of_record'),
      'line 2: BRDA: expected at least 4',
      2,
    ],
    [
      'LH above LF',
      lcov('TN:', 'SF:a.js', 'LF:2', 'LH:3', 'end_of_record'),
      'line 2: record for "a.js": LH (3) is more than LF (2)',
      2,
    ],
  ])('%s', (_label, text, message, line) => {
    // Prepare / Act
    const err = errorOf(() => parseLcov(text));

    // Assess
    expect(err.code).toBe('invalid_report');
    expect(err.message).toContain('Invalid LCOV report');
    expect(err.message).toContain(message);
    expect(err.location?.line).toBe(line);
  });
});
