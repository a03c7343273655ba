import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ArchivePointer } from '../../core/events';
import type { ArchiveLinks } from '../../core/ports';
import { archiveKeyOf } from './s3-archive-reader';

/**
 * Presigned GETs of archived objects (this bucket only), with S3's response header overrides.
 * Signing needs no permission beyond the caller's `s3:GetObject` on the object. Apart from
 * `S3Archive` so the functions that only read the archive do not bundle the presigner.
 */
export class S3ArchiveLinks implements ArchiveLinks {
  readonly #bucket: string;
  readonly #client: S3Client;

  constructor(options: { bucket: string; client: S3Client }) {
    this.#bucket = options.bucket;
    this.#client = options.client;
  }

  link(
    pointer: ArchivePointer,
    as: { contentType: string; contentDisposition: string; expiresInSeconds: number },
  ): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.#bucket,
      Key: archiveKeyOf(this.#bucket, '', pointer.uri),
      ResponseContentType: as.contentType,
      ResponseContentDisposition: as.contentDisposition,
    });
    return getSignedUrl(this.#client, command, { expiresIn: as.expiresInSeconds });
  }
}
