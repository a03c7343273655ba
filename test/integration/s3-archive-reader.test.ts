import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveEndpoint,
  S3AnswerError,
  S3ArchiveReader,
} from '../../functions/adapters/aws/s3-archive-reader';
import { VigilError } from '../../functions/core/errors';
import { motoAvailable } from '../helpers/moto';

/**
 * The archive reader's signed GET (functions/adapters/aws/s3-archive-reader.ts) against a
 * loopback server answering what moto does not: errors, throttling, dropped connections, bodies
 * without Content-Length. Its reads of real objects are in archive-reader.test.ts (moto); its
 * signature is checked here by botocore, the AWS SDK for Python (moto's own dependency).
 */

const REPORT = 'hello';
const BUCKET = 'archive';
const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 'token' };
const pointer = (key = 'raw/r1', body = REPORT) => ({
  uri: `s3://${BUCKET}/${key}`,
  bytes: Buffer.byteLength(body),
  sha256: createHash('sha256').update(body).digest('hex'),
});

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/** The answers the stub gives, one per request (the last repeats); `drop` resets the socket. */
type Answer = ((res: ServerResponse) => void) | 'drop';
let answers: Answer[] = [];
const seen: Seen[] = [];
let server: Server;
let url = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (answer === 'drop' || answer === undefined) req.socket.destroy();
    else answer(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => server.close());

afterEach(() => {
  answers = [];
  seen.length = 0;
});

const client = new DynamoDBClient({ region: 'eu-west-3', credentials: CREDENTIALS });
const reader = (pathStyle = true) =>
  new S3ArchiveReader({ bucket: BUCKET, endpoint: { url, pathStyle }, client });

const ok =
  (body: string, headers: Record<string, string> = {}) =>
  (res: ServerResponse) => {
    res.writeHead(200, { 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
/** A body sent chunked, without Content-Length. */
const chunked = (body: string) => (res: ServerResponse) => {
  res.writeHead(200);
  res.write(body);
  res.end();
};
const error = (status: number, code: string) => (res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`);
};

describe('S3ArchiveReader', () => {
  it('GETs the key signed for S3, path style at an emulator, virtual-hosted otherwise', async () => {
    answers = [ok(REPORT)];

    const bytes = await reader().get(pointer('raw/a b/ü.xml', REPORT));
    await reader(false).get(pointer('raw/a b/ü.xml', REPORT));

    expect(Buffer.from(bytes).toString()).toBe(REPORT);
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /archive/raw/a%20b/%C3%BC.xml',
      'GET /raw/a%20b/%C3%BC.xml',
    ]);
    const { headers } = seen[0] as Seen;
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-3\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    // The hash of the empty body, which S3 requires in this header.
    expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update('').digest('hex'));
    expect(headers['x-amz-security-token']).toBe('token');
  });

  it('retries throttling, server errors and dropped connections, then reads', async () => {
    answers = [error(503, 'SlowDown'), 'drop', ok(REPORT)];

    const bytes = await reader().get(pointer());

    expect(Buffer.from(bytes).toString()).toBe(REPORT);
    expect(seen).toHaveLength(3);
  });

  it('gives up after three tries, with what S3 answered last', async () => {
    answers = [error(500, 'InternalError')];

    const refused = reader().get(pointer());

    await expect(refused).rejects.toThrow(
      new S3AnswerError('S3 answered 500 (InternalError) to GET s3://archive/raw/r1', true),
    );
    expect(seen).toHaveLength(3);
  });

  it('does not retry a refusal, and calls only a 404 a missing object', async () => {
    const refusal = (answer: Answer) => {
      answers = [answer];
      return reader()
        .get(pointer())
        .catch((e: unknown) => e);
    };

    const denied = await refusal(error(403, 'AccessDenied'));
    const missing = await refusal(error(404, 'NoSuchKey'));
    // A proxy's answer, not S3's XML.
    const proxy = await refusal((res) => res.writeHead(400).end('<html>Bad Request</html>'));

    expect(denied).toBeInstanceOf(S3AnswerError);
    expect((denied as Error).message).toBe(
      'S3 answered 403 (AccessDenied) to GET s3://archive/raw/r1',
    );
    expect(missing).toBeInstanceOf(VigilError);
    expect(missing).toMatchObject({ code: 'not_found' });
    expect((proxy as Error).message).toBe('S3 answered 400 to GET s3://archive/raw/r1');
    expect(seen).toHaveLength(3);
  });

  it('sends to the bucket’s regional domain on the default port, through the client’s handler', async () => {
    const sent: { hostname: string; port?: number; path: string; headers: { host?: string } }[] =
      [];
    const handle = async (request: (typeof sent)[number]) => {
      sent.push(request);
      const body = Readable.from([Buffer.from(REPORT)]);
      return { response: { statusCode: 200, headers: {}, body } };
    };
    const domain = `${BUCKET}.s3.eu-west-3.amazonaws.com`;
    const virtual = new S3ArchiveReader({
      bucket: BUCKET,
      endpoint: archiveEndpoint({}, domain),
      client: { config: { ...client.config, requestHandler: { handle } as never } },
    });

    await virtual.get(pointer());

    expect(sent).toMatchObject([{ hostname: domain, port: undefined, path: '/raw/r1' }]);
    expect(sent[0]?.headers.host).toBe(domain);
  });

  it('checks the length and sha256 of the bytes, with or without a Content-Length', async () => {
    answers = [chunked(REPORT), chunked('hell'), chunked('hellohello'), chunked('jello')];
    const read = await reader().get(pointer());
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        reader()
          .get(pointer())
          .catch((e: unknown) => (e as Error).message),
      ),
    );

    expect(Buffer.from(read).toString()).toBe(REPORT);
    expect(results.sort()).toEqual([
      'archived object s3://archive/raw/r1 does not match its sha256 ' +
        `(got ${createHash('sha256').update('jello').digest('hex')}, expected ${pointer().sha256})`,
      'archived object s3://archive/raw/r1 has 4 bytes, its pointer says 5',
      'archived object s3://archive/raw/r1 has 6 bytes, its pointer says 5',
    ]);
  });

  it('refuses an object whose Content-Length is not the pointer’s without reading it', async () => {
    answers = [ok('x'.repeat(1_000_000))];

    const refused = reader().get(pointer());

    await expect(refused).rejects.toThrow('has 1000000 bytes, its pointer says 5');
    expect(seen).toHaveLength(1);
  });

  it('reads only pointers into its bucket and prefix, without a request', async () => {
    const prefixed = new S3ArchiveReader({
      bucket: BUCKET,
      prefix: 'raw',
      endpoint: { url, pathStyle: true },
      client,
    });

    const refused = prefixed.get({ ...pointer(), uri: `s3://${BUCKET}/private/r1` });

    await expect(refused).rejects.toThrow(
      `archive pointer s3://${BUCKET}/private/r1 is not in this archive (s3://${BUCKET}/raw/)`,
    );
    expect(seen).toHaveLength(0);
  });

  it('takes the endpoint override the SDK would, else the bucket’s regional domain', () => {
    const domain = 'b.s3.eu-west-3.amazonaws.com';
    expect(archiveEndpoint({}, domain)).toEqual({ url: `https://${domain}`, pathStyle: false });
    expect(archiveEndpoint({ AWS_ENDPOINT_URL: 'http://x:1/' }, domain)).toEqual({
      url: 'http://x:1',
      pathStyle: true,
    });
    expect(
      archiveEndpoint(
        { AWS_ENDPOINT_URL: 'http://x:1', AWS_ENDPOINT_URL_S3: 'http://s3:2' },
        domain,
      ),
    ).toEqual({ url: 'http://s3:2', pathStyle: true });
  });
});

