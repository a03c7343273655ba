import type { Subsegment } from 'aws-xray-sdk-core';
import {
  activeSpan,
  otelEnabled,
  SPAN_KIND,
  type SpanKind,
  setSpanAttributes,
  withSpan,
} from './otel/spans';
import { tracer } from './powertools';

/**
 * X-Ray tracing for the handlers, on top of the shared Powertools tracer.
 *
 * In Lambda (active tracing) the function's segment is a facade built from `_X_AMZN_TRACE_ID`:
 * it cannot carry annotations, so each handler runs inside a subsegment of its own
 * (`## <name>`, the Powertools convention) that holds the annotations (`correlationId`,
 * `project`, `probe`, `ColdStart`, `Service`) and is the parent of the AWS SDK, HTTP, parse
 * and probe subsegments opened while it runs.
 *
 * Outside Lambda, or with `POWERTOOLS_TRACE_ENABLED=false`, every helper here is a plain call.
 * Segments go to the daemon over UDP, fire-and-forget: an absent X-Ray daemon costs nothing
 * and fails nothing.
 *
 * The same helpers open OpenTelemetry spans (./otel/spans.ts) when an OTLP endpoint is set, in
 * both runtimes: a span per invocation that continues the trace of the request or event that
 * triggered it, and a child span per traced step; annotations become `vigil.*` attributes.
 */

export type AnnotationValue = string | number | boolean;

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Annotate the current (handler) subsegment and OpenTelemetry span (`correlationId` becomes
 * `vigil.correlation_id`); `undefined` values are skipped.
 */
export const annotate = (annotations: Record<string, AnnotationValue | undefined>): void => {
  if (activeSpan())
    setSpanAttributes(
      Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`vigil.${snake(k)}`, v])),
    );
  if (!tracer.isTracingEnabled()) return;
  for (const [key, value] of Object.entries(annotations))
    if (value !== undefined) tracer.putAnnotation(key, value);
};

const closeQuietly = (subsegment: Subsegment | undefined, error?: unknown): void => {
  try {
    if (subsegment && error !== undefined)
      subsegment.addError(error instanceof Error ? error : String(error));
    subsegment?.close();
  } catch {
    // Tracing never fails an invocation.
  }
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * What an invocation continues: the `traceparent` header of an API request, the `traceparent`
 * a Vigil event carries (in `detail.metadata` or, for alert notifications, `detail`), or the
 * one of the alert notification in an SNS message; and the span kind that fits the trigger.
 */
export const incomingTrace = (event: unknown): { kind: SpanKind; parent?: string } => {
  if (!isRecord(event)) return { kind: SPAN_KIND.internal };
  if (isRecord(event.requestContext) && isRecord(event.headers))
    return { kind: SPAN_KIND.server, parent: str(event.headers.traceparent) };
  if (isRecord(event.detail)) {
    const { detail } = event;
    const parent = isRecord(detail.metadata) ? detail.metadata.traceparent : detail.traceparent;
    return { kind: SPAN_KIND.consumer, parent: str(parent) };
  }
  const sns = Array.isArray(event.Records) ? event.Records[0]?.Sns : undefined;
  if (isRecord(sns)) {
    try {
      const message: unknown = JSON.parse(String(sns.Message));
      return {
        kind: SPAN_KIND.consumer,
        parent: isRecord(message) ? str(message.traceparent) : undefined,
      };
    } catch {
      return { kind: SPAN_KIND.consumer };
    }
  }
  return { kind: SPAN_KIND.internal };
};

/**
 * Run `handler` in an OpenTelemetry span named after it (see `incomingTrace`), and (X-Ray)
 * in a `## <name>` subsegment, the current one while it runs (so annotations and
 * nested subsegments attach to it), annotated with cold start and service name. Errors are
 * recorded on the subsegment and rethrown.
 */
export const traceHandler = <A extends unknown[], R>(
  name: string,
  handler: (...args: A) => Promise<R>,
): ((...args: A) => Promise<R>) => {
  const xray = (...args: A): Promise<R> => {
    if (!tracer.isTracingEnabled()) return handler(...args);
    return tracer.provider.captureAsyncFunc(`## ${name}`, async (subsegment) => {
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
      try {
        const result = await handler(...args);
        closeQuietly(subsegment);
        return result;
      } catch (error) {
        closeQuietly(subsegment, error);
        throw error;
      }
    }) as Promise<R>;
  };
  return (...args: A): Promise<R> =>
    otelEnabled()
      ? withSpan(name, () => xray(...args), { ...incomingTrace(args[0]), entry: true })
      : xray(...args);
};

/**
 * Run a synchronous step (report parsing) in a subsegment of the current one. The shape of
 * the `trace` hook that core use cases accept, so core stays free of Powertools.
 */
export const traceSync = <T>(name: string, fn: () => T): T =>
  withSpan(name, () => {
    if (!tracer.isTracingEnabled()) return fn();
    // captureFunc closes the subsegment (recording a thrown error) itself.
    return tracer.provider.captureFunc(name, () => fn()) as T;
  });
