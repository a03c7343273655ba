import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FileArchive } from '../../functions/adapters/local/archive';
import { archiveInput } from '../helpers/archive-input';

// It mocks node:fs/promises, so it runs in a process of its own (ISOLATED in vitest.config.ts):
// in a shared worker the archive module may already be loaded with the real one.
/** The file system calls of the archive's writes, in order (the calls themselves are real). */
const fsCalls = vi.hoisted(() => [] as string[][]);
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    mkdir: async (...args: Parameters<typeof fs.mkdir>) => {
      fsCalls.push(['mkdir', String(args[0])]);
      return fs.mkdir(...args);
    },
    rename: async (from: string, to: string) => {
      fsCalls.push(['rename', from, to]);
      return fs.rename(from, to);
    },
    open: async (...args: Parameters<typeof fs.open>) => {
      // The files it writes are opened with numeric flags; folders (to flush them) with 'r'.
      const [path, flags] = args;
      if (typeof flags === 'number') fsCalls.push(['open', String(path), String(flags)]);
      const handle = await fs.open(...args);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        fsCalls.push(['sync', String(path)]);
        return sync();
      };
      const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<unknown>;
      handle.write = (async (...a: unknown[]) => {
        fsCalls.push(['write', String(path), String(a[2])]);
        return write(...a);
      }) as typeof handle.write;
      return handle;
    },
  };
});

let dir: string;
beforeEach(async () => {
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
});
