import { slackPayload } from '../core/alerts/messages';
import type { ChannelConfig } from '../core/config';
import { VigilError } from '../core/errors';
import type { AlertNotification } from '../core/events';
import { redactSecrets, resolveTemplate, SecretError } from '../core/probes/secrets';
import { SPAN_KIND, withSpan } from './otel/spans';
import { VERSION } from './version';

/**
 * Delivers one alert notification to one Slack or webhook channel, with retries:
 * 429, 408, 5xx and network errors are retried with exponential backoff (Retry-After
 * honoured, capped), other 4xx fail at once. Webhook URLs and header values may reference
 * `{{secret:NAME}}` (same syntax as probe headers); they are resolved per delivery and never
 * appear in errors or logs.
 */

export type ResolveSecret = (name: string) => Promise<string>;
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;
export type DeliverableChannel = Exclude<ChannelConfig, { type: 'email' }>;

export interface DeliveryDeps {
  resolveSecret: ResolveSecret;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  /** Attempts including the first. Default 4. */
  maxAttempts?: number;
  /** Backoff base: retry n waits `baseDelayMs * 2^(n-1)`. Default 500. */
  baseDelayMs?: number;
  /** Longest Retry-After honoured (longer ones are cut to this). Default 30 000. */
  maxRetryAfterMs?: number;
  /** Per-request timeout. Default 10 000. */
  timeoutMs?: number;
  /** A name for the channel in errors and logs (default: its type). Never the URL. */
  label?: string;
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  channel: string;
  /** The attempt about to be made (2 = first retry). */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface DeliveryResult {
  channel: string;
  attempts: number;
  status: number;
}

/** A delivery that failed for good (after the last attempt, or on a non-retryable answer). */
export class DeliveryError extends VigilError {
  readonly channel: string;
  readonly attempts: number;
  readonly httpStatus?: number;
  readonly retryable: boolean;

  constructor(
    channel: string,
    message: string,
    opts: { attempts: number; httpStatus?: number; retryable: boolean },
  ) {
    super('unavailable', `delivery to ${channel} failed: ${message}`);
    this.name = 'DeliveryError';
    this.channel = channel;
    this.attempts = opts.attempts;
    this.retryable = opts.retryable;
    if (opts.httpStatus !== undefined) this.httpStatus = opts.httpStatus;
  }
}

export const isDeliveryError = (e: unknown): e is DeliveryError => e instanceof DeliveryError;

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Retry-After: delta-seconds or an HTTP date. */
export const parseRetryAfter = (value: string | null, now = Date.now()): number | undefined => {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
};

const isRetryableStatus = (status: number): boolean =>
  status === 429 || status === 408 || status >= 500;

interface Request {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The URL and the secret values that went into the request: never to be reported. */
  secrets: string[];
}

const buildRequest = async (
  notification: AlertNotification,
  channel: DeliverableChannel,
  resolveSecret: ResolveSecret,
): Promise<Request> => {
  const used: string[] = [];
  const resolver = {
    resolve: async (name: string) => {
      const value = await resolveSecret(name);
      used.push(value);
      return value;
    },
  };
  const base = {
    'content-type': 'application/json',
    'user-agent': `Vigil/${VERSION}`,
  };
  if (channel.type === 'slack') {
    const url = await resolveTemplate(channel.webhookUrl, resolver);
    return {
      url,
      headers: base,
      body: JSON.stringify(slackPayload(notification)),
      secrets: [...urlSecrets(url), ...used],
    };
  }
  const headers: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(channel.headers))
    headers[k.toLowerCase()] = await resolveTemplate(v, resolver);
  const url = await resolveTemplate(channel.url, resolver);
  return {
    url,
    headers,
    body: JSON.stringify(notification),
    secrets: [...urlSecrets(url), ...used],
  };
};

/**
 * What of a channel URL to mask in error texts: the URL, and its path as a receiver may echo it
 * (Express answers `Cannot POST /services/…`): the path with and without its query, and each
 * token-like piece of them (16 characters or more: the secret part of a Slack URL), as sent and
 * decoded.
 */
export const urlSecrets = (url: string): string[] => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  const path = parsed.pathname;
  const pieces = [...path.split('/'), ...[...parsed.searchParams.values()]].filter(
    (p) => p.length >= 16,
  );
  const out = [url, `${path}${parsed.search}`, ...(path.length > 1 ? [path] : []), ...pieces];
  const decoded = out.flatMap((p) => {
    try {
      return [decodeURIComponent(p)];
    } catch {
      return [];
    }
  });
  return [...new Set([...out, ...decoded])];
};

