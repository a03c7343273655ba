import { describe, expect, it } from 'vitest';
import {
  annotationLines,
  escapeData,
  escapeProperty,
  relativeTo,
} from '../../cli/feedback/annotations';
import {
  deliveredOf,
  jsonLine,
  logLine,
  oneLine,
  testLabel,
  worstGate,
} from '../../cli/feedback/answer';
import { dashboardUrl, md, renderMarkdown } from '../../cli/feedback/markdown';
import { failureLines, lineRanges, patchLines } from '../../cli/feedback/text';

const failed = (n: number, over: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({
    suite: 'unit',
    classname: 'Cart',
    name: `adds item ${i}`,
    message: `expected ${i} to be ${i + 1}`,
    file: `/work/repo/src/cart${i}.test.ts`,
    ...over,
  }));

const answer = (over: Record<string, unknown> = {}) => ({
  runId: 'r1',
  kind: 'tests',
  summary: { total: 30, failed: 25 },
  gate: {
    status: 'fail',
    checks: [{ id: 'tests.failed', status: 'fail', message: '25 of 30 tests failed', actual: 25 }],
  },
  failures: { failed: failed(25), moreFailed: 5, flaky: failed(2), moreFlaky: 0 },
  warnings: ['one warning'],
  ...over,
});

describe('the answer as feedback sees it', () => {
  it('reads a full answer and ignores junk', () => {
    const d = deliveredOf('junit.xml', answer());
    expect(d).toMatchObject({ file: 'junit.xml', runId: 'r1', kind: 'tests', gate: 'fail' });
    expect(d.failed).toHaveLength(25);
    expect(d.moreFailed).toBe(5);
    expect(d.checks[0]).toEqual({
      id: 'tests.failed',
      status: 'fail',
      message: '25 of 30 tests failed',
      actual: 25,
    });
    const odd = deliveredOf('x', {
      gate: { status: 'weird', checks: [null, { actual: 'NaN' }] },
      failures: { failed: [{ name: 7 }, 'x'], moreFailed: -3 },
      warnings: [1, 'w'],
      summary: { patch: { pct: 'x', files: [{ uncovered: [0, 2, 2.5, 'x'] }] } },
    });
    expect(odd).toMatchObject({
      gate: 'none',
      checks: [{ id: 'check', status: '?' }],
      failed: [{ name: '?', suite: '', classname: '' }],
      moreFailed: 0,
      warnings: ['w'],
      patch: { pct: null, coverable: 0, files: [{ path: '?', uncovered: [2] }] },
    });
    expect(deliveredOf('y', {})).toMatchObject({ gate: 'none', checks: [], failed: [] });
  });

  it('labels tests without repeats and picks the worst gate', () => {
    expect(testLabel({ suite: 'a', classname: 'a', name: 'b' })).toBe('a › b');
    expect(testLabel({ suite: '', classname: '', name: 'b' })).toBe('b');
    expect(worstGate(['pass', 'none'])).toBe('pass');
    expect(worstGate(['pass', 'fail'])).toBe('fail');
    expect(worstGate([])).toBe('none');
  });
});

describe('CLI lines', () => {
  it('names 20 failed tests with their message, then says how many more', () => {
    const lines = failureLines(deliveredOf('j', answer()));
    expect(lines[0]).toBe('failed tests (30):');
    expect(lines[1]).toBe('  ✖ unit › Cart › adds item 0: expected 0 to be 1');
    expect(lines).toContain('  … and 10 more');
    expect(lines.filter((l) => l.startsWith('  ✖'))).toHaveLength(20);
    expect(lines).toContain('flaky tests (passed on retry) (2):');
    expect(lines).toContain('  ~ unit › Cart › adds item 1');
  });

  it('keeps a hostile name on one line', () => {
    const d = deliveredOf(
      'j',
      answer({ failures: { failed: failed(1, { name: 'a\n::error::x\r' }) } }),
    );
    expect(failureLines(d)[1]).toBe('  ✖ unit › Cart › a ::error::x: expected 0 to be 1');
  });

  it('prints patch coverage with uncovered ranges', () => {
    expect(lineRanges([9, 3, 4, 5, 12, 13])).toBe('3-5, 9, 12-13');
    const d = deliveredOf('c', {
      kind: 'coverage',
      summary: {
        patch: { coverable: 4, covered: 2, pct: 50, files: [{ path: 'a.ts', uncovered: [3, 4] }] },
      },
    });
    expect(patchLines(d)).toEqual([
      'patch coverage: 50% (2/4 changed lines)',
      '  a.ts: not covered 3-4',
    ]);
    const none = deliveredOf('c', { summary: { patch: { coverable: 0, covered: 0, files: [] } } });
    expect(patchLines(none)).toEqual(['patch coverage: no coverable changed lines']);
    expect(patchLines(deliveredOf('c', {}))).toEqual([]);
  });
});

