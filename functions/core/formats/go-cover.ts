import { invalidReport } from '../errors';
import { coverageMetric, notMeasured, type ParsedCoverage } from './types';

/**
 * Go cover profile (`go test -coverprofile`): a `mode: set|count|atomic` line, then one line per
 * block: `file:startLine.startCol,endLine.endCol numStatements hitCount`. Go measures
 * statements: `statements` is the sum of `numStatements` over distinct blocks, covered when a
 * block was hit (`go tool cover -func` prints the same total). A block listed more than once
 * (profiles concatenated, `-coverpkg` across packages) is counted once, hit if any line hit it.
 * Lines, branches and functions are not in the profile: not measured.
 */

const WHAT = 'Go cover profile';
export const GO_COVER_BLOCK = /^(.+):(\d+)\.(\d+),(\d+)\.(\d+) (\d+) (\d+)$/;
export const GO_COVER_MODE = /^mode: (set|count|atomic)\s*$/;

const NOT_IN_PROFILE = (what: string): string =>
  `not measured: a Go cover profile has statements only, no ${what}`;

export const looksLikeGoCover = (text: string): boolean =>
  GO_COVER_MODE.test(
    text
      .slice(0, 64)
      .replace(/^\uFEFF/, '')
      .split('\n', 1)[0] ?? '',
  );

export const parseGoCover = (text: string): ParsedCoverage => {
  const lines = text.split('\n');
  const mode = GO_COVER_MODE.exec((lines[0] ?? '').replace(/^\uFEFF/, ''));
  if (!mode)
    throw invalidReport(
      `Invalid ${WHAT}: line 1: expected "mode: set", "mode: count" or "mode: atomic"`,
      { line: 1 },
    );
  const blocks = new Map<string, { statements: number; hit: boolean }>();
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    // Line 1 is the mode (read above); concatenated profiles repeat it.
    if (i === 0) continue;
    if (line === '' || GO_COVER_MODE.test(line)) continue;
    const m = GO_COVER_BLOCK.exec(line);
    if (!m) {
      const shown = line.length > 60 ? `${line.slice(0, 59)}…` : line;
      throw invalidReport(
        `Invalid ${WHAT}: line ${i + 1}: expected "file:line.col,line.col statements count", got ${JSON.stringify(shown)}`,
        { line: i + 1 },
      );
    }
    const statements = Number(m[6]);
    const hit = !/^0+$/.test(m[7] ?? '');
    const key = `${m[1]}:${m[2]}.${m[3]},${m[4]}.${m[5]}`;
    const seen = blocks.get(key);
    if (seen) seen.hit ||= hit;
    else blocks.set(key, { statements, hit });
  }
  let total = 0;
  let covered = 0;
  for (const b of blocks.values()) {
    total += b.statements;
    if (b.hit) covered += b.statements;
  }
  if (!Number.isSafeInteger(total))
    throw invalidReport(`Invalid ${WHAT}: the statement counts add up beyond a safe integer`);
  const warnings = blocks.size === 0 ? ['the profile lists no blocks'] : [];
  return {
    kind: 'coverage',
    format: 'go-cover',
    summary: {
      lines: notMeasured(NOT_IN_PROFILE('lines')),
      branches: notMeasured(NOT_IN_PROFILE('branches')),
      functions: notMeasured(NOT_IN_PROFILE('functions')),
      statements: coverageMetric(
        covered,
        total,
        'nothing to measure: the profile lists no statements',
      ),
    },
    warnings,
  };
};
