import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the dashboard (web/main.ts, Preact + htm + uPlot) into static files with hashed names:
 * `index.html`, `assets/main-<hash>.js`, `assets/main-<hash>.css`. In memory for local mode and
 * tests; written to a directory by `scripts/build-web.ts` (the AWS web function ships them).
 */

const ENTRY = fileURLToPath(new URL('./main.ts', import.meta.url));
/** Nothing is written there (write: false); output paths are made relative to it. */
const OUT_ROOT = fileURLToPath(new URL('./dist', import.meta.url));

/** Path (`index.html`, `assets/...`) to content. */
export type WebFiles = Map<string, Buffer>;

const indexHtml = (js: string, css: string): string =>
  [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<title>Vigil</title>',
    '<link rel="icon" href="data:,">',
    `<link rel="stylesheet" href="/${css}">`,
    `<script type="module" src="/${js}"></script>`,
    '</head>',
    // The web handler adds a link to /status (and a meta tag) when the deployment has one.
    '<body><div id="app"><noscript>The Vigil dashboard needs JavaScript.</noscript></div></body>',
    '</html>',
    '',
  ].join('\n');

export const buildWebFiles = async (): Promise<WebFiles> => {
  // Loaded here only: the Lambda bundle never builds.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { main: ENTRY },
    bundle: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    write: false,
    outdir: join(OUT_ROOT, 'assets'),
    entryNames: '[name]-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
  });
  const files: WebFiles = new Map();
  let js = '';
  let css = '';
  for (const out of result.outputFiles) {
    const path = relative(OUT_ROOT, out.path).split(sep).join('/');
    files.set(path, Buffer.from(out.contents));
    if (path.endsWith('.js')) js = path;
    if (path.endsWith('.css')) css = path;
  }
  if (!js || !css) throw new Error('web build produced no JS or no CSS');
  files.set('index.html', Buffer.from(indexHtml(js, css)));
  return files;
};

let cached: Promise<WebFiles> | undefined;

/** `buildWebFiles`, once per process (local mode asks at the first request of a page, not at start). */
export const cachedWebFiles = (): Promise<WebFiles> => {
  cached ??= buildWebFiles();
  return cached;
};

export const writeWebFiles = async (files: WebFiles, dir: string): Promise<void> => {
  for (const [path, body] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), body);
  }
};
