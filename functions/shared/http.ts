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
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** An AWS SDK error that says "try again": throttling or a service-side fault. */
const isTransientAwsError = (error: unknown): boolean => {
  const e = error as { $fault?: string; $retryable?: unknown; $metadata?: unknown };
  return e?.$metadata !== undefined && (e.$fault === 'server' || e.$retryable !== undefined);
};

/**
 * Map any thrown value to a JSON error response (with the request's correlation id). Transient AWS failures become a 503 (the
 * client retries); anything else unknown is a 500 with no details (they go to the logs).
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
    headers,
  );
};

export const header = (event: APIGatewayProxyEventV2, name: string): string | undefined => {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
};

export const bodyBytes = (event: APIGatewayProxyEventV2): Buffer => {
  if (!event.body) return Buffer.alloc(0);
  return event.isBase64Encoded
    ? Buffer.from(event.body, 'base64')
    : Buffer.from(event.body, 'utf8');
};

const CORRELATION_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The caller's x-correlation-id when well-formed, else undefined (the caller makes one). */
export const correlationIdFrom = (event: APIGatewayProxyEventV2): string | undefined => {
  const value = header(event, 'x-correlation-id')?.trim();
  return value && CORRELATION_ID.test(value) ? value : undefined;
};
