import { definedOnly, VAR_PLACEHOLDER } from './config-access.js';
import { VigilError } from './errors.js';
import { placeholderTypo, SECRET_PLACEHOLDER, secretNames } from './probes/secrets.js';
import * as z from './zod-mini.js';

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
const gateOverrideSchema = z.partial(
  z.strictObject({
    /** Fail when any test failed. */
    failOnFailedTests: z.boolean(),
    /** Fail a test report that contains no tests (usually a wrong path or a crashed runner). */
    failOnEmptyTestRun: z.boolean(),
    /** Minimum coverage percentage. */
    minCoverage: z.number().check(z.gte(0), z.lte(100)),
    /** Which coverage metrics must reach `minCoverage`. */
    coverageMetrics: z.array(coverageMetricName).check(z.minLength(1)),
    /** Suite duration budget in seconds. */
    maxDurationSeconds: z.number().check(z.positive()),
    /** Fail when a load test's own thresholds failed. */
    failOnLoadThresholds: z.boolean(),
    /**
     * Fail when a coverage metric dropped by more than this many points against the base
     * branch's latest coverage (same project and suite). Off when unset.
     */
    maxCoverageDrop: z.number().check(z.gte(0), z.lte(100)),
    /**
     * Minimum coverage (percent) of the lines a change adds or modifies, when the report was
     * sent with its changed lines (`vigil report` in a git checkout with a base). Off when unset.
     */
    minPatchCoverage: z.number().check(z.gte(0), z.lte(100)),
    /** Fail when a benchmark regressed against its baseline on the base branch. */
    failOnBenchmarkRegression: z.boolean(),
    /** Fail when a load test's p95/p99 latency or error rate regressed against its baseline. */
    failOnLoadRegression: z.boolean(),
    /** Default minimum effect size (percent) for benchmark and latency regressions. */
    regressionThresholdPct: z.number().check(z.positive(), z.lte(1000)),
    /**
     * Security findings (`security.findings` check): fail on findings at or above `minSeverity`
     * (default `high`), only those new against the base branch unless `newOnly` is false.
     */
    security: z.partial(
      z.strictObject({
        minSeverity: z.enum(['critical', 'high', 'medium', 'low', 'info']),
        newOnly: z.boolean(),
      }),
    ),
    /** Per-benchmark direction and threshold, by benchmark name. */
    benchmarks: z.record(
      z.string().check(z.minLength(1)),
      z.strictObject({
        direction: z.optional(z.enum(['smaller', 'bigger'])),
        thresholdPct: z.optional(z.number().check(z.positive(), z.lte(1000))),
      }),
    ),
  }),
);

/** Top-level gate settings: the overrides filled with the defaults. */
export const gateConfigSchema = z.pipe(
  gateOverrideSchema,
  z.transform((g) => ({
    ...GATE_DEFAULTS,
    ...definedOnly(g),
  })),
);

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
export const quarantineSchema = z.strictObject({
  test: z.string().check(z.minLength(1), z.maxLength(1024)),
  owner: z.string().check(z.minLength(1), z.maxLength(128)),
  reason: z.string().check(z.minLength(1), z.maxLength(512)),
  /** Last day (UTC, inclusive) or instant the quarantine applies: `2026-12-31` or ISO 8601. */
  expires: expiresSchema,
});

/**
 * A suppressed security finding: findings it matches do not fail the gate (they are still
 * counted and listed) until `expires`. Every given matcher must match: `rule` (rule id),
 * `path` (file), `url`, `package`, `tool`, where `*` matches any run of characters.
 */
export const securitySuppressionSchema = z
  .strictObject({
    rule: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
    path: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    url: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
    package: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    tool: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    owner: z.string().check(z.minLength(1), z.maxLength(128)),
    reason: z.string().check(z.minLength(1), z.maxLength(512)),
    /** Last day (UTC, inclusive) or instant the suppression applies: `2026-12-31` or ISO 8601. */
    expires: expiresSchema,
  })
  .check(
    z.refine((s) => s.rule ?? s.path ?? s.url ?? s.package ?? s.tool, {
      message: 'a suppression needs at least one of rule, path, url, package or tool',
    }),
  );

const securityConfigSchema = z.strictObject({
  suppress: z._default(z.array(securitySuppressionSchema), []),
});

