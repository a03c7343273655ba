import { open } from 'node:fs/promises';

/** Flushes a directory's entries to disk (a file created or renamed in it, a folder made in it). */
export const syncDir = async (dir: string): Promise<void> => {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};
