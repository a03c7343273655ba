import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDataDir } from '../../functions/adapters/local/store/lock';

/** The data dir lock's edges: stale own pid, a missing dir, late or repeated releases. */

let dir: string;
afterEach(() => rm(dir, { recursive: true, force: true }));
const tempDir = async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-lock-'));
  return dir;
};

describe('lockDataDir', () => {
  it('takes over a lock left with its own pid or with garbage (a previous run of a reused pid)', async () => {
    const d = await tempDir();
    for (const left of [`${process.pid}\n`, 'not a pid']) {
      await writeFile(join(d, LOCK_FILE), left);
      const lock = lockDataDir(d);
      expect(readFileSync(join(d, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
      lock.release();
    }
  });

  it('fails with the file system error when the data dir does not exist', async () => {
    const d = await tempDir();
    expect(() => lockDataDir(join(d, 'missing'))).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });

  it('releases once: a second release never removes the lock of the next owner', async () => {
    const d = await tempDir();
    const first = lockDataDir(d);
    first.release();
    const second = lockDataDir(d);
    first.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(true);
    second.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
  });

  it('releases quietly when the lock file was already deleted', async () => {
    const d = await tempDir();
    const lock = lockDataDir(d);
    await rm(join(d, LOCK_FILE));
    expect(() => lock.release()).not.toThrow();
    // The dir can be locked again.
    lockDataDir(d).release();
  });
});
