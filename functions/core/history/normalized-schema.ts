import { benchmarkDetailSchema, loadDetailSchema } from '../events';
import * as z from '../zod-mini';

/**
 * The schema of what the history reads from a run's normalized result, in a module of its own:
 * `service.ts` loads it with `import()` on the first report, so a function's init builds no zod
 * schema (docs/performance.md#cold-start).
 */

/** One test case of a normalized test report. */
export const caseSchema = z.object({
  suite: z.string(),
  classname: z.string(),
  name: z.string(),
  status: z.enum(['passed', 'failed', 'skipped']),
  flaky: z.boolean(),
  durationMs: z.number(),
});

/** The parts of the normalized archive (written by ingest) that the history reads. */
export const normalizedSchema = z.object({
  project: z.string(),
  runId: z.string(),
  report: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('tests'), cases: z.array(caseSchema) }),
    // A benchmark or load event may list only the first benchmarks or thresholds.
    z.object({ kind: z.literal('benchmark'), summary: benchmarkDetailSchema.shape.summary }),
    z.object({ kind: z.literal('load'), summary: loadDetailSchema.shape.summary }),
    z.object({
      kind: z.literal('security'),
      findings: z.array(z.object({ tool: z.string(), fingerprint: z.string() })),
    }),
  ]),
});
