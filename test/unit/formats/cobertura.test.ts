import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCobertura } from '../../../functions/core/formats/cobertura';
import { errorOf } from '../../helpers/errors';

const CORPUS = join(__dirname, '../../fixtures/corpus');
const read = (path: string): string => readFileSync(join(CORPUS, path), 'utf8');

describe('parseCobertura on the corpus', () => {
  it('reads the istanbul cobertura report of grandlinex/core', () => {
    // Prepare
    const text = read('cobertura/grandlinex-core-istanbul-cobertura.xml');

    // Act
    const parsed = parseCobertura(text);

    // Assess
    expect(parsed.kind).toBe('coverage');
    expect(parsed.format).toBe('cobertura');
    // Root: lines-valid="2470" lines-covered="2205" line-rate="0.8926999999999999"
    //       branches-valid="790" branches-covered="541" branch-rate="0.6848000000000001"
    expect(parsed.summary.lines).toEqual({ pct: 89.27, covered: 2205, total: 2470 });
    expect(parsed.summary.branches).toEqual({ pct: 68.48, covered: 541, total: 790 });
    // 785 <method> elements; 67 have only lines with hits="0".
    expect(parsed.summary.functions).toEqual({ pct: 91.46, covered: 718, total: 785 });
    expect(parsed.summary.statements).toBeUndefined();
    // The 2470 class-level <line> elements (2205 with hits > 0) agree with the root.
    expect(parsed.warnings).toEqual([]);
  });

  it('counts the same lines from <line> elements when the root has no totals', () => {
    // Prepare
    const text = read('cobertura/grandlinex-core-istanbul-cobertura.xml').replace(
      /<coverage [^>]*>/,
      '<coverage version="0.1">',
    );

    // Act
    const parsed = parseCobertura(text);

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 89.27, covered: 2205, total: 2470 });
    // From condition-coverage: istanbul leaves out branches on lines without a <line>.
    expect(parsed.summary.branches.total).toBeLessThan(790);
    expect(parsed.summary.functions).toEqual({ pct: 91.46, covered: 718, total: 785 });
  });

  it('rejects the hand-edited scoverage report at line 781', () => {
    // Prepare
    const text = read('cobertura-invalid/coveralls-scoverage-cobertura.xml');

    // Act
    const error = errorOf(() => parseCobertura(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.location?.line).toBe(781);
    expect(error.message).toContain('Malformed XML at line 781');
    expect(error.message).toContain('</methods> does not match the open <class>');
  });

  it('rejects the same report without its DOCTYPE line at line 780', () => {
    // Prepare
    const text = read('cobertura-invalid/coveralls-scoverage-cobertura.xml').replace(
      /<!DOCTYPE[^>]*>\r?\n/,
      '',
    );

    // Act
    const error = errorOf(() => parseCobertura(text));

    // Assess
    expect(text).not.toContain('<!DOCTYPE');
    expect(error.code).toBe('invalid_report');
    expect(error.location?.line).toBe(780);
    expect(error.message).toContain('unexpected close tag');
  });
});

