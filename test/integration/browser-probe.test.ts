import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { probeSchema } from '../../functions/core/config';
import { createBrowserProber } from '../../functions/shared/browser-probe';
import { logger } from '../../functions/shared/powertools';
import { MemoryArchive } from '../helpers/fakes';

/**
 * The parent side of browser checks with stand-in child processes (plain .mjs modules, no
 * Chromium): what a child that reports, dies or is missing becomes.
 */

let dir: string;

// Answers a passing report when asked to (vars.mode), else complains on stderr and exits 3.
const CHILD = `process.once('message', (job) => {
  if (job.vars.mode === 'report')
    process.send({ ok: true, durationMs: 5, steps: [], vitals: {}, consoleErrors: [],
      failedRequests: [], files: {} }, () => process.exit(0));
  else process.stderr.write('child trouble', () => process.exit(3));
});`;

const probe = (vars?: Record<string, string>) =>
  probeSchema.parse({
    name: 'shop',
    type: 'browser',
    script: '/checks/shop.mjs',
    vars,
    timeoutMs: 5000,
  });

const prober = (childEntry: string) =>
  createBrowserProber({
    secrets: new EnvSecretResolver({}),
    archive: new MemoryArchive(),
    chromium: async () => ({ executablePath: '/nowhere/chromium', args: [] }),
    childEntry,
  });

const signal = new AbortController().signal;

describe('browser checks with a stand-in child', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-browser-probe-'));
    await writeFile(join(dir, 'child.mjs'), CHILD);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the report of a child that answers', async () => {
    // Act
    const outcome = await prober(join(dir, 'child.mjs'))(probe({ mode: 'report' }), signal);
    // Assess
    expect(outcome).toMatchObject({ status: 'up' });
    expect(outcome).not.toHaveProperty('failure');
  });

  it('fails a check whose child exits without a result, and logs what it wrote on stderr', async () => {
    // Prepare
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    // Act
    const outcome = await prober(join(dir, 'child.mjs'))(probe(), signal);
    // Assess
    expect(outcome).toMatchObject({
      status: 'down',
      failure: {
        assertion: 'browser',
        message: "the browser check's process exited (code 3) without a result",
      },
    });
    expect(warn).toHaveBeenCalledWith('browser check child output', { stderr: 'child trouble' });
    warn.mockRestore();
  });

  it('is a config error when the runner module is missing', async () => {
    // Act
    const outcome = await prober(join(dir, 'no-such-child.mjs'))(probe(), signal);
    // Assess
    expect(outcome).toMatchObject({
      status: 'down',
      failure: {
        assertion: 'config',
        message: expect.stringContaining(`no browser runner at ${join(dir, 'no-such-child.mjs')}`),
      },
    });
  });
});
