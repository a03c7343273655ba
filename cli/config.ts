import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile } from '../functions/adapters/local/config-file';
import { configSchema, type VigilConfig } from '../functions/core/config';
import { VigilError } from '../functions/core/errors';

/** Where the CLI's commands find the config (apart from `dev`, so the single file has it). */

/** The config files looked for in the working directory, when VIGIL_CONFIG is not set. */
export const DEFAULT_CONFIG_FILES = [
  'vigil.config.ts',
  'vigil.config.mts',
  'vigil.config.js',
  'vigil.config.mjs',
  'vigil.config.json',
];

/**
 * Resolve the config: VIGIL_CONFIG (must exist), else the one `vigil.config.*` of
 * DEFAULT_CONFIG_FILES in `cwd` (two of them: an error, not a guess), else built-in defaults.
 */
export const resolveConfig = async (
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): Promise<{ config: VigilConfig; source: string }> => {
  if (env.VIGIL_CONFIG)
    return {
      config: await loadConfigFile(resolve(cwd, env.VIGIL_CONFIG)),
      source: env.VIGIL_CONFIG,
    };
  const found = DEFAULT_CONFIG_FILES.filter((name) => existsSync(resolve(cwd, name)));
  if (found.length > 1)
    throw new VigilError(
      'bad_request',
      `Found ${found.join(' and ')} in ${cwd}: keep one, or name the one to use in VIGIL_CONFIG`,
    );
  const [file] = found;
  if (file) return { config: await loadConfigFile(resolve(cwd, file)), source: file };
  return { config: configSchema.parse({}), source: 'built-in defaults' };
};
