import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectReport } from '../../../cli/report';
import { type ParsedCoverage, parseReport } from '../../../functions/core/formats';
import { parseCobertura } from '../../../functions/core/formats/cobertura';
import {
  coverageMetric,
  type FormatId,
  istanbulMetric,
} from '../../../functions/core/formats/types';

/**
 * Coverage reports whose reading once went wrong, each beside what the tool printed
 * (test/fixtures/real, see SOURCES.md): the expected figures come from the console.
 */

const REAL = join(__dirname, '../../fixtures/real');
const read = (path: string): string => readFileSync(join(REAL, path), 'utf8');
const coverage = (path: string, format?: FormatId): ParsedCoverage =>
  parseReport(read(path), format) as ParsedCoverage;
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

/** PHPUnit's `Summary:` block: `  Methods: 33.33% (1/3)` → [1, 3]. */
const phpunitSummary = (console: string, what: 'Methods' | 'Lines'): number[] => {
  const summary = console.slice(console.indexOf('Summary:'));
  const m = new RegExp(`^\\s+${what}:\\s+[\\d.]+% \\(\\s*(\\d+)/\\s*(\\d+)\\)`, 'm').exec(summary);
  if (!m) throw new Error(`no ${what} line in the console`);
  return [Number(m[1]), Number(m[2])];
};

/** gcovr/lcov summary: `lines: 64.3% (9 out of 14)` or `lines......: 100.0% (15 of 15 lines)`. */
const printed = (console: string, what: string): number[] => {
  const m = new RegExp(`^\\s*${what}[.]*: [\\d.]+% \\((\\d+) (?:out )?of (\\d+)`, 'm').exec(
    console,
  );
  if (!m) throw new Error(`no ${what} line in the console`);
  return [Number(m[1]), Number(m[2])];
};

const ESC = String.fromCharCode(27);
/** Istanbul's text table `All files | % Stmts | % Branch | % Funcs | % Lines`, colours removed. */
const allFiles = (console: string): number[] => {
  const line = console
    .replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '')
    .split('\n')
    .find((l) => l.startsWith('All files'));
  if (!line) throw new Error('no All files line');
  return line
    .split('|')
    .slice(1, 5)
    .map((c) => Number(c.trim()));
};

describe('PHPUnit Cobertura: methods as PHPUnit counts them', () => {
  it.each([
    ['phpunit/functions/cobertura.xml', 'phpunit/functions/console.txt'],
    ['phpunit/partial/cobertura.xml', 'phpunit/partial/console.txt'],
    ['phpunit/cobertura.xml', 'phpunit/console-coverage.txt'],
  ])('%s: Methods and Lines of the Summary', (report, consoleFile) => {
    const text = read(consoleFile);
    const parsed = coverage(report);
    expect(parsed).toMatchObject({ format: 'cobertura', dialect: 'phpunit' });
    const { lines, functions, branches } = parsed.summary;
    expect([functions.covered, functions.total]).toEqual(phpunitSummary(text, 'Methods'));
    expect([lines.covered, lines.total]).toEqual(phpunitSummary(text, 'Lines'));
    expect(branches.pct).toBeNull();
  });

  it('keeps counting any method with a hit line as covered in other Cobertura reports', () => {
    const xml = `<coverage version="5.5"><packages><package><classes>
      <class name="a.py" filename="a.py"><methods>
        <method name="f"><lines><line number="1" hits="1"/><line number="2" hits="0"/></lines></method>
      </methods><lines><line number="1" hits="1"/><line number="2" hits="0"/></lines></class>
    </classes></package></packages></coverage>`;
    expect(parseCobertura(xml).summary.functions).toEqual({ pct: 100, covered: 1, total: 1 });
  });
});

describe('Clover XML', () => {
  it('PHPUnit --coverage-clover: detected as Clover, Methods and Lines as printed', () => {
    const text = read('phpunit/functions/console.txt');
    const parsed = coverage('phpunit/functions/clover.xml');
    expect(parsed).toMatchObject({ format: 'clover', dialect: 'phpunit', warnings: [] });
    const { lines, functions, branches } = parsed.summary;
    expect([functions.covered, functions.total]).toEqual(phpunitSummary(text, 'Methods'));
    expect([lines.covered, lines.total]).toEqual(phpunitSummary(text, 'Lines'));
    expect(branches).toMatchObject({ pct: null, reason: expect.stringContaining('conditionals') });
  });

  it("Vitest's clover reporter: the percentages of its text table", () => {
    const [, branch, funcs, lines] = allFiles(read('vitest/coverage-clover/console.txt'));
    const parsed = coverage('vitest/coverage-clover/clover.xml');
    expect(parsed).toMatchObject({ format: 'clover', dialect: 'istanbul' });
    expect(parsed.summary.lines.pct).toBe(lines);
    expect(parsed.summary.branches.pct).toBe(branch);
    expect(parsed.summary.functions.pct).toBe(funcs);
  });

  it('says what is wrong and where in a bad Clover report', () => {
    expect(errorOf(() => parseReport('<coverage clover="3.2.0"/>')).message).toBe(
      'Invalid Clover XML: no <project> element under <coverage>, so there are no totals to read.',
    );
    expect(
      errorOf(() =>
        parseReport(
          '<coverage generated="1"><project><metrics statements="x"/></project></coverage>',
        ),
      ).message,
    ).toBe(
      'Invalid Clover XML: <project><metrics statements="x">: expected a non-negative integer',
    );
    expect(
      errorOf(() =>
        parseReport(
          '<coverage generated="1"><project><metrics methods="1" coveredmethods="2"/></project></coverage>',
        ),
      ).message,
    ).toBe('Invalid Clover XML: <project><metrics>: coveredmethods (2) is more than methods (1)');
  });

  it('refuses a Clover report posted as format=cobertura, naming the format', () => {
    expect(
      errorOf(() => parseReport(read('phpunit/functions/clover.xml'), 'cobertura')).message,
    ).toContain('this is Clover XML: use format=clover');
  });
});

