import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/adapters/local/config-file';

/**
 * A code config where tsx is not installed (the single-file CLI in an empty directory): a .ts
 * one loads with Node's own type stripping where Node has it (22.18 / 23.6 and later), and
 * says what it needs elsewhere. The Node feature is injected: these tests run on any Node.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-config-import-'));
  await writeFile(join(dir, 'vigil.config.ts'), 'export default { project: "shop" };\n');
  await writeFile(join(dir, 'vigil.config.mjs'), 'export default { project: "shop" };\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const noTsx = async (): Promise<never> => {
  throw Object.assign(new Error("Cannot find package 'tsx'"), { code: 'ERR_MODULE_NOT_FOUND' });
};

describe('a code config without tsx', () => {
  it('imports a .ts config with Node itself where Node strips types', async () => {
    const imported: string[] = [];
    const config = await loadConfigFile(join(dir, 'vigil.config.ts'), {
      loadTsx: noTsx,
      typeStripping: true,
      importNative: async (url) => {
        imported.push(url);
        return { default: { project: 'shop' } };
      },
    });
    expect(imported).toEqual([pathToFileURL(join(dir, 'vigil.config.ts')).href]);
    expect(config.project).toBe('shop');
  });

  it('says a .ts config needs tsx or a Node with type stripping elsewhere', async () => {
    const imported: string[] = [];
    const load = loadConfigFile(join(dir, 'vigil.config.ts'), {
      loadTsx: noTsx,
      typeStripping: false,
      importNative: async (url) => {
        imported.push(url);
        return {};
      },
    });
    await expect(load).rejects.toThrow(
      /a TypeScript config needs tsx \(npm install --save-dev tsx\) or Node\.js with type stripping \(22\.18 or later\); or write it as \.mjs or \.json/,
    );
    expect(imported).toEqual([]);
  });

  it('imports a .mjs config with Node whatever Node can do with types', async () => {
    const config = await loadConfigFile(join(dir, 'vigil.config.mjs'), {
      loadTsx: noTsx,
      typeStripping: false,
    });
    expect(config.project).toBe('shop');
  });

  it('uses tsx where it is installed', async () => {
    const config = await loadConfigFile(join(dir, 'vigil.config.ts'), { typeStripping: false });
    expect(config.project).toBe('shop');
  });
});
