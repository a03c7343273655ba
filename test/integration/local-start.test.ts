import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalStore } from '../../functions/adapters/local/store';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { logger } from '../../functions/shared/powertools';
import { runEntry } from '../helpers/fakes';

/** Starting local mode on an IPv6 loopback, over the dashboard journals of an earlier version. */

let pipeline: LocalPipeline | undefined;
let dataDir: string;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

const run = runEntry();

describe('startLocal', () => {
  it('imports the dashboard journals of an earlier version and serves on [::1]', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vigil-start-'));
    await mkdir(join(dataDir, 'status'));
    await writeFile(join(dataDir, 'status', 'runs.jsonl'), `${JSON.stringify(run)}\n`);

    pipeline = await startLocal({
      config: parseConfig({ project: 'shop' }),
      dataDir,
      host: '::1',
      port: 0,
      tokens: ['t'],
      probes: false,
    });

    expect(pipeline.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    // It answers there (and asks for the token).
    const res = await fetch(`${pipeline.url}/v1/results?project=shop`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect((await pipeline.store.status.catalog.get('shop', 'r1'))?.runId).toBe('r1');
    expect(existsSync(join(dataDir, 'status'))).toBe(false);
    expect(existsSync(join(dataDir, 'status.imported'))).toBe(true);
  });

  it("applies the config's local retention when it starts: raw metric points past metricDays are rolled up", async () => {
    // Prepare: a store with a raw point two days old and a newer one (retention counts from
    // the newest point).
    dataDir = await mkdtemp(join(tmpdir(), 'vigil-start-'));
    const old = Date.now() - 2 * 86_400_000;
    const store = LocalStore.open(dataDir);
    for (const [Timestamp, L] of [
      [old, 5],
      [Date.now(), 7],
    ])
      store.metrics.ingestLine(
        JSON.stringify({
          _aws: {
            Timestamp,
            CloudWatchMetrics: [
              { Namespace: 'Vigil', Dimensions: [['Project']], Metrics: [{ Name: 'L' }] },
            ],
          },
          Project: 'shop',
          L,
        }),
      );
    await store.db.batch(() => undefined);
    store.close();
    const start = (local?: { retention: { metricDays: number } }) =>
      startLocal({ config: parseConfig({ local }), dataDir, port: 0, probes: false });

    // Act + Assess: the default (30 days) keeps it raw; metricDays 1 rolls it up per hour.
    pipeline = await start();
    expect(pipeline.store.metrics.query({ name: 'L' }).map((p) => p.value)).toEqual([5, 7]);
    await pipeline.close();
    pipeline = await start({ retention: { metricDays: 1 } });
    expect(pipeline.store.metrics.query({ name: 'L' }).map((p) => p.value)).toEqual([7]);
    expect(pipeline.store.metrics.rollups('L').map((r) => r.sum)).toEqual([5]);
  });

  it('says at start which secret variables the config needs and the environment lacks', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vigil-start-'));
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      pipeline = await startLocal({
        config: parseConfig({
          project: 'shop',
          alerts: { channels: [{ type: 'slack', webhookUrl: '{{secret:SLACK_WEBHOOK}}' }] },
        }),
        dataDir,
        port: 0,
        tokens: ['t'],
        probes: false,
        env: {},
      });
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^secrets not set/), {
        variables: ['VIGIL_SECRET_SLACK_WEBHOOK'],
      });
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses an unknown local retention field', () => {
    expect(() => parseConfig({ local: { retention: { metricsDays: 1 } } })).toThrow(
      /local\.retention/,
    );
  });

  it('stops while a client keeps its keep-alive connection busy: each answer then closes its connection', async () => {
    // Prepare: a client that sends one request after another on one kept-alive connection.
    dataDir = await mkdtemp(join(tmpdir(), 'vigil-start-'));
    const started = await startLocal({
      config: parseConfig({ project: 'shop' }),
      dataDir,
      port: 0,
      tokens: ['t'],
      probes: false,
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const connectionHeaders: (string | undefined)[] = [];
    // Until an answer says "close" or a request fails: a stopped server cannot answer.
    const client = (async () => {
      for (;;) {
        const answer = await new Promise<string | undefined>((ok) => {
          const req = request(`${started.url}/v1/health`, { agent }, (res) => {
            res.resume();
            res.on('end', () => ok(res.headers.connection));
          });
          req.on('error', () => ok('error'));
          req.end();
        });
        connectionHeaders.push(answer);
        if (answer !== 'keep-alive') return;
      }
    })();
    await vi.waitFor(() => expect(connectionHeaders.length).toBeGreaterThan(3));

    // Act
    const t0 = performance.now();
    await started.close();
    const took = performance.now() - t0;
    await client;
    agent.destroy();

    // Assess: the server closed before the grace ran out, without waiting for the client to
    // stop: its connection ended with an answer that said "close", or between two requests
    // (the client's next request then failed, and a real client retries it).
    expect(took).toBeLessThan(4_000);
    expect(['close', 'error']).toContain(connectionHeaders.at(-1));
  });
});
