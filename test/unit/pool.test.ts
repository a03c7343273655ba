import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../functions/core/pool';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe('mapLimit', () => {
  it('keeps input order and never has more than `limit` calls in flight', async () => {
    // Arrange
    let inFlight = 0;
    let peak = 0;

    // Act
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n, i) => {
      peak = Math.max(peak, ++inFlight);
      await tick();
      inFlight--;
      return n * 10 + i;
    });

    // Assess
    expect(out).toEqual([50, 11, 42, 23, 34]);
    expect(peak).toBe(2);
  });

  it('starts nothing after a failure, waits for the calls in flight, then throws the first error', async () => {
    // Arrange
    const started: number[] = [];
    let finished = 0;

    // Act
    const run = mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 0) throw new Error('first');
      if (n === 1) {
        await tick();
        finished++;
        throw new Error('second');
      }
      finished++;
    });

    // Assess
    await expect(run).rejects.toThrow('first');
    expect(started).toEqual([0, 1]);
    expect(finished).toBe(1);
  });
});
