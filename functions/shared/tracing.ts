import type { Subsegment } from 'aws-xray-sdk-core';
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
 */

export type AnnotationValue = string | number | boolean;

/** Annotate the current (handler) subsegment; `undefined` values are skipped. */
export const annotate = (annotations: Record<string, AnnotationValue | undefined>): void => {
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

/**
 * Run `handler` in a `## <name>` subsegment, the current one while it runs (so annotations and
 * nested subsegments attach to it), annotated with cold start and service name. Errors are
 * recorded on the subsegment and rethrown.
 */
export const traceHandler = <A extends unknown[], R>(
  name: string,
  handler: (...args: A) => Promise<R>,
): ((...args: A) => Promise<R>) => {
  return (...args: A): Promise<R> => {
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
};

/**
 * Run a synchronous step (report parsing) in a subsegment of the current one. The shape of
 * the `trace` hook that core use cases accept, so core stays free of Powertools.
 */
export const traceSync = <T>(name: string, fn: () => T): T => {
  if (!tracer.isTracingEnabled()) return fn();
  // captureFunc closes the subsegment (recording a thrown error) itself.
  return tracer.provider.captureFunc(name, () => fn()) as T;
};
