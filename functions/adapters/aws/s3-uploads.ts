import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { VigilError } from '../../core/errors';
import {
  UPLOADS_PREFIX,
  type UploadRequest,
  type UploadStore,
  type UploadTicket,
  uploadNotFound,
} from '../../core/ingest/uploads';

export interface S3UploadsOptions {
  bucket: string;
  client: S3Client;
  /** Key prefix of staged uploads (the bucket expires it after a day). Default `UPLOADS_PREFIX`. */
  prefix?: string;
}

/**
 * Staged uploads in S3: a presigned PUT whose signature covers the Content-Length,
 * Content-Type and `If-None-Match: *`, so S3 refuses any other size or type (a client cannot
 * stage more than the ingest limit) and any PUT once the object exists (412): as locally, a
 * URL is used once, and `?upload=<id>` always names the bytes first PUT (ingesting it again is
 * a duplicate, never another run). The ingest function reads the object back, refusing one
 * above the limit before downloading it.
 */
export class S3Uploads implements UploadStore {
  readonly #bucket: string;
  readonly #client: S3Client;
  readonly #prefix: string;

  constructor(options: S3UploadsOptions) {
    this.#bucket = options.bucket;
    this.#client = options.client;
    this.#prefix = options.prefix ?? UPLOADS_PREFIX;
  }

  async create(request: UploadRequest): Promise<UploadTicket> {
    const command = new PutObjectCommand({
      Bucket: this.#bucket,
      Key: `${this.#prefix}${request.uploadId}`,
      ContentLength: request.bytes,
      ContentType: request.contentType,
      // S3 conditional write: the URL cannot replace what it stored for its 15 minutes.
      IfNoneMatch: '*',
    });
    const url = await getSignedUrl(this.#client, command, {
      expiresIn: request.expiresInSeconds,
      signableHeaders: new Set(['content-length', 'content-type', 'if-none-match']),
    });
    return {
      uploadId: request.uploadId,
      url,
      method: 'PUT',
      // Signed: a PUT without any of these fails S3's signature check.
      headers: {
        'content-type': request.contentType,
        'content-length': String(request.bytes),
        'if-none-match': '*',
      },
      bytes: request.bytes,
      expiresAt: new Date(Date.now() + request.expiresInSeconds * 1000).toISOString(),
    };
  }

  async read(uploadId: string, limit: number): Promise<Uint8Array> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: `${this.#prefix}${uploadId}` }),
      );
    } catch (e) {
      if (e instanceof Error && (e.name === 'NoSuchKey' || e.name === 'NotFound'))
        throw uploadNotFound(uploadId);
      throw e;
    }
    if ((out.ContentLength ?? 0) > limit) {
      (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new VigilError(
        'payload_too_large',
        `The uploaded report is larger than the limit of ${limit} bytes.`,
        { path: 'query.upload' },
      );
    }
    return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
  }
}
