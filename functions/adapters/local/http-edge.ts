import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { VigilError } from '../../core/errors';
import { newCorrelationId } from '../../core/ingest/service';
import { errorResponse, logRoute, validCorrelationId } from '../../shared/http';
import { logger } from '../../shared/powertools';

/**
 * The edge of local mode's HTTP server: what API Gateway does in front of the ingest function
 * on AWS, done before a request body is read.
 *
 * - A request that carries a body is authorized first (its token, or an upload URL's
 *   signature), then its declared size is checked: 401 and 413 are answered without buffering
 *   a byte of the body. With `Expect: 100-continue` the refusal comes instead of `100 Continue`.
 * - A chunked body stops being buffered at the limit.
 * - Bodies in memory are bounded in count and bytes, from the moment they are admitted until
 *   the caller releases them (when its response is done); over either bound the request gets a
 *   503 with `Retry-After` (nothing is queued in memory). Some requests (heartbeat pings) have
 *   a small pool of their own (`lanes`), so they can never crowd out reports, nor reports them.
 * - A body that stops arriving (no byte for `idleMs`) is answered 408 and its memory released.
 * - A refusal sends its JSON error (with the correlation id) at once, then keeps reading and
 *   discarding what the client still sends before closing, as long as the client makes progress
 *   (a pause of `lingerMs` or `LINGER_MAX_MS` in all ends it), so clients that send the whole
 *   body before reading the answer (Python's urllib, also with `Expect: 100-continue`) or that
 *   stop on an early answer (curl) both get the refusal rather than a connection reset.
 * - A request Node's HTTP parser rejects (headers too large, a malformed `Content-Length`) is
 *   answered with the same JSON error by `answerClientError`.
 */

/**
 * Large bodies are gathered into memory kept from earlier ones: a fresh buffer of megabytes
 * costs milliseconds of page faults at its first write on a VM (a 2.6 MB report: 7 ms in
 * `Buffer.concat`, 0.1 ms copied into reused memory), on the ingest answer's path. The
 * `SPARE_BODIES` largest buffers are kept, each rounded up to whole MiB, so at most
 * `SPARE_BODIES` × the largest body limit stays allocated between requests.
 */
const SPARE_MIN_BYTES = 256 * 1024;
const SPARE_BODIES = 2;
const MIB = 1024 * 1024;

/** How long a body may pause (no byte arriving) before the request is answered 408. */
export const BODY_IDLE_MS = 15_000;

/** How long a refused request's body may pause while it is drained before the socket is cut. */
export const LINGER_IDLE_MS = 5_000;

/** The longest a refused request's body is drained in all, however steadily it arrives. */
export const LINGER_MAX_MS = 60_000;

export interface EdgeLimits {
  /** Largest body accepted (the config's `ingest.maxBodyBytes`). */
  maxBodyBytes: number;
  /** Request bodies being read or handled at once. */
  maxConcurrentBodies: number;
  /** Bytes of request bodies held in memory at once. */
  maxBufferedBytes: number;
  /** How long a refused request's body may pause while drained. Default `LINGER_IDLE_MS`. */
  lingerMs?: number;
  /** How long a refused request's body is drained at most. Default `LINGER_MAX_MS`. */
  lingerMaxMs?: number;
  /** How long an admitted body may pause before it is answered 408. Default `BODY_IDLE_MS`. */
  idleMs?: number;
}

/**
 * Requests with a body pool of their own (e.g. heartbeat pings): bounded by their own count and
 * size, apart from the main pool. The first lane that matches an authorized request takes it.
 */
export interface EdgeLane {
  name: string;
  match: (req: IncomingMessage, url: URL) => boolean;
  /** Largest body of this lane. */
  maxBodyBytes: number;
  /** Bodies of this lane at once (their bytes are bounded by count × size). */
  maxConcurrentBodies: number;
  /** What the 413 says (default: the main pool's message). */
  tooLargeMessage?: string;
}

