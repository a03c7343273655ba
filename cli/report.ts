import { createHash, randomUUID } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import { dirname, normalize, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  detectJsonFormat,
  detectTextFormat,
  formatOfXmlRoot,
  sniff,
} from '../functions/core/formats/detect';
import { looksLikeGoTestJson } from '../functions/core/formats/go-test';
import { FORMATS, type FormatId } from '../functions/core/formats/types';
import { type CiMetadata, detectCi } from './ci-env';
import { errorCommand } from './feedback/annotations';
import { type Delivered, deliveredOf, jsonLine, logLine } from './feedback/answer';
import { giveFeedback } from './feedback/index';
import { failureLines, patchLines } from './feedback/text';
import { type Git, gitHead, gitIn } from './git';
import { type ChangedLines, changedLines } from './patch';

/**
 * `vigil report`: upload CI reports (JUnit, Jest, Istanbul, LCOV, Cobertura, k6, Artillery,
 * benchmarks) to the Vigil ingest endpoint and turn the gate verdicts into an exit code.
 */

export interface ReportDeps {
  env: NodeJS.ProcessEnv;
  /** Receives whole lines, each ending in `\n` (wire to `process.stdout.write`). */
  stdout: (s: string) => void;
  /** Receives whole lines, each ending in `\n` (wire to `process.stderr.write`). */
  stderr: (s: string) => void;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  readFile?: (path: string) => Promise<Uint8Array>;
  /** In [0, 1); for backoff jitter. */
  random?: () => number;
  /** The checkout git is asked about (branch, commit, changed lines). Default `process.cwd()`. */
  cwd?: string;
  /** Asks git (tests answer themselves). Default: the `git` program in `cwd`. */
  git?: Git;
  /** Appends to the GitHub job summary file. */
  appendFile?: (path: string, text: string) => Promise<void>;
  /** Reports above this (after gzip) go through `POST /v1/uploads`. Default 4 MiB. */
  uploadThresholdBytes?: number;
}

/**
 * Above this a report is staged (`POST /v1/uploads`, PUT, then `POST /v1/results?upload=`): on
 * AWS a request to the ingest function takes at most 6 MB, and binary bodies travel base64.
 */
export const UPLOAD_THRESHOLD_BYTES = 4 * 1024 * 1024;

export const EXIT = {
  ok: 0,
  gateFailed: 1,
  usage: 2,
  rejected: 3,
  unreachable: 4,
} as const;

export const USAGE = `Usage: vigil report <files...> --endpoint URL --project P [options]

Uploads each report to {endpoint}/v1/results and prints the gate verdict.

Options:
  --endpoint URL        Vigil endpoint (env VIGIL_ENDPOINT)
  --project P           project name (env VIGIL_PROJECT)
  --format F            report format for every file: ${FORMATS.join(', ')}
                        (default: detected per file, else left to the server)
  --suite S             suite name
  --branch B            branch (default: from the CI environment)
  --base B              branch to compare benchmarks, load and coverage with (default: the
                        pull/merge request's target branch from the CI environment, else the
                        server's default branch); in a git checkout, coverage reports also
                        get patch coverage: the lines changed since the merge base with it
  --commit C            commit SHA (default: from the CI environment)
  --ci NAME             CI job name (default: from the CI environment)
  --run-id R            run id (default: derived from project, CI run, path and content;
                        with several files each gets the suffix -<index>)
  --allow-unreachable   warn instead of failing when the endpoint cannot be reached
  --json                print one JSON line per file instead of the summary
  --comment             create or update one pull/merge request comment per project and
                        suite with the results (GitHub: GITHUB_TOKEN; GitLab:
                        VIGIL_GITLAB_TOKEN)
  --status              set the commit status vigil/<project>[/<suite>] with the verdict
  --timeout-ms N        per-request timeout (default 30000)
  --retries N           retries after the first attempt on network errors, 429, 5xx and
                        a 409 with Retry-After (the run still being ingested) (default 3);
                        once a request runs out of them unanswered, the next requests get
                        one attempt each until one gets through
  -h, --help            show this help

The token is read from VIGIL_TOKEN only.

Exit codes: 0 gates passed or none, 1 a gate failed, 2 usage error or unreadable file,
3 a report was rejected (4xx), 4 endpoint unreachable, 5xx or still busy after retries.
`;

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const RETRY_AFTER_MAX_MS = 60_000;

interface Options {
  files: string[];
  url: URL;
  project: string;
  token: string;
  format?: FormatId;
  suite?: string;
  branch?: string;
  base?: string;
  /** The base came from --base (not from the CI's environment). */
  baseGiven?: boolean;
  commit?: string;
  ci?: string;
  runKey?: string;
  runId?: string;
  allowUnreachable: boolean;
  json: boolean;
  comment: boolean;
  status: boolean;
  timeoutMs: number;
  retries: number;
}

// ---------------------------------------------------------------------------------------------
// Arguments

const isFormat = (s: string): s is FormatId => (FORMATS as readonly string[]).includes(s);

const nonEmpty = (s: string | undefined): string | undefined => {
  const t = s?.trim();
  return t ? t : undefined;
};

const parseCount = (
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number | string => {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) return `${name} must be a whole number, got '${raw}'`;
  const n = Number(raw);
  if (n < min || n > max) return `${name} must be between ${min} and ${max}`;
  return n;
};

const endpointUrl = (raw: string): URL | string => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `endpoint '${raw}' is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `endpoint must be an http(s) URL, got ${url.protocol}`;
  if (url.username || url.password)
    return 'endpoint must not contain credentials; set VIGIL_TOKEN instead';
  if (url.search || url.hash) return 'endpoint must not contain a query or fragment';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/results`;
  return url;
};

type Parsed =
  | { kind: 'help' }
  | { kind: 'error'; problems: string[] }
  | { kind: 'ok'; options: Options };