describe('SonarQube generic coverage (gcovr --sonarqube)', () => {
  it('lines and branches as gcovr printed them; functions not measured', () => {
    const text = read('gcovr/console-sonarqube.txt');
    const parsed = coverage('gcovr/sonarqube.xml');
    expect(parsed).toMatchObject({ format: 'sonarqube', warnings: [] });
    const { lines, branches, functions } = parsed.summary;
    expect([lines.covered, lines.total]).toEqual(printed(text, 'lines'));
    expect([branches.covered, branches.total]).toEqual(printed(text, 'branches'));
    expect(functions).toMatchObject({ pct: null, reason: expect.stringContaining('no function') });
  });

  it('says which file and element is wrong', () => {
    const doc = (line: string) =>
      `<coverage version="1"><file path="a.c">${line}</file></coverage>`;
    expect(
      errorOf(() =>
        parseReport(
          doc(
            '<lineToCover lineNumber="1" covered="true"/><lineToCover lineNumber="2" covered="yes"/>',
          ),
        ),
      ).message,
    ).toBe(
      'Invalid SonarQube generic coverage XML: <file path="a.c">, <lineToCover> #2 (line 2): covered="yes" is neither "true" nor "false"',
    );
    expect(
      errorOf(() =>
        parseReport(
          doc(
            '<lineToCover lineNumber="3" covered="true" branchesToCover="2" coveredBranches="3"/>',
          ),
        ),
      ).message,
    ).toContain('(line 3): coveredBranches (3) is more than branchesToCover (2)');
  });

  it('counts a line listed twice once, covered if either says so, with its widest branches', () => {
    const parsed = parseReport(
      `<coverage version="1">
        <file path="a.c">
          <lineToCover lineNumber="1" covered="false" branchesToCover="2" coveredBranches="0"/>
          <lineToCover lineNumber="1" covered="true" branchesToCover="2" coveredBranches="1"/>
          <lineToCover lineNumber="2" covered="false" branchesToCover="4" coveredBranches="1"/>
          <lineToCover lineNumber="2" covered="false"/>
          <lineToCover lineNumber="3" covered="false"/>
        </file>
        <file path="a.c"><lineToCover lineNumber="3" covered="true"/></file>
      </coverage>`,
      'sonarqube',
    ) as ParsedCoverage;
    expect(parsed.summary.lines).toMatchObject({ covered: 2, total: 3 });
    expect(parsed.summary.branches).toMatchObject({ covered: 2, total: 6 });
  });

  it('says what is missing, warns of another version or nothing measured', () => {
    const missing = (attrs: string) =>
      errorOf(() =>
        parseReport(
          `<coverage version="1"><file path="a.c"><lineToCover ${attrs}/></file></coverage>`,
          'sonarqube',
        ),
      ).message;
    expect(missing('covered="true"')).toContain(
      'lineNumber=(missing) is not a non-negative integer',
    );
    expect(missing('lineNumber="-1" covered="true"')).toContain('lineNumber="-1"');
    expect(missing('lineNumber="1"')).toContain('covered=(missing)');
    expect(missing('lineNumber="1" covered="true" branchesToCover="x"')).toContain(
      'branchesToCover="x"',
    );
    expect(
      errorOf(() => parseReport('<coverage version="1"><file/></coverage>', 'sonarqube')).message,
    ).toContain('a <file> element has no path attribute');
    const empty = parseReport('<coverage version="2"></coverage>', 'sonarqube') as ParsedCoverage;
    expect(empty.warnings).toEqual([
      'root version="2": SonarQube generic coverage is version="1"; read as that.',
      'The report has no <lineToCover> elements: nothing was measured.',
    ]);
    expect(empty.summary.lines.pct).toBeNull();
    const noVersion = parseReport(
      '<coverage><file path="a"><lineToCover lineNumber="1" covered="true"/></file></coverage>',
      'sonarqube',
    ) as ParsedCoverage;
    expect(noVersion.warnings[0]).toContain('root version=(missing)');
  });

  it('refuses it as format=cobertura, naming the format', () => {
    expect(errorOf(() => parseReport(read('gcovr/sonarqube.xml'), 'cobertura')).message).toContain(
      'SonarQube generic coverage XML: use format=sonarqube',
    );
  });
});

