import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../../shared/powertools';

/** The file of local mode's own token, in the data directory. */
export const TOKEN_FILE = 'token';

/** What `localToken` makes: `vgl_` and 24 base64url characters (18 random bytes). */
const TOKEN = /^vgl_[A-Za-z0-9_-]{24}$/;

/**
 * The ingest token local mode uses when it is given none: made at the first start and kept in
 * `<dataDir>/token` (readable by its owner only), so that a restart keeps CI jobs, `curl`
 * commands and signed-in dashboards working. A file that does not hold such a token is replaced
 * by a new one (and said so). Call it with the data directory's lock held (one process).
 */
export const localToken = async (dataDir: string): Promise<string> => {
  const path = join(dataDir, TOKEN_FILE);
  const kept = await readFile(path, 'utf8').then(
    (text) => text.trim(),
    (error: { code?: string }) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    },
  );
  if (kept !== undefined && TOKEN.test(kept)) return kept;
  if (kept !== undefined)
    logger.warn('the kept token is not one Vigil made: replacing it with a new one', {
      file: path,
    });
  const token = `vgl_${randomBytes(18).toString('base64url')}`;
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await rename(tmp, path);
  return token;
};
