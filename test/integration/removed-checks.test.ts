import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertsView } from '../../functions/core/alerts/service';
import { parseConfig, type VigilConfigInput } from '../../functions/core/config';
import type { AlertNotification } from '../../functions/core/events';
import {
  type LocalOptions,
  type LocalPipeline,
  startLocal,
} from '../../functions/runtime/local/runtime';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * A probe or heartbeat removed (or renamed) in the config while it is FIRING: no observation
 * will ever resolve it. Local mode closes it at start, with one RESOLVED to the channels.
 */

const BEARER = 'ingest-token';
let receiver: WebhookReceiver;
let received: AlertNotification[];
let target: Server;
let dataDir: string;
let pipeline: LocalPipeline | undefined;

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

let channels: VigilConfigInput['alerts'];
let down = '';

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  received = receiver.received;
  target = createServer((_req, res) => res.writeHead(503).end());
  channels = { channels: [{ type: 'webhook', url: receiver.url }] };
  down = `http://127.0.0.1:${await listen(target)}/health`;
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-removed-'));
});

afterAll(async () => {
  await pipeline?.close();
  await receiver.close();
  target.close();
  await rm(dataDir, { recursive: true, force: true });
});

const start = (input: VigilConfigInput, probes: boolean): Promise<LocalPipeline> => {
  const options: LocalOptions = {
    config: parseConfig({ project: 'shop', ...input, alerts: channels }),
    dataDir,
    port: 0,
    tokens: [BEARER],
    heartbeatEvaluateMs: 3_600_000,
    probes,
  };
  return startLocal(options);
};

const alerts = async (p: LocalPipeline): Promise<AlertsView> =>
  (await (
    await fetch(`${p.url}/v1/alerts`, { headers: { authorization: `Bearer ${BEARER}` } })
  ).json()) as AlertsView;

/** Wait (bounded) until `check` holds. */
const until = async (check: () => boolean | Promise<boolean>, what: string): Promise<void> => {
  for (const started = Date.now(); !(await check()); ) {
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const probe = (name: string, failureThreshold: number) => ({
  name,
  url: down,
  intervalSeconds: 3600, // the run at start only
  failureThreshold,
});

describe('checks removed from the config (local mode)', () => {
  it('closes their incidents at start with one RESOLVED each, and leaves the rest', async () => {
    // Prepare: `old-api` and `kept-api` FIRING, `slow-api` PENDING, heartbeat `old-job` FIRING.
    pipeline = await start(
      {
        probes: [probe('old-api', 1), probe('kept-api', 1), probe('slow-api', 3)],
        heartbeats: [{ name: 'old-job', periodSeconds: 3600 }],
      },
      true,
    );
    const fail = await fetch(`${pipeline.url}/v1/heartbeats/shop/old-job/fail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BEARER}` },
    });
    expect(fail.status).toBe(200);
    const first = pipeline;
    await until(
      async () =>
        (await alerts(first)).active
          .map((a) => `${a.checkKey} ${a.status}`)
          .sort()
          .join() ===
        [
          'heartbeat:shop/old-job FIRING',
          'probe:shop/kept-api FIRING',
          'probe:shop/old-api FIRING',
          'probe:shop/slow-api PENDING',
        ].join(),
      'the alerts before the restart',
    );
    await first.alerts.idle();
    const firing = new Map(
      received.filter((n) => n.kind === 'FIRING').map((n) => [n.checkKey, n.incidentId]),
    );
    await first.close();

    // Act: restart with only `kept-api` (the others removed or renamed).
    pipeline = await start({ probes: [probe('kept-api', 1)] }, false);
    await pipeline.alerts.idle();

    // Assess: one RESOLVED for each FIRING check that left, of its incident, with the reason.
    const resolved = received.filter((n) => n.kind === 'RESOLVED');
    expect(resolved.map((n) => n.checkKey).sort()).toEqual([
      'heartbeat:shop/old-job',
      'probe:shop/old-api',
    ]);
    for (const n of resolved) {
      expect(n.incidentId).toBe(firing.get(n.checkKey));
      expect(n.reason).toBe('check removed from the configuration');
      expect(n.summary).toContain('was removed from the configuration');
    }
    const view = await alerts(pipeline);
    expect(view.active.map((a) => `${a.checkKey} ${a.status}`)).toEqual([
      'probe:shop/kept-api FIRING',
    ]);
    expect(view.history.filter((n) => n.kind === 'RESOLVED')).toHaveLength(2);

    // Act: a second restart with the same config.
    const count = received.length;
    await pipeline.close();
    pipeline = await start({ probes: [probe('kept-api', 1)] }, false);
    await pipeline.alerts.idle();

    // Assess: nothing new was sent or recorded.
    expect(received).toHaveLength(count);
    expect((await alerts(pipeline)).history.filter((n) => n.kind === 'RESOLVED')).toHaveLength(2);
  });
});
