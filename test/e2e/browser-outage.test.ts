import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { requireTools, TOOLS } from '../helpers/requires';

/**
 * A browser check through the real local pipeline: the shop's page breaks (no checkout button,
 * a console error), the check fails, and FIRING reaches a webhook within
 * interval × threshold + the check's own run time (bounded by its timeout) + 5 s, naming the
 * failed step (the secret it showed scrubbed) and linking the screenshot and trace, which the
 * API serves to a token holder. One run: the check runs at start, and the scheduler stops (letting
 * that run finish and publish) as soon as the check is on the shop's page. Stopping later would
 * wait for a second run, which a tick during the first (the run takes longer than the interval
 * on a busy machine) starts as soon as the first ends.
 */

const ok = requireTools('browser outage', [TOOLS.chromium]);
const SCRIPT = resolve(import.meta.dirname, '../fixtures/browser/broken.check.ts');
const INTERVAL_S = 2;
const THRESHOLD = 1;
const TIMEOUT_MS = 29_000;
const TOKEN = 'n0w-s3cret';

const listen = (server: Server) =>
  new Promise<number>((ok) =>
    server.listen(0, '127.0.0.1', () => ok((server.address() as AddressInfo).port)),
  );

let app: Server;
let receiver: Server;
let pipeline: LocalPipeline | undefined;
let dataDir: string;
let startedAt = 0;
const alerts: { at: number; body: string }[] = [];
let pageViews = 0;

beforeAll(async () => {
  if (!ok) return;
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-browser-outage-'));
  app = createServer((_req, res) => {
    pageViews++;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<h1>Shop</h1><script>console.error("checkout bundle failed")</script>');
  });
  const appPort = await listen(app);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      alerts.push({ at: Date.now(), body });
      res.writeHead(200).end();
    });
  });
  const receiverPort = await listen(receiver);
  startedAt = Date.now();
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      probes: [
        {
          name: 'checkout-flow',
          type: 'browser',
          script: SCRIPT,
          vars: {
            baseUrl: `http://127.0.0.1:${appPort}`,
            page: 'shop',
            token: '{{secret:SHOP_TOKEN}}',
          },
          intervalSeconds: INTERVAL_S,
          timeoutMs: TIMEOUT_MS,
          failureThreshold: THRESHOLD,
        },
      ],
      alerts: { channels: [{ type: 'webhook', url: `http://127.0.0.1:${receiverPort}/` }] },
    }),
    dataDir,
    port: 0,
    tokens: ['t'],
    env: { VIGIL_SECRET_SHOP_TOKEN: TOKEN },
  });
});

afterAll(async () => {
  await pipeline?.close();
  app?.close();
  receiver?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe.skipIf(!ok)('browser check outage (local mode)', () => {
  it('fires at the webhook with the failed step and serves the screenshot', {
    timeout: 60_000,
  }, async () => {
    const budget = INTERVAL_S * THRESHOLD * 1000 + TIMEOUT_MS + 5000;
    const within = async (done: () => boolean) => {
      while (!done() && Date.now() - startedAt < budget)
        await new Promise((r) => setTimeout(r, 50));
    };
    await within(() => pageViews > 0);
    const stopped = pipeline?.probes.stop();
    await within(() => alerts.some((a) => a.body.includes('FIRING')));
    const firing = alerts.find((a) => a.body.includes('FIRING'));
    if (!firing) throw new Error(`no FIRING within ${budget} ms; got ${JSON.stringify(alerts)}`);
    await stopped;
    const latency = firing.at - startedAt;
    console.info(
      `browser check broken -> webhook FIRING in ${latency} ms (budget ${budget} ms: ` +
        `${INTERVAL_S} s × ${THRESHOLD} + timeout ${TIMEOUT_MS} ms + 5 s)`,
    );
    expect(latency).toBeLessThanOrEqual(budget);
    const notification = JSON.parse(firing.body) as { lastError?: string; title: string };
    expect(notification.title).toBe('Probe checkout-flow');
    expect(notification.lastError).toMatch(/^step "find checkout": /);
    expect(notification.lastError).toContain('#checkout-***');
    expect(firing.body).not.toContain(TOKEN);
    const link = /screenshot: GET (\/v1\/artifacts\/\S+)/.exec(notification.lastError ?? '')?.[1];
    expect(link, notification.lastError).toBeDefined();
    const trace = /trace: GET (\/v1\/artifacts\/[0-9a-f]{64}\.zip\?bytes=\d+)/.exec(
      notification.lastError ?? '',
    )?.[1];
    expect(trace, notification.lastError).toBeDefined();

    const url = `${pipeline?.url}${link}`;
    expect((await fetch(url)).status).toBe(401);
    const shot = await fetch(url, { headers: { authorization: 'Bearer t' } });
    expect(shot.status).toBe(200);
    expect(shot.headers.get('content-type')).toBe('image/png');
    expect(
      Buffer.from(await shot.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const wrongLength = await fetch(url.replace(/bytes=\d+/, 'bytes=1'), {
      headers: { authorization: 'Bearer t' },
    });
    expect(wrongLength.status).toBeGreaterThanOrEqual(400);
    // The Playwright trace: a ZIP archive.
    const zip = await fetch(`${pipeline?.url}${trace}`, { headers: { authorization: 'Bearer t' } });
    expect(zip.status).toBe(200);
    expect(
      Buffer.from(await zip.arrayBuffer())
        .subarray(0, 4)
        .toString('hex'),
    ).toBe('504b0304');
  });
});
