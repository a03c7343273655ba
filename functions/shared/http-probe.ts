import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { messageOf } from '../core/errors';
import {
  MAX_BODY_BYTES,
  type Observation,
  type TlsObservation,
  type TransportErrorKind,
} from '../core/probes/assertions';
import { browserConfigError } from '../core/probes/browser';
import type { ProbeFn, ProbeOutcome } from '../core/probes/run';
import { redactSecrets, resolveHeaders, type SecretResolver } from '../core/probes/secrets';
import { runSteps, type SendFn } from '../core/probes/steps';
import { newTraceContext, type TraceContext } from '../core/tracing/context';
import { SPAN_KIND, setSpanAttributes, withSpan } from './otel/spans';
import { tracer } from './powertools';
import { probeDns, probeTcp } from './socket-probes';
import { VERSION } from './version';

/**
 * The one I/O piece of probing, shared by Lambda and local mode: one HTTP(S) request with
 * node:http / node:https on a fresh connection, a hard deadline over connect + TLS + headers +
 * body, at most 1 MB of body read, no redirects followed, and the peer certificate's expiry
 * recorded even when the certificate is rejected. The latency of a response is measured around
 * the request only (written → response end).
 *
 * For https the TLS handshake is done first on a socket of our own with verification
 * deferred; only when the certificate is trusted (chain and host name) does the request,
 * with its possibly secret headers, go out on that socket. That is what makes an expired
 * certificate both a failure and a readable `validTo`.
 */

export interface ProbeHttpOptions {
  signal?: AbortSignal;
  /** Trusted CA certificates (PEM) instead of the system store. For tests. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Refuse untrusted certificates. Default true. */
  rejectUnauthorized?: boolean;
  /** Body bytes kept. Default `MAX_BODY_BYTES` (1 MB). */
  maxBodyBytes?: number;
}

export type ProbeRequest = {
  name: string;
  url: string;
  method: string;
  body?: string;
  timeoutMs: number;
};

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);

const TLS_REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'a self-signed certificate is in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the chain is incomplete (missing intermediate certificate?)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuer is not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not match the host name',
  CERT_REVOKED: 'the certificate was revoked',
};

const errorCode = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

const isTlsCode = (code: string): boolean =>
  code in TLS_REASONS ||
  code.startsWith('ERR_TLS_') ||
  code.startsWith('ERR_SSL_') ||
  code.startsWith('CERT_') ||
  code === 'EPROTO';

/** Map a Node network error to the failure kind and a short message (no header values). */
export const classifyError = (
  e: unknown,
  host: string,
  port: number,
): { kind: TransportErrorKind; message: string } => {
  const code = errorCode(e);
  const text = messageOf(e);
  if (code && DNS_CODES.has(code))
    return { kind: 'dns', message: `DNS lookup for ${host} failed (${code})` };
  if (code && isTlsCode(code))
    return {
      kind: 'tls',
      message: `TLS handshake failed: ${TLS_REASONS[code] ?? text}${code in TLS_REASONS ? ` (${code})` : ''}`,
    };
  if (code === 'ECONNREFUSED')
    return { kind: 'connection', message: `connection refused by ${host}:${port}` };
  if (code === 'ECONNRESET') return { kind: 'connection', message: 'connection reset by the peer' };
  if (code?.startsWith('HPE_'))
    return { kind: 'connection', message: `invalid HTTP response (${code})` };
  return { kind: 'connection', message: code && !text.includes(code) ? `${code}: ${text}` : text };
};

const certificateOf = (socket: TLSSocket): TlsObservation | undefined => {
  const cert = socket.getPeerCertificate();
  if (!cert || typeof cert.valid_to !== 'string') return undefined;
  const validTo = new Date(cert.valid_to);
  return Number.isNaN(validTo.getTime()) ? undefined : { validTo };
};

const flattenHeaders = (res: IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {};
  // Node gives a string, or an array for a repeated header; never undefined on a response.
  for (const [key, value] of Object.entries(res.headers)) out[key] = [value].flat().join(', ');
  return out;
};

const hasHeader = (headers: Record<string, string>, name: string): boolean =>
  Object.keys(headers).some((k) => k.toLowerCase() === name);

