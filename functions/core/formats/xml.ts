import { SaxesParser, type SaxesStartTagPlain, type SaxesTagPlain } from 'saxes';
import { invalidReport, type VigilError } from '../errors';
import { sniff } from './detect';
import { MAX_NESTING_DEPTH } from './types';

/**
 * A small, safe streaming reader over `saxes`, shared by the XML report parsers.
 *
 * - One pass, no DOM: the visitor sees open/close events and, only when it asks for it,
 *   the character data of one element.
 * - Entities: only the five predefined ones and character references are decoded. A DOCTYPE
 *   with an internal subset (`<!DOCTYPE x [ ... ]>`, where entities are declared) is rejected
 *   before parsing, which blocks entity expansion ("billion laughs"), parameter entities and
 *   external entities. A DOCTYPE that only names an external DTD (istanbul's cobertura
 *   reporter writes `<!DOCTYPE coverage SYSTEM "...coverage-04.dtd">`) is accepted: the DTD
 *   is never fetched or read.
 * - Nesting deeper than `maxDepth` is rejected as soon as it is reached.
 * - Syntax errors become `invalid_report` errors with the line and column.
 */

/**
 * The attributes of the element being opened, entities decoded. The object is reused from one
 * element to the next: read what you need during `open`, do not keep it.
 */
export interface XmlAttributes {
  get(name: string): string | undefined;
}

export interface XmlVisitor {
  /**
   * An element opened (`depth` 1 is the root). Return true to receive the character data
   * inside it (text and CDATA, entities decoded, descendants included) through `text`
   * until it closes.
   */
  open(name: string, attributes: XmlAttributes, depth: number): boolean;
  /** An element closed; `depth` is the depth it had when it opened. */
  close(name: string, depth: number): void;
  text?(data: string): void;
  /** A comment inside the root; `depth` is the depth of the element it is in (1: the root). */
  comment?(data: string, depth: number): void;
}

export interface XmlReadOptions {
  /** What the document should be, for messages, e.g. `JUnit XML`. */
  format: string;
  /** Accepted names of the root element. */
  roots: readonly string[];
  maxDepth?: number;
}

/** Attributes from saxes' `tag.attributes` dictionary. */
class AttributeRecord implements XmlAttributes {
  record: Readonly<Record<string, string>> = {};

  get(name: string): string | undefined {
    return this.record[name];
  }
}

/** 1-based line and column of a character offset (used on error paths only). */
const lineColumnAt = (text: string, offset: number): { line: number; column: number } => {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
};

const clip = (s: string, max = 40): string => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

const DOCTYPE = '<!DOCTYPE';

/**
 * Walk the prolog (XML declaration, PIs, comments, whitespace) and look at a DOCTYPE if there
 * is one. Returns the offset of a DOCTYPE that has an internal subset, or -1.
 */
const doctypeSubsetAt = (text: string, from: number): number => {
  const n = text.length;
  let i = from;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
    } else if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) return -1;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) return -1;
      i = end + 3;
    } else if (text.startsWith(DOCTYPE, i)) {
      let quote = 0;
      for (let j = i + DOCTYPE.length; j < n; j++) {
        const d = text.charCodeAt(j);
        if (quote !== 0) {
          if (d === quote) quote = 0;
        } else if (d === 0x22 || d === 0x27) {
          quote = d;
        } else if (d === 0x5b /* [ */) {
          return i;
        } else if (d === 0x3e /* > */) {
          return -1;
        }
      }
      return -1;
    } else {
      return -1;
    }
  }
  return -1;
};

/** Reject what is clearly not an XML document, with a message that says what it is. */
const checkLooksLikeXml = (text: string, format: string): void => {
  const shape = sniff(text);
  if (shape.syntax === 'empty') {
    throw invalidReport(`The ${format} report is empty.`);
  }
  if (shape.syntax === 'html') {
    throw invalidReport(
      `Not a ${format} report: the input is an HTML page (an error page or a redirect saved by mistake?).`,
      { line: 1, column: 1 },
    );
  }
  if (shape.syntax !== 'xml') {
    let at = 0;
    while (at < text.length && /\s/.test(text.charAt(at))) at++;
    const where = lineColumnAt(text, at);
    const what = shape.syntax === 'json' ? 'it looks like JSON' : 'it does not start with "<"';
    throw invalidReport(
      `Not a ${format} report: ${what} (starts with "${clip(text.slice(at, at + 60))}").`,
      where,
    );
  }
};

const describeMismatch = (text: string, position: number, open: string | undefined): string => {
  const lt = text.lastIndexOf('</', position);
  const closing = lt >= 0 ? /^<\/([^\s>]+)/.exec(text.slice(lt, lt + 200))?.[1] : undefined;
  if (!closing || !open) return '';
  return ` (</${closing}> does not match the open <${open}>)`;
};

