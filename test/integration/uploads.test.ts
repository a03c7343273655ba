import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runReport } from '../../cli/report';
import { S3Uploads } from '../../functions/adapters/aws/s3-uploads';
import { LocalUploads } from '../../functions/adapters/local/uploads';
import { parseConfig } from '../../functions/core/config';
import { newUploadId, parseUploadRequest } from '../../functions/core/ingest/uploads';
import { createIngestHandler } from '../../functions/ingest/handler';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { logger } from '../../functions/shared/powertools';
import { saveEnv } from '../helpers/env';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
} from '../helpers/fakes';
import { generateJunit } from '../helpers/generate-junit';
import { type MotoServer, motoS3, startMoto } from '../helpers/moto';
import { requireTools, TOOLS } from '../helpers/requires';

/**
 * Staged uploads: `POST /v1/uploads` → PUT → `POST /v1/results?upload=<id>`, with the limits,
 * errors and idempotency of a direct post; the CLI switches to it by itself; S3's presigned PUT
 * on moto_server.
 */

const TOKEN = 'upload-token';
const LIMIT = 64 * 1024;
let pipeline: LocalPipeline;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-uploads-'));
  pipeline = await startLocal({
    config: parseConfig({ project: 'up', ingest: { maxBodyBytes: LIMIT } }),
    dataDir: dir,
    port: 0,
    tokens: [TOKEN],
    probes: false,
  });
});

afterAll(async () => {
  await pipeline?.close();
});

/** What `POST /v1/uploads` answers: a ticket, or an error. */
interface Answer {
  uploadId: string;
  url: string;
  headers: Record<string, string>;
  error: { code: string; message: string };
}

const auth = { authorization: `Bearer ${TOKEN}` };

const stage = async (bytes: number, contentType = 'application/gzip') => {
  const res = await fetch(`${pipeline.url}/v1/uploads`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ bytes, contentType }),
  });
  return { status: res.status, json: (await res.json()) as Answer };
};

