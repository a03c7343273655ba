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
  readonly #tickets = new Map<string, { bytes: number; contentType: string; expires: number }>();

  constructor(dataDir: string, baseUrl: () => string) {
    this.#dir = join(dataDir, 'uploads');
    this.#baseUrl = baseUrl;
  }

  async create(request: UploadRequest): Promise<UploadTicket> {
    const expires = Date.now() + request.expiresInSeconds * 1000;
    for (const [id, t] of this.#tickets) if (t.expires < Date.now()) this.#tickets.delete(id);
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
   * refusal that says what is wrong (the URL, or the length or type it was made for).
   */
  authorize(req: IncomingMessage, url: URL): true {
    const id = UPLOAD_PATH.exec(url.pathname)?.[1];
    const ticket = id === undefined ? undefined : this.#tickets.get(id);
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
    return true;
  }

  /** Store the body of an admitted PUT (its ticket is then used up). */
  async put(uploadId: string, body: Buffer): Promise<void> {
    const ticket = this.#tickets.get(uploadId);
    if (!ticket || body.byteLength !== ticket.bytes)
      throw new VigilError(
        'bad_request',
        `The body of upload ${uploadId} is not the declared size.`,
      );
    await mkdir(this.#dir, { recursive: true });
    const path = join(this.#dir, uploadId);
    await writeFile(`${path}.tmp`, body);
    await rename(`${path}.tmp`, path);
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