export const projectConfigSchema = z.strictObject({
  gates: z._default(gateOverrideSchema, {}),
  /** Quarantined tests of this project (added to the top-level list). */
  quarantine: z._default(z.array(quarantineSchema), []),
  /** Suites that get their own metric dimension; others are aggregated per project. */
  metricSuites: z._default(z.array(z.string().check(z.minLength(1))), []),
  /** Security findings suppressed in this project (added to the top-level list). */
  security: z._default(securityConfigSchema, { suppress: [] }),
});

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * Probes resolve `{{secret:NAME}}` in headers (and step bodies), never in URLs: a URL is shown
 * in events, logs and the dashboard, so a secret there would be sent literally or leak.
 */
const NO_SECRET_IN_URL =
  '{{secret:NAME}} is not resolved in a URL (URLs are shown in events and logs): ' +
  'send the secret in a header, e.g. authorization: "Bearer {{secret:NAME}}"';

/**
 * Headers by name: each name an HTTP token (one with a space or a colon would fail every
 * request, at run time), each value as `value` checks it.
 */
const headersOf = (value: z.ZodMiniType<string>) =>
  z._default(
    z.record(z.string(), value).check(
      z.superRefine((headers, ctx) => {
        for (const name of Object.keys(headers))
          if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message:
                "not a header name: use letters, digits and !#$%&'*+.^_`|~- (no spaces or colons)",
            });
      }),
    ),
    {},
  );

/**
 * A string whose `{{secret:NAME}}` (and, in a step, `{{vars.NAME}}`) placeholders are resolved:
 * one misspelt would be sent as written, so it is refused (`placeholderTypo`).
 */
