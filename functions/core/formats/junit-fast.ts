import { sniff } from './detect';
import { BODY_MAX_CHARS, junitBuilder } from './junit-model';
import { MAX_NESTING_DEPTH, type ParsedTests } from './types';
import type { XmlAttributes } from './xml';

/**
 * The fast path of `parseJunit`: a one-pass scanner built for JUnit reports only.
 *
 * Why: most bytes of a JUnit report are `<system-out>` logs and stack traces that no field
 * depends on. A general XML library (saxes, the reference path) tokenizes every one of them,
 * which caps normalisation well below the ingest target. This scanner jumps from one `<` to the
 * next with `indexOf`, checks the few things that make skipped text well-formed (entities,
 * `]]>`, disallowed characters) with `indexOf` and one regular expression, and decodes only
 * attribute values that are asked for and the first bytes of failure messages.
 *
 * It feeds the same model as the reference parser (`junit-model.ts`), with the same events, so
 * results are identical. It is deliberately strict: anything it is not sure is well-formed
 * (a DOCTYPE with an internal subset, an unknown entity, non-ASCII names, an XML 1.1
 * declaration, a truncated file, a mismatched tag, nesting deeper than 200...) makes it return
 * undefined, never throw; the caller then runs the reference parser, which reads the document
 * or reports the exact error with its line and column.
 */

const ROOTS: readonly string[] = ['testsuites', 'testsuite'];

/** Unpaired surrogates, which XML 1.0 forbids (see also `CONTROL`). */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const XML_DECLARATION =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.0\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])[A-Za-z][\w.-]*\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(?:yes|no)\3)?[ \t\r\n]*\?>/;
const DOCTYPE =
  /^<!DOCTYPE[ \t\r\n]+[A-Za-z_][\w.:-]*(?:[ \t\r\n]+(?:SYSTEM[ \t\r\n]+(?:"[^"]*"|'[^']*')|PUBLIC[ \t\r\n]+(?:"[^"]*"|'[^']*')[ \t\r\n]+(?:"[^"]*"|'[^']*')))?[ \t\r\n]*>/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML forbids.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const SURROGATE = /[\ud800-\udfff]/;
const PI_TARGET = /^[A-Za-z_][\w.-]*/;

/**
 * The element names JUnit reports are made of: a tag with one of them gets that string, one
 * string per name instead of one per tag, which the model's `switch` then compares by identity.
 */
const KNOWN_NAMES: readonly string[] = [
  'testcase',
  'testsuite',
  'testsuites',
  'failure',
  'error',
  'skipped',
  'system-out',
  'system-err',
  'properties',
  'property',
  'rerunFailure',
  'rerunError',
  'flakyFailure',
  'flakyError',
];

/** The name in [start, end). */
const nameAt = (text: string, start: number, end: number): string => {
  const length = end - start;
  for (const known of KNOWN_NAMES) {
    if (known.length === length && text.startsWith(known, start)) return known;
  }
  return text.slice(start, end);
};

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
/** ASCII name characters: 1 may start a name, 2 may only continue one. Others: not sure. */
const NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_:]/.test(ch)) NAME[c] = 1;
  else if (/[0-9.-]/.test(ch)) NAME[c] = 2;
}
const isNameStart = (c: number): boolean => NAME[c] === 1;
const isNameChar = (c: number): boolean => (NAME[c] ?? 0) !== 0;

/** A character allowed by the XML 1.0 Char production (for character references). */
const isXmlChar = (c: number): boolean =>
  c === 0x09 ||
  c === 0x0a ||
  c === 0x0d ||
  (c >= 0x20 && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0xfffd) ||
  (c >= 0x10000 && c <= 0x10ffff);

/** Decoded text of the entity or character reference at `amp`, and where it ends. */
interface Entity {
  text: string;
  end: number;
}