export interface EdgeOptions extends EdgeLimits {
  /**
   * Is this request allowed to send a body? Checked before anything is read. False answers 401;
   * a thrown VigilError (e.g. 403 for a read-only token) is answered as it is.
   */
  authorize: (req: IncomingMessage, url: URL) => boolean;
  lanes?: readonly EdgeLane[];
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

/** An admitted body: call `release` once it is no longer held (the response is done). */
export interface AdmittedBody {
  /** Lent until `release`: the memory of a large body is reused after it. */
  body: Buffer;
  release: () => void;
}

export interface HttpEdge {
  /**
   * The body of an admitted request, or `undefined` when the edge refused it (the refusal is
   * already answered) or the client went away. The body counts against the bounds until its
   * `release` is called. Pass `expectContinue` for requests that came through `checkContinue`.
   */
  readBody(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    expectContinue: boolean,
  ): Promise<AdmittedBody | undefined>;
  /** Bodies and bytes held right now, of the main pool or of the lane named. */
  inFlight(lane?: string): { bodies: number; bytes: number };
}

const tooLarge = (limit: number, message?: string): VigilError =>
  new VigilError(
    'payload_too_large',
    message ??
      `The request body is larger than the limit of ${limit} bytes (ingest.maxBodyBytes), which ` +
        'staged uploads share: split the report.',
  );

const busy = (what: string): VigilError =>
  new VigilError(
    'unavailable',
    `Too many ${what} bodies are being received right now; retry in a second.`,
    undefined,
    { retryAfterSeconds: 1 },
  );

const timedOut = (idleMs: number): VigilError =>
  new VigilError(
    'request_timeout',
    `No byte of the request body arrived for ${idleMs / 1000} s: send the body without pausing.`,
  );

/** Only these methods have routes that read a body (reports, uploads, pings, Alertmanager). */
const BODY_METHODS = new Set(['POST', 'PUT']);

const bodyNotExpected = (method: string | undefined): VigilError =>
  new VigilError(
    'bad_request',
    `A ${method} request takes no body here: send it without one (only POST and PUT routes read a body).`,
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
 * of its body or closed its side. The rest is drained as long as it keeps coming: the socket
 * is cut only after a pause of `lingerMs`, or `lingerMaxMs` in all.
 */
export const refuse = (
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  lingerMs = LINGER_IDLE_MS,
  lingerMaxMs = LINGER_MAX_MS,
): void => {
  const result = errorResponse(error, {
    ...correlationHeader(req),
    'cache-control': 'no-store',
    connection: 'close',
  });
  // As the ingest handler logs what it refuses.
  logger.info('ingest rejected', {
    route: logRoute(req.method, req.url),
    status: result.statusCode,
    error: (error as Error).message,
    sourceIp: req.socket.remoteAddress,
  });
  const body = Buffer.from(result.body ?? '');
  res.writeHead(result.statusCode, { ...result.headers, 'content-length': body.byteLength });
  res.write(body);
  let done = false;
  const finish = (cut: boolean) => {
    if (done) return;
    done = true;
    clearTimeout(pause);
    clearTimeout(deadline);
    res.end();
    if (cut) req.socket.destroy();
  };
  const pause = setTimeout(() => finish(true), lingerMs);
  pause.unref();
  const deadline = setTimeout(() => finish(true), lingerMaxMs);
  deadline.unref();
  req.removeAllListeners('data');
  req.on('data', () => pause.refresh());
  req.on('end', () => finish(false));
  req.on('close', () => finish(false));
  req.on('error', () => finish(true));
  if (req.readableEnded) finish(false);
  else req.resume();
};

/**
 * Answer a request Node's HTTP parser refused (the server's `clientError`) with the JSON error
 * of the other refusals and a new correlation id, then close: 431 for headers (or a URL) too
 * large, 408 for a request that did not arrive in time, 400 otherwise. A socket that cannot be
 * written to, or whose response is already under way, is destroyed.
 */
export const answerClientError = (
  error: Error & { code?: string; reason?: unknown },
  socket: Duplex,
): void => {
  const current = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || current?.headersSent) {
    socket.destroy();
    return;
  }
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new VigilError(
          'headers_too_large',
          'The request line and headers are larger than the server accepts: shorten the URL or the headers.',
        )
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new VigilError('request_timeout', 'The request did not arrive in time.')
        : new VigilError(
            'bad_request',
            `The request is not valid HTTP/1.1${typeof error.reason === 'string' && error.reason ? ` (${error.reason})` : ''}: check its Content-Length and Transfer-Encoding headers.`,
          );
  const result = errorResponse(refusal, {
    'x-correlation-id': newCorrelationId(),
    'cache-control': 'no-store',
    connection: 'close',
  });
  const body = Buffer.from(result.body ?? '');
  const head = [
    `HTTP/1.1 ${result.statusCode} ${STATUS_CODES[result.statusCode] ?? ''}`,
    ...Object.entries(result.headers).map(([k, v]) => `${k}: ${v}`),
    `content-length: ${body.byteLength}`,
  ];
  socket.end(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body]));
  // A client that never closes its side does not keep the socket.
  setTimeout(() => socket.destroy(), LINGER_IDLE_MS).unref();
};

interface Pool {
  what: string;
  maxBodyBytes: number;
  maxBodies: number;
  maxBytes: number;
  tooLargeMessage?: string;
  bodies: number;
  bytes: number;
}

const NO_BODY: AdmittedBody = { body: Buffer.alloc(0), release: () => undefined };

