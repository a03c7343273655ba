import * as z from 'zod';
import { definedOnly, VAR_PLACEHOLDER } from './config-access.js';
import { VigilError } from './errors.js';
import { SECRET_PLACEHOLDER, secretNames } from './probes/secrets.js';

/** The stages deployed to AWS, one stack each (`cdk deploy -c stage=NAME`). */
export const DEPLOYED_STAGES = ['dev', 'staging', 'prod'] as const;
/** The stages a config may override: the deployed ones and `local` (`npm start`). */
const CONFIG_STAGES = [...DEPLOYED_STAGES, 'local'] as const;

export {
  gateConfigFor,
  historyRetentionDays,
  quarantineFor,
  suppressionsFor,
  VAR_PLACEHOLDER,
} from './config-access.js';

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
  failOnBenchmarkRegression: true,
  failOnLoadRegression: true,
  regressionThresholdPct: 10,
  benchmarks: {} as Record<string, BenchmarkGate>,
};

/** Per-benchmark overrides of the regression check. */
export interface BenchmarkGate {
  /** Which way is better; default: from the report, else from the unit (time: smaller). */
  direction?: 'smaller' | 'bigger';
  /** Smallest change (percent, in the worse direction) that can count as a regression. */
  thresholdPct?: number;
}

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
    /**
     * Fail when a coverage metric dropped by more than this many points against the base
     * branch's latest coverage (same project and suite). Off when unset.
     */
    maxCoverageDrop: z.number().min(0).max(100),
    /**
     * Minimum coverage (percent) of the lines a change adds or modifies, when the report was
     * sent with its changed lines (`vigil report` in a git checkout with a base). Off when unset.
     */
    minPatchCoverage: z.number().min(0).max(100),
    /** Fail when a benchmark regressed against its baseline on the base branch. */
    failOnBenchmarkRegression: z.boolean(),
    /** Fail when a load test's p95/p99 latency or error rate regressed against its baseline. */
    failOnLoadRegression: z.boolean(),
    /** Default minimum effect size (percent) for benchmark and latency regressions. */
    regressionThresholdPct: z.number().positive().max(1000),
    /**
     * Security findings (`security.findings` check): fail on findings at or above `minSeverity`
     * (default `high`), only those new against the base branch unless `newOnly` is false.
     */
    security: z
      .object({
        minSeverity: z.enum(['critical', 'high', 'medium', 'low', 'info']),
        newOnly: z.boolean(),
      })
      .partial()
      .strict(),
    /** Per-benchmark direction and threshold, by benchmark name. */
    benchmarks: z.record(
      z.string().min(1),
      z
        .object({
          direction: z.enum(['smaller', 'bigger']).optional(),
          thresholdPct: z.number().positive().max(1000).optional(),
        })
        .strict(),
    ),
  })
  .partial()
  .strict();

/** Top-level gate settings: the overrides filled with the defaults. */
export const gateConfigSchema = gateOverrideSchema.transform((g) => ({
  ...GATE_DEFAULTS,
  ...definedOnly(g),
}));

/** An instant with its zone: without one it would mean a different time on every machine. */
const instantSchema = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 time with a zone: 2026-12-31T18:00:00Z or 2026-12-31T19:00:00+01:00',
});

const expiresSchema = z.union([z.iso.date(), instantSchema], {
  error:
    'must be a day (2026-12-31, inclusive, UTC) or an ISO 8601 time with a zone ' +
    '(2026-12-31T18:00:00Z)',
});

/**
 * A quarantined test: its failures do not fail the gate (they are still recorded and shown)
 * until `expires`. `test` is a test id as the history API lists it (`suite > classname > name`,
 * see `testId`), where `*` matches any run of characters.
 */
export const quarantineSchema = z
  .object({
    test: z.string().min(1).max(1024),
    owner: z.string().min(1).max(128),
    reason: z.string().min(1).max(512),
    /** Last day (UTC, inclusive) or instant the quarantine applies: `2026-12-31` or ISO 8601. */
    expires: expiresSchema,
  })
  .strict();

