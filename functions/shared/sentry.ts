import type { NodeClient, Scope } from '@sentry/aws-serverless';
import type { Context } from 'aws-lambda';
import { sideFileUrl } from '../core/side-files';

/**
 * Error reporting to Sentry for every Vigil handler (`withSentry(name, handler)` in each
 * `functions/<name>/index.ts`).
 *
 * Lightest correct setup for a Lambda that only reports errors:
 * - No `Sentry.init()`: that sets up OpenTelemetry and the default auto-instrumentations
 *   (http, console, modules, ...), none of which error reporting needs. Measured in a bundle of
 *   its own: `init()` + `wrapHandler` 294 KiB and ~75 ms of init, this setup 85 KiB and ~17 ms
 *   (most of it the Node built-ins the AWS SDK loads anyway). Instead one `NodeClient` (Node
 *   transport and stack parser, no performance, no OpenTelemetry) is created with its own
 *   `Scope`, not the global one, so nothing is patched and nothing else in the process is
 *   affected.
 * - Lazy: the SDK is loaded (`import()`) and the client created at the first event to send,
 *   only when a DSN is configured. Without a DSN the wrapper is a try/catch around the handler:
 *   no SDK evaluated, no client, no network. (Evaluating the SDK at import cost ~10 ms of every
 *   function's init, measured with `npm run bench:cold-start`.) In a Lambda bundle the SDK
 *   is a side file beside index.mjs (core/side-files.ts), so it is not even parsed at init.
 * - What is sent: thrown errors (then rethrown, so Lambda still sees the failure) and HTTP
 *   results with status ≥ 500. Never 4xx (expected input errors). Tags: `correlation_id`,
 *   `stage`, `function`, `project`. No request data: no bodies, headers or cookies
 *   (`beforeSend` removes them should anything add them, and redacts bearer tokens anywhere).
 * - Bounded: after an event, the handler waits for delivery at most `flushTimeoutMs`
 *   (default 2 s, capped at 2 s). A Sentry that is down or hangs costs at most that, and any
 *   failure inside the reporting is swallowed: Vigil never fails because of Sentry.
 *
 * DSN: `SENTRY_DSN` when set (read at each event to send; it wins, as Sentry's SDKs do), else
 * the `dsn` option: an async reader called only when an event must be sent (the Lambda entries
 * pass one that reads the Secrets Manager secret `SENTRY_DSN_SECRET_ID`, see
 * functions/adapters/aws/sentry-dsn.ts; this module imports no AWS SDK). A reader that fails or
 * rejects disables reporting for that event; the handler is unaffected.
 */

export type SentryTags = Partial<
  Record<'correlation_id' | 'stage' | 'function' | 'project', string>
>;

/** How an invocation ended, for `tagsFor`. */
export type Outcome<R> = { result: R } | { error: unknown };

export interface WithSentryOptions<E, R> {
  /**
   * Tags of an event from the invocation (merged over the defaults: `function`, `stage`, and
   * what `defaultTags` finds in the event and result).
   * @default defaultTags
   */
  readonly tagsFor?: (event: E, outcome: Outcome<R>) => SentryTags;
  /**
   * Where the DSN comes from when `SENTRY_DSN` is not set: called only when an event must be
   * sent (never at init, never when nothing goes wrong); `undefined` (or a rejection) disables
   * reporting. Caching is the reader's job (see functions/adapters/aws/sentry-dsn.ts).
   * @default - no DSN besides `SENTRY_DSN`
   */
  readonly dsn?: () => string | undefined | Promise<string | undefined>;
  /** @default 2000 (values above 2000 are capped) */
  readonly flushTimeoutMs?: number;
}

const MAX_FLUSH_MS = 2000;

type NodeClientOptions = ConstructorParameters<typeof NodeClient>[0];
type ErrorEvent = Parameters<NonNullable<NodeClientOptions['beforeSend']>>[0];

const clients = new Map<string, Scope>();

/** The client of a DSN, created on first use; `undefined` until an event needed one. */
export const sentryClientFor = (dsn: string): NodeClient | undefined =>
  clients.get(dsn)?.getClient<NodeClient>();

