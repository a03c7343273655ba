/**
 * Stand-in for functions/shared/powertools.ts in the single-file CLI (swapped in by
 * cli/build.ts): the CLI never traces, and Powertools would pull the X-Ray SDK into the file.
 */
export const tracer = {
  isTracingEnabled: (): boolean => false,
  getSegment: (): undefined => undefined,
};
