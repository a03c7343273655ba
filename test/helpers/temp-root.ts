import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `statfs`'s type of a tmpfs (Linux's TMPFS_MAGIC). */
const TMPFS = 0x01021994;

/** A run writes ~150 MB at most under its root (2026-12-05); room for ten times that. */
const ROOM = 1536 * 1024 * 1024;

/**
 * Where the run's directory goes: the system's temporary directory when TMPDIR names one, else
 * /dev/shm when it is a memory file system with room (Linux), else the system's. The suites'
 * stores, archives and child processes fsync what they write: on a disk that is kernel time and
 * waiting for each sync (2-3 s of a 70 s run here), and none of them needs the data to survive
 * the machine. The tests of a full disk mount a small tmpfs of their own.
 */
const parent = (): string => {
  if (process.env.TMPDIR) return tmpdir();
  try {
    const shm = statfsSync('/dev/shm');
    if (shm.type === TMPFS && shm.bavail * shm.bsize >= ROOM) return '/dev/shm';
  } catch {
    // No /dev/shm (macOS, Windows).
  }
  return tmpdir();
};

/**
 * Vitest global setup: one temporary directory for the whole run, removed when it ends. The
 * suites' own temporary directories (data dirs, reports, child processes' files) go under it
 * through TMPDIR, which the workers and their child processes inherit, so a failed or killed
 * test leaves nothing behind.
 */
export default function setup(): () => void {
  // Once per run: Vitest calls it for each project.
  if (process.env.VIGIL_TEST_TMP !== undefined) return () => undefined;
  const root = mkdtempSync(join(parent(), 'vigil-test-run-'));
  process.env.TMPDIR = root;
  process.env.VIGIL_TEST_TMP = root;
  return () => rmSync(root, { recursive: true, force: true });
}