const BEARER = /\b(Bearer|Basic)\s+[^\s"',;]+/gi;
const SENSITIVE_KEY = /^(authorization|cookie|set-cookie|x-api-key|proxy-authorization)$/i;

/** Redact credentials in any string or nested value of an event (copy-free, in place). */
const redact = (value: unknown, depth = 0): unknown => {
  if (typeof value === 'string') return value.replace(BEARER, '$1 [redacted]');
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = redact(value[i], depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    record[key] = SENSITIVE_KEY.test(key) ? '[redacted]' : redact(record[key], depth + 1);
  }
  return value;
};

/** Drop request bodies, headers, cookies and query strings; redact bearer/basic credentials. */
export const scrubEvent = (event: ErrorEvent): ErrorEvent => {
  if (event.request) {
    const { url, method } = event.request;
    event.request = { ...(url ? { url } : {}), ...(method ? { method } : {}) };
  }
  delete event.user;
  redact(event);
  return event;
};

const scopeFor = async (dsn: string): Promise<Scope> => {
  const { newSentryScope }: typeof import('./sentry-client') =
    typeof VIGIL_SIDE_FILES === 'undefined'
      ? await import('./sentry-client')
      : await import(sideFileUrl('sentry-client'));
  // Looked up after the import: another report may have created it while the SDK loaded.
  const existing = clients.get(dsn);
  if (existing) return existing;
  const scope = newSentryScope(dsn, scrubEvent);
  clients.set(dsn, scope);
  return scope;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const stringAt = (value: unknown, ...path: string[]): string | undefined => {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return typeof current === 'string' && current !== '' ? current : undefined;
};

const headerOf = (value: unknown, name: string): string | undefined => {
  const headers = isRecord(value) ? value.headers : undefined;
  if (!isRecord(headers)) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : stringAt(headers, key);
};

/** The first SNS message of an SNS event, parsed (the notify handler's alert notification). */
const snsMessage = (event: unknown): unknown => {
  const records = isRecord(event) ? event.Records : undefined;
  const message = Array.isArray(records) ? stringAt(records[0], 'Sns', 'Message') : undefined;
  if (message === undefined) return undefined;
  try {
    return JSON.parse(message) as unknown;
  } catch {
    return undefined;
  }
};

/**
 * Correlation id and project from what Vigil's triggers carry: the API response header
 * `x-correlation-id` (or the request's), the query parameter `project`; an EventBridge event's
 * `detail.metadata` (or `detail`); an SNS alert notification.
 */
export const defaultTags = (event: unknown, outcome: Outcome<unknown>): SentryTags => {
  const result = 'result' in outcome ? outcome.result : undefined;
  const detail = isRecord(event) ? event.detail : undefined;
  const message = snsMessage(event);
  const correlationId =
    headerOf(result, 'x-correlation-id') ??
    headerOf(event, 'x-correlation-id') ??
    stringAt(detail, 'metadata', 'correlationId') ??
    stringAt(detail, 'correlationId') ??
    stringAt(message, 'correlationId');
  const project =
    stringAt(event, 'queryStringParameters', 'project') ??
    stringAt(detail, 'metadata', 'project') ??
    stringAt(detail, 'project') ??
    stringAt(message, 'project');
  return {
    ...(correlationId ? { correlation_id: correlationId } : {}),
    ...(project ? { project } : {}),
  };
};

const statusOf = (result: unknown): number | undefined =>
  isRecord(result) && typeof result.statusCode === 'number' ? result.statusCode : undefined;

const bounded = async (promise: PromiseLike<unknown>, ms: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
  } catch {
    // Reporting never fails the handler.
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Wrap a handler: report thrown errors (rethrown) and ≥ 500 results to Sentry when a DSN is
 * configured. The handler's result and errors are unchanged.
 */
export const withSentry = <E, R>(
  name: string,
  handler: (event: E, context?: Context) => Promise<R>,
  opts: WithSentryOptions<E, R> = {},
): ((event: E, context?: Context) => Promise<R>) => {
  const flushMs = Math.min(opts.flushTimeoutMs ?? MAX_FLUSH_MS, MAX_FLUSH_MS);
  const reader = opts.dsn;
  const dsnOf = async (): Promise<string | undefined> => {
    const fromEnv = process.env.SENTRY_DSN;
    if (fromEnv) return fromEnv;
    if (!reader) return undefined;
    try {
      return (await reader()) || undefined;
    } catch {
      // A DSN that cannot be read disables reporting; the handler is unaffected.
      return undefined;
    }
  };

  const report = async (
    event: E,
    outcome: Outcome<R>,
    context: Context | undefined,
  ): Promise<void> => {
    try {
      const dsn = await dsnOf();
      if (!dsn) return;
      const scope = (await scopeFor(dsn)).clone();
      scope.setTags({
        function: name,
        stage: process.env.VIGIL_STAGE ?? 'local',
        ...defaultTags(event, outcome),
        ...opts.tagsFor?.(event, outcome),
      });
      if (context) {
        scope.setContext('aws.lambda', {
          aws_request_id: context.awsRequestId,
          function_name: context.functionName,
          function_version: context.functionVersion,
        });
      }
      if ('error' in outcome) {
        scope.captureException(outcome.error, {
          mechanism: { type: 'auto.function.vigil', handled: false },
        });
      } else {
        const status = statusOf(outcome.result);
        scope.setTag('http.status_code', String(status));
        scope.setFingerprint([name, String(status)]);
        scope.captureMessage(`${name} answered HTTP ${status}`, 'error');
      }
      const client = scope.getClient<NodeClient>();
      if (client) await bounded(client.flush(flushMs), flushMs);
    } catch {
      // Reporting never fails the handler.
    }
  };

  return async (event: E, context?: Context): Promise<R> => {
    let result: R;
    try {
      result = await handler(event, context);
    } catch (error) {
      await report(event, { error }, context);
      throw error;
    }
    const status = statusOf(result);
    if (status !== undefined && status >= 500) await report(event, { result }, context);
    return result;
  };
};
