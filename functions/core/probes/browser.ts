import type { ProbeCompletedDetail } from '../events.js';
import type { Failure } from './assertions.js';
import { type JudgedOutcome, judged, type StepResult } from './outcome.js';
import { redactSecrets } from './secrets.js';

/**
 * The run contract of a browser check, without Playwright: what the runner hands the child
 * process that drives Chromium (`BrowserJob`), what the child reports back (`BrowserReport`),
 * and how that report becomes a self-judged outcome. Everything in a report comes from a
 * page, so it is hostile: it is cut to size here and scrubbed of the check's secret values.
 */

/** What the child process needs to run one check. */
export interface BrowserJob {
  /** Absolute path of the script module (TypeScript when the child runs under tsx). */
  script: string;
  /** The probe's `vars`, `{{secret:NAME}}` placeholders resolved. */
  vars: Record<string, string>;
  /** Every secret the probe's `vars` refer to, by name. */
  secrets: Record<string, string>;
  executablePath: string;
  args: string[];
  /** When (epoch ms) the script must be done, leaving time for the screenshot and trace. */
  deadline: number;
  /**
   * When (epoch ms) the screenshot and trace of a failed run must be written: the parent kills
   * the child `HARD_KILL_GRACE_MS` after it. Unset: 1 s for the trace.
   */
  artifactsBy?: number;
  /** Directory for the screenshot and trace of a failed run. */
  dir: string;
}

/** What the child reports (all strings are the page's: untrusted). */
export interface BrowserReport {
  ok: boolean;
  /** From the script's start to its end (or its deadline). */
  durationMs: number;
  /** The first thing that failed; `step` names the step it failed in. */
  failure?: Failure & { step?: string };
  steps: StepResult[];
  /** The page the script ended on. */
  url?: string;
  vitals: NonNullable<ProbeCompletedDetail['browser']>['vitals'];
  consoleErrors: string[];
  failedRequests: string[];
  /** Files written to `BrowserJob.dir` (failed runs only). */
  files: { screenshot?: string; trace?: string };
  /** What the run could not do without failing the check (e.g. a failed run's missing screenshot). */
  warnings?: string[];
}

/**
 * What the child says while it runs, before its report: the step now running (`null` between
 * steps), sent as each step starts and ends. The parent keeps the last one, so a run it has to
 * kill still names the step it was in.
 */
export interface BrowserProgress {
  running: string | null;
}

export const isBrowserProgress = (m: unknown): m is BrowserProgress =>
  typeof m === 'object' && m !== null && 'running' in m && !('ok' in m);

export type BrowserArtifact = NonNullable<ProbeCompletedDetail['artifacts']>[number];

/** Console errors and failed requests kept per run, and characters kept of each. */
export const MAX_ITEMS = 10;
export const MAX_TEXT = 300;

/**
 * Time kept back from `timeoutMs` for the screenshot and trace of a run that hit its
 * deadline; the runner kills the child outright `HARD_KILL_GRACE_MS` after `timeoutMs`.
 */
export const artifactReserveMs = (timeoutMs: number): number =>
  Math.min(4000, Math.round(timeoutMs / 4));
export const HARD_KILL_GRACE_MS = 500;

/** The route that serves an archived artifact to a token holder. */
export const ARTIFACT_ROUTE = '/v1/artifacts/';
/** An artifact's name: its sha256 and extension (the archive is content-addressed). */
export const ARTIFACT_NAME = /^([0-9a-f]{64})\.(png|zip)$/;

/** Where an archived artifact is read back (linked from alerts and the dashboard). */
export const artifactPath = (a: BrowserArtifact): string =>
  `${ARTIFACT_ROUTE}${a.name}?bytes=${a.bytes}`;

const clip = (s: string): string => (s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT - 1)}…`);

/** The outcome of a finished child: cut to size, secrets scrubbed, artifacts attached. */
export const browserOutcome = (
  report: BrowserReport,
  secrets: readonly string[],
  artifacts: BrowserArtifact[],
): JudgedOutcome => {
  const scrub = (s: string) => clip(redactSecrets(String(s), secrets));
  const list = (items: readonly string[]) => items.slice(0, MAX_ITEMS).map(scrub);
  const failure = report.ok
    ? undefined
    : {
        assertion: scrub(report.failure?.assertion ?? 'script'),
        message: scrub(report.failure?.message ?? 'the check failed'),
        ...(report.failure?.step ? { step: scrub(report.failure.step) } : {}),
      };
  return judged(report.durationMs, failure, {
    steps: report.steps.slice(0, 50).map((s) => ({
      name: scrub(s.name),
      status: s.status,
      latencyMs: Math.max(0, s.latencyMs),
      ...(s.failure
        ? { failure: { assertion: scrub(s.failure.assertion), message: scrub(s.failure.message) } }
        : {}),
    })),
    ...(report.url ? { url: redactSecrets(report.url, secrets) } : {}),
    browser: {
      vitals: report.vitals,
      consoleErrors: list(report.consoleErrors),
      failedRequests: list(report.failedRequests),
    },
    ...(artifacts.length ? { artifacts } : {}),
    warnings: list(report.warnings ?? []),
  });
};

/**
 * The failure of a run killed from outside (no report): a timeout, naming the step the child
 * last said it was in (a page's text: cut to size and scrubbed like a report's).
 */
export const killedFailure = (
  timeoutMs: number,
  running: string | null | undefined,
  secrets: readonly string[],
): Failure & { step?: string } => {
  const killed = `the browser check was killed: no result within ${timeoutMs} ms`;
  if (!running) return { assertion: 'timeout', message: killed };
  const step = clip(redactSecrets(String(running), secrets));
  return { assertion: 'timeout', message: `step "${step}": ${killed}`, step };
};

/** A browser check that could not start (no Chromium, no runner): a configuration error. */
export const browserConfigError = (message: string): JudgedOutcome =>
  judged(0, { assertion: 'config', message });
