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

/** POST one batch. Never throws: a refused or failed export is logged (without headers) and dropped. */
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
  if (dropped > 0) logger.warn('OTLP export queue full: spans dropped', { dropped });
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
    if (!res.ok) logger.warn('OTLP export refused', { status: res.status, spans: spans.length });
  } catch (error) {
    logger.warn('OTLP export failed', {
      error: messageOf(error),
      spans: spans.length,
    });
  }
};