const templated = (vars: boolean) =>
  z.string().check(
    z.superRefine((value, ctx) => {
      const problem = placeholderTypo(value, vars ? VAR_PLACEHOLDER : undefined);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );

/** JSONPath-style assertion on a JSON response body: `$.a.b[0].c` with equals or exists. */
const jsonAssertionSchema = z
  .strictObject({
    path: z
      .string()
      .check(
        z.regex(/^\$(\.[A-Za-z_$][\w$-]*|\[\d+\]|\['[^']*'\])*$/, 'must look like $.a.b[0].c'),
      ),
    equals: z.optional(z.union([z.string(), z.number(), z.boolean(), z.null()])),
    exists: z.optional(z.boolean()),
  })
  .check(
    z.refine((a) => a.equals !== undefined || a.exists !== undefined, 'needs "equals" or "exists"'),
  );

/** What a response must satisfy: an HTTP probe's `expect`, and each step's. */
const probeExpectSchema = z._default(
  z.strictObject({
    status: z._default(z.array(z.int().check(z.gte(100), z.lte(599))).check(z.minLength(1)), [200]),
    maxLatencyMs: z.optional(z.number().check(z.positive())),
    bodyContains: z.optional(z.string().check(z.minLength(1))),
    json: z._default(z.array(jsonAssertionSchema), []),
    headers: headersOf(z.string()),
    /** DNS checks: values that must all be among the answers. */
    values: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
    /** DNS checks: fewest answers accepted. Default 1. */
    minCount: z.optional(z.int().check(z.gte(0), z.lte(1000))),
  }),
  { status: [200], json: [], headers: {} },
);

const httpMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** One request of a multi-step probe; `url`, `headers` and `body` may use `{{vars.NAME}}`. */
export const probeStepSchema = z.strictObject({
  name: z
    .string()
    .check(z.regex(NAME, 'letters, digits, . _ - (max 64), starting with a letter or digit')),
  url: templated(true).check(
    z.refine(
      (u) => z.url({ protocol: /^https?$/ }).safeParse(u.replace(VAR_PLACEHOLDER, 'x')).success,
      'must be an http(s) URL (with {{vars.NAME}} placeholders allowed)',
    ),
    z.refine((u) => secretNames(u).length === 0, NO_SECRET_IN_URL),
  ),
  method: z._default(httpMethod, 'GET'),
  headers: headersOf(templated(true)),
  body: z.optional(templated(true)),
  expect: probeExpectSchema,
  /** Values for later steps: `$.a.b` from the JSON body, or `header:<name>`. */
  extract: z._default(
    z.record(
      z
        .string()
        .check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a variable name: letters, digits, _')),
      z
        .string()
        .check(
          z.regex(
            /^(\$(\.[A-Za-z_$][\w$-]*|\[\d+\]|\['[^']*'\])*|header:[A-Za-z0-9!#$%&'*+.^_`|~-]+)$/,
            'must be a JSON path ($.a.b[0]) or header:<name>',
          ),
        ),
    ),
    {},
  ),
});

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
  .strictObject({
    failures: z.int().check(z.gte(1), z.lte(50)),
    of: z.int().check(z.gte(2), z.lte(50)),
  })
  .check(z.refine((w) => w.failures <= w.of, '"failures" must be at most "of"'));

/** How a check's results become alerts: the same fields for probes and heartbeats. */
const alertPolicyShape = (failureThresholdDefault: number) => ({
  /** Consecutive failures before alerting. */
  failureThreshold: z._default(z.int().check(z.gte(1), z.lte(100)), failureThresholdDefault),
  /** Also fire when M of the last N results failed (see docs/probes-and-alerting.md). */
  failureWindow: z.optional(failureWindowSchema),
  /** Consecutive successes before resolving. */
  recoveryThreshold: z._default(z.int().check(z.gte(1), z.lte(100)), 1),
  severity: z._default(z.enum(['critical', 'warning']), 'critical'),
  runbookUrl: z.optional(httpUrl),
  tags: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(64))), []),
});

export const probeSchema = z
  .strictObject({
    name: z
      .string()
      .check(z.regex(NAME, 'letters, digits, . _ - (max 64), starting with a letter or digit')),
    /**
     * Project the probe's metrics and alerts belong to (default: the top-level `project`); the
     * config check applies ingest's project-name rule (`shop/web` is fine).
     */
    project: z.optional(z.string().check(z.minLength(1))),
    /**
     * `http` (when absent), `tcp` (connect to `host`:`port`), `dns` (query `host`) or `browser`
     * (run `script` in Chromium).
     */
    type: z.optional(z.enum(['http', 'tcp', 'dns', 'browser'])),
    /**
     * Browser checks: the Playwright script, relative to the config file (the loader makes it
     * absolute and reports a missing file).
     */
    script: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    /** Browser checks: values handed to the script as `vars` (may use `{{secret:NAME}}`). */
    vars: z.optional(
      z.record(
        z
          .string()
          .check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a variable name: letters, digits, _')),
        templated(false).check(z.maxLength(4096)),
      ),
    ),
    /** TCP and DNS checks: the host to connect to, or the name to look up. */
    host: z.optional(
      z.string().check(z.regex(/^[A-Za-z0-9_.:-]{1,253}$/, 'a host name or IP address')),
    ),
    /** TCP checks: the port. */
    port: z.optional(z.int().check(z.gte(1), z.lte(65535))),
    /** TCP checks: do a TLS handshake after connecting (and check the certificate's expiry). */
    tls: z.optional(z.boolean()),
    /** DNS checks: the record type asked for (default `A`). */
    recordType: z.optional(z.enum(['A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT'])),
    /** The URL of a single-request probe; a multi-step probe has `steps` instead. */
    url: z.optional(
      httpUrl.check(
        z.refine(
          (u) => secretNames(u).length === 0 && placeholderTypo(u, undefined) === undefined,
          NO_SECRET_IN_URL,
        ),
      ),
    ),
    /** A multi-step API check: requests run in order, later ones using earlier ones' `extract`. */
    steps: z.optional(z.array(probeStepSchema).check(z.minLength(1), z.maxLength(20))),
    method: z._default(httpMethod, 'GET'),
    /** Header values may reference secrets as `{{secret:NAME}}`; they are never logged. */
    headers: headersOf(templated(false)),
    /** Sent as is: `{{secret:NAME}}` is resolved in a step's body, not here (refused below). */
    body: z.optional(z.string()),
    /** Local mode: any interval >= 1 s. On AWS the schedule is 1 minute with `samplesPerMinute`. */
    intervalSeconds: z._default(z.int().check(z.gte(1), z.lte(3600)), 60),
    /** AWS: how many samples one scheduled invocation takes within its minute (1-6). */
    samplesPerMinute: z._default(z.int().check(z.gte(1), z.lte(6)), 1),
    /** At most 30 s; a browser check's (launch, script, screenshot and trace) up to 120 s. */
    timeoutMs: z._default(z.int().check(z.gte(100), z.lte(120_000)), 5000),
    expect: probeExpectSchema,
    /** Warn when the TLS certificate expires within this many days. */
    tlsExpiryDays: z.optional(z.int().check(z.positive())),
    ...alertPolicyShape(2),
  })
  .check(
    z.superRefine((probe, ctx) => {
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
    }),
  );

/**
 * A heartbeat (cron) monitor: a job pings `/v1/heartbeats/{project}/{name}` when it ran; a ping
 * missing past its grace, a `/fail` or a run longer than `maxRunSeconds` alerts. The schedule is
 * `periodSeconds`, or `cron` in `timezone`; the config check validates both (config-check.ts).
 */
export const heartbeatSchema = z
  .strictObject({
    name: z
      .string()
      .check(z.regex(NAME, 'letters, digits, . _ - (max 64), starting with a letter or digit')),
    /** Project the heartbeat belongs to (default: the top-level `project`). */
    project: z.optional(z.string().check(z.minLength(1))),
    /** A ping is expected every this many seconds (or use `cron`). */
    periodSeconds: z.optional(z.int().check(z.gte(1), z.lte(366 * 86_400))),
    /** When the job runs: five cron fields, in `timezone`. */
    cron: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    /** IANA time zone of `cron`, e.g. `Europe/Berlin`. Default `UTC`. */
    timezone: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    /** How late a ping may be before it counts as missed. */
    graceSeconds: z._default(z.int().check(z.gte(0), z.lte(7 * 86_400)), 300),
    /** A run (from `/start`) that has not finished after this long fails. */
    maxRunSeconds: z.optional(z.int().check(z.gte(1), z.lte(7 * 86_400))),
    /** Secret holding this heartbeat's own token (`?token=`); it can ping this heartbeat only. */
    tokenSecret: z.optional(
      z
        .string()
        .check(
          z.regex(/^[A-Za-z0-9/_+=.@-]{1,128}$/, 'a secret name: letters, digits, / _ + = . @ -'),
        ),
    ),
    /** `failureThreshold` counts missed, failed or overrun runs. */
    ...alertPolicyShape(1),
  })
  .check(
    z.superRefine((hb, ctx) => {
      if ((hb.periodSeconds === undefined) === (hb.cron === undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['periodSeconds'],
          message: 'a heartbeat has either "periodSeconds" or "cron" (one of the two)',
        });
      if (hb.timezone !== undefined && hb.cron === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['timezone'],
          message: '"timezone" goes with "cron"',
        });
    }),
  );

/** Hosts a local test receiver listens on: the only ones a Slack channel may reach over http. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * Why a channel URL cannot be posted to, or undefined: checked at load rather than at the first
 * alert. `{{secret:NAME}}` parts count as harmless text; a URL that starts with one gets its
 * scheme and host from the secret, which delivery checks once it is read.
 */
const channelUrlProblem = (value: string, slack: boolean): string | undefined => {
  const typo = placeholderTypo(value, undefined);
  if (typo) return typo;
  if (value.search(SECRET_PLACEHOLDER) === 0) return undefined;
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
  z.string().check(
    z.minLength(1),
    z.superRefine((value, ctx) => {
      const problem = channelUrlProblem(value, slack);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );

const channelSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('slack'), webhookUrl: channelUrl(true) }),
  z.strictObject({
    type: z.literal('webhook'),
    url: channelUrl(false),
    headers: headersOf(templated(false)),
  }),
  z.strictObject({ type: z.literal('email'), address: z.email() }),
]);

const maintenanceSchema = z
  .strictObject({
    /** Which checks: probe names and/or tags (none = all). */
    probes: z._default(z.array(z.string()), []),
    tags: z._default(z.array(z.string()), []),
    start: z.optional(instantSchema),
    end: z.optional(instantSchema),
    /** A recurring window: cron expression (UTC) + duration. */
    cron: z.optional(z.string().check(z.minLength(1))),
    durationMinutes: z.optional(z.int().check(z.positive())),
    reason: z.optional(z.string().check(z.maxLength(256))),
  })
  .check(
    z.refine(
      (m) => (m.start && m.end) || (m.cron && m.durationMinutes),
      'needs start+end or cron+durationMinutes',
    ),
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
  .strictObject({
    /** How long runs and test outcomes are kept (overridable per stage). */
    retentionDays: z._default(z.int().check(z.gte(1), z.lte(3650)), HISTORY_DEFAULTS.retentionDays),
    /** How many earlier runs on the base branch form a regression baseline. */
    baselineRuns: z._default(z.int().check(z.gte(2), z.lte(100)), HISTORY_DEFAULTS.baselineRuns),
    /** Fewer earlier runs than this: the regression check is skipped and says so. */
    minBaselineRuns: z._default(
      z.int().check(z.gte(2), z.lte(100)),
      HISTORY_DEFAULTS.minBaselineRuns,
    ),
    flaky: z._default(
      z.strictObject({
        /** Outcomes kept per test (the window the rules look at). */
        window: z._default(z.int().check(z.gte(5), z.lte(200)), HISTORY_DEFAULTS.flaky.window),
        /** Flip rate (status changes / comparisons) on the default branch that makes a test flaky. */
        flipRate: z._default(z.number().check(z.gt(0), z.lte(1)), HISTORY_DEFAULTS.flaky.flipRate),
        /** Default-branch outcomes needed before the flip-rate rule applies. */
        minRuns: z._default(z.int().check(z.gte(3), z.lte(200)), HISTORY_DEFAULTS.flaky.minRuns),
        /** A still-flaky test is announced again (Test Flaky Detected) after this many days. */
        noticeDays: z._default(
          z.int().check(z.gte(1), z.lte(365)),
          HISTORY_DEFAULTS.flaky.noticeDays,
        ),
      }),
      HISTORY_DEFAULTS.flaky,
    ),
  })
  .check(
    z.superRefine((h, ctx) => {
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
    }),
  );

/** A base address links are made from: nothing after it but the page (`#/run/…`). */
const dashboardUrlSchema = httpUrl.check(
  z.refine((url) => {
    // One that is no URL at all is the URL check's to report.
    const u = URL.canParse(url) ? new URL(url) : undefined;
    return !/[\s?#]/.test(url) && !u?.username && !u?.password;
  }, "must be the dashboard's base address, without spaces, a query, a #fragment or credentials (messages add the page after it, and a #token= there would be sent to every channel)"),
);

export const alertsSchema = z.strictObject({
  channels: z._default(z.array(channelSchema), []),
  /** Minutes between reminders while an alert keeps firing. */
  repeatMinutes: z._default(z.int().check(z.gte(1)), 60),
  /** Failed test runs and failed gates alert on these branches (default: `defaultBranch`). */
  branches: z.optional(z.array(z.string().check(z.minLength(1)))),
  maintenance: z._default(z.array(maintenanceSchema), []),
  /**
   * The dashboard's address as the team opens it (a proxy, a custom domain): messages link to
   * the run, probe or test there. Default: local mode's own address, the API's URL on AWS; a
   * stage may set its own (`stages.<stage>.dashboardUrl`).
   */
  dashboardUrl: z.optional(dashboardUrlSchema),
});

/** The public status page (`GET /status`, `GET /v1/status`): only what is named here is shown. */
export const statusPageSchema = z.strictObject({
  title: z.string().check(z.minLength(1), z.maxLength(128)),
  /** Each component is the worst of its probes: those named, plus those with one of the tags. */
  components: z
    .array(
      z
        .strictObject({
          name: z.string().check(z.minLength(1), z.maxLength(128)),
          probes: z._default(z.array(z.string().check(z.minLength(1))), []),
          tags: z._default(z.array(z.string().check(z.minLength(1))), []),
        })
        .check(z.refine((c) => c.probes.length + c.tags.length > 0, 'needs "probes" or "tags"')),
    )
    .check(z.minLength(1)),
  /** Let other sites frame the status page (default: `frame-ancestors 'none'`). */
  allowFraming: z._default(z.boolean(), false),
});

/** Badges readable without a token; every other badge needs a token like the API. */
export const badgesSchema = z.strictObject({
  public: z._default(
    z.strictObject({
      projects: z._default(z.array(z.string().check(z.minLength(1))), []),
      probes: z._default(z.array(z.string().check(z.minLength(1))), []),
    }),
    { projects: [], probes: [] },
  ),
});

export const configSchema = z.strictObject({
  /** The project of probes, heartbeats and alarms that name none. */
  project: z._default(z.string().check(z.minLength(1)), 'default'),
  defaultBranch: z._default(z.string().check(z.minLength(1)), 'main'),
  gates: z._default(gateConfigSchema, GATE_DEFAULTS),
  projects: z._default(z.record(z.string().check(z.minLength(1)), projectConfigSchema), {}),
  ingest: z._default(
    z
      .strictObject({
        /** Largest accepted body, before and after gunzip. API Gateway's own limit is 10 MB. */
        maxBodyBytes: z._default(z.int().check(z.positive()), 10 * 1024 * 1024),
        /** Local mode: request bodies read at once (more wait for a 503 + Retry-After). */
        maxConcurrentBodies: z._default(z.int().check(z.positive()), 32),
        /** Local mode: bytes of request bodies held in memory at once. */
        maxBufferedBytes: z._default(z.int().check(z.positive()), 128 * 1024 * 1024),
      })
      .check(
        z.superRefine((ingest, ctx) => {
          // Else a report of maxBodyBytes would wait for room that never comes: 503 on every try.
          if (ingest.maxBufferedBytes < ingest.maxBodyBytes)
            ctx.addIssue({
              code: 'custom',
              path: ['maxBufferedBytes'],
              message:
                `${ingest.maxBufferedBytes} is less than ingest.maxBodyBytes (${ingest.maxBodyBytes}): ` +
                'a report that large could never be held, and would be refused with a 503 on every ' +
                'retry; make maxBufferedBytes at least maxBodyBytes',
            });
        }),
      ),
    {
      maxBodyBytes: 10 * 1024 * 1024,
      maxConcurrentBodies: 32,
      maxBufferedBytes: 128 * 1024 * 1024,
    },
  ),
  probes: z._default(z.array(probeSchema), []).check(
    z.superRefine((ps, ctx) => {
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
  ),
  /** Heartbeat (cron) monitors; names are unique within a project (checked by config-check). */
  heartbeats: z._default(z.array(heartbeatSchema), []),
  alerts: z._default(alertsSchema, { channels: [], repeatMinutes: 60, maintenance: [] }),
  /** Quarantined tests of every project. */
  quarantine: z._default(z.array(quarantineSchema), []),
  /** Security findings suppressed in every project. */
  security: z._default(securityConfigSchema, { suppress: [] }),
  history: z._default(historySchema, HISTORY_DEFAULTS),
  /** The public status page; absent: no status page. */
  statusPage: z.optional(statusPageSchema),
  /**
   * OpenTelemetry export from the deployed functions: CDK sets `OTEL_EXPORTER_OTLP_ENDPOINT`
   * on each of them (local mode reads the environment variable itself). Absent: off.
   */
  telemetry: z.optional(
    z.strictObject({
      otlpEndpoint: z
        .url()
        .check(z.refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')),
    }),
  ),
  badges: z._default(badgesSchema, { public: { projects: [], probes: [] } }),
  /**
   * Local mode's store: how long raw metric points (then rolled up per hour), their hourly
   * rollups and delivered events are kept. Absent: 30 days, 400 days, 24 hours.
   */
  local: z.optional(
    z.strictObject({
      retention: z._default(
        z.strictObject({
          metricDays: z.optional(z.int().check(z.gte(1), z.lte(3650))),
          rollupDays: z.optional(z.int().check(z.gte(1), z.lte(3650))),
          eventHours: z.optional(z.int().check(z.gte(1), z.lte(87_600))),
        }),
        {},
      ),
    }),
  ),
  /**
   * Per-stage overrides, merged over the top-level values by `resolveStage`. Keyed by a stage
   * Vigil runs as: a misspelt one (`production`) would otherwise never apply, silently.
   */
  stages: z._default(
    z.partialRecord(
      z.enum(CONFIG_STAGES),
      z.strictObject({
        gates: z.optional(gateOverrideSchema),
        logLevel: z.optional(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR'])),
        /** Days a log group keeps its logs: one of CloudWatch's periods (default 30). */
        logRetentionDays: z.optional(
          z.int().check(
            z.refine((d) => LOG_RETENTION_DAYS.includes(d), {
              error: (i) =>
                `${String(i.input)} is not a CloudWatch Logs retention period; use one of ` +
                `${LOG_RETENTION_DAYS.join(', ')} (9999: never expire)`,
            }),
          ),
        ),
        archiveRetentionDays: z.optional(z.int().check(z.positive())),
        /** How long run and test history is kept (DynamoDB TTL / local pruning). */
        historyRetentionDays: z.optional(z.int().check(z.gte(1), z.lte(3650))),
        /** This stage's dashboard address for the links in messages (over `alerts.dashboardUrl`). */
        dashboardUrl: z.optional(dashboardUrlSchema),
      }),
      {
        // A key that is no stage (zod's issue type leaves this code out of the record's).
        error: (i) => {
          const keys = (i as { keys?: unknown }).keys;
          return Array.isArray(keys)
            ? `unknown stage ${keys.map((k) => JSON.stringify(k)).join(', ')}; the stages are ${CONFIG_STAGES.join(', ')}`
            : undefined;
        },
      },
    ),
    {},
  ),
});

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
  const problems = configIssueLines(result.error.issues).join('; ');
  throw new VigilError('bad_request', `Invalid Vigil config in ${source}: ${problems}`);
};

/**
 * zod's issues as `path: what is wrong` lines, for a person fixing a file: an unknown field is
 * named by its own path (zod names its parent) with the nearest field name of that object, and
 * a missing one says "required" (zod: "expected string, received undefined").
 */
export const configIssueLines = (issues: readonly z.core.$ZodIssue[]): string[] => {
  const at = (path: readonly PropertyKey[]) => (path.length ? path.join('.') : '(root)');
  return issues.flatMap((issue) => {
    // zod's own message only: a schema's (the stages record's) says more.
    if (issue.code === 'unrecognized_keys' && /^Unrecognized keys?:/.test(issue.message))
      return issue.keys.map((key) => {
        const near = nearest(key, fieldsAt(issue.path));
        return `${at([...issue.path, key])}: unknown field${near ? ` (did you mean "${near}"?)` : ''}`;
      });
    if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message))
      return [`${at(issue.path)}: required (${issue.expected})`];
    return [`${at(issue.path)}: ${issue.message}`];
  });
};

type SchemaDef = Record<string, unknown>;
const defOf = (schema: unknown): SchemaDef | undefined =>
  (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;

/** The objects a schema may be, past defaults, optionals, pipes and unions. */
const objectsOf = (schema: unknown): SchemaDef[] => {
  const def = defOf(schema);
  if (!def) return [];
  if (def.shape) return [def];
  for (const inner of ['innerType', 'in']) if (def[inner]) return objectsOf(def[inner]);
  return ((def.options as unknown[] | undefined) ?? []).flatMap(objectsOf);
};

/** The field names of the object at `path` in the config (several for a union). */
const fieldsAt = (path: readonly PropertyKey[]): string[] => {
  let schemas: unknown[] = [configSchema];
  for (const segment of path)
    schemas = schemas.flatMap((schema) => {
      const objects = objectsOf(schema);
      if (objects.length > 0)
        return objects.map((o) => (o.shape as Record<string, unknown>)[String(segment)]);
      let def = defOf(schema);
      while (def && !def.element && !def.valueType && (def.innerType || def.in))
        def = defOf(def.innerType ?? def.in);
      return def ? [def.element ?? def.valueType] : [];
    });
  return schemas.flatMap(objectsOf).flatMap((o) => Object.keys(o.shape as object));
};

/** The name `key` was most likely meant to be: a few edits away (two at most), or none. */
const nearest = (key: string, names: readonly string[]): string | undefined => {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    // A field of another member of a union (a webhook's `url` beside an email channel).
    if (name === key) continue;
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= Math.min(2, name.length >> 2) && (!best || distance < best.distance))
      best = { name, distance };
  }
  return best?.name;
};

/** Levenshtein distance (insertions, deletions, substitutions). */
const editDistance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(
        (row[j] as number) + 1,
        (next[j - 1] as number) + 1,
        (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    row = next;
  }
  return row[b.length] as number;
};
