import type { FormatId } from './types';

/**
 * Guess the format of a report from its content. Cheap: XML and LCOV are recognised
 * from their first bytes; JSON by the shape of the already-parsed document.
 */

const LCOV_LINE = /^(TN|SF|FN|FNDA|FNF|FNH|DA|BRDA|BRF|BRH|LF|LH|end_of_record)\b/;

export type Sniffed =
  | { syntax: 'xml'; root: string | undefined }
  | { syntax: 'json' }
  | { syntax: 'text' }
  | { syntax: 'html' }
  | { syntax: 'empty' };

/** Name of the first element of an XML document, skipping the prolog, comments and PIs. */
export const xmlRootName = (text: string): string | undefined => {
  let i = 0;
  const n = Math.min(text.length, 64 * 1024);
  while (i < n) {
    const lt = text.indexOf('<', i);
    if (lt < 0 || lt >= n) return undefined;
    const next = text[lt + 1];
    if (next === '?') {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end < 0) return undefined;
      i = end + 3;
    } else if (next === '!') {
      return '!DOCTYPE';
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(lt, lt + 256));
      return m?.[1];
    }
  }
  return undefined;
};

export const sniff = (text: string): Sniffed => {
  const start = text.search(/\S/);
  if (start < 0) return { syntax: 'empty' };
  const head = text.slice(start, start + 512).toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return { syntax: 'html' };
  const c = text[start];
  if (c === '<') {
    const root = xmlRootName(text);
    if (root?.toLowerCase() === 'html') return { syntax: 'html' };
    return { syntax: 'xml', root };
  }
  if (c === '{' || c === '[') return { syntax: 'json' };
  return { syntax: 'text' };
};

export const formatOfXmlRoot = (root: string | undefined): FormatId | undefined => {
  if (root === 'testsuites' || root === 'testsuite' || root === 'testrun') return 'junit';
  if (root === 'coverage') return 'cobertura';
  return undefined;
};

export const looksLikeLcov = (text: string): boolean => {
  const lines = text.slice(0, 4096).split('\n', 20);
  return (
    lines.some((l) => l.startsWith('SF:')) &&
    lines.every((l) => l.trim() === '' || LCOV_LINE.test(l.trim()))
  );
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which JSON format a parsed document is, from its shape. */
export const detectJsonFormat = (doc: unknown): FormatId | undefined => {
  if (Array.isArray(doc)) {
    const first = doc[0];
    if (isObject(first) && 'name' in first && 'unit' in first && 'value' in first)
      return 'benchmark';
    return undefined;
  }
  if (!isObject(doc)) return undefined;
  if ('testResults' in doc && ('numTotalTests' in doc || 'numPassedTests' in doc)) return 'jest';
  if (isObject(doc.total) && isObject(doc.total.lines) && 'pct' in doc.total.lines)
    return 'istanbul';
  if ('aggregate' in doc && 'intermediate' in doc) return 'artillery';
  if (isObject(doc.results) && 'metrics' in doc.results && isObject(doc.metadata)) return 'k6';
  if (
    'metrics' in doc &&
    ('root_group' in doc || 'state' in doc || 'k6Version' in doc || 'config' in doc)
  )
    return 'k6';
  if ('benchmarks' in doc && ('machine_info' in doc || 'commit_info' in doc)) return 'benchmark';
  if (Array.isArray(doc.results) && isObject(doc.results[0]) && 'command' in doc.results[0])
    return 'benchmark';
  if (Array.isArray(doc.files) && isObject(doc.files[0]) && 'groups' in doc.files[0])
    return 'benchmark';
  return undefined;
};
