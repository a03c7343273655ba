import { VigilError } from '../core/errors';
import type { ArchiveLinks, ArchiveReader } from '../core/ports';
import { ARTIFACT_NAME, ARTIFACT_ROUTE } from '../core/probes/browser';
import type { HttpResult } from '../shared/http';
import { linkAnswer } from './archive-link';

/**
 * `GET /v1/artifacts/{sha256}.{png|zip}?bytes=N`: a failed browser check's screenshot or
 * Playwright trace, as linked from its alert and the dashboard. The archive is
 * content-addressed, so the name and length are the whole reference; the reader checks the
 * bytes against both. Token-protected like every other read route (the caller checks it).
 */

export interface ArtifactReadDeps {
  reader?: ArchiveReader;
  /** Where an artifact of this name is archived (`file://…` locally, `s3://…` on AWS). */
  uri?: (name: string) => string;
  /** Links to archived objects (AWS): an artifact too large to answer inline is linked instead. */
  links?: ArchiveLinks;
  /** The request's `Accept` header: `application/json` asks for such a link as JSON. */
  accept?: string;
}

/**
 * The largest artifact answered inline where there are links (AWS): Lambda answers at most 6 MB,
 * and a binary body goes base64-encoded (4 bytes for 3).
 */
export const INLINE_ARTIFACT_MAX_BYTES = 4 * 1024 * 1024;

const TYPES = { png: 'image/png', zip: 'application/zip' } as const;

export const isArtifactPath = (path: string): boolean => path.startsWith(ARTIFACT_ROUTE);

export const getArtifact = async (
  deps: ArtifactReadDeps,
  path: string,
  query: Record<string, string | undefined>,
): Promise<HttpResult> => {
  const name = path.slice(ARTIFACT_ROUTE.length);
  const match = ARTIFACT_NAME.exec(name);
  if (!match)
    throw new VigilError(
      'not_found',
      `No artifact ${name.slice(0, 80)}: names are <sha256>.png or <sha256>.zip.`,
    );
  const bytes = Number(query.bytes);
  if (!Number.isSafeInteger(bytes) || bytes < 0)
    throw new VigilError('bad_request', 'GET /v1/artifacts needs ?bytes=<length> (as linked).', {
      path: 'query.bytes',
    });
  if (!deps.reader || !deps.uri)
    throw new VigilError(
      'unavailable',
      'The artifact archive is not configured on this deployment.',
    );
  const pointer = { uri: deps.uri(name), bytes, sha256: match[1] ?? '' };
  const ext = match[2] as keyof typeof TYPES;
  if (deps.links && bytes > INLINE_ARTIFACT_MAX_BYTES)
    return linkAnswer(
      deps.links,
      pointer,
      { name, contentType: TYPES[ext] },
      { accept: deps.accept, now: new Date() },
    );
  const body = await deps.reader.get(pointer);
  return {
    statusCode: 200,
    headers: {
      'content-type': TYPES[ext],
      'content-disposition': `${ext === 'png' ? 'inline' : 'attachment'}; filename="${name}"`,
      // Immutable (content-addressed), but private: only token holders read it.
      'cache-control': 'private, max-age=86400, immutable',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
    },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
  };
};
