import { VigilError } from './errors.js';
import { DETAIL_TYPES, SOURCES } from './event-names.js';
import * as z from './zod-mini.js';

/**
 * Canonical events: the one definition of what travels on the bus, used by the
 * AWS runtime (EventBridge) and the local runtime (in-process bus) alike. The names
 * (`SOURCES`, `DETAIL_TYPES`) and size limits live in `event-names.ts`, free of zod, so code on
 * a Lambda's init path can use them without building these schemas.
 */
export {
  DETAIL_TYPES,
  MAX_EVENT_BYTES,
  MAX_FAILED_TESTS_IN_EVENT,
  MAX_FINDINGS_IN_EVENT,
  SOURCES,
} from './event-names.js';

export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

const coverageMetricSchema = z.object({
  /** null: the tool did not measure this metric (`reason` says why). */
  pct: z.nullable(z.number()),
  covered: z.number(),
  total: z.number(),
  reason: z.optional(z.string()),
});

export const gateCheckSchema = z.object({
  id: z.string(),
  status: z.enum(['pass', 'fail', 'skip']),
  message: z.string(),
  actual: z.nullable(z.number()),
  threshold: z.nullable(z.number()),
});

export const gateSchema = z.object({
  status: z.enum(['pass', 'fail', 'none']),
  checks: z.array(gateCheckSchema),
});

export const archivePointerSchema = z.object({
  /** `s3://bucket/key` on AWS, `file:///abs/path` locally. */
  uri: z.string(),
  bytes: z.int().check(z.nonnegative()),
  sha256: z.string().check(z.length(64)),
});

export const metadataSchema = z.object({
  project: z.string(),
  suite: z.optional(z.string()),
  branch: z.optional(z.string()),
  commit: z.optional(z.string()),
  ci: z.optional(z.string()),
  runId: z.string(),
  correlationId: z.string(),
  format: z.string(),
  dialect: z.optional(z.string()),
  ingestedAt: z.string(),
  /** The report exactly as received (after gunzip). */
  archive: archivePointerSchema,
  /** The normalized result with every test case, for history and drill-down. */
  normalized: archivePointerSchema,
  /** W3C trace context of the span that published the event (OpenTelemetry export on). */
  traceparent: z.optional(z.string()),
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
      message: z.optional(z.string()),
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
    statements: z.optional(coverageMetricSchema),
  }),
  gate: gateSchema,
});

export const loadDetailSchema = z.object({
  metadata: metadataSchema,
  summary: z.object({
    requests: z.number(),
    failedRequests: z.number(),
    errorRate: z.number(),
    durationMs: z.optional(z.number()),
    requestsPerSecond: z.optional(z.number()),
    latencyMs: z.record(z.string(), z.number()),
    /** The first thresholds that fit the event (see `thresholdsTotal`). */
    thresholds: z.array(z.object({ name: z.string(), passed: z.boolean() })),
  }),
  gate: gateSchema,
  /** Set when the report had more thresholds than the event lists: all are in the archive. */
  thresholdsTotal: z.optional(z.int().check(z.nonnegative())),
});

export const benchmarkDetailSchema = z.object({
  metadata: metadataSchema,
  summary: z.object({
    /** The first benchmarks that fit the event (see `benchmarksTotal`). */
    benchmarks: z.array(
      z.object({
        name: z.string(),
        unit: z.string(),
        value: z.number(),
        samples: z.optional(z.number()),
        stddev: z.optional(z.number()),
        direction: z.optional(z.enum(['smaller', 'bigger'])),
      }),
    ),
  }),
  gate: gateSchema,
  /** Set when the report had more benchmarks than the event lists: all are in the archive. */
  benchmarksTotal: z.optional(z.int().check(z.nonnegative())),
});

const severityEnum = z.enum(['critical', 'high', 'medium', 'low', 'info']);

/** A finding as events and answers name it (the full finding is in the normalized archive). */
export const findingRefSchema = z.object({
  tool: z.string(),
  ruleId: z.string(),
  ruleName: z.optional(z.string()),
  severity: severityEnum,
  /** `file:line`, `METHOD url (param p)` or `package range`. */
  location: z.string(),
  fingerprint: z.string(),
});

