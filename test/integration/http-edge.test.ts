import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AdmittedBody,
  createHttpEdge,
  type EdgeOptions,
} from '../../functions/adapters/local/http-edge';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { logger } from '../../functions/shared/powertools';
import { requireTools, TOOLS } from '../helpers/requires';

/**
 * Local mode's HTTP edge with real clients (curl, Python's urllib, raw sockets): authorization
 * and the declared size are checked before a body is read, refusals arrive as JSON (never a
 * reset), and bodies in memory are bounded.
 */

const run = promisify(execFile);
// The system Python when there is one: a pyenv shim costs two seconds per start.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const ok = requireTools('http edge', [
  TOOLS.curl,
  { command: PYTHON, install: 'apt-get install -y python3' },
]);

const TOKEN = 'edge-token';
const LIMIT = 256 * 1024;
const JUNIT = '<testsuite name="s" tests="1"><testcase classname="c" name="t"/></testsuite>';
let pipeline: LocalPipeline;
let dir: string;
let big: string;
/** Larger than a socket's buffers: a client that sends it unasked is reset if not drained. */
let huge: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-edge-'));
  big = join(dir, 'big.xml');
  await writeFile(big, Buffer.alloc(LIMIT * 4, 'x'));
  huge = join(dir, 'huge.xml');
  await writeFile(huge, Buffer.alloc(8 * 1024 * 1024, 'x'));
  pipeline = await startLocal({
    config: parseConfig({
      project: 'edge',
      ingest: { maxBodyBytes: LIMIT, maxConcurrentBodies: 2, maxBufferedBytes: LIMIT },
      heartbeats: [{ name: 'beat', periodSeconds: 3600, tokenSecret: 'BEAT_HB' }],
    }),
    dataDir: dir,
    port: 0,
    tokens: [TOKEN],
    env: { VIGIL_SECRET_BEAT_HB: 'beat-token' },
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
const raw = (
  head: string,
  body = '',
  port = Number(new URL(pipeline.url).port),
): Promise<{ socket: Socket; first: Promise<string> }> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
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
  it('answers 401 as JSON to an unauthenticated upload, before reading it (curl), and logs who sent it', async () => {
    const logged = vi.spyOn(logger, 'info');
    const { status, json } = await curl('--data-binary', `@${big}`);
    expect(status).toBe(401);
    expect(json.error).toMatchObject({ code: 'unauthorized' });
    expect(json.error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    // The route without its query (heartbeat tokens go there), and the client's address.
    expect(logged).toHaveBeenCalledWith('ingest rejected', {
      route: 'POST /v1/results',
      status: 401,
      error: json.error.message,
      sourceIp: expect.stringMatching(/127\.0\.0\.1$/),
    });
    logged.mockRestore();
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

/** Resolves with `value` after `ms`: the other side of a race with what should come sooner. */
const settleAfter = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));

/** Everything the server sends on `socket` until it closes, and whether that was clean. */
const whole = (socket: Socket): Promise<{ text: string; error?: string }> =>
  new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve({ text, error: e.code ?? e.message }));
    socket.on('close', () => resolve({ text }));
  });

/** The JSON body of a raw HTTP answer. */
const jsonOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

