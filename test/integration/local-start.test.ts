import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { runEntry } from '../helpers/fakes';

/** Starting local mode on an IPv6 loopback, over the dashboard journals of an earlier version. */

let pipeline: LocalPipeline | undefined;
let dataDir: string;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

const run = runEntry();

describe('startLocal', () => {
  it('imports the dashboard journals of an earlier version and serves on [::1]', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vigil-start-'));
    await mkdir(join(dataDir, 'status'));
    await writeFile(join(dataDir, 'status', 'runs.jsonl'), `${JSON.stringify(run)}\n`);

    pipeline = await startLocal({
      config: parseConfig({ project: 'shop' }),
      dataDir,
      host: '::1',
      port: 0,
      tokens: ['t'],
      probes: false,
    });

    expect(pipeline.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    // It answers there (and asks for the token).
    const res = await fetch(`${pipeline.url}/v1/results?project=shop`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect((await pipeline.store.status.catalog.get('shop', 'r1'))?.runId).toBe('r1');
    expect(existsSync(join(dataDir, 'status'))).toBe(false);
    expect(existsSync(join(dataDir, 'status.imported'))).toBe(true);
  });
});
