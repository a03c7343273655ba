import { createHash, randomUUID } from 'node:crypto';
import type { GateConfig, VigilConfig } from '../config';
import { gateConfigFor, quarantineFor, suppressionsFor } from '../config-access';
import { VigilError } from '../errors';
import { DETAIL_TYPES, MAX_EVENT_BYTES, MAX_FAILED_TESTS_IN_EVENT, SOURCES } from '../event-names';
import type { ArchivePointer, EventMetadata, Gate, VigilEvent } from '../events';
import { type FormatId, isFormat, type ParsedReport, parseReport } from '../formats';
import { evaluateGate, type GateContext } from '../gates/gate';
import { securityAnalysisFor } from '../gates/security';
import type { HistoryReader, RunKind, RunRecord } from '../history/types';
import { withJsonBytes } from '../json-bytes';
import { computePatch, unwrapPatch, withPatchCheck } from '../patch/ingest';
import type { PatchSummary } from '../patch/patch';
import { payloadSha256 } from '../payload-hash';
import type { Clock, EventPublisher, PayloadArchive, RunLedger } from '../ports';
import { canonicalProject } from '../project';
import { onlyKnown, wellFormedQuery } from '../query-params';
import { analyseSecurity } from '../security/analysis';
import { type SecurityAnswer, securityAnswer, securityEvent } from '../security/answer';
import { decodeText, decompress, refuseMultipart } from './body';
import { type Failures, failuresOf } from './failures';
import { conflictMessage, identityOf, type RunIdentity } from './identity';

/**
 * The ingest use case: validate, parse, gate, archive, publish, answer. Pure
 * orchestration over ports, shared by the Lambda handler and the local runtime.
 */

export interface IngestRequest {
  query: Readonly<Record<string, string | undefined>>;
  /** The query string as sent (still percent-encoded), to refuse values that are not UTF-8. */
  rawQuery?: string;
  /** Lent until `ingest` settles (local mode reuses the memory of large bodies). */
  body: Uint8Array;
  contentEncoding?: string;
  /** The Content-Type header: a multipart form upload is refused with a hint. */
  contentType?: string;
  correlationId: string;
  /** W3C trace context of the request's span, carried by the events (OpenTelemetry export on). */
  traceparent?: string;
}

export interface IngestDeps {
  config: VigilConfig;
  stage?: string;
  publisher: EventPublisher;
  archive: PayloadArchive;
  ledger: RunLedger;
  clock: Clock;
  /**
   * Run history, for the regression and coverage-drop checks. Without it (or when reading it
   * fails) those checks skip and say why: a history outage never fails an ingest.
   */
  history?: HistoryReader;
  /** Told about problems that must not fail the ingest (or an already published one). */
  warn?: (message: string, error: unknown) => void;
  /**
   * Runs a named synchronous step (report parsing), e.g. in an X-Ray subsegment. Keeps the
   * core free of tracing libraries. Default: just runs it.
   */
  trace?: <T>(name: string, fn: () => T) => T;
  /**
   * Told about each run once its events are out (not for duplicates), e.g. to export a test
   * run as a trace. Must not throw; a throw is reported to `warn` and ignored.
   */
  onAccepted?: (report: ParsedReport, metadata: EventMetadata) => void;
}

export interface IngestResult {
  runId: string;
  project: string;
  kind: ParsedReport['kind'];
  format: FormatId;
  dialect?: string;
  /** Coverage reports sent with their changed lines also get `patch` (core/patch). */
  summary: ParsedReport['summary'] & { patch?: PatchSummary };
  gate: Gate;
  warnings: string[];
  /** Test reports only: the failed and flaky tests, bounded (see `failuresOf`). */
  failures?: Failures;
  /** Security reports only: new and fixed findings, suppressions used and expired (bounded). */
  security?: SecurityAnswer;
  duplicate: boolean;
  correlationId: string;
}

export interface IngestResponse {
  status: 200 | 202;
  result: IngestResult;
}

export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const FREE_TEXT = /^[^\u0000-\u001f\u007f]{1,256}$/;

const param = (
  query: IngestRequest['query'],
  key: string,
  pattern: RegExp,
  rule: string,
): string | undefined => {
  const value = query[key];
  if (value === undefined || value === '') return undefined;
  if (!pattern.test(value))
    throw new VigilError('bad_request', `Query parameter "${key}" is invalid: ${rule}.`, {
      path: `query.${key}`,
    });
  return value;
};

