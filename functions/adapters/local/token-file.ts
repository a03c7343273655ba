import { randomBytes } from 'node:crypto';
import { chmod, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../../shared/powertools';
import { writeDurably } from './sync-dir';

/** The file of local mode's own token, in the data directory. */
export const TOKEN_FILE = 'token';

/** The tokens of a comma-separated list (`VIGIL_INGEST_TOKENS`, `VIGIL_READ_TOKENS`). */
export const tokenList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);

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
  if (kept !== undefined && TOKEN.test(kept)) {
    // Copied or written by hand with a wider mode: owner-only again.
    if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
    return kept;
  }
  if (kept !== undefined)
    logger.warn('the kept token is not one Vigil made: replacing it with a new one', {
      file: path,
    });
  const token = `vgl_${randomBytes(18).toString('base64url')}`;
  const tmp = `${path}.${process.pid}.tmp`;
  // A new file, so the mode applies: a stale one of an earlier process goes first. On disk
  // before it is printed (file, then its name): a power cut must not change the token.
  await rm(tmp, { force: true });
  await writeDurably(tmp, path, Buffer.from(`${token}\n`), 0o600);
  return token;
};
