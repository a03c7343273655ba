import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scriptFor } from '../../functions/adapters/local/threads';
import { logger } from '../../functions/shared/powertools';

let dir: string;
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('scriptFor', () => {
  it('builds a worker script once, serves it from the cache while its sources stay the same, and builds again when one changes', async () => {
    // Prepare: an entry importing another file, and an empty cache
    dir = await mkdtemp(join(tmpdir(), 'vigil-thread-script-'));
    const entry = join(dir, 'worker.ts');
    const part = join(dir, 'part.ts');
    const cache = join(dir, 'cache');
    await writeFile(entry, "import { word } from './part';\nconsole.log(word);\n");
    await writeFile(part, "export const word: string = 'first';\n");

    // Act: built; then served (the cached script marked, to tell it from a build); then a
    // source changed; then one removed (the entry no longer imports it)
    const built = scriptFor(entry, cache);
    const files = await readdir(cache);
    const script = files.find((f) => f.endsWith('.js')) as string;
    const manifest = files.find((f) => f.endsWith('.json')) as string;
    const { inputs } = JSON.parse(await readFile(join(cache, manifest), 'utf8'));
    await writeFile(join(cache, script), `${built}\n// from the cache`);
    const served = scriptFor(entry, cache);
    await writeFile(part, "export const word: string = 'second';\n");
    const rebuilt = scriptFor(entry, cache);
    await writeFile(entry, "console.log('alone');\n");
    await rm(part);
    const alone = scriptFor(entry, cache);

    // Assess: the same script until the change, the old version's file gone after it
    expect(built).toContain('"first"');
    expect(files).toEqual([manifest, script].sort());
    expect(served).toBe(`${built}\n// from the cache`);
    expect(rebuilt).toContain('"second"');
    expect(rebuilt).not.toContain('from the cache');
    expect(alone).toContain('"alone"');
    expect((await readdir(cache)).filter((f) => f.endsWith('.js'))).toHaveLength(1);
    expect(inputs).toEqual(expect.arrayContaining([entry, part]));
  });

  it('builds without keeping when the cache cannot be written', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-thread-script-'));
    const entry = join(dir, 'worker.ts');
    await writeFile(entry, "console.log('alone');\n");
    const blocked = join(dir, 'file');
    await writeFile(blocked, '');

    // A file where the cache folder would be: nothing kept, the script still built
    expect(scriptFor(entry, join(blocked, 'cache'))).toContain('"alone"');
    expect(scriptFor(entry, join(blocked, 'cache'))).toContain('"alone"');
  });

  it("builds local mode's worker threads without a warning, and says a warning each time, keeping nothing", async () => {
    // Prepare
    dir = await mkdtemp(join(tmpdir(), 'vigil-thread-script-'));
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const odd = join(dir, 'odd.ts');
    await writeFile(odd, 'console.log({ a: 1, a: 2 });\n');

    // Act
    for (const worker of ['runtime/local/bus-worker.ts', 'adapters/local/probe-worker.ts'])
      scriptFor(join(process.cwd(), 'functions', worker), join(dir, 'cache'));
    const clean = warn.mock.calls.length;
    scriptFor(odd, join(dir, 'cache'));
    scriptFor(odd, join(dir, 'cache'));
    const calls = [...warn.mock.calls];
    warn.mockRestore();

    // Assess
    expect(clean).toBe(0);
    expect(calls.map(([message]) => message)).toEqual([
      'worker thread script built with warnings',
      'worker thread script built with warnings',
    ]);
    expect(JSON.stringify(calls[0]?.[1])).toContain('odd.ts:1: Duplicate key');
    expect((await readdir(join(dir, 'cache'))).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  });
});