const EXTENSIONS: Record<FormatId, string> = {
  junit: 'xml',
  cobertura: 'xml',
  lcov: 'info',
  jest: 'json',
  istanbul: 'json',
  k6: 'json',
  artillery: 'json',
  benchmark: 'json',
  playwright: 'json',
  'google-benchmark': 'json',
  gcovr: 'json',
  clover: 'xml',
  sonarqube: 'xml',
  jacoco: 'xml',
  trx: 'trx',
  'go-test': 'jsonl',
  'go-cover': 'txt',
  'go-bench': 'txt',
  sarif: 'sarif',
  zap: 'json',
  'npm-audit': 'json',
  trivy: 'json',
  grype: 'json',
};
const CONTENT_TYPES: Record<string, string> = {
  xml: 'application/xml',
  json: 'application/json',
  info: 'text/plain',
  trx: 'application/xml',
  jsonl: 'application/x-ndjson',
  txt: 'text/plain',
  sarif: 'application/sarif+json',
};

/**
 * The `Retry-After` (seconds) of the `409` for a run still being ingested: the client's retry
 * then finds it done (a duplicate) or released (ingested again). Not a content conflict.
 */
const IN_PROGRESS_RETRY_AFTER_S = 5;
/** Tries to record a published run as complete (the SDK retries each with backoff as well). */
const COMPLETE_ATTEMPTS = 3;

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

export interface RequestParams {
  project: string;
  format?: FormatId;
  suite?: string;
  branch?: string;
  /** Branch to compare with (regressions, coverage drop); default: the config's `defaultBranch`. */
  base?: string;
  commit?: string;
  ci?: string;
  runId?: string;
}

/** The query parameters `POST /v1/results` accepts; any other is refused (a typo loses data). */
export const INGEST_PARAMS = [
  'project',
  'format',
  'suite',
  'branch',
  'base',
  'commit',
  'ci',
  'runId',
  'patch',
  // A staged upload (POST /v1/uploads) read by the handler instead of the body.
  'upload',
] as const satisfies readonly (keyof RequestParams | 'patch' | 'upload')[];

export const readParams = (query: IngestRequest['query'], rawQuery?: string): RequestParams => {
  onlyKnown(query, INGEST_PARAMS);
  wellFormedQuery(query, rawQuery);
  if (!query.project)
    throw new VigilError(
      'bad_request',
      'Query parameter "project" is required, e.g. ?project=shop.',
      { path: 'query.project' },
    );
  const project = canonicalProject(query.project, 'query.project');
  const format = query.format || undefined;
  if (format !== undefined && !isFormat(format))
    throw new VigilError('unsupported_format', `Unknown format "${format.slice(0, 40)}".`, {
      path: 'query.format',
    });
  const text = 'printable text of at most 256 characters';
  return {
    project,
    format,
    suite: param(query, 'suite', FREE_TEXT, text),
    branch: param(query, 'branch', FREE_TEXT, text),
    base: param(query, 'base', FREE_TEXT, text),
    commit: param(
      query,
      'commit',
      /^[A-Za-z0-9._-]{1,128}$/,
      'a commit id (letters, digits, . _ -)',
    ),
    ci: param(query, 'ci', FREE_TEXT, text),
    runId: param(query, 'runId', RUN_ID, 'letters, digits, . _ : - (max 128)'),
  };
};

const fitsHalfTheBus = (event: VigilEvent): boolean =>
  Buffer.byteLength(JSON.stringify(event.detail)) <= MAX_EVENT_BYTES / 2;

/**
 * The event of `make` with the longest prefix of `items` that keeps it under half the bus limit
 * (binary search). The event then says how many there were; who needs them all reads the
 * normalized result (the history does).
 */
const withListBound = <T>(items: readonly T[], make: (kept: T[]) => VigilEvent): VigilEvent => {
  const whole = make([...items]);
  if (fitsHalfTheBus(whole)) return whole;
  let fits = 0;
  let over = items.length;
  while (over - fits > 1) {
    const mid = (fits + over) >> 1;
    if (fitsHalfTheBus(make(items.slice(0, mid)))) fits = mid;
    else over = mid;
  }
  return make(items.slice(0, fits));
};