/** The reference at `amp` (`&...;`), or undefined when it is not one we are sure about. */
const entityAt = (text: string, amp: number, limit: number): Entity | undefined => {
  const semi = text.indexOf(';', amp + 1);
  if (semi < 0 || semi >= limit || semi - amp > 12) return undefined;
  const name = text.slice(amp + 1, semi);
  switch (name) {
    case 'lt':
      return { text: '<', end: semi + 1 };
    case 'gt':
      return { text: '>', end: semi + 1 };
    case 'amp':
      return { text: '&', end: semi + 1 };
    case 'quot':
      return { text: '"', end: semi + 1 };
    case 'apos':
      return { text: "'", end: semi + 1 };
  }
  let code = Number.NaN;
  if (/^#x[0-9a-fA-F]{1,6}$/.test(name)) code = Number.parseInt(name.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(name)) code = Number.parseInt(name.slice(1), 10);
  if (!isXmlChar(code)) return undefined;
  return { text: String.fromCodePoint(code), end: semi + 1 };
};

/** Thrown on a reference the scanner is not sure about; `scanJunit` then answers undefined. */
class NotSure extends Error {}

/** The reference at `amp`, or `NotSure` when it is not one we are sure about. */
const knownEntityAt = (text: string, amp: number, limit: number): Entity => {
  const entity = entityAt(text, amp, limit);
  if (entity === undefined) throw new NotSure();
  return entity;
};

/**
 * Character data in [start, end) with line ends normalised and references decoded, cut once
 * it has at least `max` characters. Throws `NotSure` on a reference we are not sure about.
 */
const decodeText = (text: string, start: number, end: number, max: number): string => {
  let out = '';
  let from = start;
  let i = start;
  while (i < end && out.length + (i - from) < max) {
    const c = text.charCodeAt(i);
    if (c === 0x26 /* & */) {
      const entity = knownEntityAt(text, i, end);
      out += text.slice(from, i) + entity.text;
      i = entity.end;
      from = i;
    } else if (c === 0x0d) {
      out += `${text.slice(from, i)}\n`;
      i += text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
      from = i;
    } else {
      i++;
    }
  }
  return out + text.slice(from, i);
};

/**
 * An attribute value in [start, end): references decoded, each whitespace character (and each
 * CR LF pair) turned into a space as XML requires. Throws `NotSure` on a reference we are not
 * sure about.
 */
const decodeAttribute = (text: string, start: number, end: number): string => {
  let out = '';
  let from = start;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 0x26) {
      const entity = knownEntityAt(text, i, end);
      out += text.slice(from, i) + entity.text;
      i = entity.end;
      from = i;
    } else if (c === 0x0d || c === 0x0a || c === 0x09) {
      out += `${text.slice(from, i)} `;
      i += c === 0x0d && text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
      from = i;
    } else {
      i++;
    }
  }
  return out + text.slice(from, end);
};

/**
 * The attributes of the start tag being read, as offsets into the document. Values are only
 * sliced (and decoded when they need it) when the model asks for them.
 */
class TagAttributes implements XmlAttributes {
  text = '';
  count = 0;
  /**
   * Per attribute: name start, name end, value start, value end. Only the first `count * 4`
   * entries are read, and they are always set (hence `as number` where they are read).
   */
  readonly at: number[] = [];

  get(name: string): string | undefined {
    const { at, text } = this;
    for (let k = 0; k < this.count * 4; k += 4) {
      const ns = at[k] as number;
      if ((at[k + 1] as number) - ns === name.length && text.startsWith(name, ns)) {
        const vs = at[k + 2] as number;
        const ve = at[k + 3] as number;
        for (let i = vs; i < ve; i++) {
          const c = text.charCodeAt(i);
          // References were checked while scanning: decoding cannot throw here.
          if (c === 0x26 || c === 0x09 || c === 0x0a || c === 0x0d)
            return decodeAttribute(text, vs, ve);
        }
        return text.slice(vs, ve);
      }
    }
    return undefined;
  }

  /** Names seen in this tag, once it has many attributes (a linear search would be quadratic). */
  private names: Set<string> | undefined;

  start(): void {
    this.count = 0;
    this.names = undefined;
  }

