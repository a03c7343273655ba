import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A small reader for the Markdown in README.md and docs/: fenced code blocks, headings and
 * their GitHub anchors, links. Enough for the docs tests; not a Markdown renderer.
 */

export const ROOT = new URL('../../', import.meta.url).pathname;

/** README.md and every page under docs/, as paths relative to the repository root. */
export const docFiles = (): string[] => [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

export const readDoc = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

export interface CodeBlock {
  /** The info string's first word (`json`, `ts`, `sh`...), or ''. */
  lang: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The `<!-- name: value -->` markers on the lines just above the fence. */
  markers: Record<string, string>;
}

const FENCE = /^\s*(`{3,}|~{3,})\s*([\w-]*)/;
const MARKER = /^<!--\s*([\w-]+)(?::\s*(.*?))?\s*-->$/;

/** Split a document into its fenced code blocks and its prose (code lines blanked). */
export const parseMarkdown = (text: string): { blocks: CodeBlock[]; prose: string[] } => {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  const prose: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const open = FENCE.exec(line);
    if (!open) {
      prose.push(line);
      continue;
    }
    const fence = open[1] ?? '```';
    const markers: Record<string, string> = {};
    for (let j = i - 1; j >= 0; j--) {
      const m = MARKER.exec((lines[j] ?? '').trim());
      if (!m) break;
      markers[m[1] ?? ''] = m[2] ?? '';
    }
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').trim().startsWith(fence))
      body.push(lines[j++] ?? '');
    // Keep the indentation of list-nested blocks out of the body.
    const indent = /^\s*/.exec(line)?.[0].length ?? 0;
    blocks.push({
      lang: open[2] ?? '',
      body: body.map((b) => b.slice(Math.min(indent, /^\s*/.exec(b)?.[0].length ?? 0))).join('\n'),
      line: i + 1,
      markers,
    });
    // Prose keeps one (empty) line per line of the block, so line numbers stay true.
    for (let k = i; k <= Math.min(j, lines.length - 1); k++) prose.push('');
    i = j;
  }
  return { blocks, prose };
};

/** Inline code spans removed, so `[x](y)` inside backticks is not taken for a link. */
const withoutCodeSpans = (line: string): string => line.replace(/(`+)[^`]*?\1/g, '');

/**
 * GitHub's heading anchor: the rendered text lower-cased, every character that is not a
 * letter, digit, space, `-` or `_` removed, spaces turned into `-`; a repeated slug gets
 * `-1`, `-2`... in order of appearance.
 */
export const slug = (heading: string): string =>
  heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]|(?<!\w)_|_(?!\w)/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** Every anchor a page has: its headings' slugs (with GitHub's numbering) and `<a id>`s. */
export const anchorsOf = (text: string): Set<string> => {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of parseMarkdown(text).prose) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1] ?? '');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1] ?? '');
  }
  return anchors;
};

export interface Link {
  target: string;
  line: number;
}

/** Inline links and images outside code: `[text](target)`. */
export const linksOf = (text: string): Link[] => {
  const links: Link[] = [];
  parseMarkdown(text).prose.forEach((line, i) => {
    for (const m of withoutCodeSpans(line).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      links.push({ target: m[1] ?? '', line: i + 1 });
  });
  return links;
};