const request = (
  probe: ProbeRequest,
  headers: Record<string, string>,
  opts: ProbeHttpOptions,
): Promise<Observation> =>
  new Promise<Observation>((resolve, reject) => {
    // A failure reports the time until it; a response, the time from the request being written
    // on an open connection to its end (`sent` is set then): DNS, connect and TLS handshake
    // are left out, so the figure is the service's answer and not the prober's socket setup.
    const started = performance.now();
    let sent = started;
    const elapsed = () => performance.now() - started;
    const url = new URL(probe.url);
    const secure = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port ? Number(url.port) : secure ? 443 : 80;
    const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
    let cert: TlsObservation | undefined;
    let settled = false;
    const cleanups: (() => void)[] = [];

    const finish = (obs: Observation): void => {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups) cleanup();
      resolve(obs);
    };
    const fail = (kind: TransportErrorKind, message: string): void =>
      finish({ error: kind, message, latencyMs: elapsed(), ...(cert ? { tls: cert } : {}) });

    const timer = setTimeout(
      () => fail('timeout', `no complete response within ${probe.timeoutMs} ms`),
      probe.timeoutMs,
    );
    cleanups.push(() => clearTimeout(timer));
    const { signal } = opts;
    if (signal) {
      const onAbort = () => fail('timeout', 'the probe was cancelled before it completed');
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }

    const sendUnchecked = (socket: TLSSocket | undefined): void => {
      const outgoing: Record<string, string> = { ...headers };
      if (!hasHeader(outgoing, 'host')) outgoing.host = url.host;
      if (!hasHeader(outgoing, 'user-agent')) outgoing['user-agent'] = `vigil-probe/${VERSION}`;
      const common = {
        host,
        port,
        path: `${url.pathname}${url.search}`,
        method: probe.method,
        headers: outgoing,
      };
      const req = socket
        ? https.request({ ...common, createConnection: () => socket })
        : http.request({ ...common, agent: false });
      cleanups.push(() => req.destroy());
      req.once('socket', (s) => {
        const mark = () => {
          sent = performance.now();
        };
        // A TLS socket is already connected here; a plain one connects, then gets the request.
        if (s.connecting) s.once('connect', mark);
        else mark();
      });
      req.on('error', (e) => {
        const { kind, message } = classifyError(e, host, port);
        fail(kind, message);
      });
      req.on('response', (res) => {
        const statusCode = res.statusCode ?? 0;
        const responseHeaders = flattenHeaders(res);
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        const done = () =>
          finish({
            statusCode,
            headers: responseHeaders,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(truncated ? { bodyTruncated: true } : {}),
            latencyMs: performance.now() - sent,
            ...(cert ? { tls: cert } : {}),
          });
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          const room = maxBody - size;
          if (chunk.byteLength > room) {
            chunks.push(chunk.subarray(0, room));
            size = maxBody;
            truncated = true;
            done();
            return;
          }
          chunks.push(chunk);
          size += chunk.byteLength;
        });
        res.on('end', done);
        res.on('error', (e) => {
          const { kind, message } = classifyError(e, host, port);
          fail(kind, `response interrupted: ${message}`);
        });
        res.on('aborted', () => fail('connection', 'the connection closed mid-response'));
      });
      req.end(probe.body);
    };
    // Node validates header names and values synchronously (e.g. a newline in a value): that
    // is a probe configuration error, reported as such rather than as a network failure.
    const send = (socket: TLSSocket | undefined): void => {
      try {
        sendUnchecked(socket);
      } catch (e) {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        reject(new Error(`the request could not be sent: ${messageOf(e)}`));
      }
    };

    if (!secure) {
      send(undefined);
      return;
    }
    const socket = tls.connect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      // Verified below, after the certificate has been read; nothing is sent before that.
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
    cleanups.push(() => socket.destroy());
    socket.on('error', (e) => {
      const { kind, message } = classifyError(e, host, port);
      fail(kind, message);
    });
    socket.once('secureConnect', () => {
      cert = certificateOf(socket);
      if (!socket.authorized && opts.rejectUnauthorized !== false) {
        const code = String(socket.authorizationError);
        const reason = TLS_REASONS[code];
        fail('tls', `TLS certificate not trusted: ${reason ? `${reason} (${code})` : code}`);
        return;
      }
      send(socket);
    });
  });

/**
 * Probe one HTTP(S) endpoint. `headers` are already resolved (they may hold secrets: they
 * go to the target and nowhere else). Network, TLS and timeout failures are observations; it
 * rejects only when Node refuses to build the request (an invalid header name or value).
 */
export const probeHttp = async (
  probe: ProbeRequest,
  headers: Record<string, string>,
  opts: ProbeHttpOptions = {},
): Promise<Observation> => {
  // Outside Lambda there is no segment to attach to; with tracing off there is nothing to do.
  const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
  const subsegment = parent?.addNewSubsegment(`probe ${probe.name}`);
  try {
    const obs = await request(probe, headers, opts);
    setSpanAttributes(
      'error' in obs
        ? { 'error.type': obs.error }
        : { 'http.response.status_code': obs.statusCode },
    );
    if (subsegment) {
      subsegment.addAnnotation('probe', probe.name);
      subsegment.addMetadata('request', { method: probe.method, url: probe.url });
      if ('error' in obs) {
        subsegment.addAnnotation('probe_error', obs.error);
        subsegment.addErrorFlag();
      } else subsegment.addAnnotation('status_code', obs.statusCode);
    }
    return obs;
  } finally {
    subsegment?.close();
  }
};

