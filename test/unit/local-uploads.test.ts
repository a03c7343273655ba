import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalUploads } from '../../functions/adapters/local/uploads';

/** Local mode's staged uploads: tickets, admission of a PUT, and reading the stored report. */

const ID_A = 'a'.repeat(32);
const ID_B = 'b'.repeat(32);
const put = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const url = (id: string) => new URL(`http://127.0.0.1/v1/uploads/${id}`);
const request = (uploadId: string, expiresInSeconds = 60) => ({
  uploadId,
  bytes: 3,
  contentType: 'application/gzip',
  expiresInSeconds,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-uploads-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalUploads', () => {
  it('admits a PUT only for a live ticket with the declared length and type', async () => {
    // Prepare
    const uploads = new LocalUploads(dir, () => 'http://127.0.0.1:3000');
    const ok = { 'content-length': '3', 'content-type': 'application/gzip' };

    // Act
    const ticket = await uploads.create(request(ID_A));
    await uploads.create(request(ID_B, -1)); // already expired

    // Assess
    expect(ticket).toMatchObject({
      url: `http://127.0.0.1:3000/v1/uploads/${ID_A}`,
      method: 'PUT',
      headers: { 'content-type': 'application/gzip', 'content-length': '3' },
    });
    // Each refusal says what is wrong: the length or type the URL was made for, or the URL.
    expect(() => uploads.authorize(put({ ...ok, 'content-length': '4' }), url(ID_A))).toThrow(
      expect.objectContaining({
        code: 'bad_request',
        message: expect.stringMatching(/takes exactly 3 bytes; the request declares 4/),
        location: { path: 'header.content-length' },
      }),
    );
    expect(() =>
      uploads.authorize(put({ ...ok, 'content-type': 'text/plain' }), url(ID_A)),
    ).toThrow(
      expect.objectContaining({
        code: 'bad_request',
        message: expect.stringMatching(/takes Content-Type application\/gzip/),
      }),
    );
    for (const target of [url(ID_B), new URL('http://127.0.0.1/v1/uploads/nope')])
      expect(() => uploads.authorize(put(ok), target)).toThrow(
        expect.objectContaining({ code: 'forbidden', message: expect.stringMatching(/expired/) }),
      );
    // An admitted PUT claims the URL: a second one is refused as a used URL until it is given back.
    const first = put(ok);
    expect(uploads.authorize(first, url(ID_A))).toBe(true);
    expect(() => uploads.authorize(put(ok), url(ID_A))).toThrow(
      expect.objectContaining({
        code: 'precondition_failed',
        message: expect.stringMatching(/already used/),
      }),
    );
    uploads.unclaim(ID_A, put(ok)); // not the claimant: no effect
    expect(() => uploads.authorize(put(ok), url(ID_A))).toThrow(
      expect.objectContaining({ code: 'precondition_failed' }),
    );
    uploads.unclaim(ID_A, first);
    expect(uploads.authorize(put(ok), url(ID_A))).toBe(true);
  });

  it('forgets expired tickets when the next one is made', async () => {
    // Prepare
    const uploads = new LocalUploads(dir, () => 'http://x');
    await uploads.create(request(ID_B, -1));

    // Act
    await uploads.create(request(ID_A));

    // Assess: the expired ticket is gone, so even a body of its size is refused.
    await expect(uploads.put(ID_B, Buffer.from('abc'))).rejects.toMatchObject({
      code: 'bad_request',
    });
  });

  it('stores a body of the declared size once, and reads it back within the limit', async () => {
    // Prepare
    const uploads = new LocalUploads(dir, () => 'http://x');
    await uploads.create(request(ID_A));

    // Act
    const wrongSize = uploads.put(ID_A, Buffer.from('abcd'));
    await expect(wrongSize).rejects.toThrow(`The body of upload ${ID_A} is not the declared size.`);
    await uploads.put(ID_A, Buffer.from('abc'));

    // Assess
    expect(Buffer.from(await uploads.read(ID_A, 3)).toString()).toBe('abc');
    await expect(uploads.read(ID_A, 2)).rejects.toMatchObject({
      code: 'payload_too_large',
      location: { path: 'query.upload' },
    });
    await expect(uploads.put(ID_A, Buffer.from('abc'))).rejects.toMatchObject({
      code: 'bad_request',
    });
    await expect(uploads.read('../../etc/passwd', 10)).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(uploads.read('c'.repeat(32), 10)).rejects.toMatchObject({ code: 'not_found' });
  });
});