describe.skipIf(!ok)('local HTTP edge: what the audit found', () => {
  const hb = (path: string, headers = '', bytes = 1000) =>
    `POST /v1/heartbeats/${path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${bytes}`;

  it('refuses slow pings of a heartbeat not configured before reading them: reports still get in', async () => {
    // Three unauthenticated slow pings (more than the two report slots) of `nope/none`.
    const pings = await Promise.all([1, 2, 3].map(() => raw(hb('nope/none'), 'x')));
    const firsts = await Promise.all(
      pings.map((p) => Promise.race([p.first, settleAfter(1500, '')])),
    );
    for (const first of firsts) {
      expect(first.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
      expect(jsonOf(first).error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(pipeline.edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
    // With the bearer token, a heartbeat not configured is 404 at once.
    const known = await raw(hb('nope/none', `Authorization: Bearer ${TOKEN}\r\n`), 'x');
    expect((await Promise.race([known.first, settleAfter(1500, '')])).split('\r\n')[0]).toBe(
      'HTTP/1.1 404 Not Found',
    );
    const report = await curl(
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      '--data-binary',
      JUNIT.replace('name="t"', 'name="q"'),
    );
    expect(report.status).toBe(202);
    for (const p of [...pings, known]) p.socket.destroy();
    // The report's body is released once its answer is out.
    await expect.poll(() => pipeline.edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
  });

  it('refuses a ping with a wrong heartbeat token before reading it: wrong tokens cannot fill the ping pool', async () => {
    const pings = await Promise.all([1, 2, 3].map(() => raw(hb('edge/beat?token=wrong'), 'x')));
    for (const p of pings) {
      const first = await Promise.race([p.first, settleAfter(1500, '')]);
      expect(first.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    }
    expect(pipeline.edge.inFlight('heartbeat ping').bodies).toBe(0);
    for (const p of pings) p.socket.destroy();
  });

  it('answers every refused read with cache-control: no-store', async () => {
    for (const path of ['/v1/metrics?name=ProbeRuns', '/v1/alerts', '/metrics', '/v1/projects']) {
      const res = await fetch(`${pipeline.url}${path}`);
      expect([path, res.status]).toEqual([path, 401]);
      expect([path, res.headers.get('cache-control')]).toEqual([path, 'no-store']);
    }
  });

  it('refuses a body on a GET before reading it: a read route cannot hold a report slot', async () => {
    // Three GETs with bodies (more than the two report slots), each with a valid token.
    const gets = await Promise.all(
      [1, 2, 3].map(() =>
        raw(
          `GET /v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000`,
          'x',
        ),
      ),
    );
    for (const g of gets) {
      const first = await Promise.race([g.first, settleAfter(1500, '')]);
      expect(first.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(jsonOf(first).error.message).toContain('takes no body');
    }
    expect(pipeline.edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
    for (const g of gets) g.socket.destroy();
  });

  it('reads pings of a configured heartbeat in a small pool of their own, apart from reports', async () => {
    // Eight slow pings with the heartbeat's token fill the ping pool...
    const pings = [];
    for (let i = 0; i < 8; i++) pings.push(await raw(hb('edge/beat?token=beat-token'), 'x'));
    await expect.poll(() => pipeline.edge.inFlight('heartbeat ping').bodies).toBe(8);
    expect(pipeline.edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
    // ...a ninth is told to retry, reports are not affected.
    const ninth = await raw(hb('edge/beat?token=beat-token'), 'x');
    expect((await ninth.first).split('\r\n')).toEqual(
      expect.arrayContaining(['HTTP/1.1 503 Service Unavailable', 'retry-after: 1']),
    );
    const report = await curl(
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      '--data-binary',
      JUNIT.replace('name="t"', 'name="p"'),
    );
    expect(report.status).toBe(202);
    // A ping body above its small limit is refused unread.
    const large = await raw(hb('edge/beat?token=beat-token', '', 20_000), 'x');
    expect((await large.first).split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    for (const p of [...pings, ninth, large]) p.socket.destroy();
    await expect.poll(() => pipeline.edge.inFlight('heartbeat ping').bodies).toBe(0);
  });

  it("gives Python's urllib the JSON 401 and 413 with Expect: 100-continue, not a reset", async () => {
    const script = [
      'import sys, urllib.request, urllib.error',
      'data = open(sys.argv[2], "rb").read()',
      'for auth in ({}, {"Authorization": "Bearer " + sys.argv[3]}):',
      '    req = urllib.request.Request(sys.argv[1], data=data, headers={"Expect": "100-continue", **auth})',
      '    try:',
      '        urllib.request.urlopen(req, timeout=10)',
      '    except urllib.error.HTTPError as e:',
      '        print(e.code, e.read().decode())',
      '    except OSError as e:',
      '        print("error", e)',
    ].join('\n');
    const { stdout } = await run(PYTHON, ['-c', script, results(), huge, TOKEN]);
    const lines = stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['401', '413']);
    for (const line of lines)
      expect(JSON.parse(line.slice(4)).error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers what Node's HTTP parser refuses with the JSON error and a correlation id", async () => {
    const cases = [
      [`GET /v1/health?x=${'b'.repeat(20_000)} HTTP/1.1\r\nHost: x`, 431, 'headers_too_large'],
      [
        'POST /v1/results HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked',
        400,
        'bad_request',
      ],
      ['POST /v1/results HTTP/1.1\r\nHost: x\r\nContent-Length: abc', 400, 'bad_request'],
      [
        'POST /v1/results HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6',
        400,
        'bad_request',
      ],
      ['POST /v1/results HTTP/1.1\r\nHost: x\r\nContent-Length: -1', 400, 'bad_request'],
    ] as const;
    for (const [head, status, code] of cases) {
      const { socket } = await raw(head);
      const { text } = await whole(socket);
      expect(text.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(text).toMatch(/\r\nx-correlation-id: [0-9a-f-]{36}\r\n/);
      const body = jsonOf(text);
      expect(body.error).toMatchObject({ code });
      expect(body.error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('createHttpEdge', () => {
  let server: Server;
  let port = 0;
  let edge: ReturnType<typeof createHttpEdge>;
  /** Bodies the test's handler holds (its response not sent yet). */
  const held: { read: AdmittedBody; end: () => void }[] = [];

  const start = async (options: Partial<EdgeOptions>) => {
    edge = createHttpEdge({
      maxBodyBytes: 1000,
      maxConcurrentBodies: 1,
      maxBufferedBytes: 1000,
      authorize: () => true,
      ...options,
    });
    server = createServer((req, res) => {
      void edge.readBody(req, res, new URL(req.url ?? '/', 'http://x'), false).then((read) => {
        if (!read) return;
        held.push({
          read,
          end: () => {
            res.end('done');
            // (optional: what an edge that returned the bare body handed over had none)
            read.release?.();
          },
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const post = (bytes: number, fill = 'x') =>
    new Promise<number>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(Buffer.alloc(bytes, fill));
    });

  it('lends a large body: its memory goes to a later one only once released', async () => {
    await start({ maxBodyBytes: 1_000_000, maxConcurrentBodies: 2, maxBufferedBytes: 2_000_000 });
    try {
      // Prepare: two bodies held at once, then the first released.
      const answers = [post(300_000, 'a'), post(300_000, 'b')];
      await expect.poll(() => held.length).toBe(2);
      const [first, second] = held.map((h) => h.read.body) as [Buffer, Buffer];
      expect(second.buffer).not.toBe(first.buffer);
      const memory = first.buffer;
      held.shift()?.end();
      // Act
      answers.push(post(280_000, 'c'));
      await expect.poll(() => held.length).toBe(2);
      const third = held[1]?.read.body as Buffer;
      // Assess: the third reuses the first's memory; the body still lent is untouched.
      expect(third.buffer).toBe(memory);
      expect(third).not.toBe(first);
      expect(third.equals(Buffer.alloc(280_000, 'c'))).toBe(true);
      expect(second.equals(Buffer.alloc(300_000, 'b'))).toBe(true);
      for (const h of held.splice(0)) h.end();
      expect(await Promise.all(answers)).toEqual([200, 200, 200]);
    } finally {
      for (const h of held.splice(0)) h.end();
      await stop();
    }
  });

  it('counts a body against the bounds until its response is done, not only while read', async () => {
    await start({});
    try {
      const first = post(10);
      await expect.poll(() => held.length).toBe(1);
      // Read whole, but still in the handler's hands: it counts.
      expect(edge.inFlight()).toEqual({ bodies: 1, bytes: 10 });
      expect(await post(10)).toBe(503);
      held.shift()?.end();
      expect(await first).toBe(200);
      expect(edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
    } finally {
      for (const h of held.splice(0)) h.end();
      await stop();
    }
  });

  it('answers a body that stops arriving with a JSON 408 and releases it', async () => {
    await start({ idleMs: 200 });
    try {
      const { socket, first } = await raw(
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10',
        'x',
        port,
      );
      const answer = await Promise.race([first, settleAfter(1500, '')]);
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
      expect(edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
      socket.destroy();
    } finally {
      await stop();
    }
  });

  it('keeps draining a refused body while it keeps coming, past the pause it allows', async () => {
    await start({ authorize: () => false, lingerMs: 1_000 });
    try {
      const { socket } = await raw('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8000', '', port);
      let closed = false;
      const answer = whole(socket).finally(() => {
        closed = true;
      });
      // 8 chunks, 200 ms apart: 1.6 s in all, never a pause of 1 s (room for a busy machine).
      let sent = 0;
      for (; sent < 8 && !closed; sent++) {
        await settleAfter(200, undefined);
        socket.write(Buffer.alloc(1000, 'x'));
      }
      const { text, error } = await answer;
      expect(sent).toBe(8);
      expect(error).toBeUndefined();
      expect(text.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
      expect(jsonOf(text).error.code).toBe('unauthorized');
    } finally {
      await stop();
    }
  });
});