const parse = (argv: string[], env: NodeJS.ProcessEnv): Parsed => {
  if (argv.some((a) => a === '--token' || a.startsWith('--token=')))
    return {
      kind: 'error',
      problems: ['--token is not accepted: put the token in the VIGIL_TOKEN environment variable'],
    };
  let values: {
    endpoint?: string;
    project?: string;
    format?: string;
    suite?: string;
    branch?: string;
    base?: string;
    commit?: string;
    ci?: string;
    'run-id'?: string;
    'allow-unreachable'?: boolean;
    json?: boolean;
    comment?: boolean;
    status?: boolean;
    'timeout-ms'?: string;
    retries?: string;
    help?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        endpoint: { type: 'string' },
        project: { type: 'string' },
        format: { type: 'string' },
        suite: { type: 'string' },
        branch: { type: 'string' },
        base: { type: 'string' },
        commit: { type: 'string' },
        ci: { type: 'string' },
        'run-id': { type: 'string' },
        'allow-unreachable': { type: 'boolean' },
        json: { type: 'boolean' },
        comment: { type: 'boolean' },
        status: { type: 'boolean' },
        'timeout-ms': { type: 'string' },
        retries: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return { kind: 'error', problems: [e instanceof Error ? e.message : String(e)] };
  }
  if (values.help) return { kind: 'help' };

  const problems: string[] = [];
  const files = positionals.filter((p) => p.length > 0);
  if (files.length === 0) problems.push('no report files given');

  const rawEndpoint = nonEmpty(values.endpoint) ?? nonEmpty(env.VIGIL_ENDPOINT);
  let url: URL | undefined;
  if (rawEndpoint === undefined)
    problems.push('no endpoint: pass --endpoint or set VIGIL_ENDPOINT');
  else {
    const u = endpointUrl(rawEndpoint);
    if (typeof u === 'string') problems.push(u);
    else url = u;
  }
  const project = nonEmpty(values.project) ?? nonEmpty(env.VIGIL_PROJECT);
  if (project === undefined) problems.push('no project: pass --project or set VIGIL_PROJECT');
  const token = nonEmpty(env.VIGIL_TOKEN);
  if (token === undefined) problems.push('no token: set the VIGIL_TOKEN environment variable');
  // fetch cannot send it, and would fail as if the endpoint were unreachable. Never echoed.
  else if (!/^[\x21-\x7e]+$/.test(token))
    problems.push(
      'VIGIL_TOKEN holds a character other than visible ASCII (a space, control, invisible or non-ASCII character): set it again',
    );

  let format: FormatId | undefined;
  const rawFormat = nonEmpty(values.format);
  if (rawFormat !== undefined) {
    if (isFormat(rawFormat)) format = rawFormat;
    else problems.push(`unknown --format '${rawFormat}'; expected one of ${FORMATS.join(', ')}`);
  }
  const timeoutMs = parseCount(
    values['timeout-ms'],
    '--timeout-ms',
    DEFAULT_TIMEOUT_MS,
    1,
    600_000,
  );
  if (typeof timeoutMs === 'string') problems.push(timeoutMs);
  const retries = parseCount(values.retries, '--retries', DEFAULT_RETRIES, 0, 10);
  if (typeof retries === 'string') problems.push(retries);

  if (
    problems.length > 0 ||
    url === undefined ||
    project === undefined ||
    token === undefined ||
    typeof timeoutMs === 'string' ||
    typeof retries === 'string'
  )
    return { kind: 'error', problems };

  const ci: CiMetadata = detectCi(env);
  return {
    kind: 'ok',
    options: {
      files,
      url,
      project,
      token,
      format,
      suite: nonEmpty(values.suite),
      branch: nonEmpty(values.branch) ?? ci.branch,
      base: nonEmpty(values.base) ?? ci.base,
      baseGiven: nonEmpty(values.base) !== undefined,
      commit: nonEmpty(values.commit) ?? ci.commit,
      ci: nonEmpty(values.ci) ?? ci.ci,
      runKey: ci.runKey,
      runId: nonEmpty(values['run-id']),
      allowUnreachable: values['allow-unreachable'] === true,
      json: values.json === true,
      comment: values.comment === true,
      status: values.status === true,
      timeoutMs,
      retries,
    },
  };
};

// ---------------------------------------------------------------------------------------------
// Files

const CONTENT_TYPE = {
  xml: 'application/xml',
  json: 'application/json',
  text: 'text/plain',
} as const;

const FORMAT_CONTENT_TYPE: Record<FormatId, string> = {
  junit: CONTENT_TYPE.xml,
  cobertura: CONTENT_TYPE.xml,
  jest: CONTENT_TYPE.json,
  istanbul: CONTENT_TYPE.json,
  k6: CONTENT_TYPE.json,
  artillery: CONTENT_TYPE.json,
  benchmark: CONTENT_TYPE.json,
  lcov: CONTENT_TYPE.text,
  playwright: CONTENT_TYPE.json,
  'google-benchmark': CONTENT_TYPE.json,
  gcovr: CONTENT_TYPE.json,
  clover: CONTENT_TYPE.xml,
  sonarqube: CONTENT_TYPE.xml,
  jacoco: CONTENT_TYPE.xml,
  trx: CONTENT_TYPE.xml,
  'go-test': CONTENT_TYPE.text,
  'go-cover': CONTENT_TYPE.text,
  'go-bench': CONTENT_TYPE.text,
  sarif: CONTENT_TYPE.json,
  zap: CONTENT_TYPE.json,
  'npm-audit': CONTENT_TYPE.json,
  trivy: CONTENT_TYPE.json,
  grype: CONTENT_TYPE.json,
};

const isGzip = (b: Uint8Array): boolean => b[0] === 0x1f && b[1] === 0x8b;

type Detected =
  | { format: FormatId; contentType: string; why?: undefined }
  /** `why`: why the format could not be recognised. */
  | { format?: undefined; contentType: string; why: string };

/** Client-side format detection with the same rules the server uses. */
export const detectReport = (text: string): Detected => {
  const sniffed = sniff(text);
  switch (sniffed.syntax) {
    case 'xml': {
      const format = formatOfXmlRoot(sniffed.root, text);
      return format
        ? { format, contentType: CONTENT_TYPE.xml }
        : { contentType: CONTENT_TYPE.xml, why: `unknown XML root <${sniffed.root ?? '?'}>` };
    }
    case 'json': {
      if (looksLikeGoTestJson(text)) return { format: 'go-test', contentType: CONTENT_TYPE.text };
      let doc: unknown;
      try {
        doc = JSON.parse(text.replace(/^\uFEFF/, ''));
      } catch {
        return { contentType: CONTENT_TYPE.json, why: 'not valid JSON' };
      }
      const format = detectJsonFormat(doc);
      return format
        ? { format, contentType: CONTENT_TYPE.json }
        : { contentType: CONTENT_TYPE.json, why: 'unrecognised JSON shape' };
    }
    case 'text': {
      const format = detectTextFormat(text);
      return format
        ? { format, contentType: CONTENT_TYPE.text }
        : { contentType: CONTENT_TYPE.text, why: 'unrecognised text' };
    }
    case 'html':
      return { contentType: CONTENT_TYPE.text, why: 'it is an HTML page, not a report' };
    case 'empty':
      return { contentType: CONTENT_TYPE.text, why: 'the file is empty' };
  }
};

