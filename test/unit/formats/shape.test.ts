import { describe, expect, it } from 'vitest';
import { isVigilError } from '../../../functions/core/errors';
import { describeValue, optionalNumber, parseShape } from '../../../functions/core/formats/shape';
import * as z from '../../../functions/core/zod-mini';

/** The message of the invalid_report error `fn` throws. */
const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (isVigilError(e)) return e.message;
    throw e;
  }
  throw new Error('expected an error');
};

describe('shape errors name the field and what it holds', () => {
  it('clips a long string value', () => {
    expect(describeValue('z'.repeat(50))).toBe(`string "${'z'.repeat(39)}…"`);
    expect(describeValue({})).toBe('object');
  });

  it('says > for an exclusive minimum and >= for an inclusive one', () => {
    const schema = z.object({ a: z.number().check(z.positive()), b: z.number().check(z.gte(1)) });
    expect(message(() => parseShape(schema, { a: 0, b: 1 }, 'X report'))).toBe(
      'Invalid X report: a: expected a number > 0, got 0',
    );
    expect(message(() => parseShape(schema, { a: 1, b: 0 }, 'X report'))).toBe(
      'Invalid X report: b: expected a number >= 1, got 0',
    );
  });

  it('names types without an article as they are, and other issues by their message', () => {
    const schema = z.object({
      big: z.optional(z.bigint()),
      name: z.optional(z.string().check(z.maxLength(3))),
    });
    expect(message(() => parseShape(schema, { big: 'x' }, 'X report'))).toBe(
      'Invalid X report: big: expected bigint, got string "x"',
    );
    expect(message(() => parseShape(schema, { name: 'long' }, 'X report'))).toContain(
      'Invalid X report: name: Too big',
    );
  });

  it('reads an optional number: absent and null are undefined, a string is refused', () => {
    expect(optionalNumber({ n: null }, 'n', ['m'], 'X report')).toBeUndefined();
    expect(optionalNumber({}, 'n', ['m'], 'X report')).toBeUndefined();
    expect(message(() => optionalNumber({ n: '1' }, 'n', ['m'], 'X report'))).toBe(
      'Invalid X report: m.n: expected a number, got string "1"',
    );
  });
});