  /** Record the attribute; false when one with the same name was already read in this tag. */
  add(ns: number, ne: number, vs: number, ve: number): boolean {
    const { at, text } = this;
    const length = ne - ns;
    if (this.count < 16) {
      for (let k = 0; k < this.count * 4; k += 4) {
        const os = at[k] as number;
        if ((at[k + 1] as number) - os !== length) continue;
        let j = 0;
        while (j < length && text.charCodeAt(os + j) === text.charCodeAt(ns + j)) j++;
        if (j === length) return false;
      }
    } else {
      if (this.names === undefined) {
        this.names = new Set();
        for (let k = 0; k < this.count * 4; k += 4) {
          this.names.add(text.slice(at[k] as number, at[k + 1] as number));
        }
      }
      const name = text.slice(ns, ne);
      if (this.names.has(name)) return false;
      this.names.add(name);
    }
    const k = this.count * 4;
    at[k] = ns;
    at[k + 1] = ne;
    at[k + 2] = vs;
    at[k + 3] = ve;
    this.count++;
    return true;
  }
}

/**
 * Scan a JUnit XML document. Returns the parsed tests, exactly as the reference parser would,
 * or undefined when the document is not one the scanner is sure about. Never throws.
 */
export const scanJunit = (input: string): ParsedTests | undefined => {
  try {
    return scan(input);
  } catch {
    // A reference we are not sure about (`NotSure`), or anything unexpected: the reference
    // parser decides.
    return undefined;
  }
};

