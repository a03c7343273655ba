import { messageOf } from '../../core/errors';
import {
  type Attributes,
  type AttributeValue,
  SPAN_KIND,
  type SpanRecord,
} from '../../core/tracing/spans';
import { logger } from '../powertools';
import { VERSION } from '../version';
import type { OtelEnv } from './spans';

/**
 * OTLP/HTTP with the JSON encoding (opentelemetry-proto's `ExportTraceServiceRequest`): ids in
 * hex, enums as numbers, 64-bit integers as decimal strings, `Content-Type: application/json`.
 * Loaded only when an endpoint is set (see ./spans.ts).
 */

/** Header lists and resource attributes: `key1=value1,key2=value2`, values percent-encoded. */
export const parseKeyValues = (raw: string | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(
        pair.slice(eq + 1).trim(),
      );
    } catch {
      // A malformed escape drops that pair only (the specification's advice).
    }
  }
  return out;
};

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } };

const anyValue = (v: AttributeValue): AnyValue => {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number')
    return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { arrayValue: { values: v.map((s) => ({ stringValue: s })) } };
};

const keyValues = (attributes: Attributes) =>
  Object.entries(attributes)
    .filter((e): e is [string, AttributeValue] => e[1] !== undefined)
    .map(([key, value]) => ({ key, value: anyValue(value) }));

/** Epoch milliseconds → nanoseconds as a decimal string (beyond a double's exact range). */
const nanos = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

const STATUS = { ok: 1, error: 2 } as const;

/** Resource attributes: service name and version, the stage, the Lambda function, then `OTEL_RESOURCE_ATTRIBUTES`. */
export const resourceAttributes = (env: OtelEnv = process.env): Attributes => ({
  ...parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES),
  'service.name': env.OTEL_SERVICE_NAME || env.POWERTOOLS_SERVICE_NAME || 'vigil',
  'service.version': VERSION,
  'deployment.environment.name': env.VIGIL_STAGE || 'local',
  ...(env.AWS_LAMBDA_FUNCTION_NAME
    ? {
        'cloud.provider': 'aws',
        'cloud.region': env.AWS_REGION,
        'faas.name': env.AWS_LAMBDA_FUNCTION_NAME,
      }
    : {}),
});

/** The request body of one export. */
export const encodeSpans = (spans: readonly SpanRecord[], env: OtelEnv = process.env) => ({
  resourceSpans: [
    {
      resource: { attributes: keyValues(resourceAttributes(env)) },
      scopeSpans: [
        {
          scope: { name: 'vigil', version: VERSION },
          spans: spans.map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
            name: s.name,
            kind: s.kind ?? SPAN_KIND.internal,
            startTimeUnixNano: nanos(s.startMs),
            endTimeUnixNano: nanos(Math.max(s.startMs, s.endMs)),
            attributes: keyValues(s.attributes),
            ...(s.status
              ? {
                  status: {
                    code: STATUS[s.status.code],
                    ...(s.status.message ? { message: s.status.message } : {}),
                  },
                }
              : {}),
          })),
        },
      ],
    },
  ],
});

/** `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT` (ms), default 10 s. */
const timeoutMs = (env: OtelEnv): number => {
  const n = Number(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT || env.OTEL_EXPORTER_OTLP_TIMEOUT);
  return Number.isFinite(n) && n > 0 ? n : 10_000;
};

let warnedProtocol = false;

/** How often, at most, a continuing export problem is logged again (ms). */
export const WARN_INTERVAL_MS = 60_000;

interface Problem {
  /** What went wrong, as the first warning of an outage says it. */
  message: string;
  error?: string;
  status?: number;
  /** Spans of a failed request. */
  lostSpans: number;
  /** Spans dropped from a full queue (./spans.ts counts them). */
  droppedSpans: number;
}

/**
 * Problems since the last warning. A collector that hangs or refuses would otherwise cost one
 * log line per batch, and a storm of spans is a storm of lines: the first problem of an outage
 * is logged at once, then a sum at most every `WARN_INTERVAL_MS`, and one when it is over.
 */
let outage:
  | {
      loggedAt: number;
      failedExports: number;
      lostSpans: number;
      droppedSpans: number;
      lastError?: string;
    }
  | undefined;

const noteProblem = (problem: Problem, now = Date.now()): void => {
  const failed = problem.error !== undefined || problem.status !== undefined;
  if (outage === undefined) {
    outage = { loggedAt: now, failedExports: 0, lostSpans: 0, droppedSpans: 0 };
    logger.warn(problem.message, {
      ...(problem.error !== undefined ? { error: problem.error } : {}),
      ...(problem.status !== undefined ? { status: problem.status } : {}),
      ...(problem.lostSpans > 0 ? { spans: problem.lostSpans } : {}),
      ...(problem.droppedSpans > 0 ? { dropped: problem.droppedSpans } : {}),
      note: 'further export problems are summed up once a minute until an export succeeds',
    });
    return;
  }
  if (failed) outage.failedExports++;
  outage.lostSpans += problem.lostSpans;
  outage.droppedSpans += problem.droppedSpans;
  const reason =
    problem.error ?? (problem.status !== undefined ? `HTTP ${problem.status}` : undefined);
  if (reason !== undefined) outage.lastError = reason;
  if (now - outage.loggedAt < WARN_INTERVAL_MS) return;
  logger.warn('OTLP export problems continue', summary(outage));
  outage = { loggedAt: now, failedExports: 0, lostSpans: 0, droppedSpans: 0 };
};

const summary = (o: NonNullable<typeof outage>) => ({
  failedExports: o.failedExports,
  lostSpans: o.lostSpans,
  droppedSpans: o.droppedSpans,
  ...(o.lastError !== undefined ? { lastError: o.lastError } : {}),
});

/** An export went through with nothing dropped: the end of an outage, if there was one. */
const noteSuccess = (): void => {
  if (outage === undefined) return;
  logger.info('OTLP export recovered', summary(outage));
  outage = undefined;
};

/**
 * POST one batch; `dropped` is how many spans a full queue dropped since the last export. Never
 * throws: a refused or failed export drops its spans, and is logged (without headers) in the
 * aggregated way above. Abandoned after `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (default 10 s): a
 * collector that accepts the connection and never answers must not hold the one request ./spans.ts
 * allows in flight for ever.
 */
export const exportSpans = async (
  url: string,
  spans: readonly SpanRecord[],
  dropped = 0,
  env: OtelEnv = process.env,
): Promise<void> => {
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol && protocol !== 'http/json' && !warnedProtocol) {
    warnedProtocol = true;
    logger.warn(`OTLP protocol ${protocol} is not supported: Vigil exports http/json`);
  }
  let problem: Problem | undefined;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        ...parseKeyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS || env.OTEL_EXPORTER_OTLP_HEADERS),
        'content-type': 'application/json',
      },
      body: JSON.stringify(encodeSpans(spans, env)),
      signal: AbortSignal.timeout(timeoutMs(env)),
    });
    await res.body?.cancel();
    if (!res.ok)
      problem = {
        message: 'OTLP export refused',
        status: res.status,
        lostSpans: spans.length,
        droppedSpans: dropped,
      };
  } catch (error) {
    problem = {
      message: 'OTLP export failed',
      error: messageOf(error),
      lostSpans: spans.length,
      droppedSpans: dropped,
    };
  }
  if (problem === undefined && dropped > 0)
    problem = {
      message: 'OTLP export queue full: spans dropped',
      lostSpans: 0,
      droppedSpans: dropped,
    };
  if (problem) noteProblem(problem);
  else noteSuccess();
};
