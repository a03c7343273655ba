import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { NOTIFY_DEAD_LETTER_FILE } from '../../functions/adapters/local/alert-dispatcher';
import { LocalStore } from '../../functions/adapters/local/store';
import { TOKEN_FILE } from '../../functions/adapters/local/token-file';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { generateJunit } from '../helpers/generate-junit';

/**
 * `vigil backup`: a copy of the data directory taken while the server ingests is consistent:
 * every run its database holds is complete (ledger entry, history, archived payloads), and the
 * copy starts as a data directory of its own.
 */

const TOKEN = 'backup-token';
let pipeline: LocalPipeline;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-backup-src-'));
  pipeline = await startLocal({
    config: parseConfig({ project: 'bk' }),
    dataDir,
    port: 0,
    tokens: [TOKEN],
    probes: false,
  });
});

afterAll(async () => {
  await pipeline?.close();
});

const ingest = (i: number) =>
  fetch(`${pipeline.url}/v1/results?project=bk&branch=main&runId=run-${i}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/xml' },
    body: generateJunit({ cases: 20, seed: i }),
  });

const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['backup', ...args], {
    env,
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
  });
  return { code, out: out.join(''), err: err.join('') };
};

describe('vigil backup', () => {
  it('copies the data directory while ingests go on, and the copy opens with every run whole', async () => {
    const before = await Promise.all([0, 1, 2, 3].map(ingest));
    expect(before.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    const destination = join(await mkdtemp(join(tmpdir(), 'vigil-backup-dst-')), 'copy');
    // Ingests in flight while the copy is taken.
    const during = Promise.all([4, 5, 6, 7, 8, 9].map(ingest));
    const result = await cli([destination], { VIGIL_DATA_DIR: dataDir });
    expect((await during).every((r) => r.status === 202)).toBe(true);
    expect(result.code).toBe(0);
    expect(result.out).toContain(`to ${destination}: vigil.db`);
    expect(result.out).toContain(`VIGIL_DATA_DIR=${destination}`);

    const copy = LocalStore.open(destination);
    try {
      const runs = copy.db.db.prepare('SELECT key FROM ledger ORDER BY key').all() as {
        key: string;
      }[];
      // The first four were acknowledged before the copy: they are in it.
      expect(runs.length).toBeGreaterThanOrEqual(4);
      for (const i of [0, 1, 2, 3]) expect(runs.some((r) => r.key.includes(`run-${i}`))).toBe(true);
      // Every run the copy holds is whole: its event, and its payloads readable in the copy.
      const events = (copy.db.db.prepare('SELECT body FROM events').all() as { body: string }[])
        .map((e) => JSON.parse(e.body).detail as { metadata?: Partial<Record<string, unknown>> })
        .filter((d) => d.metadata?.archive !== undefined);
      expect(events.length).toBe(runs.length);
      for (const { metadata } of events) {
        // Pointers name the original directory; the copy resolves them by content.
        for (const pointer of [metadata?.archive, metadata?.normalized])
          expect((await copy.archive.get(pointer as never)).byteLength).toBeGreaterThan(0);
      }
    } finally {
      copy.close();
    }
  });

  it('copies the alert deliveries given up (notify-dead-letter.ndjson) and the generated token when there are any', async () => {
    // Prepare: no dead letters yet, then one.
    const dir = await mkdtemp(join(tmpdir(), 'vigil-backup-dl-'));
    const withoutOne = join(dir, 'without');
    expect((await cli([withoutOne], { VIGIL_DATA_DIR: dataDir })).code).toBe(0);
    const line = `${JSON.stringify({ channel: 'slack[0]', error: 'HTTP 500', attempts: 3 })}\n`;
    await writeFile(join(dataDir, NOTIFY_DEAD_LETTER_FILE), line);
    await writeFile(join(dataDir, TOKEN_FILE), 'vgl_generated\n');

    // Act
    const withOne = join(dir, 'with');
    const result = await cli([withOne], { VIGIL_DATA_DIR: dataDir });

    // Assess
    expect(result.code).toBe(0);
    expect(existsSync(join(withoutOne, NOTIFY_DEAD_LETTER_FILE))).toBe(false);
    expect(await readFile(join(withOne, NOTIFY_DEAD_LETTER_FILE), 'utf8')).toBe(line);
    // The generated token comes along (when there is one): CI's token works on a restore.
    expect(existsSync(join(withoutOne, TOKEN_FILE))).toBe(false);
    expect(await readFile(join(withOne, TOKEN_FILE), 'utf8')).toBe('vgl_generated\n');
    // Every file and folder of the copy is its owner's only, though this process's umask (022)
    // made the source's files readable by all.
    expect((await stat(join(dataDir, NOTIFY_DEAD_LETTER_FILE))).mode & 0o077).not.toBe(0);
    const entries = await readdir(withOne, { recursive: true, withFileTypes: true });
    expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining(['vigil.db', 'archive']));
    for (const e of entries)
      expect([(await stat(join(e.parentPath, e.name))).mode & 0o777, e.name]).toEqual([
        e.isDirectory() ? 0o700 : 0o600,
        e.name,
      ]);
  });

  it('refuses a destination that is not empty, a directory that holds no store, and bad arguments', async () => {
    const full = await mkdtemp(join(tmpdir(), 'vigil-backup-full-'));
    await writeFile(join(full, 'x'), 'x');
    const notEmpty = await cli([full], { VIGIL_DATA_DIR: dataDir });
    expect(notEmpty).toMatchObject({ code: 1 });
    expect(notEmpty.err).toContain('is not empty');

    const empty = await mkdtemp(join(tmpdir(), 'vigil-backup-none-'));
    const none = await cli([join(empty, 'dst'), '--data-dir', empty]);
    expect(none.code).toBe(1);
    expect(none.err).toContain('is not a Vigil data directory');

    expect((await cli([])).code).toBe(2);
    expect((await cli(['a', 'b'])).err).toContain('Name one destination directory');
    expect((await cli(['--nope'])).err).toContain('Unknown option "--nope"');
    expect((await cli(['--help'])).out).toContain('Usage: vigil backup');
  });
});
