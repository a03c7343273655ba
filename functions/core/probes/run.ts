import type { ProbeConfig } from '../config';
import { DETAIL_TYPES, SOURCES } from '../event-names';
import type { ProbeCompletedDetail, VigilEvent } from '../events';
import { mapLimit } from '../pool';
import type { Clock } from '../ports';
import { parseTraceparent } from '../tracing/context';
import { evaluate, type Observation } from './assertions';
import { isJudged, type JudgedOutcome } from './outcome';
import { SecretError } from './secrets';

/**
 * Run a set of probes once, concurrently (bounded), and turn each observation into a
 * `Probe Completed` event detail. Every probe has its own deadline: a hung target costs
 * its own `timeoutMs` and never delays the other probes' results beyond that.
 */

/**
 * What a probe reports: an observation or its own verdict, with the W3C `traceparent` of the
 * check when its requests carried one (the result's `traceId`).
 */
export type ProbeOutcome = (Observation | JudgedOutcome) & { traceparent?: string };

/** What the runner knows of a probe beyond its config. */
export interface ProbeRunInfo {
  /** The probe's project: its own, else the config's top-level one (what its result reports). */
  project: string;
}

/**
 * Performs one probe (the HTTP request, every step of a multi-step probe, a TCP connect, a DNS
 * query); must settle by itself within `timeoutMs`.
 */
export type ProbeFn = (
  probe: ProbeConfig,
  signal: AbortSignal,
  info?: ProbeRunInfo,
) => Promise<ProbeOutcome>;

export interface RunProbesDeps {
  probe: ProbeFn;
  clock: Clock;
  /** Probes in flight at once. Default `DEFAULT_CONCURRENCY`. */
  concurrency?: number;
  /** Monotonic milliseconds, for the safety deadline. Default `performance.now`. */
  monotonicNow?: () => number;
}

export interface RunContext {
  /** One id for every result of this run (created by the caller). */
  correlationId: string;
  /** `local`, `cli` or the AWS region. */
  location: string;
  /** Project of probes that name none (the config's top-level `project`). */
  defaultProject: string;
  /** 1-based sample number within a scheduled invocation. Default 1. */
  attempt?: number | ((probe: ProbeConfig) => number);
}

export const DEFAULT_CONCURRENCY = 16;
/**
 * Extra time past a probe's `timeoutMs` before the runner gives up on it by itself (the
 * HTTP probe enforces `timeoutMs`; this only guards against a probe function that hangs).
 */
export const DEADLINE_GRACE_MS = 1000;

/** The URL as reported: credentials in it (`user:pass@`) are masked. */
export const reportedUrl = (raw: string): string => {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return raw;
    url.username = '***';
    url.password = '';
    return url.toString();
  } catch {
    return raw;
  }
};

/** What the result names as checked: the URL and method, or `tcp://host:port` / `dns://host/TYPE`. */
const target = (probe: ProbeConfig): { url: string; method: string } => {
  if (probe.type === 'tcp') return { url: `tcp://${probe.host}:${probe.port}`, method: 'TCP' };
  if (probe.type === 'dns')
    return { url: `dns://${probe.host}/${probe.recordType ?? 'A'}`, method: 'DNS' };
  if (probe.type === 'browser') return { url: `browser://${probe.name}`, method: 'BROWSER' };
  // A multi-step probe is reported by its first step's request, placeholders and all.
  const first = probe.url === undefined ? probe.steps?.[0] : undefined;
  return {
    url: reportedUrl(probe.url ?? first?.url ?? ''),
    method: first?.method ?? probe.method,
  };
};

const round1 = (ms: number): number => Math.max(0, Math.round(ms * 10) / 10);

const observe = async (
  probe: ProbeConfig,
  deps: RunProbesDeps,
  info: ProbeRunInfo,
): Promise<ProbeOutcome | { thrown: unknown; latencyMs: number }> => {
  const now = deps.monotonicNow ?? (() => performance.now());
  const started = now();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<Observation>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({
        error: 'timeout',
        message: `no result within ${probe.timeoutMs} ms`,
        latencyMs: now() - started,
      });
    }, probe.timeoutMs + DEADLINE_GRACE_MS);
  });
  try {
    return await Promise.race<ProbeOutcome>([deps.probe(probe, controller.signal, info), deadline]);
  } catch (thrown) {
    return { thrown, latencyMs: now() - started };
  } finally {
    clearTimeout(timer);
  }
};

/** What a self-judged outcome adds: steps, and a browser check's page, measurements and files. */
const judgedExtras = (o: JudgedOutcome): Partial<ProbeCompletedDetail> => ({
  ...(o.url ? { url: reportedUrl(o.url) } : {}),
  ...(o.steps ? { steps: o.steps } : {}),
  ...(o.browser ? { browser: o.browser } : {}),
  ...(o.artifacts ? { artifacts: o.artifacts } : {}),
});

/** One probe, once: the event detail of its result. */
export const runProbe = async (
  probe: ProbeConfig,
  deps: RunProbesDeps,
  ctx: RunContext,
): Promise<ProbeCompletedDetail> => {
  const checkedAt = deps.clock.now();
  const project = probe.project ?? ctx.defaultProject;
  const outcome = await observe(probe, deps, { project });
  const attempt =
    typeof ctx.attempt === 'function' ? ctx.attempt(probe) : Math.max(1, ctx.attempt ?? 1);
  const trace = 'traceparent' in outcome ? parseTraceparent(outcome.traceparent) : undefined;
  const base = {
    metadata: {
      project,
      probe: probe.name,
      correlationId: ctx.correlationId,
      checkedAt: checkedAt.toISOString(),
      location: ctx.location,
      ...(trace ? { traceId: trace.traceId, traceparent: trace.traceparent } : {}),
    },
    ...target(probe),
    attempt,
    severity: probe.severity,
    tags: [...probe.tags],
  };
  if ('thrown' in outcome) {
    // Not an observation: the probe could not even be attempted (e.g. a missing secret).
    const { thrown } = outcome;
    const failure =
      thrown instanceof SecretError
        ? { assertion: 'secret', message: thrown.message }
        : {
            assertion: 'error',
            message: thrown instanceof Error ? thrown.message : String(thrown),
          };
    return {
      ...base,
      status: 'down',
      latencyMs: round1(outcome.latencyMs),
      failure,
      warnings: [],
    };
  }
  const verdict = isJudged(outcome) ? outcome : evaluate(probe, outcome, deps.clock.now());
  return {
    ...base,
    status: verdict.status,
    latencyMs: round1(outcome.latencyMs),
    ...('statusCode' in outcome ? { statusCode: outcome.statusCode } : {}),
    ...(verdict.failure ? { failure: verdict.failure } : {}),
    ...(verdict.tls ? { tls: verdict.tls } : {}),
    warnings: verdict.warnings,
    ...(isJudged(outcome) ? judgedExtras(outcome) : {}),
  };
};

/** Run every probe once, at most `concurrency` at a time; results keep the probes' order. */
export const runProbes = (
  probes: readonly ProbeConfig[],
  deps: RunProbesDeps,
  ctx: RunContext,
): Promise<ProbeCompletedDetail[]> =>
  mapLimit(probes, deps.concurrency ?? DEFAULT_CONCURRENCY, (probe) => runProbe(probe, deps, ctx));

/** The `Probe Completed` event of one result, as both runtimes publish it. */
export const toProbeEvent = (detail: ProbeCompletedDetail): VigilEvent => ({
  source: SOURCES.probe,
  detailType: DETAIL_TYPES.probeCompleted,
  detail,
});
