import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { runReport } from '../cli/report';
import { ENGINES, type EngineName, type EngineRun } from './engine';
import { ingestScenario, junitBodies, mixedBodies, newRunPrefix } from './scenarios/ingest';
import type { Scenario } from './scenarios/types';
import { urlScenario } from './scenarios/url';
import {
  formatHeader,
  formatSummary,
  type LoadResult,
  Recorder,
  summarize,
  toK6Summary,
} from './summary';
import { describeVerify, type VerifyReport, verifyDataDir } from './verify';

/**
 * `npm run load`: send a scenario at a fixed rate to Vigil's ingest endpoint (local mode or a
 * deployed stage) or any URL, print the result, write it as a k6 summary that Vigil ingests,
 * optionally check that nothing was lost or duplicated and post the result back to Vigil.
 */

export const EXIT = { passed: 0, thresholdFailed: 1, usage: 2 } as const;

export const SCENARIOS = ['ingest', 'junit', 'url'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const USAGE = `Usage: npm run load -- --target URL --rate N --duration S [options]

Sends requests at a fixed rate, prints latency percentiles and errors, writes a k6-format
summary (which \`vigil report\` and POST /v1/results ingest as a load result) and exits
0 when every threshold holds, 1 when one fails, 2 on a usage error.

  --target URL            Vigil base URL (local mode or a stage's API URL), or for --scenario
                          url the URL to GET (env VIGIL_ENDPOINT)
  --rate N                requests per second (all connections together)
  --duration S            seconds to send for
  --scenario NAME         ingest: POST /v1/results with a mix of JUnit (50 KB generated and
                            real), Jest JSON, LCOV and Istanbul bodies, 30% gzipped (default)
                          junit: POST the 50 KB JUnit report only (the capacity benchmark's body)
                          url: GET the target URL
  --token T               bearer token for ingest (env VIGIL_TOKEN; prefer the env variable)
  --project P             project the results are posted to (default vigil-load)
  --gzip SHARE            share of ingest requests sent gzipped, 0..1 (default 0.3 for ingest,
                          0 for junit)
  --p99 MS                threshold: p99 latency below MS (default 1000)
  --max-error-rate R      threshold: failed share at most R, 0..1 (default 0.01); any answer
                          that is not 2xx counts as failed, 429 and 503 included
  --engine NAME           paced: open-loop, evenly spaced requests (default)
                          autocannon: autocannon's overallRate (bursts each second)
  --connections C         most connections at once (default 64 paced, 10 autocannon)
  --timeout-ms N          per-request timeout (default 10000)
  --out FILE              where to write the JSON summary (default load-summary.json)
  --verify DIR            local mode only: check in its data directory that every accepted
                          result is stored exactly once and nothing else was (paced engine)
  --report-to URL         post the summary to this Vigil (same or another instance)
  --report-token T        token for --report-to (env VIGIL_REPORT_TOKEN; default: the token)
  --report-project P      project for the posted summary (default: --project)
  -h, --help              show this help
`;

export interface LoadOptions {
  target: URL;
  rate: number;
  durationS: number;
  scenario: ScenarioName;
  token?: string;
  project: string;
  gzipShare: number;
  p99Ms: number;
  maxErrorRate: number;
  engine: EngineName;
  connections: number;
  timeoutMs: number;
  out: string;
  verify?: string;
  reportTo?: URL;
  reportToken?: string;
  reportProject: string;
}

export type Parsed =
  | { kind: 'help' }
  | { kind: 'error'; problems: string[] }
  | { kind: 'ok'; options: LoadOptions };

const nonEmpty = (s: string | undefined): string | undefined => {
  const t = s?.trim();
  return t ? t : undefined;
};

const PROJECT = /^[A-Za-z0-9][A-Za-z0-9._\-/]{0,127}$/;

const httpUrl = (raw: string, what: string, problems: string[]): URL | undefined => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`${what} '${raw}' is not a URL`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${what} must be an http(s) URL, got ${url.protocol}`);
    return undefined;
  }
  if (url.username || url.password) {
    problems.push(`${what} must not contain credentials; use the token options`);
    return undefined;
  }
  return url;
};

/** A number from `raw` within [min, max]; `integer` when it must be whole. */
const numberArg = (
  raw: string | undefined,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
  problems: string[],
  opts: { integer?: boolean; exclusiveMin?: boolean } = {},
): number | undefined => {
  if (raw === undefined) {
    if (fallback === undefined) problems.push(`${name} is required`);
    return fallback;
  }
  const n = Number(raw.trim());
  const low = opts.exclusiveMin ? n <= min : n < min;
  if (
    raw.trim() === '' ||
    !Number.isFinite(n) ||
    (opts.integer && !Number.isInteger(n)) ||
    low ||
    n > max
  ) {
    problems.push(
      `${name} must be ${opts.integer ? 'a whole number' : 'a number'} ${opts.exclusiveMin ? 'above' : 'from'} ${min}${opts.exclusiveMin ? ' and at most' : ' to'} ${max}, got '${raw}'`,
    );
    return undefined;
  }
  return n;
};

export const parseLoadArgs = (argv: readonly string[], env: NodeJS.ProcessEnv): Parsed => {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        target: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        scenario: { type: 'string' },
        token: { type: 'string' },
        project: { type: 'string' },
        gzip: { type: 'string' },
        p99: { type: 'string' },
        'max-error-rate': { type: 'string' },
        engine: { type: 'string' },
        connections: { type: 'string' },
        'timeout-ms': { type: 'string' },
        out: { type: 'string' },
        verify: { type: 'string' },
        'report-to': { type: 'string' },
        'report-token': { type: 'string' },
        'report-project': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return { kind: 'error', problems: [e instanceof Error ? e.message : String(e)] };
  }
  if (values.help) return { kind: 'help' };
  const str = (key: string): string | undefined => {
    const v = values[key];
    return typeof v === 'string' ? v : undefined;
  };

  const problems: string[] = [];
  if (positionals.length > 0) problems.push(`unexpected argument '${positionals[0]}'`);

  const scenarioRaw = nonEmpty(str('scenario')) ?? 'ingest';
  const scenario = (SCENARIOS as readonly string[]).includes(scenarioRaw)
    ? (scenarioRaw as ScenarioName)
    : undefined;
  if (!scenario)
    problems.push(`unknown --scenario '${scenarioRaw}'; expected ${SCENARIOS.join(', ')}`);
  const engineRaw = nonEmpty(str('engine')) ?? 'paced';
  const engine = engineRaw in ENGINES ? (engineRaw as EngineName) : undefined;
  if (!engine)
    problems.push(`unknown --engine '${engineRaw}'; expected ${Object.keys(ENGINES).join(', ')}`);

  const rawTarget = nonEmpty(str('target')) ?? nonEmpty(env.VIGIL_ENDPOINT);
  let target: URL | undefined;
  if (rawTarget === undefined) problems.push('--target is required (or set VIGIL_ENDPOINT)');
  else target = httpUrl(rawTarget, '--target', problems);
  if (target && scenario !== 'url' && (target.search || target.hash))
    problems.push('--target must not contain a query or fragment for the ingest scenarios');

  const rate = numberArg(str('rate'), '--rate', undefined, 0, 100_000, problems, {
    exclusiveMin: true,
  });
  const durationS = numberArg(str('duration'), '--duration', undefined, 0, 86_400, problems, {
    exclusiveMin: true,
  });
  const p99Ms = numberArg(str('p99'), '--p99', 1000, 0, 600_000, problems, { exclusiveMin: true });
  const maxErrorRate = numberArg(str('max-error-rate'), '--max-error-rate', 0.01, 0, 1, problems);
  const gzipShare = numberArg(
    str('gzip'),
    '--gzip',
    scenario === 'ingest' ? 0.3 : 0,
    0,
    1,
    problems,
  );
  const connections = numberArg(
    str('connections'),
    '--connections',
    engine === 'autocannon' ? 10 : 64,
    1,
    10_000,
    problems,
    { integer: true },
  );
  const timeoutMs = numberArg(str('timeout-ms'), '--timeout-ms', 10_000, 1, 600_000, problems, {
    integer: true,
  });
  if (engine === 'autocannon' && rate !== undefined && !Number.isInteger(rate))
    problems.push('--rate must be a whole number with --engine autocannon');

  const project = nonEmpty(str('project')) ?? 'vigil-load';
  if (!PROJECT.test(project))
    problems.push(`--project '${project}' is invalid: letters, digits, . _ - / (max 128)`);
  const token = nonEmpty(str('token')) ?? nonEmpty(env.VIGIL_TOKEN);
  if (scenario !== 'url' && token === undefined)
    problems.push('no token: set VIGIL_TOKEN (or pass --token) for the ingest scenarios');

  const verify = nonEmpty(str('verify'));
  if (verify !== undefined && scenario === 'url')
    problems.push('--verify checks ingested results: it needs --scenario ingest or junit');
  if (verify !== undefined && engine === 'autocannon')
    problems.push(
      '--verify needs --engine paced: autocannon drops the requests still in flight when the time is up, so their outcome is unknown',
    );

  let reportTo: URL | undefined;
  const rawReportTo = nonEmpty(str('report-to'));
  if (rawReportTo !== undefined) {
    reportTo = httpUrl(rawReportTo, '--report-to', problems);
    if (reportTo && (reportTo.search || reportTo.hash)) {
      problems.push('--report-to must not contain a query or fragment');
      reportTo = undefined;
    }
  }
  const reportToken = nonEmpty(str('report-token')) ?? nonEmpty(env.VIGIL_REPORT_TOKEN) ?? token;
  if (rawReportTo !== undefined && reportToken === undefined)
    problems.push('--report-to needs a token: --report-token, VIGIL_REPORT_TOKEN or VIGIL_TOKEN');
  const reportProject = nonEmpty(str('report-project')) ?? project;
  if (!PROJECT.test(reportProject))
    problems.push(
      `--report-project '${reportProject}' is invalid: letters, digits, . _ - / (max 128)`,
    );

  if (
    problems.length > 0 ||
    !target ||
    !scenario ||
    !engine ||
    rate === undefined ||
    durationS === undefined ||
    p99Ms === undefined ||
    maxErrorRate === undefined ||
    gzipShare === undefined ||
    connections === undefined ||
    timeoutMs === undefined
  )
    return { kind: 'error', problems };

  return {
    kind: 'ok',
    options: {
      target,
      rate,
      durationS,
      scenario,
      token,
      project,
      gzipShare,
      p99Ms,
      maxErrorRate,
      engine,
      connections,
      timeoutMs,
      out: nonEmpty(str('out')) ?? 'load-summary.json',
      verify,
      reportTo,
      reportToken,
      reportProject,
    },
  };
};

// ---------------------------------------------------------------------------------------------

export interface ScenarioSetup {
  scenario: Scenario;
  /** Run ids of this run start with it (ingest scenarios). */
  runPrefix?: string;
}

export const buildScenario = (
  o: Pick<LoadOptions, 'scenario' | 'target' | 'token' | 'project' | 'gzipShare'>,
): ScenarioSetup => {
  if (o.scenario === 'url') return { scenario: urlScenario(o.target) };
  const runPrefix = newRunPrefix();
  return {
    runPrefix,
    scenario: ingestScenario({
      name: o.scenario,
      target: o.target,
      token: o.token ?? '',
      project: o.project,
      bodies: o.scenario === 'junit' ? junitBodies() : mixedBodies(),
      runPrefix,
      gzipShare: o.gzipShare,
    }),
  };
};

/** Sends a scenario and records every outcome; the shared core of the CLI and bench:capacity. */
export const executeLoad = async (o: {
  target: URL;
  scenario: Scenario;
  engine: EngineName;
  rate: number;
  durationS: number;
  connections: number;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<{ recorder: Recorder; run: EngineRun }> => {
  const recorder = new Recorder();
  const run = await ENGINES[o.engine]({ ...o, onOutcome: (outcome) => recorder.add(outcome) });
  return { recorder, run };
};

/** The target as shown and stored: no query (the url scenario's may hold secrets). */
export const displayTarget = (u: URL): string => `${u.origin}${u.pathname}`;

/** Dead letters appear only after the local bus's retries (200 + 400 ms after a failure). */
const SETTLE_BEFORE_VERIFY_MS = 1000;

export interface LoadIo {
  env: NodeJS.ProcessEnv;
  /** Whole lines, each ending in `\n`. */
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Aborting stops sending (Ctrl+C); the summary covers what was sent. */
  signal?: AbortSignal;
}

export interface LoadOutcome {
  exitCode: number;
  result: LoadResult;
  verify?: VerifyReport;
  summary: Record<string, unknown>;
}

export const runLoad = async (o: LoadOptions, io: LoadIo): Promise<LoadOutcome> => {
  const out = (line: string) => io.stdout(`${line}\n`);
  const { scenario, runPrefix } = buildScenario(o);
  out(formatHeader({ ...o, scenario: scenario.name, target: displayTarget(o.target) }));
  out(`  sending     ${scenario.description}`);
  if (runPrefix) out(`  run ids     ${runPrefix}-1, -2, … in project ${o.project}`);

  const { recorder, run } = await executeLoad({ ...o, scenario, signal: io.signal });

  let verify: VerifyReport | undefined;
  if (o.verify !== undefined && runPrefix !== undefined) {
    await delay(SETTLE_BEFORE_VERIFY_MS);
    verify = await verifyDataDir({
      dataDir: o.verify,
      project: o.project,
      runPrefix,
      accepted: recorder.accepted,
    });
  }

  const result = summarize(
    recorder,
    {
      scenario: scenario.name,
      engine: o.engine,
      target: displayTarget(o.target),
      rate: o.rate,
      durationS: o.durationS,
      connections: o.connections,
      startedAt: run.startedAt,
      elapsedMs: run.elapsedMs,
      ...(run.sendLagMs ? { sendLagMs: run.sendLagMs } : {}),
    },
    { p99Ms: o.p99Ms, maxErrorRate: o.maxErrorRate },
    verify && {
      lost: verify.lost,
      duplicated: verify.duplicated,
      unexpected: verify.unexpected,
      deadLettered: verify.deadLettered,
    },
  );
  for (const line of formatSummary(result)) out(line);
  if (verify) out(`  ${describeVerify(verify)}`);

  const summary = toK6Summary(result);
  const outPath = resolve(o.out);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(summary, null, 2)}\n`);
  out(
    `Summary written to ${o.out} (k6 handleSummary format: \`vigil report ${o.out}\` ingests it)`,
  );

  let exitCode: number = result.passed ? EXIT.passed : EXIT.thresholdFailed;
  out(result.passed ? '✔ PASS: every threshold held' : '✖ FAIL: a threshold was crossed');

  if (o.reportTo) {
    const endpoint = new URL(o.reportTo);
    endpoint.pathname = endpoint.pathname.replace(/\/+$/, '').replace(/\/v1\/results$/, '');
    const reportCode = await runReport(
      [
        o.out,
        '--endpoint',
        endpoint.href,
        '--project',
        o.reportProject,
        '--format',
        'k6',
        '--suite',
        'load',
      ],
      {
        env: { ...io.env, VIGIL_TOKEN: o.reportToken },
        stdout: io.stdout,
        stderr: io.stderr,
      },
    );
    // The reporter's own codes: 1 gate failed (= a threshold, already counted), 3 rejected,
    // 4 unreachable; those two say the result did not reach Vigil.
    exitCode = Math.max(exitCode, reportCode);
  }
  return { exitCode, result, verify, summary };
};

export const runLoadCli = async (argv: readonly string[], io: LoadIo): Promise<number> => {
  const parsed = parseLoadArgs(argv, io.env);
  if (parsed.kind === 'help') {
    io.stdout(USAGE);
    return EXIT.passed;
  }
  if (parsed.kind === 'error') {
    for (const p of parsed.problems) io.stderr(`vigil load: ${p}\n`);
    io.stderr(`\n${USAGE}`);
    return EXIT.usage;
  }
  return (await runLoad(parsed.options, io)).exitCode;
};
