import { z } from 'zod';
import { VigilError } from './errors';

/**
 * Canonical events: the one definition of what travels on the bus, used by the
 * AWS runtime (EventBridge) and the local runtime (in-process bus) alike.
 */
export const SOURCES = {
  ingest: 'vigil.ingest',
} as const;

export const DETAIL_TYPES = {
  testRun: 'Test Run Reported',
  coverage: 'Coverage Reported',
  load: 'Load Test Reported',
  benchmark: 'Benchmark Reported',
} as const;

export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

const coverageMetricSchema = z.object({
  pct: z.number(),
  covered: z.number(),
  total: z.number(),
});

export const gateCheckSchema = z.object({
  id: z.string(),
  status: z.enum(['pass', 'fail', 'skip']),
  message: z.string(),
  actual: z.number().nullable(),
  threshold: z.number().nullable(),
});

export const gateSchema = z.object({
  status: z.enum(['pass', 'fail', 'none']),
  checks: z.array(gateCheckSchema),
});

export const archivePointerSchema = z.object({
  /** `s3://bucket/key` on AWS, `file:///abs/path` locally. */
  uri: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().length(64),
});

export const metadataSchema = z.object({
  project: z.string(),
  suite: z.string().optional(),
  branch: z.string().optional(),
  commit: z.string().optional(),
  ci: z.string().optional(),
  runId: z.string(),
  correlationId: z.string(),
  format: z.string(),
  dialect: z.string().optional(),
  ingestedAt: z.string(),
  /** The report exactly as received (after gunzip). */
  archive: archivePointerSchema,
  /** The normalized result with every test case, for history and drill-down. */
  normalized: archivePointerSchema,
});

export const testRunDetailSchema = z.object({
  metadata: metadataSchema,
  summary: z.object({
    total: z.number(),
    passed: z.number(),
    failed: z.number(),
    skipped: z.number(),
    flaky: z.number(),
    durationMs: z.number(),
  }),
  gate: gateSchema,
  /** The first failed tests (capped); the full list is in the archive. */
  failedTests: z.array(
    z.object({
      suite: z.string(),
      classname: z.string(),
      name: z.string(),
      message: z.string().optional(),
    }),
  ),
  failedTestsTruncated: z.boolean(),
  flakyTests: z.array(z.object({ suite: z.string(), classname: z.string(), name: z.string() })),
});

export const coverageDetailSchema = z.object({
  metadata: metadataSchema,
  summary: z.object({
    lines: coverageMetricSchema,
    branches: coverageMetricSchema,
    functions: coverageMetricSchema,
    statements: coverageMetricSchema.optional(),
  }),
  gate: gateSchema,
});

export const loadDetailSchema = z.object({
  metadata: metadataSchema,
  summary: z.object({
    requests: z.number(),
    failedRequests: z.number(),
    errorRate: z.number(),
    durationMs: z.number().optional(),
    requestsPerSecond: z.number().optional(),
    latencyMs: z.record(z.string(), z.number()),
    thresholds: z.array(z.object({ name: z.string(), passed: z.boolean() })),
  }),
  gate: gateSchema,
});

export const benchmarkDetailSchema = z.object({
  metadata: metadataSchema,
  summary: z.object({
    benchmarks: z.array(
      z.object({
        name: z.string(),
        unit: z.string(),
        value: z.number(),
        samples: z.number().optional(),
        stddev: z.number().optional(),
        direction: z.enum(['smaller', 'bigger']).optional(),
      }),
    ),
  }),
  gate: gateSchema,
});

export type EventMetadata = z.infer<typeof metadataSchema>;
export type Gate = z.infer<typeof gateSchema>;
export type GateCheck = z.infer<typeof gateCheckSchema>;
export type ArchivePointer = z.infer<typeof archivePointerSchema>;
export type TestRunDetail = z.infer<typeof testRunDetailSchema>;
export type CoverageDetail = z.infer<typeof coverageDetailSchema>;
export type LoadDetail = z.infer<typeof loadDetailSchema>;
export type BenchmarkDetail = z.infer<typeof benchmarkDetailSchema>;