/** Build the bus event for a parsed report, keeping it well under EventBridge's size limit. */
export const buildEvent = (
  report: ParsedReport,
  metadata: EventMetadata,
  gate: Gate,
): VigilEvent => {
  switch (report.kind) {
    case 'tests': {
      const failed = report.cases.filter((c) => c.status === 'failed');
      const flaky = report.cases.filter((c) => c.flaky);
      let keep = Math.min(failed.length, MAX_FAILED_TESTS_IN_EVENT);
      const make = (): VigilEvent => ({
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.testRun,
        detail: {
          metadata,
          summary: report.summary,
          gate,
          failedTests: failed.slice(0, keep).map(({ suite, classname, name, message }) => ({
            suite: suite.slice(0, 256),
            classname: classname.slice(0, 256),
            name: name.slice(0, 512),
            ...(message ? { message } : {}),
          })),
          failedTestsTruncated: keep < failed.length,
          flakyTests: flaky
            .slice(0, MAX_FAILED_TESTS_IN_EVENT)
            .map(({ suite, classname, name }) => ({
              suite: suite.slice(0, 256),
              classname: classname.slice(0, 256),
              name: name.slice(0, 512),
            })),
        },
      });
      let event = make();
      // Names are capped, so this loop only trims in pathological cases.
      while (keep > 0 && Buffer.byteLength(JSON.stringify(event.detail)) > MAX_EVENT_BYTES / 2) {
        keep = Math.floor(keep / 2);
        event = make();
      }
      return event;
    }
    case 'coverage':
      return {
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.coverage,
        detail: { metadata, summary: report.summary, gate },
      };
    case 'load': {
      const all = report.summary.thresholds;
      return withListBound(all, (thresholds) => ({
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.load,
        detail: {
          metadata,
          summary: {
            ...report.summary,
            latencyMs: { ...report.summary.latencyMs } as Record<string, number>,
            thresholds,
          },
          gate,
          ...(thresholds.length < all.length ? { thresholdsTotal: all.length } : {}),
        },
      }));
    }
    case 'benchmark': {
      const all = report.summary.benchmarks;
      return withListBound(all, (benchmarks) => ({
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.benchmark,
        detail: {
          metadata,
          summary: { benchmarks },
          gate,
          ...(benchmarks.length < all.length ? { benchmarksTotal: all.length } : {}),
        },
      }));
    }
    case 'security':
      // Without a base comparison (see `securityEvent` for the ingest's own event).
      return securityEvent(
        analyseSecurity({ report, suppressions: [], now: new Date(metadata.ingestedAt) }),
        metadata,
        gate,
      );
  }
};

