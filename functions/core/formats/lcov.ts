import { invalidReport } from '../errors';
import { coverageMetric, type ParsedCoverage } from './types';

/**
 * LCOV tracefile (geninfo format): records `SF:` … `end_of_record`, summed over all records.
 * Records for the same source file (shard outputs joined with `cat`) are merged first, as
 * `lcov -a` and genhtml do: a line (DA), branch (BRDA line,block,branch) or function (FN/FNDA
 * name) counts once, covered when any record hit it. A metric whose records give only the
 * summary counts (LF/LH without DA…) cannot be merged: those records are added, with a warning.
 *
 * Per record, the summary lines win (LF/LH, FNF/FNH, BRF/BRH); without them the detail lines
 * are counted: DA (distinct lines, hit when the count is not 0), FN/FNDA (distinct function
 * names, hit when FNDA > 0; lcov 2's FNA too), BRDA (distinct branches, `-` = not taken).
 * Hit counts are compared as text, so counts beyond 2^53 such as 18446744073709551615 (an
 * unsigned -1 some tools write) still count as hit. LCOV has no statements. A metric with
 * 0 of 0 (no records of that kind: e.g. lcov run with branch coverage off) is not measured.
 * A missing `TN:` is fine; records of one file under distinct `TN:` names (what `lcov -a` writes
 * for runs with different test names) are merged without a warning. Unknown `TAG:value` lines are ignored with a warning; anything
 * else is rejected with its line number.
 */

const WHAT = 'LCOV report';

interface Totals {
  linesFound: number;
  linesHit: number;
  fnFound: number;
  fnHit: number;
  brFound: number;
  brHit: number;
}

class LcovRecord {
  readonly startLine: number;
  readonly file: string;
  /** The `TN:` test name in force when the record started ('' without one). */
  testName = '';
  lf?: number;
  lh?: number;
  fnf?: number;
  fnh?: number;
  brf?: number;
  brh?: number;
  /** Line number -> hit, from DA. */
  readonly da = new Map<string, boolean>();
  /** Function name -> hit, from FN/FNDA/FNA. */
  readonly fn = new Map<string, boolean>();
  /** `line,block,branch` -> taken, from BRDA. */
  readonly brda = new Map<string, boolean>();

  constructor(file: string, startLine: number) {
    this.file = file;
    this.startLine = startLine;
  }

  totals(): Totals {
    const hits = (m: Map<string, boolean>) => [...m.values()].filter(Boolean).length;
    return {
      linesFound: this.lf ?? this.da.size,
      linesHit: this.lh ?? hits(this.da),
      fnFound: this.fnf ?? this.fn.size,
      fnHit: this.fnh ?? hits(this.fn),
      brFound: this.brf ?? this.brda.size,
      brHit: this.brh ?? hits(this.brda),
    };
  }
}

const INTEGER = /^-?\d+$/;
const ZERO = /^-?0+$/;
const TAG = /^([A-Z][A-Z0-9_]*):(.*)$/;
const RECORD_TAGS = new Set([
  'DA',
  'LF',
  'LH',
  'FN',
  'FNDA',
  'FNF',
  'FNH',
  'FNL',
  'FNA',
  'BRDA',
  'BRF',
  'BRH',
]);

const bad = (line: number, what: string) =>
  invalidReport(`Invalid ${WHAT}: line ${line}: ${what}`, { line });

/** Why a metric with no records is null, not 100%. */
const notIn = (tags: string): string =>
  `not measured: the LCOV report has no ${tags} records (0 of 0)`;

