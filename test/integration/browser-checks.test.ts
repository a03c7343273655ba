import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileArchive } from '../../functions/adapters/local/archive';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { probeSchema } from '../../functions/core/config';
import { probeCompletedDetailSchema } from '../../functions/core/events';
import { systemClock } from '../../functions/core/ports';
import { runProbe } from '../../functions/core/probes/run';
import { CHROMIUM_FLAGS, createBrowserProber } from '../../functions/shared/browser-probe';
import { CHROMIUM, requireTools, TOOLS } from '../helpers/requires';

/**
 * Browser checks against a small web app served by the test (a login form, a slow page, a page
 * with a console error and a missing image, a page that never answers), with Debian's Chromium:
 * steps timed, Web Vitals read, failures archived with a screenshot and a Playwright trace, a
 * hung run killed at its timeout.
 */

const ok = requireTools('browser checks', [TOOLS.chromium]);
const FIXTURES = resolve(import.meta.dirname, '../fixtures/browser');
const PASSWORD = 'hunter2-correct-horse';
const TOKEN = 'tok3n-s3cret-value';

const PAGES: Record<string, string> = {
  '/login':
    '<h1>Sign in</h1><form method="post" action="/login"><input id="user" name="user">' +
    '<input id="password" name="password" type="password"><button type="submit">Go</button></form>',
  '/broken':
    '<h1>Shop</h1><img src="/missing.png"><script>console.error("cart failed to load")</script>',
};

let app: Server;
let baseUrl: string;
let dataDir: string;
const hangs: import('node:http').ServerResponse[] = [];

const listen = (server: Server) =>
  new Promise<number>((ok) =>
    server.listen(0, '127.0.0.1', () => ok((server.address() as AddressInfo).port)),
  );

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-browser-test-'));
  app = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/hang') {
      hangs.push(res);
      return;
    }
    if (req.method === 'POST' && path === '/login') {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        if (form.get('password') !== PASSWORD) res.writeHead(401).end('<h1>Wrong password</h1>');
        else
          res
            .writeHead(303, {
              location: `/home?user=${encodeURIComponent(form.get('user') ?? '')}`,
            })
            .end();
      });
      return;
    }
    if (path === '/home') {
      const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? '';
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<h1>Welcome ${user.replace(/[<>&"]/g, '')}</h1>`);
      return;
    }
    const page = PAGES[path];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html' });
    res.end(page ?? 'not found');
  });
  baseUrl = `http://127.0.0.1:${await listen(app)}`;
});

afterAll(async () => {
  for (const res of hangs) res.destroy();
  await new Promise((ok) => app?.close(ok));
  await rm(dataDir, { recursive: true, force: true });
});

const check = (name: string, script: string, vars: Record<string, string>, timeoutMs = 60_000) =>
  probeSchema.parse({
    name,
    type: 'browser',
    script: join(FIXTURES, script),
    vars: { baseUrl, ...vars },
    timeoutMs,
  });

const run = (
  probe: ReturnType<typeof check>,
  chromium?: Parameters<typeof createBrowserProber>[0]['chromium'],
) =>
  runProbe(
    probe,
    {
      probe: createBrowserProber({
        secrets: new EnvSecretResolver({
          VIGIL_SECRET_SHOP_PASSWORD: PASSWORD,
          VIGIL_SECRET_SHOP_TOKEN: TOKEN,
        }),
        archive: new FileArchive(dataDir),
        ...(chromium ? { chromium } : {}),
      }),
      clock: systemClock,
    },
    { correlationId: 'c-1', location: 'local', defaultProject: 'shop' },
  );

