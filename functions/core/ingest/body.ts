import { isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { VigilError } from '../errors';

/**
 * Turn a raw request body into report text: gunzip (bounded, so a zip bomb cannot
 * blow up memory), enforce the size limit, and decode strictly as UTF-8 (or UTF-16
 * with a BOM) so garbage bytes are rejected with their offset instead of mangled.
 */

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

const tooLarge = (limit: number, what: string): VigilError =>
  new VigilError(
    'payload_too_large',
    `The ${what} is larger than the limit of ${limit} bytes; split the report or raise ingest.maxBodyBytes.`,
  );

export const decompress = (
  body: Uint8Array,
  contentEncoding: string | undefined,
  limit: number,
): Buffer => {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (buf.byteLength > limit) throw tooLarge(limit, 'request body');
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  const gzipped =
    encoding === 'gzip' ||
    encoding === 'x-gzip' ||
    (buf[0] === GZIP_MAGIC_0 && buf[1] === GZIP_MAGIC_1);
  if (!gzipped) {
    if (encoding !== '' && encoding !== 'identity')
      throw new VigilError(
        'unsupported_format',
        `Content-Encoding "${encoding}" is not supported; use gzip or none.`,
      );
    return buf;
  }
  try {
    return gunzipSync(buf, { maxOutputLength: limit });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
      throw tooLarge(limit, 'decompressed body');
    throw new VigilError(
      'invalid_report',
      `The body is not valid gzip data: ${(e as Error).message}`,
    );
  }
};

/** Offset of the first byte that breaks UTF-8 (only called once we know there is one). */
export const firstInvalidUtf8 = (buf: Uint8Array): number => {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i] ?? 0;
    const need =
      b < 0x80
        ? 0
        : b >= 0xc2 && b < 0xe0
          ? 1
          : b >= 0xe0 && b < 0xf0
            ? 2
            : b >= 0xf0 && b < 0xf5
              ? 3
              : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return buf.length;
};

export const decodeText = (buf: Buffer): string => {
  if (buf[0] === 0xff && buf[1] === 0xfe) return new TextDecoder('utf-16le').decode(buf);
  if (buf[0] === 0xfe && buf[1] === 0xff) return new TextDecoder('utf-16be').decode(buf);
  if (!isUtf8(buf)) {
    const offset = firstInvalidUtf8(buf);
    throw new VigilError(
      'invalid_report',
      `The body is not valid UTF-8 (first bad byte at offset ${offset}); is it a binary file or another encoding?`,
      { offset },
    );
  }
  const start = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  return buf.toString('utf8', start);
};

/**
 * `curl -F file=@report.xml` sends a multipart form, not the report: refuse it with the fix
 * instead of failing to parse the form's boundary lines as a report.
 */
export const refuseMultipart = (contentType: string | undefined): void => {
  if (/^\s*multipart\//i.test(contentType ?? ''))
    throw new VigilError(
      'unsupported_format',
      'Multipart form uploads are not accepted: send the report itself as the body, e.g. ' +
        'curl --data-binary @report.xml (not -F file=@report.xml).',
      { path: 'header.content-type' },
    );
};
