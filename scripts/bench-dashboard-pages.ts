import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { toApiGatewayEvent } from '../functions/runtime/local/runtime';
import { publicData } from '../functions/web/data';
import { createWebHandler, isWebPath } from '../functions/web/handler';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/requires';
import { buildWebFiles } from '../web/build';
import { benchApi, benchStores, clock, config, TOKEN } from './bench-dashboard';

/**
 * `npm run bench:dashboard` (after the API route timings): the same filled stores behind the
 * ingest and web handlers on a loopback server; each dashboard page loaded in headless
 * Chromium. Prints the JS + CSS bytes gzipped, each page's time to content (first load, cold
 * cache, then warm) and the slowest API call the page made. Targets: ≤ 1 s per page,
 * ≤ 150 KB gzipped. A benchmark, not a test.
 */

const PAGES = [
  ['overview', '#/'],
  ['runs', '#/runs/shop'],
  ['run', '#/run/shop/run-996'],
  ['tests (flaky)', '#/tests/shop?status=flaky'],
  ['benchmarks + load', '#/benchmarks/shop?branch=main'],
  ['coverage', '#/coverage/shop?branch=main'],
  ['probes', '#/probes'],
  ['probe', '#/probe/shop/probe-0'],
  ['alerts', '#/alerts'],
  ['status page', 'status'],
] as const;

/**
 * Where a cold load's time went, from the page's own timeline (ms since navigation): `script`
 * until the first API call starts (HTML, JS and CSS fetched, parsed, run), `API` from then until
 * the last call's answer is in, `render` from then until the content is there. Null without calls.
 */
type Split = { script: number; api: number; render: number } | null;
const SPLIT = (): Split => {
  const content = performance.now();
  const calls = performance
    .getEntriesByType('resource')
    .filter((e) => new URL(e.name).pathname.startsWith('/v1/') && e.startTime < content);
  if (calls.length === 0) return null;
  const first = Math.min(...calls.map((e) => e.startTime));
  const last = Math.max(...calls.map((e) => e.startTime + e.duration));
  return { script: first, api: last - first, render: content - last };
};
const splitColumns = (s: Split): string =>
  s === null
    ? `${'-'.padStart(7)} ${'-'.padStart(6)} ${'-'.padStart(7)}`
    : `${s.script.toFixed(0).padStart(7)} ${s.api.toFixed(0).padStart(6)} ${s.render.toFixed(0).padStart(7)}`;

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((ok) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => ok(Buffer.concat(chunks)));
  });

const main = async () => {
  const stores = await benchStores();
  const { status } = stores;
  const files = await buildWebFiles();
  const api = benchApi(stores);
  const web = createWebHandler({
    files,
    tokens: { tokens: async () => [TOKEN] },
    ...publicData({ ...status, config, clock }),
  });
  /** API calls since the last reset: path, milliseconds and bytes answered. */
  let calls: { path: string; ms: number; bytes: number }[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://bench');
    const event = toApiGatewayEvent(req, url, await readBody(req));
    const t = performance.now();
    const result = isWebPath(url.pathname) ? await web(event) : await api(event);
    if (!isWebPath(url.pathname))
      calls.push({
        path: `${url.pathname}${url.search}`,
        ms: performance.now() - t,
        bytes: Buffer.byteLength(result.body ?? ''),
      });
    res.writeHead(result.statusCode, result.headers);
    res.end(
      result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : result.body,
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let assets = 0;
  for (const [path, body] of files)
    if (path.startsWith('assets/')) assets += gzipSync(body, { level: 9 }).length;
  console.log(`\nJS + CSS gzipped: ${(assets / 1024).toFixed(1)} KB (target ≤ 150 KB)`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    console.log(
      `\n${'page'.padEnd(20)} ${'cold ms'.padStart(8)} ${'warm ms'.padStart(8)} ${'script'.padStart(7)} ${'API'.padStart(6)} ${'render'.padStart(7)} ${'calls'.padStart(5)} ${'API KB'.padStart(7)}  slowest API call`,
    );
    let worst = 0;
    for (const [name, hash] of PAGES) {
      // Cold: a new browser context (empty cache), signed in; warm: the same page loaded again.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript(`sessionStorage.setItem('vigil.token', '${TOKEN}')`);
      const page = await context.newPage();
      const times: number[] = [];
      let cold: typeof calls = [];
      let split: Split = null;
      for (let i = 0; i < 2; i++) {
        calls = [];
        const t = performance.now();
        if (i === 0) await page.goto(`${base}/${hash}`);
        else await page.reload();
        await page.locator('main h1').waitFor({ timeout: 10_000 });
        await page
          .locator('[aria-busy="true"]')
          .first()
          .waitFor({ state: 'detached', timeout: 10_000 });
        times.push(performance.now() - t);
        if (i === 0) {
          cold = calls;
          split = await page.evaluate(SPLIT);
        }
      }
      await context.close();
      const slowest = [...cold, ...calls].reduce((a, b) => (b.ms > a.ms ? b : a), {
        path: '-',
        ms: 0,
      });
      const kb = cold.reduce((sum, c) => sum + c.bytes, 0) / 1024;
      worst = Math.max(worst, ...times);
      console.log(
        `${name.padEnd(20)} ${times[0]?.toFixed(0).padStart(8)} ${times[1]?.toFixed(0).padStart(8)} ${splitColumns(split)} ${String(cold.length).padStart(5)} ${kb.toFixed(0).padStart(7)}  ${slowest.ms.toFixed(1)} ms ${slowest.path}`,
      );
    }
    console.log(
      `\nslowest page: ${worst.toFixed(0)} ms ${worst <= 1000 ? '(≤ 1 s: ok)' : '(over the 1 s target)'}`,
    );
  } finally {
    await browser.close();
    server.close();
    await stores.done();
  }
};

await main();
