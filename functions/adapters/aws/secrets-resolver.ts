import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { SecretError, type SecretResolver } from '../../core/probes/secrets';
import { logger } from '../../shared/powertools';

/** The part of `SecretsManagerClient` the resolver uses (a hand-written fake fits in tests). */
export interface GetSecretValueClient {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
}

export interface SecretsManagerSecretResolverOptions {
  client: GetSecretValueClient;
  /** Prepended to the placeholder's name, e.g. `vigil/dev/`. Default ''. */
  prefix?: string;
  /** How long a fetched value is reused. Default 300 000 (5 min). */
  cacheMs?: number;
  now?: () => number;
}

/** After a failed refresh, a stale value is reused this long (at most cacheMs) before retrying. */
const RETRY_AFTER_ERROR_MS = 30_000;

interface Entry {
  value: string;
  refreshAt: number;
}

/**
 * Probe secrets from Secrets Manager: `{{secret:NAME}}` reads the secret `${prefix}NAME`
 * (its SecretString, as is), cached per name; concurrent reads of one name share a request,
 * and a failed refresh keeps serving the last value for a while. Errors and logs name the
 * secret id, never a value.
 */
export class SecretsManagerSecretResolver implements SecretResolver {
  private readonly client: GetSecretValueClient;
  private readonly prefix: string;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(options: SecretsManagerSecretResolverOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? '';
    this.cacheMs = Math.max(0, options.cacheMs ?? 300_000);
    this.now = options.now ?? Date.now;
  }

  /** The Secrets Manager id a placeholder name maps to. */
  secretId(name: string): string {
    return `${this.prefix}${name}`;
  }

  resolve(name: string): Promise<string> {
    const hit = this.cache.get(name);
    if (hit && this.now() < hit.refreshAt) return Promise.resolve(hit.value);
    let pending = this.inFlight.get(name);
    if (!pending) {
      pending = this.refresh(name).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, pending);
    }
    return pending;
  }

  private async refresh(name: string): Promise<string> {
    const secretId = this.secretId(name);
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (out.SecretString === undefined)
        throw new SecretError(name, `secret "${secretId}" has no string value`);
      this.cache.set(name, { value: out.SecretString, refreshAt: this.now() + this.cacheMs });
      return out.SecretString;
    } catch (e) {
      const reason = e instanceof Error ? e.name : 'UnknownError';
      const stale = this.cache.get(name);
      if (stale && !(e instanceof SecretError)) {
        logger.warn('refreshing a probe secret failed; using the cached value', {
          secretId,
          reason,
        });
        stale.refreshAt = this.now() + Math.min(this.cacheMs, RETRY_AFTER_ERROR_MS);
        return stale.value;
      }
      if (e instanceof SecretError) throw e;
      if (reason === 'ResourceNotFoundException')
        throw new SecretError(
          name,
          `secret "${name}" not found: create the Secrets Manager secret "${secretId}"`,
        );
      throw new SecretError(name, `secret "${name}" (${secretId}) cannot be read: ${reason}`);
    }
  }
}