describe('staged uploads in local mode', () => {
  it('ingests a staged report like a direct post, duplicates included', async () => {
    // Prepare
    const report = gzipSync(generateJunit({ cases: 20, failRate: 0, flakyRate: 0, seed: 7 }));
    const logged = vi.spyOn(logger, 'info');
    const { status, json: ticket } = await stage(report.byteLength);
    expect(status).toBe(201);
    expect(ticket).toMatchObject({ method: 'PUT', bytes: report.byteLength });
    // The log names the upload by a prefix: the whole id lets its URL take a report.
    expect(JSON.stringify(logged.mock.calls)).toContain(ticket.uploadId.slice(0, 8));
    expect(JSON.stringify(logged.mock.calls)).not.toContain(ticket.uploadId);
    logged.mockRestore();

    // Act
    const put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: report });
    const ingest = (query: string) =>
      fetch(`${pipeline.url}/v1/results?project=up&${query}`, { method: 'POST', headers: auth });
    const first = await ingest(`upload=${ticket.uploadId}`);
    const again = await ingest(`upload=${ticket.uploadId}`);

    // Assess
    expect(put.status).toBe(200);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ project: 'up', kind: 'tests', duplicate: false });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true });
    // A body and an upload id: which report was meant is unclear, so neither is taken.
    const both = await fetch(`${pipeline.url}/v1/results?project=up&upload=${ticket.uploadId}`, {
      method: 'POST',
      headers: auth,
      body: generateJunit({ cases: 3, seed: 1 }),
    });
    expect(both.status).toBe(400);
    expect(((await both.json()) as Answer).error).toMatchObject({
      code: 'bad_request',
      location: { path: 'query.upload' },
    });
    const missing = await ingest(`upload=${newUploadId()}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Answer).error.message).toMatch(/PUT it to the URL/);
    expect((await ingest('upload=../../etc')).status).toBe(400);
  });

  it('refuses a staged upload above the limit, and a PUT of another size or type, unread', async () => {
    const big = await stage(LIMIT + 1);
    expect(big.status).toBe(413);
    expect(big.json.error).toMatchObject({
      code: 'payload_too_large',
      location: { path: 'body.bytes' },
    });
    expect((await stage(10, 'text/html')).status).toBe(400);
    const { json: ticket } = await stage(100);
    for (const [headers, body, wrong] of [
      [{ 'content-type': 'application/gzip' }, Buffer.alloc(101), /takes exactly 100 bytes/],
      [{ 'content-type': 'application/xml' }, Buffer.alloc(100), /takes Content-Type/],
    ] as const) {
      const res = await fetch(ticket.url, { method: 'PUT', headers, body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as Answer).error.message).toMatch(wrong);
    }
    // Used once, the URL is spent: a second PUT is refused as such, not for a missing token.
    const { json: once } = await stage(3);
    const first = await fetch(once.url, {
      method: 'PUT',
      headers: once.headers,
      body: Buffer.from('abc'),
    });
    expect(first.status).toBe(200);
    const second = await fetch(once.url, {
      method: 'PUT',
      headers: once.headers,
      body: Buffer.from('abc'),
    });
    expect(second.status).toBe(412);
    expect(((await second.json()) as Answer).error.message).toMatch(
      /already used: it takes one PUT/,
    );
    const noAuth = await fetch(`${pipeline.url}/v1/uploads`, {
      method: 'POST',
      body: '{"bytes":5}',
    });
    expect(noAuth.status).toBe(401);
  });

  it('refuses a second PUT racing the first as a used URL (412), at once', async () => {
    // Prepare: a first PUT admitted (its "100 Continue" says the URL is claimed: a fixed pause
    // was not always enough on a loaded machine) that has sent half its body.
    const { json: ticket } = await stage(100);
    const url = new URL(ticket.url);
    const first = connect(Number(url.port), '127.0.0.1');
    await new Promise((resolve) => first.once('connect', resolve));
    let answer = '';
    const firstDone = new Promise<void>((resolve) => {
      first.on('data', (d: Buffer) => {
        answer += d.toString();
      });
      first.on('close', () => resolve());
    });
    first.write(
      `PUT ${url.pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/gzip\r\nContent-Length: 100\r\nConnection: close\r\nExpect: 100-continue\r\nx-correlation-id: corr-put-1\r\n\r\n`,
    );
    while (!answer.includes('100 Continue')) await new Promise((r) => setTimeout(r, 5));
    answer = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    first.write('a'.repeat(50));

    // Act
    const logged = vi.spyOn(logger, 'info');
    const second = await fetch(ticket.url, {
      method: 'PUT',
      headers: ticket.headers,
      body: Buffer.alloc(100),
    });
    first.write('a'.repeat(50));
    await firstDone;

    // Assess
    expect(second.status).toBe(412);
    // Logged by its route alone, without the upload's id that its path holds.
    expect(logged).toHaveBeenCalledWith(
      'ingest rejected',
      expect.objectContaining({ route: 'PUT /v1/uploads', status: 412 }),
    );
    logged.mockRestore();
    expect(((await second.json()) as Answer).error.message).toMatch(
      /already used: it takes one PUT/,
    );
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(answer.toLowerCase()).toContain('\r\nx-correlation-id: corr-put-1\r\n');
    expect(answer.toLowerCase()).toContain('\r\ncache-control: no-store\r\n');
    // (the body may come chunked: its JSON is from the first brace to the last)
    expect(JSON.parse(answer.slice(answer.indexOf('{'), answer.lastIndexOf('}') + 1))).toEqual({
      uploadId: ticket.uploadId,
      bytes: 100,
      correlationId: 'corr-put-1',
    });
  });

  it('answers a PUT that could not be stored with a correlation id, and lets it be retried', async () => {
    // Prepare: the staged file cannot be written (a directory is in its way).
    const { json: ticket } = await stage(3);
    const blocker = join(dir, 'uploads', `${ticket.uploadId}.tmp`);
    await mkdir(blocker, { recursive: true });
    const put = () =>
      fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: Buffer.from('abc') });

    // Act
    const failed = await put();
    await rm(blocker, { recursive: true });
    const retried = await put();

    // Assess
    expect(failed.status).toBe(500);
    expect(failed.headers.get('cache-control')).toBe('no-store');
    const id = failed.headers.get('x-correlation-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      ((await failed.json()) as { error: { correlationId: string } }).error.correlationId,
    ).toBe(id);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("counts a PUT's body against the memory bound until it is stored and answered", async () => {
    // Prepare: what the edge holds when the body reaches the store.
    const { json: ticket } = await stage(3);
    const seen: unknown[] = [];
    const original = LocalUploads.prototype.put;
    const spy = vi.spyOn(LocalUploads.prototype, 'put').mockImplementation(function (
      this: LocalUploads,
      id: string,
      body: Buffer,
    ) {
      seen.push(pipeline.edge.inFlight());
      return original.call(this, id, body);
    });

    // Act
    try {
      const res = await fetch(ticket.url, {
        method: 'PUT',
        headers: ticket.headers,
        body: Buffer.from('abc'),
      });
      expect(res.status).toBe(200);
    } finally {
      spy.mockRestore();
    }

    // Assess: still counted while handled, released once answered.
    expect(seen).toEqual([{ bodies: 1, bytes: 3 }]);
    await expect.poll(() => pipeline.edge.inFlight()).toEqual({ bodies: 0, bytes: 0 });
  });

  it('builds the upload URL from the host the client addressed', async () => {
    const ask = (host: string) =>
      new Promise<Answer>((resolve, reject) => {
        const { port } = new URL(pipeline.url);
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/v1/uploads',
            headers: { ...auth, host, 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => {
              text += d.toString();
            });
            res.on('end', () => resolve(JSON.parse(text) as Answer));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ bytes: 10, contentType: 'application/gzip' }));
      });
    const named = await ask('vigil.example.com:3918');
    expect(named.url).toBe(`http://vigil.example.com:3918/v1/uploads/${named.uploadId}`);
    expect((await ask('[::1]:3918')).url).toMatch(/^http:\/\/\[::1\]:3918\/v1\/uploads\//);
    // A Host that is not a plain host[:port]: the address the server listens on.
    for (const host of ['evil.example/x?', 'a@b', 'x:99999']) {
      const fallback = await ask(host);
      expect(fallback.url).toBe(`${pipeline.url}/v1/uploads/${fallback.uploadId}`);
    }
  });

  it('the CLI stages a report above its threshold by itself', async () => {
    // Prepare
    const file = join(dir, 'big.xml');
    await writeFile(file, generateJunit({ cases: 200, failRate: 0, flakyRate: 0, seed: 9 }));
    const before = await readdir(join(dir, 'uploads')).catch(() => []);
    let stdout = '';

    // Act
    const code = await runReport([file, '--endpoint', pipeline.url, '--project', 'up'], {
      env: { VIGIL_TOKEN: TOKEN },
      stdout: (s) => {
        stdout += s;
      },
      stderr: () => undefined,
      uploadThresholdBytes: 1024,
    });

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/pass/i);
    expect((await readdir(join(dir, 'uploads'))).length).toBe(before.length + 1);
  });
});