const undefinedEntity = (text: string, position: number): string => {
  const amp = text.lastIndexOf('&', position);
  const name = amp >= 0 ? /^&([^\s;&<]{1,40});/.exec(text.slice(amp, amp + 50))?.[1] : undefined;
  const which = name ? ` &${name};` : '';
  return `undefined entity${which} (only &amp; &lt; &gt; &quot; &apos; and character references are allowed)`;
};

/** The error for a document that ends while elements are still open. */
const truncated = (
  text: string,
  at: { line: number; column: number },
  inner: string,
  open: number,
  root: string,
): VigilError => {
  const tag = `<${inner}`;
  let start = text.lastIndexOf(tag);
  while (start >= 0 && !/[\s/>]/.test(text.charAt(start + tag.length))) {
    start = start === 0 ? -1 : text.lastIndexOf(tag, start - 1);
  }
  const where = start >= 0 ? ` (opened at line ${lineColumnAt(text, start).line})` : '';
  const still = open > 1 ? `; ${open} elements are still open, the outermost <${root}>` : '';
  return invalidReport(
    `Truncated XML: the document ends at line ${at.line} inside <${inner}>${where}${still}.`,
    at,
  );
};

/**
 * Read an XML document in one pass, calling the visitor. Throws `invalid_report` errors for
 * anything that is not a well-formed document of the expected root.
 */
export const readXml = (input: string, visitor: XmlVisitor, options: XmlReadOptions): void => {
  const { format, roots } = options;
  const maxDepth = options.maxDepth ?? MAX_NESTING_DEPTH;
  // A BOM is harmless; saxes would report it as text before the root.
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;

  checkLooksLikeXml(text, format);
  const subsetAt = doctypeSubsetAt(text, 0);
  if (subsetAt >= 0) {
    throw invalidReport(
      `DOCTYPE declarations with an internal subset are not accepted (entity declarations can expand without bound or read files); found at line ${lineColumnAt(text, subsetAt).line}.`,
      lineColumnAt(text, subsetAt),
    );
  }

  const parser = new SaxesParser({ position: false, xmlns: false });
  const attributes = new AttributeRecord();
  let depth = 0;
  let captureDepth = 0;
  let rootName = '';
  // saxes reports a mismatched element as closed just before it reports the mismatch.
  let lastClosed = '';
  let ending = false;

  const here = (): { line: number; column: number } => ({
    line: parser.line,
    column: Math.max(1, parser.column),
  });

  const onText = (data: string): void => {
    visitor.text?.(data);
  };
  const stopCapture = (): void => {
    captureDepth = 0;
    parser.off('text');
    parser.off('cdata');
  };

  parser.on('error', (err: Error) => {
    const at = here();
    let reason = err.message;
    if (ending && reason.startsWith('unclosed tag: ')) {
      throw truncated(text, at, reason.slice('unclosed tag: '.length), depth, rootName);
    }
    if (reason.startsWith('unexpected close tag')) {
      reason = `unexpected close tag${describeMismatch(text, parser.position, lastClosed)}`;
    } else if (reason === 'undefined entity.') {
      reason = undefinedEntity(text, parser.position);
    }
    throw invalidReport(`Malformed XML at line ${at.line}, column ${at.column}: ${reason}`, at);
  });

  parser.on('doctype', (doctype: string) => {
    // The prolog scan above rejects internal subsets; this catches anything it missed.
    if (doctype.includes('[')) {
      throw invalidReport(
        'DOCTYPE declarations with an internal subset are not accepted (entity declarations can expand without bound or read files).',
        here(),
      );
    }
  });

  // Only the root's start is watched: the root name is checked before its attributes are
  // read, then the handler is removed so that other elements cost nothing extra.
  parser.on('opentagstart', (tag: SaxesStartTagPlain) => {
    parser.off('opentagstart');
    rootName = tag.name;
    if (!roots.includes(tag.name)) {
      const expected = roots.map((r) => `<${r}>`).join(' or ');
      throw invalidReport(
        `Not a ${format} report: the root element is <${tag.name}>, expected ${expected}.`,
        here(),
      );
    }
  });

  parser.on('opentag', (tag: SaxesTagPlain) => {
    depth++;
    if (depth > maxDepth) {
      const at = here();
      throw invalidReport(
        `XML nesting is deeper than ${maxDepth} levels at line ${at.line} (<${tag.name}>); refusing to read further.`,
        at,
      );
    }
    attributes.record = tag.attributes;
    if (visitor.open(tag.name, attributes, depth) && captureDepth === 0 && visitor.text) {
      captureDepth = depth;
      parser.on('text', onText);
      parser.on('cdata', onText);
    }
  });

  const { comment } = visitor;
  if (comment) {
    parser.on('comment', (data: string) => {
      if (depth > 0) comment.call(visitor, data, depth);
    });
  }

  parser.on('closetag', (tag: SaxesTagPlain) => {
    if (captureDepth === depth) stopCapture();
    lastClosed = tag.name;
    visitor.close(tag.name, depth);
    depth--;
  });

  parser.write(text);
  ending = true;
  parser.close();
};
