import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { DayBar, PublicStatus } from '../../functions/core/status/api';
import { readAssetDir, STATUS_PAGE_META } from '../../functions/web/assets';
import { renderBadge } from '../../functions/web/badge';
import {
  type BadgeRoute,
  createWebHandler,
  isWebPath,
  parseBadgePath,
  type WebHandlerDeps,
} from '../../functions/web/handler';
import { renderStatusPage, STATUS_STYLE_HASH } from '../../functions/web/status-page';
import { apiEvent } from '../helpers/fakes';

const TOKEN = 'web-token';
const HOSTILE = '<img src=x onerror=alert(1)>';
const JS = `console.log(${JSON.stringify('x'.repeat(2000))});`;

const files = new Map([
  [
    'index.html',
    Buffer.from(
      '<!doctype html><head><script type="module" src="/assets/main-AB12.js"></script></head>' +
        '<body><noscript>Needs JavaScript.</noscript></body>',
    ),
  ],
  ['assets/main-AB12.js', Buffer.from(JS)],
  ['assets/tiny.css', Buffer.from('a{}')],
  ['assets/blob.bin', Buffer.from([1, 2, 3])],
]);

const day = (i: number, state: DayBar['state']): DayBar => ({
  day: `2026-09-${String(i + 1).padStart(2, '0')}`,
  checks: state === 'none' ? 0 : 1440,
  failures: state === 'down' ? 100 : 0,
  uptime: state === 'none' ? null : state === 'down' ? 0.93 : 1,
  state,
});

const status = (over: Partial<PublicStatus> = {}): PublicStatus => ({
  title: `Shop ${HOSTILE}`,
  generatedAt: '2026-11-25T10:00:00.000Z',
  overall: 'outage',
  components: [
    {
      name: `API ${HOSTILE}`,
      status: 'outage',
      days: [day(0, 'up'), day(1, 'down'), day(2, 'none')],
      // 0.57 × 10,000 is 5699.999… in floating point: still 57.00 % (as the dashboard shows it).
      uptime: 0.57,
    },
    { name: 'Web', status: 'operational', days: [], uptime: null },
  ],
  incidents: [
    { components: ['API'], severity: 'critical', startedAt: '2026-11-25T09:00:00.000Z' },
    {
      components: [],
      severity: 'warning',
      startedAt: '2026-11-20T09:00:00.000Z',
      resolvedAt: '2026-11-20T11:05:00.000Z',
      downtimeSeconds: 7500,
    },
    {
      components: ['Web'],
      severity: 'critical',
      startedAt: '2026-11-19T09:00:00.000Z',
      resolvedAt: '2026-11-19T09:10:00.000Z',
      downtimeSeconds: 600,
    },
    {
      components: ['Web'],
      severity: 'critical',
      startedAt: '2026-11-18T09:00:00.000Z',
      resolvedAt: '2026-11-18T09:10:00.000Z',
    },
    {
      components: ['API'],
      severity: 'warning',
      startedAt: '2026-11-17T09:00:00.000Z',
      resolvedAt: '2026-11-17T09:00:20.000Z',
      downtimeSeconds: 20,
    },
  ],
  maintenance: [
    {
      components: ['API'],
      start: '2026-11-26T01:00:00.000Z',
      end: '2026-11-26T02:00:00.000Z',
      reason: `db ${HOSTILE}`,
      active: false,
    },
    { components: ['Web'], durationMinutes: 30, active: true },
    { components: ['Web'], active: false },
  ],
  allowFraming: false,
  ...over,
});

const badgeCalls: BadgeRoute[] = [];
const handler = (over: Partial<WebHandlerDeps> = {}) =>
  createWebHandler({
    files,
    tokens: { tokens: async () => [TOKEN] },
    badges: {
      isPublic: (r) => r.project === 'open',
      badge: async (r) => {
        badgeCalls.push(r);
        return { label: 'gate', message: HOSTILE, tone: 'bad' };
      },
    },
    ...over,
  });

const get = (path: string, headers: Record<string, string> = {}, query?: Record<string, string>) =>
  apiEvent({ method: 'GET', path, headers, ...(query ? { query } : {}) });

