import type { ArchivePointer } from '../../core/events';
import type { ArchiveReader } from '../../core/ports';
import type { S3Archive } from './s3-archive';

/**
 * A reader of the `S3Archive` of `bucket` whose module and S3 client load (`import()`) at the
 * first `get`, not at the function's init: evaluating the S3 SDK is the largest part of the init
 * of the functions that read the archive (`npm run bench:cold-start`), and some invocations never
 * touch it (the status function reads it only for reports).
 */
export const lazyS3Archive = (bucket: string): ArchiveReader => {
  let archive: Promise<S3Archive> | undefined;
  return {
    get: async (pointer: ArchivePointer): Promise<Uint8Array> => {
      archive ??= Promise.all([import('./s3-archive'), import('./s3-client')]).then(
        ([{ S3Archive }, { s3 }]) => new S3Archive({ bucket, client: s3() }),
      );
      return (await archive).get(pointer);
    },
  };
};
