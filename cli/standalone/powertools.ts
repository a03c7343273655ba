import { jsonLine, logLine } from '../feedback/answer';

/**
 * Stand-in for functions/shared/powertools.ts in the single-file CLI (swapped in by
 * cli/build.ts): the CLI never traces, and Powertools would pull the X-Ray SDK into the file.
 */

export const tracer = {
  isTracingEnabled: (): boolean => false,
  getSegment: (): undefined => undefined,
};

/** What shared modules log (browser checks' clean-up and archive problems): one line on stderr. */
const line =
  (level: string) =>
  (message: string, extra: Record<string, unknown> = {}): void => {
    process.stderr.write(`${logLine(`vigil ${level}: ${message}`)} ${jsonLine(extra)}\n`);
  };
export const logger = { warn: line('warning'), error: line('error') };
