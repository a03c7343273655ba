import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import type { VigilConfig } from '../../core/config';
import { checkConfig } from '../../core/config-check';
import { VigilError } from '../../core/errors';

/**
 * Load `vigil.config.ts` / `.js` / `.json` from anywhere on disk. Code configs are imported
 * with tsx's own loader (`tsImport`), so a file outside the clone, with or without a
 * package.json, loads as ESM or CommonJS alike; the default export (or `config`) is validated
 * with every problem reported at once.
 */
export const loadConfigFile = async (path: string): Promise<VigilConfig> => {
  const full = resolve(path);
  let raw: unknown;
  try {
    if (extname(full) === '.json') {
      raw = JSON.parse(await readFile(full, 'utf8'));
    } else {
      const mod = (await tsImport(full, import.meta.url)) as Exported & { default?: Exported };
      // A CommonJS-typed file (no "type": "module" nearby) arrives wrapped in `default`.
      const exported = isExports(mod.default) ? mod.default : mod;
      raw = exported.default ?? exported.config;
    }
  } catch (e) {
    if (
      (e as { code?: string }).code === 'ENOENT' ||
      (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
    )
      throw new VigilError('bad_request', `Config file not found: ${full}`);
    throw new VigilError('bad_request', `Cannot read config file ${full}: ${(e as Error).message}`);
  }
  return checkConfig(raw, full);
};

interface Exported {
  default?: unknown;
  config?: unknown;
}

const isExports = (v: unknown): v is Exported =>
  typeof v === 'object' && v !== null && ('default' in v || 'config' in v);
