/** The span model Vigil exports (OTLP), shared by the tracer (functions/shared/otel) and core. */

/** OTLP's span kinds (opentelemetry-proto `Span.SpanKind`). */
export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
export type SpanKind = (typeof SPAN_KIND)[keyof typeof SPAN_KIND];

export type AttributeValue = string | number | boolean | readonly string[];
export type Attributes = Record<string, AttributeValue | undefined>;

/** A finished span, as the exporter encodes it. Times in epoch milliseconds (fractional). */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  startMs: number;
  endMs: number;
  attributes: Attributes;
  /** Unset when absent. */
  status?: { code: 'ok' | 'error'; message?: string };
}
