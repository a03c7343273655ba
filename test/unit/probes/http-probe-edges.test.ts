import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvSecretResolver } from '../../../functions/adapters/local/env-secrets';
import { probeSchema } from '../../../functions/core/config';
import { classifyError, createHttpProber, probeHttp } from '../../../functions/shared/http-probe';
import { probeTcp } from '../../../functions/shared/socket-probes';
import { selfSignedCerts } from '../../helpers/tls';

const TOKEN = 'tok_edge-case-secret-42';
let seen: IncomingHttpHeaders | undefined;
const plain = createServer((req, res) => {
  seen = req.headers;
  res.end('ok');
});
let tlsServer: Server;
let ca: string;
let plainPort = 0;
let tlsPort = 0;

beforeAll(async () => {
  const { valid } = await selfSignedCerts();
  ca = valid.cert;
  tlsServer = createHttpsServer(valid, (_req, res) => res.end('secure'));
  for (const s of [plain, tlsServer])
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  plainPort = (plain.address() as AddressInfo).port;
  tlsPort = (tlsServer.address() as AddressInfo).port;
});
afterAll(() => {
  plain.close();
  tlsServer.close();
});

const req = (url: string) => ({ name: 'edge', url, method: 'GET', timeoutMs: 2000 });

describe('probeHttp edges', () => {
  it("keeps the probe's own Host and User-Agent headers instead of the defaults", async () => {
    const obs = await probeHttp(req(`http://127.0.0.1:${plainPort}/`), {
      Host: 'api.example.test',
      'User-Agent': 'my-agent/2',
    });
    expect(obs).toMatchObject({ statusCode: 200, body: 'ok' });
    expect(seen?.host).toBe('api.example.test');
    expect(seen?.['user-agent']).toBe('my-agent/2');
  });

  it.each([
    ['http://127.0.0.1/', 80],
    ['https://127.0.0.1/', 443],
  ])('uses the scheme default port when %s names none', async (url, port) => {
    const obs = await probeHttp(req(url), {});
    expect(obs).toMatchObject({
      error: 'connection',
      message: `connection refused by 127.0.0.1:${port}`,
    });
  });

  it('checks the certificate against a host name (SNI), not only an IP', async () => {
    const obs = await probeHttp(req(`https://localhost:${tlsPort}/`), {}, { ca });
    expect(obs).toMatchObject({
      error: 'tls',
      message:
        'TLS certificate not trusted: the certificate does not match the host name (ERR_TLS_CERT_ALTNAME_INVALID)',
    });
    expect('tls' in obs && obs.tls?.validTo).toBeInstanceOf(Date);
  });
});

describe('classifyError', () => {
  it('reports a thrown non-Error value as its text', () => {
    expect(classifyError('socket exploded', 'h', 1)).toEqual({
      kind: 'connection',
      message: 'socket exploded',
    });
  });

  it('prefixes an unknown code the message does not already name', () => {
    const e = Object.assign(new Error('odd failure'), { code: 'EWEIRD' });
    expect(classifyError(e, 'h', 1).message).toBe('EWEIRD: odd failure');
  });
});

describe('createHttpProber secret scrubbing', () => {
  const probe = probeSchema.parse({
    name: 'private',
    url: 'http://127.0.0.1:1/',
    timeoutMs: 1000,
    headers: { authorization: 'Bearer {{secret:api-token}}' },
  });
  const secrets = new EnvSecretResolver({ VIGIL_SECRET_API_TOKEN: TOKEN });

  it('scrubs a secret out of a transport error message', async () => {
    const prober = createHttpProber({
      secrets,
      probeHttp: async (_p, headers) => ({
        error: 'connection',
        message: `proxy refused ${headers.authorization}`,
        latencyMs: 1,
      }),
    });
    const outcome = await prober(probe, new AbortController().signal);
    expect(outcome).toMatchObject({ error: 'connection', message: 'proxy refused Bearer ***' });
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('scrubs a secret out of a non-Error rejection', async () => {
    const prober = createHttpProber({
      secrets,
      probeHttp: (_p, headers) => Promise.reject(`bad header ${headers.authorization}`),
    });
    await expect(prober(probe, new AbortController().signal)).rejects.toThrow(
      'bad header Bearer ***',
    );
  });
});

describe('probeTcp edges', () => {
  it('checks a TLS certificate against the host name it was asked for', async () => {
    const outcome = await probeTcp(
      { host: 'localhost', port: tlsPort, tls: true, timeoutMs: 2000, tlsExpiryDays: 1 },
      () => new Date(),
      { ca, signal: new AbortController().signal },
    );
    expect(outcome.failure).toEqual({
      assertion: 'tls',
      message: 'TLS certificate not trusted: ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });
});
