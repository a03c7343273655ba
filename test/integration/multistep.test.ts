import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type ProbeCompletedDetail, probeCompletedDetailSchema } from '../../functions/core/events';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';

/**
 * A multi-step API check through the real local pipeline: log in with a secret, use the token
 * the login returned, and alert a webhook receiver naming the step that broke, with neither
 * the secret nor the token anywhere in events, alerts or the event log.
 */

const PASSWORD = 'pw-4f1e9c2b7a6d';
const TOKEN = 'tok-8b2e61d0c9a74f35';

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => resolve(text));
  });

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

let loginBroken = false;
const orderRequests: { path: string; auth: string | undefined }[] = [];
const api = createServer(async (req, res) => {
  const text = await body(req);
  if (req.method === 'POST' && req.url === '/login') {
    const ok = !loginBroken && JSON.parse(text).password === PASSWORD;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json', 'x-order-id': 'A/7' });
    res.end(ok ? JSON.stringify({ access_token: TOKEN, user: { id: 42 } }) : '{"error":"denied"}');
    return;
  }
  orderRequests.push({ path: req.url ?? '', auth: req.headers.authorization });
  const authorized = req.headers.authorization === `Bearer ${TOKEN}`;
  res.writeHead(authorized ? 200 : 403, { 'content-type': 'application/json' });
  res.end(authorized ? '{"state":"shipped"}' : '{}');
});

const alerts: string[] = [];
const receiver = createServer(async (req, res) => {
  alerts.push(await body(req));
  res.writeHead(200).end('ok');
});

let pipeline: LocalPipeline;
let dataDir = '';

const waitFor = async (
  predicate: () => boolean,
  ms: number,
  what: string,
  refresh?: () => Promise<void>,
) => {
  const start = Date.now();
  for (;;) {
    await refresh?.();
    if (predicate()) return;
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

beforeAll(async () => {
  const apiBase = `http://127.0.0.1:${await listen(api)}`;
  const receiverPort = await listen(receiver);
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-multistep-'));
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      probes: [
        {
          name: 'order-flow',
          intervalSeconds: 1,
          timeoutMs: 2000,
          failureThreshold: 1,
          steps: [
            {
              name: 'login',
              url: `${apiBase}/login`,
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{"user":"probe","password":"{{secret:shop-password}}"}',
              expect: { status: [200], json: [{ path: '$.user.id', exists: true }] },
              extract: { token: '$.access_token', order: 'header:x-order-id' },
            },
            {
              name: 'order',
              url: `${apiBase}/orders/{{vars.order}}`,
              headers: { authorization: 'Bearer {{vars.token}}' },
              expect: { status: [200], json: [{ path: '$.state', equals: 'shipped' }] },
            },
          ],
        },
      ],
      alerts: {
        channels: [{ type: 'webhook', url: `http://127.0.0.1:${receiverPort}/hook` }],
      },
    }),
    dataDir,
    port: 0,
    tokens: ['t'],
    env: { VIGIL_SECRET_SHOP_PASSWORD: PASSWORD },
  });
});

afterAll(async () => {
  await pipeline.close();
  api.close();
  receiver.close();
  await rm(dataDir, { recursive: true, force: true });
});

const readProbeEvents = async (): Promise<ProbeCompletedDetail[]> => {
  await pipeline.bus.drain();
  return pipeline.store.log
    .all()
    .filter((e) => e['detail-type'] === 'Probe Completed')
    .map((e) => probeCompletedDetailSchema.parse(e.detail));
};

describe('multi-step API checks (local pipeline)', () => {
  it('passes values between steps, reports each step, and alerts naming the step that broke', async () => {
    // Assess: a healthy run used the extracted token and the URL-encoded header value.
    let events: ProbeCompletedDetail[] = [];
    await waitFor(
      () => events.length > 0,
      3000,
      'the first result',
      async () => {
        events = await readProbeEvents();
      },
    );
    expect(orderRequests[0]).toEqual({ path: '/orders/A%2F7', auth: `Bearer ${TOKEN}` });
    const [first] = events;
    expect(first).toMatchObject({
      status: 'up',
      statusCode: 200,
      // Named by its first request: POST /login (not the probe-level default GET).
      method: 'POST',
      url: expect.stringMatching(/\/login$/),
      steps: [
        { name: 'login', status: 'up', statusCode: 200 },
        { name: 'order', status: 'up', statusCode: 200 },
      ],
    });

    // Act: the login starts refusing.
    loginBroken = true;
    await waitFor(() => alerts.some((a) => a.includes('FIRING')), 5000, 'FIRING');

    // Assess: the failing run names the step; the next step was not attempted.
    const down = (await readProbeEvents()).find((d) => d.status === 'down');
    expect(down?.failure).toEqual({
      assertion: 'status',
      message: 'step "login": expected status 200, got 401',
      step: 'login',
    });
    expect(down?.steps).toEqual([
      expect.objectContaining({ name: 'login', status: 'down', statusCode: 401 }),
      { name: 'order', status: 'skipped', latencyMs: 0 },
    ]);
    const firing = alerts.find((a) => a.includes('FIRING')) ?? '';
    expect(firing).toContain('order-flow');
    expect(firing).toContain('step \\"login\\"');
    // Neither the secret nor the extracted token leaves the probe.
    const everything = `${JSON.stringify(pipeline.store.log.all())}${alerts.join('')}`;
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(TOKEN);
  });
});