/**
 * A suppressed security finding: findings it matches do not fail the gate (they are still
 * counted and listed) until `expires`. Every given matcher must match: `rule` (rule id),
 * `path` (file), `url`, `package`, `tool`, where `*` matches any run of characters.
 */
export const securitySuppressionSchema = z
  .object({
    rule: z.string().min(1).max(512).optional(),
    path: z.string().min(1).max(1024).optional(),
    url: z.string().min(1).max(2048).optional(),
    package: z.string().min(1).max(256).optional(),
    tool: z.string().min(1).max(128).optional(),
    owner: z.string().min(1).max(128),
    reason: z.string().min(1).max(512),
    /** Last day (UTC, inclusive) or instant the suppression applies: `2026-12-31` or ISO 8601. */
    expires: expiresSchema,
  })
  .strict()
  .refine((s) => s.rule ?? s.path ?? s.url ?? s.package ?? s.tool, {
    message: 'a suppression needs at least one of rule, path, url, package or tool',
  });

const securityConfigSchema = z
  .object({ suppress: z.array(securitySuppressionSchema).default([]) })
  .strict();

export const projectConfigSchema = z
  .object({
    gates: gateOverrideSchema.default({}),
    /** Quarantined tests of this project (added to the top-level list). */
    quarantine: z.array(quarantineSchema).default([]),
    /** Suites that get their own metric dimension; others are aggregated per project. */
    metricSuites: z.array(z.string().min(1)).default([]),
    /** Security findings suppressed in this project (added to the top-level list). */
    security: securityConfigSchema.default({ suppress: [] }),
  })
  .strict();

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * Probes resolve `{{secret:NAME}}` in headers (and step bodies), never in URLs: a URL is shown
 * in events, logs and the dashboard, so a secret there would be sent literally or leak.
 */
const NO_SECRET_IN_URL =
  '{{secret:NAME}} is not resolved in a URL (URLs are shown in events and logs): ' +
  'send the secret in a header, e.g. authorization: "Bearer {{secret:NAME}}"';

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

/** What a response must satisfy: an HTTP probe's `expect`, and each step's. */
const probeExpectSchema = z
  .object({
    status: z.array(z.number().int().min(100).max(599)).min(1).default([200]),
    maxLatencyMs: z.number().positive().optional(),
    bodyContains: z.string().min(1).optional(),
    json: z.array(jsonAssertionSchema).default([]),
    headers: z.record(z.string(), z.string()).default({}),
    /** DNS checks: values that must all be among the answers. */
    values: z.array(z.string().min(1)).min(1).optional(),
    /** DNS checks: fewest answers accepted. Default 1. */
    minCount: z.number().int().min(0).max(1000).optional(),
  })
  .strict()
  .default({ status: [200], json: [], headers: {} });

const httpMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** One request of a multi-step probe; `url`, `headers` and `body` may use `{{vars.NAME}}`. */
export const probeStepSchema = z
  .object({
    name: z
      .string()
      .regex(NAME, 'letters, digits, . _ - (max 64), starting with a letter or digit'),
    url: z
      .string()
      .refine(
        (u) => z.url({ protocol: /^https?$/ }).safeParse(u.replace(VAR_PLACEHOLDER, 'x')).success,
        'must be an http(s) URL (with {{vars.NAME}} placeholders allowed)',
      )
      .refine((u) => secretNames(u).length === 0, NO_SECRET_IN_URL),
    method: httpMethod.default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    expect: probeExpectSchema,
    /** Values for later steps: `$.a.b` from the JSON body, or `header:<name>`. */
    extract: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a variable name: letters, digits, _'),
        z
          .string()
          .regex(
            /^(\$(\.[A-Za-z_$][\w$-]*|\[\d+\]|\['[^']*'\])*|header:[A-Za-z0-9!#$%&'*+.^_`|~-]+)$/,
            'must be a JSON path ($.a.b[0]) or header:<name>',
          ),
      )
      .default({}),
  })
  .strict();

/** Every `{{vars.NAME}}` a step uses must be extracted by an earlier step. */
const checkSteps = (
  steps: readonly z.output<typeof probeStepSchema>[],
  ctx: z.core.$RefinementCtx,
): void => {
  const defined = new Set<string>();
  const names = new Set<string>();
  for (const [i, step] of steps.entries()) {
    if (names.has(step.name))
      ctx.addIssue({
        code: 'custom',
        path: ['steps', i, 'name'],
        message: 'step names must be unique',
      });
    names.add(step.name);
    const texts = [step.url, step.body ?? '', ...Object.values(step.headers)];
    for (const text of texts)
      for (const m of text.matchAll(VAR_PLACEHOLDER))
        if (!defined.has(m[1] ?? ''))
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i],
            message: `{{vars.${m[1]}}} is not extracted by an earlier step`,
          });
    for (const name of Object.keys(step.extract)) defined.add(name);
  }
};

/** M-of-N: fire when `failures` of the last `of` results failed (consecutive or not). */
export const failureWindowSchema = z
  .object({
    failures: z.number().int().min(1).max(50),
    of: z.number().int().min(2).max(50),
  })
  .strict()
  .refine((w) => w.failures <= w.of, '"failures" must be at most "of"');

/** How a check's results become alerts: the same fields for probes and heartbeats. */
const alertPolicyShape = (failureThresholdDefault: number) => ({
  /** Consecutive failures before alerting. */
  failureThreshold: z.number().int().min(1).max(100).default(failureThresholdDefault),
  /** Also fire when M of the last N results failed (see docs/probes-and-alerting.md). */
  failureWindow: failureWindowSchema.optional(),
  /** Consecutive successes before resolving. */
  recoveryThreshold: z.number().int().min(1).max(100).default(1),
  severity: z.enum(['critical', 'warning']).default('critical'),
  runbookUrl: httpUrl.optional(),
  tags: z.array(z.string().min(1).max(64)).default([]),
});

export const probeSchema = z
  .object({
    name: z
      .string()
      .regex(NAME, 'letters, digits, . _ - (max 64), starting with a letter or digit'),
    /**
     * Project the probe's metrics and alerts belong to (default: the top-level `project`); the
     * config check applies ingest's project-name rule (`shop/web` is fine).
     */
    project: z.string().min(1).optional(),
    /**
     * `http` (when absent), `tcp` (connect to `host`:`port`), `dns` (query `host`) or `browser`
     * (run `script` in Chromium).
     */
    type: z.enum(['http', 'tcp', 'dns', 'browser']).optional(),
    /**
     * Browser checks: the Playwright script, relative to the config file (the loader makes it
     * absolute and reports a missing file).
     */
    script: z.string().min(1).max(1024).optional(),
    /** Browser checks: values handed to the script as `vars` (may use `{{secret:NAME}}`). */
    vars: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a variable name: letters, digits, _'),
        z.string().max(4096),
      )
      .optional(),
    /** TCP and DNS checks: the host to connect to, or the name to look up. */
    host: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,253}$/, 'a host name or IP address')
      .optional(),
    /** TCP checks: the port. */
    port: z.number().int().min(1).max(65535).optional(),
    /** TCP checks: do a TLS handshake after connecting (and check the certificate's expiry). */
    tls: z.boolean().optional(),
    /** DNS checks: the record type asked for (default `A`). */
    recordType: z.enum(['A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT']).optional(),
    /** The URL of a single-request probe; a multi-step probe has `steps` instead. */
    url: httpUrl.refine((u) => secretNames(u).length === 0, NO_SECRET_IN_URL).optional(),
    /** A multi-step API check: requests run in order, later ones using earlier ones' `extract`. */
    steps: z.array(probeStepSchema).min(1).max(20).optional(),
    method: httpMethod.default('GET'),
    /** Header values may reference secrets as `{{secret:NAME}}`; they are never logged. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Sent as is: `{{secret:NAME}}` is resolved in a step's body, not here (refused below). */
    body: z.string().optional(),
    /** Local mode: any interval >= 1 s. On AWS the schedule is 1 minute with `samplesPerMinute`. */
    intervalSeconds: z.number().int().min(1).max(3600).default(60),
    /** AWS: how many samples one scheduled invocation takes within its minute (1-6). */
    samplesPerMinute: z.number().int().min(1).max(6).default(1),
    /** At most 30 s; a browser check's (launch, script, screenshot and trace) up to 120 s. */
    timeoutMs: z.number().int().min(100).max(120_000).default(5000),
    expect: probeExpectSchema,
    /** Warn when the TLS certificate expires within this many days. */
    tlsExpiryDays: z.number().int().positive().optional(),
    ...alertPolicyShape(2),
  })
  .strict()
  .superRefine((probe, ctx) => {
    const fail = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: path.split('.'), message });
    const kind = probe.type ?? 'http';
    if ((kind === 'browser') !== (probe.script !== undefined))
      fail(
        'script',
        kind === 'browser' ? 'a browser check needs "script"' : '"script" is for browser checks',
      );
    if (kind !== 'browser' && probe.timeoutMs > 30_000)
      fail('timeoutMs', 'at most 30000 ms (browser checks may take up to 120000)');
    if (kind === 'browser') {
      if (probe.url !== undefined || probe.steps !== undefined || probe.host !== undefined)
        fail(
          'type',
          'a browser check has "script" (its page opens URLs), not "url", "steps" or "host"',
        );
    } else if (kind !== 'http') {
      if (probe.url !== undefined || probe.steps !== undefined)
        fail(
          'type',
          `a ${kind} check has "host"${kind === 'tcp' ? ' and "port"' : ''}, not "url" or "steps"`,
        );
      if (probe.host === undefined) fail('host', `a ${kind} check needs "host"`);
    } else if (probe.host !== undefined)
      fail('host', '"host" is for tcp and dns checks; use "url"');
    else if ((probe.url === undefined) === (probe.steps === undefined))
      fail('url', 'a probe has either "url" or "steps" (one of the two)');
    if ((kind === 'tcp') !== (probe.port !== undefined))
      fail('port', kind === 'tcp' ? 'a tcp check needs "port"' : '"port" is for tcp checks');
    if (kind !== 'dns' && (probe.expect.values || probe.expect.minCount !== undefined))
      fail('expect', '"values" and "minCount" are for dns checks');
    if (kind !== 'browser' && probe.vars !== undefined)
      fail('vars', '"vars" is for browser checks');
    if (probe.body !== undefined && secretNames(probe.body).length)
      fail(
        'body',
        '{{secret:NAME}} is resolved in the body of a step, not of a single-request probe: ' +
          'write it as a one-step probe (steps: [{ name, url, method, body }]) or put the secret in a header',
      );
    if (probe.steps) checkSteps(probe.steps, ctx);
  });

/**
 * A heartbeat (cron) monitor: a job pings `/v1/heartbeats/{project}/{name}` when it ran; a ping
 * missing past its grace, a `/fail` or a run longer than `maxRunSeconds` alerts. The schedule is
 * `periodSeconds`, or `cron` in `timezone`; the config check validates both (config-check.ts).
 */
export const heartbeatSchema = z
  .object({
    name: z
      .string()
      .regex(NAME, 'letters, digits, . _ - (max 64), starting with a letter or digit'),
    /** Project the heartbeat belongs to (default: the top-level `project`). */
    project: z.string().min(1).optional(),
    /** A ping is expected every this many seconds (or use `cron`). */
    periodSeconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400)
      .optional(),
    /** When the job runs: five cron fields, in `timezone`. */
    cron: z.string().min(1).max(256).optional(),
    /** IANA time zone of `cron`, e.g. `Europe/Berlin`. Default `UTC`. */
    timezone: z.string().min(1).max(64).optional(),
    /** How late a ping may be before it counts as missed. */
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(300),
    /** A run (from `/start`) that has not finished after this long fails. */
    maxRunSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .optional(),
    /** Secret holding this heartbeat's own token (`?token=`); it can ping this heartbeat only. */
    tokenSecret: z
      .string()
      .regex(/^[A-Za-z0-9/_+=.@-]{1,128}$/, 'a secret name: letters, digits, / _ + = . @ -')
      .optional(),
    /** `failureThreshold` counts missed, failed or overrun runs. */
    ...alertPolicyShape(1),
  })
  .strict()
  .superRefine((hb, ctx) => {
    if ((hb.periodSeconds === undefined) === (hb.cron === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['periodSeconds'],
        message: 'a heartbeat has either "periodSeconds" or "cron" (one of the two)',
      });
    if (hb.timezone !== undefined && hb.cron === undefined)
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: '"timezone" goes with "cron"' });
  });

/** Hosts a local test receiver listens on: the only ones a Slack channel may reach over http. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * Why a channel URL cannot be posted to, or undefined: checked at load rather than at the first
 * alert. `{{secret:NAME}}` parts count as harmless text; a URL that starts with one gets its
 * scheme and host from the secret, which delivery checks once it is read.
 */
const channelUrlProblem = (value: string, slack: boolean): string | undefined => {
  if (/^\{\{\s*secret:/.test(value)) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value.replace(SECRET_PLACEHOLDER, 'secret'));
  } catch {}
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:')
    return `must be an http(s) URL or "{{secret:NAME}}" (got ${JSON.stringify(value.slice(0, 40))})`;
  if (url.username || url.password)
    return (
      'has a user name or password in it (user:password@), which HTTP clients refuse: ' +
      'send credentials in a header instead'
    );
  if (!slack) return undefined;
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname))
    return 'a Slack webhook URL must be https (http only to localhost, for a test receiver)';
  if (url.hostname === 'hooks.slack.com' && secretNames(value).length === 0)
    return (
      'a Slack webhook URL is a secret (anyone who has it can post to the channel): write ' +
      '"{{secret:SLACK_WEBHOOK}}" and store the URL in VIGIL_SECRET_SLACK_WEBHOOK (local mode) ' +
      'or Secrets Manager as vigil/<stage>/SLACK_WEBHOOK (AWS)'
    );
  return undefined;
};

const channelUrl = (slack: boolean) =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const problem = channelUrlProblem(value, slack);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

const channelSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('slack'), webhookUrl: channelUrl(true) }).strict(),
  z
    .object({
      type: z.literal('webhook'),
      url: channelUrl(false),
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
    start: instantSchema.optional(),
    end: instantSchema.optional(),
    /** A recurring window: cron expression (UTC) + duration. */
    cron: z.string().min(1).optional(),
    durationMinutes: z.number().int().positive().optional(),
    reason: z.string().max(256).optional(),
  })
  .strict()
  .refine(
    (m) => (m.start && m.end) || (m.cron && m.durationMinutes),
    'needs start+end or cron+durationMinutes',
  );

/**
 * The retention periods CloudWatch Logs accepts, in days (9999: never expire); CDK's
 * `RetentionDays` has the same values (test/infra checks), but functions/ does not import CDK.
 */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653, 9999,
];

const HISTORY_DEFAULTS = {
  retentionDays: 90,
  baselineRuns: 10,
  minBaselineRuns: 3,
  flaky: { window: 30, flipRate: 0.3, minRuns: 8, noticeDays: 7 },
};

export const historySchema = z
  .object({
    /** How long runs and test outcomes are kept (overridable per stage). */
    retentionDays: z.number().int().min(1).max(3650).default(HISTORY_DEFAULTS.retentionDays),
    /** How many earlier runs on the base branch form a regression baseline. */
    baselineRuns: z.number().int().min(2).max(100).default(HISTORY_DEFAULTS.baselineRuns),
    /** Fewer earlier runs than this: the regression check is skipped and says so. */
    minBaselineRuns: z.number().int().min(2).max(100).default(HISTORY_DEFAULTS.minBaselineRuns),
    flaky: z
      .object({
        /** Outcomes kept per test (the window the rules look at). */
        window: z.number().int().min(5).max(200).default(HISTORY_DEFAULTS.flaky.window),
        /** Flip rate (status changes / comparisons) on the default branch that makes a test flaky. */
        flipRate: z.number().gt(0).max(1).default(HISTORY_DEFAULTS.flaky.flipRate),
        /** Default-branch outcomes needed before the flip-rate rule applies. */
        minRuns: z.number().int().min(3).max(200).default(HISTORY_DEFAULTS.flaky.minRuns),
        /** A still-flaky test is announced again (Test Flaky Detected) after this many days. */
        noticeDays: z.number().int().min(1).max(365).default(HISTORY_DEFAULTS.flaky.noticeDays),
      })
      .strict()
      .default(HISTORY_DEFAULTS.flaky),
  })
  .strict()
  .superRefine((h, ctx) => {
    // Either one more than the other would skip its check on every run, without an error.
    if (h.minBaselineRuns > h.baselineRuns)
      ctx.addIssue({
        code: 'custom',
        path: ['minBaselineRuns'],
        message:
          `${h.minBaselineRuns} is more than history.baselineRuns (${h.baselineRuns}), so no ` +
          'baseline would ever be enough and every regression check would skip: make ' +
          'minBaselineRuns at most baselineRuns',
      });
    if (h.flaky.minRuns > h.flaky.window)
      ctx.addIssue({
        code: 'custom',
        path: ['flaky', 'minRuns'],
        message:
          `${h.flaky.minRuns} is more than history.flaky.window (${h.flaky.window}), the outcomes ` +
          'kept per test, so the flip-rate rule would never apply: make minRuns at most window',
      });
  });

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

/** The public status page (`GET /status`, `GET /v1/status`): only what is named here is shown. */
export const statusPageSchema = z
  .object({
    title: z.string().min(1).max(128),
    /** Each component is the worst of its probes: those named, plus those with one of the tags. */
    components: z
      .array(
        z
          .object({
            name: z.string().min(1).max(128),
            probes: z.array(z.string().min(1)).default([]),
            tags: z.array(z.string().min(1)).default([]),
          })
          .strict()
          .refine((c) => c.probes.length + c.tags.length > 0, 'needs "probes" or "tags"'),
      )
      .min(1),
    /** Let other sites frame the status page (default: `frame-ancestors 'none'`). */
    allowFraming: z.boolean().default(false),
  })
  .strict();

/** Badges readable without a token; every other badge needs a token like the API. */
export const badgesSchema = z
  .object({
    public: z
      .object({
        projects: z.array(z.string().min(1)).default([]),
        probes: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ projects: [], probes: [] }),
  })
  .strict();

export const configSchema = z
  .object({
    /** The project of probes, heartbeats and alarms that name none. */
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
        /** Local mode: request bodies read at once (more wait for a 503 + Retry-After). */
        maxConcurrentBodies: z.number().int().positive().default(32),
        /** Local mode: bytes of request bodies held in memory at once. */
        maxBufferedBytes: z
          .number()
          .int()
          .positive()
          .default(128 * 1024 * 1024),
      })
      .strict()
      .default({
        maxBodyBytes: 10 * 1024 * 1024,
        maxConcurrentBodies: 32,
        maxBufferedBytes: 128 * 1024 * 1024,
      }),
    probes: z
      .array(probeSchema)
      .default([])
      .superRefine((ps, ctx) => {
        // Names are unique across projects: the status page, badges and windows name a probe alone.
        const first = new Map<string, number>();
        for (const [i, p] of ps.entries()) {
          const at = first.get(p.name);
          if (at === undefined) first.set(p.name, i);
          else
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `${JSON.stringify(p.name)} is already used by probes.${at}; probe names must be unique`,
            });
        }
      }),
    /** Heartbeat (cron) monitors; names are unique within a project (checked by config-check). */
    heartbeats: z.array(heartbeatSchema).default([]),
    alerts: alertsSchema.default({ channels: [], repeatMinutes: 60, maintenance: [] }),
    /** Quarantined tests of every project. */
    quarantine: z.array(quarantineSchema).default([]),
    /** Security findings suppressed in every project. */
    security: securityConfigSchema.default({ suppress: [] }),
    history: historySchema.default(HISTORY_DEFAULTS),
    /** The public status page; absent: no status page. */
    statusPage: statusPageSchema.optional(),
    /**
     * OpenTelemetry export from the deployed functions: CDK sets `OTEL_EXPORTER_OTLP_ENDPOINT`
     * on each of them (local mode reads the environment variable itself). Absent: off.
     */
    telemetry: z
      .object({
        otlpEndpoint: z
          .string()
          .url()
          .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
      })
      .strict()
      .optional(),
    badges: badgesSchema.default({ public: { projects: [], probes: [] } }),
    /**
     * Local mode's store: how long raw metric points (then rolled up per hour), their hourly
     * rollups and delivered events are kept. Absent: 30 days, 400 days, 24 hours.
     */
    local: z
      .object({
        retention: z
          .object({
            metricDays: z.number().int().min(1).max(3650).optional(),
            rollupDays: z.number().int().min(1).max(3650).optional(),
            eventHours: z.number().int().min(1).max(87_600).optional(),
          })
          .strict()
          .default({}),
      })
      .strict()
      .optional(),
    /**
     * Per-stage overrides, merged over the top-level values by `resolveStage`. Keyed by a stage
     * Vigil runs as: a misspelt one (`production`) would otherwise never apply, silently.
     */
    stages: z
      .partialRecord(
        z.enum(CONFIG_STAGES),
        z
          .object({
            gates: gateOverrideSchema.optional(),
            logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).optional(),
            /** Days a log group keeps its logs: one of CloudWatch's periods (default 30). */
            logRetentionDays: z
              .number()
              .int()
              .refine((d) => LOG_RETENTION_DAYS.includes(d), {
                error: (i) =>
                  `${String(i.input)} is not a CloudWatch Logs retention period; use one of ` +
                  `${LOG_RETENTION_DAYS.join(', ')} (9999: never expire)`,
              })
              .optional(),
            archiveRetentionDays: z.number().int().positive().optional(),
            /** How long run and test history is kept (DynamoDB TTL / local pruning). */
            historyRetentionDays: z.number().int().min(1).max(3650).optional(),
          })
          .strict(),
        {
          // A key that is no stage (zod's issue type leaves this code out of the record's).
          error: (i) => {
            const keys = (i as { keys?: unknown }).keys;
            return Array.isArray(keys)
              ? `unknown stage ${keys.map((k) => JSON.stringify(k)).join(', ')}; the stages are ${CONFIG_STAGES.join(', ')}`
              : undefined;
          },
        },
      )
      .default({}),
  })
  .strict();

export type VigilConfigInput = z.input<typeof configSchema>;
export type VigilConfig = z.output<typeof configSchema>;
export type GateConfig = z.output<typeof gateConfigSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
export type ProbeStepConfig = z.output<typeof probeStepSchema>;
export type HeartbeatConfig = z.output<typeof heartbeatSchema>;
export type FailureWindow = z.output<typeof failureWindowSchema>;
export type AlertsConfig = z.output<typeof alertsSchema>;
export type ChannelConfig = AlertsConfig['channels'][number];
export type MaintenanceWindow = AlertsConfig['maintenance'][number];
export type Quarantine = z.output<typeof quarantineSchema>;
export type HistoryConfig = z.output<typeof historySchema>;
export type SecuritySuppression = z.output<typeof securitySuppressionSchema>;
export type StatusPageConfig = z.output<typeof statusPageSchema>;

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
