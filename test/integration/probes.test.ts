import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { probeOffsetMs } from '../../functions/adapters/local/probe-schedule';
import { ProbeScheduler } from '../../functions/adapters/local/probe-scheduler';
import {
  type ProbeConfig,
  parseConfig,
  probeSchema,
  type VigilConfig,
} from '../../functions/core/config';
import { type ProbeCompletedDetail, probeCompletedDetailSchema } from '../../functions/core/events';
import { systemClock } from '../../functions/core/ports';
import { MAX_BODY_BYTES, type Observation } from '../../functions/core/probes/assertions';
import { DEADLINE_GRACE_MS, type ProbeFn, runProbes } from '../../functions/core/probes/run';
import { classifyError, createHttpProber, probeHttp } from '../../functions/shared/http-probe';
import { logger, tracer } from '../../functions/shared/powertools';
import { MemoryPublisher } from '../helpers/fakes';
import { busOn, storedEvents } from '../helpers/local-store';
import { selfSignedCerts } from '../helpers/tls';

// ---------------------------------------------------------------------------------------------
// Real local targets

const TOKEN = 'tok_9f8e7d6c5b4a3210-very-secret';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

const seen: Seen[] = [];
const servers: Server[] = [];

const listen = async (server: Server): Promise<number> => {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

const target = createServer((req, res) => {
  const path = req.url ?? '/';
  seen.push({ path, headers: req.headers });
  switch (path) {
    case '/ok':
      res.writeHead(200, { 'content-type': 'application/json', 'x-version': '1.2.3' });
      res.end(JSON.stringify({ status: 'ok', checks: [{ name: 'db', healthy: true }] }));
      return;
    case '/down':
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('maintenance');
      return;
    case '/slow':
      setTimeout(() => {
        res.writeHead(200);
        res.end('slow but fine');
      }, 300);
      return;
    case '/hang':
      return; // never answers
    case '/html':
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>It works</body></html>');
      return;
    case '/redirect':
      res.writeHead(301, { location: '/ok' });
      res.end();
      return;
    case '/big':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${'a'.repeat(2 * MAX_BODY_BYTES)}END`);
      return;
    case '/big-then-hang':
      // More than 1 MB, then the body never ends: the probe must stop reading at 1 MB.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('b'.repeat(MAX_BODY_BYTES + 10));
      return;
    case '/echo-auth':
      // A target that echoes the credentials back (as some debug endpoints do).
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
      res.end(`rejected credentials: ${req.headers.authorization ?? '(none)'}`);
      return;
    case '/echo-json':
      // The credentials echoed in JSON, `/` escaped as PHP writes it.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: req.headers.authorization ?? '' }).replaceAll('/', '\\/'));
      return;
    case '/reset':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    case '/garbage':
      req.socket.end('NOT HTTP AT ALL\r\n\r\n');
      return;
    case '/echo-method':
      res.writeHead(200);
      req.resume();
      req.on('end', () => res.end(req.method));
      return;
    default:
      res.writeHead(404);
      res.end('not found');
  }
});

let base = '';
let closedUrl = '';
let workDir = '';
let selfSigned = { cert: '', key: '' };
let expired = { cert: '', key: '' };
let httpsBase = '';
let expiredBase = '';

beforeAll(async () => {
  base = `http://127.0.0.1:${await listen(target)}`;
  // A privileged port nothing listens on: a port closed after listening could be handed to
  // another process of the run meanwhile (one answered with a reset).
  closedUrl = 'http://127.0.0.1:1/';

  workDir = await mkdtemp(join(tmpdir(), 'vigil-probes-'));
  ({ valid: selfSigned, expired } = await selfSignedCerts());

  const ok = (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200);
    res.end('secure ok');
  };
  httpsBase = `https://127.0.0.1:${await listen(createHttpsServer(selfSigned, ok))}`;
  expiredBase = `https://127.0.0.1:${await listen(createHttpsServer(expired, ok))}`;
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await rm(workDir, { recursive: true, force: true });
});

afterEach(() => {
  seen.length = 0;
  vi.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------
// Helpers

const probe = (input: Record<string, unknown>): ProbeConfig =>
  probeSchema.parse({ name: 'api', timeoutMs: 2000, ...input });

const run = async (
  probes: ProbeConfig[],
  options: { env?: NodeJS.ProcessEnv; ca?: string; rejectUnauthorized?: boolean } = {},
): Promise<ProbeCompletedDetail[]> => {
  const results = await runProbes(
    probes,
    {
      probe: createHttpProber({
        secrets: new EnvSecretResolver(options.env ?? {}),
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
      }),
      clock: systemClock,
    },
    { correlationId: 'corr-1', location: 'local', defaultProject: 'shop' },
  );
  for (const r of results) probeCompletedDetailSchema.parse(r);
  return results;
};

const only = async (
  p: ProbeConfig,
  options?: Parameters<typeof run>[1],
): Promise<ProbeCompletedDetail> => {
  const [result] = await run([p], options);
  if (!result) throw new Error('no result');
  return result;
};

// ---------------------------------------------------------------------------------------------

describe('HTTP probes against real local targets', () => {
  it('reports a healthy endpoint as up, with the event detail filled in', async () => {
    // Act
    const result = await only(
      probe({ name: 'health', url: `${base}/ok`, tags: ['core'], severity: 'warning' }),
    );
    // Assess
    expect(result).toMatchObject({
      metadata: { project: 'shop', probe: 'health', correlationId: 'corr-1', location: 'local' },
      url: `${base}/ok`,
      method: 'GET',
      status: 'up',
      statusCode: 200,
      attempt: 1,
      warnings: [],
      severity: 'warning',
      tags: ['core'],
    });
    expect(result.failure).toBeUndefined();
    expect(result.tls).toBeUndefined();
    expect(result.latencyMs).toBeGreaterThan(0);
    expect(result.latencyMs).toBeLessThan(1000);
    expect(seen[0]?.headers['user-agent']).toMatch(/^vigil-probe\//);
  });

  it('reports 503 as down on the status assertion', async () => {
    // Act
    const result = await only(probe({ url: `${base}/down` }));
    // Assess
    expect(result.status).toBe('down');
    expect(result.statusCode).toBe(503);
    expect(result.failure).toEqual({
      assertion: 'status',
      message: 'expected status 200, got 503',
    });
  });

  it('times a hung target out at timeoutMs without delaying the healthy probe beside it', async () => {
    // Prepare
    const probes = [
      probe({ name: 'hung', url: `${base}/hang`, timeoutMs: 700 }),
      probe({ name: 'healthy', url: `${base}/ok`, timeoutMs: 700 }),
    ];
    const started = performance.now();
    // Act
    const [hung, healthy] = await run(probes);
    const elapsed = performance.now() - started;
    // Assess
    expect(hung?.status).toBe('down');
    expect(hung?.failure).toEqual({
      assertion: 'timeout',
      message: 'no complete response within 700 ms',
    });
    expect(hung?.latencyMs).toBeGreaterThanOrEqual(690);
    expect(hung?.statusCode).toBeUndefined();
    expect(healthy?.status).toBe('up');
    expect(healthy?.latencyMs).toBeLessThan(300);
    // About the hung probe's timeout: concurrent, not the sum of the probes' times.
    expect(elapsed).toBeGreaterThanOrEqual(690);
    expect(elapsed).toBeLessThan(1400);
  });

  it('fails maxLatencyMs on a slow response', async () => {
    // Act
    const result = await only(probe({ url: `${base}/slow`, expect: { maxLatencyMs: 100 } }));
    // Assess
    expect(result.status).toBe('down');
    expect(result.failure?.assertion).toBe('maxLatencyMs');
    expect(result.failure?.message).toMatch(/^took \d+ ms, more than the 100 ms allowed$/);
    expect(result.latencyMs).toBeGreaterThanOrEqual(290);
  });

  it('reports a refused connection', async () => {
    // Act
    const result = await only(probe({ url: closedUrl }));
    // Assess
    expect(result.status).toBe('down');
    expect(result.failure?.assertion).toBe('connection');
    expect(result.failure?.message).toContain('connection refused');
    expect(result.latencyMs).toBeLessThan(1000);
  });

  it('reports a name that does not resolve as a DNS failure', async () => {
    // Act (.invalid never resolves: RFC 2606)
    const result = await only(probe({ url: 'http://vigil-probe-test.invalid/' }));
    // Assess
    expect(result.status).toBe('down');
    expect(result.failure?.assertion).toBe('dns');
    expect(result.failure?.message).toMatch(/^DNS lookup for vigil-probe-test\.invalid failed \(E/);
  });

  it('checks JSON body assertions, and says so when the body is not JSON', async () => {
    // Act
    const [pass, fail, notJson] = await run([
      probe({
        name: 'json-pass',
        url: `${base}/ok`,
        expect: {
          json: [
            { path: '$.status', equals: 'ok' },
            { path: '$.checks[0].healthy', equals: true },
            { path: '$.error', exists: false },
          ],
        },
      }),
      probe({
        name: 'json-fail',
        url: `${base}/ok`,
        expect: { json: [{ path: "$.checks[0]['name']", equals: 'cache' }] },
      }),
      probe({
        name: 'not-json',
        url: `${base}/html`,
        expect: { json: [{ path: '$.status', exists: true }] },
      }),
    ]);
    // Assess
    expect(pass?.status).toBe('up');
    expect(fail?.failure).toEqual({
      assertion: "json:$.checks[0]['name']",
      message: `$.checks[0]['name'] is "db", expected "cache"`,
    });
    expect(notJson?.failure).toEqual({
      assertion: 'json:$.status',
      message: 'the body is not valid JSON, so $.status cannot be checked',
    });
  });

  it('checks response headers case-insensitively, and the body text', async () => {
    // Act
    const [pass, wrong, body] = await run([
      probe({
        name: 'headers-pass',
        url: `${base}/ok`,
        expect: { headers: { 'Content-Type': 'application/json', 'X-Version': '1.2.3' } },
      }),
      probe({
        name: 'headers-wrong',
        url: `${base}/ok`,
        expect: { headers: { 'x-version': '2.0.0' } },
      }),
      probe({ name: 'body', url: `${base}/html`, expect: { bodyContains: 'It works' } }),
    ]);
    // Assess
    expect(pass?.status).toBe('up');
    expect(wrong?.failure).toEqual({
      assertion: 'header:x-version',
      message: 'expected header x-version: "2.0.0", got "1.2.3"',
    });
    expect(body?.status).toBe('up');
  });

  it('never follows redirects: a 301 is a status like any other', async () => {
    // Act
    const [strict, expecting] = await run([
      probe({ name: 'strict', url: `${base}/redirect` }),
      probe({ name: 'expecting', url: `${base}/redirect`, expect: { status: [301] } }),
    ]);
    // Assess
    expect(strict?.statusCode).toBe(301);
    expect(strict?.failure?.message).toBe(
      'expected status 200, got 301 (redirect to /ok, not followed)',
    );
    expect(expecting?.status).toBe('up');
    expect(seen.map((s) => s.path)).toEqual(['/redirect', '/redirect']);
  });

  it('reads at most 1 MB of body', async () => {
    // Act
    const obs = await probeHttp(
      { name: 'big', url: `${base}/big`, method: 'GET', timeoutMs: 5000 },
      {},
    );
    const endless = await probeHttp(
      { name: 'endless', url: `${base}/big-then-hang`, method: 'GET', timeoutMs: 3000 },
      {},
    );
    const result = await only(probe({ url: `${base}/big`, expect: { bodyContains: 'END' } }));
    // Assess
    expect(obs).toMatchObject({ statusCode: 200, bodyTruncated: true });
    expect('body' in obs && obs.body.length).toBe(MAX_BODY_BYTES);
    expect(endless).toMatchObject({ statusCode: 200, bodyTruncated: true });
    expect(endless.latencyMs).toBeLessThan(2000);
    expect(result.failure?.message).toMatch(
      new RegExp(`^the first ${MAX_BODY_BYTES} bytes of the body did not contain "END"`),
    );
    expect(result.failure?.message.length).toBeLessThan(300);
  });

  it('sends the method and body of the probe', async () => {
    // Act
    const obs = await probeHttp(
      {
        name: 'post',
        url: `${base}/echo-method`,
        method: 'POST',
        body: '{"a":1}',
        timeoutMs: 2000,
      },
      { 'content-type': 'application/json' },
    );
    // Assess
    expect(obs).toMatchObject({ statusCode: 200, body: 'POST' });
    expect(seen[0]?.headers['content-length']).toBe('7');
  });

  it('reports a connection dropped mid-response and a response that is not HTTP', async () => {
    // Act
    const [reset, garbage] = await run([
      probe({ name: 'reset', url: `${base}/reset` }),
      probe({ name: 'garbage', url: `${base}/garbage` }),
    ]);
    // Assess
    expect(reset?.status).toBe('down');
    expect(reset?.failure?.assertion).toBe('connection');
    expect(reset?.failure?.message).toMatch(/response interrupted|closed mid-response/);
    expect(garbage?.failure).toEqual({
      assertion: 'connection',
      message: expect.stringMatching(/^invalid HTTP response \(HPE_/),
    });
  });

  it('reports a header Node refuses to send as a probe error, without its value', async () => {
    // Act
    const result = await only(
      probe({
        url: `${base}/ok`,
        headers: { 'x-token': '{{secret:multi-line}}' },
      }),
      { env: { VIGIL_SECRET_MULTI_LINE: 'line-one\nline-two' } },
    );
    // Assess
    expect(result.status).toBe('down');
    expect(result.failure?.assertion).toBe('error');
    expect(result.failure?.message).toMatch(
      /^the request could not be sent: Invalid character in header content \["x-token"\]/,
    );
    expect(JSON.stringify(result)).not.toContain('line-one');
    expect(seen).toHaveLength(0);
  });

  it('does not start a probe whose signal is already aborted', async () => {
    // Act
    const obs = await probeHttp(
      { name: 'ok', url: `${base}/ok`, method: 'GET', timeoutMs: 1000 },
      {},
      { signal: AbortSignal.abort() },
    );
    // Assess
    expect(obs).toMatchObject({
      error: 'timeout',
      message: 'the probe was cancelled before it completed',
    });
    expect(seen).toHaveLength(0);
  });

  it('wraps each request in a tracer subsegment named after the probe', async () => {
    // Prepare
    type Segment = NonNullable<ReturnType<typeof tracer.getSegment>>;
    const subsegments: {
      name: string;
      annotations: Record<string, unknown>;
      closed: boolean;
      error: boolean;
    }[] = [];
    const parent = {
      addNewSubsegment: (name: string) => {
        const sub = {
          name,
          annotations: {} as Record<string, unknown>,
          closed: false,
          error: false,
        };
        subsegments.push(sub);
        return {
          addAnnotation: (k: string, v: unknown) => {
            sub.annotations[k] = v;
          },
          addMetadata: () => undefined,
          addErrorFlag: () => {
            sub.error = true;
          },
          close: () => {
            sub.closed = true;
          },
        };
      },
    } as unknown as Segment;
    vi.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    vi.spyOn(tracer, 'getSegment').mockReturnValue(parent);
    // Act
    await run([
      probe({ name: 'traced-ok', url: `${base}/ok` }),
      probe({ name: 'traced-refused', url: closedUrl }),
    ]);
    // Assess
    expect(subsegments).toEqual([
      {
        name: 'probe traced-ok',
        annotations: { probe: 'traced-ok', status_code: 200 },
        closed: true,
        error: false,
      },
      {
        name: 'probe traced-refused',
        annotations: { probe: 'traced-refused', probe_error: 'connection' },
        closed: true,
        error: true,
      },
    ]);
  });

  it('works without a segment outside Lambda', async () => {
    // Prepare
    vi.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    vi.spyOn(tracer, 'getSegment').mockReturnValue(undefined);
    // Act
    const result = await only(probe({ url: `${base}/ok` }));
    // Assess
    expect(result.status).toBe('up');
  });

  it.each([
    [{ code: 'EAI_AGAIN' }, 'dns', 'DNS lookup for h failed (EAI_AGAIN)'],
    [{ code: 'ECONNRESET' }, 'connection', 'connection reset by the peer'],
    [
      { code: 'CERT_HAS_EXPIRED' },
      'tls',
      'TLS handshake failed: the certificate has expired (CERT_HAS_EXPIRED)',
    ],
    [
      { code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' },
      'tls',
      'TLS handshake failed: wrong version number',
    ],
    [
      { code: 'EHOSTUNREACH', message: 'connect EHOSTUNREACH 10.0.0.1:443' },
      'connection',
      'connect EHOSTUNREACH 10.0.0.1:443',
    ],
    [{ code: 'ENETDOWN', message: 'network is down' }, 'connection', 'ENETDOWN: network is down'],
    [{ message: 'socket hang up' }, 'connection', 'socket hang up'],
  ] as [{ code?: string; message?: string }, string, string][])(
    'classifies %j',
    (fields, kind, message) => {
      // Prepare
      const error = Object.assign(new Error(fields.message ?? ''), fields);
      // Act + Assess
      expect(classifyError(error, 'h', 443)).toEqual({ kind, message });
    },
  );

  it('reports a cancelled probe without waiting for the timeout', async () => {
    // Prepare
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    // Act
    const obs = await probeHttp(
      { name: 'hung', url: `${base}/hang`, method: 'GET', timeoutMs: 5000 },
      {},
      { signal: controller.signal },
    );
    // Assess
    expect(obs).toMatchObject({ error: 'timeout' });
    expect(obs.latencyMs).toBeLessThan(1000);
  });
});

describe('HTTPS probes and certificates', () => {
  it('records the days remaining and warns within tlsExpiryDays (trusting the test CA)', async () => {
    // Act
    const result = await only(probe({ url: `${httpsBase}/`, tlsExpiryDays: 30 }), {
      ca: selfSigned.cert,
    });
    // Assess
    expect(result.status).toBe('up');
    expect(result.statusCode).toBe(200);
    expect(result.tls?.daysRemaining).toBe(4);
    expect(Date.parse(result.tls?.validTo ?? '')).toBeGreaterThan(Date.now() + 4 * 86_400_000);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(
      /^TLS certificate expires in 4 days \(.+\), within the 30-day warning window$/,
    );
  });

  it('refuses an untrusted certificate but still reports its expiry', async () => {
    // Act (system trust store: the self-signed certificate is not in it)
    const result = await only(probe({ url: `${httpsBase}/` }));
    // Assess
    expect(result.status).toBe('down');
    expect(result.statusCode).toBeUndefined();
    expect(result.failure).toEqual({
      assertion: 'tls',
      message:
        'TLS certificate not trusted: the certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)',
    });
    expect(result.tls?.daysRemaining).toBe(4);
  });

  it('can skip verification explicitly (rejectUnauthorized false)', async () => {
    // Act
    const result = await only(probe({ url: `${httpsBase}/` }), { rejectUnauthorized: false });
    // Assess
    expect(result.status).toBe('up');
    expect(result.tls?.daysRemaining).toBe(4);
  });

  it('reports an expired certificate as down, with a negative days remaining', async () => {
    // Act
    const result = await only(probe({ url: `${expiredBase}/` }), { ca: expired.cert });
    // Assess
    expect(result.status).toBe('down');
    expect(result.failure?.assertion).toBe('tls');
    expect(result.failure?.message).toMatch(/^TLS certificate expired on .+ \(1 day ago\)$/);
    expect(result.tls?.daysRemaining).toBe(-2);
  });

  it('reports an expired certificate as down even when verification is off', async () => {
    // Act
    const result = await only(probe({ url: `${expiredBase}/` }), { rejectUnauthorized: false });
    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.status).toBe('down');
    expect(result.failure?.assertion).toBe('tls');
  });

  it('measures the latency from the request written to the response end, not the handshake', async () => {
    // Prepare: a relay in front of the HTTPS target that holds the server's first bytes (the
    // TLS handshake) for 500 ms, then relays as is.
    const upstream = Number(new URL(httpsBase).port);
    const relay = createTcpServer((client) => {
      const server = connect(upstream, '127.0.0.1');
      client.pipe(server);
      server.once('data', (first: Buffer) => {
        server.pause();
        setTimeout(() => {
          client.write(first);
          server.pipe(client);
          server.resume();
        }, 500);
      });
      const close = () => {
        client.destroy();
        server.destroy();
      };
      client.on('error', close).on('close', close);
      server.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const { port } = relay.address() as AddressInfo;
    const started = performance.now();
    // Act
    const obs = await probeHttp(
      { name: 'relayed', url: `https://127.0.0.1:${port}/`, method: 'GET', timeoutMs: 5000 },
      {},
      { ca: selfSigned.cert },
    );
    const elapsed = performance.now() - started;
    relay.close();
    // Assess: the call took the 500 ms hold and more; the latency leaves the hold out.
    expect(obs).toMatchObject({ statusCode: 200 });
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(obs.latencyMs).toBeLessThanOrEqual(elapsed - 500);
  });

  it('reports a TLS handshake with a plain-HTTP port as a TLS failure', async () => {
    // Act
    const result = await only(probe({ url: base.replace('http:', 'https:') }));
    // Assess
    expect(result.status).toBe('down');
    expect(result.failure?.assertion).toBe('tls');
    expect(result.failure?.message).toMatch(/^TLS handshake failed/);
  });
});

describe('secrets in headers', () => {
  it('sends the resolved secret to the target, never into the event or the logs', async () => {
    // Prepare
    const publisher = new MemoryPublisher();
    const logged: unknown[] = [];
    for (const level of ['debug', 'info', 'warn', 'error'] as const)
      vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
        logged.push(args);
      });
    const results: ProbeCompletedDetail[] = [];
    const scheduler = new ProbeScheduler({
      config: configWith([
        probe({
          name: 'private-api',
          url: `${base}/echo-auth`,
          headers: { Authorization: 'Bearer {{secret:api-token}}' },
          expect: { status: [200], bodyContains: 'welcome' },
        }),
      ]),
      publisher,
      secrets: new EnvSecretResolver({ VIGIL_SECRET_API_TOKEN: TOKEN }),
      onResult: (d) => results.push(d),
    });
    // Act
    scheduler.start();
    await vi.waitFor(() => expect(results).toHaveLength(1));
    await scheduler.stop();
    // Assess: the target got it
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    // ... the result says what failed, with the echoed token scrubbed
    expect(results[0]?.failure).toEqual({
      assertion: 'status',
      message: 'expected status 200, got 401',
    });
    const events = JSON.stringify(publisher.events);
    expect(events).toContain('private-api');
    expect(events).not.toContain(TOKEN);
    // ... and nothing logged carries it
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).not.toContain(TOKEN);
  });

  it('scrubs a secret the target echoes into a failure message', async () => {
    // Act
    const result = await only(
      probe({
        url: `${base}/echo-auth`,
        headers: { authorization: 'Bearer {{secret:api-token}}' },
        expect: { status: [401], bodyContains: 'welcome' },
      }),
      { env: { VIGIL_SECRET_API_TOKEN: TOKEN } },
    );
    // Assess
    expect(result.failure?.assertion).toBe('bodyContains');
    expect(result.failure?.message).toContain('rejected credentials: Bearer ***');
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('scrubs a secret the target echoes escaped in JSON, which the failure message quotes decoded', async () => {
    // Prepare: a secret with the characters JSON writers escape.
    const secret = 'tok/9f8e+7d6c"5b4a';

    // Act
    const result = await only(
      probe({
        url: `${base}/echo-json`,
        headers: { authorization: 'Bearer {{secret:api-token}}' },
        expect: { json: [{ path: '$.status', equals: 'ok' }] },
      }),
      { env: { VIGIL_SECRET_API_TOKEN: secret } },
    );

    // Assess
    expect(result.failure?.message).toBe('$.status is "Bearer ***", expected "ok"');
    expect(JSON.stringify(result)).not.toContain('9f8e');
  });

  it('reports a missing secret as down, naming the secret, without sending anything', async () => {
    // Act
    const result = await only(
      probe({ url: `${base}/ok`, headers: { 'x-api-key': '{{secret:missing-key}}' } }),
    );
    // Assess
    expect(result.status).toBe('down');
    expect(result.failure).toEqual({
      assertion: 'secret',
      message:
        'secret "missing-key" is not set: define the environment variable VIGIL_SECRET_MISSING_KEY',
    });
    expect(seen).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------

const configWith = (probes: ProbeConfig[]): VigilConfig => ({
  ...parseConfig({ project: 'shop' }),
  probes,
});

describe('runProbes', () => {
  const fakeObservation: Observation = { statusCode: 200, headers: {}, body: '', latencyMs: 1 };

  it('keeps at most `concurrency` probes in flight, results in input order', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    const fn: ProbeFn = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return fakeObservation;
    };
    const probes = Array.from({ length: 7 }, (_, i) => probe({ name: `p${i}`, url: `${base}/` }));
    // Act
    const results = await runProbes(
      probes,
      { probe: fn, clock: systemClock, concurrency: 3 },
      { correlationId: 'c', location: 'local', defaultProject: 'shop', attempt: 2 },
    );
    // Assess
    expect(peak).toBe(3);
    expect(results.map((r) => r.metadata.probe)).toEqual(probes.map((p) => p.name));
    expect(results.every((r) => r.attempt === 2)).toBe(true);
  });

  it('gives up on a probe function that never settles, a little after its timeout', async () => {
    // Prepare
    let aborted = false;
    const never: ProbeFn = (_p, signal) =>
      new Promise(() => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
      });
    // Act: the runner's deadline (timeoutMs + DEADLINE_GRACE_MS) passes on fake timers.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const running = runProbes(
      [probe({ url: `${base}/`, timeoutMs: 100, project: 'payments' })],
      { probe: never, clock: systemClock },
      { correlationId: 'c', location: 'local', defaultProject: 'shop' },
    );
    await vi.advanceTimersByTimeAsync(100 + DEADLINE_GRACE_MS);
    vi.useRealTimers();
    const [result] = await running;
    // Assess
    expect(result?.failure).toEqual({
      assertion: 'timeout',
      message: 'no result within 100 ms',
    });
    expect(result?.metadata.project).toBe('payments');
    expect(aborted).toBe(true);
  });

  it('reports a probe function that throws as down', async () => {
    // Act
    const [result] = await runProbes(
      [probe({ url: 'https://user:pa55word@example.com/health' })],
      {
        probe: async () => {
          throw new Error('boom');
        },
        clock: systemClock,
      },
      { correlationId: 'c', location: 'local', defaultProject: 'shop' },
    );
    // Assess
    expect(result?.failure).toEqual({ assertion: 'error', message: 'boom' });
    expect(result?.url).toBe('https://***@example.com/health');
  });
});

describe('ProbeScheduler (local mode)', () => {
  it('runs each probe at once, then every intervalSeconds, onto the local bus', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bus-'));
    const bus = busOn(dataDir);
    const results: ProbeCompletedDetail[] = [];
    const ids = ['run-1', 'run-2', 'run-3', 'run-4'];
    const scheduler = new ProbeScheduler({
      config: configWith([probe({ name: 'health', url: `${base}/ok`, intervalSeconds: 1 })]),
      publisher: bus,
      secrets: new EnvSecretResolver({}),
      newId: () => ids.shift() ?? 'run-x',
      onResult: (d) => results.push(d),
    });
    // Act
    expect(scheduler.probeCount).toBe(1);
    const started = Date.now();
    scheduler.start();
    scheduler.start(); // idempotent
    await vi.waitFor(() => expect(results.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    await scheduler.stop();
    await bus.drain();
    // Assess: one run at once, the next at the probe's offset in the interval after the start (a
    // second start would have run twice at once); a busy machine can only make it late, never early
    // by more than the 2 ms that Node's timer clock (whole milliseconds, read once per loop turn)
    // and the wall clock can differ by (it ran 1 ms "early" once).
    expect(results.slice(0, 2).map((r) => r.metadata.correlationId)).toEqual(['run-1', 'run-2']);
    const due = started + ((probeOffsetMs('health', 1000) - (started % 1000) + 1000) % 1000);
    expect(Date.parse(results[1]?.metadata.checkedAt ?? '')).toBeGreaterThanOrEqual(due - 2);
    const first = storedEvents(dataDir)[0];
    expect(first).toMatchObject({
      source: 'vigil.probe',
      'detail-type': 'Probe Completed',
      detail: { metadata: { probe: 'health', location: 'local' }, status: 'up' },
    });
    expect(scheduler.stats.runs).toBe(2);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps running when publishing fails', async () => {
    // Prepare
    const publisher = new MemoryPublisher();
    publisher.failWith = new Error('bus down');
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const results: ProbeCompletedDetail[] = [];
    const scheduler = new ProbeScheduler({
      config: configWith([probe({ name: 'health', url: `${base}/ok` })]),
      publisher,
      secrets: new EnvSecretResolver({}),
      onResult: (d) => results.push(d),
    });
    // Act
    scheduler.start();
    await vi.waitFor(() => expect(results).toHaveLength(1));
    await scheduler.stop();
    // Assess
    expect(scheduler.stats.publishFailures).toBe(1);
    expect(logger.error).toHaveBeenCalledWith(
      'publishing a probe result failed',
      expect.objectContaining({ probe: 'health' }),
    );
  });
});