describe('parseCobertura edge cases', () => {
  it('counts a line once per file, across classes and methods', () => {
    // Prepare
    const text = `<coverage>
      <packages><package name="p"><classes>
        <class name="A" filename="a.py">
          <methods>
            <method name="f" hits="0"><lines><line number="1" hits="0"/><line number="2" hits="3"/></lines></method>
            <method name="g" hits="0"><lines><line number="9" hits="0"/></lines></method>
            <method name="h" hits="2"/>
          </methods>
          <lines>
            <line number="1" hits="0"/>
            <line number="2" hits="3" branch="true" condition-coverage="50% (1/2)"/>
            <line number="3" hits="18446744073709551615"/>
          </lines>
        </class>
        <class name="A$Inner" filename="a.py">
          <lines>
            <line number="3" hits="0"/>
            <line number="4" hits="0" branch="true" condition-coverage="0% (0/4)"/>
          </lines>
        </class>
        <class name="B" filename="b.py"><lines><line number="1" hits="1"/></lines></class>
      </classes></package></packages>
    </coverage>`;

    // Act
    const parsed = parseCobertura(text);

    // Assess
    expect(parsed.summary.lines).toEqual({ pct: 60, covered: 3, total: 5 });
    expect(parsed.summary.branches).toEqual({ pct: 16.67, covered: 1, total: 6 });
    expect(parsed.summary.functions).toEqual({ pct: 66.67, covered: 2, total: 3 });
    expect(parsed.warnings).toEqual([]);
  });

  it('reports an empty report as not measured, never 100%, and warns when declared lines disagree', () => {
    // Prepare
    const empty = '<coverage line-rate="0"/>';
    const disagree =
      '<coverage lines-valid="10" lines-covered="5"><packages><package><classes><class filename="x"><lines><line number="1" hits="1"/></lines></class></classes></package></packages></coverage>';

    // Act
    const a = parseCobertura(empty);
    const b = parseCobertura(disagree);

    // Assess
    expect(a.summary.lines).toEqual({
      pct: null,
      covered: 0,
      total: 0,
      reason: 'not measured: the report has no <line> elements and no lines-valid',
    });
    expect(a.summary.functions.pct).toBeNull();
    expect(a.summary.functions.reason).toContain('no function data');
    expect(b.summary.lines).toEqual({ pct: 50, covered: 5, total: 10 });
    expect(b.warnings).toEqual([
      'declared lines-covered/lines-valid=5/10 but counted 1/1 <line> elements',
    ]);
  });

  it('copes with missing numbers, names and garbage totals', () => {
    // Prepare
    const text = `<coverage lines-valid="many" lines-covered="" branches-valid="4">
      <packages><package><classes>
        <class name="NoFile">
          <lines>
            <line hits="1"/>
            <line hits="0"/>
            <line number="7" hits="x" condition-coverage="100% (2/2)"/>
            <line number="7" hits="2" condition-coverage="50% (1/4)"/>
            <line number="8" hits="1" condition-coverage="garbage"/>
          </lines>
        </class>
      </classes></package></packages>
      <line number="99" hits="1"/>
    </coverage>`;

    // Act
    const parsed = parseCobertura(text);

    // Assess: lines without a number each count; line 7 keeps its widest branch data.
    expect(parsed.summary.lines).toEqual({ pct: 75, covered: 3, total: 4 });
    expect(parsed.summary.branches).toEqual({ pct: 25, covered: 1, total: 4 });
    expect(parsed.warnings).toEqual([]);
  });

  it('rejects a JUnit report', () => {
    // Prepare
    const text = '<testsuites><testcase name="a"/></testsuites>';

    // Act
    const error = errorOf(() => parseCobertura(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toBe(
      'Not a Cobertura XML report: the root element is <testsuites>, expected <coverage>.',
    );
  });
});

describe('parseCobertura, repeated and bare lines', () => {
  it('keeps the best condition coverage of a repeated line and reads a line without hits as not hit', () => {
    // Prepare
    const text = `<coverage><packages><package><classes>
      <class name="A" filename="a.py"><lines>
        <line number="1"/>
        <line number="2" hits="1" branch="true" condition-coverage="50% (1/2)"/>
        <line number="2" hits="1" branch="true" condition-coverage="100% (2/2)"/>
        <line number="3" hits="1" branch="true" condition-coverage="50% (2/4)"/>
        <line number="3" hits="1" branch="true" condition-coverage="25% (1/4)"/>
      </lines></class>
      <class><lines><line number="1" hits="0"/></lines></class>
    </classes></package></packages></coverage>`;

    // Act
    const parsed = parseCobertura(text);

    // Assess
    expect(parsed.summary.lines).toMatchObject({ covered: 2, total: 4 });
    expect(parsed.summary.branches).toMatchObject({ covered: 4, total: 6 });
  });
});
