import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The dashboard's built files (see web/build.ts), ready to serve: typed, cached, gzipped. */

export interface WebAsset {
  body: Buffer;
  /** Served when the client accepts gzip and it is smaller. */
  gzip?: Buffer;
  contentType: string;
  cacheControl: string;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  map: 'application/json',
};

/** Hashed names never change content: cache them for a year; `index.html` is revalidated. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export const prepareAssets = (files: ReadonlyMap<string, Buffer>): Map<string, WebAsset> => {
  const assets = new Map<string, WebAsset>();
  for (const [path, body] of files) {
    const ext = path.slice(path.lastIndexOf('.') + 1);
    const gzip = gzipSync(body, { level: 9 });
    assets.set(path, {
      body,
      ...(gzip.length < body.length ? { gzip } : {}),
      contentType: TYPES[ext] ?? 'application/octet-stream',
      cacheControl: path.startsWith('assets/') ? IMMUTABLE : 'no-cache',
    });
  }
  return assets;
};

/** Every file under `dir`, by its path relative to it with `/` separators. */
export const readAssetDir = async (dir: string): Promise<Map<string, Buffer>> => {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    files.set(relative(dir, full).split(sep).join('/'), await readFile(full));
  }
  return files;
};
