import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { VigilError } from '../../core/errors';
import {
  UPLOAD_ID,
  UPLOAD_TTL_SECONDS,
  type UploadRequest,
  type UploadStore,
  type UploadTicket,
  uploadNotFound,
} from '../../core/ingest/uploads';

/** The path of an upload URL: `PUT /v1/uploads/<id>`. */
export const UPLOAD_PATH = /^\/v1\/uploads\/([0-9a-f]{32})$/;

/** A `Host` header that is a plain host (name, IPv4 or bracketed IPv6) with an optional port. */
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * The base of upload URLs for a request: `http://` and the host the client addressed (its
 * `Host` header) when that is a valid `host[:port]`, else `fallback` (the bind address).
 */
export const requestBaseUrl = (host: string | undefined, fallback: string): string => {
  if (host === undefined || host.length > 261 || !HOST.test(host)) return fallback;
  try {
    return new URL(`http://${host}`).origin; // a port above 65535 throws
  } catch {
    return fallback;
  }
};

type Ticket = { bytes: number; contentType: string; expires: number };

/**
 * Local mode's staged uploads, the counterpart of S3's presigned PUT: the URL is the server's
 * own `PUT /v1/uploads/<id>`, where the random id is the credential (as a presigned URL's
 * signature is). A PUT is admitted only before the URL expires and with exactly the declared
 * length and content type, all checked before its body is read; the report is written under
 * `<dataDir>/uploads/`. Tickets live in memory: a restart ends the staged uploads not yet
 * PUT (their URLs expire within minutes anyway). Staged files are dropped after a day, as the
 * S3 bucket's lifecycle rule does on AWS.
 */
export class LocalUploads implements UploadStore {
  readonly #dir: string;
  readonly #baseUrl: () => string;
  readonly #tickets = new Map<string, Ticket>();
  /** Tickets whose PUT is being read (claimed by that request: a second PUT is refused). */
  readonly #claimed = new Map<string, { ticket: Ticket; by: IncomingMessage }>();

  constructor(dataDir: string, baseUrl: () => string) {
    this.#dir = join(dataDir, 'uploads');
    this.#baseUrl = baseUrl;
  }

  async create(request: UploadRequest): Promise<UploadTicket> {
    const expires = Date.now() + request.expiresInSeconds * 1000;
    for (const [id, t] of this.#tickets) if (t.expires < Date.now()) this.#tickets.delete(id);
    for (const [id, c] of this.#claimed)
      if (c.ticket.expires < Date.now()) this.#claimed.delete(id);
    this.#tickets.set(request.uploadId, {
      bytes: request.bytes,
      contentType: request.contentType,
      expires,
    });
    return {
      uploadId: request.uploadId,
      url: `${this.#baseUrl()}/v1/uploads/${request.uploadId}`,
      method: 'PUT',
      headers: { 'content-type': request.contentType, 'content-length': String(request.bytes) },
      bytes: request.bytes,
      expiresAt: new Date(expires).toISOString(),
    };
  }

  /**
   * May this PUT send its body? Checked by the HTTP edge before anything is read: true, or a
   * refusal that says what is wrong (the URL, or the length or type it was made for). An
   * admitted PUT claims the URL: another PUT to it is refused (412) from then on, unless
   * `unclaim` gives it back (the body did not arrive).
   */
  authorize(req: IncomingMessage, url: URL): true {
    const id = UPLOAD_PATH.exec(url.pathname)?.[1];
    const ticket = id === undefined ? undefined : this.#tickets.get(id);
    // As S3's If-None-Match: * on AWS: the report PUT first is kept, a retry learns it is there.
    if (
      id !== undefined &&
      ticket === undefined &&
      (this.#claimed.has(id) || existsSync(join(this.#dir, id)))
    )
      throw new VigilError(
        'precondition_failed',
        `This upload URL was already used: it takes one PUT, and the report sent first is kept. Ingest it with POST /v1/results?upload=${id}.`,
      );
    if (ticket === undefined || ticket.expires <= Date.now())
      throw new VigilError(
        'forbidden',
        'This upload URL is unknown, already used or expired: ask POST /v1/uploads for a new ' +
          `one (URLs last ${UPLOAD_TTL_SECONDS / 60} minutes).`,
      );
    const length = req.headers['content-length'];
    if (Number(length) !== ticket.bytes)
      throw new VigilError(
        'bad_request',
        `This upload URL takes exactly ${ticket.bytes} bytes; the request declares ` +
          `${length === undefined ? 'no Content-Length' : `${length}`}.`,
        { path: 'header.content-length' },
      );
    if (req.headers['content-type'] !== ticket.contentType)
      throw new VigilError(
        'bad_request',
        `This upload URL takes Content-Type ${ticket.contentType}, as POST /v1/uploads was told.`,
        { path: 'header.content-type' },
      );
    this.#tickets.delete(id as string);
    this.#claimed.set(id as string, { ticket, by: req });
    return true;
  }

  /** Give back the URL `req` claimed (its body never arrived, or was not stored): it may be PUT again. */
  unclaim(uploadId: string, req: IncomingMessage): void {
    const claim = this.#claimed.get(uploadId);
    if (claim?.by !== req) return;
    this.#claimed.delete(uploadId);
    this.#tickets.set(uploadId, claim.ticket);
  }

  /** Store the body of an admitted PUT (its ticket is then used up). */
  async put(uploadId: string, body: Buffer): Promise<void> {
    const ticket = this.#claimed.get(uploadId)?.ticket ?? this.#tickets.get(uploadId);
    if (!ticket || body.byteLength !== ticket.bytes)
      throw new VigilError(
        'bad_request',
        `The body of upload ${uploadId} is not the declared size.`,
      );
    await mkdir(this.#dir, { recursive: true });
    const path = join(this.#dir, uploadId);
    await writeFile(`${path}.tmp`, body);
    await rename(`${path}.tmp`, path);
    this.#claimed.delete(uploadId);
    this.#tickets.delete(uploadId);
  }

  /** Deletes staged files last written before `olderThanMs` (epoch ms); returns how many. */
  async prune(olderThanMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return 0;
      throw e;
    }
    let removed = 0;
    for (const name of names) {
      const path = join(this.#dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < olderThanMs) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async read(uploadId: string, limit: number): Promise<Uint8Array> {
    if (!UPLOAD_ID.test(uploadId)) throw uploadNotFound(uploadId);
    let body: Buffer;
    try {
      body = await readFile(join(this.#dir, uploadId));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') throw uploadNotFound(uploadId);
      throw e;
    }
    if (body.byteLength > limit)
      throw new VigilError(
        'payload_too_large',
        `The uploaded report is larger than the limit of ${limit} bytes.`,
        { path: 'query.upload' },
      );
    return body;
  }
}
