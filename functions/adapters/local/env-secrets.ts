import type { VigilConfig } from '../../core/config';
import { SecretError, type SecretResolver, secretNames } from '../../core/probes/secrets';

/**
 * Local secrets: `{{secret:NAME}}` reads the environment variable `VIGIL_SECRET_<NAME>`, the
 * name upper-cased with every character other than a letter or digit replaced by `_`
 * (`{{secret:shop/api-token}}` → `VIGIL_SECRET_SHOP_API_TOKEN`).
 */
export const envVarForSecret = (name: string): string =>
  `VIGIL_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

export class EnvSecretResolver implements SecretResolver {
  private readonly env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.env = env;
  }

  async resolve(name: string): Promise<string> {
    const variable = envVarForSecret(name);
    const value = this.env[variable];
    // A process's environment does not change while it runs: no retry can find it.
    if (value === undefined || value === '')
      throw new SecretError(
        name,
        `secret "${name}" is not set: define the environment variable ${variable}`,
        false,
      );
    return value;
  }
}

/**
 * The environment variables that the config's secrets need and `env` lacks: every
 * `{{secret:NAME}}` (probe and step headers, step bodies, browser vars, channel URLs and
 * headers: where they are resolved; the schema refuses them in probe and step URLs and in a
 * single-request probe's body) and every heartbeat `tokenSecret`. Told once at start, rather
 * than at the first probe run or alert that needs one.
 */
export const missingSecretVariables = (
  config: VigilConfig,
  env: NodeJS.ProcessEnv = process.env,
): string[] => {
  const names = new Set([
    ...secretNames(JSON.stringify(config)),
    ...config.heartbeats.flatMap((h) => (h.tokenSecret ? [h.tokenSecret] : [])),
  ]);
  return [...new Set([...names].map(envVarForSecret))].filter((v) => !env[v]);
};
