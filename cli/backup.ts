import { backupDataDir } from '../functions/adapters/local/store/backup';
import type { DevIo } from './dev';

export const BACKUP_USAGE = `Usage: vigil backup <destination> [--data-dir DIR]

Copies local mode's data directory (VIGIL_DATA_DIR, default .vigil) into <destination>, a new
or empty directory, while the server runs. Restore: stop the server and point VIGIL_DATA_DIR at
the copy (or move it into place).
`;

/** `vigil backup <destination>`: a consistent copy of the data directory, safe while running. */
export const runBackup = async (args: readonly string[], io: DevIo): Promise<number> => {
  let dataDir = io.env.VIGIL_DATA_DIR || '.vigil';
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--data-dir' && args[i + 1] !== undefined) dataDir = args[++i] as string;
    else if (arg === '--help' || arg === '-h') {
      io.stdout(BACKUP_USAGE);
      return 0;
    } else if (arg.startsWith('-')) {
      io.stderr(`Unknown option "${arg}".\n\n${BACKUP_USAGE}`);
      return 2;
    } else positional.push(arg);
  }
  if (positional.length !== 1) {
    io.stderr(`Name one destination directory.\n\n${BACKUP_USAGE}`);
    return 2;
  }
  try {
    const r = await backupDataDir(dataDir, positional[0] as string);
    io.stdout(
      `Backed up ${r.source} to ${r.destination}: vigil.db ${(r.databaseBytes / 1024).toFixed(0)} KiB, ${r.archiveFiles} archived file(s).\n` +
        `Restore: stop Vigil, then start it with VIGIL_DATA_DIR=${r.destination}\n`,
    );
    return 0;
  } catch (error) {
    io.stderr(`vigil backup: ${(error as Error).message}\n`);
    return 1;
  }
};
