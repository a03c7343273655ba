import { describe, expect, it, vi } from 'vitest';
import { parseReport } from '../../functions/core/formats';
import { withJsonBytes } from '../../functions/core/json-bytes';
import { generateJunit } from '../helpers/generate-junit';

/** What withJsonBytes lends, copied out (the buffer is reused after). */
const bytesOf = (value: unknown): Promise<Buffer> =>
  withJsonBytes(value, async (bytes) => Buffer.from(bytes));

const expectSameAsStringify = async (value: unknown): Promise<void> => {
  const bytes = await bytesOf(value);
  const json = JSON.stringify(value);
  expect(bytes.toString('utf8')).toBe(json);
  expect(bytes.equals(Buffer.from(json))).toBe(true);
};

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('withJsonBytes', () => {
  it('writes a parsed 2,000-case report exactly as JSON.stringify does (UTF-8)', async () => {
    const report = parseReport(generateJunit({ cases: 2_000, withOutput: true, seed: 3 }));
    await expectSameAsStringify({ project: 'shop', runId: 'r1', report, gate: { status: 'pass' } });
  });

  it('keeps JSON.stringify’s rules in walked objects and sliced arrays', async () => {
    const long = Array.from(
      { length: 700 },
      (_, i) =>
        [
          i,
          `naïve ✓ 🚀 ${i}`,
          undefined,
          () => i,
          Symbol('s'),
          Number.NaN,
          Number.POSITIVE_INFINITY,
          new Date(Date.UTC(2026, 11, 4, 0, 0, i % 60)),
          '\ud800 lone surrogate',
          { nested: { deeper: { deepest: [i, null, 'x"y\\z\n'] } } },
        ][i % 10],
    );
    const sparse: unknown[] = [];
    sparse[600] = 'last';
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare.a = [undefined, 2];
    await expectSameAsStringify({
      long,
      sparse,
      bare,
      point: new Point(1, 2),
      map: new Map([['k', 1]]),
      withToJson: { toJSON: () => ({ replaced: true }) },
      skipped: undefined,
      fn: () => 1,
      sym: Symbol('x'),
      empty: {},
      emptyList: [],
      '': 'empty key',
      'quote"key': 'ünïcode ключ',
      42: 'numeric key first',
      deep: { a: { b: { c: { d: { e: Array.from({ length: 300 }, (_, i) => ({ i })) } } } } },
    });
    await expectSameAsStringify(long);
    await expectSameAsStringify('just a string');
    await expectSameAsStringify(null);
  });

  it('grows past its first buffer and keeps multi-byte characters whole at the edges', async () => {
    // 3 MB of 3-byte characters, in slices and in one long string.
    const text = '€'.repeat(1_000_000);
    await expectSameAsStringify({
      rows: Array.from({ length: 600 }, () => '€'.repeat(1_700)),
      text,
    });
  });

  it('throws, like having no JSON form, for undefined, and for a cycle or a BigInt', async () => {
    await expect(bytesOf(undefined)).rejects.toThrow(TypeError);
    const cycle: Record<string, unknown> = {};
    cycle.self = { again: { cycle } };
    await expect(bytesOf(cycle)).rejects.toThrow(TypeError);
    await expect(bytesOf({ n: 1n })).rejects.toThrow(TypeError);
  });

  it('lends each call its own bytes until its promise settles, then reuses the buffer', async () => {
    let finishFirst = (): void => undefined;
    let lentFirst: Buffer | undefined;
    const first = withJsonBytes({ first: 'a'.repeat(10_000) }, async (bytes) => {
      lentFirst = bytes;
      const copy = Buffer.from(bytes);
      await new Promise<void>((resolve) => {
        finishFirst = resolve;
      });
      // Another call wrote its value meanwhile: not into these bytes.
      return bytes.equals(copy);
    });
    const second = await withJsonBytes({ second: 'b'.repeat(10_000) }, async (bytes) => {
      expect(bytes.buffer).not.toBe(lentFirst?.buffer);
      return bytes.toString();
    });
    expect(JSON.parse(second)).toEqual({ second: 'b'.repeat(10_000) });
    finishFirst();
    expect(await first).toBe(true);
    // Both buffers are back: the next call writes into one of them.
    const next = await withJsonBytes({ next: 1 }, async (bytes) => bytes.buffer);
    expect([lentFirst?.buffer]).toContain(next);
  });

  it('gives the event loop a turn between slices once it has written for a few milliseconds', async () => {
    // Ingest's raw report is being written meanwhile: its file operations need the main thread.
    const cases = Array.from({ length: 2_000 }, (_, i) => ({ name: `t${i}`, durationMs: i }));
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (clock += 5));
    const turns: number[] = [];
    const tick = () => {
      turns.push(clock);
      if (turns.length < 100) setImmediate(tick);
    };
    setImmediate(tick);
    try {
      const bytes = await bytesOf({ report: { cases } });
      expect(bytes.toString()).toBe(JSON.stringify({ report: { cases } }));
    } finally {
      now.mockRestore();
    }
    // 2,000 elements are 8 slices; a turn came after each slice (the clock moved 5 ms each).
    expect(turns.length).toBeGreaterThanOrEqual(7);
  });

  it('takes the buffer back when the caller fails, and passes the failure on', async () => {
    const failure = new Error('write failed');
    await expect(
      withJsonBytes({ a: 1 }, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(JSON.parse((await bytesOf({ b: 2 })).toString())).toEqual({ b: 2 });
  });
});
