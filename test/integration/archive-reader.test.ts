import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3Archive } from '../../functions/adapters/aws/s3-archive';
import { FileArchive } from '../../functions/adapters/local/archive';
import { VigilError } from '../../functions/core/errors';
import type { ArchivePointer } from '../../functions/core/events';
import type { ArchiveInput, ArchiveReader } from '../../functions/core/ports';
import { logger } from '../../functions/shared/powertools';
import { type MotoServer, motoArchiveReader, motoAvailable, startMoto } from '../helpers/moto';

const REGION = 'us-east-1';
const BUCKET = 'vigil-archive-reader';
const OTHER_BUCKET = 'someone-elses-bucket';

const sha256 = (body: Uint8Array): string => createHash('sha256').update(body).digest('hex');

const input = (key: string, text: string): ArchiveInput => {
  const body = new TextEncoder().encode(text);
  return { key, body, contentType: 'application/xml', sha256: sha256(body), metadata: {} };
};

const REPORT = '<testsuite name="cart" tests="1"><testcase name="adds"/></testsuite>';

/** The error `act` rejects with, as a VigilError. */
const refusal = async (act: Promise<unknown>): Promise<VigilError> => {
  const error = await act.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VigilError);
  return error as VigilError;
};

describe('FileArchive.get', () => {
  let dataDir: string;
  let archive: FileArchive;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vigil-ar-'));
    archive = new FileArchive(dataDir);
  });

  it('reads back exactly what put stored', async () => {
    // Prepare
    const pointer = await archive.put(input('shop/2026/11/25/run-1.xml', REPORT));

    // Act
    const body = await archive.get(pointer);

    // Assess
    expect(new TextDecoder().decode(body)).toBe(REPORT);
  });

  it('refuses a file changed since it was archived', async () => {
    // Prepare
    const other = REPORT.replace('cart', 'shop');
    const sameSize = await archive.put(input('shop/2026/11/25/run-2.xml', other));
    const grown = await archive.put(input('shop/2026/11/25/run-3.xml', REPORT));
    await writeFile(new URL(sameSize.uri), other.replace('adds', 'adda'));
    await writeFile(new URL(grown.uri), `${REPORT}\n`);

    // Act
    const changed = await refusal(archive.get(sameSize));
    const longer = await refusal(archive.get(grown));

    // Assess
    expect(changed.code).toBe('internal');
    expect(changed.message).toContain('does not match its sha256');
    expect(longer.message).toContain(
      `has ${REPORT.length + 1} bytes, its pointer says ${REPORT.length}`,
    );
  });

  it('writes again a file damaged in place (same size) when its content is put again, and warns', async () => {
    // Prepare: a stored object with one byte changed in place.
    const body = REPORT.replace('cart', 'cash');
    const pointer = await archive.put(input('shop/2026/11/25/run-4.xml', body));
    await writeFile(new URL(pointer.uri), body.replace('adds', 'adda'));
    await refusal(archive.get(pointer));
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);

    // Act: a later run with the same content.
    const again = await archive.put(input('shop/2026/11/26/run-5.xml', body));

    // Assess: the same object, readable again; the warning names the file.
    expect(again).toEqual(pointer);
    expect(new TextDecoder().decode(await archive.get(pointer))).toBe(body);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('does not match its sha256'), {
      file: fileURLToPath(pointer.uri),
    });
    warn.mockRestore();
  });

  it('refuses pointers outside its archive directory', async () => {
    // Prepare
    const root = join(dataDir, 'archive');
    const outsideFile = join(dataDir, 'secret.txt');
    await writeFile(outsideFile, 'token');
    await mkdir(join(root, 'shop'), { recursive: true });
    await symlink(outsideFile, join(root, 'shop', 'link.xml'));
    const elsewhere = join(await mkdtemp(join(tmpdir(), 'vigil-ar-other-')), 'archive');
    const at = (uri: string): ArchivePointer => ({
      uri,
      bytes: 5,
      sha256: sha256(Buffer.from('token')),
    });
    const uris = [
      pathToFileURL(outsideFile).href,
      pathToFileURL(join(dataDir, 'absent.txt')).href, // not "not found": no probing outside
      `${pathToFileURL(root).href}/../secret.txt`,
      `${pathToFileURL(root).href}/%2e%2e/secret.txt`,
      `${pathToFileURL(root).href}/shop%2F..%2F..%2Fsecret.txt`,
      pathToFileURL(root).href,
      pathToFileURL(join(root, 'shop', 'link.xml')).href,
      pathToFileURL(join(elsewhere, 'objects', 'ab', 'report.xml')).href, // not an object name
      `s3://${BUCKET}/shop/x.xml`,
      'not a uri',
    ];

    // Act
    const errors = await Promise.all(uris.map((uri) => refusal(archive.get(at(uri)))));

    // Assess
    for (const e of errors) {
      expect(e.code).toBe('bad_request');
      expect(e.message).toContain('is not a file in this archive');
    }
  });

  it('reads an object of a moved or restored data dir from its own objects, by content', async () => {
    // Prepare: a pointer written by another data dir (a backup restored elsewhere)
    const other = new FileArchive(await mkdtemp(join(tmpdir(), 'vigil-ar-moved-')));
    const body = '<testsuite name="moved" tests="0"/>';
    const moved = await other.put(input('shop/2026/11/25/moved.xml', body));
    const missing = await other.put(input('shop/2026/11/25/missing.xml', `${body} `));
    await archive.put(input('shop/2026/11/25/moved.xml', body));

    // Act
    const read = await archive.get(moved);
    const gone = await refusal(archive.get(missing));

    // Assess
    expect(moved.uri).not.toContain(dataDir);
    expect(new TextDecoder().decode(read)).toBe(body);
    expect(gone.code).toBe('not_found');
  });

  it('says not_found for an archived file that is gone', async () => {
    // Prepare
    const uri = pathToFileURL(join(dataDir, 'archive', 'shop', 'never.xml')).href;

    // Act
    const error = await refusal(archive.get({ uri, bytes: 1, sha256: 'a'.repeat(64) }));

    // Assess
    expect(error.code).toBe('not_found');
  });
});

