import type { VigilConfig } from '../config';
import { alertBranches, historyRetentionDays, quarantineFor } from '../config-access';
import { VigilError } from '../errors';
import { DETAIL_TYPES, SOURCES } from '../event-names';
import type { KnownEvent, TestFlakyDetail } from '../events';
import type { TestCase } from '../formats/types';
import { mapLimit } from '../pool';
import type { ArchiveReader, Clock, EventPublisher } from '../ports';
import { securityRunSummary } from '../security/analysis';
import type * as z from '../zod-mini';
import { evaluateFlaky, noticeDue, withOutcome } from './flaky';
import type { caseSchema, normalizedSchema } from './normalized-schema';
import { findQuarantine } from './quarantine';
import {
  type FlakyState,
  type HistoryStore,
  type RunRecord,
  type TestOutcome,
  type TestRecord,
  testId,
} from './types';

/**
 * The history use case: record every ingested run, append each test's outcome to its window,
 * and announce tests that became flaky (`Test Flaky Detected`).
 *
 * Cost per test run: one `putRun`, one batched read per `READ_BATCH` tests (the store's
 * `testBatch` when it says), one conditional write per test (a full 30-outcome record is ~6 KB
 * of JSON, ~2 KB as the DynamoDB store keeps it), and one more write per announced test.
 *
 * Concurrency: each test is a read-modify-write with a version check. A lost race waits a
 * random, growing while (exponential backoff with full jitter, so that runs of one project
 * finishing together fall out of step instead of colliding again), re-reads and re-applies
 * that test; after `maxAttempts` it fails the invocation so the Lambda retry redoes it.
 *
 * Redelivery: an outcome whose run is already in the window is not appended again, so a
 * redelivered event adds nothing. Notices go in two steps: (1) the outcome and flaky state are
 * written (no `noticedAt` change), (2) once every test is written, the due notices are
 * published, then (3) `noticedAt` (`announcedAt` for a run off the alerting branches) is set to
 * the run's time on each (version checked). A crash or a publish failure before (3) leaves the
 * notice due, so the retry publishes it again: at least once, never lost. A completed run's
 * redelivery finds it set and publishes nothing; a lost race publishes nothing either, since
 * publishing waits for the final writes.
 */

export interface HistoryDeps {
  store: HistoryStore;
  archive: ArchiveReader;
  publisher: EventPublisher;
  config: VigilConfig;
  /** Stage whose `historyRetentionDays` applies. */
  stage?: string;
  clock: Clock;
  /** Store requests in flight at once. Default 16. */
  maxConcurrency?: number;
  /** Read-apply-write attempts per test before giving up. Default 8. */
  maxAttempts?: number;
  /** Waits between attempts (tests pass a fake). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for the jitter (tests pass a fixed one). Default `Math.random`. */
  random?: () => number;
}

export interface RecordResult {
  run: RunRecord;
  /** Distinct tests of the run (0 for coverage, load and benchmark reports). */
  tests: number;
  /** Tests of this run that the history currently finds flaky. */
  flaky: number;
  /** The `Test Flaky Detected` details published for this run. */
  newlyNoticed: TestFlakyDetail[];
}

const DEFAULT_CONCURRENCY = 16;
const DEFAULT_ATTEMPTS = 8;
/** Backoff before attempt n + 1: uniform in [0, min(BACKOFF_MAX_MS, BACKOFF_BASE_MS · 2^(n-1))). */
const BACKOFF_BASE_MS = 5;
const BACKOFF_MAX_MS = 200;
/** Tests read per `getTests` call (DynamoDB BatchGetItem takes 100 keys; smaller spreads work). */
const READ_BATCH = 25;
/** Events per `publish` call, so a burst of notices does not open hundreds of requests at once. */
const PUBLISH_CHUNK = 100;

type IngestEvent = Extract<KnownEvent, { source: typeof SOURCES.ingest }>;

/**
 * The run as the history keeps it, from the bus event alone (a security run's fingerprints are
 * added from its normalized result by `recordReport`).
 */
