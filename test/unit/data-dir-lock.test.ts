import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDataDir } from '../../functions/adapters/local/store/lock';

/** The data dir lock's edges: stale own pid, a reused pid, a missing dir, late or repeated releases. */

/** Field 22 of /proc/<pid>/stat (Linux): when the process started. */
const startOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
};
const withProc = existsSync(`/proc/${process.pid}/stat`);

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
      expect(readFileSync(join(d, LOCK_FILE), 'utf8')).toBe(
        withProc ? `${process.pid} ${startOf(process.pid)}\n` : `${process.pid}\n`,
      );
      // The lock was written whole beside it, then linked into place: no draft is left.
      expect(readdirSync(d)).toEqual([LOCK_FILE]);
      lock.release();
    }
    expect(readdirSync(d)).toEqual([]);
  });

  it.runIf(withProc)(
    'takes over a lock whose live pid started at another time (a reused pid), refuses its real holder',
    async () => {
      // Prepare: pid 1 and the parent process are alive; the locks say when their holder started.
      const d = await tempDir();
      const lockFile = join(d, LOCK_FILE);
      const parent = process.ppid;

      // Act and assess: another start time is another process: the lock is stale.
      for (const pid of [1, parent]) {
        const wrong = String(Number(startOf(pid)) + 1);
        await writeFile(lockFile, `${pid} ${wrong}\n`);
        const lock = lockDataDir(d);
        expect(readFileSync(lockFile, 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
        lock.release();
      }
      // The holder itself (same pid, same start time), or a lock of an older version that
      // names a live pid only, still refuses the start.
      for (const left of [`${parent} ${startOf(parent)}\n`, `${parent}\n`]) {
        await writeFile(lockFile, left);
        expect(() => lockDataDir(d)).toThrow(`in use by another Vigil process (pid ${parent})`);
        expect(readFileSync(lockFile, 'utf8')).toBe(left);
      }
    },
  );

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

  it('says that the data directory is read-only (or not writable), not a raw error of its lock file', async (ctx) => {
    // Prepare: a read-only file system where this machine lets us mount one (root); else, a
    // folder without write permission (which does not stop root).
    const d = await tempDir();
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', d], { stdio: 'ignore' });
      mounted = true;
    } catch {
      if (process.getuid?.() === 0)
        ctx.skip('neither a read-only mount nor permissions stop root here');
      await chmod(d, 0o555);
    }
    try {
      // Act and assess
      expect(() => lockDataDir(d)).toThrow(
        mounted
          ? `data directory ${d} is on a read-only file system (EROFS)`
          : `data directory ${d} is not writable by this user (EACCES)`,
      );
    } finally {
      if (mounted) execFileSync('umount', [d]);
      else await chmod(d, 0o755);
    }
  });
});
