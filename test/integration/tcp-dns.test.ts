import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Server as TcpServer,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { parseConfig, probeSchema } from '../../functions/core/config';
import { probeCompletedDetailSchema } from '../../functions/core/events';
import { systemClock } from '../../functions/core/ports';
import { runProbes } from '../../functions/core/probes/run';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { createHttpProber } from '../../functions/shared/http-probe';
import { canonicalDnsValue, probeDns, probeTcp } from '../../functions/shared/socket-probes';
import { selfSignedCerts } from '../helpers/tls';

/**
 * TCP checks through the real local pipeline (a listener that goes away → FIRING at a webhook
 * receiver), and DNS checks against a small DNS answerer on loopback UDP.
 */

// A DNS answerer: A and TXT records for a few names, NXDOMAIN for others, silence for `slow.test`.
const RECORDS: Record<string, { A?: string[]; TXT?: string[]; MX?: string[] }> = {
  'shop.test': { A: ['10.0.0.1', '10.0.0.2'], TXT: ['v=spf1 -all'], MX: ['mx.shop.test'] },
};
const TYPES: Record<number, 'A' | 'TXT' | 'MX'> = { 1: 'A', 16: 'TXT', 15: 'MX' };

const encodeName = (name: string): Buffer =>
  Buffer.concat([
    ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);

const answer = (query: Buffer): Buffer | undefined => {
  let offset = 12;
  const labels: string[] = [];
  for (let len = query[offset] ?? 0; len > 0; len = query[offset] ?? 0) {
    labels.push(query.subarray(offset + 1, offset + 1 + len).toString('latin1'));
    offset += len + 1;
  }
  const name = labels.join('.').toLowerCase();
  if (name === 'slow.test') return undefined;
  const qtype = query.readUInt16BE(offset + 1);
  const question = query.subarray(12, offset + 5);
  const known = RECORDS[name];
  const type = TYPES[qtype];
  const rdatas = (type && known?.[type]) || [];
  const records = rdatas.map((value) => {
    const rdata =
      type === 'A'
        ? Buffer.from(value.split('.').map(Number))
        : type === 'MX'
          ? Buffer.concat([Buffer.from([0, 10]), encodeName(value)])
          : Buffer.concat([Buffer.from([value.length]), Buffer.from(value)]);
    const head = Buffer.alloc(12);
    head.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    head.writeUInt16BE(qtype, 2);
    head.writeUInt16BE(1, 4); // IN
    head.writeUInt32BE(60, 6);
    head.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([head, rdata]);
  });
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  // NOERROR, SERVFAIL for `broken.test`, or NXDOMAIN
  header.writeUInt16BE(known ? 0x8180 : name === 'broken.test' ? 0x8182 : 0x8183, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, question, ...records]);
};

let dns: Socket;
let dnsServer = '';
let tcp: TcpServer;
let tcpPort = 0;
const alerts: string[] = [];
let receiver: Server;
let pipeline: LocalPipeline;
let dataDir = '';

