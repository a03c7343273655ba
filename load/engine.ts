import http from 'node:http';
import https from 'node:https';
import type { Scenario } from './scenarios/types';
import { type Outcome, percentile } from './summary';

/**
 * Two ways to send a scenario's requests at a fixed rate.
 *
 * `paced` (default) is open-loop: request i is due at start + i/rate, whatever happened to the
 * earlier ones, like real CI jobs arriving independently; latency counts from the moment the
 * request was due, so time spent waiting for a free connection or for a late timer is counted
 * too (no coordinated omission). Node's own http(s) client with keep-alive connections.
 *
 * `autocannon` uses autocannon's `overallRate`, which gives each connection a budget of
 * requests per second and sends them back to back at the start of every second: a burst per
 * second, effectively closed-loop, so its latency grows with the number of connections rather
 * than with the rate (measured: 100 req/s on a 4 ms handler, p50 8.5 ms with 2 connections,
 * 42 ms with 10, 165 ms with 50). Useful for peak-throughput runs, not for latency at a rate.
 */

export type EngineName = 'paced' | 'autocannon';

export interface EngineOptions {
  target: URL;
  rate: number;
  durationS: number;
  connections: number;
  timeoutMs: number;
  scenario: Scenario;
  onOutcome: (o: Outcome) => void;
  /** Stops sending new requests; those under way still finish. */
  signal?: AbortSignal;
}

export interface EngineRun {
  startedAt: Date;
  /** From the first request due to the last answer (paced: at least n/rate). */
  elapsedMs: number;
  /** How late the sender itself was (paced only): a busy load generator shows here. */
  sendLagMs?: { p99: number; max: number };
}

const errorCode = (e: unknown): string => {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
};

export const runPaced = (opts: EngineOptions): Promise<EngineRun> => {
  const secure = opts.target.protocol === 'https:';
  const client = secure ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: opts.connections });
  const hostname = opts.target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = opts.target.port || (secure ? 443 : 80);
  let total = Math.max(1, Math.round(opts.rate * opts.durationS));
  const intervalMs = 1000 / opts.rate;
  const startedAt = new Date();
  const t0 = performance.now();
  const lags: number[] = [];
  let due = 0;
  let inFlight = 0;
  let lastEnd = t0;

  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finishIfDone = () => {
      if (due < total || inFlight > 0) return;
      agent.destroy();
      opts.signal?.removeEventListener('abort', stop);
      const sorted = Float64Array.from(lags).sort();
      resolve({
        startedAt,
        // At least the sending window (n requests at the rate take n/rate seconds), so a run
        // the target kept up with shows exactly the rate, not n/(n-1) of it.
        elapsedMs: Math.max(lastEnd - t0, due * intervalMs),
        sendLagMs: {
          p99: Math.round(percentile(sorted, 99) * 100) / 100,
          max: Math.round((sorted[sorted.length - 1] ?? 0) * 100) / 100,
        },
      });
    };
    const stop = () => {
      total = due;
      if (timer) clearTimeout(timer);
      finishIfDone();
    };

    const send = (dueAt: number) => {
      const spec = opts.scenario.next();
      const headers: Record<string, string> = { ...spec.headers };
      if (spec.body) headers['content-length'] = String(spec.body.byteLength);
      inFlight++;
      let settled = false;
      const settle = (status: number, error?: string) => {
        if (settled) return;
        settled = true;
        const end = performance.now();
        lastEnd = Math.max(lastEnd, end);
        inFlight--;
        opts.onOutcome({
          status,
          latencyMs: end - dueAt,
          ...(error ? { error } : {}),
          ...(spec.runId ? { runId: spec.runId } : {}),
        });
        finishIfDone();
      };
      const req = client.request({
        hostname,
        port,
        method: spec.method,
        path: spec.path,
        headers,
        agent,
      });
      req.setTimeout(opts.timeoutMs, () =>
        req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
      );
      req.on('response', (res) => {
        res.on('data', () => {});
        res.on('end', () => settle(res.statusCode ?? 0));
        res.on('error', (e) => settle(0, errorCode(e)));
      });
      req.on('error', (e) => settle(0, errorCode(e)));
      req.end(spec.body);
    };

    const tick = () => {
      const now = performance.now();
      while (due < total && t0 + due * intervalMs <= now) {
        const dueAt = t0 + due * intervalMs;
        lags.push(now - dueAt);
        due++;
        send(dueAt);
      }
      if (due < total)
        timer = setTimeout(tick, Math.max(0, t0 + due * intervalMs - performance.now()));
      else finishIfDone();
    };

    if (opts.signal?.aborted) stop();
    else {
      opts.signal?.addEventListener('abort', stop, { once: true });
      tick();
    }
  });
};

export const runAutocannon = async (opts: EngineOptions): Promise<EngineRun> => {
  const { default: autocannon } = await import('autocannon');
  // autocannon calls onResponse and then emits `response` for the same answer synchronously,
  // so the run id seen in the first is the one the second belongs to.
  let answeredRunId: string | undefined;
  const startedAt = new Date();
  const t0 = performance.now();
  const instance = autocannon({
    url: opts.target.origin,
    connections: opts.connections,
    overallRate: opts.rate,
    duration: opts.durationS,
    timeout: Math.max(1, Math.ceil(opts.timeoutMs / 1000)),
    requests: [
      {
        setupRequest: (req, context) => {
          const spec = opts.scenario.next();
          context.runId = spec.runId;
          return {
            ...req,
            method: spec.method,
            path: spec.path,
            headers: spec.headers,
            body: spec.body ?? '',
          };
        },
        onResponse: (_status, _body, context) => {
          answeredRunId = typeof context.runId === 'string' ? context.runId : undefined;
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, latencyMs: number) => {
    opts.onOutcome({ status, latencyMs, ...(answeredRunId ? { runId: answeredRunId } : {}) });
    answeredRunId = undefined;
  });
  instance.on('reqError', (e: unknown) => {
    const code = errorCode(e);
    opts.onOutcome({
      status: 0,
      latencyMs: Number.NaN,
      error: code === 'request timed out' ? 'ETIMEDOUT' : code,
    });
  });
  const stop = () => instance.stop();
  opts.signal?.addEventListener('abort', stop, { once: true });
  await instance;
  opts.signal?.removeEventListener('abort', stop);
  return { startedAt, elapsedMs: performance.now() - t0 };
};

export const ENGINES: Record<EngineName, (opts: EngineOptions) => Promise<EngineRun>> = {
  paced: runPaced,
  autocannon: runAutocannon,
};
