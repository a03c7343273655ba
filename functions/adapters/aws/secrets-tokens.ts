import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { VigilError } from '../../core/errors';
import type { TokenSource } from '../../core/ports';
import { logger } from '../../shared/powertools';

export interface SecretsManagerTokenSourceOptions {
  secretId: string;
  client: SecretsManagerClient;
  /** How long fetched tokens are reused. Default 300 000 (5 min). */
  cacheMs?: number;
  now?: () => number;
}

/** After a failed refresh, the stale cache is reused this long (at most cacheMs) before retrying. */
const RETRY_AFTER_ERROR_MS = 30_000;

/**
 * Parses the secret: JSON `{ "tokens": ["..."] }` or a comma-separated list. Messages never
 * quote the secret, so no token value can leak into a log or an error response.
 */
export const parseTokens = (secretId: string, secret: string): string[] => {
  const text = secret.trim();
  let list: string[];
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new VigilError(
        'unavailable',
        `secret '${secretId}' looks like JSON but does not parse`,
      );
    }
    // Text starting with '{' that parses is an object.
    const tokens = (parsed as { tokens?: unknown }).tokens;
    if (!Array.isArray(tokens) || !tokens.every((t): t is string => typeof t === 'string')) {
      throw new VigilError(
        'unavailable',
        `secret '${secretId}' must be {"tokens": [string, ...]} or a comma-separated list`,
      );
    }
    list = tokens;
  } else {
    list = text.split(',');
  }
  return list.map((t) => t.trim()).filter((t) => t !== '');
};

interface Cache {
  tokens: readonly string[];
  /** Epoch ms after which the next call refreshes. */
  refreshAt: number;
}

/** Ingest tokens from Secrets Manager, cached; a failed refresh keeps serving the last value. */
export class SecretsManagerTokenSource implements TokenSource {
  private readonly secretId: string;
  private readonly client: SecretsManagerClient;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private cache: Cache | undefined;
  private inFlight: Promise<readonly string[]> | undefined;

  constructor(options: SecretsManagerTokenSourceOptions) {
    this.secretId = options.secretId;
    this.client = options.client;
    this.cacheMs = Math.max(0, options.cacheMs ?? 300_000);
    this.now = options.now ?? Date.now;
  }

  tokens(): Promise<readonly string[]> {
    if (this.cache && this.now() < this.cache.refreshAt) return Promise.resolve(this.cache.tokens);
    // Concurrent callers share one request.
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async refresh(): Promise<readonly string[]> {
    try {
      const tokens = Object.freeze(await this.fetch());
      if (tokens.length === 0) {
        logger.warn('ingest token secret holds no tokens', { secretId: this.secretId });
      }
      this.cache = { tokens, refreshAt: this.now() + this.cacheMs };
      return tokens;
    } catch (e) {
      const reason = e instanceof Error ? e.name : 'UnknownError';
      if (this.cache) {
        logger.warn('refreshing ingest tokens failed; using cached tokens', {
          secretId: this.secretId,
          reason,
        });
        this.cache = {
          tokens: this.cache.tokens,
          refreshAt: this.now() + Math.min(this.cacheMs, RETRY_AFTER_ERROR_MS),
        };
        return this.cache.tokens;
      }
      logger.error('reading ingest tokens failed', { secretId: this.secretId, reason });
      if (e instanceof VigilError) throw e;
      throw new VigilError('unavailable', `ingest tokens are unavailable (${reason})`);
    }
  }

  private async fetch(): Promise<string[]> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    if (out.SecretString === undefined) {
      throw new VigilError('unavailable', `secret '${this.secretId}' has no string value`);
    }
    return parseTokens(this.secretId, out.SecretString);
  }
}