const archiveKey = (project: string, runId: string, at: Date): string => {
  const day = at.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${project}/${day}/${runId}`;
};

/** Does this report's gate compare with earlier runs? (Saves a read when it does not.) */
const needsBaseline = (report: ParsedReport, cfg: GateConfig): boolean =>
  report.kind === 'load' ||
  report.kind === 'benchmark' ||
  report.kind === 'security' ||
  (report.kind === 'coverage' && cfg.maxCoverageDrop !== undefined);

/** How many times `baselineRuns` runs a benchmark baseline reads back at most. */
const BENCHMARK_BASELINE_SPAN = 10;

/** How many times `baselineRuns` runs the coverage drop reads back at most for the merge base. */
const MERGE_BASE_SPAN = 10;

type BenchmarkRun = Extract<RunRecord, { kind: 'benchmark' }>;

/** Does every named benchmark have `need` points in these runs? */
const everyHasPoints = (runs: readonly RunRecord[], names: Set<string>, need: number): boolean => {
  const have = new Map<string, number>();
  for (const r of runs)
    if (r.kind === 'benchmark')
      for (const b of new Set(r.summary.benchmarks.map((x) => x.name)))
        have.set(b, (have.get(b) ?? 0) + 1);
  return [...names].every((n) => (have.get(n) ?? 0) >= need);
};

/**
 * The baseline runs, newest first, each cut to the report's benchmarks that still lack `limit`
 * points: every benchmark gets its newest `limit` points (fewer when history has fewer), and
 * a run that adds none is left out.
 */
const newestPoints = (
  runs: readonly RunRecord[],
  names: Set<string>,
  limit: number,
): RunRecord[] => {
  const have = new Map<string, number>();
  const out: RunRecord[] = [];
  for (const r of runs) {
    if (r.kind !== 'benchmark') continue;
    const taken = new Set<string>();
    const benchmarks = r.summary.benchmarks.filter((b) => {
      if (!names.has(b.name)) return false;
      // A name repeated in one run is one point (the gate keeps its first entry).
      if (!taken.has(b.name)) {
        if ((have.get(b.name) ?? 0) >= limit) return false;
        taken.add(b.name);
        have.set(b.name, (have.get(b.name) ?? 0) + 1);
      }
      return true;
    });
    if (benchmarks.length > 0)
      out.push({ ...r, summary: { ...r.summary, benchmarks } } as BenchmarkRun);
  }
  return out;
};

/**
 * The base branch has no runs of this kind (and suite): a misspelt `base` passes every gate
 * with "0 earlier runs". Say which branches do have such runs (one page of the run list); no
 * note when none does (a project's first runs).
 */
const noBaseBranchRuns = async (
  kind: RunKind,
  params: RequestParams,
  baseBranch: string,
  runId: string,
  deps: IngestDeps,
): Promise<string | undefined> => {
  try {
    const page = await deps.history?.listRuns(params.project, {
      kind,
      suite: params.suite ?? null,
      limit: 50,
    });
    const branches = [
      ...new Set(
        (page?.items ?? [])
          .filter((r) => r.runId !== runId && r.branch && r.branch !== baseBranch)
          .map((r) => r.branch as string),
      ),
    ];
    if (branches.length === 0) return undefined;
    const shown = branches.slice(0, 5).map((b) => `"${b}"`);
    return `No ${kind} runs on base branch "${baseBranch}"${params.suite ? ` (suite ${params.suite})` : ''}, so nothing was compared: check --base (the base query parameter). Branches with such runs: ${shown.join(', ')}${branches.length > 5 ? ', …' : ''}.`;
  } catch (e) {
    deps.warn?.(`Could not list the ${kind} runs of ${params.project}`, e);
    return undefined;
  }
};

/**
 * The coverage baseline: the newest `limit` runs, and the run at the merge base (the commit
 * the change branched from) when it is older. Not among the runs read: one further read, up
 * to MERGE_BASE_SPAN × limit runs back; still not there, the drop compares with the latest.
 */
const withMergeBaseRun = async (
  runs: RunRecord[],
  more: boolean,
  limit: number,
  mergeBase: string | undefined,
  read: (n: number) => Promise<{ runs: RunRecord[] }>,
): Promise<RunRecord[]> => {
  const newest = runs.slice(0, limit);
  if (!mergeBase) return newest;
  const at = (rs: RunRecord[]) => rs.find((r) => r.commit === mergeBase);
  const found = at(runs) ?? (more ? at((await read(limit * MERGE_BASE_SPAN)).runs) : undefined);
  return found && !newest.includes(found) ? [...newest, found] : newest;
};

/**
 * What the gate needs from history and config: the baseline runs, quarantine, now. Notes for
 * the answer (a base branch without runs) go to `warnings`.
 */
const gateContext = async (
  report: ParsedReport,
  cfg: GateConfig,
  params: RequestParams,
  runId: string,
  now: Date,
  deps: IngestDeps,
  warnings: string[],
  mergeBase: string | undefined,
): Promise<GateContext> => {
  const baseBranch = params.base ?? deps.config.defaultBranch;
  const ctx: GateContext = {
    baseBranch,
    ...(params.suite ? { suite: params.suite } : {}),
    ...(mergeBase ? { mergeBase } : {}),
    quarantine: quarantineFor(deps.config, params.project),
    suppressions: suppressionsFor(deps.config, params.project),
    now,
    minBaselineRuns: deps.config.history.minBaselineRuns,
  };
  if (!needsBaseline(report, cfg)) return ctx;
  if (!deps.history) return { ...ctx, noHistory: 'run history is not configured' };
  const limit = deps.config.history.baselineRuns;
  const history = deps.history;
  const read = async (n: number): Promise<{ runs: RunRecord[]; more: boolean }> => {
    // One extra in case this very run is already recorded (a re-ingest after a lost answer).
    const got = await history.series(params.project, report.kind, params.suite, baseBranch, n + 1);
    return { runs: got.filter((r) => r.runId !== runId), more: got.length > n };
  };
  try {
    let { runs, more } = await read(limit);
    if (runs.length === 0) {
      const note = await noBaseBranchRuns(report.kind, params, baseBranch, runId, deps);
      if (note) warnings.push(note);
    }
    if (report.kind === 'coverage')
      return { ...ctx, baseline: await withMergeBaseRun(runs, more, limit, mergeBase, read) };
    if (report.kind !== 'benchmark') return { ...ctx, baseline: runs.slice(0, limit) };
    // Benchmarks: jobs of one project may post different benchmarks to the same series, so
    // `limit` runs can hold fewer than `limit` points of a benchmark. Read further back (once,
    // up to BENCHMARK_BASELINE_SPAN × limit runs) and keep each benchmark's newest `limit`.
    const names = new Set(report.summary.benchmarks.map((b) => b.name));
    if (more && !everyHasPoints(runs.slice(0, limit), names, limit))
      ({ runs } = await read(limit * BENCHMARK_BASELINE_SPAN));
    return { ...ctx, baseline: newestPoints(runs, names, limit) };
  } catch (e) {
    deps.warn?.(`Could not read the ${report.kind} baseline of ${params.project}`, e);
    return { ...ctx, noHistory: 'run history could not be read (see the ingest logs)' };
  }
};

export const ingest = async (req: IngestRequest, deps: IngestDeps): Promise<IngestResponse> => {
  const params = readParams(req.query, req.rawQuery);
  refuseMultipart(req.contentType);
  const body = decompress(req.body, req.contentEncoding, deps.config.ingest.maxBodyBytes);
  // `?patch=1`: the report comes with the change's lines (patch coverage, core/patch).
  const unwrapped = unwrapPatch(req.query, decodeText(body));
  const bytes = req.query.patch === '1' ? Buffer.from(unwrapped.text) : body;
  const trace = deps.trace ?? (<T>(_name: string, fn: () => T): T => fn());
  const report = trace(`parse ${params.format ?? 'auto'}`, () =>
    parseReport(unwrapped.text, params.format),
  );
  const patch = computePatch(report, unwrapped.text, unwrapped);
  const contentHash = payloadSha256(bytes);
  // The run's identity is its content and its metadata: the same bytes for another commit,
  // branch, suite or CI job are another run, never a duplicate.
  const identity: RunIdentity = identityOf(contentHash, params);
  const fingerprint = JSON.stringify(identity);
  const runId = params.runId ?? sha256(`${params.project}\n${fingerprint}`).slice(0, 32);
  const ledgerKey = `${params.project}#${runId}`;

  const received = deps.clock.now();
  const claim = await deps.ledger.claim(ledgerKey, fingerprint, received.getTime());
  if (claim.state === 'duplicate') {
    return {
      status: 200,
      result: {
        ...(claim.response as IngestResult),
        duplicate: true,
        correlationId: req.correlationId,
      },
    };
  }
  if (claim.state === 'conflict') {
    if (claim.reason === 'in_progress')
      throw new VigilError(
        'conflict',
        `Run "${runId}" is being ingested right now; retry in a few seconds.`,
        { path: 'query.runId' },
        { retryAfterSeconds: IN_PROGRESS_RETRY_AFTER_S },
      );
    throw conflictMessage(runId, identity, claim.fingerprint);
  }

  let result: IngestResult;
  let metadata: EventMetadata;
  // The body is lent (`ArchiveInput`): its write has settled before ingest returns or throws.
  let raw: Promise<ArchivePointer> | undefined;
  try {
    // A run taken over from an abandoned claim keeps that claim's time (see `LedgerClaim`).
    const now = claim.at === undefined ? received : new Date(claim.at);
    const key = archiveKey(params.project, runId, now);
    const common = {
      project: params.project,
      runId,
      correlationId: req.correlationId,
      format: report.format,
    };
    // ZAP's report may come as JSON or as its XML twin: the archive keeps what was sent.
    const ext =
      report.format === 'zap' && unwrapped.text.trimStart().startsWith('<')
        ? 'xml'
        : EXTENSIONS[report.format];
    // Both payloads are stored before the commit below (durability). The raw report is written
    // first, while the gate and the normalized result are computed: its write and flush overlap
    // that work, and the normalized result's, instead of adding up.
    raw = deps.archive.put({
      key: `${key}.${ext}`,
      body: bytes,
      contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
      sha256: contentHash,
      metadata: common,
    });
    // Awaited below; a failure before then must not also be reported as unhandled.
    raw.catch(() => undefined);
    const gateConfig: GateConfig = gateConfigFor(deps.config, params.project, deps.stage);
    const baseWarnings: string[] = [];
    const ctx = await gateContext(
      report,
      gateConfig,
      params,
      runId,
      now,
      deps,
      baseWarnings,
      unwrapped.changed?.base,
    );
    // Security: one analysis (new vs base, suppressions) for the gate, the answer and the event.
    const security =
      report.kind === 'security' ? securityAnalysisFor(report, gateConfig, ctx) : undefined;
    const gate = withPatchCheck(
      evaluateGate(report, gateConfig, security ? { ...ctx, security } : ctx),
      report,
      patch,
      gateConfig.minPatchCoverage,
    );
    // Lent bytes: withJsonBytes waits for this put to settle, whatever `raw` does meanwhile.
    const normalizedPut = withJsonBytes({ ...params, ...common, report, gate }, (body) =>
      deps.archive.put({
        key: `${key}.normalized.json`,
        body,
        contentType: 'application/json',
        sha256: payloadSha256(body),
        metadata: common,
      }),
    );
    const [archive, normalized]: [ArchivePointer, ArchivePointer] = await Promise.all([
      raw,
      normalizedPut,
    ]);
    metadata = {
      project: params.project,
      ...(params.suite ? { suite: params.suite } : {}),
      ...(params.branch ? { branch: params.branch } : {}),
      ...(params.commit ? { commit: params.commit } : {}),
      ...(params.ci ? { ci: params.ci } : {}),
      runId,
      correlationId: req.correlationId,
      format: report.format,
      ...(report.dialect ? { dialect: report.dialect } : {}),
      ingestedAt: now.toISOString(),
      archive,
      normalized,
      ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    };
    result = {
      runId,
      project: params.project,
      kind: report.kind,
      format: report.format,
      ...(report.dialect ? { dialect: report.dialect } : {}),
      summary: security
        ? security.summary
        : patch.patch
          ? { ...report.summary, patch: patch.patch }
          : report.summary,
      gate,
      warnings: [...report.warnings, ...unwrapped.warnings, ...baseWarnings],
      ...(report.kind === 'tests'
        ? { failures: failuresOf(report, quarantineFor(deps.config, params.project), now) }
        : {}),
      ...(security ? { security: securityAnswer(security) } : {}),
      duplicate: false,
      correlationId: req.correlationId,
    };
    const events = [
      security ? securityEvent(security, metadata, gate) : buildEvent(report, metadata, gate),
    ];
    if (deps.ledger.commit) {
      // The events and the completed claim in one transaction: nothing left to complete.
      await deps.ledger.commit(ledgerKey, fingerprint, result, events);
      accepted(deps, report, metadata);
      return { status: 202, result };
    }
    await deps.publisher.publish(events);
  } catch (e) {
    await raw?.catch(() => undefined);
    await deps.ledger.release(ledgerKey);
    throw e;
  }
  // The events are on the bus: from here on, failing the request would invite a retry
  // that counts the run twice. Until the entry is complete a retry gets 409, and once the
  // claim is stale it is retaken and the run published again: the consumers de-duplicate on
  // the run (project, run id, detail type; docs/architecture.md#delivery-guarantees-and-least-privilege),
  // and a few more tries here keep that rare.
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.ledger.complete(ledgerKey, fingerprint, result);
      break;
    } catch (e) {
      // A conflict (the entry is gone or not ours) cannot get better.
      if (attempt < COMPLETE_ATTEMPTS && !(e instanceof VigilError && e.code === 'conflict'))
        continue;
      deps.warn?.(`Could not record run ${ledgerKey} as complete`, e);
      break;
    }
  }
  accepted(deps, report, metadata);
  return { status: 202, result };
};

const accepted = (deps: IngestDeps, report: ParsedReport, metadata: EventMetadata): void => {
  try {
    deps.onAccepted?.(report, metadata);
  } catch (e) {
    deps.warn?.(`Could not report run ${metadata.runId} to onAccepted`, e);
  }
};

export const newCorrelationId = (): string => randomUUID();