const sha256hex = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

/**
 * Same project, CI run, path, content and metadata (suite, branch, commit, CI job) → same id,
 * so a retried upload dedupes on the server; a re-run job (new run key), new results (new
 * content) or the same file for another commit or branch get a new id (the server refuses a
 * reused id with other metadata).
 * `--base` is deliberately not an input: the id names the report, not what it is compared
 * with; re-sending the same report with another base is the same run (a duplicate, answered
 * with the verdict recorded the first time).
 */
export const deterministicRunId = (
  project: string,
  runKey: string | undefined,
  file: string,
  content: Uint8Array,
  metadata?: { suite?: string; branch?: string; commit?: string; ci?: string },
): string => {
  const parts = [project, runKey ?? '', normalizePath(file), sha256hex(content)];
  if (metadata)
    parts.push(
      metadata.suite ?? '',
      metadata.branch ?? '',
      metadata.commit ?? '',
      metadata.ci ?? '',
    );
  return sha256hex(parts.join('|')).slice(0, 32);
};

const normalizePath = (file: string): string => normalize(file).replaceAll('\\', '/');

// ---------------------------------------------------------------------------------------------
// HTTP

type AttemptResult =
  | { kind: 'response'; status: number; body: string; retryAfterMs?: number; location?: string }
  | { kind: 'network'; reason: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const describeNetworkError = (e: unknown, timeoutMs: number): string => {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return `no answer within ${timeoutMs} ms`;
    const cause = e.cause;
    if (isRecord(cause)) {
      const code = typeof cause.code === 'string' ? cause.code : undefined;
      const message = typeof cause.message === 'string' ? cause.message : undefined;
      if (code && message && !message.includes(code)) return `${code}: ${message}`;
      if (message) return message;
      if (code) return code;
    }
    return e.message;
  }
  return String(e);
};

const parseRetryAfter = (value: string | null, now: number): number | undefined => {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};

const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

/**
 * Worth another attempt: no answer, 429, 5xx, or a 409 with `Retry-After` (the same run is
 * still being ingested; a content conflict has no Retry-After and is a rejection).
 */
const isRetryable = (r: AttemptResult): boolean =>
  r.kind === 'network' ||
  isRetryableStatus(r.status) ||
  (r.status === 409 && r.retryAfterMs !== undefined);

interface ErrorBody {
  code?: string;
  message?: string;
  location?: Record<string, unknown>;
}

/** The body as a JSON object, or undefined when it is not one. */
const jsonObject = (body: string): Record<string, unknown> | undefined => {
  try {
    const doc: unknown = JSON.parse(body);
    return isRecord(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
};

const errorBody = (body: string): ErrorBody | undefined => {
  const doc = jsonObject(body);
  if (!doc) return undefined;
  // Vigil: { error: { code, message, location? } }; gateways: { message }.
  const err = isRecord(doc.error) ? doc.error : doc;
  const out: ErrorBody = {};
  if (typeof err.code === 'string') out.code = err.code;
  if (typeof err.message === 'string') out.message = err.message;
  if (isRecord(err.location)) out.location = err.location;
  return out.code || out.message ? out : undefined;
};

const snippet = (text: string): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
};

const describeLocation = (loc: Record<string, unknown> | undefined): string => {
  if (!loc) return '';
  const parts: string[] = [];
  for (const key of ['line', 'column', 'path', 'offset'] as const) {
    const v = loc[key];
    if (typeof v === 'number' || typeof v === 'string') parts.push(`${key} ${v}`);
  }
  return parts.length ? ` (at ${parts.join(', ')})` : '';
};

const describeHttpError = (status: number, body: string): { code?: string; text: string } => {
  const err = errorBody(body);
  const detail = err
    ? `${[err.code, err.message].filter(Boolean).join(': ')}${describeLocation(err.location)}`
    : snippet(body);
  return { code: err?.code, text: `HTTP ${status}${detail ? ` ${detail}` : ''}` };
};

const HINTS: Record<number, string> = {
  401: 'check that VIGIL_TOKEN is set to a valid token for this endpoint',
  403: 'check that VIGIL_TOKEN is set to a valid token for this endpoint',
  404: 'check --endpoint: it should be the base URL, without /v1/results',
  413: 'the report is larger than the server accepts',
  415: 'pass --format to name the report format',
};

// ---------------------------------------------------------------------------------------------
// Responses

type GateStatus = 'pass' | 'fail' | 'none';

interface IngestAnswer {
  runId: string;
  kind?: string;
  format?: string;
  summary: Record<string, unknown>;
  gate: { status: GateStatus; checks: Record<string, unknown>[] };
  warnings: string[];
  duplicate: boolean;
  raw: Record<string, unknown>;
}

const isGateStatus = (v: unknown): v is GateStatus => v === 'pass' || v === 'fail' || v === 'none';

/**
 * Vigil's answer, or undefined when the body is not one: a 2xx from a proxy or gateway
 * (`{}`, `{"message": "Endpoint request timed out"}`) must not pass for a verdict. Every string
 * in it goes through `redact` first: the answer feeds the job summary and the comment too.
 */
const readAnswer = (
  body: string,
  status: number,
  redact: (s: string) => string,
): IngestAnswer | undefined => {
  let doc: unknown;
  try {
    doc = JSON.parse(body, (_key, v: unknown) => (typeof v === 'string' ? redact(v) : v));
  } catch {
    return undefined;
  }
  // Every answer of Vigil's, a duplicate's too, has the run id and the gate.
  if (!isRecord(doc) || typeof doc.runId !== 'string' || !isRecord(doc.gate)) return undefined;
  const { gate } = doc;
  if (!isGateStatus(gate.status) || !Array.isArray(gate.checks)) return undefined;
  return {
    runId: doc.runId,
    kind: typeof doc.kind === 'string' ? doc.kind : undefined,
    format: typeof doc.format === 'string' ? doc.format : undefined,
    summary: isRecord(doc.summary) ? doc.summary : {},
    gate: { status: gate.status, checks: gate.checks.filter(isRecord) },
    warnings: Array.isArray(doc.warnings)
      ? doc.warnings.filter((w): w is string => typeof w === 'string')
      : [],
    duplicate: doc.duplicate === true || (doc.duplicate === undefined && status === 200),
    raw: doc,
  };
};

const num = (o: unknown, key: string): number | undefined => {
  if (!isRecord(o)) return undefined;
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};

const fmtNum = (n: number): string =>
  Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);

