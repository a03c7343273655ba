import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isFormat, lineColumnAt, parseJson, parseReport } from '../../../functions/core/formats';

const corpus = (p: string) => readFileSync(`test/fixtures/corpus/${p}`, 'utf8');

describe('parseReport: detection and explicit formats', () => {
  it.each([
    ['junit/datadog-java-gradle.xml', 'junit', 'tests'],
    ['cobertura/grandlinex-core-istanbul-cobertura.xml', 'cobertura', 'coverage'],
    ['lcov/dorny-lcov.info', 'lcov', 'coverage'],
    ['istanbul/tsinjex-coverage-summary.json', 'istanbul', 'coverage'],
    ['k6/k6-summary-v1-example-basic.json', 'k6', 'load'],
    ['benchmarks/github-action-benchmark-customSmallerIsBetter.json', 'benchmark', 'benchmark'],
  ] as const)('detects %s as %s, and parses it the same with format=%s', (file, format, kind) => {
    const text = corpus(file);
    const detected = parseReport(text);
    expect(detected).toMatchObject({ format, kind });
    expect(parseReport(text, format)).toEqual(detected);
  });

  it('rejects content that does not match an explicit JSON format', () => {
    expect(() => parseReport('<testsuite/>', 'k6')).toThrow(/format=k6 expects a JSON document/);
  });

  it('says why it cannot recognise a body', () => {
    expect(() => parseReport('   ')).toThrow(
      expect.objectContaining({
        code: 'invalid_report',
        message: expect.stringContaining('empty'),
      }),
    );
    expect(() => parseReport('<results><r/></results>')).toThrow(
      expect.objectContaining({
        code: 'unsupported_format',
        message: expect.stringContaining('root element <results>'),
      }),
    );
    expect(() => parseReport('{"hello":"world"}')).toThrow(
      expect.objectContaining({
        status: 415,
        message: expect.stringContaining('Unrecognised JSON'),
      }),
    );
    expect(() => parseReport('just some text')).toThrow(
      expect.objectContaining({
        status: 415,
        message: expect.stringContaining(
          'neither XML, JSON, LCOV, a Go cover profile nor go test -bench output',
        ),
      }),
    );
    expect(() => parseReport('<!DOCTYPE x [<!ENTITY a "b">]><testsuite/>')).toThrow(
      /internal DOCTYPE subset/,
    );
    expect(() => parseReport('<html><body>502</body></html>')).toThrow(/HTML page/);
  });

  it('accepts a DOCTYPE that only names an external DTD (Cobertura writes one) and never fetches it', () => {
    const text =
      '<?xml version="1.0"?>\n<!DOCTYPE coverage SYSTEM "http://127.0.0.1:9/never.dtd">\n<coverage lines-valid="2" lines-covered="1" branches-valid="0" branches-covered="0"><packages/></coverage>';
    expect(parseReport(text)).toMatchObject({
      format: 'cobertura',
      summary: { lines: { covered: 1, total: 2, pct: 50 } },
    });
  });
});

describe('parseJson', () => {
  it('reports the line and column of a syntax error', () => {
    expect(() => parseJson('{\n  "a": 1,\n  "b": ]\n}')).toThrow(
      expect.objectContaining({
        code: 'invalid_report',
        location: { line: 3, column: 8 },
        message: expect.stringContaining('line 3, column 8'),
      }),
    );
  });

  it.each([
    ['{"a": ', 1, 7, 'ends too early'],
    ['[1, 2', 1, 6, 'ends too early'],
    ['{"a": 1,}', 1, 9, 'unexpected "}"'],
    ['{"a" 1}', 1, 6, 'unexpected "1}"'],
    ['{a: 1}', 1, 2, 'unexpected "a: 1}"'],
    ['[01]', 1, 3, 'unexpected "1]"'],
    ['"tab\there"', 1, 1, 'unexpected'],
    ['{"a": tru}', 1, 7, 'unexpected "tru}"'],
    ['[1] [2]', 1, 5, 'unexpected "[2]"'],
    ['{"a": [1, {"b": null}]]', 1, 23, 'unexpected "]"'],
    ['[}', 1, 2, 'unexpected "}"'],
  ])('locates the error in %j at line %i, column %i', (text, line, column, what) => {
    expect(() => parseJson(text)).toThrow(
      expect.objectContaining({
        location: { line, column },
        message: expect.stringContaining(what),
      }),
    );
  });

  it('handles deep nesting without recursion', () => {
    expect(() => parseJson(`${'['.repeat(200_000)}x`)).toThrow(
      expect.objectContaining({ location: { line: 1, column: 200_001 } }),
    );
  });

  it('maps offsets to lines and columns', () => {
    expect(lineColumnAt('ab\ncd\nef', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumnAt('ab\ncd\nef', 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumnAt('ab\ncd\nef', 6)).toEqual({ line: 3, column: 1 });
  });

  it('knows the format names', () => {
    expect(isFormat('junit')).toBe(true);
    expect(isFormat('__proto__')).toBe(false);
  });
});
