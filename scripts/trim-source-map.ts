/**
 * Keep only the mappings of Vigil's own sources in a bundle's source map. CDK runs it after
 * bundling every function (scripts/after-bundling.ts).
 *
 * Why: with `--enable-source-maps`, Node reads and parses a bundle's whole source map while it
 * loads the bundle, at every cold start. A Vigil bundle's map is 1–1.6 MB, over 85% of it for
 * the dependencies (AWS SDK, zod, Powertools, X-Ray, Sentry); trimmed, it is 30–180 KB and
 * the init is ~10 ms shorter (see `npm run bench:cold-start`). Frames in Vigil's code, the ones
 * logs and Sentry need, still point at the TypeScript sources; frames inside a dependency keep
 * their bundle position (`index.mjs:1:12345`) instead of a file under node_modules.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** The fields of a source map (revision 3) that this file reads and writes. */
export interface SourceMapV3 {
  version: 3;
  sources: string[];
  names: string[];
  mappings: string;
  sourcesContent?: (string | null)[];
  [field: string]: unknown;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Base64 digit by character code (-1: not a digit). A table: maps have millions of digits. */
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i;
const COMMA = ','.charCodeAt(0);

/**
 * Decode the segment of `text` that starts at `from` (Base64 VLQ, relative values) into
 * `fields`; returns where it ends (the next `,` or the end of `text`) and sets `fields.length`.
 */
const decodeSegment = (text: string, from: number, fields: number[]): number => {
  let count = 0;
  let value = 0;
  let shift = 0;
  let i = from;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === COMMA) break;
    const digit = DIGIT[code] ?? -1;
    if (digit === -1) throw new Error(`invalid source map mappings character '${text[i]}'`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
    } else {
      fields[count++] = value % 2 ? -Math.floor(value / 2) : value / 2;
      value = 0;
      shift = 0;
    }
  }
  fields.length = count;
  return i;
};

const encodeField = (n: number): string => {
  let value = n < 0 ? -n * 2 + 1 : n * 2;
  let out = '';
  do {
    let digit = value % 32;
    value = Math.floor(value / 32);
    if (value > 0) digit |= 32;
    out += BASE64[digit];
  } while (value > 0);
  return out;
};

/** Node packages: any source under a `node_modules` directory. */
export const isDependency = (source: string): boolean => /(^|[/\\])node_modules[/\\]/.test(source);

/**
 * The map with only the segments whose source passes `keep` (and only the sources and names
 * they use). Where kept code is followed by dropped code, an unmapped segment ends the kept
 * range, so a position in dropped code maps to nothing rather than to the kept line before it.
 */
export const trimSourceMap = (
  map: SourceMapV3,
  keep: (source: string) => boolean = (source) => !isDependency(source),
): SourceMapV3 => {
  const kept = map.sources.map(keep);
  const sourceIndex = new Map<number, number>();
  const nameIndex = new Map<number, number>();
  const sources: string[] = [];
  const sourcesContent: (string | null)[] = [];
  const names: string[] = [];
  // Absolute values in the input, and the last values written (fields are relative).
  let source = 0;
  let line = 0;
  let column = 0;
  let name = 0;
  let outSource = 0;
  let outLine = 0;
  let outColumn = 0;
  let outName = 0;

  const fields: number[] = [];
  const lines = map.mappings.split(';').map((text) => {
    const segments: string[] = [];
    let generated = 0;
    let lastGenerated = 0;
    let inKeptRange = false;
    // Segment by segment, without splitting the line (a minified bundle is one long line).
    for (let at = 0; text !== '' && at <= text.length; at++) {
      at = decodeSegment(text, at, fields);
      const g = fields[0] ?? 0;
      const s = fields[1];
      const l = fields[2] ?? 0;
      const c = fields[3] ?? 0;
      const n = fields[4];
      generated += g;
      if (s !== undefined) {
        source += s;
        line += l;
        column += c;
        if (n !== undefined) name += n;
      }
      if (s === undefined || !kept[source]) {
        if (inKeptRange) {
          segments.push(encodeField(generated - lastGenerated));
          lastGenerated = generated;
        }
        inKeptRange = false;
        continue;
      }
      inKeptRange = true;
      let newSource = sourceIndex.get(source);
      if (newSource === undefined) {
        newSource = sources.length;
        sourceIndex.set(source, newSource);
        sources.push(map.sources[source] ?? '');
        sourcesContent.push(map.sourcesContent?.[source] ?? null);
      }
      let out =
        encodeField(generated - lastGenerated) +
        encodeField(newSource - outSource) +
        encodeField(line - outLine) +
        encodeField(column - outColumn);
      lastGenerated = generated;
      outSource = newSource;
      outLine = line;
      outColumn = column;
      if (n !== undefined) {
        let newName = nameIndex.get(name);
        if (newName === undefined) {
          newName = names.length;
          nameIndex.set(name, newName);
          names.push(map.names[name] ?? '');
        }
        out += encodeField(newName - outName);
        outName = newName;
      }
      segments.push(out);
    }
    return segments.join(',');
  });

  return {
    ...map,
    sources,
    names,
    mappings: lines.join(';'),
    ...(map.sourcesContent ? { sourcesContent } : {}),
  };
};

/** Trim a source map file in place. */
export const trimSourceMapFile = (file: string): void => {
  const map = JSON.parse(readFileSync(file, 'utf8')) as SourceMapV3;
  writeFileSync(file, JSON.stringify(trimSourceMap(map)));
};
