import { describe, expect, it, vi } from 'vitest';
import { logger } from '../../functions/shared/powertools';

/** What the process's logger writes to a stream while `log` runs, at INFO. */
const written = (stream: NodeJS.WriteStream, log: () => void): string[] => {
  const lines: string[] = [];
  const write = vi.spyOn(stream, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  const level = logger.getLevelName();
  logger.setLogLevel('INFO');
  try {
    log();
  } finally {
    logger.setLogLevel(level);
    write.mockRestore();
  }
  return lines;
};

describe('log lines (the terminal of local mode)', () => {
  it('writes C1, DEL, bidi and line-separator characters from a test name as \\u escapes', () => {
    // Prepare: a flaky test's check key as a hostile report names it (CSI, right-to-left override).
    const checkKey = 'flaky:shop/G1 \u009b31mRED\u009b0m \u202etxt.exe\u007f\u2028\u200f';

    // Act
    const lines = written(process.stdout, () => logger.info('notice sent', { checkKey }));

    // Assess: one line, nothing a terminal interprets, and the same value when parsed.
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line).toMatch(/^\{.*\}\n$/);
    expect(line).not.toMatch(/[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(line).toContain(
      'flaky:shop/G1 \\u009b31mRED\\u009b0m \\u202etxt.exe\\u007f\\u2028\\u200f',
    );
    expect(JSON.parse(line)).toMatchObject({ message: 'notice sent', checkKey });
  });

  it('writes warnings and errors to stderr, as Powertools does', () => {
    // Act
    const out = written(process.stdout, () => logger.warn('w'));
    const err = written(process.stderr, () => logger.error('e', { name: 'a\u009bb' }));

    // Assess
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(JSON.parse(err[0] ?? '')).toMatchObject({
      level: 'ERROR',
      message: 'e',
      name: 'a\u009bb',
    });
  });
});