const fmtDuration = (ms: number): string =>
  ms < 1000
    ? `${fmtNum(ms)} ms`
    : ms < 120_000
      ? `${fmtNum(ms / 1000)} s`
      : `${fmtNum(ms / 60_000)} min`;

const summaryLines = (kind: string | undefined, s: Record<string, unknown>): string[] => {
  switch (kind) {
    case 'tests': {
      const parts = (['total', 'passed', 'failed', 'skipped', 'flaky'] as const)
        .map((k) => {
          const v = num(s, k);
          return v === undefined ? undefined : `${v} ${k}`;
        })
        .filter((p): p is string => p !== undefined);
      const d = num(s, 'durationMs');
      return [`tests: ${parts.join(', ')}${d === undefined ? '' : ` in ${fmtDuration(d)}`}`];
    }
    case 'coverage': {
      const parts = (['lines', 'branches', 'functions', 'statements'] as const)
        .map((k) => {
          const m = s[k];
          if (typeof m === 'object' && m !== null && (m as { pct?: unknown }).pct === null)
            return `${k} not measured`;
          const pct = num(m, 'pct');
          if (pct === undefined) return undefined;
          const covered = num(m, 'covered');
          const total = num(m, 'total');
          const counts =
            covered !== undefined && total !== undefined ? ` (${covered}/${total})` : '';
          return `${k} ${fmtNum(pct)}%${counts}`;
        })
        .filter((p): p is string => p !== undefined);
      return [`coverage: ${parts.join(', ')}`];
    }
    case 'load': {
      const requests = num(s, 'requests');
      const failed = num(s, 'failedRequests');
      const rate = num(s, 'errorRate');
      const parts: string[] = [];
      if (requests !== undefined)
        parts.push(`${requests} requests${failed === undefined ? '' : `, ${failed} failed`}`);
      if (rate !== undefined) parts.push(`${fmtNum(rate * 100)}% errors`);
      for (const p of ['p95', 'p99'] as const) {
        const v = num(s.latencyMs, p);
        if (v !== undefined) parts.push(`${p} ${fmtNum(v)} ms`);
      }
      const thresholds = Array.isArray(s.thresholds) ? s.thresholds.filter(isRecord) : [];
      if (thresholds.length > 0) {
        const passed = thresholds.filter((t) => t.passed === true).length;
        parts.push(`thresholds ${passed}/${thresholds.length} passed`);
      }
      const lines = [`load: ${parts.join(', ')}`];
      for (const t of thresholds)
        if (t.passed !== true) lines.push(`  ✖ threshold ${String(t.name ?? '?')}`);
      return lines;
    }
    case 'benchmark': {
      const list = Array.isArray(s.benchmarks) ? s.benchmarks.filter(isRecord) : [];
      const lines = [`benchmarks: ${list.length}`];
      for (const b of list.slice(0, 5)) {
        const value = num(b, 'value');
        const stddev = num(b, 'stddev');
        const samples = num(b, 'samples');
        const extra = [
          stddev === undefined ? undefined : `± ${fmtNum(stddev)}`,
          samples === undefined ? undefined : `n=${samples}`,
        ].filter((x): x is string => x !== undefined);
        lines.push(
          `  ${String(b.name ?? '?')}: ${value === undefined ? '?' : fmtNum(value)} ${String(b.unit ?? '')}${
            extra.length ? ` (${extra.join(', ')})` : ''
          }`.trimEnd(),
        );
      }
      if (list.length > 5) lines.push(`  … and ${list.length - 5} more`);
      return lines;
    }
    case 'security': {
      const by = isRecord(s.bySeverity) ? s.bySeverity : {};
      const severities = ['critical', 'high', 'medium', 'low', 'info']
        .map((k) => [k, num(by, k)] as const)
        .filter(([, n]) => n !== undefined && n > 0)
        .map(([k, n]) => `${n} ${k}`);
      const counts = (['new', 'fixed', 'suppressed'] as const)
        .map((k) => (num(s, k) === undefined ? undefined : `${num(s, k)} ${k}`))
        .filter((p): p is string => p !== undefined);
      return [
        `security: ${num(s, 'findings') ?? '?'} findings${severities.length ? ` (${severities.join(', ')})` : ''}${counts.length ? `; ${counts.join(', ')}` : ''}`,
      ];
    }
    default:
      return [];
  }
};

const CHECK_MARK: Record<string, string> = { pass: '✔', fail: '✖', skip: '–' };
const GATE_MARK: Record<GateStatus, string> = { pass: '✔', fail: '✖', none: '–' };

const checkLine = (c: Record<string, unknown>): string => {
  const status = typeof c.status === 'string' ? c.status : '?';
  const id = typeof c.id === 'string' ? c.id : 'check';
  const message = typeof c.message === 'string' && c.message ? c.message : undefined;
  const actual = typeof c.actual === 'number' ? c.actual : undefined;
  const threshold = typeof c.threshold === 'number' ? c.threshold : undefined;
  const figures =
    message === undefined && (actual !== undefined || threshold !== undefined)
      ? `actual ${actual ?? '-'}, threshold ${threshold ?? '-'}`
      : undefined;
  return `    ${CHECK_MARK[status] ?? '?'} ${id}: ${message ?? figures ?? status}`;
};

// ---------------------------------------------------------------------------------------------
// One file

type Outcome = 'accepted' | 'duplicate' | 'rejected' | 'unreachable' | 'unreadable';

interface FileResult {
  file: string;
  outcome: Outcome;
  exitCode: number;
  gate?: GateStatus;
  /** Unreachable, but --allow-unreachable said not to fail for it. */
  allowed?: boolean;
  /** What Vigil answered, for the feedback (summary, annotations, comment, status). */
  delivered?: Delivered;
  /** What went wrong, when the file got no verdict (for the `::error` annotation). */
  error?: string;
}

interface Context {
  options: Options;
  deps: Required<Pick<ReportDeps, 'sleep' | 'readFile' | 'random' | 'uploadThresholdBytes'>> & {
    fetch: typeof fetch;
  };
  out: (line: string) => void;
  err: (line: string) => void;
  /** Masks the token in text that is not printed through `out`/`err` (summary, comment). */
  redact: (s: string) => string;
  /** The change's lines for patch coverage, computed on the first coverage report. */
  patch: (file: string) => Promise<ChangedLines | undefined>;
  /** Formats already warned about having no patch coverage. */
  noPatchWarned: Set<FormatId>;
  /**
   * The last request ran out of retries without an answer (no connection, 429, 5xx): the next
   * ones get one attempt each, so that a blackholed endpoint costs one cycle, not one per file.
   */
  down: boolean;
}

