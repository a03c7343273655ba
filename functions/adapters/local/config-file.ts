import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { maintenanceCronProblems } from '../../core/alerts/maintenance';
import { parseConfig, type VigilConfig } from '../../core/config';
import { VigilError } from '../../core/errors';

/**
 * Load `vigil.config.ts` / `.js` / `.json`. TypeScript configs are imported as modules
 * (the CLI runs under tsx); the default export (or `config`) is validated.
 */
export const loadConfigFile = async (path: string): Promise<VigilConfig> => {
  const full = resolve(path);
  let raw: unknown;
  try {
    if (extname(full) === '.json') {
      raw = JSON.parse(await readFile(full, 'utf8'));
    } else {
      const mod = (await import(pathToFileURL(full).href)) as {
        default?: unknown;
        config?: unknown;
      };
      raw = mod.default ?? mod.config;
    }
  } catch (e) {
    if (
      (e as { code?: string }).code === 'ENOENT' ||
      (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
    )
      throw new VigilError('bad_request', `Config file not found: ${full}`);
    throw new VigilError('bad_request', `Cannot read config file ${full}: ${(e as Error).message}`);
  }
  const config = parseConfig(raw, full);
  const problems = maintenanceCronProblems(config.alerts.maintenance);
  if (problems.length)
    throw new VigilError('bad_request', `Invalid Vigil config in ${full}: ${problems.join('; ')}`);
  return config;
};
