import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { strayRequest } from '../helpers/stray-request';

/**
 * The pipeline's own metrics in local mode: probe runs (probe scheduler), alerts sent (alert
 * handler) and delivery failures (local alert dispatcher) reach the runtime's metric store and
 * `GET /v1/metrics`, as ReportsIngested already does, with the dimensions of the catalog.
 */

const TOKEN = 'pipeline-metrics-token';
/** Reads need a token too. */
const READ = { headers: { authorization: `Bearer ${TOKEN}` } };
/** One passed and one failed test: the gate fails, and `main` alerts. */
const FAILING_JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="checkout" tests="2" failures="1">
  <testcase classname="CartTest" name="adds an item" time="0.01"/>
  <testcase classname="CartTest" name="pays" time="0.02">
    <failure message="expected 200, got 500">AssertionError: expected 200, got 500</failure>
  </testcase>
</testsuite>`;

interface Point {
  value: number;
  unit: string;
  dimensions: Record<string, string>;
}

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

/** A service for the probe (counts its hits) and the alert receivers. */
let service: Server;
let serviceHits = 0;
let receivers: Server;
const webhookBodies: string[] = [];
let pipeline: LocalPipeline;

beforeAll(async () => {
  service = createServer((_req, res) => {
    serviceHits++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  receivers = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      if (strayRequest(req, res)) return;
      // Slack answers 404 (a deleted webhook): not retryable, so it fails at once.
      if (req.url?.startsWith('/slack')) {
        res.writeHead(404).end('no_service');
        return;
      }
      webhookBodies.push(body);
      res.writeHead(200).end('ok');
    });
  });
  const [servicePort, receiverPort] = await Promise.all([listen(service), listen(receivers)]);
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      probes: [{ name: 'api', url: `http://127.0.0.1:${servicePort}/health`, intervalSeconds: 1 }],
      alerts: {
        channels: [
          { type: 'slack', webhookUrl: `http://127.0.0.1:${receiverPort}/slack/T0/B0` },
          { type: 'webhook', url: `http://127.0.0.1:${receiverPort}/hook` },
        ],
      },
    }),
    dataDir: await mkdtemp(join(tmpdir(), 'vigil-pipeline-metrics-')),
    port: 0,
    tokens: [TOKEN],
  });
});

afterAll(async () => {
  await pipeline.close();
  await Promise.all(
    [service, receivers].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
});

const datapoints = async (name: string): Promise<Point[]> => {
  const res = await fetch(`${pipeline.url}/v1/metrics?name=${name}`, READ);
  expect(res.status).toBe(200);
  return ((await res.json()) as { datapoints: Point[] }).datapoints;
};

/** The dimensions without Powertools' `service` one. */
const own = (p: Point): Record<string, string> => {
  const { service: _service, ...rest } = p.dimensions;
  return rest;
};

describe('pipeline metrics in local mode', () => {
  it('counts every probe run as ProbeRuns, one datapoint of 1 per run', async () => {
    // Act: the scheduler's first run starts with the pipeline; wait for it (bounded).
    let points: Point[] = [];
    for (let i = 0; i < 100 && points.length === 0; i++) {
      points = await datapoints('ProbeRuns');
      if (points.length === 0) await new Promise((r) => setTimeout(r, 50));
    }

    // Assess
    expect(points.length).toBeGreaterThanOrEqual(1);
    for (const p of points) {
      expect(p).toMatchObject({ value: 1, unit: 'Count' });
      expect(own(p)).toEqual({});
    }
    // One datapoint per request the probe made, no more, no less.
    expect(points.length).toBeLessThanOrEqual(serviceHits);
    expect(serviceHits - points.length).toBeLessThanOrEqual(1);
  });

  it('counts AlertsSent by kind and DeliveryFailures by channel type', async () => {
    // Act: a failed test run on main fires an alert; Slack refuses it, the webhook takes it.
    const res = await fetch(`${pipeline.url}/v1/results?project=shop&branch=main&format=junit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: FAILING_JUNIT,
    });
    expect(res.status).toBe(202);
    await pipeline.bus.drain();
    await pipeline.alerts.idle();

    // Assess
    const sent = await datapoints('AlertsSent');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ value: 1, unit: 'Count' });
    expect(sent[0] && own(sent[0])).toEqual({ Kind: 'FIRING' });
    const failures = await datapoints('DeliveryFailures');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ value: 1, unit: 'Count' });
    expect(failures[0] && own(failures[0])).toEqual({ Channel: 'slack' });
    // The metric tells the same story as the dispatcher's own counts and the receivers.
    expect(pipeline.alerts.stats).toMatchObject({ delivered: 1, deadLetters: 1 });
    expect(webhookBodies).toHaveLength(1);
    expect(JSON.parse(webhookBodies[0] ?? '{}')).toMatchObject({ kind: 'FIRING', project: 'shop' });
  });
});
