import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type VigilConfigInput } from '../../functions/core/config';
import type { AlertNotification } from '../../functions/core/events';
import {
  type LocalOptions,
  type LocalPipeline,
  startLocal,
} from '../../functions/runtime/local/runtime';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * Heartbeats and M-of-N through the real local pipeline (HTTP edge → ingest handler → embedded
 * store → bus → alert handler → webhook receiver). The heartbeat clock is injected: the test
 * moves time on and runs the evaluator, no sleeping. The flapping probes run when asked
 * (`probes.runAll()`), not on their hourly schedule.
 */

const T0 = Date.parse('2026-05-01T10:00:00Z');
let now = T0;
const clock = { now: () => new Date(now) };
const HB_TOKEN = 'hb-backup-token-123456';
const BEARER = 'ingest-token';

const received: AlertNotification[] = [];
let receiver: WebhookReceiver;
let target: Server;
let pipeline: LocalPipeline;
let dataDir = '';
let options: LocalOptions;
const hits = new Map<string, number>();

const config = (receiverUrl: string, targetPort: number): VigilConfigInput => ({
  project: 'shop',
  heartbeats: [
    { name: 'backup', periodSeconds: 3600, graceSeconds: 300, tokenSecret: 'BACKUP_HB' },
    { name: 'etl', project: 'data/warehouse', periodSeconds: 86_400, maxRunSeconds: 600 },
    // Its secret is not set: its token can never match.
    { name: 'unset', periodSeconds: 86_400, tokenSecret: 'NOT_SET' },
  ],
  probes: [
    // The target fails every other request (first one failing), per path.
    {
      name: 'lb-windowed',
      url: `http://127.0.0.1:${targetPort}/windowed`,
      intervalSeconds: 3600,
      timeoutMs: 500,
      failureThreshold: 3,
      failureWindow: { failures: 2, of: 3 },
    },
    {
      name: 'lb-plain',
      url: `http://127.0.0.1:${targetPort}/plain`,
      intervalSeconds: 3600,
      timeoutMs: 500,
      failureThreshold: 3,
    },
  ],
  alerts: { channels: [{ type: 'webhook', url: receiverUrl }] },
});

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

beforeAll(async () => {
  receiver = await startWebhookReceiver(received);
  target = createServer((req, res) => {
    const n = (hits.get(req.url ?? '') ?? 0) + 1;
    hits.set(req.url ?? '', n);
    res.writeHead(n % 2 === 1 ? 502 : 200).end();
  });
  const targetPort = await listen(target);
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-heartbeat-'));
  options = {
    config: parseConfig(config(receiver.url, targetPort)),
    dataDir,
    port: 0,
    tokens: [BEARER],
    readTokens: ['read-token'],
    env: { VIGIL_SECRET_BACKUP_HB: HB_TOKEN },
    heartbeatClock: clock,
    // The test runs the evaluator itself.
    heartbeatEvaluateMs: 3_600_000,
    probes: false,
  };
  pipeline = await startLocal(options);
});

afterAll(async () => {
  await pipeline?.close();
  await receiver.close();
  target.close();
  await rm(dataDir, { recursive: true, force: true });
});

const ping = (path: string, init: RequestInit = {}) =>
  fetch(`${pipeline.url}/v1/heartbeats/${path}`, init);

/** Wait (bounded) until the receiver got a notification matching `match`. */
const waitFor = async (
  match: (n: AlertNotification) => boolean,
  timeoutMs = 5000,
): Promise<AlertNotification> => {
  const start = Date.now();
  for (;;) {
    const found = received.find(match);
    if (found) return found;
    if (Date.now() - start > timeoutMs) throw new Error('no matching notification arrived');
    await new Promise((r) => setTimeout(r, 20));
  }
};

const of = (title: string, kind: AlertNotification['kind']) => (n: AlertNotification) =>
  n.title === title && n.kind === kind;