const withMoto = motoAvailable('S3ArchiveReader (archive-reader.test.ts)');

describe.skipIf(!withMoto)('S3ArchiveReader against moto, reading what S3Archive stored', () => {
  let moto: MotoServer;
  let s3: S3Client;
  let writer: S3Archive;
  let archive: ArchiveReader;

  beforeAll(async () => {
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    moto = await startMoto();
    s3 = new S3Client({
      region: REGION,
      endpoint: moto.endpoint,
      forcePathStyle: true,
      credentials,
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new CreateBucketCommand({ Bucket: OTHER_BUCKET }));
    writer = new S3Archive({ bucket: BUCKET, client: s3, prefix: 'raw' });
    archive = motoArchiveReader(moto, BUCKET, 'raw');
  });

  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  it('reads back exactly what put stored, under keys that need escaping too', async () => {
    // Prepare
    const plain = await writer.put(input('shop/2026/11/25/run-1.xml', REPORT));
    const odd = await writer.put(input('shop b+c/ü%20é/run (2)~.xml', REPORT));

    // Act
    const bodies = await Promise.all([archive.get(plain), archive.get(odd)]);

    // Assess
    expect(plain.uri).toBe(`s3://${BUCKET}/raw/shop/2026/11/25/run-1.xml`);
    for (const body of bodies) expect(new TextDecoder().decode(body)).toBe(REPORT);
  });

  it('refuses an object changed since it was archived', async () => {
    // Prepare
    const sameSize = await writer.put(input('shop/run-2.xml', REPORT));
    const shrunk = await writer.put(input('shop/run-3.xml', REPORT));
    const overwrite = (key: string, body: string) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    await overwrite('raw/shop/run-2.xml', REPORT.replace('adds', 'adda'));
    await overwrite('raw/shop/run-3.xml', REPORT.slice(1));

    // Act
    const changed = await refusal(archive.get(sameSize));
    const shorter = await refusal(archive.get(shrunk));

    // Assess
    expect(changed.code).toBe('internal');
    expect(changed.message).toContain('does not match its sha256');
    expect(shorter.message).toContain(
      `has ${REPORT.length - 1} bytes, its pointer says ${REPORT.length}`,
    );
  });

  it('refuses pointers to another bucket or outside its prefix, without reading them', async () => {
    // Prepare
    const body = Buffer.from(REPORT);
    await s3.send(new PutObjectCommand({ Bucket: OTHER_BUCKET, Key: 'raw/x.xml', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'private/x.xml', Body: body }));
    const at = (uri: string): ArchivePointer => ({ uri, bytes: body.length, sha256: sha256(body) });
    const uris = [
      `s3://${OTHER_BUCKET}/raw/x.xml`,
      `s3://${BUCKET}raw/x.xml`,
      `s3://${BUCKET}/private/x.xml`,
      `s3://${BUCKET}/`,
      'file:///etc/passwd',
    ];

    // Act
    const errors = await Promise.all(uris.map((uri) => refusal(archive.get(at(uri)))));

    // Assess
    for (const e of errors) {
      expect(e.code).toBe('bad_request');
      expect(e.message).toContain(`is not in this archive (s3://${BUCKET}/raw/)`);
    }
  });

  it('says not_found for an archived object that is gone', async () => {
    // Act
    const error = await refusal(
      archive.get({ uri: `s3://${BUCKET}/raw/never.xml`, bytes: 1, sha256: 'a'.repeat(64) }),
    );

    // Assess
    expect(error.code).toBe('not_found');
  });
});