export const createHttpEdge = (opts: EdgeOptions): HttpEdge => {
  const lingerMs = opts.lingerMs ?? LINGER_IDLE_MS;
  const lingerMaxMs = opts.lingerMaxMs ?? LINGER_MAX_MS;
  const idleMs = opts.idleMs ?? BODY_IDLE_MS;
  const main: Pool = {
    what: 'report',
    maxBodyBytes: opts.maxBodyBytes,
    maxBodies: opts.maxConcurrentBodies,
    maxBytes: opts.maxBufferedBytes,
    bodies: 0,
    bytes: 0,
  };
  const lanes = (opts.lanes ?? []).map((lane) => ({
    lane,
    pool: {
      what: lane.name,
      maxBodyBytes: lane.maxBodyBytes,
      maxBodies: lane.maxConcurrentBodies,
      maxBytes: lane.maxConcurrentBodies * lane.maxBodyBytes,
      tooLargeMessage: lane.tooLargeMessage,
      bodies: 0,
      bytes: 0,
    } satisfies Pool,
  }));

  const spares: Buffer[] = [];
  /** The chunks in one buffer, and what gives its memory back for the next large body. */
  const gather = (chunks: Buffer[], size: number): { body: Buffer; done: () => void } => {
    if (size < SPARE_MIN_BYTES) return { body: Buffer.concat(chunks, size), done: () => {} };
    const at = spares.findIndex((b) => b.length >= size);
    const memory =
      at >= 0
        ? (spares.splice(at, 1)[0] as Buffer)
        : Buffer.allocUnsafeSlow(Math.ceil(size / MIB) * MIB);
    let offset = 0;
    for (const chunk of chunks) offset += chunk.copy(memory, offset);
    return {
      // A view of its own per request (a WeakMap keyed by it, e.g. payload hashes, sees a new body).
      body: memory.subarray(0, size),
      done: () => {
        spares.push(memory);
        spares.sort((a, b) => b.length - a.length);
        spares.length = Math.min(spares.length, SPARE_BODIES);
      },
    };
  };

  const readBody: HttpEdge['readBody'] = (req, res, url, expectContinue) => {
    if (!hasBody(req)) return Promise.resolve(NO_BODY);
    const declared = Number(req.headers['content-length'] ?? 0);
    const refuseNow = (error: VigilError) => {
      // Even with Expect: 100-continue: a client may send the body anyway (urllib does).
      refuse(req, res, error, lingerMs, lingerMaxMs);
      return Promise.resolve(undefined);
    };
    const denied = refusal(() => opts.authorize(req, url));
    if (denied) return refuseNow(denied);
    // A GET with a body would hold a place in the report pool that no route reads: a read-only
    // token could keep every report out by trickling such bodies.
    if (!BODY_METHODS.has(req.method ?? '')) return refuseNow(bodyNotExpected(req.method));
    const pool = lanes.find(({ lane }) => lane.match(req, url))?.pool ?? main;
    const limit = () => tooLarge(pool.maxBodyBytes, pool.tooLargeMessage);
    if (declared > pool.maxBodyBytes) return refuseNow(limit());
    if (pool.bodies >= pool.maxBodies || pool.bytes + declared > pool.maxBytes)
      return refuseNow(busy(pool.what));

    pool.bodies++;
    let held = declared;
    pool.bytes += held;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      pool.bodies--;
      pool.bytes -= held;
    };
    if (expectContinue) res.writeContinue();
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const stop = (error: VigilError | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        if (error) {
          release();
          refuse(req, res, error, lingerMs, lingerMaxMs);
          resolve(undefined);
        } else {
          const { body, done } = gather(chunks, size);
          resolve({
            body,
            release: () => {
              if (released) return;
              release();
              done();
            },
          });
        }
      };
      const idle = setTimeout(() => stop(timedOut(idleMs)), idleMs);
      idle.unref();
      req.on('data', (chunk: Buffer) => {
        idle.refresh();
        size += chunk.byteLength;
        if (size > pool.maxBodyBytes) return stop(limit());
        if (size > held) {
          pool.bytes += size - held;
          held = size;
          if (pool.bytes > pool.maxBytes) return stop(busy(pool.what));
        }
        chunks.push(chunk);
      });
      req.on('end', () => stop(undefined));
      // The client went away: nothing to answer.
      req.on('close', () => {
        if (settled || req.readableEnded) return;
        settled = true;
        clearTimeout(idle);
        release();
        resolve(undefined);
      });
    });
  };

  const inFlight = (name?: string) => {
    const pool = name === undefined ? main : lanes.find(({ lane }) => lane.name === name)?.pool;
    return { bodies: pool?.bodies ?? 0, bytes: pool?.bytes ?? 0 };
  };
  return { readBody, inFlight };
};
