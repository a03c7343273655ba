import type { GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Uploads } from '../../functions/adapters/aws/s3-uploads';

/**
 * Answers moto does not give (no Content-Length, no body, access denied), via a stub client.
 * The archive reader's are in test/integration/s3-archive-reader.test.ts.
 */

const answering = (out: Partial<GetObjectCommandOutput> | Error) =>
  ({
    send: async () => {
      if (out instanceof Error) throw out;
      return out;
    },
  }) as unknown as S3Client;

const bodyOf = (text: string) => ({
  transformToByteArray: async () => new TextEncoder().encode(text),
});

const denied = () => Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });

const REPORT = 'hello';

describe('S3Uploads.read edges', () => {
  const uploads = (out: Partial<GetObjectCommandOutput> | Error) =>
    new S3Uploads({ bucket: 'uploads', client: answering(out) });

  it('passes an access error through instead of calling the upload missing', async () => {
    await expect(uploads(denied()).read('u1', 100)).rejects.toMatchObject({
      name: 'AccessDenied',
    });
  });

  it('reads a body that comes without a Content-Length, and an empty object as no bytes', async () => {
    const bytes = await uploads({ Body: bodyOf(REPORT) } as never).read('u1', 100);
    expect(new TextDecoder().decode(bytes)).toBe(REPORT);
    expect(await uploads({}).read('u1', 100)).toEqual(new Uint8Array());
  });
});
