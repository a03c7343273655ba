import { closeSync, fsync, openSync } from 'node:fs';

/**
 * Flushes a directory's entries to disk (a file created or renamed in it, a folder made in it).
 * Only the fsync waits in libuv's thread pool: opening and closing the folder are made in place
 * (each trip to the pool costs the calling thread CPU of its own).
 */
export const syncDir = async (dir: string): Promise<void> => {
  const fd = openSync(dir, 'r');
  try {
    await new Promise<void>((ok, fail) => fsync(fd, (e) => (e ? fail(e) : ok())));
  } finally {
    closeSync(fd);
  }
};