describe('detection of <coverage> roots, on the server and in the CLI', () => {
  it.each([
    ['phpunit/functions/clover.xml', 'clover'],
    ['vitest/coverage-clover/clover.xml', 'clover'],
    ['gcovr/sonarqube.xml', 'sonarqube'],
    ['phpunit/functions/cobertura.xml', 'cobertura'],
    ['cpp/gcovr-cobertura.xml', 'cobertura'],
  ])('%s is %s', (report, format) => {
    expect(coverage(report).format).toBe(format);
    expect(detectReport(read(report)).format).toBe(format);
  });
});

describe('Cobertura with nothing to read', () => {
  it('warns instead of passing silently', () => {
    const empty = parseReport('<coverage><sources/></coverage>') as ParsedCoverage;
    expect(empty.warnings).toEqual([expect.stringContaining('Nothing to read')]);
    expect(empty.summary.lines.pct).toBeNull();
  });

  it('says lines-valid="0" when the report declares it', () => {
    const parsed = parseCobertura(
      '<coverage lines-valid="0" lines-covered="0" branches-valid="0" branches-covered="0"><packages/></coverage>',
    );
    expect(parsed.summary.lines.reason).toBe(
      'not measured: the report declares lines-valid="0" (no executable lines were found)',
    );
    expect(parsed.warnings).toEqual([]);
  });
});

describe('percentages never round to 100 or 0 across a miss or a hit', () => {
  it('gcovr 5.2 summary of 99999 of 100000 lines (it prints 99.9%)', () => {
    expect(coverage('gcovr/big-summary.json').summary.lines).toEqual({
      pct: 99.99,
      covered: 99999,
      total: 100000,
    });
  });

  it('LCOV with one line missed in 100000, and one hit in 100000', () => {
    const lcov = (hit: number) => `SF:a.c\nLF:100000\nLH:${hit}\nend_of_record\n`;
    expect((parseReport(lcov(99999)) as ParsedCoverage).summary.lines.pct).toBe(99.99);
    expect((parseReport(lcov(1)) as ParsedCoverage).summary.lines.pct).toBe(0.01);
  });

  it('every metric helper, and exact figures unchanged', () => {
    expect(coverageMetric(199999, 200000).pct).toBe(99.99);
    expect(istanbulMetric(1, 1_000_000).pct).toBe(0.01);
    expect(coverageMetric(1, 1_000_000).pct).toBe(0.01);
    expect(coverageMetric(2, 3).pct).toBe(66.67);
    expect(coverageMetric(5, 5).pct).toBe(100);
    expect(coverageMetric(0, 5).pct).toBe(0);
  });
});

describe('small readings', () => {
  it('Vitest coverage-final.json `{}` (no files) with format=istanbul: not measured, warned', () => {
    const parsed = coverage('vitest/coverage-empty/coverage-final.json', 'istanbul');
    // Vitest's own table says 0 for all; the report has 0 files, so nothing was measured.
    expect(allFiles(read('vitest/coverage-empty/console.txt'))).toEqual([0, 0, 0, 0]);
    expect(parsed.summary.lines).toMatchObject({ pct: null, total: 0 });
    expect(parsed.summary.statements).toMatchObject({ pct: null, total: 0 });
    expect(parsed.warnings).toEqual([expect.stringContaining('no files')]);
  });

  it('lcov -a of runs with different test names (TN:) merges without a shard warning', () => {
    const text = read('lcov/console-merge.txt');
    const parsed = coverage('lcov/merged.info');
    expect([parsed.summary.lines.covered, parsed.summary.lines.total]).toEqual(
      printed(text, 'lines'),
    );
    expect([parsed.summary.branches.covered, parsed.summary.branches.total]).toEqual(
      printed(text, 'branches'),
    );
    expect(parsed.warnings).toEqual([]);
    // Records of one file without distinct test names still warn.
    const joined = 'SF:a.c\nDA:1,1\nend_of_record\nSF:a.c\nDA:1,0\nend_of_record\n';
    expect((parseReport(joined) as ParsedCoverage).warnings).toEqual([
      expect.stringContaining('shard outputs joined?'),
    ]);
  });

  it('gcovr --json (not --json-summary) is refused, pointing to --json-summary', () => {
    const doc = JSON.stringify({ 'gcovr/format_version': '0.3', files: [] });
    for (const format of [undefined, 'gcovr'] as const)
      expect(errorOf(() => parseReport(doc, format)).message).toContain('gcovr --json-summary');
  });
});