describe('heartbeats through the local pipeline', () => {
  it('a missed heartbeat fires, and the next ping resolves it', async () => {
    // Prepare: a ping at T0 (the job's own token, GET as curl does by default).
    const first = await ping(`shop/backup?token=${HB_TOKEN}`);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({
      heartbeat: 'backup',
      project: 'shop',
      outcome: 'ok',
      nextDueAt: '2026-05-01T11:05:00.000Z',
    });

    // Act: an hour and six minutes later, no ping.
    now = T0 + 66 * 60_000;
    await pipeline.heartbeats.evaluate();
    const firing = await waitFor(of('Heartbeat backup', 'FIRING'));

    // Assess
    expect(firing).toMatchObject({ source: 'heartbeat', project: 'shop', severity: 'critical' });
    expect(firing.lastError).toContain('missed: no ping by 2026-05-01T11:05:00.000Z');

    // Act: the job pings (POST with the bearer token this time).
    now += 60_000;
    const late = await ping('shop/backup', {
      method: 'POST',
      headers: { authorization: `Bearer ${BEARER}` },
    });
    expect(late.status).toBe(200);
    const resolved = await waitFor(of('Heartbeat backup', 'RESOLVED'));
    expect(resolved.incidentId).toBe(firing.incidentId);
  });

  it('/fail fires at once, with what the job wrote; exitCode=0 resolves', async () => {
    // Act
    const fail = await ping(`shop/backup/fail?token=${HB_TOKEN}`, {
      method: 'POST',
      body: 'pg_dump: error: connection\u0007refused\n',
    });
    expect(fail.status).toBe(200);
    const firing = await waitFor(
      (n) => of('Heartbeat backup', 'FIRING')(n) && n.lastError?.includes('pg_dump') === true,
    );
    // Assess: the control character is gone.
    expect(firing.lastError).toBe(
      'failed: the job reported a failure: pg_dump: error: connection refused',
    );
    now += 1000;
    await ping(`shop/backup?token=${HB_TOKEN}&exitCode=0`);
    await waitFor(
      (n) => of('Heartbeat backup', 'RESOLVED')(n) && n.incidentId === firing.incidentId,
    );
  });

  it('a run over maxRunSeconds fires; its end resolves (project with a slash)', async () => {
    // Prepare
    const headers = { authorization: `Bearer ${BEARER}` };
    expect((await ping('data/warehouse/etl/start', { method: 'POST', headers })).status).toBe(200);

    // Act: 11 minutes into the run.
    now += 11 * 60_000;
    expect(await pipeline.heartbeats.evaluate()).toBe(1);
    const firing = await waitFor(of('Heartbeat etl', 'FIRING'));
    now += 60_000;
    const done = await ping('data/warehouse/etl', { method: 'POST', headers });

    // Assess
    expect(firing.lastError).toContain('has not finished after 600 s');
    expect(await done.json()).toMatchObject({ outcome: 'ok', project: 'data/warehouse' });
    await waitFor(of('Heartbeat etl', 'RESOLVED'));
  });

  it('refuses wrong tokens, other heartbeats with a token, read tokens, bad exit codes', async () => {
    const answers = await Promise.all([
      ping('shop/backup?token=wrong'),
      // The backup token pings only the backup heartbeat.
      ping(`data/warehouse/etl?token=${HB_TOKEN}`),
      ping(`shop/nope?token=${HB_TOKEN}`),
      ping('shop/unset?token=anything'),
      ping('shop/backup'),
      ping('shop/nope', { headers: { authorization: `Bearer ${BEARER}` } }),
      ping('shop/backup', { headers: { authorization: 'Bearer read-token' } }),
      ping(`shop/backup?token=${HB_TOKEN}&exitCode=abc`),
      ping(`shop/backup/fail?token=${HB_TOKEN}`, {
        method: 'POST',
        body: 'x'.repeat(20_000),
      }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 404, 403, 400, 413]);
    const bodies = await Promise.all(answers.map((a) => a.text()));
    for (const body of bodies) expect(body).not.toContain(HB_TOKEN);
    const messages = bodies.map((b) => (JSON.parse(b) as { error: { message: string } }).error);
    expect(messages[5]?.message).toContain('No heartbeat named "nope" in project "shop"');
    // A GET ping records a run as a POST does: the refusal says so (it named POST before).
    expect(messages[6]?.message).toBe(
      "This token is read-only: GET /v1/heartbeats/shop/backup records a heartbeat ping (a GET as a POST): use an ingest token or the heartbeat's own ?token=.",
    );
    expect(messages[7]?.message).toContain('exitCode must be an integer');
  });

  it('keeps the last pings across a restart', async () => {
    // Prepare
    const before = await pipeline.store.heartbeats.get('shop/backup');
    expect(before?.lastPingKind).toBe('success');
    await pipeline.close();

    // Act: a new process on the same data directory, an hour after the last ping.
    pipeline = await startLocal(options);
    now = Date.parse(before?.lastPingAt ?? '') + 3600_000;
    const quiet = await pipeline.heartbeats.evaluate();
    now += 6 * 60_000;
    const missed = await pipeline.heartbeats.evaluate();

    // Assess: the schedule counted from the stored ping, not from the restart.
    expect(await pipeline.store.heartbeats.get('shop/backup')).toMatchObject({
      lastPingAt: before?.lastPingAt,
    });
    expect([quiet, missed]).toEqual([0, 1]);
  });
});

describe('M-of-N through the local pipeline', () => {
  it('a probe failing every other check fires with failureWindow, and not without', async () => {
    // Prepare: a pipeline of its own, probes on (each runs once at start).
    await pipeline.close();
    received.length = 0;
    hits.clear();
    const probeDir = await mkdtemp(join(tmpdir(), 'vigil-mofn-'));
    pipeline = await startLocal({ ...options, dataDir: probeDir, probes: true });

    // Act: four checks of each probe (F P F P), one after the other.
    const checks = (path: string) => hits.get(path) ?? 0;
    for (let i = 0; i < 20 && Math.min(checks('/windowed'), checks('/plain')) < 4; i++)
      await pipeline.probes.runAll();
    await pipeline.bus.drain();
    await pipeline.alerts.idle();

    // Assess: the windowed probe fired at its third check (F P F: 2 of the last 3); the plain
    // one saw the same pattern, as many checks, and never fired.
    expect(checks('/plain')).toBeGreaterThanOrEqual(4);
    const firing = await waitFor(of('Probe lb-windowed', 'FIRING'));
    expect(firing.summary).toContain('lb-windowed');
    expect(received.some((n) => n.title === 'Probe lb-plain')).toBe(false);
    // afterAll closes this pipeline; its directory goes with the machine's temp files.
  });
});
