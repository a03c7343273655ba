import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { logger } from '../../shared/powertools';
import { secrets } from './clients';
import type { GetSecretValueClient } from './secrets-resolver';

/**
 * The Sentry DSN from Secrets Manager, for `withSentry`'s `dsn` option in the Lambda entries
 * (`SENTRY_DSN`, when set, still wins: `withSentry` checks it first and never calls the reader).
 *
 * The secret's SecretString is the DSN, as is (surrounding whitespace trimmed). It is read at
 * most once per process, and only when the first event must be sent: never at init, never when
 * nothing goes wrong. The secret is optional: when it is missing or cannot be read (no
 * permission, throttled, slower than `timeoutMs`, empty), reporting stays disabled for the
 * process and one warning is logged with the secret id and the error name, never a value.
 */

export interface SentryDsnReaderOptions {
  /** Id or ARN of the secret; `undefined` or '' means no secret (the reader returns undefined). */
  readonly secretId: string | undefined;
  /** Called at the first read only, so no SDK client is created before an event needs one. */
  readonly client: () => GetSecretValueClient;
  /** @default 2000 */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 2000;

class DsnTimeout extends Error {
  override name = 'TimeoutError';
}

const withTimeout = async <T>(promise: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new DsnTimeout(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

/** A reader that fetches the DSN once (concurrent first calls share the request) and caches it. */
export const createSentryDsnReader = (
  options: SentryDsnReaderOptions,
): (() => Promise<string | undefined>) => {
  let cached: Promise<string | undefined> | undefined;
  const { secretId } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const read = async (id: string): Promise<string | undefined> => {
    try {
      const out = await withTimeout(
        options.client().send(new GetSecretValueCommand({ SecretId: id })),
        timeoutMs,
      );
      const dsn = out.SecretString?.trim();
      if (dsn) return dsn;
      logger.warn('the Sentry DSN secret has no string value; Sentry stays disabled', {
        secretId: id,
      });
    } catch (error) {
      logger.warn('reading the Sentry DSN secret failed; Sentry stays disabled', {
        secretId: id,
        error: error instanceof Error ? error.name : 'UnknownError',
      });
    }
    return undefined;
  };

  return () => {
    if (!secretId) return Promise.resolve(undefined);
    cached ??= read(secretId);
    return cached;
  };
};

/**
 * The process's reader: the secret `SENTRY_DSN_SECRET_ID` (set by CDK to `vigil/<stage>/SENTRY_DSN`)
 * through the shared Secrets Manager client. Pass it as `withSentry(name, handler, { dsn: sentryDsn })`.
 */
export const sentryDsn: () => Promise<string | undefined> = (() => {
  let reader: (() => Promise<string | undefined>) | undefined;
  return () => {
    reader ??= createSentryDsnReader({
      secretId: process.env.SENTRY_DSN_SECRET_ID,
      client: secrets,
    });
    return reader();
  };
})();
