import { describe, expect, it } from 'vitest';
import { parseReport } from '../../functions/core/formats';
import { docFiles, parseMarkdown, readDoc } from './markdown';

/** Every report shown in the docs under `<!-- report: FORMAT -->` is read as FORMAT by content. */

const reports = docFiles().flatMap((file) =>
  parseMarkdown(readDoc(file))
    .blocks.filter((b) => b.markers.report !== undefined)
    .map((b) => [`${file}:${b.line} ${b.markers.report}`, b] as const),
);

describe('report examples in the docs', () => {
  it('exist', () => {
    expect(reports.length).toBeGreaterThanOrEqual(8);
  });

  it.each(reports)('%s is read as its format, without warnings', (_, block) => {
    const parsed = parseReport(block.body);
    expect(parsed.format).toBe(block.markers.report);
    expect(parsed.warnings).toEqual([]);
  });
});
