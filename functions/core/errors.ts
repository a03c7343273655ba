/**
 * Typed errors of the Vigil domain. Each carries the HTTP status and a stable
 * machine-readable code; handlers map them to `{ error: { code, message } }`.
 */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_report'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'request_timeout'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'unsupported_format'
  | 'publish_failed'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_report: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  request_timeout: 408,
  payload_too_large: 413,
  headers_too_large: 431,
  unsupported_format: 415,
  publish_failed: 503,
  unavailable: 503,
  internal: 500,
};

/** Where in the input a problem is: XML line/column, JSON path, or byte offset. */
export interface ErrorLocation {
  line?: number;
  column?: number;
  path?: string;
  offset?: number;
}

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly location?: ErrorLocation;
  /**
   * Seconds after which the same request may well succeed: the answer's `Retry-After` header.
   * Set only on a refusal that is temporary (e.g. a `409` for a run still being ingested).
   */
  readonly retryAfterSeconds?: number;

  constructor(
    code: ErrorCode,
    message: string,
    location?: ErrorLocation,
    options?: { retryAfterSeconds?: number },
  ) {
    super(message);
    this.name = 'VigilError';
    this.code = code;
    this.status = STATUS[code];
    if (location) this.location = location;
    if (options?.retryAfterSeconds !== undefined)
      this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON(): { code: ErrorCode; message: string; location?: ErrorLocation } {
    return this.location
      ? { code: this.code, message: this.message, location: this.location }
      : { code: this.code, message: this.message };
  }
}

/** A report that could not be read: malformed syntax or content that is not the named format. */
export const invalidReport = (message: string, location?: ErrorLocation): VigilError =>
  new VigilError('invalid_report', message, location);

export const isVigilError = (e: unknown): e is VigilError => e instanceof VigilError;

/** The message of anything thrown (a non-Error value as its text). */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A schema failure as `path: message` of its first issue (zod always reports at least one). */
export const firstIssue = (error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string => {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join('.')}: ${issue.message}` : 'invalid';
};
