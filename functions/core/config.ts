import { z } from 'zod';
import { VigilError } from './errors';

/**
 * The one typed, validated source of truth for Vigil's configuration. CDK reads it
 * at synth time; the local runtime and the Lambda handlers read the same object.
 */

const coverageMetricName = z.enum(['lines', 'branches', 'functions', 'statements']);

const GATE_DEFAULTS = {
  failOnFailedTests: true,
  failOnEmptyTestRun: true,
  minCoverage: 90,
  coverageMetrics: ['lines'] as ('lines' | 'branches' | 'functions' | 'statements')[],
  maxDurationSeconds: 120,
  failOnLoadThresholds: true,
};

/** Gate settings as written: every field optional, so overrides never re-apply defaults. */
const gateOverrideSchema = z
  .object({
    /** Fail when any test failed. */
    failOnFailedTests: z.boolean(),
    /** Fail a test report that contains no tests (usually a wrong path or a crashed runner). */
    failOnEmptyTestRun: z.boolean(),
    /** Minimum coverage percentage. */
    minCoverage: z.number().min(0).max(100),
    /** Which coverage metrics must reach `minCoverage`. */
    coverageMetrics: z.array(coverageMetricName).min(1),
    /** Suite duration budget in seconds. */
    maxDurationSeconds: z.number().positive(),
    /** Fail when a load test's own thresholds failed. */
    failOnLoadThresholds: z.boolean(),
  })
  .partial()
  .strict();

/** Top-level gate settings: the overrides filled with the defaults. */
export const gateConfigSchema = gateOverrideSchema.transform((g) => ({ ...GATE_DEFAULTS, ...g }));

export const projectConfigSchema = z
  .object({
    gates: gateOverrideSchema.default({}),
    /** Suites that get their own metric dimension; others are aggregated per project. */
    metricSuites: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const configSchema = z
  .object({
    /** Default project for probes and for reports posted without one. */
    project: z.string().min(1).default('default'),
    defaultBranch: z.string().min(1).default('main'),
    gates: gateConfigSchema.default(GATE_DEFAULTS),
    projects: z.record(z.string().min(1), projectConfigSchema).default({}),
    ingest: z
      .object({
        /** Largest accepted body, before and after gunzip. API Gateway's own limit is 10 MB. */
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(10 * 1024 * 1024),
      })
      .strict()
      .default({ maxBodyBytes: 10 * 1024 * 1024 }),
    /** Per-stage overrides, merged over the top-level values by `resolveStage`. */
    stages: z
      .record(
        z.string().min(1),
        z
          .object({
            gates: gateOverrideSchema.optional(),
            logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).optional(),
            logRetentionDays: z.number().int().positive().optional(),
            archiveRetentionDays: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .default({}),
  })
  .strict();

export type VigilConfigInput = z.input<typeof configSchema>;
export type VigilConfig = z.output<typeof configSchema>;
export type GateConfig = z.output<typeof gateConfigSchema>;

/** Typed helper for `vigil.config.ts`. */
export const defineConfig = (config: VigilConfigInput): VigilConfigInput => config;

/** Validate a config object; the error names every bad field by its path. */
export const parseConfig = (input: unknown, source = 'config'): VigilConfig => {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  throw new VigilError('bad_request', `Invalid Vigil config in ${source}: ${problems}`);
};

/** Effective gate thresholds for a project: top-level (with defaults) < stage < project. */
export const gateConfigFor = (
  config: VigilConfig,
  project: string,
  stage?: string,
): GateConfig => ({
  ...config.gates,
  ...(stage ? config.stages[stage]?.gates : undefined),
  ...config.projects[project]?.gates,
});
