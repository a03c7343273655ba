import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { VigilError } from '../../core/errors';
import type { ArchivePointer } from '../../core/events';
import type { ArchiveInput, ArchiveReader, PayloadArchive } from '../../core/ports';

export interface S3ArchiveOptions {
  bucket: string;
  client: S3Client;
  /** Key prefix, e.g. `raw/` (a trailing slash is added when missing). */
  prefix?: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;
// Printable US-ASCII: anything else cannot travel as an HTTP header value unchanged.
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/**
 * S3 user metadata travels as `x-amz-meta-*` headers: names must be header tokens (S3 stores
 * them lower-case) and values US-ASCII. Values with other characters are sent RFC 2047
 * encoded (`=?UTF-8?B?...?=`), the form S3 itself uses when it returns such values.
 */
const toS3Metadata = (metadata: Record<string, string>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    const name = key.toLowerCase().replace(/[^a-z0-9!#$%&'*+.^_`|~-]/g, '-');
    out[name] = HEADER_SAFE.test(value)
      ? value
      : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
  }
  return out;
};

/**
 * Stores raw reports in S3; S3 verifies the body against the caller's SHA-256. `get` reads back
 * only `s3://<this bucket>/<this prefix>…` pointers, and only bytes that still match the
 * pointer's length and sha256.
 */
export class S3Archive implements PayloadArchive, ArchiveReader {
  private readonly bucket: string;
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(options: S3ArchiveOptions) {
    this.bucket = options.bucket;
    this.client = options.client;
    const prefix = options.prefix?.replace(/^\/+/, '') ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  async put(input: ArchiveInput): Promise<ArchivePointer> {
    if (!SHA256_HEX.test(input.sha256)) {
      throw new VigilError('internal', 'archive sha256 must be 64 hex characters');
    }
    const sha256 = input.sha256.toLowerCase();
    const key = `${this.prefix}${input.key.replace(/^\/+/, '')}`;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: input.body,
        ContentLength: input.body.byteLength,
        ContentType: input.contentType,
        Metadata: toS3Metadata(input.metadata),
        // S3 wants the base64 of the raw 32-byte digest, and rejects the upload (BadDigest)
        // when the body does not match. Encryption is left to the bucket default.
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
      }),
    );
    return { uri: `s3://${this.bucket}/${key}`, bytes: input.body.byteLength, sha256 };
  }

  async get(pointer: ArchivePointer): Promise<Uint8Array> {
    const key = this.keyOf(pointer.uri);
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      if (e instanceof Error && (e.name === 'NoSuchKey' || e.name === 'NotFound'))
        throw new VigilError('not_found', `archived object ${pointer.uri} does not exist`);
      throw e;
    }
    if (out.ContentLength !== undefined && out.ContentLength !== pointer.bytes) {
      // Do not download an object we are going to refuse (Body is a Node stream here).
      (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw sizeMismatch(pointer, out.ContentLength);
    }
    const body = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    if (body.byteLength !== pointer.bytes) throw sizeMismatch(pointer, body.byteLength);
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (sha256 !== pointer.sha256.toLowerCase())
      throw new VigilError(
        'internal',
        `archived object ${pointer.uri} does not match its sha256 (got ${sha256}, expected ${pointer.sha256})`,
      );
    return body;
  }

  private keyOf(uri: string): string {
    return archiveKeyOf(this.bucket, this.prefix, uri);
  }
}

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
