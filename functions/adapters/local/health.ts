import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HealthCheck } from '../../core/health';

/**
 * The local store (archive, ledger, bus log, metrics) is the data directory: it is healthy
 * when a file can be written there and removed again.
 */
export const dataDirCheck = (dataDir: string): HealthCheck => ({
  name: 'store',
  check: async () => {
    const probe = join(dataDir, `.health-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(probe, 'ok');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new Error(`data directory not writable (${code})`);
    } finally {
      // Also when the write failed: on a full disk the file is made, then its bytes refused.
      // The write's error is the one to tell (an unusable folder fails the removal too).
      await rm(probe, { force: true }).catch(() => undefined);
    }
  },
});
