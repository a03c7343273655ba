import { parseConfig, type VigilConfig } from '../core/config';

/**
 * The resolved Vigil config inside Lambda. CDK serialises the validated config into
 * `VIGIL_CONFIG_JSON` at synth time, so a function never reads files or the network for it.
 */
export const configFromEnv = (env: NodeJS.ProcessEnv = process.env): VigilConfig =>
  parseConfig(env.VIGIL_CONFIG_JSON ? JSON.parse(env.VIGIL_CONFIG_JSON) : {}, 'VIGIL_CONFIG_JSON');

export const requireEnv = (name: string, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
};
