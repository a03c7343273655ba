import * as z from 'zod';
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

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** JSONPath-style assertion on a JSON response body: `$.a.b[0].c` with equals or exists. */
const jsonAssertionSchema = z
  .object({
    path: z
      .string()
      .regex(/^\$(\.[A-Za-z_$][\w$-]*|\[\d+\]|\['[^']*'\])*$/, 'must look like $.a.b[0].c'),
    equals: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
    exists: z.boolean().optional(),
  })
  .strict()
  .refine((a) => a.equals !== undefined || a.exists !== undefined, 'needs "equals" or "exists"');

export const probeSchema = z
  .object({
    name: z
      .string()
      .regex(NAME, 'letters, digits, . _ - (max 64), starting with a letter or digit'),
    /** Project the probe's metrics and alerts belong to (default: the top-level `project`). */
    project: z.string().regex(NAME).optional(),
    url: httpUrl,
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    /** Header values may reference secrets as `{{secret:NAME}}`; they are never logged. */
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    /** Local mode: any interval >= 1 s. On AWS the schedule is 1 minute with `samplesPerMinute`. */
    intervalSeconds: z.number().int().min(1).max(3600).default(60),
    /** AWS: how many samples one scheduled invocation takes within its minute (1-6). */
    samplesPerMinute: z.number().int().min(1).max(6).default(1),
    timeoutMs: z.number().int().min(100).max(30_000).default(5000),
    expect: z
      .object({
        status: z.array(z.number().int().min(100).max(599)).min(1).default([200]),
        maxLatencyMs: z.number().positive().optional(),
        bodyContains: z.string().min(1).optional(),
        json: z.array(jsonAssertionSchema).default([]),
        headers: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .default({ status: [200], json: [], headers: {} }),
    /** Warn when the TLS certificate expires within this many days. */
    tlsExpiryDays: z.number().int().positive().optional(),
    /** Consecutive failures before alerting. */
    failureThreshold: z.number().int().min(1).max(100).default(2),
    /** Consecutive successes before resolving. */
    recoveryThreshold: z.number().int().min(1).max(100).default(1),
    severity: z.enum(['critical', 'warning']).default('critical'),
    runbookUrl: httpUrl.optional(),
    tags: z.array(z.string().min(1).max(64)).default([]),
  })
  .strict();

const channelSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('slack'), webhookUrl: z.string().min(1) }).strict(),
  z
    .object({
      type: z.literal('webhook'),
      url: z.string().min(1),
      headers: z.record(z.string(), z.string()).default({}),
    })
    .strict(),
  z.object({ type: z.literal('email'), address: z.email() }).strict(),
]);

const maintenanceSchema = z
  .object({
    /** Which checks: probe names and/or tags (none = all). */
    probes: z.array(z.string()).default([]),
    tags: z.array(z.string()).default([]),
    start: z.iso.datetime({ offset: true }).optional(),
    end: z.iso.datetime({ offset: true }).optional(),
    /** A recurring window: cron expression (UTC) + duration. */
    cron: z.string().min(9).optional(),
    durationMinutes: z.number().int().positive().optional(),
    reason: z.string().max(256).optional(),
  })
  .strict()
  .refine(
    (m) => (m.start && m.end) || (m.cron && m.durationMinutes),
    'needs start+end or cron+durationMinutes',
  );

export const alertsSchema = z
  .object({
    channels: z.array(channelSchema).default([]),
    /** Minutes between reminders while an alert keeps firing. */
    repeatMinutes: z.number().int().min(1).default(60),
    /** Failed test runs and failed gates alert on these branches (default: `defaultBranch`). */
    branches: z.array(z.string().min(1)).optional(),
    maintenance: z.array(maintenanceSchema).default([]),
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
    probes: z
      .array(probeSchema)
      .default([])
      .refine(
        (ps) => new Set(ps.map((p) => p.name)).size === ps.length,
        'probe names must be unique',
      ),
    alerts: alertsSchema.default({ channels: [], repeatMinutes: 60, maintenance: [] }),
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
export type ProbeConfig = z.output<typeof probeSchema>;
export type AlertsConfig = z.output<typeof alertsSchema>;
export type ChannelConfig = AlertsConfig['channels'][number];
export type MaintenanceWindow = AlertsConfig['maintenance'][number];

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
