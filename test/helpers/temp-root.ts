import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: one temporary directory for the whole run, removed when it ends. The
 * suites' own temporary directories (data dirs, reports, child processes' files) go under it
 * through TMPDIR, which the workers and their child processes inherit, so a failed or killed
 * test leaves nothing behind in the system's /tmp.
 */
export default function setup(): () => void {
  // Once per run: Vitest calls it for each project.
  if (process.env.VIGIL_TEST_TMP !== undefined) return () => undefined;
  const root = mkdtempSync(join(tmpdir(), 'vigil-test-run-'));
  process.env.TMPDIR = root;
  process.env.VIGIL_TEST_TMP = root;
  return () => rmSync(root, { recursive: true, force: true });
}
