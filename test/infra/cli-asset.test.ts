import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cliAfterBundling, REPO_ROOT } from '../../lib/function-defaults';

/** The ingest function's bundling writes the single-file CLI beside the handler. */

const out = mkdtempSync(join(tmpdir(), 'vigil-cli-asset-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('builds vigil.mjs into the bundle directory, without AWS code', () => {
  for (const command of cliAfterBundling(REPO_ROOT, out))
    execFileSync('bash', ['-c', command], { cwd: REPO_ROOT, stdio: 'pipe' });
  const text = readFileSync(join(out, 'vigil.mjs'), 'utf8');
  expect(text.startsWith('#!/usr/bin/env node')).toBe(true);
  expect(text).not.toMatch(/@aws-sdk|aws-xray-sdk/);
}, 60_000);
