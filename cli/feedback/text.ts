import { type Delivered, oneLine, quarantineNote, type Test, testLabel } from './answer';

/** The CLI's lines naming what failed: failed tests with their message, flaky tests. */

/** At most this many failed (and flaky) tests are named per report in the log. */
export const MAX_TESTS_IN_LOG = 20;

const listed = (
  title: string,
  mark: string,
  tests: readonly Test[],
  more: number,
  withMessage: boolean,
): string[] => {
  const total = tests.length + more;
  if (total === 0) return [];
  const lines = [`${title} (${total}):`];
  for (const t of tests.slice(0, MAX_TESTS_IN_LOG)) {
    const message = withMessage && t.message ? `: ${oneLine(t.message, 200)}` : '';
    lines.push(`  ${mark} ${oneLine(testLabel(t))}${quarantineNote(t)}${message}`);
  }
  const rest = total - Math.min(tests.length, MAX_TESTS_IN_LOG);
  if (rest > 0) lines.push(`  … and ${rest} more`);
  return lines;
};

export const failureLines = (d: Delivered): string[] => [
  ...listed('failed tests', '✖', d.failed, d.moreFailed, true),
  ...listed('flaky tests (passed on retry)', '~', d.flaky, d.moreFlaky, false),
];

/** Uncovered changed lines as ranges: `3-5, 9`. */
export const lineRanges = (lines: readonly number[]): string => {
  const sorted = [...lines].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    const start = sorted[i] as number;
    let end = start;
    while (sorted[i + 1] === end + 1) {
      end++;
      i++;
    }
    i++;
    out.push(start === end ? String(start) : `${start}-${end}`);
  }
  return out.join(', ');
};

export const patchLines = (d: Delivered): string[] => {
  const p = d.patch;
  if (!p) return [];
  const lines = [
    `patch coverage: ${p.pct === null ? 'no coverable changed lines' : `${p.pct}% (${p.covered}/${p.coverable} changed lines)`}`,
  ];
  for (const f of p.files.slice(0, MAX_TESTS_IN_LOG))
    if (f.uncovered.length > 0)
      lines.push(`  ${oneLine(f.path)}: not covered ${lineRanges(f.uncovered)}`);
  return lines;
};
