import type { ProbeConfig } from '../config.js';
import { select } from './json-path.js';

/**
 * Probe assertions: pure decisions on what a probe observed. Given the probe's `expect`
 * block and one observation (a response, or a transport failure), decide up or down, name
 * the first assertion that failed with a message a person can act on, and collect warnings
 * (a certificate close to expiry). Messages quote at most a short snippet of the body.
 */

export type TransportErrorKind = 'timeout' | 'connection' | 'tls' | 'dns';

export interface TlsObservation {
  /** The peer certificate's `notAfter`. */
  validTo: Date;
}

/** A complete HTTP response (any status: redirects are not followed). */
export interface ResponseObservation {
  statusCode: number;
  /** Header names in lower case; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The body as UTF-8 text, at most the first `MAX_BODY_BYTES` bytes. */
  body: string;
  /** True when the body was longer and was cut. */
  bodyTruncated?: boolean;
  latencyMs: number;
  tls?: TlsObservation;
}

/** No usable response: the probe timed out or the connection, TLS or DNS failed. */
export interface TransportFailure {
  error: TransportErrorKind;
  message: string;
  latencyMs: number;
  /** Set for TLS failures when the certificate could still be read (e.g. expired). */
  tls?: TlsObservation;
}

export type Observation = ResponseObservation | TransportFailure;

export interface Failure {
  /** `status`, `maxLatencyMs`, `bodyContains`, `header:<name>`, `json:<path>`, `tls`, or a transport error kind. */
  assertion: string;
  message: string;
}

export interface Verdict {
  status: 'up' | 'down';
  failure?: Failure;
  warnings: string[];
  tls?: { validTo: string; daysRemaining: number };
}

/** How much of a response body a probe reads and keeps. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How much of a body or value a message may quote. */
export const SNIPPET_CHARS = 200;

const DAY_MS = 86_400_000;

export const isTransportFailure = (o: Observation): o is TransportFailure => 'error' in o;

/** Whole days until `validTo` (negative once expired; -1 during the first day after). */
export const daysRemaining = (validTo: Date, now: Date): number =>
  Math.floor((validTo.getTime() - now.getTime()) / DAY_MS);

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Whitespace collapsed and cut to `max` characters. */
export const snippet = (text: string, max = SNIPPET_CHARS): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const quote = (value: unknown, max = 100): string => {
  if (value === undefined) return 'undefined';
  return snippet(JSON.stringify(value) ?? String(value), max);
};

const orList = (items: readonly number[]): string =>
  items.length <= 1
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;

type Expect = ProbeConfig['expect'];

const checkStatus = (expect: Expect, obs: ResponseObservation): Failure | undefined => {
  if (expect.status.includes(obs.statusCode)) return undefined;
  const location = obs.headers.location;
  const redirect =
    obs.statusCode >= 300 && obs.statusCode < 400 && location
      ? ` (redirect to ${snippet(location, 120)}, not followed)`
      : '';
  return {
    assertion: 'status',
    message: `expected status ${orList(expect.status)}, got ${obs.statusCode}${redirect}`,
  };
};

const checkLatency = (expect: Expect, obs: ResponseObservation): Failure | undefined => {
  if (expect.maxLatencyMs === undefined || obs.latencyMs <= expect.maxLatencyMs) return undefined;
  return {
    assertion: 'maxLatencyMs',
    message: `took ${Math.round(obs.latencyMs)} ms, more than the ${expect.maxLatencyMs} ms allowed`,
  };
};

const checkBody = (expect: Expect, obs: ResponseObservation): Failure | undefined => {
  const needle = expect.bodyContains;
  if (needle === undefined || obs.body.includes(needle)) return undefined;
  const what = obs.bodyTruncated ? `the first ${MAX_BODY_BYTES} bytes of the body` : 'the body';
  const message =
    obs.body.length === 0
      ? `the body is empty; expected it to contain ${quote(needle)}`
      : `${what} did not contain ${quote(needle)}; it starts with ${quote(snippet(obs.body), SNIPPET_CHARS + 2)}`;
  return { assertion: 'bodyContains', message };
};

