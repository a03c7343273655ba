import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { STATUS_PAGE_META_NAME } from '../../web/text';

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

/** Marks the page of a deployment with a status page: the dashboard then links to it. */
export const STATUS_PAGE_META = `<meta name="${STATUS_PAGE_META_NAME}" content="/status">`;
const STATUS_PAGE_NOSCRIPT =
  ' The public status page works without it: <a href="/status">/status</a>.';

/**
 * The files with `index.html` telling the page that `/status` exists (a meta tag the dashboard
 * reads, a link in its no-JavaScript notice). Built without: a deployment has one only when the
 * config has a `statusPage`.
 */
export const withStatusPage = (files: ReadonlyMap<string, Buffer>): Map<string, Buffer> => {
  const out = new Map(files);
  const index = files.get('index.html')?.toString('utf8');
  if (index !== undefined)
    out.set(
      'index.html',
      Buffer.from(
        index
          .replace('</head>', `${STATUS_PAGE_META}\n</head>`)
          .replace('</noscript>', `${STATUS_PAGE_NOSCRIPT}</noscript>`),
      ),
    );
  return out;
};

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
