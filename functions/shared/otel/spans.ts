import { AsyncLocalStorage } from 'node:async_hooks';
import { newSpanId, newTraceContext, parseTraceparent } from '../../core/tracing/context';
import {
  type Attributes,
  SPAN_KIND,
  type SpanKind,
  type SpanRecord,
} from '../../core/tracing/spans';

export { type Attributes, SPAN_KIND, type SpanKind, type SpanRecord };

/**
 * Vigil's own OpenTelemetry spans, exported over OTLP/HTTP (JSON) when
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set, in Lambda and
 * in local mode alike. A small tracer of our own instead of the OpenTelemetry SDK: Vigil needs
 * nested spans, attributes, an error status and one exporter, and the SDK packages would cost
 * every bundle's cold start.
 *
 * Off (no endpoint, `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`) every helper is a
 * plain call and nothing else is loaded: the encoder and the HTTP client (`./export`) are
 * imported on the first export. On, ended spans wait in memory; a finished entry span (one with
 * no parent in this process) sends its batch in the background, and `flushSpans` waits for the
 * sends at most a budget. One export request is in flight at a time, each abandoned after the
 * OTLP timeout; spans wait meanwhile in a bounded queue. Export failures and drops are logged
 * (aggregated, see ./export) and never fail a handler.
 */

/** The environment variables of the OpenTelemetry specification that Vigil reads. */
export type OtelEnv = Partial<Record<string, string>>;

/**
 * Where spans go: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, or `OTEL_EXPORTER_OTLP_ENDPOINT`
 * plus `/v1/traces` (the specification's rule); `undefined` means tracing is off.
 */
export const tracesEndpoint = (env: OtelEnv = process.env): string | undefined => {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
};

/** Is span export on? Read from the environment on each call (cheap), so tests can toggle it. */
export const otelEnabled = (): boolean => tracesEndpoint() !== undefined;

/** A span being recorded. */
export class Span {
  readonly traceId: string;
  readonly spanId = newSpanId();
  readonly startMs = performance.timeOrigin + performance.now();
  readonly attributes: Attributes = {};
  status?: SpanRecord['status'];
  #ended = false;

  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    traceId: string | undefined,
    readonly parentSpanId: string | undefined,
    /** A span of this process: its end does not send the batch. */
    readonly local: boolean,
  ) {
    this.traceId = traceId ?? newTraceContext().traceId;
  }

  /** `00-<trace id>-<this span id>-01`: what a child (a request, an event) carries. */
  get traceparent(): string {
    return `00-${this.traceId}-${this.spanId}-01`;
  }

  setAttributes(attributes: Attributes): void {
    for (const [key, value] of Object.entries(attributes))
      if (value !== undefined) this.attributes[key] = value;
  }

  fail(error: unknown): void {
    this.status = {
      code: 'error',
      message: error instanceof Error ? error.message : String(error),
    };
    if (error instanceof Error) this.attributes['exception.type'] = error.name;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    record(
      {
        traceId: this.traceId,
        spanId: this.spanId,
        ...(this.parentSpanId ? { parentSpanId: this.parentSpanId } : {}),
        name: this.name,
        kind: this.kind,
        startMs: this.startMs,
        endMs: performance.timeOrigin + performance.now(),
        attributes: this.attributes,
        ...(this.status ? { status: this.status } : {}),
      },
      !this.local,
    );
  }
}

const storage = new AsyncLocalStorage<Span>();

/** The span the current code runs in, if export is on. */
export const activeSpan = (): Span | undefined => storage.getStore();

/** Set attributes on the active span (a no-op when there is none). */
export const setSpanAttributes = (attributes: Attributes): void =>
  activeSpan()?.setAttributes(attributes);

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /**
   * A `traceparent` to continue (an event's, a request header's): used when no span of this
   * process is active. A malformed value starts a new trace.
   */
  parent?: string;
  /**
   * An entry span (a handler invocation): its parent is `parent` only, never the active span,
   * and its end sends the batch. The bus of local mode runs a handler in the async context of
   * the publisher; its trace continues through the event, as on AWS.
   */
  entry?: boolean;
}

const isPromise = (v: unknown): v is Promise<unknown> =>
  typeof (v as Promise<unknown> | null)?.then === 'function';

