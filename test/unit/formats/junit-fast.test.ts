import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isVigilError } from '../../../functions/core/errors';
import { parseJunit, parseJunitReference } from '../../../functions/core/formats/junit';
import { scanJunit } from '../../../functions/core/formats/junit-fast';
import type { ParsedTests } from '../../../functions/core/formats/types';
import { mulberry32 as prng } from '../../../load/prng';
import { cpuMs } from '../../helpers/cpu-time';
import { generateJunit } from '../../helpers/generate-junit';

const CORPUS = 'test/fixtures/corpus/junit';
const GENERATED = 'test/fixtures/generated';

const xmlFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.xml'))
    .map((f) => join(dir, f));

/** The reference result, or the error it throws. */
const reference = (text: string): { parsed?: ParsedTests; error?: unknown } => {
  try {
    return { parsed: parseJunitReference(text) };
  } catch (error) {
    return { error };
  }
};

const INSERTS = ['<', '&', ']]>', '"', "'", '</testcase>', '</x>', '&bogus;', '&#0;', '<!--', '>'];

const mutate = (text: string, random: () => number): string => {
  const at = Math.floor(random() * text.length);
  const length = 1 + Math.floor(random() * 40);
  switch (Math.floor(random() * 4)) {
    case 0:
      return text.slice(0, at) + text.slice(at + length);
    case 1:
      return text.slice(0, at + length) + text.slice(at, at + length) + text.slice(at + length);
    case 2: {
      const insert = INSERTS[Math.floor(random() * INSERTS.length)] ?? '<';
      return text.slice(0, at) + insert + text.slice(at);
    }
    default:
      return text.slice(0, at);
  }
};

describe('scanJunit against the reference parser', () => {
  const files = [...xmlFiles(CORPUS), ...xmlFiles(GENERATED)];

  it.each(files)('gives the same result on %s', (file) => {
    // Prepare
    const text = readFileSync(file, 'utf8');

    // Act
    const fast = scanJunit(text);

    // Assess
    expect(fast).toBeDefined();
    expect(fast).toEqual(parseJunitReference(text));
  });

  it.each([
    { cases: 500, seed: 1 },
    { cases: 500, seed: 2, withOutput: true },
    { cases: 2_000, seed: 3, withOutput: true, failRate: 0.3, skipRate: 0.1, flakyRate: 0.1 },
    { cases: 50, seed: 4, failRate: 1 },
    { cases: 0, seed: 5 },
  ])('gives the same result on generated reports %o', (options) => {
    // Prepare
    const text = generateJunit(options);

    // Act
    const fast = scanJunit(text);

    // Assess
    expect(fast).toBeDefined();
    expect(fast).toEqual(parseJunitReference(text));
  });

  it('never accepts a mutant the reference rejects, nor reads one differently', () => {
    // Prepare
    const seeds = [
      'mikepenz-surefire-flaky.xml',
      'dorny-jest-junit.xml',
      'mikepenz-catch2.xml',
      'enricomi-surefire-rerun-flaky.xml',
    ].map((f) => readFileSync(join(CORPUS, f), 'utf8'));
    const random = prng(20_240_501);
    let accepted = 0;
    const disagreements: string[] = [];

    // Act
    for (let k = 0; k < 2_000; k++) {
      let mutant = seeds[k % seeds.length] ?? '';
      const rounds = 1 + Math.floor(random() * 3);
      for (let r = 0; r < rounds; r++) mutant = mutate(mutant, random);
      const fast = scanJunit(mutant);
      if (fast === undefined) continue;
      accepted++;
      const ref = reference(mutant);
      if (ref.error !== undefined || !isDeepStrictEqual(ref.parsed, fast)) {
        disagreements.push(mutant);
      }
    }

    // Assess
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(100); // the fuzz also exercises the accepting path
  });
});