export interface HttpProberOptions extends Omit<ProbeHttpOptions, 'signal'> {
  secrets: SecretResolver;
  /** Dates certificate checks of multi-step and TCP probes. Default: the system clock. */
  now?: () => Date;
  /** Name servers for DNS checks (`127.0.0.1:5353`). Default: the system's. For tests. */
  dnsServers?: string[];
  /** The HTTP probe to use (tests inject one). Default `probeHttp`. */
  probeHttp?: typeof probeHttp;
  /** Runs browser checks (`browser-probe.ts`); without it they report a configuration error. */
  browser?: ProbeFn;
}

/**
 * The W3C `traceparent` a request sends (the active span's, or a new context in `trace`),
 * unless the probe's own headers set one.
 */
const withTraceparent = (
  headers: Record<string, string>,
  context: Pick<TraceContext, 'traceparent'>,
): Record<string, string> =>
  hasHeader(headers, 'traceparent') ? headers : { traceparent: context.traceparent, ...headers };

/** Origin and path only (a query may hold tokens), for span attributes. */
const spanUrl = (raw: string): string | undefined => {
  try {
    const u = new URL(raw);
    return `${u.origin}${u.pathname}`;
  } catch {
    return undefined;
  }
};

/**
 * The `ProbeFn` both runtimes use, for every check kind: TCP and DNS checks go to
 * `socket-probes`, multi-step probes to `runSteps`; an HTTP probe resolves its
 * `{{secret:NAME}}` header values, sends the request, and scrubs the secret values from everything the observation reports (a target that
 * echoes the Authorization header back must not leak it into an event).
 *
 * Every HTTP check is one trace context: its requests carry `traceparent` (a multi-step
 * probe's steps share the trace id, each with a span id of its own) and the result reports it.
 * With OpenTelemetry export on, the check is a span (`probe <name>`) and each step a child.
 */
export const createHttpProber = (options: HttpProberOptions): ProbeFn => {
  const {
    secrets,
    now = () => new Date(),
    dnsServers,
    probeHttp: probeFn = probeHttp,
    browser,
    ...httpOptions
  } = options;
  const checkHttp = async (
    probe: Parameters<ProbeFn>[0],
    signal: AbortSignal,
    trace: TraceContext,
  ): Promise<ProbeOutcome> => {
    if (probe.steps) {
      const send: SendFn = (req, headers, stepSignal) =>
        withSpan(
          `step ${req.name}`,
          (span) =>
            probeFn(req, withTraceparent(headers, span ?? newTraceContext(trace)), {
              ...httpOptions,
              signal: stepSignal,
            }),
          {
            kind: SPAN_KIND.client,
            attributes: { 'http.request.method': req.method, 'url.full': spanUrl(req.url) },
          },
        );
      return runSteps({ ...probe, steps: probe.steps }, { send, secrets, now }, signal);
    }
    const url = probe.url ?? '';
    const resolved = await resolveHeaders(probe.headers, secrets);
    const scrub = (s: string) => redactSecrets(s, resolved.secrets);
    let obs: Observation;
    try {
      obs = await probeFn({ ...probe, url }, withTraceparent(resolved.headers, trace), {
        ...httpOptions,
        signal,
      });
    } catch (e) {
      throw new Error(scrub(messageOf(e)));
    }
    if (resolved.secrets.length === 0) return obs;
    if ('error' in obs) return { ...obs, message: scrub(obs.message) };
    return {
      ...obs,
      body: scrub(obs.body),
      headers: Object.fromEntries(Object.entries(obs.headers).map(([k, v]) => [k, scrub(v)])),
    };
  };
  return async (probe, signal, info) => {
    if (probe.type === 'browser')
      return browser
        ? browser(probe, signal, info)
        : browserConfigError(
            'this runner has no browser: browser checks run in `vigil dev`, `vigil probe --once` (from a clone) and the browser function on AWS',
          );
    if (probe.type === 'tcp') return probeTcp(probe, now, { ...httpOptions, signal });
    if (probe.type === 'dns') return probeDns(probe, dnsServers, signal);
    return withSpan(
      `probe ${probe.name}`,
      async (span) => {
        const trace = span ?? newTraceContext();
        const outcome = await checkHttp(probe, signal, trace);
        return { ...outcome, traceparent: trace.traceparent };
      },
      {
        kind: probe.steps ? SPAN_KIND.internal : SPAN_KIND.client,
        attributes: {
          'vigil.probe': probe.name,
          // A probe that names no project has the config's: the runner says which (`info`).
          'vigil.project': info?.project ?? probe.project,
          'http.request.method': probe.method,
          'url.full': probe.url ? spanUrl(probe.url) : undefined,
        },
      },
    );
  };
};