export const runRecordOf = (event: IngestEvent): RunRecord => {
  const m = event.detail.metadata;
  const base = {
    project: m.project,
    runId: m.runId,
    format: m.format,
    ...(m.suite === undefined ? {} : { suite: m.suite }),
    ...(m.branch === undefined ? {} : { branch: m.branch }),
    ...(m.commit === undefined ? {} : { commit: m.commit }),
    ...(m.ci === undefined ? {} : { ci: m.ci }),
    ingestedAt: m.ingestedAt,
    correlationId: m.correlationId,
    gate: event.detail.gate.status,
  };
  switch (event.detailType) {
    case DETAIL_TYPES.testRun:
      return { ...base, kind: 'tests', summary: event.detail.summary };
    case DETAIL_TYPES.coverage:
      return { ...base, kind: 'coverage', summary: event.detail.summary };
    case DETAIL_TYPES.load:
      return { ...base, kind: 'load', summary: event.detail.summary };
    case DETAIL_TYPES.benchmark:
      return { ...base, kind: 'benchmark', summary: event.detail.summary };
    case DETAIL_TYPES.security:
      return { ...base, kind: 'security', summary: { ...event.detail.summary, fingerprints: [] } };
  }
};

type Case = z.infer<typeof caseSchema>;
type Normalized = z.infer<typeof normalizedSchema>['report'];

/** Read the run's normalized result and check it is the run the event speaks of. */
const readNormalized = async <K extends Normalized['kind']>(
  event: IngestEvent,
  kind: K,
  archive: ArchiveReader,
): Promise<Extract<Normalized, { kind: K }>> => {
  const m = event.detail.metadata;
  const where = `normalized result ${m.normalized.uri} of run ${m.runId}`;
  const bytes = await archive.get(m.normalized);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new VigilError(
      'internal',
      `The ${where} is not JSON: ${(e as SyntaxError).message}`, // all JSON.parse throws
    );
  }
  // Its schema (zod) loads on the first report, not at the function's init.
  const { normalizedSchema } = await import('./normalized-schema');
  const parsed = normalizedSchema.safeParse(doc);
  if (!parsed.success || parsed.data.report.kind !== kind) {
    const issue = parsed.error?.issues[0];
    throw new VigilError(
      'internal',
      `The ${where} is not a normalized ${kind === 'tests' ? 'test' : kind} report: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : `its kind is ${parsed.data?.report.kind}`}`,
    );
  }
  if (parsed.data.project !== m.project || parsed.data.runId !== m.runId)
    throw new VigilError(
      'internal',
      `The ${where} belongs to run ${parsed.data.runId} of project ${parsed.data.project}`,
    );
  return parsed.data.report as Extract<Normalized, { kind: K }>;
};

/** The test cases of a test run, from its normalized result. */
export const readCases = async (
  event: Extract<IngestEvent, { detailType: typeof DETAIL_TYPES.testRun }>,
  archive: ArchiveReader,
): Promise<Case[]> => (await readNormalized(event, 'tests', archive)).cases;

/** One test of the run: its cases merged (parametrized or per-job duplicates share an id). */
interface TestGroup {
  first: Pick<TestCase, 'suite' | 'classname' | 'name'>;
  status: TestOutcome['status'];
  /** Some copy passed only after retries. */
  retried: boolean;
  durationMs: number;
}

const RANK = { skipped: 0, passed: 1, failed: 2 } as const;

/**
 * Cases by test id. Merging copies: a failure wins over a pass, a pass over a skip (one failing
 * copy fails the test); `retried` when a copy passed after retries and the test passed.
 */
export const groupCases = (cases: readonly Case[]): Map<string, TestGroup> => {
  const groups = new Map<string, TestGroup & { anyRetried: boolean }>();
  for (const c of cases) {
    const id = testId(c);
    if (!id) continue;
    const g = groups.get(id);
    if (!g) {
      groups.set(id, {
        first: c,
        status: c.status,
        retried: false,
        anyRetried: c.flaky,
        durationMs: c.durationMs,
      });
      continue;
    }
    if (RANK[c.status] > RANK[g.status]) g.status = c.status;
    g.anyRetried ||= c.flaky;
    g.durationMs += c.durationMs;
  }
  const out = new Map<string, TestGroup>();
  for (const [id, { anyRetried, ...g }] of groups)
    out.set(id, { ...g, retried: anyRetried && g.status === 'passed' });
  return out;
};

/** Full jitter: the wait before retry `n` (1 = the first) is drawn from the whole window. */
export const backoffMs = (retry: number, random: () => number): number =>
  random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (retry - 1));

const timerSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** Record one ingested report: the run, and for test runs every test's outcome and flaky state. */
export const recordReport = async (event: KnownEvent, deps: HistoryDeps): Promise<RecordResult> => {
  if (event.source !== SOURCES.ingest)
    throw new VigilError(
      'bad_request',
      `The history records ingest reports, not ${event.source} / ${event.detailType}.`,
    );
  const ttlDays = historyRetentionDays(deps.config, deps.stage);
  let run = runRecordOf(event);
  // An event that would pass the bus's size limit lists only the first benchmarks or
  // thresholds (`buildEvent`): the baselines and the dashboard need them all.
  const cut = 'benchmarksTotal' in event.detail || 'thresholdsTotal' in event.detail;
  if (cut && run.kind === 'benchmark')
    run = { ...run, summary: (await readNormalized(event, 'benchmark', deps.archive)).summary };
  if (cut && run.kind === 'load')
    run = { ...run, summary: (await readNormalized(event, 'load', deps.archive)).summary };
  if (run.kind === 'security') {
    // The base comparison needs every fingerprint: read them from the normalized result.
    const { findings } = await readNormalized(event, 'security', deps.archive);
    run = { ...run, summary: securityRunSummary(run.summary, findings) };
  }
  await deps.store.putRun(run, ttlDays);
  if (event.detailType !== DETAIL_TYPES.testRun)
    return { run, tests: 0, flaky: 0, newlyNoticed: [] };

  const groups = groupCases(await readCases(event, deps.archive));
  const m = event.detail.metadata;
  const runAt = m.ingestedAt;
  const flakyConfig = deps.config.history.flaky;
  const ctx = { config: flakyConfig, defaultBranch: deps.config.defaultBranch, now: runAt };
  const concurrency = deps.maxConcurrency ?? DEFAULT_CONCURRENCY;
  const maxAttempts = Math.max(1, deps.maxAttempts ?? DEFAULT_ATTEMPTS);
  const sleep = deps.sleep ?? timerSleep;
  const random = deps.random ?? Math.random;

  /**
   * Version-checked read-modify-write of one test: `change` gives the next record, or
   * `undefined` when there is nothing to write. Returns the record as stored.
   */
  const update = async (
    id: string,
    read: TestRecord | undefined,
    change: (current: TestRecord | undefined) => TestRecord | undefined,
  ): Promise<TestRecord | undefined> => {
    let current = read;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const next = change(current);
      if (!next) return current;
      if (await deps.store.putTest(next, current?.version ?? 0, ttlDays)) return next;
      if (attempt === maxAttempts) break;
      await sleep(backoffMs(attempt, random));
      current = (await deps.store.getTests(m.project, [id])).get(id);
    }
    throw new VigilError(
      'conflict',
      `Test '${id}' of project ${m.project} kept changing under us (${maxAttempts} attempts); the retry will redo it.`,
    );
  };

  /**
   * `update` for each of `ids`: in one write when the store takes several (`putTests`); the
   * tests whose version changed meanwhile then go through `update` one by one.
   */
  const updateAll = async (
    ids: readonly string[],
    stored: ReadonlyMap<string, TestRecord>,
    change: (id: string) => (current: TestRecord | undefined) => TestRecord | undefined,
  ): Promise<(TestRecord | undefined)[]> => {
    const putTests = deps.store.putTests?.bind(deps.store);
    if (!putTests) {
      const out: (TestRecord | undefined)[] = [];
      for (const id of ids) out.push(await update(id, stored.get(id), change(id)));
      return out;
    }
    const next = ids.map((id) => change(id)(stored.get(id)));
    const writes = next.flatMap((record, i) =>
      record ? [{ record, expectedVersion: stored.get(ids[i] as string)?.version ?? 0 }] : [],
    );
    const written = await putTests(writes, ttlDays);
    let w = 0;
    // Promises only for the writes that lost their race (most chunks have none).
    const redo: Promise<void>[] = [];
    const out = ids.map((id, i): TestRecord | undefined => {
      const record = next[i];
      if (!record) return stored.get(id);
      if (written[w++]) return record;
      redo.push(
        deps.store
          .getTests(m.project, [id])
          .then((read) => update(id, read.get(id), change(id)))
          .then((done) => {
            out[i] = done;
          }),
      );
      return undefined;
    });
    await Promise.all(redo);
    return out;
  };

  /** Phase 1: this run's outcome into the window, and the flaky state it leads to. */
  const addOutcome =
    (id: string, group: TestGroup) =>
    (current: TestRecord | undefined): TestRecord | undefined => {
      const outcome: TestOutcome = {
        runId: m.runId,
        at: runAt,
        ...(m.branch === undefined ? {} : { branch: m.branch }),
        ...(m.commit === undefined ? {} : { commit: m.commit }),
        status: group.status,
        retried: group.retried,
        durationMs: group.durationMs,
      };
      const outcomes = withOutcome(current?.outcomes ?? [], outcome, flakyConfig.window);
      if (!outcomes) return undefined;
      const flaky = evaluateFlaky(outcomes, current?.flaky, ctx);
      return {
        project: m.project,
        id,
        suite: group.first.suite,
        classname: group.first.classname,
        name: group.first.name,
        outcomes,
        ...(flaky ? { flaky } : {}),
        version: (current?.version ?? 0) + 1,
      };
    };

  // Only a run on an alerting branch gives a NOTICE (the alert handler drops the others), so
  // only such a run counts as the notice: a test first found flaky on a feature branch is still
  // announced by the next run of an alerting branch.
  const alerting = m.branch !== undefined && alertBranches(deps.config).includes(m.branch);
  const noticeField = alerting ? 'noticedAt' : 'announcedAt';

  /** Phase 2, after publishing: remember the notice so the next runs (and redeliveries) skip it. */
  const markNoticed = (current: TestRecord | undefined): TestRecord | undefined => {
    const flaky = current?.flaky;
    const last = flaky?.[noticeField];
    if (!current || !flaky || (last !== undefined && last >= runAt)) return undefined;
    return { ...current, flaky: { ...flaky, [noticeField]: runAt }, version: current.version + 1 };
  };

  /** Due a notice from this run: flaky, not announced lately, and this run still in its window. */
  const due = (record: TestRecord | undefined): record is TestRecord & { flaky: FlakyState } =>
    record?.flaky !== undefined &&
    noticeDue(record.flaky, runAt, flakyConfig.noticeDays, alerting) &&
    record.outcomes.some((o) => o.runId === m.runId);

  let failure: unknown;
  const toAnnounce: (TestRecord & { flaky: FlakyState })[] = [];
  let flaky = 0;
  try {
    const batch = deps.store.testBatch ?? READ_BATCH;
    await mapLimit(chunk([...groups.keys()], batch), concurrency, async (ids) => {
      const stored = await deps.store.getTests(m.project, ids);
      const change = (id: string) => addOutcome(id, groups.get(id) as TestGroup);
      for (const record of await updateAll(ids, stored, change)) {
        if (record?.flaky && record.outcomes.some((o) => o.runId === m.runId)) flaky++;
        if (due(record)) toAnnounce.push(record);
      }
    });
  } catch (e) {
    failure = e;
  }

  // Publish, then mark: a crash in between repeats a notice on the retry, never loses one. The
  // notices recorded before a failure are published too, then the failure is rethrown.
  const quarantine = quarantineFor(deps.config, m.project);
  const detectedAt = deps.clock.now();
  const newlyNoticed: TestFlakyDetail[] = [];
  // In id order (ids are unique: one record per test), so a retried run numbers its notices the
  // same way.
  toAnnounce.sort((a, b) => (a.id < b.id ? -1 : 1));
  const total = toAnnounce.length;
  let index = 0;
  for (const part of chunk(toAnnounce, PUBLISH_CHUNK)) {
    const details = part.map((r) => ({
      ...flakyDetail(r, r.flaky, event, detectedAt, quarantine),
      batch: { index: ++index, total },
    }));
    await deps.publisher.publish(
      details.map((detail) => ({
        source: SOURCES.history,
        detailType: DETAIL_TYPES.testFlaky,
        detail,
      })),
    );
    newlyNoticed.push(...details);
    // Every notice of the part is marked even if one mark fails: the rest need not repeat.
    await mapLimit(part, concurrency, (r) =>
      update(r.id, r, markNoticed).then(
        () => undefined,
        (e: unknown) => {
          failure ??= e;
        },
      ),
    );
  }
  if (failure !== undefined) throw failure;
  return { run, tests: groups.size, flaky, newlyNoticed };
};

const flakyDetail = (
  record: TestRecord,
  state: FlakyState,
  event: Extract<IngestEvent, { detailType: typeof DETAIL_TYPES.testRun }>,
  detectedAt: Date,
  quarantine: ReturnType<typeof quarantineFor>,
): Omit<TestFlakyDetail, 'batch'> => {
  const m = event.detail.metadata;
  const q = findQuarantine(quarantine, record.id, detectedAt);
  return {
    metadata: {
      project: m.project,
      runId: m.runId,
      ...(m.branch === undefined ? {} : { branch: m.branch }),
      ...(m.commit === undefined ? {} : { commit: m.commit }),
      correlationId: m.correlationId,
      detectedAt: detectedAt.toISOString(),
    },
    test: { id: record.id, suite: record.suite, classname: record.classname, name: record.name },
    reason: state.reason,
    explanation: state.explanation,
    ...(state.flipRate === undefined ? {} : { flipRate: state.flipRate }),
    ...(q && !q.expired ? { quarantined: { owner: q.entry.owner, expires: q.entry.expires } } : {}),
  };
};
