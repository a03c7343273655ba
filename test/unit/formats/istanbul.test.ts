import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIstanbul } from '../../../functions/core/formats/istanbul';
import {
  istanbulLineHits,
  parseIstanbulFinal,
} from '../../../functions/core/formats/istanbul-final';
import { errorOf } from '../../helpers/errors';

const FIXTURES = join(__dirname, '../../fixtures');
const load = (rel: string): unknown => JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));

const metric = (covered: number, total: number) => ({ total, covered, skipped: 0, pct: 0 });
const summary = (over: Record<string, unknown> = {}) => ({
  total: {
    lines: metric(1, 2),
    statements: metric(1, 2),
    functions: metric(1, 1),
    branches: metric(0, 0),
    ...over,
  },
});

describe('parseIstanbul on the corpus', () => {
  it('reads the TSinjex coverage-summary.json totals', () => {
    // Prepare
    const doc = load('corpus/istanbul/tsinjex-coverage-summary.json');

    // Act
    const parsed = parseIstanbul(doc);

    // Assess: `total` in the file is lines 118/121, statements 124/128, functions 36/37,
    // branches 71/78; pct truncated to 2 decimals, as Istanbul wrote it (not 96.88, 97.3, 91.03).
    expect(parsed.kind).toBe('coverage');
    expect(parsed.format).toBe('istanbul');
    expect(parsed.summary).toEqual({
      lines: { pct: 97.52, covered: 118, total: 121 },
      statements: { pct: 96.87, covered: 124, total: 128 },
      functions: { pct: 97.29, covered: 36, total: 37 },
      branches: { pct: 91.02, covered: 71, total: 78 },
    });
    const { total } = doc as { total: Record<string, { pct: number }> };
    for (const [name, m] of Object.entries(parsed.summary)) expect(m?.pct).toBe(total[name]?.pct);
    expect(parsed.warnings).toEqual([]);
  });
});

describe('parseIstanbul semantics', () => {
  it('recomputes pct (ignoring the reported one) and reports 0 of 0 as not measured', () => {
    // Prepare
    const doc = summary({ lines: { total: 3, covered: 1, skipped: 0, pct: 'Unknown' } });

    // Act
    const parsed = parseIstanbul(doc);

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 33.33, covered: 1, total: 3 });
    expect(parsed.summary.branches).toEqual({
      pct: null,
      covered: 0,
      total: 0,
      reason: 'nothing to measure: 0 of 0',
    });
  });

  it('accepts a summary without statements', () => {
    // Prepare
    const doc = summary();
    delete (doc.total as Record<string, unknown>).statements;

    // Act
    const parsed = parseIstanbul(doc);

    // Assess
    expect(parsed.summary.statements).toBeUndefined();
  });

  it('ignores per-file keys, even malformed ones and __proto__/constructor', () => {
    // Prepare
    const doc = JSON.parse(
      '{"__proto__":{"total":{"lines":1}},"constructor":"x","/src/a.ts":"not an object",' +
        '"total":{"lines":{"total":4,"covered":4},"functions":{"total":1,"covered":0},' +
        '"branches":{"total":2,"covered":1},"statements":{"total":4,"covered":4}}}',
    );

    // Act
    const parsed = parseIstanbul(doc);

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 100, covered: 4, total: 4 });
    expect(parsed.summary.functions.pct).toBe(0);
  });
});

describe('parseIstanbul rejects bad input', () => {
  it.each([
    [
      'an object without total',
      { lines: 1 },
      'total: expected an object, got nothing (the field is missing)',
    ],
    ['an array', [summary()], '$: expected an object, got array'],
    ['total as an array', { total: [] }, 'total: expected an object, got array'],
    [
      'a missing metric',
      { total: { lines: metric(1, 1), functions: metric(1, 1) } },
      'total.branches: expected an object, got nothing',
    ],
    [
      'a number given as a string',
      summary({ lines: { total: '10', covered: 5 } }),
      'total.lines.total: expected a number, got string "10"',
    ],
    [
      'a metric given as a number',
      summary({ functions: 97.5 }),
      'total.functions: expected an object, got number 97.5',
    ],
    [
      'a negative count',
      summary({ branches: { total: 2, covered: -1 } }),
      'total.branches.covered: expected a number >= 0, got -1',
    ],
    [
      'more covered than total',
      summary({ lines: { total: 2, covered: 3 } }),
      'total.lines: covered (3) is more than total (2)',
    ],
  ])('%s', (_label, doc, message) => {
    // Prepare / Act
    const err = errorOf(() => parseIstanbul(doc));

    // Assess
    expect(err.code).toBe('invalid_report');
    expect(err.message).toContain('Invalid Istanbul coverage summary');
    expect(err.message).toContain(message);
    expect(err.location?.path).toBeTruthy();
  });
});

describe('coverage-final.json, odd entries', () => {
  it('counts hostile hit values as not hit and skips statements without a start line', () => {
    // Prepare
    const doc = {
      'a.ts': {
        statementMap: { 0: { start: { line: 1 } }, 1: { start: {} }, 2: 'x' },
        s: { 0: 'lots', 1: 1, 2: 1 },
        f: 'none',
        b: { 0: [1, '1'], 1: 'x' },
      },
    };

    // Act
    const parsed = parseIstanbulFinal(doc);

    // Assess
    expect(parsed.summary).toMatchObject({
      lines: { covered: 0, total: 1 },
      statements: { covered: 2, total: 3 },
      functions: { pct: null },
      branches: { covered: 1, total: 2 },
    });
    expect(istanbulLineHits({})).toEqual(new Map());
  });

  it('reads a document without files as nothing measured, with a warning', () => {
    const parsed = parseIstanbulFinal({});
    expect(parsed.summary.lines).toMatchObject({ pct: null, total: 0 });
    expect(parsed.summary.lines.reason).toContain('`{}`');
    expect(parsed.warnings).toEqual([expect.stringContaining('no files')]);
  });
});
