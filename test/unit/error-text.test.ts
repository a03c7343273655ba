import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { firstIssue, messageOf } from '../../functions/core/errors';

describe('error text helpers', () => {
  it('names the first bad field of a schema failure by its path', () => {
    const result = z
      .object({ a: z.array(z.object({ b: z.string() })) })
      .safeParse({ a: [{ b: 1 }] });
    expect(result.success).toBe(false);
    expect(firstIssue(result.error as z.ZodError)).toBe(
      'a.0.b: Invalid input: expected string, received number',
    );
  });

  it('still says something when a failure lists no issue', () => {
    expect(firstIssue({ issues: [] })).toBe('invalid');
  });

  it('reads the message of an Error and the text of anything else thrown', () => {
    expect(messageOf(new TypeError('boom'))).toBe('boom');
    expect(messageOf('plain text')).toBe('plain text');
    expect(messageOf(42)).toBe('42');
  });
});
