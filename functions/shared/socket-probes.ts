import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { ProbeConfig } from '../core/config';
import { evaluate, type Failure } from '../core/probes/assertions';
import { type JudgedOutcome, judged } from '../core/probes/outcome';
import { classifyError, type ProbeHttpOptions } from './http-probe';

/**
 * TCP and DNS checks, the I/O half: a TCP connect (optionally with a TLS handshake whose
 * certificate expiry is checked like an HTTPS probe's), and one DNS query whose answers are
 * compared with `expect.values` / `expect.minCount`. Both settle within `timeoutMs`.
 */

export type TcpProbe = Pick<ProbeConfig, 'host' | 'port' | 'tls' | 'timeoutMs' | 'tlsExpiryDays'>;

/** Connect to `host:port` (and handshake when `tls`), then close. */
export const probeTcp = (
  probe: TcpProbe,
  now: () => Date,
  opts: Pick<ProbeHttpOptions, 'ca' | 'rejectUnauthorized'> & { signal: AbortSignal },
): Promise<JudgedOutcome> =>
  new Promise((resolve) => {
    const host = probe.host ?? '';
    const port = probe.port ?? 0;
    const started = performance.now();
    let socket: net.Socket | undefined;
    const finish = (failure?: Failure, extra: Partial<JudgedOutcome> = {}) => {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      socket?.destroy();
      resolve(judged(performance.now() - started, failure, extra));
    };
    const timer = setTimeout(
      () => finish({ assertion: 'timeout', message: `no connection within ${probe.timeoutMs} ms` }),
      probe.timeoutMs,
    );
    const onAbort = () =>
      finish({ assertion: 'timeout', message: 'the probe was cancelled before it completed' });
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const onError = (e: unknown) => {
      const { kind, message } = classifyError(e, host, port);
      finish({ assertion: kind, message });
    };
    if (!probe.tls) {
      socket = net.connect({ host, port }, () => finish());
      socket.on('error', onError);
      return;
    }
    const secure: TLSSocket = tls.connect({
      host,
      port,
      ...(net.isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: false,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
    socket = secure;
    secure.on('error', onError);
    secure.once('secureConnect', () => {
      const tlsObs = { validTo: new Date(secure.getPeerCertificate().valid_to) };
      // Judged as HTTPS probes judge certificates: a response that passes everything else.
      const verdict = evaluate(
        { expect: { status: [0], json: [], headers: {} }, tlsExpiryDays: probe.tlsExpiryDays },
        { statusCode: 0, headers: {}, body: '', latencyMs: 0, tls: tlsObs },
        now(),
      );
      const untrusted =
        !secure.authorized && opts.rejectUnauthorized !== false
          ? {
              assertion: 'tls',
              message: `TLS certificate not trusted: ${String(secure.authorizationError)}`,
            }
          : undefined;
      finish(verdict.failure ?? untrusted, {
        warnings: verdict.warnings,
        ...(verdict.tls ? { tls: verdict.tls } : {}),
      });
    });
  });

export type DnsProbe = Pick<ProbeConfig, 'host' | 'recordType' | 'timeoutMs' | 'expect'>;

/** One answer as text: MX as `priority exchange`, TXT chunks joined. */
const answerText = (answer: unknown): string => {
  if (typeof answer === 'string') return answer;
  if (Array.isArray(answer)) return answer.join('');
  const mx = answer as { priority: number; exchange: string };
  return `${mx.priority} ${mx.exchange}`;
};

/**
 * A DNS value as it is compared: an IPv6 address in its short form, host names in lower case
 * without the root's trailing dot (`10 MX1.example.com.` and `10 mx1.example.com` are one
 * answer); TXT strings as they are.
 */
export const canonicalDnsValue = (value: string, recordType: string): string => {
  if (recordType === 'TXT') return value;
  const v = value.trim();
  if (recordType === 'AAAA') {
    try {
      return new URL(`http://[${v}]/`).hostname.slice(1, -1);
    } catch {
      return v.toLowerCase();
    }
  }
  return v.toLowerCase().replace(/\.$/, '');
};

const NO_ANSWER = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

/**
 * Ask for `host`'s `recordType` records; `servers` overrides the system's name servers. Settles
 * by `timeoutMs`, or at once when `signal` aborts (the runner's deadline, a shutdown): either
 * way the query is cancelled, so no answer arrives after the result.
 */
export const probeDns = async (
  probe: DnsProbe,
  servers?: string[],
  signal?: AbortSignal,
): Promise<JudgedOutcome> => {
  const host = probe.host ?? '';
  const recordType = probe.recordType ?? 'A';
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const cancelled = () =>
    judged(elapsed(), {
      assertion: 'timeout',
      message: 'the probe was cancelled before it completed',
    });
  if (signal?.aborted) return cancelled();
  const resolver = new Resolver({ timeout: probe.timeoutMs, tries: 1 });
  if (servers) resolver.setServers(servers);
  let answers: string[];
  // c-ares's own timeout overshoots short ones (~300 ms for 100): `timeoutMs` is a hard limit.
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error('DNS deadline'), { code: 'ETIMEOUT' })),
      probe.timeoutMs,
    );
    onAbort = () => reject(Object.assign(new Error('DNS cancelled'), { code: 'EABORTED' }));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    answers = ((await Promise.race([resolver.resolve(host, recordType), stop])) as unknown[]).map(
      answerText,
    );
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'ERROR';
    if (code === 'EABORTED') return cancelled();
    if (code === 'ETIMEOUT')
      return judged(elapsed(), {
        assertion: 'timeout',
        message: `no DNS answer within ${probe.timeoutMs} ms`,
      });
    answers = [];
    if (!NO_ANSWER.has(code))
      return judged(elapsed(), {
        assertion: 'dns',
        message: `DNS query for ${host} ${recordType} failed (${code})`,
      });
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // Whatever ended the race, the query ends with it (its late rejection goes to the race).
    resolver.cancel();
  }
  const minCount = probe.expect.minCount ?? 1;
  const answered = new Set(answers.map((a) => canonicalDnsValue(a, recordType)));
  const missing = (probe.expect.values ?? []).filter(
    (v) => !answered.has(canonicalDnsValue(v, recordType)),
  );
  const got = answers.length === 0 ? 'no records' : answers.slice(0, 10).join(', ');
  const failure: Failure | undefined =
    answers.length < minCount
      ? {
          assertion: 'dns:minCount',
          message: `${host} ${recordType}: expected at least ${minCount} records, got ${got}`,
        }
      : missing.length > 0
        ? {
            assertion: 'dns:values',
            message: `${host} ${recordType}: missing ${missing.join(', ')}; got ${got}`,
          }
        : undefined;
  return judged(elapsed(), failure);
};
