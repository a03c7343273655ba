import type { ArchivePointer } from '../core/events';
import type { ArchiveLinks } from '../core/ports';
import { type HttpResult, json } from '../shared/http';

/** A link is followed at once (a redirect, or the dashboard's download). */
export const LINK_SECONDS = 300;

/**
 * An archived file too large for a Lambda answer (6 MB): `303 See Other` to a presigned S3 GET
 * (curl -L, a browser; both drop the bearer header on the way), or the link as JSON for a caller
 * that asks (`Accept: application/json`): a script's fetch cannot read a redirect to S3 (no
 * CORS there). S3 cannot send the inline answers' sandbox and nosniff: always a download.
 */
export const linkAnswer = async (
  links: ArchiveLinks,
  pointer: ArchivePointer,
  file: { name: string; contentType: string },
  request: { accept?: string; now: Date },
): Promise<HttpResult> => {
  const url = await links.link(pointer, {
    contentType: file.contentType,
    contentDisposition: `attachment; filename="${file.name}"`,
    expiresInSeconds: LINK_SECONDS,
  });
  const expiresAt = new Date(request.now.getTime() + LINK_SECONDS * 1000).toISOString();
  const body = { url, fileName: file.name, bytes: pointer.bytes, expiresAt };
  const headers = { 'cache-control': 'no-store' };
  return /\bapplication\/json\b/i.test(request.accept ?? '')
    ? json(200, body, headers)
    : json(303, body, { ...headers, location: url });
};