describe('scanJunit constructs', () => {
  const wrap = (inner: string): string =>
    `<testsuites><testsuite name="s">${inner}</testsuite></testsuites>`;

  it.each([
    [
      'an XML declaration and a PI',
      `<?xml version="1.0" encoding="UTF-8"?><?pi data?>${wrap('<testcase name="a"/>')}`,
    ],
    [
      'comments everywhere',
      `<!-- c -->${wrap('<!-- x&y <tag> --><testcase name="a"/>')}<!-- end -->`,
    ],
    [
      'an external DOCTYPE',
      `<!DOCTYPE testsuites SYSTEM "junit.dtd">${wrap('<testcase name="a"/>')}`,
    ],
    [
      'attributes over lines, both quotes',
      wrap(`<testcase\n  name='a "q"'\n\tclassname="c 'x'"  time = "0.5" />`),
    ],
    [
      'entities and references in attributes',
      wrap('<testcase name="a &amp; &lt;b&gt; &#65;&#x1F600; &quot;&apos;"/>'),
    ],
    ['whitespace normalised in attributes', wrap('<testcase name="a\r\nb\tc\nd\re"/>')],
    [
      'a failure message from text',
      wrap('<testcase name="a"><failure>\n  first &amp; line\r\nsecond</failure></testcase>'),
    ],
    [
      'a failure message from CDATA',
      wrap('<testcase name="a"><error><![CDATA[  <boom> & ]] \r\n]]></error></testcase>'),
    ],
    [
      'text and CDATA mixed with comments',
      wrap('<testcase name="a"><failure><!-- c --><![CDATA[]]>\n<!-- d -->x</failure></testcase>'),
    ],
    [
      'a rerun failure and a flaky failure',
      wrap(
        '<testcase name="a"><rerunFailure message="m1"/><flakyFailure/></testcase><testcase name="b"><flakyError/></testcase>',
      ),
    ],
    [
      'a long failure body',
      wrap(
        `<testcase name="a"><failure>${' '.repeat(5_000)}\n${'x'.repeat(9_000)}</failure></testcase>`,
      ),
    ],
    [
      'end tags with whitespace',
      '<testsuite name="s"><testcase name="a"></testcase  ></testsuite\n>',
    ],
    ['a BOM', `\ufeff${wrap('<testcase name="a"/>')}`],
    [
      'a lone CR in a failure body',
      wrap('<testcase name="a"><failure>one\rtwo</failure></testcase>'),
    ],
    ['a surrogate pair (an emoji) in a name', wrap('<testcase name="a \ud83d\ude00"/>')],
    [
      'a tag with many attributes',
      wrap(
        `<testcase name="a" ${Array.from({ length: 20 }, (_, i) => `x${i}="${i}"`).join(' ')}/>`,
      ),
    ],
  ])('reads %s like the reference', (_label, text) => {
    // Act
    const fast = scanJunit(text);

    // Assess
    expect(fast).toBeDefined();
    expect(fast).toEqual(parseJunitReference(text));
  });

  it.each([
    [
      'an internal DOCTYPE subset',
      `<!DOCTYPE x [ <!ENTITY e "v"> ]>${wrap('<testcase name="&e;"/>')}`,
    ],
    ['an undefined entity in an attribute', wrap('<testcase name="&nbsp;"/>')],
    [
      'an undefined entity in skipped text',
      wrap('<testcase name="a"><system-out>&copy;</system-out></testcase>'),
    ],
    ['a raw < in an attribute', wrap('<testcase name="a<b"/>')],
    ['a bare &', wrap('<testcase name="a"><system-out>a & b</system-out></testcase>')],
    [']]> in text', wrap('<testcase name="a"><system-out>]]></system-out></testcase>')],
    ['a mismatched end tag', wrap('<testcase name="a"></testcas>')],
    ['a stray end tag', `${wrap('<testcase name="a"/>')}</x>`],
    ['a truncated file', wrap('<testcase name="a"/>').slice(0, -14)],
    ['an unknown root', '<coverage/>'],
    ['a second root', `${wrap('')}<testsuites/>`],
    ['text outside the root', `${wrap('')}x`],
    ['a duplicate attribute', wrap('<testcase name="a" name="b"/>')],
    ['no space between attributes', wrap('<testcase name="a"time="1"/>')],
    ['an unquoted value', wrap('<testcase name=a/>')],
    ['a disallowed character', wrap('<testcase name="\u0001"/>')],
    ['an XML 1.1 declaration', `<?xml version="1.1"?>${wrap('')}`],
    ['a comment with --', `<!-- a -- b -->${wrap('')}`],
    ['a non-ASCII element name', wrap('<tést/>')],
    ['an invalid character reference', wrap('<testcase name="&#0;"/>')],
    ['an unpaired surrogate', wrap('<testcase name="a \ud83d"/>')],
    [
      'a duplicate among many attributes',
      wrap(
        `<testcase ${Array.from({ length: 20 }, (_, i) => `x${i}="${i}"`).join(' ')} x3="again"/>`,
      ),
    ],
    ['CDATA outside the root', `<![CDATA[x]]>${wrap('')}`],
    ['a DOCTYPE after the root', `${wrap('')}<!DOCTYPE testsuites>`],
    ['two DOCTYPEs', `<!DOCTYPE testsuites><!DOCTYPE testsuites>${wrap('')}`],
  ])('defers %s to the reference', (_label, text) => {
    // Act
    const fast = scanJunit(text);

    // Assess
    expect(fast).toBeUndefined();
  });

  it('defers nesting deeper than 200 levels, and the reference rejects it', () => {
    // Prepare
    const shallow = `<testsuites>${'<testsuite>'.repeat(199)}${'</testsuite>'.repeat(199)}</testsuites>`;
    const deep = `<testsuites>${'<testsuite>'.repeat(100_000)}${'</testsuite>'.repeat(100_000)}</testsuites>`;

    // Act
    const {
      value: [fast, ref],
      ms,
    } = cpuMs(() => [scanJunit(deep), reference(deep)] as const);

    // Assess
    expect(scanJunit(shallow)).toEqual(parseJunitReference(shallow));
    expect(fast).toBeUndefined();
    expect(isVigilError(ref.error) && ref.error.code).toBe('invalid_report');
    expect(ms).toBeLessThan(1_000);
  });

  it('defers billion laughs, and the reference rejects it', () => {
    // Prepare
    const lol = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
    ).join('\n');
    const text = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 "lol">\n${lol}\n]>\n${wrap('<testcase name="&lol9;"/>')}`;

    // Act
    const fast = scanJunit(text);
    const ref = reference(text);

    // Assess
    expect(fast).toBeUndefined();
    expect(isVigilError(ref.error) && ref.error.code).toBe('invalid_report');
  });

  it('lets parseJunit fall back to the reference for valid but unusual XML', () => {
    // Prepare: a non-ASCII element name is valid XML the scanner does not handle.
    const text = wrap('<testcase name="a"><données/></testcase>');

    // Act
    const parsed = parseJunit(text);

    // Assess
    expect(scanJunit(text)).toBeUndefined();
    expect(parsed).toEqual(parseJunitReference(text));
    expect(parsed.summary.total).toBe(1);
  });
});