const preview = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 59)}…` : s);

/** A non-negative integer field (LF, LH, FNF…). */
const countField = (value: string, tag: string, line: number): number => {
  const v = value.trim();
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw bad(line, `${tag}: expected a non-negative integer, got ${preview(v)}`);
  return Number(v);
};

/** An execution count: any integer; "hit" when it is not zero. */
const hitField = (value: string, tag: string, line: number): boolean => {
  const v = value.trim();
  if (!INTEGER.test(v)) throw bad(line, `${tag}: expected an integer count, got ${preview(v)}`);
  return !ZERO.test(v);
};

const splitFields = (value: string, min: number, tag: string, line: number): string[] => {
  const parts = value.split(',');
  if (parts.length < min)
    throw bad(
      line,
      `${tag}: expected at least ${min} comma-separated fields, got ${preview(value)}`,
    );
  return parts;
};

export const parseLcov = (text: string): ParsedCoverage => {
  const warnings: string[] = [];
  const records: LcovRecord[] = [];
  const close = (rec: LcovRecord) => records.push(rec);
  const unknownTags = new Set<string>();
  let current: LcovRecord | undefined;
  let testName = '';

  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const line = (i === 0 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (line === '') continue;

    if (line === 'end_of_record') {
      if (!current) throw bad(lineNo, 'end_of_record without a preceding SF: line');
      close(current);
      current = undefined;
      continue;
    }

    const m = TAG.exec(line);
    if (!m) throw bad(lineNo, `not an LCOV line: ${preview(line)}`);
    const [, tag = '', value = ''] = m;

    if (tag === 'TN') {
      testName = value.trim();
      continue;
    }
    if (tag === 'VER') continue;
    if (tag === 'SF') {
      if (current)
        throw bad(
          lineNo,
          `SF: line inside the record that starts at line ${current.startLine} (missing end_of_record)`,
        );
      if (value.trim() === '') throw bad(lineNo, 'SF: the source file name is empty');
      current = new LcovRecord(value, lineNo);
      current.testName = testName;
      continue;
    }

    if (!RECORD_TAGS.has(tag)) {
      unknownTags.add(tag);
      continue;
    }
    if (!current) throw bad(lineNo, `${tag}: line outside a record (no SF: line before it)`);
    const rec = current;

    switch (tag) {
      case 'DA': {
        const [ln = '', hits = ''] = splitFields(value, 2, tag, lineNo);
        if (!/^\d+$/.test(ln.trim()))
          throw bad(lineNo, `DA: expected a line number, got ${preview(ln)}`);
        const hit = hitField(hits, tag, lineNo);
        const key = ln.trim();
        rec.da.set(key, (rec.da.get(key) ?? false) || hit);
        break;
      }
      case 'FN': {
        // FN:<start>,<name> (lcov 1) or FN:<start>,<end>,<name> (lcov 2); names may hold commas.
        const [, second = '', ...more] = splitFields(value, 2, tag, lineNo);
        const name = (
          more.length > 0 && INTEGER.test(second.trim()) ? more : [second, ...more]
        ).join(',');
        if (!rec.fn.has(name)) rec.fn.set(name, false);
        break;
      }
      case 'FNDA': {
        const [count = '', ...names] = splitFields(value, 2, tag, lineNo);
        const hit = hitField(count, tag, lineNo);
        const name = names.join(',');
        rec.fn.set(name, (rec.fn.get(name) ?? false) || hit);
        break;
      }
      case 'FNL':
        break;
      case 'FNA': {
        // FNA:<index>,<count>,<name> (lcov 2).
        const [, count = '', ...names] = splitFields(value, 3, tag, lineNo);
        const hit = hitField(count, tag, lineNo);
        const name = names.join(',');
        rec.fn.set(name, (rec.fn.get(name) ?? false) || hit);
        break;
      }
      case 'BRDA': {
        // BRDA:<line>,<block>,<branch>,<taken>; taken is '-' when never evaluated.
        const parts = splitFields(value, 4, tag, lineNo);
        const taken = String(parts.pop()).trim();
        const hit = taken === '-' ? false : hitField(taken, tag, lineNo);
        const key = parts.join(',');
        rec.brda.set(key, (rec.brda.get(key) ?? false) || hit);
        break;
      }
      case 'LF':
        rec.lf = countField(value, tag, lineNo);
        break;
      case 'LH':
        rec.lh = countField(value, tag, lineNo);
        break;
      case 'FNF':
        rec.fnf = countField(value, tag, lineNo);
        break;
      case 'FNH':
        rec.fnh = countField(value, tag, lineNo);
        break;
      case 'BRF':
        rec.brf = countField(value, tag, lineNo);
        break;
      case 'BRH':
        rec.brh = countField(value, tag, lineNo);
        break;
    }
  }

  if (current) {
    warnings.push(
      `The last record (${current.file}, line ${current.startLine}) has no end_of_record; counted anyway.`,
    );
    close(current);
  }
  if (records.length === 0)
    throw invalidReport(`Invalid ${WHAT}: no SF: record found (is this an LCOV tracefile?)`);
  if (unknownTags.size > 0)
    warnings.push(`Ignored unknown LCOV line types: ${[...unknownTags].sort().join(', ')}.`);

  const sum: Totals = { linesFound: 0, linesHit: 0, fnFound: 0, fnHit: 0, brFound: 0, brHit: 0 };
  const byFile = new Map<string, LcovRecord[]>();
  for (const rec of records) {
    const t = rec.totals();
    const check = (hit: number, found: number, hitTag: string, foundTag: string) => {
      if (hit > found)
        throw bad(
          rec.startLine,
          `record for ${preview(rec.file)}: ${hitTag} (${hit}) is more than ${foundTag} (${found})`,
        );
    };
    check(t.linesHit, t.linesFound, 'LH', 'LF');
    check(t.fnHit, t.fnFound, 'FNH', 'FNF');
    check(t.brHit, t.brFound, 'BRH', 'BRF');
    const group = byFile.get(rec.file);
    if (group) group.push(rec);
    else byFile.set(rec.file, [rec]);
  }

  let merged = 0;
  let added = 0;
  for (const group of byFile.values()) {
    const totals = group.map((rec) => rec.totals());
    if (group.length === 1) {
      const [t] = totals as [Totals];
      sum.linesFound += t.linesFound;
      sum.linesHit += t.linesHit;
      sum.fnFound += t.fnFound;
      sum.fnHit += t.fnHit;
      sum.brFound += t.brFound;
      sum.brHit += t.brHit;
      continue;
    }
    let mergedHere = false;
    let addedHere = false;
    /**
     * One metric of a repeated file: the union of the records' detail lines, or, when a record
     * has a summary count but no detail lines to merge by, the records' counts added.
     */
    const metric = (
      detail: (rec: LcovRecord) => Map<string, boolean>,
      found: (t: Totals) => number,
      hit: (t: Totals) => number,
    ): [number, number] => {
      const mergeable = group.every(
        (rec, i) => detail(rec).size > 0 || found(totals[i] as Totals) === 0,
      );
      if (!mergeable) {
        addedHere = true;
        return [totals.reduce((n, t) => n + hit(t), 0), totals.reduce((n, t) => n + found(t), 0)];
      }
      const union = new Map<string, boolean>();
      for (const rec of group)
        for (const [key, h] of detail(rec)) union.set(key, (union.get(key) ?? false) || h);
      if (union.size > 0) mergedHere = true;
      return [[...union.values()].filter(Boolean).length, union.size];
    };
    const [lh, lf] = metric(
      (r) => r.da,
      (t) => t.linesFound,
      (t) => t.linesHit,
    );
    const [fh, ff] = metric(
      (r) => r.fn,
      (t) => t.fnFound,
      (t) => t.fnHit,
    );
    const [bh, bf] = metric(
      (r) => r.brda,
      (t) => t.brFound,
      (t) => t.brHit,
    );
    sum.linesHit += lh;
    sum.linesFound += lf;
    sum.fnHit += fh;
    sum.fnFound += ff;
    sum.brHit += bh;
    sum.brFound += bf;
    if (addedHere) added++;
    // `lcov -a` keeps one record per test name (TN:) of a file: records with distinct test
    // names are a normal merged tracefile, not shards joined by mistake.
    const names = new Set(group.map((rec) => rec.testName));
    const perTest = !names.has('') && names.size === group.length;
    if (mergedHere && !perTest) merged++;
  }
  if (merged > 0)
    warnings.push(
      `${merged} source file(s) appear in more than one record (shard outputs joined?); their records were merged as lcov does: a line, branch or function counts once, covered if any record hit it.`,
    );
  if (added > 0)
    warnings.push(
      `${added} source file(s) appear in more than one record with only summary counts (LF/LH, BRF/BRH or FNF/FNH without DA, BRDA or FN/FNDA lines to merge them by); each record is counted.`,
    );

  return {
    kind: 'coverage',
    format: 'lcov',
    summary: {
      lines: coverageMetric(sum.linesHit, sum.linesFound, notIn('DA/LF')),
      branches: coverageMetric(sum.brHit, sum.brFound, notIn('BRDA/BRF')),
      functions: coverageMetric(sum.fnHit, sum.fnFound, notIn('FN/FNDA/FNF')),
    },
    warnings,
  };
};