export const securityDetailSchema = z.object({
  metadata: metadataSchema,
  summary: z.object({
    findings: z.number(),
    bySeverity: z.object({
      critical: z.number(),
      high: z.number(),
      medium: z.number(),
      low: z.number(),
      info: z.number(),
    }),
    tools: z.array(z.object({ name: z.string(), findings: z.number() })),
    new: z.number(),
    fixed: z.number(),
    suppressed: z.number(),
  }),
  gate: gateSchema,
  /** The first new findings, most severe first; the rest are in the archive. */
  newFindings: z.array(findingRefSchema),
  newFindingsTruncated: z.boolean(),
});

/** One probe run (one sample): what was checked, how it went, and why it failed. */
export const probeCompletedDetailSchema = z.object({
  metadata: z.object({
    project: z.string(),
    probe: z.string(),
    correlationId: z.string(),
    checkedAt: z.string(),
    /** Where the probe ran: `local` or the AWS region. */
    location: z.string(),
    /** How long after its scheduled time the run started, when late (local scheduler). */
    lateMs: z.optional(z.number().check(z.nonnegative())),
    /** The W3C trace id the probe's requests carried (`traceparent`): the target's traces join it. */
    traceId: z.optional(z.string()),
    /** W3C trace context of the probe check, continued by the handlers that receive the event. */
    traceparent: z.optional(z.string()),
  }),
  url: z.string(),
  method: z.string(),
  status: z.enum(['up', 'down']),
  latencyMs: z.number().check(z.nonnegative()),
  statusCode: z.optional(z.int()),
  /** 1-based attempt number within the scheduled run (sub-minute sampling). */
  attempt: z.int().check(z.positive()),
  /** The first assertion that failed, e.g. `status`, `maxLatencyMs`, `bodyContains`, `json:$.status`, `timeout`, `connection`, `tls`. */
  failure: z.optional(
    z.object({
      assertion: z.string(),
      message: z.string(),
      /** The step that failed, for a multi-step probe. */
      step: z.optional(z.string()),
    }),
  ),
  tls: z.optional(z.object({ validTo: z.string(), daysRemaining: z.number() })),
  /** A multi-step probe's steps in order: each one's outcome (`skipped` after a failure) and timing. */
  steps: z.optional(
    z.array(
      z.object({
        name: z.string(),
        status: z.enum(['up', 'down', 'skipped']),
        latencyMs: z.number().check(z.nonnegative()),
        statusCode: z.optional(z.int()),
        failure: z.optional(z.object({ assertion: z.string(), message: z.string() })),
      }),
    ),
  ),
  /** A browser check's page measurements (Web Vitals the browser exposes), console errors and failed requests. */
  browser: z.optional(
    z.object({
      vitals: z.partial(
        z.object({
          ttfbMs: z.number().check(z.nonnegative()),
          fcpMs: z.number().check(z.nonnegative()),
          lcpMs: z.number().check(z.nonnegative()),
          cls: z.number().check(z.nonnegative()),
        }),
      ),
      consoleErrors: z.array(z.string()),
      failedRequests: z.array(z.string()),
    }),
  ),
  /** Files kept from a failed browser check, read back at `GET /v1/artifacts/{name}?bytes=`. */
  artifacts: z.optional(
    z.array(
      z.object({
        kind: z.enum(['screenshot', 'trace']),
        /** `<sha256>.png` or `<sha256>.zip`: content-addressed in the archive. */
        name: z.string(),
        bytes: z.int().check(z.nonnegative()),
      }),
    ),
  ),
  /** Non-fatal findings such as a certificate close to expiry. */
  warnings: z.array(z.string()),
  severity: z.enum(['critical', 'warning']),
  tags: z.array(z.string()),
});

/**
 * One heartbeat result: a ping received (`ok`, `failed`), or what the evaluator found (`missed`,
 * `overrun`). A `/start` alone publishes nothing.
 */
