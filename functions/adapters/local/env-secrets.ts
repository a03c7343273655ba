import { SecretError, type SecretResolver } from '../../core/probes/secrets';

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
    if (value === undefined || value === '')
      throw new SecretError(
        name,
        `secret "${name}" is not set: define the environment variable ${variable}`,
      );
    return value;
  }
}
