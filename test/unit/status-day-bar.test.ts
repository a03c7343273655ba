import { describe, expect, it } from 'vitest';
import { dayBar } from '../../functions/core/status/queries';

describe('dayBar', () => {
  it('grades a day by its failure share: none, up, degraded under 1%, down from 1%', () => {
    // Act
    const states = [
      dayBar(0, 0, 0),
      dayBar(0, 1000, 0),
      dayBar(0, 1000, 9),
      dayBar(0, 1000, 10),
    ].map((b) => [b.state, b.uptime]);

    // Assess
    expect(states).toEqual([
      ['none', null],
      ['up', 1],
      ['degraded', 0.991],
      ['down', 0.99],
    ]);
    expect(dayBar(0, 1, 0).day).toBe('1970-01-01');
  });
});
