import { existsSync, readdirSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'libsql';
import { NOTIFY_DEAD_LETTER_FILE } from '../alert-dispatcher';
import { TOKEN_FILE } from '../token-file';
import { DB_FILE } from './database';

/**
 * A consistent copy of a data directory, taken while the server runs: the database through
 * SQLite's `VACUUM INTO` (one read transaction: a snapshot of every committed write, whatever
 * is being written meanwhile), then the archive. Archive files never change once written and
 * are written before the transaction that points to them commits, so every run in the copied
 * database finds its payloads in the copied archive (files of later runs may come along: they
 * are harmless), then the alert deliveries given up (`notify-dead-letter.ndjson`, when there
 * is one: an append-only file, copied as it is at that moment) and the generated token (`token`,
 * when there is one: a restored directory accepts the token CI already has). Needs no lock: it
 * only reads.
 */

export interface BackupReport {
  source: string;
  destination: string;
  databaseBytes: number;
  archiveFiles: number;
}

const countFiles = (dir: string): number =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length
    : 0;

export const backupDataDir = async (
  sourceDir: string,
  destinationDir: string,
): Promise<BackupReport> => {
  const source = resolve(sourceDir);
  const destination = resolve(destinationDir);
  if (!existsSync(join(source, DB_FILE)))
    throw new Error(`${source} is not a Vigil data directory (no ${DB_FILE} in it)`);
  if (existsSync(destination) && readdirSync(destination).length > 0)
    throw new Error(`${destination} is not empty: back up into a new or empty directory`);
  // Owner-only, as the data directory it copies (store/index.ts).
  await mkdir(destination, { recursive: true, mode: 0o700 });
  await chmod(destination, 0o700);
  const db = new Database(join(source, DB_FILE), { readonly: true });
  try {
    db.exec('PRAGMA busy_timeout = 10000');
    db.prepare('VACUUM INTO ?').run(join(destination, DB_FILE));
  } finally {
    db.close();
  }
  const archive = join(source, 'archive');
  if (existsSync(archive)) await cp(archive, join(destination, 'archive'), { recursive: true });
  for (const file of [NOTIFY_DEAD_LETTER_FILE, TOKEN_FILE])
    await copyFile(join(source, file), join(destination, file)).catch(
      (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      },
    );
  // Owner-only inside too, whatever the caller's umask and the source's modes: the directory's
  // own mode no longer protects its files once they are copied on (`cp -a`, tar).
  for (const entry of await readdir(destination, { recursive: true, withFileTypes: true }))
    await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o700 : 0o600);
  return {
    source,
    destination,
    databaseBytes: (await stat(join(destination, DB_FILE))).size,
    archiveFiles: countFiles(join(destination, 'archive')),
  };
};