/**
 * Run `fn` in a new span, the active one while it runs (a child of the active span, or of
 * `options.parent`, or a new trace). A throw or rejection marks the span as an error and is
 * rethrown. With export off: `fn(undefined)` and nothing else.
 */
export const withSpan = <T>(
  name: string,
  fn: (span: Span | undefined) => T,
  options: SpanOptions = {},
): T => {
  if (!otelEnabled()) return fn(undefined);
  const parent = options.entry ? undefined : activeSpan();
  const remote = parent ? undefined : parseTraceparent(options.parent);
  const span = new Span(
    name,
    options.kind ?? SPAN_KIND.internal,
    parent?.traceId ?? remote?.traceId,
    parent?.spanId ?? remote?.spanId,
    parent !== undefined,
  );
  if (options.attributes) span.setAttributes(options.attributes);
  return storage.run(span, () => {
    let result: T;
    try {
      result = fn(span);
    } catch (error) {
      span.fail(error);
      span.end();
      throw error;
    }
    if (!isPromise(result)) {
      span.end();
      return result;
    }
    return result.then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        span.fail(error);
        span.end();
        throw error;
      },
    ) as T;
  });
};

// Export queue -----------------------------------------------------------------------------

/** Spans kept in memory at most; beyond it new spans are dropped (and counted). */
export const MAX_QUEUED_SPANS = 2048;
/** Spans in one export request at most (the OpenTelemetry SDK's default batch size). */
export const MAX_EXPORT_BATCH = 512;
/** How long `flushSpans` waits by default (ms): the handler's flush budget. */
export const DEFAULT_FLUSH_BUDGET_MS = 500;

const queue: SpanRecord[] = [];
let dropped = 0;
/**
 * The one export request in flight, if any. One at most: a collector that accepts connections
 * and never answers would otherwise get a new request (and connection) per finished entry
 * span, without bound. Spans that end meanwhile wait in `queue` (bounded) and leave when it
 * settles, which it does within the export timeout (./export).
 */
let inFlight: Promise<void> | undefined;

/** Queue finished spans (the ingest's CI test-run trace adds its synthesized spans here). */
export const recordSpans = (spans: readonly SpanRecord[]): void => {
  if (!otelEnabled()) return;
  for (const s of spans) record(s, false);
  send();
};

const record = (span: SpanRecord, sendNow: boolean): void => {
  if (queue.length >= MAX_QUEUED_SPANS) dropped++;
  else queue.push(span);
  // A full batch leaves without waiting for its entry span: a long run of child spans (a busy
  // local mode) must not fill the queue and drop.
  if (sendNow || queue.length >= MAX_EXPORT_BATCH) send();
};

/**
 * Send the oldest queued batch in the background, unless a request is in flight: its end sends
 * the next batch, so the queue drains one request at a time.
 */
const send = (): void => {
  if (inFlight !== undefined) return;
  const url = tracesEndpoint();
  if (queue.length === 0 || url === undefined) return;
  const batch = queue.splice(0, MAX_EXPORT_BATCH);
  const lost = dropped;
  dropped = 0;
  inFlight = import('./export')
    .then((m) => m.exportSpans(url, batch, lost))
    .catch(() => {
      // exportSpans logs its own failures; an import failure is no reason to fail a handler.
    })
    .finally(() => {
      // Runs before this promise settles: a flush waiting on it sees the next batch in flight.
      inFlight = undefined;
      send();
    });
};

/**
 * Send what is queued and wait until the queue has drained (one request after the other), at
 * most `budgetMs` (the Lambda entry calls this before returning, so the spans leave before the
 * sandbox freezes). Never throws; resolves at once with export off.
 */
export const flushSpans = async (budgetMs = flushBudgetMs()): Promise<void> => {
  send();
  if (inFlight === undefined) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let over = false;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      over = true;
      resolve();
    }, budgetMs);
    timer.unref();
  });
  const drained = (async () => {
    while (inFlight !== undefined && !over) await inFlight;
  })();
  await Promise.race([drained, budget]);
  clearTimeout(timer);
};

/** `VIGIL_OTEL_FLUSH_MS`, or 500 ms. */
export const flushBudgetMs = (env: OtelEnv = process.env): number => {
  const raw = env.VIGIL_OTEL_FLUSH_MS?.trim();
  const n = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_FLUSH_BUDGET_MS;
};
