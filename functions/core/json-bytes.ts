/**
 * `JSON.stringify(value)` as UTF-8 bytes for large results (ingest's normalized report), written
 * in pieces into a reused buffer.
 *
 * Why not `Buffer.from(JSON.stringify(value))`: for a result of megabytes V8 returns the text as
 * a tree of parts that the first read flattens into one new string, which `Buffer.from` then
 * copies into new memory again; on a VM each fresh megabyte costs milliseconds of page faults.
 * For the 3.7 MB normalized result of a 20,000-case JUnit report that was 22-38 ms of the ingest
 * answer; this writes the same bytes in 8-9 ms (docs/performance.md, "Ingest end to end").
 *
 * The walk goes into plain objects near the top (where a report's big arrays are) and writes a
 * long array in slices of SLICE elements, each one `JSON.stringify` call: the bytes are exactly
 * `JSON.stringify`'s (test/unit/json-bytes.test.ts), except that a `toJSON(key)` in a sliced
 * array receives its index within the slice (no value in a report has a `toJSON` that reads it).
 *
 * Between slices, once it has written for YIELD_MS, it gives the event loop a turn: ingest's
 * raw report is being written meanwhile, and each step of that write (open, write, close,
 * rename, flush) waits for the main thread to start the next. Written in one go, the raw write
 * only went on after these 9-12 ms and ended after the normalized result's own write started.
 */

/** Elements per `JSON.stringify` call in a long array: few calls, each text small and flat. */
const SLICE = 256;
/** Depth of plain objects walked into; below it, values are written whole. */
const WALK_DEPTH = 3;
/** Buffers kept for reuse, and the largest kept (larger ones are left to the GC). */
const SPARES = 2;
const MAX_SPARE_BYTES = 64 * 1024 * 1024;
/** Longest stretch of writing before the event loop gets a turn (other I/O progresses). */
const YIELD_MS = 4;

const spares: Buffer[] = [];

const skipped = (v: unknown): boolean =>
  v === undefined || typeof v === 'function' || typeof v === 'symbol';

const hasToJson = (v: object): boolean => typeof (v as { toJSON?: unknown }).toJSON === 'function';

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || hasToJson(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

class Writer {
  buf: Buffer;
  length = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  put(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.length + text.length * 3 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(
        Math.max(this.buf.length * 2, this.length + text.length * 3),
      );
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length += this.buf.write(text, this.length, 'utf8');
  }

  *value(v: unknown, depth: number): Generator<void, void, undefined> {
    if (Array.isArray(v) && v.length > SLICE && !hasToJson(v)) {
      this.put('[');
      for (let i = 0; i < v.length; i += SLICE) {
        if (i > 0) this.put(',');
        this.put((JSON.stringify(v.slice(i, i + SLICE)) as string).slice(1, -1));
        yield;
      }
      this.put(']');
      return;
    }
    if (depth < WALK_DEPTH && isPlainObject(v)) {
      this.put('{');
      let first = true;
      for (const key of Object.keys(v)) {
        const field = v[key];
        if (skipped(field)) continue;
        this.put(first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`);
        first = false;
        yield* this.value(field, depth + 1);
      }
      this.put('}');
      return;
    }
    const text = JSON.stringify(v);
    // Only a top-level undefined, function or symbol (the walk skips them in objects).
    if (text === undefined) throw new TypeError('jsonBytes: the value has no JSON form');
    this.put(text);
  }
}

/**
 * Calls `use` with `JSON.stringify(value)` as UTF-8 bytes and waits for it to settle. The bytes
 * are lent: they live in a buffer that the next call reuses, so `use` must be done with them
 * (written, sent, hashed) when its promise settles, and must not keep them.
 */
export const withJsonBytes = async <T>(
  value: unknown,
  use: (bytes: Buffer) => Promise<T>,
): Promise<T> => {
  const writer = new Writer(spares.pop() ?? Buffer.allocUnsafe(1024 * 1024));
  try {
    let since = performance.now();
    for (const _ of writer.value(value, 0))
      if (performance.now() - since >= YIELD_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    return await use(writer.buf.subarray(0, writer.length));
  } finally {
    if (spares.length < SPARES && writer.buf.length <= MAX_SPARE_BYTES) spares.push(writer.buf);
  }
};