const headerValue = (headers: Record<string, string>, name: string): string | undefined => {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers))
    if (key.toLowerCase() === wanted) return value;
  return undefined;
};

const checkHeaders = (expect: Expect, obs: ResponseObservation): Failure | undefined => {
  for (const [name, expected] of Object.entries(expect.headers)) {
    const actual = headerValue(obs.headers, name);
    const assertion = `header:${name.toLowerCase()}`;
    if (actual === undefined)
      return {
        assertion,
        message: `expected header ${name.toLowerCase()}: ${quote(expected)}, but the response has no such header`,
      };
    if (actual.trim() !== expected.trim())
      return {
        assertion,
        message: `expected header ${name.toLowerCase()}: ${quote(expected)}, got ${quote(actual)}`,
      };
  }
  return undefined;
};

const checkJson = (expect: Expect, obs: ResponseObservation): Failure | undefined => {
  if (expect.json.length === 0) return undefined;
  let doc: unknown;
  let parsed = true;
  try {
    doc = JSON.parse(obs.body);
  } catch {
    parsed = false;
  }
  for (const a of expect.json) {
    const assertion = `json:${a.path}`;
    if (!parsed) {
      const cut = obs.bodyTruncated ? ` (it was cut at ${MAX_BODY_BYTES} bytes)` : '';
      const empty = obs.body.length === 0 ? 'the body is empty' : 'the body is not valid JSON';
      return { assertion, message: `${empty}${cut}, so ${a.path} cannot be checked` };
    }
    const { found, value } = select(doc, a.path);
    if (a.exists === true && !found) return { assertion, message: `${a.path} does not exist` };
    if (a.exists === false && found)
      return { assertion, message: `${a.path} exists (${quote(value)}), expected it not to` };
    if (a.equals !== undefined) {
      if (!found)
        return { assertion, message: `${a.path} does not exist; expected ${quote(a.equals)}` };
      if (value !== a.equals)
        return { assertion, message: `${a.path} is ${quote(value)}, expected ${quote(a.equals)}` };
    }
  }
  return undefined;
};

const expiredMessage = (validTo: Date, days: number): string => {
  const ago = -days - 1;
  return `TLS certificate expired on ${validTo.toISOString()} (${ago === 0 ? 'less than a day' : plural(ago, 'day')} ago)`;
};

/** Decide up/down for one observation; `now` dates the TLS checks. */
export const evaluate = (
  probe: Pick<ProbeConfig, 'expect' | 'tlsExpiryDays'>,
  obs: Observation,
  now: Date,
): Verdict => {
  const warnings: string[] = [];
  let tls: Verdict['tls'];
  let expired: Failure | undefined;
  if (obs.tls && !Number.isNaN(obs.tls.validTo.getTime())) {
    const { validTo } = obs.tls;
    const days = daysRemaining(validTo, now);
    tls = { validTo: validTo.toISOString(), daysRemaining: days };
    if (validTo.getTime() <= now.getTime())
      expired = { assertion: 'tls', message: expiredMessage(validTo, days) };
    else if (probe.tlsExpiryDays !== undefined && days < probe.tlsExpiryDays)
      warnings.push(
        `TLS certificate expires in ${days < 1 ? 'less than a day' : plural(days, 'day')} (${validTo.toISOString()}), within the ${probe.tlsExpiryDays}-day warning window`,
      );
  }
  const verdict = (failure: Failure | undefined): Verdict => ({
    status: failure ? 'down' : 'up',
    ...(failure ? { failure } : {}),
    warnings,
    ...(tls ? { tls } : {}),
  });

  if (isTransportFailure(obs)) {
    if (obs.error === 'tls' && expired) return verdict(expired);
    return verdict({ assertion: obs.error, message: obs.message });
  }
  const { expect } = probe;
  return verdict(
    checkStatus(expect, obs) ??
      checkLatency(expect, obs) ??
      checkBody(expect, obs) ??
      checkHeaders(expect, obs) ??
      checkJson(expect, obs) ??
      expired,
  );
};
