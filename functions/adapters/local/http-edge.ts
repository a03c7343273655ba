import type { IncomingMessage, ServerResponse } from 'node:http';
import { VigilError } from '../../core/errors';
import { newCorrelationId } from '../../core/ingest/service';
import { errorResponse, validCorrelationId } from '../../shared/http';

/**
 * The edge of local mode's HTTP server: what API Gateway does in front of the ingest function
 * on AWS, done before a request body is read.
 *
 * - A request that carries a body is authorized first (its token, or an upload URL's
 *   signature), then its declared size is checked: 401 and 413 are answered without buffering
 *   a byte of the body. With `Expect: 100-continue` the refusal comes instead of `100 Continue`.
 * - A chunked body stops being buffered at the limit.
 * - Bodies in memory are bounded in count and bytes; over either bound the request gets a 503
 *   with `Retry-After` (nothing is queued in memory).
 * - A refusal sends its JSON error (with the correlation id) at once, then keeps reading and
 *   discarding what the client still sends (for at most `lingerMs`) before closing, so clients
 *   that send the whole body before reading the answer (Python's urllib) or that stop on an
 *   early answer (curl) both get the 413 rather than a connection reset.
 */

export interface EdgeLimits {
  /** Largest body accepted (the config's `ingest.maxBodyBytes`). */
  maxBodyBytes: number;
  /** Request bodies being read at once. */
  maxConcurrentBodies: number;
  /** Bytes of request bodies held in memory at once. */
  maxBufferedBytes: number;
  /** How long a refused request's remaining body is drained before the socket is cut. Default 5 000. */
  lingerMs?: number;
}

export interface EdgeOptions extends EdgeLimits {
  /**
   * Is this request allowed to send a body? Checked before anything is read. False answers 401;
   * a thrown VigilError (e.g. 403 for a read-only token) is answered as it is.
   */
  authorize: (req: IncomingMessage, url: URL) => boolean;
}

const unauthorized = (): VigilError =>
  new VigilError(
    'unauthorized',
    'Missing or wrong bearer token: send "Authorization: Bearer <token>".',
  );

/** The refusal of `authorize`, if any. */
const refusal = (authorize: () => boolean): VigilError | undefined => {
  try {
    return authorize() ? undefined : unauthorized();
  } catch (e) {
    return e instanceof VigilError ? e : unauthorized();
  }
};

export interface HttpEdge {
  /**
   * The body of an admitted request, or `undefined` when the edge refused it (the refusal is
   * already answered). Pass `expectContinue` for requests that came through `checkContinue`.
   */
  readBody(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    expectContinue: boolean,
  ): Promise<Buffer | undefined>;
  /** Bodies and bytes being read right now. */
  inFlight(): { bodies: number; bytes: number };
}

const tooLarge = (limit: number): VigilError =>
  new VigilError(
    'payload_too_large',
    `The request body is larger than the limit of ${limit} bytes (ingest.maxBodyBytes), which ` +
      'staged uploads share: split the report.',
  );

const busy = (): VigilError =>
  new VigilError(
    'unavailable',
    'Too many report bodies are being received right now; retry in a second.',
  );

/** Does the request carry a body (declared length above 0, or chunked)? */
const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** The caller's `x-correlation-id` when well-formed, else a new one: for an error answered here. */
export const correlationHeader = (req: IncomingMessage): { 'x-correlation-id': string } => ({
  'x-correlation-id':
    validCorrelationId(req.headers['x-correlation-id'] as string | undefined) ?? newCorrelationId(),
});

/**
 * Answer `error` as JSON and close the connection without resetting it: the answer goes out
 * whole at once; the response ends (and the socket closes) once the client has sent the rest
 * of its body, closed its side, or `lingerMs` has passed.
 */
export const refuse = (
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  lingerMs = 5_000,
): void => {
  const result = errorResponse(error, { ...correlationHeader(req), connection: 'close' });
  if (error instanceof VigilError && error.code === 'unavailable')
    result.headers['retry-after'] = '1';
  const body = Buffer.from(result.body ?? '');
  res.writeHead(result.statusCode, { ...result.headers, 'content-length': body.byteLength });
  res.write(body);
  let done = false;
  const finish = (cut: boolean) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    res.end();
    if (cut) req.socket.destroy();
  };
  const timer = setTimeout(() => finish(true), lingerMs);
  timer.unref();
  req.removeAllListeners('data');
  req.on('end', () => finish(false));
  req.on('close', () => finish(false));
  req.on('error', () => finish(true));
  if (req.readableEnded) finish(false);
  else req.resume();
};

export const createHttpEdge = (opts: EdgeOptions): HttpEdge => {
  const lingerMs = opts.lingerMs ?? 5_000;
  let bodies = 0;
  let bytes = 0;

  const readBody: HttpEdge['readBody'] = (req, res, url, expectContinue) => {
    if (!hasBody(req)) return Promise.resolve(Buffer.alloc(0));
    const declared = Number(req.headers['content-length'] ?? 0);
    const refuseNow = (error: VigilError) => {
      // With Expect: 100-continue the client has sent nothing yet: no need to linger.
      refuse(req, res, error, expectContinue ? 0 : lingerMs);
      return Promise.resolve(undefined);
    };
    const denied = refusal(() => opts.authorize(req, url));
    if (denied) return refuseNow(denied);
    if (declared > opts.maxBodyBytes) return refuseNow(tooLarge(opts.maxBodyBytes));
    if (bodies >= opts.maxConcurrentBodies || bytes + declared > opts.maxBufferedBytes)
      return refuseNow(busy());

    bodies++;
    let held = declared;
    bytes += held;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      bodies--;
      bytes -= held;
    };
    if (expectContinue) res.writeContinue();
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const stop = (error: VigilError | undefined) => {
        if (settled) return;
        settled = true;
        release();
        if (error) refuse(req, res, error, lingerMs);
        resolve(error ? undefined : Buffer.concat(chunks, size));
      };
      req.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > opts.maxBodyBytes) return stop(tooLarge(opts.maxBodyBytes));
        if (size > held) {
          bytes += size - held;
          held = size;
          if (bytes > opts.maxBufferedBytes) return stop(busy());
        }
        chunks.push(chunk);
      });
      req.on('end', () => stop(undefined));
      // The client went away: nothing to answer.
      req.on('close', () => {
        if (settled || req.readableEnded) return;
        settled = true;
        release();
        resolve(undefined);
      });
    });
  };

  return { readBody, inFlight: () => ({ bodies, bytes }) };
};