describe('Markdown', () => {
  it('cuts a long uncovered-lines list at a whole entry and says how many lines are left', () => {
    // Arrange: 1, 3, 5, ... 1999 (1000 single lines, 4890 characters), then 3000-3009
    const uncovered = [
      ...Array.from({ length: 1000 }, (_, i) => 2 * i + 1),
      ...Array.from({ length: 10 }, (_, i) => 3000 + i),
    ];
    const delivered = [
      deliveredOf('c', {
        kind: 'coverage',
        summary: {
          patch: { coverable: 2000, covered: 990, pct: 49.5, files: [{ path: 'a.ts', uncovered }] },
        },
      }),
    ];

    // Act
    const text = renderMarkdown({ project: 'p', endpoint: 'http://x', problems: [], delivered });

    // Assess: the row ends after a whole number, and the rest are counted
    const row = text.split('\n').find((l) => l.startsWith('| a\\.ts |')) ?? '';
    const cell = (row.split(' | ')[1] ?? '').replace(/ \|$/, '');
    const m = /^((?:\d+(?:-\d+)?, )*\d+(?:-\d+)?) … and (\d+) more lines$/.exec(cell);
    expect(m).not.toBeNull();
    const shown = (m?.[1] ?? '').split(', ');
    expect(shown[0]).toBe('1');
    expect(shown.at(-1)).toBe(String(2 * (shown.length - 1) + 1));
    expect(Number(m?.[2])).toBe(1000 - shown.length + 10);
    expect(cell.length).toBeLessThan(530);
  });

  it('escapes report strings: no HTML, mentions, links or table breaks', () => {
    expect(md('<img src=x onerror=alert(1)> @team | [x](http://e) #1\nnext')).toBe(
      '&lt;img src=x onerror=alert\\(1\\)\\> @\u2060team \\| \\[x\\]\\(http:\u2060//e\\) \\#\u20601 next',
    );
  });

  it('lets no report text become a link, a mention or a reference on GitHub', () => {
    // Prepare: what GitHub (cmark-gfm, then its own filters) links in text, even with the dots
    // escaped: a dotless host (a decimal IPv4 address), emails (an entity is decoded first),
    // mailto:/xmpp:, www., mentions, issue and commit references.
    const hostile = [
      'see http://1572395042/login now',
      'HTTPS://evil/a ftp://evil.example',
      'www.evil.example _WWW.evil.example',
      'security@evil.example mailto:a@b.example xmpp:foo@evil.example',
      '@octocat @org/team #12 owner/repo#3 GH-4 owner/repo@abc1234',
    ];

    // Act
    const out = hostile.map((s) => md(s));

    // Assess: the text as GitHub finds links in it (escapes undone, entities decoded) has none
    // of their forms, and reads as the report wrote it once the invisible joiners are left out.
    const rendered = out.map((m) =>
      m
        .replace(/\\(.)/g, '$1')
        .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
        .replace(/&lt;/g, '<')
        .replace(/&amp;/g, '&'),
    );
    for (const text of rendered) {
      expect(text).not.toMatch(/[a-z][a-z0-9+.-]*:\/\//i); // scheme://
      expect(text).not.toMatch(/www\./i);
      expect(text).not.toMatch(/[\w.+-]@[a-z0-9]/i); // email
      expect(text).not.toMatch(/(^|[^\w])@[a-z0-9]/i); // mention
      expect(text).not.toMatch(/#\d/); // #12, owner/repo#3
      expect(text).not.toMatch(/GH-\d/i);
    }
    expect(rendered.map((t) => t.replaceAll('\u2060', ''))).toEqual(hostile);
  });

  it('renders verdict, checks, failed and flaky tests, coverage, benchmarks and load', () => {
    const text = renderMarkdown({
      project: 'shop',
      suite: 'unit',
      commit: 'abcdef1234567890',
      endpoint: 'https://vigil.example/',
      problems: ['bad.xml: rejected by Vigil'],
      delivered: [
        deliveredOf('junit.xml', answer()),
        deliveredOf('lcov.info', {
          runId: 'r2',
          kind: 'coverage',
          gate: {
            status: 'pass',
            checks: [
              { id: 'coverage.lines', status: 'pass', message: 'ok' },
              { id: 'coverage.drop.lines', status: 'pass', message: 'rose 1 point' },
            ],
          },
          summary: {
            lines: { pct: 91.5 },
            patch: {
              coverable: 3,
              covered: 1,
              pct: 33.33,
              files: [{ path: 'src/<a>.ts', uncovered: [4, 5] }],
            },
          },
        }),
        deliveredOf('bench.json', {
          kind: 'benchmark',
          gate: {
            status: 'fail',
            checks: [
              {
                id: 'benchmark.sort',
                status: 'fail',
                message: 'regressed (p=0.01)',
                actual: 120,
                threshold: 100,
              },
              { id: 'benchmark.skip', status: 'skip', message: 'not compared' },
            ],
          },
        }),
        deliveredOf('k6.json', {
          kind: 'load',
          summary: {
            thresholds: [
              { name: 'p(95)<500', passed: false },
              { name: 'rate', passed: true },
            ],
          },
        }),
      ],
    });
    expect(text).toContain('### ❌ Vigil: shop \\(unit\\): failed at `abcdef123456`');
    expect(text).toContain('> ❗ bad\\.xml: rejected by Vigil');
    expect(text).toContain(`[run](${dashboardUrl('https://vigil.example/', 'shop', 'r1')})`);
    expect(dashboardUrl('https://vigil.example/', 'a/b', 'r 1')).toBe(
      'https://vigil.example/#/run/a%2Fb/r%201',
    );
    expect(text).toContain('| tests\\.failed | ❌ | 25 of 30 tests failed |');
    expect(text).toContain('**Failed tests (30)**');
    expect(text).toContain('- … and 10 more');
    expect(text).toContain('**Flaky tests (passed on retry) (2)**');
    expect(text).toContain('Coverage: lines 91.5%');
    expect(text).toContain('- rose 1 point');
    expect(text).toContain('Patch coverage: **33.33%** (1 of 3 changed lines)');
    expect(text).toContain('| src/&lt;a\\>\\.ts | 4-5 |');
    expect(text).toContain('| benchmark\\.sort | 120 | 100 | +20% | ❌ regressed \\(p=0\\.01\\) |');
    // Skipped comparisons are in the checks table only, not among the benchmark figures.
    expect(text.match(/\| benchmark\\\.skip \|/g)).toHaveLength(1);
    expect(text).toContain('| p\\(95\\)&lt;500 | ❌ |');
    expect(text).toContain('> ⚠️ one warning');
  });

  it('renders the odd cases: big figures, no patch lines, many files, a zero base, no thresholds', () => {
    // Prepare
    const many = Array.from({ length: 52 }, (_, i) => ({ path: `src/f${i}.ts`, uncovered: [1] }));
    const delivered = [
      deliveredOf('none.json', {
        kind: 'coverage',
        summary: { lines: 'x', patch: { coverable: 0, covered: 0, pct: null, files: [] } },
      }),
      deliveredOf('many.json', {
        kind: 'coverage',
        summary: { patch: { coverable: 52, covered: 0, pct: 0, files: many } },
      }),
      deliveredOf('bench.json', {
        kind: 'benchmark',
        gate: {
          status: 'pass',
          checks: [
            { id: 'benchmark.big', status: 'pass', actual: 123_456.7, threshold: 0 },
            { id: 'benchmark.faster', status: 'pass', actual: 50, threshold: 100 },
          ],
        },
      }),
      deliveredOf('k6.json', { kind: 'load', summary: { thresholds: 'none' } }),
      deliveredOf('k6-2.json', { kind: 'load', summary: { thresholds: [{ passed: true }] } }),
      deliveredOf('odd.json', {
        gate: {
          status: 'pass',
          checks: [
            { id: 'custom', status: 'odd' },
            { id: 'benchmark.none', status: 'odd', threshold: 5 },
          ],
        },
        failures: { failed: [{ name: 'no file' }] },
      }),
    ];

    // Act
    const text = renderMarkdown({ project: 'p', endpoint: 'http://x', problems: [], delivered });
    const unsure = renderMarkdown({
      project: 'p',
      endpoint: 'http://x',
      problems: ['x.xml: could not be read'],
      delivered: [],
    });

    // Assess
    expect(text).toContain('Patch coverage: no coverable changed lines');
    expect(text).not.toContain('Coverage: ');
    expect(text).toContain('| src/f49\\.ts | 1 |');
    expect(text).not.toContain('src/f50');
    expect(text).toContain('| … and 2 more files | |');
    expect(text).toContain('| benchmark\\.big | 123457 | 0 |  | ✅  |');
    expect(text).toContain('| benchmark\\.faster | 50 | 100 | −50% | ✅  |');
    expect(text.match(/Load threshold/g)).toHaveLength(1);
    expect(text).toContain('| ? | ✅ |');
    expect(text).toContain('#### ✅ odd\\.json: report, passed');
    expect(text).toContain('| custom | odd |  |');
    expect(text).toContain('| benchmark\\.none | – | 5 |  |   |');
    expect(text).toContain('\n- no file\n');
    expect(unsure).toMatch(/^### ➖ Vigil: p: no gate\n/);
  });

  it('caps the size', () => {
    const huge = Array.from({ length: 40 }, (_, i) =>
      deliveredOf(`f${i}`, answer({ warnings: ['w'.repeat(300)] })),
    );
    const text = renderMarkdown({
      project: 'p',
      endpoint: 'http://x',
      problems: [],
      delivered: huge,
    });
    expect(text.length).toBeLessThan(60_100);
    expect(text).toContain('(cut: the full results are in the job log)');
  });
});

describe('annotations', () => {
  it('escapes as the Actions toolkit does', () => {
    expect(escapeData('50%\r\nx')).toBe('50%25%0D%0Ax');
    expect(escapeProperty('a:b,c%')).toBe('a%3Ab%2Cc%25');
    expect(relativeTo('/work/repo/src/a.ts', '/work/repo/')).toBe('src/a.ts');
    expect(relativeTo('./src/a.ts', undefined)).toBe('src/a.ts');
    expect(relativeTo('C:\\w\\a.ts', 'C:\\w')).toBe('a.ts');
  });

  it('gives at most 10 errors and 10 warnings and counts the rest', () => {
    const lines = annotationLines(
      [
        deliveredOf('j', answer()),
        deliveredOf(
          'k',
          answer({ failures: { failed: failed(1, { name: 'x,y:z\n::stop' }), flaky: [] } }),
        ),
      ],
      '/work/repo',
    );
    expect(lines.filter((l) => l.startsWith('::error '))).toHaveLength(10);
    expect(lines.filter((l) => l.startsWith('::warning '))).toHaveLength(2);
    expect(lines[0]).toBe(
      '::error file=src/cart0.test.ts,title=Failed%3A unit › Cart › adds item 0::expected 0 to be 1',
    );
    expect(lines[10]).toBe(
      '::warning file=src/cart0.test.ts,title=Flaky%3A unit › Cart › adds item 0::Passed only after a retry.',
    );
    expect(lines.at(-1)).toBe(
      '::notice title=Vigil%3A more results than annotations::21 failed and 0 flaky tests are not annotated (GitHub shows at most 10 of each kind per step); see the job summary and log.',
    );
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
  });

  it('points at the failing line when the answer names one, never at a line without a file', () => {
    const lines = annotationLines(
      [
        deliveredOf(
          'j',
          answer({
            failures: {
              failed: [...failed(1, { line: 42 }), ...failed(1, { file: undefined, line: 7 })],
              flaky: [],
            },
          }),
        ),
      ],
      '/work/repo',
    );
    expect(lines.slice(0, 2)).toEqual([
      '::error file=src/cart0.test.ts,line=42,title=Failed%3A unit › Cart › adds item 0::expected 0 to be 1',
      '::error title=Failed%3A unit › Cart › adds item 0::expected 0 to be 1',
    ]);
  });

  it('omits file= when the report names none and adds no notice when all fit', () => {
    const lines = annotationLines(
      [
        deliveredOf(
          'j',
          answer({
            failures: { failed: failed(1, { file: undefined, message: undefined }), flaky: [] },
          }),
        ),
      ],
      undefined,
    );
    expect(lines).toEqual(['::error title=Failed%3A unit › Cart › adds item 0::failed']);
  });
});

describe('a failure under a quarantine', () => {
  const quarantined = { owner: 'ana', expires: '2026-12-01' };
  const d = () =>
    deliveredOf(
      'j',
      answer({
        gate: { status: 'pass', checks: [] },
        failures: {
          failed: [...failed(1, { quarantined }), ...failed(1, { name: 'counted', line: 3 })],
          moreFailed: 0,
          flaky: [],
          moreFlaky: 0,
        },
      }),
    );

  it('is a warning annotation saying whose quarantine and until when, not an error', () => {
    expect(annotationLines([d()], '/work/repo')).toEqual([
      '::error file=src/cart0.test.ts,line=3,title=Failed%3A unit › Cart › counted::expected 0 to be 1',
      '::warning file=src/cart0.test.ts,title=Quarantined%3A unit › Cart › adds item 0::expected 0 to be 1 (quarantined by ana until 2026-12-01): not failing the gate.',
    ]);
    // Past the 10 warnings GitHub shows, the quarantined ones are counted with the flaky ones.
    const many = deliveredOf(
      'j',
      answer({
        failures: { failed: failed(12, { quarantined }), moreFailed: 2, flaky: [], moreFlaky: 0 },
      }),
    );
    expect(annotationLines([many], undefined).at(-1)).toBe(
      '::notice title=Vigil%3A more results than annotations::2 failed and 2 flaky or quarantined tests are not annotated (GitHub shows at most 10 of each kind per step); see the job summary and log.',
    );
  });

  it('is named so in the log, the job summary and the comment', () => {
    expect(failureLines(d())).toEqual([
      'failed tests (2):',
      '  ✖ unit › Cart › adds item 0 (quarantined by ana until 2026-12-01): expected 0 to be 1',
      '  ✖ unit › Cart › counted: expected 0 to be 1',
    ]);
    const markdown = renderMarkdown({
      project: 'shop',
      endpoint: 'https://vigil.example',
      delivered: [d()],
      problems: [],
    });
    expect(markdown).toContain(
      '- unit › Cart › adds item 0 \\(quarantined by ana until 2026\\-12\\-01\\) (',
    );
  });

  it('reads only a whole quarantine mark, and keeps its text on one line', () => {
    const odd = deliveredOf('x', {
      failures: {
        failed: [
          { name: 'a', quarantined: { owner: 7, expires: '2026-12-01' } },
          { name: 'b', quarantined: 'yes' },
          { name: 'c', quarantined: { owner: 'x\n::error::boom', expires: '2026-12-01' } },
        ],
      },
    });
    expect(odd.failed.map((t) => t.quarantined)).toEqual([
      undefined,
      undefined,
      { owner: 'x\n::error::boom', expires: '2026-12-01' },
    ]);
    expect(failureLines(odd)[3]).toBe('  ✖ c (quarantined by x ::error::boom until 2026-12-01)');
  });
});

describe('log text', () => {
  const bidi =
    '\u202Aa\u202Bb\u202Cc\u202Dd\u202Ee\u2066f\u2067g\u2068h\u2069i\u200Ej\u200Fk\u061Cl';

  it('oneLine turns control, line-breaking and bidi characters into spaces', () => {
    expect(oneLine(bidi)).toBe('a b c d e f g h i j k l');
    expect(oneLine('a\u0080b\u009bc\u0085d\u2028e\u001b[31mf\u0007')).toBe('a b c d e [31mf');
    expect(oneLine('t\n::error title=Forged::x\n')).toBe('t ::error title=Forged::x');
    // Not the printable neighbours.
    expect(oneLine('x\u00a0é\u2010\u2030\u2065')).toBe('x\u00a0é\u2010\u2030\u2065');
  });

  it('logLine keeps the indentation and the CLI text, and no report text becomes a command', () => {
    expect(logLine('    ::add-mask::tok: 5 ms')).toBe('    : :add-mask::tok: 5 ms');
    expect(logLine('\t::error::x')).toBe(' : :error::x');
    expect(logLine('  ⚠ a\n::error::x ##[error]y')).toBe('  ⚠ a ::error::x # #[error]y');
    expect(logLine(`  ⚠ ${bidi}`)).toBe('  ⚠  a b c d e f g h i j k l');
    expect(logLine('  tests: 5 total ::1 ok')).toBe('  tests: 5 total ::1 ok');
  });

  it('jsonLine escapes what could act and parses back to the same value', () => {
    const value = { w: [bidi, '\u009b2J', '\u2028', '##[error]x', '\u001b]0;t\u0007', '::x::y'] };
    const line = jsonLine(value);
    expect(JSON.parse(line)).toEqual(value);
    expect(logLine(line)).toBe(line);
    expect(line).toContain('##\\u005b');
    expect(line).toContain('\\u202e');
  });
});
