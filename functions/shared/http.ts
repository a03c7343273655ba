import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isVigilError, VigilError } from '../core/errors';

/** Small helpers for API Gateway HTTP API (payload v2) events and responses. */

export type HttpResult = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
};

export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  // nosniff: a browser never reads an answer (names and messages from reports) as another type.
  headers: { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', ...headers },
  body: JSON.stringify(body),
});

/** An AWS SDK error that says "try again": throttling or a service-side fault. */
const isTransientAwsError = (error: unknown): boolean => {
  const e = error as { $fault?: string; $retryable?: unknown; $metadata?: unknown };
  return e?.$metadata !== undefined && (e.$fault === 'server' || e.$retryable !== undefined);
};

/**
 * Map any thrown value to a JSON error response (with the request's correlation id). Transient AWS failures become a 503 (the
 * client retries); anything else unknown is a 500 with no details (they go to the logs). A
 * temporary refusal (`retryAfterSeconds`) says when to retry in a `Retry-After` header.
 */
export const errorResponse = (error: unknown, headers: Record<string, string> = {}): HttpResult => {
  const err = isVigilError(error)
    ? error
    : isTransientAwsError(error)
      ? new VigilError('unavailable', 'A backing service is busy or unavailable; retry shortly.')
      : new VigilError('internal', 'Internal error. Report the correlationId of this response.');
  // The correlation id in the body too: it is what a user pastes into a bug report.
  const correlationId = headers['x-correlation-id'];
  return json(
    err.status,
    { error: { ...err.toJSON(), ...(correlationId ? { correlationId } : {}) } },
    err.retryAfterSeconds === undefined
      ? headers
      : { 'retry-after': String(err.retryAfterSeconds), ...headers },
  );
};

export const header = (event: APIGatewayProxyEventV2, name: string): string | undefined => {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
};

/** Request bodies that came as bytes (local mode), keyed by their event. */
const bodies = new WeakMap<APIGatewayProxyEventV2, Buffer>();

/**
 * An event whose body is `bytes`: `bodyBytes` returns them as they are, and `event.body` is
 * their base64 (as API Gateway sends a binary body), encoded only if something reads it.
 */
export const withBodyBytes = <E extends APIGatewayProxyEventV2>(event: E, bytes: Buffer): E => {
  if (bytes.byteLength === 0) return event;
  let encoded: string | undefined;
  Object.defineProperty(event, 'body', {
    get: () => {
      encoded ??= bytes.toString('base64');
      return encoded;
    },
    enumerable: true,
    configurable: true,
  });
  event.isBase64Encoded = true;
  bodies.set(event, bytes);
  return event;
};

export const bodyBytes = (event: APIGatewayProxyEventV2): Buffer => {
  const bytes = bodies.get(event);
  if (bytes) return bytes;
  if (!event.body) return Buffer.alloc(0);
  return event.isBase64Encoded
    ? Buffer.from(event.body, 'base64')
    : Buffer.from(event.body, 'utf8');
};

const CORRELATION_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * A request's route as logs name it: the method and the path's first two segments
 * (`PUT /v1/uploads`). Never more: deeper segments hold an upload's id (which lets its URL take
 * a report) and the query holds heartbeat tokens.
 */
export const logRoute = (method: string | undefined, path: string | undefined): string => {
  const route = `${path}`
    .replace(/[?#].*/s, '')
    .split('/', 3)
    .join('/');
  return `${method} ${route}`;
};

/** A caller's x-correlation-id value when well-formed, else undefined (the caller makes one). */
export const validCorrelationId = (value: string | undefined): string | undefined => {
  const v = value?.trim();
  return v && CORRELATION_ID.test(v) ? v : undefined;
};

/** The caller's x-correlation-id when well-formed, else undefined (the caller makes one). */
export const correlationIdFrom = (event: APIGatewayProxyEventV2): string | undefined =>
  validCorrelationId(header(event, 'x-correlation-id'));

/**
 * HEAD answered as GET (uptime checkers send it): `answer` gets the request as a GET, and the
 * HEAD answer is its status and headers, `Content-Length` saying how long the body left out is.
 */
export const headAsGet = async (
  event: APIGatewayProxyEventV2,
  answer: (get: APIGatewayProxyEventV2) => Promise<HttpResult>,
): Promise<HttpResult> => {
  const http = { ...event.requestContext.http, method: 'GET' };
  const { body, isBase64Encoded, ...rest } = await answer({
    ...event,
    requestContext: { ...event.requestContext, http },
  });
  const bytes = Buffer.byteLength(body ?? '', isBase64Encoded ? 'base64' : 'utf8');
  return { ...rest, headers: { ...rest.headers, 'content-length': String(bytes) } };
};
