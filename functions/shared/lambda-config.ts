import type { VigilConfig } from '../core/config';
import { configJsonHash } from '../core/config-access';
import { sideFileUrl } from '../core/side-files';

/**
 * The resolved Vigil config inside Lambda. CDK serialises the validated config into
 * `VIGIL_CONFIG_JSON` at synth time, so a function never reads files or the network for it.
 *
 * CDK also sets `VIGIL_CONFIG_SHA256`, the hash of that JSON. When the JSON still has this hash
 * it is the output of the same schema the bundle carries, and validating it again would only
 * cost init time (building the zod schema is most of it): it is used as it is. Any other JSON
 * (edited in the console, no hash) is validated, and the schema loaded for that, as before: in a
 * Lambda bundle from a side file (core/side-files.ts), so that no cold start parses its code.
 */
export const configFromEnv = async (env: NodeJS.ProcessEnv = process.env): Promise<VigilConfig> => {
  const json = env.VIGIL_CONFIG_JSON;
  if (json && env.VIGIL_CONFIG_SHA256 === configJsonHash(json)) return JSON.parse(json);
  const { parseConfig }: typeof import('../core/config') =
    typeof VIGIL_SIDE_FILES === 'undefined'
      ? await import('../core/config')
      : await import(sideFileUrl('config-schema'));
  return parseConfig(json ? JSON.parse(json) : {}, 'VIGIL_CONFIG_JSON');
};

export const requireEnv = (name: string, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
};