// botocore comes with moto_server (CI installs both); without it this check skips with moto's.
const withBotocore = motoAvailable('the archive reader’s signature, checked by botocore');

describe.skipIf(!withBotocore)('the S3 signature, recomputed by botocore', () => {
  it('is the one botocore computes for the same request (what S3 checks)', async () => {
    answers = [ok(REPORT)];
    await reader(false).get(pointer('raw/shop b+c/ü%20é/run (2)~.xml', REPORT));

    const { path, headers } = seen[0] as Seen;
    const signed = /SignedHeaders=([^,]+)/.exec(headers.authorization ?? '')?.[1]?.split(';');
    const request = {
      url: `https://${BUCKET}.s3.eu-west-3.amazonaws.com${path}`,
      headers: Object.fromEntries((signed ?? []).map((h) => [h, headers[h]])),
      credentials: CREDENTIALS,
    };
    const python = [
      'import json, sys',
      'from botocore.auth import S3SigV4Auth',
      'from botocore.awsrequest import AWSRequest',
      'from botocore.credentials import Credentials',
      'r = json.load(sys.stdin)',
      'c = r["credentials"]',
      'req = AWSRequest(method="GET", url=r["url"], headers=r["headers"])',
      'req.context["timestamp"] = r["headers"]["x-amz-date"]',
      'auth = S3SigV4Auth(Credentials(c["accessKeyId"], c["secretAccessKey"], c["sessionToken"]), "s3", "eu-west-3")',
      'print(auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', python], {
      input: JSON.stringify(request),
      encoding: 'utf8',
    });

    expect(run.stderr).toBe('');
    expect(headers.authorization).toContain(`Signature=${run.stdout.trim()}`);
  });
});