const scan = (input: string): ParsedTests | undefined => {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (sniff(text).syntax !== 'xml' || CONTROL.test(text)) return undefined;
  if (SURROGATE.test(text) && UNPAIRED_SURROGATE.test(text)) return undefined;

  const n = text.length;
  const builder = junitBuilder();
  const attributes = new TagAttributes();
  attributes.text = text;
  const open: string[] = [];
  let sawRoot = false;
  let sawDoctype = false;
  let captureDepth = 0;
  // Next `&` and `]]>` at or after the current position (-1: none left), found lazily.
  let nextAmp = -2;
  let nextCdataEnd = -2;

  /**
   * Whether the character data in [start, end) is well-formed (throws `NotSure` on a reference
   * we are not sure about); delivers it when captured.
   */
  const charData = (start: number, end: number): boolean => {
    if (start === end) return true;
    const depth = open.length;
    if (depth === 0) {
      for (let i = start; i < end; i++) if (!isSpace(text.charCodeAt(i))) return false;
      return true;
    }
    if (nextAmp !== -1 && nextAmp < start) nextAmp = text.indexOf('&', start);
    while (nextAmp !== -1 && nextAmp < end) {
      nextAmp = text.indexOf('&', knownEntityAt(text, nextAmp, end).end);
    }
    if (nextCdataEnd !== -1 && nextCdataEnd < start) nextCdataEnd = text.indexOf(']]>', start);
    if (nextCdataEnd !== -1 && nextCdataEnd + 3 <= end) return false;
    if (captureDepth !== 0) builder.text(decodeText(text, start, end, BODY_MAX_CHARS + 1));
    return true;
  };

  let pos = 0;
  if (/^<\?xml[ \t\r\n?]/.test(text.slice(0, 6))) {
    const declaration = XML_DECLARATION.exec(text.slice(0, 256));
    if (declaration === null) return undefined;
    pos = declaration[0].length;
  }

  while (pos < n) {
    const lt = text.indexOf('<', pos);
    if (lt < 0) {
      if (!charData(pos, n)) return undefined;
      pos = n;
      break;
    }
    if (!charData(pos, lt)) return undefined;
    const next = text.charCodeAt(lt + 1);

    if (next === 0x2f /* / */) {
      // End tag: must close the innermost open element.
      const name = open.pop();
      if (name === undefined || !text.startsWith(name, lt + 2)) return undefined;
      let i = lt + 2 + name.length;
      while (i < n && isSpace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 0x3e /* > */) return undefined;
      const depth = open.length + 1;
      if (captureDepth === depth) captureDepth = 0;
      builder.close(name, depth);
      pos = i + 1;
      continue;
    }

    if (next === 0x21 /* ! */) {
      if (text.startsWith('<!--', lt)) {
        const end = text.indexOf('-->', lt + 4);
        if (end < 0) return undefined;
        const dashes = text.indexOf('--', lt + 4);
        if (dashes < end || (end > lt + 4 && text.charCodeAt(end - 1) === 0x2d)) return undefined;
        if (open.length > 0) builder.comment(text.slice(lt + 4, end), open.length);
        pos = end + 3;
      } else if (text.startsWith('<![CDATA[', lt)) {
        if (open.length === 0) return undefined;
        const end = text.indexOf(']]>', lt + 9);
        if (end < 0) return undefined;
        if (captureDepth !== 0) {
          // No references in CDATA: only line ends are normalised.
          builder.text(cdata(text, lt + 9, end));
        }
        pos = end + 3;
      } else if (text.startsWith('<!DOCTYPE', lt)) {
        if (sawRoot || sawDoctype) return undefined;
        const doctype = DOCTYPE.exec(text.slice(lt, lt + 1024));
        if (doctype === null) return undefined;
        sawDoctype = true;
        pos = lt + doctype[0].length;
      } else {
        return undefined;
      }
      continue;
    }

    if (next === 0x3f /* ? */) {
      const target = PI_TARGET.exec(text.slice(lt + 2, lt + 66));
      if (target === null || target[0].toLowerCase() === 'xml') return undefined;
      const afterTarget = lt + 2 + target[0].length;
      const end = text.indexOf('?>', afterTarget);
      if (end < 0) return undefined;
      if (end !== afterTarget && !isSpace(text.charCodeAt(afterTarget))) return undefined;
      pos = end + 2;
      continue;
    }

    // Start tag.
    if (!isNameStart(next)) return undefined;
    let i = lt + 2;
    while (i < n && isNameChar(text.charCodeAt(i))) i++;
    if (i >= n) return undefined;
    const name = nameAt(text, lt + 1, i);
    if (open.length === 0) {
      if (sawRoot || !ROOTS.includes(name)) return undefined;
      sawRoot = true;
    }
    attributes.start();
    let selfClosing = false;
    for (;;) {
      const before = i;
      while (i < n && isSpace(text.charCodeAt(i))) i++;
      const c = text.charCodeAt(i);
      if (c === 0x3e) {
        i++;
        break;
      }
      if (c === 0x2f) {
        if (text.charCodeAt(i + 1) !== 0x3e) return undefined;
        selfClosing = true;
        i += 2;
        break;
      }
      // An attribute: whitespace before it, a name, `=`, a quoted value.
      if (i === before || !isNameStart(c)) return undefined;
      const ns = i;
      i++;
      while (i < n && isNameChar(text.charCodeAt(i))) i++;
      const ne = i;
      while (i < n && isSpace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 0x3d /* = */) return undefined;
      i++;
      while (i < n && isSpace(text.charCodeAt(i))) i++;
      const quote = text.charCodeAt(i);
      if (quote !== 0x22 && quote !== 0x27) return undefined;
      const vs = i + 1;
      const ve = text.indexOf(quote === 0x22 ? '"' : "'", vs);
      if (ve < 0) return undefined;
      if (!attributes.add(ns, ne, vs, ve)) return undefined;
      i = ve + 1;
    }
    // A `<` or `&` inside the tag can only be in a value: `<` is not allowed there, and
    // references are checked here once for all values (they are decoded when read).
    const nextLt = text.indexOf('<', lt + 1);
    if (nextLt >= 0 && nextLt < i) return undefined;
    if (nextAmp !== -1 && nextAmp < lt) nextAmp = text.indexOf('&', lt);
    while (nextAmp !== -1 && nextAmp < i) {
      nextAmp = text.indexOf('&', knownEntityAt(text, nextAmp, i).end);
    }
    open.push(name);
    const depth = open.length;
    if (depth > MAX_NESTING_DEPTH) return undefined;
    if (builder.open(name, attributes, depth) && captureDepth === 0) captureDepth = depth;
    if (selfClosing) {
      open.pop();
      if (captureDepth === depth) captureDepth = 0;
      builder.close(name, depth);
    }
    pos = i;
  }

  if (!sawRoot || open.length !== 0) return undefined;
  return builder.result();
};

/** CDATA content with line ends normalised, at most `BODY_MAX_CHARS + 1` characters. */
const cdata = (text: string, start: number, end: number): string => {
  const raw = text.slice(start, Math.min(end, start + 2 * (BODY_MAX_CHARS + 1)));
  return raw.replace(/\r\n?/g, '\n').slice(0, BODY_MAX_CHARS + 1);
};
