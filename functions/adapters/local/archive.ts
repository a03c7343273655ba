import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, read, rmSync, statSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VigilError } from '../../core/errors';
import type { ArchivePointer } from '../../core/events';
import { hashedAs } from '../../core/payload-hash';
import type { ArchiveInput, ArchiveReader, PayloadArchive } from '../../core/ports';
import { logger } from '../../shared/powertools';
import { storeFailure } from './store/database';
import { writeDurably } from './sync-dir';

/** The file name of a content-addressed object. */
const OBJECT = /^[0-9a-f]{64}(\.[.a-z0-9]{1,16})?$/i;

const code = (e: unknown): string | undefined => (e as { code?: string }).code;

/**
 * Temporary files are `<object>.<pid>.<random>.<n>.tmp`: random once per process (a leftover
 * of an earlier process with the same pid never collides), then counted (randomBytes costs
 * ~8 µs per call).
 */
const TMP_TAG = `${process.pid}.${randomBytes(4).toString('hex')}`;
let tmpCount = 0;

/**
 * Raw payloads as files under `<dataDir>/archive/`, the local twin of the S3 bucket. Files are
 * content-addressed (`objects/<sha256[0..2]>/<sha256>.<ext>`): two runs can never overwrite
 * each other's payload, whatever their project is called, and a payload posted twice is stored
 * once. `put` returns once the file and its directory entry are on disk (fsync), so an event
 * that points to it is committed only after it exists. `get` reads back only `file://`
 * pointers inside the archive, and only bytes that still match the pointer's length and sha256.
 * A file already there is trusted only when its bytes hash to its name: one damaged in place
 * (same size, other bytes) is written again, so posting the same content repairs it.
 */
export class FileArchive implements PayloadArchive, ArchiveReader {
  readonly #root: string;
  /** The archive folder's real path, resolved at the first read that finds it. */
  #realRoot: string | undefined;

  constructor(dataDir: string) {
    this.#root = resolve(dataDir, 'archive');
  }

  async put(input: ArchiveInput): Promise<ArchivePointer> {
    // Not hashed again when ingest has just hashed these very bytes (see payload-hash.ts).
    const sha256 = hashedAs(input.body, input.sha256)
      ? input.sha256
      : createHash('sha256').update(input.body).digest('hex');
    if (sha256 !== input.sha256.toLowerCase())
      throw new VigilError('internal', `archive input for ${input.key} does not match its sha256`);
    const ext = extname(input.key)
      .replace(/[^.a-z0-9]/gi, '')
      .slice(0, 16);
    const path = join(this.#root, 'objects', sha256.slice(0, 2), `${sha256}${ext}`);
    const pointer = { uri: pathToFileURL(path).href, bytes: input.body.byteLength, sha256 };
    const existing = statSync(path, { throwIfNoEntry: false });
    if (existing?.size === input.body.byteLength) {
      // The bytes the name stands for are in hand: comparing costs a tenth of hashing the file.
      if (await holdsExactly(path, input.body)) return pointer;
      logger.warn('archived file does not match its sha256: writing it again', { file: path });
    }
    const tmp = `${path}.${TMP_TAG}.${++tmpCount}.tmp`;
    try {
      await writeDurably(tmp, path, input.body);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw storeFailure(e, `archive the report (${input.key})`);
    }
    return pointer;
  }

  async get(pointer: ArchivePointer): Promise<Uint8Array> {
    // Made when thrown: an error's stack trace costs more than the rest of a read's checks.
    const outside = () =>
      new VigilError(
        'bad_request',
        `archive pointer ${pointer.uri} is not a file in this archive (${this.#root})`,
      );
    let path: string;
    try {
      const url = new URL(pointer.uri);
      if (url.protocol !== 'file:') throw outside();
      path = resolve(fileURLToPath(url));
    } catch {
      // Not a URL, another scheme, a host, or an encoded `/`.
      throw outside();
    }
    if (!path.startsWith(this.#root + sep)) {
      // A content-addressed object of a data directory that was moved or restored from a
      // backup: the same object in this archive (its bytes are checked below).
      const name = basename(path);
      if (!name.startsWith(pointer.sha256.toLowerCase()) || !OBJECT.test(name)) throw outside();
      path = join(this.#root, 'objects', name.slice(0, 2), name);
    }
    let body: Uint8Array;
    try {
      // Symbolic links are followed only when they stay inside the archive.
      this.#realRoot ??= await realpath(this.#root);
      const real = await realpath(path);
      if (!real.startsWith(this.#realRoot + sep)) throw outside();
      body = await readFile(real);
    } catch (e) {
      if (code(e) === 'ENOENT')
        throw new VigilError('not_found', `archived file ${pointer.uri} does not exist`);
      throw e;
    }
    verifyArchived(body, pointer);
    return body;
  }
}

/** A read in libuv's thread pool. */
const readAt = (fd: number, into: Buffer, at: number): Promise<number> =>
  new Promise((ok, fail) => read(fd, into, 0, into.length, at, (e, n) => (e ? fail(e) : ok(n))));

/**
 * Whether the file holds exactly `body` (false when it cannot be read). Read in pieces: no
 * file-sized allocation on the answer's path.
 */
const holdsExactly = async (path: string, body: Uint8Array): Promise<boolean> => {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  // A buffer per call: a read of another call would write into a shared one meanwhile.
  const compared = Buffer.allocUnsafe(Math.min(256 * 1024, Math.max(1, bytes.byteLength)));
  try {
    for (let at = 0; ; ) {
      // Every byte matched: the file holds exactly these when it has no more (its size, read
      // in place, where a further read that finds nothing was one more trip to the pool).
      if (at === bytes.byteLength) return fstatSync(fd).size === at;
      const bytesRead = await readAt(fd, compared, at);
      if (bytesRead === 0) return false;
      if (
        at + bytesRead > bytes.byteLength ||
        compared.compare(bytes, at, at + bytesRead, 0, bytesRead) !== 0
      )
        return false;
      at += bytesRead;
    }
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
};

/** The stored bytes must be exactly what the pointer describes. */
const verifyArchived = (body: Uint8Array, pointer: ArchivePointer): void => {
  if (body.byteLength !== pointer.bytes)
    throw new VigilError(
      'internal',
      `archived file ${pointer.uri} has ${body.byteLength} bytes, its pointer says ${pointer.bytes}`,
    );
  const sha256 = createHash('sha256').update(body).digest('hex');
  if (sha256 !== pointer.sha256.toLowerCase())
    throw new VigilError(
      'internal',
      `archived file ${pointer.uri} does not match its sha256 (got ${sha256}, expected ${pointer.sha256})`,
    );
};
