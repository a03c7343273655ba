import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';

/**
 * The local runtime's `GET /v1/health`: config loaded and data directory writable. The
 * unwritable case replaces the data directory with a plain file, which fails for root too
 * (a read-only chmod does not stop root).
 */

let pipeline: LocalPipeline;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-health-'));
  pipeline = await startLocal({ config: parseConfig({}), dataDir, port: 0, probes: false });
});

afterAll(async () => {
  await pipeline.close();
  await rm(dataDir, { recursive: true, force: true });
});

const health = async () => {
  const res = await fetch(`${pipeline.url}/v1/health`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('local health', () => {
  it('reports config and store ok', async () => {
    // Act
    const res = await health();
    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      stage: 'local',
      checks: { config: 'ok', store: 'ok' },
    });
    expect(typeof res.body.version).toBe('string');
  });

  it('answers 503 when the data directory cannot be written', async () => {
    // Prepare
    await rm(dataDir, { recursive: true, force: true });
    await writeFile(dataDir, 'not a directory');
    // Act
    const res = await health();
    // Assess
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: 'degraded',
      checks: { config: 'ok', store: 'error: data directory not writable (ENOTDIR)' },
    });
  });
});