/** Formats with per-line data (Istanbul: coverage-final.json; the server says if not). */
const PATCH_FORMATS: readonly (FormatId | undefined)[] = [
  'lcov',
  'cobertura',
  'istanbul',
  'sonarqube',
  'clover',
  'jacoco',
  'go-cover',
];

/** Coverage formats Vigil does not read line by line: what to send instead for patch coverage. */
const NO_PATCH_FORMATS: Partial<Record<FormatId, string>> = {
  gcovr: 'write it with gcovr --cobertura or --lcov instead',
};

/** The server's default limit on a body, before and after gunzip (`ingest.maxBodyBytes`). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** The most files the server reads in the changed lines. */
export const MAX_PATCH_FILES = 20_000;

/** The file names (last path segment) a coverage report lists, roughly: for narrowing a diff. */
const reportFileNames = (text: string): Set<string> => {
  const names = new Set<string>();
  const patterns = [/^SF:(.+)$/gm, /\bfilename="([^"]+)"/g, /"path"\s*:\s*"((?:[^"\\]|\\.)+)"/g];
  for (const re of patterns)
    for (const m of text.matchAll(re)) {
      const name = (m[1] ?? '').trim().split(/[\\/]/).pop();
      if (name) names.add(name);
    }
  return names;
};

/**
 * The changed lines to send with `text`, and the body that carries both: over `max.files`
 * changed files, only those whose names the report lists (the others cannot be covered); still
 * over, none. The report is never lost for its patch: when only the wrapped body passes
 * `max.bytes` (JSON escapes the report's newlines), the report goes alone.
 */
export const fitPatch = <P extends { files: readonly { path: string }[] }>(
  patch: P,
  text: string,
  max = { files: MAX_PATCH_FILES, bytes: MAX_BODY_BYTES },
): { patch?: P; envelope?: Buffer; warning?: string } => {
  let fitted = patch;
  if (patch.files.length > max.files) {
    const names = reportFileNames(text);
    const listed = patch.files.filter((f) => names.has(f.path.split('/').pop() ?? ''));
    if (listed.length > max.files)
      return {
        warning: `${listed.length} changed files are in the report, more than the ${max.files} Vigil reads; no patch coverage`,
      };
    fitted = { ...patch, files: listed };
  }
  const envelope = Buffer.from(JSON.stringify({ report: text, patch: fitted }));
  if (envelope.byteLength > max.bytes && Buffer.byteLength(text) <= max.bytes)
    return {
      warning: `with the changed lines the body would be ${envelope.byteLength} bytes, over the server's limit of ${max.bytes}; sending the report without them (no patch coverage)`,
    };
  return { patch: fitted, envelope };
};

/**
 * `changedLines` once, with its warning printed once; undefined without a base. Outside a git
 * checkout, git runs again in the first report's directory (`gitFor`), when there is one.
 * Quiet only when there is no repository at all and the base did not come from --base.
 */
const patchOnce = (
  git: Git,
  base: string | undefined,
  err: (line: string) => void,
  opts: { explicitBase: boolean; gitFor?: (dir: string) => Git; cwd: string },
): ((file: string) => Promise<ChangedLines | undefined>) => {
  let result: Promise<ChangedLines | undefined> | undefined;
  return (file) => {
    result ??= (async () => {
      if (base === undefined) return undefined;
      let outcome = await changedLines(git, base);
      if (!outcome.ok && outcome.notRepo && opts.gitFor) {
        const there = await changedLines(opts.gitFor(dirname(resolve(opts.cwd, file))), base);
        if (there.ok || !there.notRepo) {
          // Where the CLI ran is outside the checkout: there is no prefix to tell.
          if (there.ok) delete there.changed.prefix;
          outcome = there;
        }
      }
      if (outcome.ok) {
        if (outcome.note) err(`⚠ patch coverage: ${outcome.note}`);
        return outcome.changed;
      }
      if (!outcome.notRepo || opts.explicitBase) err(`⚠ patch coverage: ${outcome.warning}`);
      return undefined;
    })();
    return result;
  };
};

const send = async (
  ctx: Context,
  url: URL | string,
  headers: Record<string, string>,
  body: Uint8Array,
  file: string,
  method: 'POST' | 'PUT' = 'POST',
): Promise<{ result: AttemptResult; attempts: number }> => {
  const { options, deps } = ctx;
  const maxAttempts = ctx.down ? 1 : options.retries + 1;
  if (ctx.down && options.retries > 0)
    ctx.err(`${file}: one attempt only: the previous request found the endpoint unreachable`);
  for (let attempt = 1; ; attempt++) {
    let result: AttemptResult;
    try {
      const res = await deps.fetch(url, {
        method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await res.text();
      result = {
        kind: 'response',
        status: res.status,
        body: text,
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), Date.now()),
        location: res.headers.get('location') ?? undefined,
      };
    } catch (e) {
      result = { kind: 'network', reason: describeNetworkError(e, options.timeoutMs) };
    }
    if (!isRetryable(result) || attempt >= maxAttempts) {
      // A run still being ingested (409) is that run's business, not the endpoint's.
      ctx.down = result.kind === 'network' || isRetryableStatus(result.status);
      return { result, attempts: attempt };
    }

    const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    let wait = Math.round(exp / 2 + deps.random() * (exp / 2));
    if (result.kind === 'response' && result.retryAfterMs !== undefined)
      wait = Math.max(wait, Math.min(result.retryAfterMs, RETRY_AFTER_MAX_MS));
    const why =
      result.kind === 'network'
        ? result.reason
        : describeHttpError(result.status, result.body).text;
    ctx.err(
      `${file}: attempt ${attempt} of ${maxAttempts} failed (${why}); retrying in ${fmtDuration(wait)}`,
    );
    await deps.sleep(wait);
  }
};

/** The headers of a report's POST to /v1/results. */
interface IngestHeaders extends Record<string, string> {
  authorization: string;
  'content-encoding': string;
  'content-type': string;
  'x-correlation-id': string;
}

interface UploadTicket {
  uploadId: string;
  url: string;
  headers: Record<string, string>;
}

const isTicket = (v: unknown): v is UploadTicket =>
  isRecord(v) &&
  typeof v.uploadId === 'string' &&
  typeof v.url === 'string' &&
  isRecord(v.headers) &&
  Object.values(v.headers).every((h) => typeof h === 'string');

/**
 * A large report in three steps: ask for an upload URL, PUT the gzipped report there, then
 * ingest it by id. A failed step answers like a failed direct post (same retries and errors).
 */
const sendStaged = async (
  ctx: Context,
  resultsUrl: URL,
  headers: IngestHeaders,
  body: Uint8Array,
  file: string,
): Promise<{ result: AttemptResult; attempts: number }> => {
  const uploadsUrl = new URL(resultsUrl);
  uploadsUrl.pathname = uploadsUrl.pathname.replace(/results$/, 'uploads');
  uploadsUrl.search = '';
  const request = JSON.stringify({ bytes: body.byteLength, contentType: 'application/gzip' });
  const staged = await send(
    ctx,
    uploadsUrl,
    {
      authorization: headers.authorization,
      'content-type': 'application/json',
      'x-correlation-id': headers['x-correlation-id'],
    },
    Buffer.from(request),
    file,
  );
  if (staged.result.kind !== 'response' || staged.result.status !== 201) return staged;
  const ticket = jsonObject(staged.result.body);
  if (!isTicket(ticket))
    return {
      result: {
        kind: 'network',
        reason: `POST /v1/uploads answered no upload ticket: ${snippet(staged.result.body) || '(empty body)'}`,
      },
      attempts: staged.attempts,
    };
  const put = await send(ctx, ticket.url, ticket.headers, body, file, 'PUT');
  // The URL takes one PUT (S3's If-None-Match: *): a 412 after a retry means an earlier
  // attempt stored the report and only its answer was lost.
  const storedBefore =
    put.attempts > 1 && put.result.kind === 'response' && put.result.status === 412;
  if (!storedBefore && (put.result.kind !== 'response' || put.result.status >= 300)) return put;
  const ingestUrl = new URL(resultsUrl);
  ingestUrl.searchParams.set('upload', ticket.uploadId);
  const { 'content-encoding': _gzip, ...rest } = headers;
  return send(ctx, ingestUrl, rest, new Uint8Array(), file);
};

const reportFile = async (ctx: Context, file: string, index: number): Promise<FileResult> => {
  const { options, deps } = ctx;
  const correlationId = randomUUID();

  let content: Uint8Array;
  try {
    content = await deps.readFile(file);
  } catch (e) {
    const code = isRecord(e) && typeof e.code === 'string' ? e.code : undefined;
    const reason = code ?? (e instanceof Error ? e.message : String(e));
    // A glob the shell (or the Action) left as written matched nothing: say that, not ENOENT.
    const message =
      code === 'ENOENT'
        ? /[*?]/.test(file)
          ? `no file matches the pattern ${file}`
          : `no such file: ${file} (ENOENT)`
        : `cannot read ${file}: ${reason}`;
    ctx.err(`✖ ${message}`);
    if (options.json)
      ctx.out(
        jsonLine({
          file,
          outcome: 'unreadable',
          exitCode: EXIT.usage,
          error: { code: 'unreadable', message },
        }),
      );
    return { file, outcome: 'unreadable', exitCode: EXIT.usage, error: message };
  }

  // A report that is already gzipped is sent as is; detection looks inside it.
  const alreadyGzipped = isGzip(content);
  let text = '';
  let badGzip: string | undefined;
  try {
    text = Buffer.from(alreadyGzipped ? gunzipSync(content) : content).toString('utf8');
  } catch (e) {
    // corrupt gzip: say so, and leave the verdict to the server
    badGzip = e instanceof Error ? e.message : String(e);
  }
  const detected: Detected =
    badGzip === undefined
      ? detectReport(text)
      : {
          contentType: CONTENT_TYPE.text,
          why: `the gzip data is invalid or truncated: ${badGzip}`,
        };
  const format = options.format ?? detected.format;
  // A named format that the content confirms keeps the detected type (ZAP's XML twin is XML).
  const contentType =
    options.format && options.format !== detected.format
      ? FORMAT_CONTENT_TYPE[options.format]
      : detected.contentType;
  if (options.format === undefined && detected.format === undefined)
    ctx.err(
      `⚠ ${file}: format not recognised here (${detected.why}); sending it anyway and letting the server decide (use --format to name it)`,
    );
  else if (options.format && detected.format && detected.format !== options.format)
    ctx.err(`⚠ ${file}: looks like ${detected.format}, but --format ${options.format} was given`);

  const runId =
    options.runId === undefined
      ? deterministicRunId(options.project, options.runKey, file, content, options)
      : options.files.length > 1
        ? `${options.runId}-${index}`
        : options.runId;

  // A coverage report goes with the change's lines (patch coverage), in a JSON envelope.
  const patch = text && PATCH_FORMATS.includes(format) ? await ctx.patch(file) : undefined;
  if (
    format &&
    options.base !== undefined &&
    NO_PATCH_FORMATS[format] &&
    !ctx.noPatchWarned.has(format)
  ) {
    ctx.noPatchWarned.add(format);
    ctx.err(
      `⚠ patch coverage: ${format} reports are not read line by line by Vigil; no patch coverage (${NO_PATCH_FORMATS[format]})`,
    );
  }
  let envelope: Buffer | undefined;
  if (patch) {
    const fitted = fitPatch(patch, text);
    if (fitted.warning) ctx.err(`⚠ patch coverage: ${file}: ${fitted.warning}`);
    envelope = fitted.envelope;
  }
  const post = (withPatch: boolean) => {
    const url = new URL(options.url);
    const query: [string, string | undefined][] = [
      ['project', options.project],
      ['format', format],
      ['suite', options.suite],
      ['branch', options.branch],
      // Only when known: otherwise the server compares with its configured default branch.
      ['base', options.base],
      ['commit', options.commit],
      ['runId', runId],
      ['ci', options.ci],
      ['patch', withPatch ? '1' : undefined],
    ];
    for (const [key, value] of query) if (value !== undefined) url.searchParams.set(key, value);
    const headers: IngestHeaders = {
      authorization: `Bearer ${options.token}`,
      'content-encoding': 'gzip',
      'content-type': withPatch ? CONTENT_TYPE.json : contentType,
      'x-correlation-id': correlationId,
    };
    const body =
      withPatch && envelope ? gzipSync(envelope) : alreadyGzipped ? content : gzipSync(content);
    return body.byteLength > ctx.deps.uploadThresholdBytes
      ? sendStaged(ctx, url, headers, body, file)
      : send(ctx, url, headers, body, file);
  };
  let { result, attempts } = await post(envelope !== undefined);
  if (envelope && result.kind === 'response' && result.status === 413) {
    // A server with a lower limit than the CLI knows: the report is not lost for its patch.
    ctx.err(
      `⚠ patch coverage: ${file}: the server refused the report with its changed lines as too large (HTTP 413); sending it without them (no patch coverage)`,
    );
    const again = await post(false);
    result = again.result;
    attempts += again.attempts;
  }

  const common = { file, correlationId, runId, format: format ?? null, attempts };

  // Endpoint unreachable, or still failing (or busy with the same run) after the retries.
  if (result.kind === 'network' || isRetryable(result)) {
    const why =
      result.kind === 'network'
        ? result.reason
        : describeHttpError(result.status, result.body).text;
    const what =
      result.kind === 'response' && result.status === 409
        ? 'still being ingested'
        : 'endpoint unreachable';
    const message = `${what} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${why}`;
    const allowed = options.allowUnreachable;
    if (allowed) {
      ctx.err('');
      ctx.err('!!! ================================================================ !!!');
      ctx.err(`!!! WARNING: ${file} was NOT recorded by Vigil`);
      ctx.err(`!!! ${message}`);
      ctx.err('!!! Not failing because --allow-unreachable is set.');
      ctx.err(`!!! correlation id ${correlationId}`);
      ctx.err('!!! ================================================================ !!!');
      ctx.err('');
    } else ctx.err(`✖ ${file}: ${message} (correlation id ${correlationId})`);
    if (options.json)
      ctx.out(
        jsonLine({
          ...common,
          outcome: 'unreachable',
          exitCode: allowed ? EXIT.ok : EXIT.unreachable,
          allowed,
          ...(result.kind === 'response' ? { status: result.status } : {}),
          error: {
            code:
              result.kind === 'response'
                ? (errorBody(result.body)?.code ?? `http_${result.status}`)
                : 'unreachable',
            message,
          },
        }),
      );
    return {
      file,
      outcome: 'unreachable',
      exitCode: allowed ? EXIT.ok : EXIT.unreachable,
      allowed,
      error: `${file}: ${message}`,
    };
  }
  const { status } = result;
  if (status < 200 || status >= 300) {
    const described = describeHttpError(status, result.body);
    let message = `rejected by the server: ${described.text}`;
    if (status >= 300 && status < 400)
      message = `the endpoint redirected (HTTP ${status}${result.location ? ` to ${result.location}` : ''}); use the final URL as --endpoint`;
    const hint = HINTS[status];
    ctx.err(`✖ ${file}: ${message} (correlation id ${correlationId})`);
    if (hint) ctx.err(`  hint: ${hint}`);
    if (options.json) {
      const err = errorBody(result.body);
      ctx.out(
        jsonLine({
          ...common,
          outcome: 'rejected',
          exitCode: EXIT.rejected,
          status,
          error: {
            code: err?.code ?? `http_${status}`,
            message: err?.message ?? message,
            ...(err?.location ? { location: err.location } : {}),
          },
        }),
      );
    }
    return { file, outcome: 'rejected', exitCode: EXIT.rejected, error: `${file}: ${message}` };
  }

  const answer = readAnswer(result.body, status, ctx.redact);
  if (!answer) {
    // Accepted (2xx) but the answer is not Vigil's: a proxy, or the wrong endpoint.
    const message = `unexpected answer to HTTP ${status}: ${snippet(result.body) || '(empty body)'}`;
    const allowed = options.allowUnreachable;
    ctx.err(
      `${allowed ? '⚠' : '✖'} ${file}: ${message} (correlation id ${correlationId})${allowed ? '; not failing because --allow-unreachable is set' : ''}`,
    );
    if (options.json)
      ctx.out(
        jsonLine({
          ...common,
          outcome: 'unreachable',
          exitCode: allowed ? EXIT.ok : EXIT.unreachable,
          allowed,
          status,
          error: { code: 'bad_response', message },
        }),
      );
    return {
      file,
      outcome: 'unreachable',
      exitCode: allowed ? EXIT.ok : EXIT.unreachable,
      allowed,
      error: `${file}: ${message}`,
    };
  }

  const outcome: Outcome = answer.duplicate ? 'duplicate' : 'accepted';
  const exitCode = answer.gate.status === 'fail' ? EXIT.gateFailed : EXIT.ok;
  const delivered = deliveredOf(file, answer.raw);
  if (options.json) {
    ctx.out(jsonLine({ ...common, outcome, exitCode, status, response: answer.raw }));
  } else {
    const what = [answer.format ?? format ?? 'unknown format', answer.kind].filter(Boolean);
    const tags = [`run ${answer.runId}`];
    if (answer.duplicate) tags.push('duplicate: already recorded');
    ctx.out(`${GATE_MARK[answer.gate.status]} ${file}: ${what.join(' → ')} [${tags.join(', ')}]`);
    for (const line of summaryLines(answer.kind, answer.summary)) ctx.out(`  ${line}`);
    for (const line of [...failureLines(delivered), ...patchLines(delivered)]) ctx.out(`  ${line}`);
    for (const w of answer.warnings) ctx.out(`  ⚠ ${w}`);
    if (answer.gate.status === 'none' && answer.gate.checks.length === 0) ctx.out('  gate: none');
    else {
      ctx.out(`  gate: ${answer.gate.status}`);
      for (const c of answer.gate.checks) ctx.out(checkLine(c));
    }
  }
  return { file, outcome, exitCode, gate: answer.gate.status, delivered };
};

// ---------------------------------------------------------------------------------------------
// Command

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const verdictLine = (results: FileResult[], code: number): string => {
  const count = (pred: (r: FileResult) => boolean): number => results.filter(pred).length;
  const parts: string[] = [];
  const passed = count((r) => r.gate === 'pass');
  const failed = count((r) => r.gate === 'fail');
  const none = count((r) => r.gate === 'none');
  const rejected = count((r) => r.outcome === 'rejected');
  const unreachable = count((r) => r.outcome === 'unreachable' && !r.allowed);
  const allowed = count((r) => r.outcome === 'unreachable' && r.allowed === true);
  const unreadable = count((r) => r.outcome === 'unreadable');
  if (failed) parts.push(`${failed} gate${failed === 1 ? '' : 's'} failed`);
  if (passed) parts.push(`${passed} passed`);
  if (none) parts.push(`${none} without gate`);
  if (rejected) parts.push(`${rejected} rejected`);
  if (unreachable) parts.push(`${unreachable} not delivered`);
  if (allowed) parts.push(`${allowed} not delivered (allowed)`);
  if (unreadable) parts.push(`${unreadable} unreadable`);
  const label: Record<number, string> = {
    [EXIT.ok]: allowed ? '✔ PASS (with undelivered reports)' : '✔ PASS',
    [EXIT.gateFailed]: '✖ FAIL: gate failed',
    [EXIT.usage]: '✖ ERROR: unreadable report file',
    [EXIT.rejected]: '✖ ERROR: report rejected by the server',
    [EXIT.unreachable]: '✖ ERROR: Vigil endpoint unreachable',
  };
  return `Vigil verdict: ${label[code] ?? `exit ${code}`} (${plural(results.length, 'report')}: ${parts.join(', ')})`;
};

const PROBLEM: Record<Outcome, string> = {
  accepted: 'accepted',
  duplicate: 'already recorded',
  rejected: 'rejected by Vigil (see the job log)',
  unreachable: 'not delivered: Vigil was unreachable',
  unreadable: 'could not be read',
};

/** Replace every occurrence of the secret, in case anything ever echoes it. */
const redactor = (secret: string | undefined) => (s: string) =>
  secret ? s.split(secret).join('***') : s;

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '[::1]' || host.startsWith('127.');

export const runReport = async (argv: string[], deps: ReportDeps): Promise<number> => {
  const redact = redactor(nonEmpty(deps.env.VIGIL_TOKEN));
  // Every line goes through logLine: what it quotes from the report, the server's answer or an
  // error cannot break the line, steer the terminal or become a workflow command.
  const out = (line: string) => deps.stdout(`${redact(logLine(line))}\n`);
  const err = (line: string) => deps.stderr(`${redact(logLine(line))}\n`);
  // The CLI's own workflow commands (annotations): built escaped, printed as they are.
  const command = (line: string) => deps.stdout(`${redact(line)}\n`);

  const parsed = parse(argv, deps.env);
  if (parsed.kind === 'help') {
    deps.stdout(USAGE);
    return EXIT.ok;
  }
  // On GitHub Actions, a run that ends without a verdict (exit 2, 3 or 4) says why in one
  // `::error` annotation: without it the step only shows "exit code 2" (a failed gate has its
  // own annotations). With --json, stdout carries only JSON lines: it goes to stderr then.
  const onGitHub = deps.env.GITHUB_ACTIONS === 'true';
  const errorAnnotation = (message: string, json: boolean) => {
    if (!onGitHub) return;
    const line = `${errorCommand('Vigil', redact(message))}\n`;
    if (json) deps.stderr(line);
    else deps.stdout(line);
  };

  if (parsed.kind === 'error') {
    for (const p of parsed.problems) err(`vigil report: ${p}`);
    err('');
    deps.stderr(USAGE);
    errorAnnotation(`vigil report: ${parsed.problems.join('; ')}`, argv.includes('--json'));
    return EXIT.usage;
  }
  const { options } = parsed;
  // Outside CI (or where CI does not say), the checkout knows the branch and commit.
  const git = deps.git ?? gitIn(deps.cwd ?? process.cwd(), deps.env);
  if (options.branch === undefined || options.commit === undefined) {
    const head = await gitHead(git);
    options.branch ??= head.branch;
    options.commit ??= head.commit;
  }
  const ctx: Context = {
    options,
    deps: {
      fetch: deps.fetch ?? globalThis.fetch,
      sleep: deps.sleep ?? ((ms) => delay(ms)),
      readFile: deps.readFile ?? ((p) => fsReadFile(p)),
      random: deps.random ?? Math.random,
      uploadThresholdBytes: deps.uploadThresholdBytes ?? UPLOAD_THRESHOLD_BYTES,
    },
    out,
    err,
    redact,
    patch: patchOnce(git, options.base, err, {
      explicitBase: options.baseGiven === true,
      cwd: deps.cwd ?? process.cwd(),
      ...(deps.git ? {} : { gitFor: (dir: string) => gitIn(dir, deps.env) }),
    }),
    noPatchWarned: new Set(),
    down: false,
  };

  if (options.url.protocol === 'http:' && !isLoopback(options.url.hostname))
    err(`⚠ ${options.url.host} is plain HTTP: the token is sent unencrypted`);

  if (!options.json) {
    const meta = [
      options.branch && `branch ${options.branch}`,
      options.base && `base ${options.base}`,
      options.commit && `commit ${options.commit.slice(0, 12)}`,
      options.ci && `ci ${options.ci}`,
    ].filter(Boolean);
    out(
      `Vigil: sending ${plural(options.files.length, 'report')} to ${options.url.origin}${options.url.pathname} for project ${options.project}${meta.length ? ` (${meta.join(', ')})` : ''}`,
    );
  }

  const results: FileResult[] = [];
  for (const [index, file] of options.files.entries())
    results.push(await reportFile(ctx, file, index));

  const code = Math.max(EXIT.ok, ...results.map((r) => r.exitCode));
  if (!options.json) out(verdictLine(results, code));
  if (code >= EXIT.usage) {
    const errors = results.flatMap((r) => (r.exitCode >= EXIT.usage && r.error ? [r.error] : []));
    const head = errors.length === 1 ? '' : `${plural(errors.length, 'report')} got no verdict: `;
    errorAnnotation(`${head}${errors.join('; ')}`, options.json);
  }
  await giveFeedback(
    {
      project: options.project,
      suite: options.suite,
      commit: options.commit,
      endpoint: options.url.href.replace(/\/v1\/results$/, ''),
      delivered: results.flatMap((r) => (r.delivered ? [r.delivered] : [])),
      problems: results
        .filter((r) => r.delivered === undefined)
        .map((r) => `${r.file}: ${PROBLEM[r.outcome]}`),
      allowedUnreachable: results.filter((r) => r.delivered === undefined && r.allowed).length,
    },
    { comment: options.comment, status: options.status, annotations: !options.json },
    // With --json, stdout carries only the JSON lines: what feedback reports goes to stderr.
    {
      env: deps.env,
      fetch: ctx.deps.fetch,
      appendFile: deps.appendFile,
      out: options.json ? err : out,
      err,
      command,
    },
  );
  return code;
};