const body = (r: { body?: string; isBase64Encoded?: boolean; headers: Record<string, string> }) => {
  const raw = Buffer.from(r.body ?? '', r.isBase64Encoded ? 'base64' : 'utf8');
  return (r.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString();
};

describe('web handler: dashboard files', () => {
  it('serves index.html for / with a CSP that allows only its own scripts, and no caching', async () => {
    const r = await handler()(get('/'));
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    const csp = r.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(body(r)).toContain('/assets/main-AB12.js');
    expect((await handler()(get('/index.html'))).statusCode).toBe(200);
  });

  it('serves hashed assets gzipped (when accepted and smaller) and cacheable for a year', async () => {
    const gz = await handler()(get('/assets/main-AB12.js', { 'Accept-Encoding': 'br, gzip' }));
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['cache-control']).toContain('immutable');
    expect(gz.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(body(gz)).toBe(JS);
    const plain = await handler()(get('/assets/main-AB12.js'));
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(body(plain)).toBe(JS);
    // Gzip would grow a 3-byte file: sent as is.
    const tiny = await handler()(get('/assets/tiny.css', { 'accept-encoding': 'gzip' }));
    expect(tiny.headers['content-encoding']).toBeUndefined();
    expect(tiny.headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await handler()(get('/assets/blob.bin'))).headers['content-type']).toBe(
      'application/octet-stream',
    );
  });

  it('answers 404 with security headers for unknown files, paths and methods', async () => {
    for (const event of [
      get('/assets/nope.js'),
      get('/elsewhere'),
      apiEvent({ method: 'POST', path: '/' }),
    ]) {
      const r = await handler()(event);
      expect(r.statusCode).toBe(404);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['cache-control']).toBe('no-store');
    }
  });

  it('names the paths it serves', () => {
    for (const p of ['/', '/index.html', '/status', '/assets/x.js', '/v1/badges/gate/a.svg'])
      expect(isWebPath(p)).toBe(true);
    for (const p of ['/v1/results', '/v1/projects', '/statusx', '/v1/health'])
      expect(isWebPath(p)).toBe(false);
  });

  it('reads a built directory back with / separated paths', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-web-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), 'i');
    await writeFile(join(dir, 'assets', 'a.js'), 'a');
    const read = await readAssetDir(dir);
    expect([...read.keys()].sort()).toEqual(['assets/a.js', 'index.html']);
  });
});

describe('web handler: HEAD (uptime checkers)', () => {
  const head = (path: string, headers: Record<string, string> = {}) =>
    apiEvent({ method: 'HEAD', path, headers });
  const bytes = (r: { body?: string; isBase64Encoded?: boolean }) =>
    Buffer.from(r.body ?? '', r.isBase64Encoded ? 'base64' : 'utf8').byteLength;

  it('answers HEAD as GET without the body: same status and headers, the length of the GET body', async () => {
    const h = handler({ status: async () => status() });
    for (const [path, headers] of [
      ['/', {}],
      ['/index.html', {}],
      ['/status', {}],
      ['/assets/main-AB12.js', { 'accept-encoding': 'gzip' }],
      ['/assets/tiny.css', {}],
      ['/v1/badges/gate/open.svg', {}],
      ['/v1/badges/coverage/secret.svg', { authorization: `Bearer ${TOKEN}` }],
    ] as const) {
      const g = await h(get(path, headers));
      const r = await h(head(path, headers));
      expect(g.statusCode, path).toBe(200);
      expect(r.statusCode, path).toBe(200);
      expect(bytes(g), path).toBeGreaterThan(0);
      expect(g.headers['content-length'], path).toBe(String(bytes(g)));
      expect(r.headers, path).toEqual(g.headers);
      expect(r.body, path).toBeUndefined();
      expect(r.isBase64Encoded, path).toBeUndefined();
    }
  });

  it('keeps the token rule and the 404s: HEAD of a private badge needs a token', async () => {
    const denied = await handler()(head('/v1/badges/coverage/secret.svg'));
    expect(denied.statusCode).toBe(401);
    expect(denied.body).toBeUndefined();
    const deniedGet = await handler()(get('/v1/badges/coverage/secret.svg'));
    expect(denied.headers).toEqual(deniedGet.headers);
    expect(
      (await handler()(head('/v1/badges/coverage/secret.svg', { authorization: 'Bearer nope' })))
        .statusCode,
    ).toBe(401);
    // No statusPage in the config: /status is 404 for HEAD as for GET.
    expect((await handler()(head('/status'))).statusCode).toBe(404);
    expect((await handler()(head('/elsewhere'))).statusCode).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS'])
      expect((await handler()(apiEvent({ method, path: '/status' }))).statusCode, method).toBe(404);
  });
});