beforeAll(async () => {
  dns = createSocket('udp4', (msg, rinfo) => {
    const reply = answer(msg);
    if (reply) dns.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));
  dnsServer = `127.0.0.1:${dns.address().port}`;

  tcp = createTcpServer((socket) => socket.end());
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  tcpPort = (tcp.address() as AddressInfo).port;
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      alerts.push(text);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-tcp-'));
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      probes: [
        {
          name: 'postgres',
          type: 'tcp',
          host: '127.0.0.1',
          port: tcpPort,
          // Runs at start, then when the test asks (probes.runAll).
          intervalSeconds: 3600,
          timeoutMs: 500,
          failureThreshold: 1,
        },
      ],
      alerts: {
        channels: [
          { type: 'webhook', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` },
        ],
      },
    }),
    dataDir,
    port: 0,
    tokens: ['t'],
  });
});

afterAll(async () => {
  await pipeline.close();
  dns.close();
  tcp.close();
  receiver.close();
  await rm(dataDir, { recursive: true, force: true });
});

const runOne = async (input: Record<string, unknown>, ca?: string) => {
  const [result] = await runProbes(
    [probeSchema.parse({ name: 'check', timeoutMs: 300, ...input })],
    {
      probe: createHttpProber({
        secrets: new EnvSecretResolver({}),
        dnsServers: [dnsServer],
        ...(ca ? { ca } : {}),
      }),
      clock: systemClock,
    },
    { correlationId: 'c', location: 'local', defaultProject: 'shop' },
  );
  return probeCompletedDetailSchema.parse(result);
};

describe('TCP checks', () => {
  it('alerts when the port stops accepting connections (local pipeline)', async () => {
    // Act
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    for (let i = 0; i < 5 && !alerts.some((a) => a.includes('FIRING')); i++) {
      await pipeline.probes.runAll();
      await pipeline.bus.drain();
      await pipeline.alerts.idle();
    }
    // Assess
    const firing = alerts.find((a) => a.includes('FIRING')) ?? '';
    expect(firing).toContain('postgres');
    expect(firing).toContain(`connection refused by 127.0.0.1:${tcpPort}`);
  });

  it('reports up with the target named tcp://host:port', async () => {
    // Prepare
    const open = createTcpServer((s) => s.end());
    await new Promise<void>((resolve) => open.listen(0, '127.0.0.1', resolve));
    const port = (open.address() as AddressInfo).port;
    // Act
    const result = await runOne({ type: 'tcp', host: '127.0.0.1', port });
    open.close();
    // Assess
    expect(result).toMatchObject({ status: 'up', url: `tcp://127.0.0.1:${port}`, method: 'TCP' });
    expect(result.statusCode).toBeUndefined();
  });

  it('checks a TLS port: the certificate must be trusted, and its expiry is watched', async () => {
    // Prepare: a certificate for 127.0.0.1 valid 5 more days.
    const { valid: pem } = await selfSignedCerts();
    const server = createTlsServer(pem, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const probe = {
      type: 'tcp',
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      tls: true,
      tlsExpiryDays: 14,
    };
    // Act
    const untrusted = await runOne(probe);
    const trusted = await runOne(probe, pem.cert);
    server.close();
    // Assess
    expect(untrusted.failure).toEqual({
      assertion: 'tls',
      message: 'TLS certificate not trusted: DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(trusted).toMatchObject({ status: 'up', tls: { daysRemaining: 4 } });
    expect(trusted.warnings).toEqual([expect.stringMatching(/^TLS certificate expires in 4 days/)]);
  });

  it('stops at once when the run is cancelled', async () => {
    const controller = new AbortController();
    const pending = probeTcp(
      { host: '10.255.255.1', port: 9, tls: false, timeoutMs: 5000 },
      () => new Date(),
      {
        signal: controller.signal,
      },
    );
    controller.abort();
    expect((await pending).failure).toEqual({
      assertion: 'timeout',
      message: 'the probe was cancelled before it completed',
    });
  });

  it('times out a TLS handshake the peer never answers', async () => {
    // Prepare: accepts, then says nothing.
    const mute = createTcpServer(() => {});
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    // Act
    const result = await runOne({
      type: 'tcp',
      host: '127.0.0.1',
      port: (mute.address() as AddressInfo).port,
      tls: true,
    });
    mute.close();
    // Assess
    expect(result.failure).toEqual({
      assertion: 'timeout',
      message: 'no connection within 300 ms',
    });
  });
});

describe('DNS checks', () => {
  it('passes when the expected records are among the answers', async () => {
    const a = await runOne({
      type: 'dns',
      host: 'shop.test',
      expect: { values: ['10.0.0.2'], minCount: 2 },
    });
    const txt = await runOne({
      type: 'dns',
      host: 'shop.test',
      recordType: 'TXT',
      expect: { values: ['v=spf1 -all'] },
    });
    expect(a).toMatchObject({ status: 'up', url: 'dns://shop.test/A', method: 'DNS' });
    expect(txt.status).toBe('up');
    const mx = await runOne({
      type: 'dns',
      host: 'shop.test',
      recordType: 'MX',
      expect: { values: ['10 mx.shop.test'] },
    });
    expect(mx.status).toBe('up');
  });

  it('names what is missing, too few records, an unknown name and a silent server', async () => {
    const missing = await runOne({
      type: 'dns',
      host: 'shop.test',
      expect: { values: ['10.0.0.9'] },
    });
    const few = await runOne({ type: 'dns', host: 'shop.test', expect: { minCount: 3 } });
    const unknown = await runOne({ type: 'dns', host: 'gone.test' });
    const silent = await runOne({ type: 'dns', host: 'slow.test' });
    const broken = await runOne({ type: 'dns', host: 'broken.test' });
    expect(broken.failure).toEqual({
      assertion: 'dns',
      message: 'DNS query for broken.test A failed (ESERVFAIL)',
    });
    expect(missing.failure).toEqual({
      assertion: 'dns:values',
      message: 'shop.test A: missing 10.0.0.9; got 10.0.0.1, 10.0.0.2',
    });
    expect(few.failure?.assertion).toBe('dns:minCount');
    expect(unknown.failure).toEqual({
      assertion: 'dns:minCount',
      message: 'gone.test A: expected at least 1 records, got no records',
    });
    expect(silent.failure?.assertion).toBe('timeout');
  });

  it('compares values as DNS means them: host names in any case, with or without the final dot', async () => {
    const mx = await runOne({
      type: 'dns',
      host: 'shop.test',
      recordType: 'MX',
      expect: { values: ['10 MX.Shop.test.'] },
    });
    expect(mx.failure).toBeUndefined();
    expect(canonicalDnsValue('2001:0DB8:0000::0001', 'AAAA')).toBe('2001:db8::1');
    expect(canonicalDnsValue('not-an-address', 'AAAA')).toBe('not-an-address');
    expect(canonicalDnsValue(' v=spf1 -all', 'TXT')).toBe(' v=spf1 -all');
  });

  it('keeps to a short timeout: no answer within 100 ms is a timeout by about 100 ms', async () => {
    const silent = await runOne({ type: 'dns', host: 'slow.test', timeoutMs: 100 });
    expect(silent.failure).toEqual({
      assertion: 'timeout',
      message: 'no DNS answer within 100 ms',
    });
    // c-ares alone took ~300 ms here (its own timeout overshoots short ones).
    expect(silent.latencyMs).toBeLessThan(250);
  });

  it('stops a query when the run is cancelled: a timeout at once, the query cancelled', async () => {
    // Prepare: a name server that hears the query and never answers.
    const mute = createSocket('udp4');
    const asked = new Promise<void>((resolve) => mute.once('message', () => resolve()));
    await new Promise<void>((resolve) => mute.bind(0, '127.0.0.1', resolve));
    const cancel = vi.spyOn(Resolver.prototype, 'cancel');
    const probe = probeSchema.parse({
      name: 'check',
      type: 'dns',
      host: 'shop.test',
      timeoutMs: 30_000,
    });
    const controller = new AbortController();
    const prober = createHttpProber({
      secrets: new EnvSecretResolver({}),
      dnsServers: [`127.0.0.1:${mute.address().port}`],
    });
    try {
      // Act: the run is cancelled once the query is out (long before its 30 s timeout).
      const pending = prober(probe, controller.signal);
      await asked;
      controller.abort();
      const outcome = await Promise.race([
        pending,
        new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 10_000)),
      ]);
      // Assess
      expect(outcome).toMatchObject({
        status: 'down',
        failure: { assertion: 'timeout', message: 'the probe was cancelled before it completed' },
      });
      expect(cancel).toHaveBeenCalled();
      // A run cancelled before it starts asks nothing.
      const early = await probeDns(probe, [`127.0.0.1:${mute.address().port}`], controller.signal);
      expect(early.failure?.message).toBe('the probe was cancelled before it completed');
    } finally {
      cancel.mockRestore();
      mute.close();
    }
  });
});

describe('TCP and DNS configuration', () => {
  const issues = (input: Record<string, unknown>) => {
    const r = probeSchema.safeParse({ name: 'p', ...input });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('says which field a check kind needs or does not take', () => {
    expect(issues({ type: 'tcp', host: 'db' })).toEqual(['port: a tcp check needs "port"']);
    expect(issues({ type: 'dns', url: 'https://a.example.com' })).toEqual([
      'type: a dns check has "host", not "url" or "steps"',
      'host: a dns check needs "host"',
    ]);
    expect(issues({ url: 'https://a.example.com', host: 'a', port: 1 })).toEqual([
      'host: "host" is for tcp and dns checks; use "url"',
      'port: "port" is for tcp checks',
    ]);
    expect(issues({ url: 'https://a.example.com', expect: { minCount: 1 } })).toEqual([
      'expect: "values" and "minCount" are for dns checks',
    ]);
  });
});
