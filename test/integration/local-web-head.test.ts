import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';

/**
 * HEAD on local mode's web paths, health and the public status model, over real HTTP: uptime
 * checkers send HEAD and expect what a GET would say (status, headers, length) without the body.
 */

const TOKEN = 'head-token-0123456789';
const INDEX = '<!doctype html><head><title>Vigil</title></head><body>dashboard</body>';
let pipeline: LocalPipeline;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-head-'));
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      probes: [{ name: 'api', url: 'http://127.0.0.1:9/health', intervalSeconds: 3600 }],
      statusPage: { title: 'Shop status', components: [{ name: 'API', probes: ['api'] }] },
      badges: { public: { projects: ['shop'] } },
    }),
    dataDir: dir,
    port: 0,
    tokens: [TOKEN],
    readTokens: [],
    probes: false,
    webFiles: new Map([
      ['index.html', Buffer.from(INDEX)],
      ['assets/app-X1.js', Buffer.from(`console.log(${JSON.stringify('y'.repeat(4000))});`)],
    ]),
    env: {},
  });
});

afterAll(async () => {
  await pipeline?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request over one kept-alive connection (a body sent after a HEAD answer would break the next). */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const send = (method: string, path: string, headers: Record<string, string> = {}) =>
  new Promise<Answer>((ok, fail) => {
    const url = new URL(path, pipeline.url);
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', fail);
    req.end();
  });

/** The headers that may differ between two answers to the same request. */
const stable = (h: Answer['headers']) => {
  const { date: _date, ...rest } = h;
  return rest;
};

describe('local mode: HEAD on the web paths', () => {
  it('answers HEAD like GET, with no body and the length of the GET body', async () => {
    for (const [path, headers] of [
      ['/', {}],
      ['/status', {}],
      ['/assets/app-X1.js', { 'accept-encoding': 'gzip' }],
      ['/v1/badges/gate/shop.svg', {}],
      ['/v1/badges/uptime/shop/api.svg', { authorization: `Bearer ${TOKEN}` }],
    ] as const) {
      const get = await send('GET', path, headers);
      const head = await send('HEAD', path, headers);
      expect(get.status, path).toBe(200);
      expect(head.status, path).toBe(200);
      expect(get.body.byteLength, path).toBeGreaterThan(0);
      expect(get.headers['content-length'], path).toBe(String(get.body.byteLength));
      expect(stable(head.headers), path).toEqual(stable(get.headers));
      expect(head.headers['content-type'], path).toBeDefined();
      expect(head.body.byteLength, path).toBe(0);
    }
  });

  it('answers HEAD on health and the public status model like GET, without the body', async () => {
    for (const path of ['/v1/health', '/v1/status']) {
      const get = await send('GET', path);
      const head = await send('HEAD', path);
      expect(get.status, path).toBe(200);
      expect(head.status, path).toBe(200);
      expect(head.headers['content-type'], path).toBe(get.headers['content-type']);
      expect(head.headers['content-length'], path).toBe(String(get.body.byteLength));
      expect(head.body.byteLength, path).toBe(0);
    }
    // The other API routes are not HEAD routes.
    expect((await send('HEAD', '/v1/cli/vigil.mjs')).status).toBe(404);
  });

  it('sends no body bytes after a HEAD answer on the wire', async () => {
    const raw = await new Promise<string>((ok, fail) => {
      const { hostname, port } = new URL(pipeline.url);
      const socket = connect(Number(port), hostname, () =>
        socket.write(`HEAD /status HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`),
      );
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
      });
      socket.on('end', () => ok(text));
      socket.on('error', fail);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw).toMatch(/\r\ncontent-type: text\/html; charset=utf-8\r\n/i);
    expect(raw).toMatch(/\r\ncontent-length: [1-9]\d*\r\n/i);
    expect(raw.endsWith('\r\n\r\n')).toBe(true);
    expect(raw.indexOf('\r\n\r\n')).toBe(raw.length - 4);
  });

  it('keeps the token rule for HEAD, and other methods on web paths stay refused', async () => {
    expect((await send('HEAD', '/v1/badges/uptime/shop/api.svg')).status).toBe(401);
    const wrong = await send('HEAD', '/v1/badges/uptime/shop/api.svg', {
      authorization: 'Bearer nope',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.byteLength).toBe(0);
    expect((await send('HEAD', '/nowhere.html')).status).toBe(404);
    for (const method of ['POST', 'DELETE']) {
      const r = await send(method, '/status');
      expect(r.status, method).toBeGreaterThanOrEqual(400);
      expect(r.status, method).not.toBe(200);
    }
  });
});
