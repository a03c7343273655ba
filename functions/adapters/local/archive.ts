import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VigilError } from '../../core/errors';
import type { ArchivePointer } from '../../core/events';
import type { ArchiveInput, PayloadArchive } from '../../core/ports';

/** Raw payloads as files under `<dataDir>/archive/`, the local twin of the S3 bucket. */
export class FileArchive implements PayloadArchive {
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
}
