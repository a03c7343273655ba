import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { requireTools } from '../helpers/requires';

/**
 * Local mode's HTTP edge with real clients (curl, Python's urllib, raw sockets): authorization
 * and the declared size are checked before a body is read, refusals arrive as JSON (never a
 * reset), and bodies in memory are bounded.
 */

const run = promisify(execFile);
// The system Python when there is one: a pyenv shim costs two seconds per start.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const ok = requireTools('http edge', [
  { command: 'curl', install: 'apt-get install -y curl' },
  { command: PYTHON, install: 'apt-get install -y python3' },
]);

const TOKEN = 'edge-token';
const LIMIT = 256 * 1024;
const JUNIT = '<testsuite name="s" tests="1"><testcase classname="c" name="t"/></testsuite>';
let pipeline: LocalPipeline;
let dir: string;
let big: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-edge-'));
  big = join(dir, 'big.xml');
  await writeFile(big, Buffer.alloc(LIMIT * 4, 'x'));
  pipeline = await startLocal({
    config: parseConfig({
      project: 'edge',
      ingest: { maxBodyBytes: LIMIT, maxConcurrentBodies: 2, maxBufferedBytes: LIMIT },
    }),
    dataDir: dir,
    port: 0,
    tokens: [TOKEN],
    probes: false,
  });
});

afterAll(async () => {
  await pipeline?.close();
});

const results = () => `${pipeline.url}/v1/results?project=edge`;

/** curl as CI runs it; `-w` appends the status so the body and the code come back together. */
const curl = async (...args: string[]) => {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args, results()]);
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), json: JSON.parse(stdout.slice(0, at)) };
};

/** A raw HTTP/1.1 exchange: what the server answers to the request head (and `body`, if any). */
const raw = (head: string, body = ''): Promise<{ socket: Socket; first: Promise<string> }> =>
  new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(pipeline.url).port), '127.0.0.1', () => {
      socket.write(`${head}\r\n\r\n${body}`);
      const first = new Promise<string>((done) => {
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('\r\n\r\n')) done(text);
        });
      });
      resolve({ socket, first });
    });
    socket.on('error', reject);
  });

describe.skipIf(!ok)('local HTTP edge', () => {
  it('answers 401 as JSON to an unauthenticated upload, before reading it (curl)', async () => {
    const { status, json } = await curl('--data-binary', `@${big}`);
    expect(status).toBe(401);
    expect(json.error).toMatchObject({ code: 'unauthorized' });
    expect(json.error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 413 as JSON, not a reset, to curl with and without Expect: 100-continue', async () => {
    const auth = ['-H', `Authorization: Bearer ${TOKEN}`, '-H', 'x-correlation-id: corr-edge-1'];
    for (const expect100 of ['Expect: 100-continue', 'Expect:']) {
      const { status, json } = await curl(...auth, '-H', expect100, '--data-binary', `@${big}`);
      expect(status).toBe(413);
      expect(json.error).toMatchObject({ code: 'payload_too_large', correlationId: 'corr-edge-1' });
    }
  });

  it('stops a chunked body at the limit with a 413 (curl)', async () => {
    const { status, json } = await curl(
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      `@${big}`,
    );
    expect(status).toBe(413);
    expect(json.error.code).toBe('payload_too_large');
    expect(pipeline.edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
  });

  it("gives Python's urllib (whole body first, answer after) the JSON 413", async () => {
    const script = [
      'import sys, urllib.request, urllib.error',
      'data = open(sys.argv[2], "rb").read()',
      `req = urllib.request.Request(sys.argv[1], data=data, headers={"Authorization": "Bearer ${TOKEN}"})`,
      'try:',
      '    urllib.request.urlopen(req, timeout=10)',
      'except urllib.error.HTTPError as e:',
      '    print(e.code); print(e.read().decode())',
    ].join('\n');
    const { stdout } = await run(PYTHON, ['-c', script, results(), big]);
    const [code, body] = stdout.split('\n');
    expect(code).toBe('413');
    expect(JSON.parse(body ?? '{}').error.code).toBe('payload_too_large');
  });

  it('refuses an Expect: 100-continue request instead of sending 100 Continue', async () => {
    for (const [auth, status] of [
      ['', '401'],
      [`Authorization: Bearer ${TOKEN}\r\n`, '413'],
    ] as const) {
      const { socket, first } = await raw(
        `POST /v1/results?project=edge HTTP/1.1\r\nHost: x\r\n${auth}Expect: 100-continue\r\nContent-Length: ${LIMIT * 4}`,
      );
      expect((await first).split('\r\n')[0]).toBe(
        `HTTP/1.1 ${status} ${status === '401' ? 'Unauthorized' : 'Payload Too Large'}`,
      );
      socket.destroy();
    }
  });

  it('sends 100 Continue to an admitted request and ingests its body', async () => {
    const { socket, first } = await raw(
      `POST /v1/results?project=edge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nExpect: 100-continue\r\nContent-Length: ${JUNIT.length}`,
    );
    expect((await first).startsWith('HTTP/1.1 100 Continue')).toBe(true);
    const answer = new Promise<string>((done) => {
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('"correlationId"')) done(text);
      });
    });
    socket.write(JUNIT);
    expect(await answer).toMatch(/^HTTP\/1.1 202 Accepted/);
    socket.destroy();
  });

  it('bounds bodies in memory by count and bytes: 503 with Retry-After, no buffering', async () => {
    const head = (bytes: number) =>
      `POST /v1/results?project=edge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${bytes}`;
    // Two slow bodies hold both slots (and most of the bytes).
    const a = await raw(head(LIMIT - 1000), 'x');
    const b = await raw(head(500), 'x');
    await expect.poll(() => pipeline.edge.inFlight().bodies).toBe(2);
    const third = await curl('-H', `Authorization: Bearer ${TOKEN}`, '--data-binary', JUNIT);
    expect(third.status).toBe(503);
    expect(third.json.error.code).toBe('unavailable');
    a.socket.destroy();
    await expect.poll(() => pipeline.edge.inFlight()).toEqual({ bodies: 1, bytes: 500 });
    // One slot free, but the bytes declared would pass the bound.
    const c = await raw(head(LIMIT), 'x');
    expect((await c.first).split('\r\n')).toEqual(
      expect.arrayContaining(['HTTP/1.1 503 Service Unavailable', 'retry-after: 1']),
    );
    b.socket.destroy();
    c.socket.destroy();
    await expect.poll(() => pipeline.edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
    const again = await curl(
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      '--data-binary',
      JUNIT.replace('name="t"', 'name="u"'),
    );
    expect(again.status).toBe(202);
  });
});
