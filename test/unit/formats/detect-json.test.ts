import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectJsonFormat, looksLikeLcov } from '../../../functions/core/formats/detect';

const FIXTURES = join(__dirname, '../../fixtures');

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );

/** A JSON fixture that is, rightly, not recognised without `format`. */
const NOT_DETECTED = 'not detected';

/** Expected format of every JSON fixture, by its folder. */
const EXPECTED_BY_FOLDER: Record<string, string> = {
  'corpus/jest': 'jest',
  'corpus/istanbul': 'istanbul',
  'corpus/k6': 'k6',
  'corpus/artillery': 'artillery',
  'corpus/benchmarks': 'benchmark',
  'real/jest': 'jest',
  'real/vitest': 'jest',
  'real/c8': 'istanbul',
  'real/playwright': 'playwright',
  'real/artillery': 'artillery',
};
const EXPECTED_GENERATED: Record<string, string> = {
  'generated/jest-30-json-retries-broken-suite.json': 'jest',
  'generated/vitest-4.1-json-reporter.json': 'jest',
  'generated/k6-handle-summary.json': 'k6',
  'generated/k6-summary-export.json': 'k6',
  'real/cpp/benchmark.json': 'google-benchmark',
  'real/cpp/benchmark-us.json': 'google-benchmark',
  'real/cpp/gcovr-summary.json': 'gcovr',
  'real/gcovr/big-summary.json': 'gcovr',
  // `{}` (Vitest, no file instrumented) is not recognised; format=istanbul reads it as empty.
  'real/vitest/coverage-empty/coverage-final.json': NOT_DETECTED,
  'security/zap-dev-build-traditional.json': 'zap',
  'security/npm-audit-v2-audit-ci-allowlisted-path.json': 'npm-audit',
  'security/trivy-npm-repo.json': 'trivy',
  'security/trivy-fs-secret-misconfig.json': 'trivy',
  'security/grype-json-presenter-dirs.json': 'grype',
  'security/npm-audit-empty-cdk-integ-tests-sample.json': 'npm-audit',
};

// Reports (the bad-input corpus in bad/ is covered by test/integration/bad-input.test.ts).
const jsonFixtures = filesUnder(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => relative(FIXTURES, f).split('\\').join('/'))
  .filter((f) => !f.startsWith('bad/'));

const expectedFor = (rel: string): string | undefined => {
  if (rel in EXPECTED_GENERATED) return EXPECTED_GENERATED[rel];
  const folder = rel.split('/').slice(0, 2).join('/');
  return EXPECTED_BY_FOLDER[folder];
};

describe('detectJsonFormat on every JSON fixture', () => {
  it('knows the expected format of every JSON fixture', () => {
    // Prepare / Act
    const unknown = jsonFixtures.filter((f) => expectedFor(f) === undefined);

    // Assess: a new fixture must be added to the tables above.
    expect(jsonFixtures.length).toBeGreaterThanOrEqual(13);
    expect(unknown).toEqual([]);
  });

  it.each(jsonFixtures)('%s', (rel) => {
    // Prepare
    const doc: unknown = JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));

    // Act
    const format = detectJsonFormat(doc);

    // Assess
    const expected = expectedFor(rel);
    expect(format).toBe(expected === NOT_DETECTED ? undefined : expected);
  });
});

describe('detectJsonFormat on other documents', () => {
  it.each([
    ['null', null],
    ['a number', 42],
    ['a string', 'testResults'],
    ['an empty object', {}],
    ['an empty array', []],
    ['an array of numbers', [1, 2, 3]],
    ['an array of unrelated objects', [{ id: 1, title: 'x' }]],
    ['a package.json', { name: 'x', version: '1.0.0', dependencies: {} }],
    ['a tsconfig', { compilerOptions: { strict: true }, include: ['src'] }],
    ['testResults without counts', { testResults: [] }],
    ['testResults that is not an array', { testResults: 'x', numTotalTests: 1 }],
    ['a total that is not coverage', { total: { lines: 12 } }],
    ['metrics without k6 context', { metrics: { cpu: 1 }, config: {} }],
    ['metrics as an array with state', { metrics: [], state: 'ok' }],
    ['aggregate that is a number', { aggregate: 3, intermediate: [] }],
    ['benchmarks without machine info', { benchmarks: [] }],
    ['results without commands', { results: [{ name: 'a' }] }],
    ['files without groups', { files: [{ name: 'a' }] }],
    ['__proto__ keys', JSON.parse('{"__proto__":{"testResults":[],"numTotalTests":1}}')],
  ])('%s → undefined', (_label, doc) => {
    // Prepare / Act
    const format = detectJsonFormat(doc);

    // Assess
    expect(format).toBeUndefined();
  });

  it.each([
    ['a minimal Jest report', { testResults: [], numTotalTests: 0 }, 'jest'],
    ['Istanbul totals', { total: { lines: { total: 1, covered: 1, pct: 100 } } }, 'istanbul'],
    ['an Artillery 2 aggregate', { aggregate: { counters: {} } }, 'artillery'],
    ['an Artillery 1 report', { aggregate: { latency: {} }, intermediate: [] }, 'artillery'],
    ['a k6 summary export', { root_group: {}, metrics: {} }, 'k6'],
    ['k6 handleSummary data', { state: {}, metrics: {} }, 'k6'],
    ['a custom benchmark array', [{ name: 'a', unit: 'ns', value: 1 }], 'benchmark'],
  ])('%s → %s', (_label, doc, expected) => {
    // Prepare / Act
    const format = detectJsonFormat(doc);

    // Assess
    expect(format).toBe(expected);
  });
});

describe('looksLikeLcov', () => {
  it.each(['coveralls-test.lcov', 'dorny-lcov.info'])('recognises corpus/lcov/%s', (name) => {
    // Prepare
    const text = readFileSync(join(FIXTURES, 'corpus/lcov', name), 'utf8');

    // Act / Assess
    expect(looksLikeLcov(text)).toBe(true);
  });

  it('recognises CRLF, a BOM, blank lines and lcov 2 lines', () => {
    // Prepare
    const text =
      '\uFEFFVER:2.0\r\n\r\nTN:\r\nSF:a.c\r\nFNL:0,1\r\nFNA:0,1,main\r\nend_of_record\r\n';

    // Act / Assess
    expect(looksLikeLcov(text)).toBe(true);
  });

  it('does not judge a line cut by the 4 KiB window', () => {
    // Prepare: the window ends in the middle of "end_of_record".
    const head = `SF:${'a'.repeat(4096 - 'SF:\nDA:1,1\nend_of_rec'.length)}\nDA:1,1\n`;
    const text = `${head}end_of_record\n`;

    // Act / Assess
    expect(text.slice(0, 4096).endsWith('end_of_rec')).toBe(true);
    expect(looksLikeLcov(text)).toBe(true);
  });

  it.each([
    ['an empty text', ''],
    ['LCOV lines without SF', 'TN:\nDA:1,1\n'],
    ['a garbage line', 'SF:a.js\nhello\nend_of_record\n'],
    ['JSON', '{"SF": 1}'],
    ['a CSV', 'SF:a,b\nfoo,bar\n'],
  ])('rejects %s', (_label, text) => {
    // Prepare / Act / Assess
    expect(looksLikeLcov(text)).toBe(false);
  });
});