export const heartbeatCheckedDetailSchema = z.object({
  metadata: z.object({
    project: z.string(),
    heartbeat: z.string(),
    correlationId: z.string(),
    checkedAt: z.string(),
    /** Where it was observed: `local` or the AWS region. */
    location: z.string(),
  }),
  status: z.enum(['up', 'down']),
  outcome: z.enum(['ok', 'failed', 'missed', 'overrun']),
  /** One sentence for people, e.g. why it failed. */
  message: z.string(),
  expectedAt: z.optional(z.string()),
  lastPingAt: z.optional(z.string()),
  durationSeconds: z.optional(z.number().check(z.nonnegative())),
  exitCode: z.optional(z.int()),
  nextDueAt: z.optional(z.string()),
  severity: z.enum(['critical', 'warning']),
  tags: z.array(z.string()),
});

/**
 * A test found flaky (history analysis). Published once per test per notice window
 * (`history.flaky.noticeDays`), not per run.
 */
export const testFlakyDetailSchema = z.object({
  metadata: z.object({
    project: z.string(),
    /** The run whose outcome made the test flaky (its branch and commit, when known). */
    runId: z.string(),
    branch: z.optional(z.string()),
    commit: z.optional(z.string()),
    correlationId: z.string(),
    detectedAt: z.string(),
  }),
  test: z.object({
    /** Normalized id: `suite > classname > name` (see `testId`). */
    id: z.string(),
    suite: z.string(),
    classname: z.string(),
    name: z.string(),
  }),
  /** Which rule found it: failed and passed on one commit, passed after retries, or flips often. */
  reason: z.enum(['same-commit', 'retried', 'flip-rate']),
  /** One sentence for people, e.g. `passed and failed on commit abc123 (runs r1, r2)`. */
  explanation: z.string(),
  /** Status changes / comparisons over the default branch's recent outcomes. */
  flipRate: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** Set when a (non-expired) quarantine covers the test. */
  quarantined: z.optional(z.object({ owner: z.string(), expires: z.string() })),
  /** This notice's place among the run's notices (1-based), so consumers can group a burst. */
  batch: z.object({ index: z.int().check(z.positive()), total: z.int().check(z.positive()) }),
});

/** An alert transition, as sent to every channel (Slack, webhook, SNS email). */
export const alertNotificationSchema = z.object({
  /** Stable key of the checked thing, e.g. `probe:shop/checkout-api`, `tests:shop/main`, `alarm:<name>`. */
  checkKey: z.string(),
  /** One id per incident (FIRING through RESOLVED). */
  incidentId: z.string(),
  /** NOTICE: a one-off message outside the incident cycle (a test found flaky). */
  kind: z.enum(['FIRING', 'REMINDER', 'RESOLVED', 'NOTICE']),
  source: z.enum([
    'probe',
    'tests',
    'gate',
    'alarm',
    'flaky',
    'heartbeat',
    'security',
    'alertmanager',
  ]),
  project: z.string(),
  severity: z.enum(['critical', 'warning']),
  title: z.string(),
  /** What is wrong (or was, for RESOLVED), one or two sentences. */
  summary: z.string(),
  /** When the incident started (first failure that led to FIRING). */
  since: z.string(),
  at: z.string(),
  lastError: z.optional(z.string()),
  /** For RESOLVED: how long it was down. */
  downtimeSeconds: z.optional(z.number().check(z.nonnegative())),
  runbookUrl: z.optional(z.string()),
  /**
   * The dashboard page of what the notification is about, as the address's fragment
   * (`#/run/<project>/<runId>`, `#/probe/<project>/<probe>`...); none for alarms.
   */
  dashboardPath: z.optional(z.string()),
  /** That page's absolute address, when the dashboard's base address is known (sent messages). */
  dashboardUrl: z.optional(z.string()),
  correlationId: z.string(),
  /** Set when a maintenance window suppressed delivery. */
  suppressedBy: z.optional(z.string()),
  /** Why an incident ended other than by recovering (RESOLVED), e.g. `check removed from the configuration`. */
  reason: z.optional(z.string()),
  /** The trace id of the probe check behind the latest observation (W3C, as sent to the target). */
  traceId: z.optional(z.string()),
  /** W3C trace context of the span that sent the notification (OpenTelemetry export on). */
  traceparent: z.optional(z.string()),
});

