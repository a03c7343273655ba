import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FileArchive } from '../../functions/adapters/local/archive';
import { archiveInput } from '../helpers/archive-input';

// It mocks node:fs, so it runs in a process of its own (ISOLATED in vitest.config.ts): in a
// shared worker the archive module may already be loaded with the real one.
/** The file system calls of the archive's writes, in order (the calls themselves are real). */
const fsCalls = vi.hoisted(() => [] as string[][]);
/** Calls to fail once (by name: 'open r', 'open w', 'read', 'write', 'rename', 'fsync'). */
const failOnce = vi.hoisted(() => new Map<string, string>());
const failure = (name: string): NodeJS.ErrnoException | undefined => {
  const code = failOnce.get(name);
  if (code === undefined) return undefined;
  failOnce.delete(name);
  return Object.assign(new Error(`${code}: injected`), { code });
};
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  /** The path each open descriptor was opened with. */
  const paths = new Map<number, string>();
  return {
    ...fs,
    mkdirSync: (...args: Parameters<typeof fs.mkdirSync>) => {
      fsCalls.push(['mkdir', String(args[0])]);
      return fs.mkdirSync(...args);
    },
    rename: (from: string, to: string, callback: (e: NodeJS.ErrnoException | null) => void) => {
      fsCalls.push(['rename', from, to]);
      const error = failure('rename');
      if (error) return callback(error);
      fs.rename(from, to, callback);
    },
    // The files it writes are created with numeric flags (in the pool); folders (to flush them)
    // and archived files (to compare them) are opened with 'r' in place.
    open: (
      path: string,
      flags: number,
      mode: number,
      callback: (e: NodeJS.ErrnoException | null, fd?: number) => void,
    ) => {
      fsCalls.push(['open', path, String(flags)]);
      const error = failure('open w');
      if (error) return callback(error);
      fs.open(path, flags, mode, (e, fd) => {
        if (!e) paths.set(fd, path);
        callback(e, fd);
      });
    },
    openSync: (path: string, flags: string) => {
      if (!fs.statSync(path).isDirectory()) {
        const error = failure('open r');
        if (error) throw error;
      }
      const fd = fs.openSync(path, flags);
      paths.set(fd, path);
      return fd;
    },
    fsync: (fd: number, callback: (e: NodeJS.ErrnoException | null) => void) => {
      fsCalls.push(['sync', paths.get(fd) ?? '?']);
      const error = failure('fsync');
      if (error) return callback(error);
      fs.fsync(fd, callback);
    },
    write: (fd: number, ...args: unknown[]) => {
      fsCalls.push(['write', paths.get(fd) ?? '?', String(args[2])]);
      const error = failure('write');
      if (error) return (args.at(-1) as (e: Error) => void)(error);
      (fs.write as (...a: unknown[]) => void)(fd, ...args);
    },
    read: (fd: number, ...args: unknown[]) => {
      const error = failure('read');
      // 'EOF': the read finds nothing (the file was cut short since its size was read).
      if (error?.code === 'EOF') return (args.at(-1) as (e: null, n: number) => void)(null, 0);
      if (error) return (args.at(-1) as (e: Error) => void)(error);
      (fs.read as (...a: unknown[]) => void)(fd, ...args);
    },
  };
});

let dir: string;
beforeEach(async () => {
  failOnce.clear();
  dir = await mkdtemp(join(tmpdir(), 'vigil-archive-'));
});

