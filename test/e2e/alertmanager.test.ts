import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { slackPayload } from '../../functions/core/alerts/messages';
import { parseConfig } from '../../functions/core/config';
import type { AlertNotification } from '../../functions/core/events';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { requireTools } from '../helpers/requires';
import { strayRequest } from '../helpers/stray-request';

/**
 * Alertmanager as a source, end to end in local mode: `POST /v1/alertmanager` → the bus → the
 * alert handler (state machine, maintenance windows) → a webhook channel on loopback. Then the
 * real Alertmanager (Debian's prometheus-alertmanager) posts to Vigil by itself.
 */

const TOKEN = 'am-token';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

let pipeline: LocalPipeline;
let dataDir: string;
let channel: Server;
let received: AlertNotification[] = [];

const waitUntil = async (
  what: string,
  ok: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  channel = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (strayRequest(req, res)) return;
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertNotification);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((ok) => channel.listen(0, '127.0.0.1', ok));
  const hook = `http://127.0.0.1:${(channel.address() as AddressInfo).port}/hook`;
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-am-'));
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      alerts: {
        channels: [{ type: 'webhook', url: hook }],
        maintenance: [
          {
            reason: 'disk work',
            tags: ['alertname:DiskFull'],
            start: '2020-01-01T00:00:00Z',
            end: '2099-01-01T00:00:00Z',
          },
        ],
      },
    }),
    dataDir,
    port: 0,
    tokens: [TOKEN],
    probes: false,
  });
});

afterAll(async () => {
  await pipeline.close();
  channel.closeAllConnections();
  await new Promise((ok) => channel.close(ok));
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
});

const alert = (status: 'firing' | 'resolved', labels: Record<string, string>, fp: string) => ({
  status,
  labels,
  annotations: {
    summary: `${labels.alertname} on ${labels.instance}`,
    runbook_url: 'https://runbooks.example.com/x',
  },
  startsAt: '2026-12-03T10:00:00Z',
  endsAt: status === 'resolved' ? '2026-12-03T10:05:00Z' : '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus.example.com/graph',
  fingerprint: fp,
});

const webhook = (alerts: ReturnType<typeof alert>[], token = TOKEN) =>
  fetch(`${pipeline.url}/v1/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      version: '4',
      groupKey: '{}:{alertname="x"}',
      truncatedAlerts: 0,
      status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      receiver: 'vigil',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example.com',
      alerts,
    }),
  });

describe('POST /v1/alertmanager (local mode)', () => {
  it('fires once per fingerprint, resolves on resolve, and escapes hostile labels', async () => {
    const hostile = {
      alertname: 'HighLatency',
      instance: '<!channel> <https://evil.example|click>',
      severity: 'page',
    };
    const first = await webhook([alert('firing', hostile, 'a1b2c3')]);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ accepted: 1 });
    await waitUntil('the FIRING', () => received.length === 1);
    expect(received[0]).toMatchObject({
      kind: 'FIRING',
      source: 'alertmanager',
      checkKey: 'alertmanager:a1b2c3',
      severity: 'critical',
      project: 'shop',
      runbookUrl: 'https://runbooks.example.com/x',
    });

    // The label values reach Slack as text: no mention, no link of theirs.
    const slack = slackPayload(received[0] as AlertNotification);
    // (The header is plain_text: Slack renders it literally.)
    const mrkdwn = JSON.stringify([slack.text, slack.blocks.filter((b) => b.type !== 'header')]);
    expect(mrkdwn).not.toContain('<!channel>');
    expect(mrkdwn).not.toContain('<https://evil');
    expect(mrkdwn).toContain('&lt;!channel&gt;');

    // Alertmanager repeats a firing alert (repeat_interval): no second FIRING.
    expect((await webhook([alert('firing', hostile, 'a1b2c3')])).status).toBe(200);
    await pipeline.bus.drain();
    await pipeline.alerts.idle();
    expect(received).toHaveLength(1);

    expect((await webhook([alert('resolved', hostile, 'a1b2c3')])).status).toBe(200);
    await waitUntil('the RESOLVED', () => received.length === 2);
    expect(received[1]).toMatchObject({ kind: 'RESOLVED', checkKey: 'alertmanager:a1b2c3' });
  });

  it('routes through maintenance windows: a covered alert is recorded, not sent', async () => {
    const res = await webhook([
      alert('firing', { alertname: 'DiskFull', instance: 'db1' }, 'd15c'),
    ]);
    expect(res.status).toBe(200);
    const recorded = async () =>
      (await pipeline.store.alerts.list()).history.find((n) => n.checkKey === 'alertmanager:d15c');
    await waitUntil(
      'the suppressed FIRING in the history',
      async () => (await recorded()) !== undefined,
    );
    expect(await recorded()).toMatchObject({
      kind: 'FIRING',
      suppressedBy: expect.stringContaining('disk work'),
    });
    expect(received).toEqual([]);
  });

  it('refuses a missing token and a payload that is not Alertmanager webhook v4', async () => {
    expect((await webhook([alert('firing', { alertname: 'X' }, 'f1')], 'wrong')).status).toBe(401);
    const bad = await fetch(`${pipeline.url}/v1/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ version: '3', alerts: [] }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('version');
  });
});

const haveAlertmanager = requireTools('alertmanager.test.ts', [
  { command: ALERTMANAGER, install: 'apt-get install -y prometheus-alertmanager' },
]);

const freePort = async (): Promise<number> => {
  const server = createNetServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
};

describe.skipIf(!haveAlertmanager)('the real Alertmanager posts to Vigil', () => {
  let child: ChildProcess | undefined;
  let dir: string;
  let logs = '';

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((ok) => child?.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("an alert pushed to Alertmanager reaches Vigil's channel as FIRING", async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-am-bin-'));
    // The receiver configuration of docs/probes-and-alerting.md.
    await writeFile(
      join(dir, 'alertmanager.yml'),
      [
        'route:',
        '  receiver: vigil',
        '  group_by: [alertname]',
        '  group_wait: 0s',
        '  group_interval: 1s',
        'receivers:',
        '  - name: vigil',
        '    webhook_configs:',
        `      - url: ${pipeline.url}/v1/alertmanager`,
        '        send_resolved: true',
        '        http_config:',
        '          authorization:',
        `            credentials: ${TOKEN}`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    child = spawn(
      ALERTMANAGER,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr?.on('data', (c: Buffer) => {
      logs += c.toString();
    });
    const api = `http://127.0.0.1:${port}/api/v2`;
    await waitUntil(
      `Alertmanager to listen (${logs})`,
      () => /Listening on|listening/i.test(logs),
      15_000,
    );
    const push = await fetch(`${api}/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: { alertname: 'InstanceDown', instance: 'web-1', severity: 'critical' },
          annotations: { summary: 'web-1 is down' },
        },
      ]),
    });
    expect(push.status).toBe(200);
    await waitUntil('Vigil to deliver the FIRING', () => received.length > 0, 15_000);
    expect(received[0]).toMatchObject({
      kind: 'FIRING',
      source: 'alertmanager',
      title: 'Alertmanager InstanceDown on web-1',
      lastError: 'web-1 is down',
    });
  });
});