// Chromium on a busy 2-core machine takes seconds to start.
describe.skipIf(!ok)('browser checks with Chromium', { timeout: 90_000 }, () => {
  it('passes a login flow, timing each step and reading the Web Vitals', async () => {
    const detail = await run(
      check('login', 'login.check.ts', { user: 'ada', password: '{{secret:SHOP_PASSWORD}}' }),
    );
    probeCompletedDetailSchema.parse(detail);
    expect(detail.failure, JSON.stringify(detail)).toBeUndefined();
    expect(detail.status).toBe('up');
    expect(detail.method).toBe('BROWSER');
    expect(detail.url).toBe(`${baseUrl}/home?user=ada`);
    expect(detail.steps?.map((s) => [s.name, s.status])).toEqual([
      ['open login', 'up'],
      ['sign in', 'up'],
      ['see welcome', 'up'],
    ]);
    for (const s of detail.steps ?? []) expect(s.latencyMs).toBeGreaterThan(0);
    expect(detail.latencyMs).toBeGreaterThanOrEqual(
      (detail.steps ?? []).reduce((sum, s) => sum + s.latencyMs, 0) - 1,
    );
    const vitals = detail.browser?.vitals ?? {};
    expect(vitals.ttfbMs).toBeGreaterThan(0);
    expect(vitals.fcpMs).toBeGreaterThan(0);
    expect(vitals.lcpMs).toBeGreaterThan(0);
    expect(vitals.cls).toBe(0);
    expect(detail.browser?.consoleErrors).toEqual([]);
    expect(detail.artifacts).toBeUndefined();
    expect(JSON.stringify(detail)).not.toContain(PASSWORD);
  });

  it('fails with the step, console errors, failed requests, a screenshot and a trace', async () => {
    const detail = await run(check('shop', 'broken.check.ts', { token: '{{secret:SHOP_TOKEN}}' }));
    probeCompletedDetailSchema.parse(detail);
    expect(detail.status).toBe('down');
    expect(detail.failure).toMatchObject({ assertion: 'step', step: 'find checkout' });
    expect(detail.failure?.message).toContain('#checkout-***');
    expect(detail.steps?.map((s) => s.status)).toEqual(['up', 'down']);
    expect(detail.browser?.consoleErrors).toContain('cart failed to load');
    expect(detail.browser?.failedRequests).toContain(`GET ${baseUrl}/missing.png: 404`);
    expect(JSON.stringify(detail)).not.toContain(TOKEN);
    const byKind = Object.fromEntries((detail.artifacts ?? []).map((a) => [a.kind, a]));
    const archive = new FileArchive(dataDir);
    const read = async (kind: 'screenshot' | 'trace') => {
      const a = byKind[kind];
      if (!a) throw new Error(`no ${kind} in ${JSON.stringify(detail.artifacts)}`);
      const [sha256] = a.name.split('.');
      return Buffer.from(
        await archive.get({ uri: `file:///x/${a.name}`, bytes: a.bytes, sha256: sha256 ?? '' }),
      );
    };
    // PNG and ZIP signatures: the real files, archived where the route reads them.
    expect((await read('screenshot')).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect((await read('trace')).subarray(0, 4).toString('hex')).toBe('504b0304');
  });

  it('stops a hung page at its deadline and kills a script that never yields', async () => {
    const started = Date.now();
    const [hung, spin] = await Promise.all([
      run(check('hung', 'hung.check.ts', { mode: 'hang' }, 20_000)),
      run(check('spin', 'hung.check.ts', { mode: 'spin' }, 4000)),
    ]);
    const took = Date.now() - started;
    // The page that never answers: stopped at its timeout. (On an idle machine the child's own
    // deadline comes first, naming the step and keeping a trace; on a loaded one Chromium may
    // still be starting, and the kill ends it: either way it is over within the bound.)
    expect(hung.failure?.assertion, JSON.stringify(hung)).toBe('timeout');
    expect(hung.latencyMs).toBeLessThan(20_000 + 1000);
    // The busy script: killed from outside, Chromium with it.
    expect(spin.failure?.assertion).toBe('timeout');
    expect(spin.failure?.message).toContain('killed');
    expect(spin.latencyMs).toBeLessThan(4000 + 1000);
    expect(took).toBeLessThan(20_000 + 1000);
  });

  it('runs a job in this process as the child does (console, requests, files)', async () => {
    // The child's code, in the test worker (so coverage sees it); the parent is bypassed.
    const { runBrowserJob } = await import('../../functions/shared/browser-child');
    const dir = await mkdtemp(join(tmpdir(), 'vigil-browser-job-'));
    try {
      const report = await runBrowserJob({
        script: join(FIXTURES, 'broken.check.ts'),
        vars: { baseUrl, token: 'x' },
        secrets: {},
        executablePath: CHROMIUM,
        args: CHROMIUM_FLAGS,
        deadline: Date.now() + 60_000,
        dir,
      });
      expect(report).toMatchObject({
        ok: false,
        failure: { assertion: 'step', step: 'find checkout' },
        url: `${baseUrl}/broken`,
        files: { screenshot: join(dir, 'screenshot.png'), trace: join(dir, 'trace.zip') },
      });
      expect(report.consoleErrors).toContain('cart failed to load');
      expect(report.vitals.fcpMs).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a script without a default export', async () => {
    const detail = await run(check('bad', 'no-export.check.ts', {}));
    expect(detail.failure).toMatchObject({
      assertion: 'script',
      message: 'the script must export a default async function',
    });
  });
});

describe('browser checks without a browser', () => {
  it('is a configuration error naming what is missing, not a crash', async () => {
    const detail = await run(check('login', 'login.check.ts', {}), async () =>
      (await import('../../functions/shared/browser-probe')).localChromium({
        VIGIL_CHROMIUM: '/nonexistent/chromium',
      }),
    );
    expect(detail.status).toBe('down');
    expect(detail.failure).toEqual({
      assertion: 'config',
      message:
        'no Chromium at /nonexistent/chromium: install it (apt-get install -y chromium) or set VIGIL_CHROMIUM to its path',
    });
  });

  it.skipIf(!ok)('uses VIGIL_CHROMIUM when it names a browser', async () => {
    const { localChromium } = await import('../../functions/shared/browser-probe');
    expect(localChromium({ VIGIL_CHROMIUM: CHROMIUM })).toMatchObject({ executablePath: CHROMIUM });
  });
});