/** Detail schema per (source, detail-type): used to validate on publish and on receipt. */
export const DETAIL_SCHEMAS = {
  [DETAIL_TYPES.testRun]: testRunDetailSchema,
  [DETAIL_TYPES.coverage]: coverageDetailSchema,
  [DETAIL_TYPES.load]: loadDetailSchema,
  [DETAIL_TYPES.benchmark]: benchmarkDetailSchema,
} as const;

/** An event as Vigil publishes it (the runtime adds id, time, account, region). */
export type VigilEvent =
  | {
      source: typeof SOURCES.ingest;
      detailType: typeof DETAIL_TYPES.testRun;
      detail: TestRunDetail;
    }
  | {
      source: typeof SOURCES.ingest;
      detailType: typeof DETAIL_TYPES.coverage;
      detail: CoverageDetail;
    }
  | { source: typeof SOURCES.ingest; detailType: typeof DETAIL_TYPES.load; detail: LoadDetail }
  | {
      source: typeof SOURCES.ingest;
      detailType: typeof DETAIL_TYPES.benchmark;
      detail: BenchmarkDetail;
    };

/** An event as delivered by EventBridge (and by the local bus, in the same shape). */
export interface BusEvent<D = unknown> {
  version: '0';
  id: string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  'detail-type': string;
  detail: D;
}

/** EventBridge's limit for one PutEvents entry (and the whole request). */
export const MAX_EVENT_BYTES = 256 * 1024;
/** How many failed tests an event carries by name; the rest stay in the archive. */
export const MAX_FAILED_TESTS_IN_EVENT = 50;

/**
 * Event patterns: the one definition used by the CDK rules and the local bus.
 * Keys are rule names.
 */
export const EVENT_PATTERNS = {
  /** Everything the metrics handler turns into CloudWatch metrics. */
  metrics: {
    source: [SOURCES.ingest],
    'detail-type': [
      DETAIL_TYPES.testRun,
      DETAIL_TYPES.coverage,
      DETAIL_TYPES.load,
      DETAIL_TYPES.benchmark,
    ],
  },
} as const satisfies Record<string, EventPattern>;

export type EventPattern = { readonly [key: string]: EventPattern | readonly PatternValue[] };
export type PatternValue =
  | string
  | number
  | boolean
  | null
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly 'anything-but': string | number | readonly (string | number)[] }
  | { readonly exists: boolean }
  | { readonly numeric: readonly (string | number)[] }
  | { readonly 'equals-ignore-case': string };

export type KnownEvent =
  | { detailType: typeof DETAIL_TYPES.testRun; detail: TestRunDetail }
  | { detailType: typeof DETAIL_TYPES.coverage; detail: CoverageDetail }
  | { detailType: typeof DETAIL_TYPES.load; detail: LoadDetail }
  | { detailType: typeof DETAIL_TYPES.benchmark; detail: BenchmarkDetail };

/** Validate an incoming bus event against the canonical schemas. */
export const parseBusEvent = (
  event: Pick<BusEvent, 'source' | 'detail-type' | 'detail'>,
): KnownEvent => {
  const type = event['detail-type'];
  const schema = Object.hasOwn(DETAIL_SCHEMAS, type)
    ? DETAIL_SCHEMAS[type as DetailType]
    : undefined;
  if (event.source !== SOURCES.ingest || !schema)
    throw new VigilError('bad_request', `Unexpected event ${event.source} / ${type}.`);
  const parsed = schema.safeParse(event.detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VigilError(
      'bad_request',
      `Invalid ${type} event: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad detail'}`,
    );
  }
  return { detailType: type, detail: parsed.data } as KnownEvent;
};