describe('web handler: status page', () => {
  it('is 404 when the config has no statusPage, and the dashboard does not link to it', async () => {
    const r = await handler()(get('/status'));
    expect(r.statusCode).toBe(404);
    expect(body(r)).toContain('no public status page');
    const index = body(await handler()(get('/')));
    expect(index).not.toContain('/status');
    expect(index).toContain('<noscript>Needs JavaScript.</noscript>');
  });

  it('tells the dashboard when there is one: a meta tag it reads and a link for no JavaScript', async () => {
    const index = body(await handler({ status: async () => status() })(get('/')));
    expect(index).toContain(`${STATUS_PAGE_META}\n</head>`);
    expect(index).toContain(
      '<noscript>Needs JavaScript. The public status page works without it: <a href="/status">/status</a>.</noscript>',
    );
    // The files themselves are left as built.
    expect(files.get('index.html')?.toString()).not.toContain('/status');
  });

  it('renders the status server-side, escaped, cacheable for seconds, its style allowed by hash', async () => {
    const r = await handler({ status: async () => status() })(get('/status'));
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('public, max-age=10');
    const csp = r.headers['content-security-policy'] ?? '';
    expect(csp).toContain(`'${STATUS_STYLE_HASH}'`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = body(r);
    expect(html).not.toContain('<img');
    expect(html).toContain('Shop &lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Some systems are down');
    expect(html).toContain('2026-09-02: 93.00%');
    expect(html).toContain('57.00%');
    expect(html).not.toContain('56.99%');
    expect(html).toContain('2026-09-03: no data');
    expect(html).toContain('<strong>ongoing</strong>');
    expect(html).toContain('(2 h 5 min)');
    expect(html).toContain('(10 min)');
    // Shorter than a minute: not "(0 min)".
    expect(html).toContain('(20 s)');
    expect(html).toContain('<strong>Service</strong>');
    expect(html).toContain('db &lt;img');
    expect(html).toContain('<strong>Now</strong>: Web (30 min, recurring)');
    expect(html).not.toContain('<script');
  });

  it('allows framing only when the config says so', async () => {
    const r = await handler({ status: async () => status({ allowFraming: true }) })(get('/status'));
    expect(r.headers['content-security-policy']).toContain('frame-ancestors *');
    expect(r.headers['x-frame-options']).toBeUndefined();
  });

  it('says when all is well and when nothing happened', () => {
    const html = renderStatusPage(
      status({ overall: 'operational', incidents: [], maintenance: [], components: [] }),
    );
    expect(html).toContain('All systems operational');
    expect(html).toContain('No incidents in the last 90 days.');
    expect(html).toContain('None announced.');
    for (const overall of ['degraded', 'maintenance', 'unknown'] as const)
      expect(renderStatusPage(status({ overall }))).toContain(`s-${overall}`);
  });

  it('answers 500 without the cause when the status cannot be read', async () => {
    const r = await handler({
      status: async () => {
        throw new Error('table gone');
      },
    })(get('/status'));
    expect(r.statusCode).toBe(500);
    expect(body(r)).not.toContain('table gone');
  });
});

describe('web handler: badges', () => {
  it('parses the three badge paths (projects may hold /)', () => {
    expect(parseBadgePath('/v1/badges/gate/shop/web.svg', 'dev')).toEqual({
      kind: 'gate',
      project: 'shop/web',
      branch: 'dev',
    });
    expect(parseBadgePath('/v1/badges/coverage/shop.svg')).toEqual({
      kind: 'coverage',
      project: 'shop',
    });
    expect(parseBadgePath('/v1/badges/uptime/shop/api.svg')).toEqual({
      kind: 'uptime',
      project: 'shop',
      probe: 'api',
    });
    // A probe's project may hold `/` (`shop%2Fweb`, decoded once): the probe is the last segment.
    expect(parseBadgePath('/v1/badges/uptime/shop/web/api.svg')).toEqual({
      kind: 'uptime',
      project: 'shop/web',
      probe: 'api',
    });
    for (const bad of [
      '/v1/badges/gate.svg',
      '/v1/badges/gate/.svg',
      '/v1/badges/uptime/shop.svg',
      '/v1/badges/uptime/shop/.svg',
      '/v1/badges/uptime//api.svg',
      '/v1/badges/other/x.svg',
      '/v1/badges/gate/shop.png',
    ])
      expect(parseBadgePath(bad)).toBeUndefined();
  });

  it('serves a public badge without a token, cacheable, text escaped', async () => {
    badgeCalls.length = 0;
    const r = await handler()(get('/v1/badges/gate/open.svg', {}, { branch: 'main' }));
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('image/svg+xml');
    expect(r.headers['cache-control']).toBe('public, max-age=60');
    expect(r.body).toContain('&lt;img');
    expect(r.body).not.toContain('<img');
    expect(badgeCalls).toEqual([{ kind: 'gate', project: 'open', branch: 'main' }]);
  });

  it('needs a token for any other badge, and then never lets caches keep it', async () => {
    const denied = await handler()(get('/v1/badges/coverage/secret.svg'));
    expect(denied.statusCode).toBe(401);
    expect(body(denied)).toContain('badges.public');
    const wrong = await handler()(
      get('/v1/badges/coverage/secret.svg', { authorization: 'Bearer nope' }),
    );
    expect(wrong.statusCode).toBe(401);
    const ok = await handler()(
      get('/v1/badges/coverage/secret.svg', { authorization: `Bearer ${TOKEN}` }),
    );
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['cache-control']).toBe('private, no-store');
  });

  it('answers 404 for an unknown badge, naming the badge paths', async () => {
    const r = await handler()(get('/v1/badges/nope.svg'));
    expect(r.statusCode).toBe(404);
    expect(body(r)).toContain('/v1/badges/uptime/{project}/{probe}.svg');
  });

  it('draws the tone as a colour and clips long text', () => {
    const svg = renderBadge({ label: 'coverage', message: 'x'.repeat(100), tone: 'good' });
    expect(svg).toContain('#2e7d32');
    expect(svg).toContain(`${'x'.repeat(39)}…`);
    expect(renderBadge({ label: 'a', message: 'b', tone: 'nope' as 'good' })).toContain('#616161');
  });
});
