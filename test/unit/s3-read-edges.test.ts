import { createHash } from 'node:crypto';
import type { GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Archive } from '../../functions/adapters/aws/s3-archive';
import { S3Uploads } from '../../functions/adapters/aws/s3-uploads';

/** Answers moto does not give (no Content-Length, no body, access denied), via a stub client. */

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
const pointer = {
  uri: 's3://archive/raw/r1',
  bytes: REPORT.length,
  sha256: createHash('sha256').update(REPORT).digest('hex'),
};
const archive = (out: Partial<GetObjectCommandOutput> | Error) =>
  new S3Archive({ bucket: 'archive', client: answering(out) });

describe('S3Archive.get edges', () => {
  it('passes an access error through instead of calling the object missing', async () => {
    await expect(archive(denied()).get(pointer)).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('checks the size of the bytes read when S3 sends no Content-Length', async () => {
    await expect(archive({ Body: bodyOf('hell') } as never).get(pointer)).rejects.toThrow(
      'archived object s3://archive/raw/r1 has 4 bytes, its pointer says 5',
    );
    await expect(archive({}).get(pointer)).rejects.toThrow('has 0 bytes, its pointer says 5');
  });

  it('returns the bytes when they match without a Content-Length', async () => {
    const bytes = await archive({ Body: bodyOf(REPORT) } as never).get(pointer);
    expect(new TextDecoder().decode(bytes)).toBe(REPORT);
  });
});

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
