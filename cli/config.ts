import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile } from '../functions/adapters/local/config-file';
import { configSchema, type VigilConfig } from '../functions/core/config';

/** Where the CLI's commands find the config (apart from `dev`, so the single file has it). */

export const DEFAULT_CONFIG_FILE = 'vigil.config.ts';

/** Resolve the config: VIGIL_CONFIG (must exist), else ./vigil.config.ts, else built-in defaults. */
export const resolveConfig = async (
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): Promise<{ config: VigilConfig; source: string }> => {
  if (env.VIGIL_CONFIG)
    return {
      config: await loadConfigFile(resolve(cwd, env.VIGIL_CONFIG)),
      source: env.VIGIL_CONFIG,
    };
  const fallback = resolve(cwd, DEFAULT_CONFIG_FILE);
  if (existsSync(fallback))
    return { config: await loadConfigFile(fallback), source: DEFAULT_CONFIG_FILE };
  return { config: configSchema.parse({}), source: 'built-in defaults' };
};