describe('FileArchive write order', () => {
  it('writes each object durably before it answers: data, then rename, then its folder entry', async () => {
    // Prepare
    const archive = new FileArchive(dir);
    fsCalls.length = 0;

    // Act: the first object of its folder, then the same bytes again under another key.
    const pointer = await archive.put(archiveInput('shop/r1.xml', '<x/>'));
    const first = fsCalls.splice(0);
    await archive.put(archiveInput('shop/r2.xml', '<x/>'));

    // Assess: the open (O_DSYNC: each write on disk when it returns) found no folder; the folders were
    // made (archive/objects/<xx>), each one's entry flushed in its parent; then the rename,
    // then the object's entry flushed. The same content is not written twice.
    const path = fileURLToPath(pointer.uri);
    const folder = dirname(path);
    const objects = dirname(folder);
    const archiveDir = dirname(objects);
    const tmp = first.find((c) => c[0] === 'rename')?.[1] ?? '';
    expect(tmp).toMatch(/\.tmp$/);
    const dsync = String(
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC,
    );
    expect(first).toEqual([
      ['open', tmp, dsync],
      ['mkdir', folder],
      ['sync', objects],
      ['sync', archiveDir],
      ['sync', dirname(archiveDir)],
      ['open', tmp, dsync],
      ['write', tmp, '4'],
      ['rename', tmp, path],
      ['sync', folder],
    ]);
    expect(fsCalls).toEqual([]);
    expect(await readFile(path, 'utf8')).toBe('<x/>');
  });

  it('writes into an existing folder without making it again, and rewrites a missing object', async () => {
    // Prepare: an object whose file is gone, its folder still there.
    const archive = new FileArchive(dir);
    const pointer = await archive.put(archiveInput('a.xml', '<a/>'));
    const path = fileURLToPath(pointer.uri);
    await fsp.rm(path);
    fsCalls.length = 0;

    // Act
    await archive.put(archiveInput('a.xml', '<a/>'));

    // Assess: one write, the rename and the folder's flush; the bytes are back.
    expect(fsCalls.map((c) => c[0])).toEqual(['open', 'write', 'rename', 'sync']);
    expect(await readFile(path, 'utf8')).toBe('<a/>');
  });

  it('rewrites an object damaged in place (same size) the same way: temporary file, rename, folder entry', async () => {
    // Prepare: an object with one byte changed in place.
    const archive = new FileArchive(dir);
    const pointer = await archive.put(archiveInput('b.xml', '<b/>'));
    const path = fileURLToPath(pointer.uri);
    await fsp.writeFile(path, '<c/>');
    fsCalls.length = 0;

    // Act
    await archive.put(archiveInput('b.xml', '<b/>'));

    // Assess: written durably beside it, renamed over it, its entry flushed.
    const tmp = fsCalls[0]?.[1] ?? '';
    expect(tmp).toMatch(/\.tmp$/);
    expect(fsCalls.map((c) => c.slice(0, 2))).toEqual([
      ['open', tmp],
      ['write', tmp],
      ['rename', tmp],
      ['sync', dirname(path)],
    ]);
    expect(await readFile(path, 'utf8')).toBe('<b/>');
  });

  it('writes a report of megabytes in one write: with O_DSYNC each write waits for the disk', async () => {
    // Prepare: 3 MB, six times the 512 KiB pieces that fs.writeFile writes.
    const archive = new FileArchive(dir);
    const body = 'x'.repeat(3 * 1024 * 1024);
    await archive.put(archiveInput('warm.xml', '<w/>'));
    fsCalls.length = 0;

    // Act
    const pointer = await archive.put(archiveInput('big.xml', body));

    // Assess: one write of every byte, and the file holds them.
    expect(fsCalls.filter((c) => c[0] === 'write').map((c) => c[2])).toEqual([String(body.length)]);
    expect((await fsp.stat(fileURLToPath(pointer.uri))).size).toBe(body.length);
  });

  it('answers a full disk as unavailable and leaves no temporary file', async () => {
    // Prepare
    const archive = new FileArchive(dir);
    await archive.put(archiveInput('warm.xml', '<w/>'));
    failOnce.set('write', 'ENOSPC');

    // Act
    const put = archive.put(archiveInput('full.xml', '<full/>'));

    // Assess: the store's 503, and the folder holds only the first object.
    await expect(put).rejects.toMatchObject({ code: 'unavailable' });
    const tmp = fsCalls.find((c) => c[0] === 'write' && c[1]?.endsWith('.tmp'))?.[1] ?? '';
    expect(tmp).toMatch(/\.tmp$/);
    await expect(fsp.stat(tmp)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes an object again when the one there cannot be opened or read, or is cut short', async () => {
    // Prepare
    const archive = new FileArchive(dir);
    const pointer = await archive.put(archiveInput('c.xml', '<c/>'));
    const path = fileURLToPath(pointer.uri);

    for (const [call, code] of [
      ['open r', 'EIO'],
      ['read', 'EIO'],
      ['read', 'EOF'],
    ] as const) {
      failOnce.set(call, code);
      fsCalls.length = 0;

      // Act
      await archive.put(archiveInput('c.xml', '<c/>'));

      // Assess: not trusted, so written durably again; the bytes are still there.
      expect(fsCalls.map((c) => c[0])).toEqual(['open', 'write', 'rename', 'sync']);
      expect(await readFile(path, 'utf8')).toBe('<c/>');
    }
  });
});

describe('FileArchive write failures', () => {
  it.each([
    ['open w', 'EACCES'],
    ['fsync', 'EIO'],
    ['rename', 'EIO'],
  ])('rejects the put when %s fails (%s), as the store failure it is', async (call, code) => {
    // Prepare
    const archive = new FileArchive(dir);
    await archive.put(archiveInput('warm.xml', '<w/>'));
    failOnce.set(call, code);

    // Act
    const put = archive.put(archiveInput('broken.xml', `<${call.replace(' ', '')}/>`));

    // Assess: EACCES as it is; EIO as the store's 503.
    await expect(put).rejects.toMatchObject(
      code === 'EIO' ? { code: 'unavailable' } : { code: 'EACCES' },
    );
  });
});
