import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { VigilError } from '../../core/errors';
import type { ArchivePointer } from '../../core/events';
import type { ArchiveInput, PayloadArchive } from '../../core/ports';

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
 * Stores raw reports in S3; S3 verifies the body against the caller's SHA-256. They are read
 * back with `S3ArchiveReader` (s3-archive-reader.ts), which needs no S3 SDK.
 */
export class S3Archive implements PayloadArchive {
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
}
