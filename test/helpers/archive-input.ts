import { createHash } from 'node:crypto';

/** An archive put of `text` under `key`, with its true SHA-256. */
export const archiveInput = (key: string, text: string) => ({
  key,
  body: Buffer.from(text),
  contentType: 'application/xml',
  sha256: createHash('sha256').update(text).digest('hex'),
  metadata: {},
});
