import { S3Client } from '@aws-sdk/client-s3';
import { tracer } from './xray-tracer';

/**
 * With a custom S3 endpoint such as `http://localhost:5000`, virtual-hosted addressing would
 * send requests to `<bucket>.localhost`, which emulators do not serve: use path style there.
 */
const s3UsesCustomEndpoint = (): boolean =>
  Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);

let client: S3Client | undefined;

/**
 * The process's S3 client (see clients.ts), created on first use, in a module of its own: only
 * the functions that write the archive or sign its links import it. Reading the archive needs
 * no S3 SDK (`S3ArchiveReader`).
 */
export const s3 = (): S3Client => {
  client ??= tracer.captureAWSv3Client(
    new S3Client({
      forcePathStyle: s3UsesCustomEndpoint(),
      // Checksums only where S3 requires them or the call names one (the archive's SHA-256).
      // By default the SDK would sign the CRC32 of the empty body into a presigned upload URL
      // (`x-amz-checksum-crc32=AAAAAA==`), which S3 refuses for any real report (aws-sdk-js-v3#6994).
      requestChecksumCalculation: 'WHEN_REQUIRED',
    }),
  );
  return client;
};
