import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../../../core/errors';

/**
 * One process per data directory: `<dataDir>/vigil.lock` holds the owner's pid, created
 * exclusively. A lock whose process is gone (kill -9, power loss) is taken over; a live one
 * refuses the start with a message that names the other process.
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
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if (code(e) !== 'EEXIST' || attempt > 2) throw e;
    }
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
      throw new VigilError(
        'conflict',
        `data directory ${dataDir} is in use by another Vigil process (pid ${pid}); stop it first, or set VIGIL_DATA_DIR to another directory`,
      );
    // The owner is gone: its lock is stale.
    try {
      unlinkSync(path);
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
    }
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
