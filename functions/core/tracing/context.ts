import { randomBytes } from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header that
 * every probe request carries, so a traced service joins the probe's trace, and that Vigil's
 * own events carry across the bus, so the handler that receives an event continues the trace
 * of the one that published it.
 *
 * `traceparent: 00-<trace id, 32 hex>-<parent span id, 16 hex>-<flags, 2 hex>`; all-zero ids
 * are invalid. Vigil always sets the sampled flag (`01`): it records every probe run.
 */

export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits: the span the receiver's work is a child of. */
  spanId: string;
  /** `00-<traceId>-<spanId>-01`. */
  traceparent: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** A new span id (16 hex digits, never all zero). */
export const newSpanId = (): string => {
  const id = hex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
};

const context = (traceId: string, spanId: string): TraceContext => ({
  traceId,
  spanId,
  traceparent: `00-${traceId}-${spanId}-01`,
});

/**
 * A context for one outgoing request or unit of work: a child of `parent` (same trace id, new
 * span id) or, without one, the root of a new trace. Probe kinds call this once per check (the
 * browser check passes its `traceparent` as the page's extra header).
 */
export const newTraceContext = (parent?: Pick<TraceContext, 'traceId'>): TraceContext => {
  const traceId = parent?.traceId ?? hex(16);
  return context(traceId === ZERO_TRACE ? hex(16) : traceId, newSpanId());
};

/**
 * Read a `traceparent` value (from an event or a request header): the trace and parent span
 * ids, or `undefined` when it is absent or malformed (then the work starts a trace of its own).
 * Version `ff` is invalid; a version 00 header must have exactly four fields.
 */
export const parseTraceparent = (value: unknown): TraceContext | undefined => {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, , rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (!traceId || !spanId || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return context(traceId, spanId);
};
