import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { strayRequest } from '../helpers/stray-request';

/** Reads need a token too. */
const READ = { headers: { authorization: 'Bearer t' } };

/**
 * The headline local path: a real HTTP service, a Slack-webhook receiver and the local
 * pipeline probing every second (the probe timers are real; extra runs are asked for, not
 * waited for). Stop the service: FIRING must arrive within
 * intervalSeconds × failureThreshold + 5 s; start it again: RESOLVED with the downtime.
 */

interface SlackMessage {
  at: number;
  text: string;
  blocks: unknown[];
}

const listen = (server: Server, port = 0) =>
  new Promise<number>((resolve) =>
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

let target: Server;
let targetPort: number;
let slack: Server;
const received: SlackMessage[] = [];
let pipeline: LocalPipeline;

const startTarget = async (port = 0) => {
  target = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
  });
  return listen(target, port);
};

const waitFor = async (predicate: () => boolean, ms: number, what: string) => {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(received.map((m) => m.text))}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
};

beforeAll(async () => {
  targetPort = await startTarget();
  let calls = 0;
  slack = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (strayRequest(req, res)) return;
      calls++;
      // The first delivery attempt fails: delivery must retry, not drop the alert.
      if (calls === 1) {
        res.writeHead(500).end('oops');
        return;
      }
      const parsed = JSON.parse(body) as Omit<SlackMessage, 'at'>;
      received.push({ ...parsed, at: Date.now() });
      res.writeHead(200).end('ok');
    });
  });
  const slackPort = await listen(slack);
  // A port given, as `npm start` has one: the messages then link to the dashboard there.
  const free = createServer();
  const port = await listen(free);
  await new Promise((r) => free.close(r));
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      probes: [
        {
          name: 'checkout-api',
          url: `http://127.0.0.1:${targetPort}/health`,
          intervalSeconds: 1,
          timeoutMs: 500,
          failureThreshold: 2,
          expect: { status: [200], json: [{ path: '$.status', equals: 'ok' }] },
          runbookUrl: 'https://runbooks.example.com/checkout',
        },
      ],
      alerts: {
        channels: [{ type: 'slack', webhookUrl: `http://127.0.0.1:${slackPort}/hooks/T000/B000` }],
      },
    }),
    dataDir: await mkdtemp(join(tmpdir(), 'vigil-outage-')),
    port,
    tokens: ['t'],
  });
});

afterAll(async () => {
  await pipeline.close();
  target.close();
  slack.close();
});

describe('outage → FIRING → RESOLVED (local mode)', () => {
  it('alerts within interval × threshold + 5 s and tells when it recovered', async () => {
    // Prepare: a healthy probe run (the one at start), no alert.
    await waitFor(() => pipeline.probes.stats.runs >= 1, 5000, 'the first probe run');
    await pipeline.bus.drain();
    expect(received).toHaveLength(0);

    // Act: the service goes down.
    await new Promise<void>((r) => target.close(() => r()));
    target.closeAllConnections();
    const firingAfter = await waitFor(
      () => received.some((m) => m.text.includes('FIRING')),
      1 * 2 * 1000 + 5000,
      'FIRING',
    );

    console.info(`outage -> Slack FIRING in ${firingAfter} ms (budget 7000 ms)`);
    // Assess: one FIRING with what/severity/runbook, and it is listed as active.
    const firing = received.filter((m) => m.text.includes('FIRING'));
    expect(firing).toHaveLength(1);
    expect(firingAfter).toBeLessThanOrEqual(7000);
    const blocks = JSON.stringify(firing[0]?.blocks);
    expect(blocks).toContain('checkout-api');
    expect(blocks).toContain('critical');
    expect(blocks).toContain('https://runbooks.example.com/checkout');
    // The probe's page of this dashboard, which asks for a token first.
    expect(blocks).toContain(`<${pipeline.url}/#/probe/shop/checkout-api|open in Vigil>`);
    const active = (await (await fetch(`${pipeline.url}/v1/alerts`, READ)).json()) as {
      active: { status: string; checkKey: string }[];
    };
    expect(active.active).toEqual([
      expect.objectContaining({ status: 'FIRING', checkKey: 'probe:shop/checkout-api' }),
    ]);

    // More failed probes (run now, out of their schedule): no alert storm.
    const runs = pipeline.probes.stats.runs;
    await pipeline.probes.runAll();
    await pipeline.probes.runAll();
    expect(pipeline.probes.stats.runs).toBeGreaterThanOrEqual(runs + 2);
    await pipeline.bus.drain();
    await pipeline.alerts.idle();
    expect(received.filter((m) => m.text.includes('FIRING'))).toHaveLength(1);

    // Act: the service comes back on the same port.
    await startTarget(targetPort);
    await waitFor(() => received.some((m) => m.text.includes('RESOLVED')), 1000 + 5000, 'RESOLVED');
    const resolved = received.find((m) => m.text.includes('RESOLVED'));
    expect(JSON.stringify(resolved)).toMatch(/down for|downtime/i);
    // The state and history are written as the notification goes out: poll briefly.
    let after = { active: [] as unknown[], history: [] as unknown[] };
    const poll = async () => {
      after = (await (await fetch(`${pipeline.url}/v1/alerts`, READ)).json()) as typeof after;
    };
    for (let i = 0; i < 60 && !(after.history.length >= 2 && after.active.length === 0); i++) {
      await poll();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(after.active).toEqual([]);
    expect(after.history.length).toBeGreaterThanOrEqual(2);
    expect(pipeline.alerts.stats.deadLetters).toBe(0);
    // The dashboard, built at its first request (not at start).
    const page = await fetch(`${pipeline.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module" src="\/assets\/main-\w+\.js">/);
  });
});
