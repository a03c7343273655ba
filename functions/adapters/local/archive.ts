import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VigilError } from '../../core/errors';
import type { ArchivePointer } from '../../core/events';
import type { ArchiveInput, ArchiveReader, PayloadArchive } from '../../core/ports';

const code = (e: unknown): string | undefined => (e as { code?: string }).code;

/**
 * Raw payloads as files under `<dataDir>/archive/`, the local twin of the S3 bucket. `get`
 * reads back only `file://` pointers inside that directory, and only bytes that still match
 * the pointer's length and sha256.
 */
export class FileArchive implements PayloadArchive, ArchiveReader {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = resolve(dataDir, 'archive');
  }

  async put(input: ArchiveInput): Promise<ArchivePointer> {
    const path = resolve(join(this.#root, input.key));
    if (!path.startsWith(this.#root + sep))
      throw new VigilError('bad_request', `Archive key escapes the archive: ${input.key}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, input.body);
    return { uri: pathToFileURL(path).href, bytes: input.body.byteLength, sha256: input.sha256 };
  }

  async get(pointer: ArchivePointer): Promise<Uint8Array> {
    const outside = new VigilError(
      'bad_request',
      `archive pointer ${pointer.uri} is not a file in this archive (${this.#root})`,
    );
    let path: string;
    try {
      const url = new URL(pointer.uri);
      if (url.protocol !== 'file:') throw outside;
      path = resolve(fileURLToPath(url));
    } catch {
      // Not a URL, another scheme, a host, or an encoded `/`.
      throw outside;
    }
    if (!path.startsWith(this.#root + sep)) throw outside;
    let body: Uint8Array;
    try {
      // Symbolic links are followed only when they stay inside the archive.
      const [real, root] = await Promise.all([realpath(path), realpath(this.#root)]);
      if (!real.startsWith(root + sep)) throw outside;
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