/** One alert of an Alertmanager webhook (bounded and checked by core/alerts/alertmanager.ts). */
export const alertmanagerAlertDetailSchema = z.object({
  metadata: z.object({
    project: z.string(),
    correlationId: z.string(),
    ingestedAt: z.string(),
    /** The Alertmanager receiver that sent it. */
    receiver: z.string(),
    traceparent: z.optional(z.string()),
  }),
  alert: z.object({
    status: z.enum(['firing', 'resolved']),
    fingerprint: z.string(),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()),
    startsAt: z.string(),
    endsAt: z.string(),
    generatorURL: z.optional(z.string()),
  }),
});

export type EventMetadata = z.infer<typeof metadataSchema>;
export type Gate = z.infer<typeof gateSchema>;
export type GateCheck = z.infer<typeof gateCheckSchema>;
export type ArchivePointer = z.infer<typeof archivePointerSchema>;
export type TestRunDetail = z.infer<typeof testRunDetailSchema>;
export type CoverageDetail = z.infer<typeof coverageDetailSchema>;
export type LoadDetail = z.infer<typeof loadDetailSchema>;
export type BenchmarkDetail = z.infer<typeof benchmarkDetailSchema>;
export type SecurityDetail = z.infer<typeof securityDetailSchema>;
export type FindingRef = z.infer<typeof findingRefSchema>;
export type ProbeCompletedDetail = z.infer<typeof probeCompletedDetailSchema>;
export type HeartbeatCheckedDetail = z.infer<typeof heartbeatCheckedDetailSchema>;
export type AlertNotification = z.infer<typeof alertNotificationSchema>;
export type TestFlakyDetail = z.infer<typeof testFlakyDetailSchema>;
export type AlertmanagerAlertDetail = z.infer<typeof alertmanagerAlertDetailSchema>;

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
    }
  | {
      source: typeof SOURCES.ingest;
      detailType: typeof DETAIL_TYPES.security;
      detail: SecurityDetail;
    }
  | {
      source: typeof SOURCES.probe;
      detailType: typeof DETAIL_TYPES.probeCompleted;
      detail: ProbeCompletedDetail;
    }
  | {
      source: typeof SOURCES.heartbeat;
      detailType: typeof DETAIL_TYPES.heartbeatChecked;
      detail: HeartbeatCheckedDetail;
    }
  | {
      source: typeof SOURCES.alert;
      detailType: typeof DETAIL_TYPES.alertStateChanged;
      detail: AlertNotification;
    }
  | {
      source: typeof SOURCES.history;
      detailType: typeof DETAIL_TYPES.testFlaky;
      detail: TestFlakyDetail;
    }
  | {
      source: typeof SOURCES.alertmanager;
      detailType: typeof DETAIL_TYPES.alertmanager;
      detail: AlertmanagerAlertDetail;
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

/** Every result Vigil produces itself: reports from CI, probe runs and heartbeats. */
const RESULTS_PATTERN = {
  source: [SOURCES.ingest, SOURCES.probe, SOURCES.heartbeat],
  'detail-type': [
    DETAIL_TYPES.testRun,
    DETAIL_TYPES.coverage,
    DETAIL_TYPES.load,
    DETAIL_TYPES.benchmark,
    DETAIL_TYPES.security,
    DETAIL_TYPES.probeCompleted,
    DETAIL_TYPES.heartbeatChecked,
  ],
} as const;

/**
 * Event patterns: the one definition used by the CDK rules and the local bus.
 * Keys are rule names.
 */
export const EVENT_PATTERNS = {
  /** Everything the metrics handler turns into CloudWatch metrics. */
  metrics: RESULTS_PATTERN,
  /** Results the alert handler watches: probe runs, test runs, gates and flaky tests. */
  alerts: {
    source: [...RESULTS_PATTERN.source, SOURCES.history, SOURCES.alertmanager],
    'detail-type': [
      ...RESULTS_PATTERN['detail-type'],
      DETAIL_TYPES.testFlaky,
      DETAIL_TYPES.alertmanager,
    ],
  },
  /** Reports the history handler records (runs, test outcomes, flaky detection). */
  history: {
    source: [SOURCES.ingest],
    'detail-type': [
      DETAIL_TYPES.testRun,
      DETAIL_TYPES.coverage,
      DETAIL_TYPES.load,
      DETAIL_TYPES.benchmark,
      DETAIL_TYPES.security,
    ],
  },
  /** What the dashboard and status page read: reports (run catalog), probe runs and heartbeats, incidents. */
  status: {
    source: [SOURCES.ingest, SOURCES.probe, SOURCES.heartbeat, SOURCES.alert],
    'detail-type': [...RESULTS_PATTERN['detail-type'], DETAIL_TYPES.alertStateChanged],
  },
  /** CloudWatch metric alarms changing state (on the account's default bus). */
  alarms: {
    source: [SOURCES.cloudwatch],
    'detail-type': [DETAIL_TYPES.cloudwatchAlarm],
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

/** Detail schema per `source/detail-type`: used to validate events on receipt. */
const DETAIL_SCHEMAS = {
  [`${SOURCES.ingest}/${DETAIL_TYPES.testRun}`]: testRunDetailSchema,
  [`${SOURCES.ingest}/${DETAIL_TYPES.coverage}`]: coverageDetailSchema,
  [`${SOURCES.ingest}/${DETAIL_TYPES.load}`]: loadDetailSchema,
  [`${SOURCES.ingest}/${DETAIL_TYPES.benchmark}`]: benchmarkDetailSchema,
  [`${SOURCES.ingest}/${DETAIL_TYPES.security}`]: securityDetailSchema,
  [`${SOURCES.probe}/${DETAIL_TYPES.probeCompleted}`]: probeCompletedDetailSchema,
  [`${SOURCES.heartbeat}/${DETAIL_TYPES.heartbeatChecked}`]: heartbeatCheckedDetailSchema,
  [`${SOURCES.alert}/${DETAIL_TYPES.alertStateChanged}`]: alertNotificationSchema,
  [`${SOURCES.history}/${DETAIL_TYPES.testFlaky}`]: testFlakyDetailSchema,
  [`${SOURCES.alertmanager}/${DETAIL_TYPES.alertmanager}`]: alertmanagerAlertDetailSchema,
} as const;

/** A received event, validated: the same union Vigil publishes. */
export type KnownEvent = VigilEvent;

/** Validate an incoming bus event against the canonical schemas. */
export const parseBusEvent = (
  event: Pick<BusEvent, 'source' | 'detail-type' | 'detail'>,
): KnownEvent => {
  const key = `${event.source}/${event['detail-type']}`;
  const schema = Object.hasOwn(DETAIL_SCHEMAS, key)
    ? DETAIL_SCHEMAS[key as keyof typeof DETAIL_SCHEMAS]
    : undefined;
  if (!schema)
    throw new VigilError(
      'bad_request',
      `Unexpected event ${event.source} / ${event['detail-type']}.`,
    );
  const parsed = schema.safeParse(event.detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VigilError(
      'bad_request',
      `Invalid ${event['detail-type']} event: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad detail'}`,
    );
  }
  return {
    source: event.source,
    detailType: event['detail-type'],
    detail: parsed.data,
  } as KnownEvent;
};

/** The correlation id and the moment an event is about (ingestion, probe check, alert). */
export const eventContext = (event: KnownEvent): { correlationId: string; at: string } => {
  switch (event.source) {
    case SOURCES.ingest:
    case SOURCES.alertmanager:
      return {
        correlationId: event.detail.metadata.correlationId,
        at: event.detail.metadata.ingestedAt,
      };
    case SOURCES.probe:
    case SOURCES.heartbeat:
      return {
        correlationId: event.detail.metadata.correlationId,
        at: event.detail.metadata.checkedAt,
      };
    case SOURCES.alert:
      return { correlationId: event.detail.correlationId, at: event.detail.at };
    case SOURCES.history:
      return {
        correlationId: event.detail.metadata.correlationId,
        at: event.detail.metadata.detectedAt,
      };
  }
};
