import { linkSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../../../core/errors';

/**
 * One process per data directory: `<dataDir>/vigil.lock` holds the owner's pid and, on Linux,
 * its start time (`<pid> <start>`), created exclusively and never seen empty. A lock whose process is gone (kill -9,
 * power loss) is taken over, and so is one whose pid now belongs to another process (a reboot
 * or a container restart reuses pids): its start time differs. A live one refuses the start
 * with a message that names the other process. A lock with a pid only (older versions, or no
 * `/proc`) is judged by the pid alone.
 */

export const LOCK_FILE = 'vigil.lock';

const code = (e: unknown): string | undefined => (e as { code?: string }).code;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return code(e) === 'EPERM';
  }
};

/**
 * When process `pid` started (field 22 of `/proc/<pid>/stat`, clock ticks since boot);
 * undefined without `/proc` or when it cannot be read.
 */
const startTime = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name in parentheses (which may hold spaces): field 3 onwards.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
};

/** Whether the lock's `pid` (started at `start`, when recorded) is still running. */
const holderAlive = (pid: number, start: string | undefined): boolean => {
  if (!alive(pid)) return false;
  const now = start === undefined ? undefined : startTime(pid);
  return now === undefined || now === start;
};

/** What to tell of a data directory the lock cannot be written in (undefined: another error). */
const unwritable = (dataDir: string, e: unknown): VigilError | undefined => {
  const why = {
    ENOSPC: 'is full: free some space',
    EDQUOT: 'is over its disk quota: free some space',
    EROFS: 'is on a read-only file system',
    EACCES: 'is not writable by this user',
    EPERM: 'is not writable by this user',
  }[code(e) ?? ''];
  return why === undefined
    ? undefined
    : new VigilError(
        'unavailable',
        `data directory ${dataDir} ${why} (${code(e)}), or set VIGIL_DATA_DIR to another directory`,
      );
};

/** Paths locked by this process (a second open in the same process is refused as well). */
const held = new Set<string>();

export interface DataDirLock {
  release(): void;
}

export const lockDataDir = (dataDir: string): DataDirLock => {
  const path = join(dataDir, LOCK_FILE);
  if (held.has(path))
    throw new VigilError(
      'conflict',
      `data directory ${dataDir} is already open in this process (pid ${process.pid})`,
    );
  const start = startTime(process.pid);
  const content = start === undefined ? `${process.pid}\n` : `${process.pid} ${start}\n`;
  // Written whole under a name of its own, then linked into place: another process never sees
  // the lock empty (it would take it for stale and remove it).
  const draft = `${path}.${process.pid}`;
  try {
    writeFileSync(draft, content);
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, path);
        break;
      } catch (e) {
        if (code(e) !== 'EEXIST' || attempt > 2) throw e;
      }
      const found = statSync(path, { throwIfNoEntry: false });
      if (found === undefined) continue;
      const [pidText, holderStart] = readFileSync(path, 'utf8').trim().split(/\s+/);
      const pid = Number.parseInt(pidText ?? '', 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && holderAlive(pid, holderStart))
        throw new VigilError(
          'conflict',
          `data directory ${dataDir} is in use by another Vigil process (pid ${pid}); stop it first, or set VIGIL_DATA_DIR to another directory`,
        );
      // The owner is gone (or its pid is another process's now): its lock is stale. Only that
      // file is removed, not one another starting process has put there meanwhile.
      if (statSync(path, { throwIfNoEntry: false })?.ino !== found.ino) continue;
      try {
        unlinkSync(path);
      } catch (e) {
        if (code(e) !== 'ENOENT') throw e;
      }
    }
  } catch (e) {
    throw unwritable(dataDir, e) ?? e;
  } finally {
    rmSync(draft, { force: true });
  }
  held.add(path);
  let released = false;
  return {
    // Once per handle: a late second call must not remove the lock of the next owner.
    release: () => {
      if (released) return;
      released = true;
      held.delete(path);
      try {
        unlinkSync(path);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
};
