import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { escapeUriPath, HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { VigilError } from '../../core/errors';
import type { ArchivePointer } from '../../core/events';
import type { ArchiveReader } from '../../core/ports';

/** What the reader borrows from an SDK client: its credentials, region, hash and HTTP pool. */
export type SdkClientParts = Pick<
  DynamoDBClient['config'],
  'credentials' | 'region' | 'sha256' | 'requestHandler'
>;

export interface S3ArchiveReaderOptions {
  bucket: string;
  /**
   * Where the bucket's objects are: `https://<bucket's regional domain name>` (virtual-hosted,
   * set by the stack), or an emulator's endpoint, which serves the bucket path style.
   */
  endpoint: { url: string; pathStyle: boolean };
  /** Key prefix, e.g. `raw/` (a trailing slash is added when missing). */
  prefix?: string;
  /** The SDK client whose configuration signs and sends the requests. */
  client: { config: SdkClientParts };
}

/** Tries of one read (the SDK's standard mode makes 3) and the first retry's longest wait. */
const ATTEMPTS = 3;
const BASE_DELAY_MS = 100;
/** An answer that must not hang an invocation: S3 answers a GET in tens of milliseconds. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The endpoint of the archive bucket from the environment (see `S3ArchiveReaderOptions`). */
export const archiveEndpoint = (
  env: NodeJS.ProcessEnv,
  bucketDomain: string,
): S3ArchiveReaderOptions['endpoint'] => {
  // The same override variables the SDK reads (AWS_ENDPOINT_URL_S3 first), for emulators.
  const custom = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  return custom
    ? { url: custom.replace(/\/+$/, ''), pathStyle: true }
    : { url: `https://${bucketDomain}`, pathStyle: false };
};

/**
 * Reads archived objects with one SigV4-signed GET each, sent with the pieces of an SDK client
 * the function has anyway (DynamoDB's): credentials, region, hash and keep-alive HTTP handler.
 * The functions that only read the archive (history, status) then load no S3 SDK: it was a
 * tenth of their init (`npm run bench:cold-start`). Reads only `s3://<bucket>/<prefix>…`
 * pointers, and returns only bytes that still match the pointer's length and sha256. Throttling,
 * server errors and network failures are retried (3 tries, jittered backoff), as the SDK does.
 */
export class S3ArchiveReader implements ArchiveReader {
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #endpoint: URL;
  readonly #pathStyle: boolean;
  readonly #signer: SignatureV4;
  readonly #send: SdkClientParts['requestHandler'];

  constructor(options: S3ArchiveReaderOptions) {
    const { bucket, endpoint, client } = options;
    this.#bucket = bucket;
    const prefix = options.prefix?.replace(/^\/+/, '') ?? '';
    this.#prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#endpoint = new URL(endpoint.url);
    this.#pathStyle = endpoint.pathStyle;
    this.#signer = new SignatureV4({
      service: 's3',
      region: client.config.region,
      credentials: client.config.credentials,
      sha256: client.config.sha256,
      // S3 signs the path as sent (no second encoding), with the payload hash in a header.
      uriEscapePath: false,
      applyChecksum: true,
    });
    this.#send = client.config.requestHandler;
  }

  async get(pointer: ArchivePointer): Promise<Uint8Array> {
    const key = archiveKeyOf(this.#bucket, this.#prefix, pointer.uri);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#read(pointer, key);
      } catch (e) {
        // Network failures and timeouts are retried too: the handler throws them.
        const final = e instanceof VigilError || (e instanceof S3AnswerError && !e.retryable);
        if (final || attempt === ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * BASE_DELAY_MS * 2 ** attempt));
      }
    }
  }

  async #read(pointer: ArchivePointer, key: string): Promise<Uint8Array> {
    const { protocol, hostname, port, host, pathname } = this.#endpoint;
    const bucket = this.#pathStyle ? `/${escapeUriPath(this.#bucket)}` : '';
    const request = new HttpRequest({
      method: 'GET',
      protocol,
      hostname,
      // The URL's port is '' when it is the protocol's default.
      port: port === '' ? undefined : Number(port),
      path: `${pathname.replace(/\/+$/, '')}${bucket}/${escapeUriPath(key)}`,
      headers: { host },
    });
    const signed = await this.#signer.sign(request);
    const { response } = await this.#send.handle(signed, {
      requestTimeout: REQUEST_TIMEOUT_MS,
    });
    const body = response.body as IncomingMessage;
    const status = response.statusCode;
    if (status !== 200) {
      const text = await bodyOf(body, 4_096).then((b) => Buffer.from(b).toString('utf8'));
      const code = /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1];
      if (status === 404)
        throw new VigilError('not_found', `archived object ${pointer.uri} does not exist`);
      throw new S3AnswerError(
        `S3 answered ${status}${code ? ` (${code})` : ''} to GET ${pointer.uri}`,
        // Throttling and server errors are worth another try; the others (403...) are not.
        status === 429 || status >= 500,
      );
    }
    const length = Number(response.headers['content-length'] ?? pointer.bytes);
    if (length !== pointer.bytes) {
      // Do not download an object we are going to refuse.
      body.destroy();
      throw sizeMismatch(pointer, length);
    }
    const bytes = await bodyOf(body, pointer.bytes + 1);
    if (bytes.byteLength !== pointer.bytes) throw sizeMismatch(pointer, bytes.byteLength);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== pointer.sha256.toLowerCase())
      throw new VigilError(
        'internal',
        `archived object ${pointer.uri} does not match its sha256 (got ${sha256}, expected ${pointer.sha256})`,
      );
    return bytes;
  }
}

/** An answer of S3 other than 200 and 404. */
export class S3AnswerError extends Error {
  override readonly name = 'S3AnswerError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The body, up to `limit` bytes (the rest is dropped with the connection). */
const bodyOf = async (body: IncomingMessage, limit: number): Promise<Uint8Array> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks, Math.min(size, limit));
};

/** The object key of an `s3://` URI in `bucket` (and under `prefix`), or a refusal. */
export const archiveKeyOf = (bucket: string, prefix: string, uri: string): string => {
  const head = `s3://${bucket}/`;
  const key = uri.startsWith(head) ? uri.slice(head.length) : '';
  if (key === '' || !key.startsWith(prefix))
    throw new VigilError(
      'bad_request',
      `archive pointer ${uri} is not in this archive (s3://${bucket}/${prefix})`,
    );
  return key;
};

const sizeMismatch = (pointer: ArchivePointer, bytes: number): VigilError =>
  new VigilError(
    'internal',
    `archived object ${pointer.uri} has ${bytes} bytes, its pointer says ${pointer.bytes}`,
  );