const motoOk = requireTools('S3 uploads on moto', [TOOLS.moto]);

describe('LocalUploads retention', () => {
  it('drops staged files older than the cutoff and keeps newer ones', async () => {
    const data = await mkdtemp(join(tmpdir(), 'vigil-uploads-prune-'));
    const store = new LocalUploads(data, () => 'http://127.0.0.1');
    expect(await store.prune(Date.now())).toBe(0); // no uploads/ yet
    const old = newUploadId();
    const fresh = newUploadId();
    for (const id of [old, fresh]) {
      await store.create({
        uploadId: id,
        bytes: 2,
        contentType: 'application/xml',
        expiresInSeconds: 60,
      });
      await store.put(id, Buffer.from('<a'));
    }
    const dayAgo = new Date(Date.now() - 86_400_000 - 1000);
    await utimes(join(data, 'uploads', old), dayAgo, dayAgo);
    expect(await store.prune(Date.now() - 86_400_000)).toBe(1);
    expect(await readdir(join(data, 'uploads'))).toEqual([fresh]);
    await expect(store.read(old, 10)).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe.skipIf(!motoOk)('S3Uploads on moto_server', () => {
  let moto: MotoServer;
  let s3: S3Client;
  beforeAll(async () => {
    moto = await startMoto();
    s3 = motoS3(moto);
    await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }));
  });
  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  it('presigns a PUT bound to size and type, and reads the report back within the limit', async () => {
    // Prepare
    const uploads = new S3Uploads({ bucket: 'uploads', client: s3 });
    const report = gzipSync(generateJunit({ cases: 5, seed: 3 }));
    const request = parseUploadRequest(
      Buffer.from(JSON.stringify({ bytes: report.byteLength, contentType: 'application/gzip' })),
      LIMIT,
    );

    // Act
    const ticket = await uploads.create(request);
    const put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: report });

    // Assess
    const signed = new URL(ticket.url).searchParams.get('X-Amz-SignedHeaders') ?? '';
    expect(signed.split(';')).toEqual(expect.arrayContaining(['content-length', 'content-type']));
    expect(put.status).toBe(200);
    expect(Buffer.from(await uploads.read(request.uploadId, LIMIT))).toEqual(report);
    await expect(uploads.read(request.uploadId, 10)).rejects.toMatchObject({ status: 413 });
    await expect(uploads.read(newUploadId(), LIMIT)).rejects.toMatchObject({ status: 404 });
  });

  it('takes one PUT per URL, so ingesting the upload again is a duplicate of the first run', async () => {
    // Prepare: the ingest handler with staged uploads on moto (the rest in memory)
    const uploads = new S3Uploads({ bucket: 'uploads', client: s3 });
    const handler = createIngestHandler({
      config: parseConfig({ project: 'up', ingest: { maxBodyBytes: LIMIT } }),
      publisher: new MemoryPublisher(),
      archive: new MemoryArchive(),
      ledger: new MemoryLedger(),
      clock: fixedClock(),
      tokens: { tokens: async () => [TOKEN] },
      version: 'test',
      uploads,
    });
    const call = async (path: string, query: Record<string, string>, body?: string) => {
      const res = await handler(
        apiEvent({ path, query, headers: auth, ...(body ? { body } : {}) }),
      );
      return { status: res.statusCode, json: JSON.parse(res.body ?? '{}') };
    };
    const report = generateJunit({ cases: 5, failRate: 0, flakyRate: 0, seed: 5 });
    // Same length (the signed Content-Length), another test name: another run if ingested.
    const replacement = report.replace(/<testcase name="(.)/, (_, c) =>
      c === 'Z' ? '<testcase name="Y' : '<testcase name="Z',
    );

    // Act
    const staged = await call(
      '/v1/uploads',
      {},
      JSON.stringify({ bytes: Buffer.byteLength(report), contentType: 'application/xml' }),
    );
    const { uploadId, url, headers } = staged.json as Answer;
    const put = await fetch(url, { method: 'PUT', headers, body: report });
    const first = await call('/v1/results', { project: 'up', upload: uploadId });
    const again = await fetch(url, { method: 'PUT', headers, body: replacement });
    const second = await call('/v1/results', { project: 'up', upload: uploadId });

    // Assess
    expect([staged.status, put.status, first.status]).toEqual([201, 200, 202]);
    expect(again.status).toBe(412);
    expect(Buffer.from(await uploads.read(uploadId, LIMIT)).toString()).toBe(report);
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ duplicate: true, runId: first.json.runId });
    // The condition is signed (S3 refuses the URL without the header) and in the ticket.
    const signed = new URL(url).searchParams.get('X-Amz-SignedHeaders') ?? '';
    expect(signed.split(';')).toContain('if-none-match');
    expect(headers['if-none-match']).toBe('*');
  });

  it("signs no checksum into the URL with the ingest function's S3 client (none of the empty body)", async () => {
    // Prepare: the process's client, as the ingest entry builds it, pointed at moto
    const restore = saveEnv();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    vi.resetModules();
    try {
      const { s3: processClient } = await import('../../functions/adapters/aws/s3-client');
      const uploads = new S3Uploads({ bucket: 'uploads', client: processClient() });
      const report = gzipSync(generateJunit({ cases: 5, seed: 4 }));
      const request = parseUploadRequest(
        Buffer.from(JSON.stringify({ bytes: report.byteLength, contentType: 'application/gzip' })),
        LIMIT,
      );

      // Act
      const ticket = await uploads.create(request);
      const put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: report });

      // Assess
      const params = [...new URL(ticket.url).searchParams.keys()].map((k) => k.toLowerCase());
      expect(params.filter((k) => k.includes('checksum'))).toEqual([]);
      expect(put.status).toBe(200);
      expect(Buffer.from(await uploads.read(request.uploadId, LIMIT))).toEqual(report);
    } finally {
      restore();
      vi.resetModules();
    }
  });
});