/** The reason of a network failure without the URL (undici puts the address in `cause`). */
const networkReason = (e: unknown): string => {
  const err = e as { name?: unknown; cause?: { code?: unknown; name?: unknown } };
  if (typeof err?.cause?.code === 'string') return `network error ${err.cause.code}`;
  if (err?.name === 'TimeoutError' || err?.cause?.name === 'TimeoutError') return 'timeout';
  return `network error ${typeof err?.name === 'string' ? err.name : 'unknown'}`;
};

/** The start of an error body (Slack answers e.g. `invalid_payload`), URL and secrets masked. */
const bodySnippet = async (res: Response, secrets: string[]): Promise<string> => {
  try {
    const text = redactSecrets((await res.text()).slice(0, 2000), secrets).slice(0, 200);
    return text.replace(/\s+/g, ' ').trim();
  } catch {
    return '';
  }
};

/**
 * Deliver to one channel; resolves after a 2xx, throws a DeliveryError otherwise. With
 * OpenTelemetry export on, a `deliver <channel>` span in the notification's trace.
 */
export const deliver = (
  notification: AlertNotification,
  channel: DeliverableChannel,
  deps: DeliveryDeps,
): Promise<DeliveryResult> =>
  withSpan(
    `deliver ${deps.label ?? channel.type}`,
    () => deliverUntraced(notification, channel, deps),
    {
      kind: SPAN_KIND.client,
      parent: notification.traceparent,
      attributes: {
        'vigil.channel': channel.type,
        'vigil.alert_kind': notification.kind,
        'vigil.check_key': notification.checkKey,
        'vigil.correlation_id': notification.correlationId,
        'vigil.project': notification.project,
      },
    },
  );

const deliverUntraced = async (
  notification: AlertNotification,
  channel: DeliverableChannel,
  deps: DeliveryDeps,
): Promise<DeliveryResult> => {
  const label = deps.label ?? channel.type;
  const doFetch: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const sleep = deps.sleep ?? defaultSleep;
  const maxAttempts = Math.max(1, Math.floor(deps.maxAttempts ?? 4));
  const baseDelayMs = Math.max(0, deps.baseDelayMs ?? 500);
  const maxRetryAfterMs = Math.max(0, deps.maxRetryAfterMs ?? 30_000);
  const timeoutMs = deps.timeoutMs ?? 10_000;

  let request: Request;
  try {
    request = await buildRequest(notification, channel, deps.resolveSecret);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new DeliveryError(label, `could not resolve a secret reference (${why})`, {
      attempts: 0,
      retryable: !(e instanceof SecretError) || e.retryable,
    });
  }
  let url: URL | undefined;
  try {
    url = new URL(request.url);
  } catch {}
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:')
    throw new DeliveryError(label, 'the configured URL is not a valid http(s) URL', {
      attempts: 0,
      retryable: false,
    });
  // fetch refuses such a URL (a TypeError that would read as a network error, retried in vain).
  if (url.username || url.password)
    throw new DeliveryError(
      label,
      'the configured URL has a user name or password in it (user:password@), which HTTP ' +
        'clients refuse: send credentials in a header instead',
      { attempts: 0, retryable: false },
    );

  let last = '';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let retryAfterMs: number | undefined;
    try {
      const res = await doFetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.status >= 200 && res.status < 300) {
        await res.body?.cancel().catch(() => undefined);
        return { channel: label, attempts: attempt, status: res.status };
      }
      lastStatus = res.status;
      const snippet = await bodySnippet(res, request.secrets);
      last = `HTTP ${res.status}${snippet ? ` ${snippet}` : ''}`;
      if (!isRetryableStatus(res.status)) {
        throw new DeliveryError(label, last, {
          attempts: attempt,
          httpStatus: res.status,
          retryable: false,
        });
      }
      retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    } catch (e) {
      if (isDeliveryError(e)) throw e;
      lastStatus = undefined;
      last = networkReason(e);
    }
    if (attempt === maxAttempts) break;
    const delayMs =
      retryAfterMs === undefined
        ? baseDelayMs * 2 ** (attempt - 1)
        : Math.min(retryAfterMs, maxRetryAfterMs);
    deps.onRetry?.({ channel: label, attempt: attempt + 1, delayMs, reason: last });
    await sleep(delayMs);
  }
  throw new DeliveryError(
    label,
    maxAttempts > 1 ? `${last} (after ${maxAttempts} attempts)` : last,
    {
      attempts: maxAttempts,
      ...(lastStatus === undefined ? {} : { httpStatus: lastStatus }),
      retryable: true,
    },
  );
};

/** The channels Vigil posts to itself (email goes through SNS subscriptions on AWS). */
export const deliverableChannels = (
  channels: readonly ChannelConfig[],
): { channel: DeliverableChannel; label: string }[] =>
  channels.flatMap((channel, index) =>
    channel.type === 'email' ? [] : [{ channel, label: `${channel.type}[${index}]` }],
  );
