import type { Gate } from '../events';
import type {
  BenchmarkSummary,
  CoverageSummary,
  LoadSummary,
  TestCase,
  TestStatus,
  TestSummary,
} from '../formats/types';
import type { SecurityRunSummary } from '../security/analysis';

/**
 * What Vigil remembers per project: every run (its summary and verdict), and per test a bounded
 * window of recent outcomes with its flaky state. DynamoDB on AWS (one table, TTL), the data
 * dir's SQLite store locally; both behind `HistoryStore`.
 */

interface RunBase {
  project: string;
  runId: string;
  format: string;
  suite?: string;
  branch?: string;
  commit?: string;
  ci?: string;
  /** ISO 8601; with `runId` it identifies the record (a redelivered event rewrites the same one). */
  ingestedAt: string;
  correlationId: string;
  gate: Gate['status'];
}

export type RunRecord =
  | (RunBase & { kind: 'tests'; summary: TestSummary })
  | (RunBase & { kind: 'coverage'; summary: CoverageSummary })
  | (RunBase & { kind: 'load'; summary: LoadSummary })
  | (RunBase & { kind: 'benchmark'; summary: BenchmarkSummary })
  | (RunBase & { kind: 'security'; summary: SecurityRunSummary });

export type RunKind = RunRecord['kind'];

/** One test's outcome in one run. */
export interface TestOutcome {
  runId: string;
  at: string;
  branch?: string;
  commit?: string;
  status: TestStatus;
  /** Passed only after failing at least once in the same run (reruns, retries). */
  retried: boolean;
  durationMs: number;
}

export type FlakyReason = 'same-commit' | 'retried' | 'flip-rate';

export interface FlakyState {
  reason: FlakyReason;
  explanation: string;
  flipRate?: number;
  /** When the test was first found flaky in this episode. */
  since: string;
  /**
   * Last `Test Flaky Detected` event from a run on an alerting branch (`alerts.branches`): the
   * one the alert handler turns into a NOTICE. Announced again after `noticeDays`.
   */
  noticedAt?: string;
  /**
   * Last event from a run on another branch (or none). It holds back the events of such runs
   * only: the alert handler drops them, so they must not hold back the next NOTICE.
   */
  announcedAt?: string;
}

/** A test and its recent outcomes, oldest first, at most `history.flaky.window` of them. */
export interface TestRecord {
  project: string;
  /** `testId(case)`. */
  id: string;
  suite: string;
  classname: string;
  name: string;
  outcomes: TestOutcome[];
  /** Set while the rules find the test flaky. */
  flaky?: FlakyState;
  /** Optimistic concurrency: incremented on every write (1 for the first). */
  version: number;
}

export type TestStatusFilter = 'flaky' | 'failing' | 'passing' | 'all';

export interface RunQuery {
  kind?: RunKind;
  branch?: string;
  /** Exact suite match; `null` = runs posted without a suite. Omitted = any suite. */
  suite?: string | null;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  cursor?: string;
}

/**
 * Port: run and test history. Writes are idempotent (same run → same record); test records
 * are written with a version check so concurrent runs of one project never lose outcomes.
 */
export interface HistoryStore {
  /** Insert or overwrite the run (key: project + ingestedAt + runId); expires after `ttlDays`. */
  putRun(run: RunRecord, ttlDays: number): Promise<void>;
  /** Runs of a project, newest first. */
  listRuns(project: string, query: RunQuery): Promise<Page<RunRecord>>;
  /**
   * The latest runs of one series (project, kind, suite, branch), newest first: the regression
   * baseline. Served from its own key on AWS, so it stays one query however many runs exist.
   */
  series(
    project: string,
    kind: RunKind,
    suite: string | undefined,
    branch: string,
    limit: number,
  ): Promise<RunRecord[]>;
  /**
   * Tests per `getTests` and `putTests` call the history service asks for (default 25): a store
   * whose calls cost more per call than per test takes more at once.
   */
  readonly testBatch?: number;
  /** The records of these tests (absent ones are missing from the map). */
  getTests(project: string, ids: readonly string[]): Promise<Map<string, TestRecord>>;
  /**
   * Write `record` only if the stored version is `expectedVersion` (0: not stored yet);
   * false when another writer got there first. Expires after `ttlDays` without writes.
   */
  putTest(record: TestRecord, expectedVersion: number, ttlDays: number): Promise<boolean>;
  /**
   * `putTest` for several tests in one write (the embedded store: one transaction); one answer
   * per write, in order. Optional: without it the history writes the tests one by one.
   */
  putTests?(
    writes: readonly { record: TestRecord; expectedVersion: number }[],
    ttlDays: number,
  ): Promise<boolean[]>;
  /**
   * Tests of a project, ordered by id. `flaky`: those with a flaky state; `failing` / `passing`:
   * those whose latest outcome failed / passed; `all`: every test.
   */
  listTests(
    project: string,
    query: { status: TestStatusFilter; limit: number; cursor?: string },
  ): Promise<Page<TestRecord>>;
}

/** The read side the ingest API needs (baselines for gates, the history API). */
export type HistoryReader = Pick<HistoryStore, 'listRuns' | 'series' | 'listTests'>;

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

/**
 * A test's normalized id: suite, classname and name with whitespace collapsed, empty parts and
 * a part equal to the one before it dropped (JUnit often repeats the suite as the classname),
 * joined by ` > `. Stable across formats that name the same test the same way.
 */
export const testId = (c: Pick<TestCase, 'suite' | 'classname' | 'name'>): string => {
  const parts: string[] = [];
  for (const raw of [c.suite, c.classname, c.name]) {
    const part = squash(raw);
    if (part && part !== parts.at(-1)) parts.push(part);
  }
  return parts.join(' > ');
};
