import { randomBytes } from 'node:crypto';
import { VigilError } from '../errors';

/**
 * Staged uploads: reports too large for one request to the ingest function (a synchronous
 * Lambda invocation takes at most 6 MB, and API Gateway base64-encodes binary bodies) go in two
 * steps. `POST /v1/uploads` with `{"bytes": N, "contentType": "..."}` answers a URL that takes
 * exactly those bytes (S3 presigned PUT on AWS, the local server's own URL locally); then
 * `POST /v1/results?upload=<id>&project=...` ingests it with the same limits, errors and
 * idempotency as a direct post.
 */

export interface UploadTicket {
  uploadId: string;
  /** PUT the report here, with `headers`, before `expiresAt`. */
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
  bytes: number;
  expiresAt: string;
}

export interface UploadRequest {
  uploadId: string;
  bytes: number;
  contentType: string;
  expiresInSeconds: number;
}

/** Port: where staged uploads go (S3 on AWS, the data dir locally). */
export interface UploadStore {
  create(request: UploadRequest): Promise<UploadTicket>;
  /** The uploaded bytes; `not_found` until they are uploaded, `payload_too_large` above `limit`. */
  read(uploadId: string, limit: number): Promise<Uint8Array>;
}

export const UPLOAD_ID = /^[0-9a-f]{32}$/;
/** Where staged uploads go in the archive bucket: no project name starts with `_`, so no report does. */
export const UPLOADS_PREFIX = '_uploads/';
export const UPLOAD_TTL_SECONDS = 15 * 60;
export const UPLOAD_CONTENT_TYPES = [
  'application/gzip',
  'application/octet-stream',
  'application/xml',
  'application/json',
  'text/xml',
  'text/plain',
] as const;

export const newUploadId = (): string => randomBytes(16).toString('hex');

/** Validate the body of `POST /v1/uploads` against the ingest limit. */
export const parseUploadRequest = (body: Uint8Array, maxBytes: number): UploadRequest => {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new VigilError(
      'bad_request',
      'The body must be JSON: {"bytes": <size of the report>, "contentType": "application/gzip"}.',
    );
  }
  const { bytes, contentType = 'application/octet-stream' } = (json ?? {}) as Record<
    string,
    unknown
  >;
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes <= 0)
    throw new VigilError('bad_request', '"bytes" must be the report size, a positive integer.', {
      path: 'body.bytes',
    });
  if (bytes > maxBytes)
    throw new VigilError(
      'payload_too_large',
      `The report is larger than the limit of ${maxBytes} bytes; split the report or raise ingest.maxBodyBytes.`,
      { path: 'body.bytes' },
    );
  if (!(UPLOAD_CONTENT_TYPES as readonly unknown[]).includes(contentType))
    throw new VigilError(
      'bad_request',
      `"contentType" must be one of ${UPLOAD_CONTENT_TYPES.join(', ')}.`,
      { path: 'body.contentType' },
    );
  return {
    uploadId: newUploadId(),
    bytes,
    contentType: contentType as string,
    expiresInSeconds: UPLOAD_TTL_SECONDS,
  };
};

/** The `upload` query parameter, checked. */
export const uploadIdParam = (value: string | undefined): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (!UPLOAD_ID.test(value))
    throw new VigilError('bad_request', 'Query parameter "upload" is not an upload id.', {
      path: 'query.upload',
    });
  return value;
};

export const uploadNotFound = (uploadId: string): VigilError =>
  new VigilError(
    'not_found',
    `Upload ${uploadId} has no report: PUT it to the URL from POST /v1/uploads first (URLs expire after ${UPLOAD_TTL_SECONDS / 60} minutes).`,
    { path: 'query.upload' },
  );
