import { VigilError } from '../../../core/errors';
import type {
  HistoryStore,
  Page,
  RunKind,
  RunQuery,
  RunRecord,
  TestRecord,
  TestStatusFilter,
} from '../../../core/history/types';
import type { Clock } from '../../../core/ports';
import { logger } from '../../../shared/powertools';
import {
  bumpMeta,
  metaValue,
  parseRecord,
  parses,
  retentionReference,
  type StoreDb,
  storedVersion,
} from './database';
import { type EncodedWindow, TestWindows } from './test-windows';

const DAY_MS = 86_400_000;
/** The `meta` key of the newest run's `ingestedAt`. */
const NEWEST_RUN = 'history_newest_run';
/** The `meta` key counting the prunes that deleted tests. */
const TESTS_PRUNED = 'history_tests_pruned';

const encodeCursor = (key: string): string =>
  Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');

const decodeCursor = (cursor: string): string => {
  let key: unknown;
  try {
    key = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown }).k;
  } catch {
    key = undefined;
  }
  if (typeof key !== 'string' || key === '')
    throw new VigilError(
      'bad_request',
      'invalid cursor: pass back the cursor of a previous page',
      // The query parameter it came in: the history API's errors name the failing one.
      { path: 'query.cursor' },
    );
  return key;
};

/** Per status filter: the table (with the index that serves it in id order) and the condition. */
const TEST_FILTERS: Record<TestStatusFilter, string> = {
  flaky: 'tests INDEXED BY tests_by_flaky WHERE flaky = 1 AND',
  failing: `tests INDEXED BY tests_by_latest WHERE latest = 'failed' AND`,
  passing: `tests INDEXED BY tests_by_latest WHERE latest = 'passed' AND`,
  all: 'tests WHERE',
};

/** A test's row: its record without the window in `body`, the window in `window`. */
interface TestRow {
  id: string;
  version: number;
  body: string;
  window: string | null;
}

type RecordBody = Omit<TestRecord, 'project' | 'id' | 'outcomes' | 'version'>;

const TEST_COLUMNS = 'id, version, body, window';

/**
 * Test records a connection keeps of its own writes (see `SqliteHistoryStore`): at most this
 * many, ~3 KB each with a full window of 30 outcomes (15 MB in all, measured with 10,000:
 * 29.6 MB). Local mode's bus worker writes every test of every report, so the tests of
 * projects of up to this many in all are read from memory; those beyond, from the table.
 */
const WRITTEN_TESTS_MAX = 5_000;

/** A record this connection wrote, when its row expires, and its body and window as stored. */
interface Written {
  record: TestRecord;
  expiresAt: number;
  body: string;
  window: EncodedWindow;
}

/** The stored body of a record (all but its key, window and version). */
const bodyOf = (record: TestRecord): string => {
  const { project: _p, id: _i, outcomes: _o, version: _v, ...body } = record;
  return JSON.stringify(body satisfies RecordBody);
};

/** Whether two records of a test have the same body (its flaky state the very same object). */
const sameBody = (a: TestRecord, b: TestRecord): boolean =>
  a.suite === b.suite && a.classname === b.classname && a.name === b.name && a.flaky === b.flaky;

/** What a test write stores besides the record's body: its window and indexed state. */
interface TestRowValues {
  latest: string | null;
  flaky: number;
  window: string;
  minRef: number | null;
}

/** The `latest` and `flaky` columns of a record. */
const latestOf = (record: TestRecord): string | null => record.outcomes.at(-1)?.status ?? null;
const flakyOf = (record: TestRecord): number => (record.flaky === undefined ? 0 : 1);

/** Rows read per query while filtering in pages (corrupt rows are skipped, not counted). */
const parseRows = <T>(rows: { body: string }[], where: string): T[] =>
  rows.map((r) => parseRecord<T>(r.body, where)).filter((r): r is T => r !== undefined);

/**
 * Tests per statement of `#keptInPlace`: a hundred, then tens; fewer go one by one. Two sizes
 * only, so a connection prepares (and keeps) four statements, not one per remainder (a
 * prepared hundred-row statement is a large program).
 */
const IN_PLACE_CHUNKS = [100, 10] as const;

/**
 * The statements of `#keptInPlace` for `n` tests of one project: ?1 the project, ?2 the expiry
 * written, ?3 the time expiry is checked at, then 7 parameters per test.
 */
const inPlaceSql = (() => {
  const made = new Map<number, { count: string; write: string }>();
  return (n: number): { count: string; write: string } => {
    let sql = made.get(n);
    if (!sql) {
      const at = (t: number, k: number) => `?${4 + t * 7 + k}`;
      const values = Array.from(
        { length: n },
        (_, t) =>
          `(?1, ${at(t, 0)}, ?2, ${at(t, 1)}, ${at(t, 2)}, ${at(t, 3)}, ${at(t, 4)}, ${at(t, 5)}, ${at(t, 6)})`,
      );
      sql = {
        count: `SELECT count(*) AS n FROM tests WHERE project = ?1 AND expires_at > ?2 AND id IN (${Array.from({ length: n }, (_, t) => `?${3 + t}`).join(', ')})`,
        write: `INSERT INTO tests (project, id, expires_at, version, latest, flaky, body, window, min_ref)
          VALUES ${values.join(', ')}
          ON CONFLICT (project, id) DO UPDATE SET expires_at = excluded.expires_at,
          version = excluded.version, body = excluded.body, window = excluded.window,
          min_ref = excluded.min_ref
          WHERE tests.expires_at > ?3 AND tests.version = excluded.version - 1
          AND tests.latest IS excluded.latest AND tests.flaky = excluded.flaky`,
      };
      made.set(n, sql);
    }
    return sql;
  };
})();

/**
 * `HistoryStore` in the embedded store, the local twin of the DynamoDB table: runs keyed by
 * (project, ingestedAt#runId), tests by (project, id), both with an expiry; text keys sort by
 * UTF-8 bytes, as DynamoDB's do. Writes are grouped per turn of the event loop into one
 * transaction (a report's hundreds of test records cost one commit); `putTest`'s version check
 * and write run inside it, so it is a compare-and-swap. Test windows are stored compactly
 * (test-windows.ts).
 *
 * `getTests` serves the records this connection wrote from memory (up to `writtenTestsMax`),
 * without reading and decoding their rows: in local mode one connection, the bus worker's,
 * writes every test record, so what it wrote is what is stored. Another connection's write
 * (there is none in local mode) is seen once a version-checked write here is refused: the
 * refused record is forgotten and read from the table again. Expiry is checked as in the table.
 */
export class SqliteHistoryStore implements HistoryStore {
  readonly #db: StoreDb;
  readonly #clock: Clock;
  readonly #windows: TestWindows;
  /**
   * Tests per read and write of the history service: a call costs a statement, a version read,
   * a savepoint and a turn of the event loop whatever its size; 100 tests write in ~1 ms.
   */
  readonly testBatch = 100;
  /** The records this connection wrote, by project and id (see above). */
  readonly #written = new Map<string, Map<string, Written>>();
  readonly #writtenMax: number;
  /** The count of prunes that deleted tests as of this connection's last write. */
  #pruned: string | undefined;

  constructor(db: StoreDb, opts: { clock: Clock; writtenTestsMax?: number }) {
    this.#db = db;
    this.#clock = opts.clock;
    this.#windows = new TestWindows(db);
    this.#writtenMax = opts.writtenTestsMax ?? WRITTEN_TESTS_MAX;
  }

  /** Remember a written record (when there is room). */
  #remember(written: Written): void {
    const { project, id } = written.record;
    let tests = this.#written.get(project);
    if (!tests?.has(id)) {
      let count = 0;
      for (const t of this.#written.values()) count += t.size;
      if (count >= this.#writtenMax) return;
    }
    if (!tests) {
      tests = new Map();
      this.#written.set(project, tests);
    }
    tests.set(id, written);
  }

  /** Forget a record: its write was refused, or it expired. */
  #forget(project: string, id: string): void {
    this.#written.get(project)?.delete(id);
  }

  /** The record this connection wrote of a test, while its row is live. */
  #live(project: string, id: string, now: number): Written | undefined {
    const known = this.#written.get(project)?.get(id);
    if (known === undefined || known.expiresAt > now) return known;
    // Expired here as in the table: forgotten, and read from the table.
    this.#forget(project, id);
    return undefined;
  }

  /** The record of a row; undefined (reported) when it is damaged. */
  #record(project: string, row: TestRow): TestRecord | undefined {
    const where = `test ${row.id} of ${project}`;
    const body = parseRecord<RecordBody>(row.body, where);
    if (!body) return undefined;
    const outcomes = this.#windows.decode(row.window);
    if (!outcomes) {
      logger.error('corrupt record skipped', { where });
      return undefined;
    }
    return { project, id: row.id, ...body, outcomes, version: row.version };
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  /** The ingestion time of the newest run (epoch ms); undefined when there is none. */
  newest(): number | undefined {
    // A store written before this was kept: the newest run's key starts with its time.
    const at =
      metaValue(this.#db, NEWEST_RUN) ??
      (
        this.#db.q(`SELECT max(substr(key, 1, instr(key, '#') - 1)) AS at FROM runs`).get() as {
          at: string | null;
        }
      ).at;
    const ms = at === null || at === undefined ? Number.NaN : Date.parse(at);
    return Number.isFinite(ms) ? ms : undefined;
  }

  /**
   * What is expired is measured at this time: the clock, but never past the newest run (see
   * `retentionReference`): with the clock far ahead nothing reads as expired, and the runs a
   * clock behind wrote stay until newer runs are past their retention.
   */
  #reference(): number {
    return retentionReference(this.#now(), this.newest());
  }

  async putRun(run: RunRecord, ttlDays: number): Promise<void> {
    const expiresAt = this.#now() + ttlDays * DAY_MS;
    const body = JSON.stringify(run);
    await this.#db.batch(() => {
      this.#db
        .q(
          `INSERT INTO runs (project, key, expires_at, kind, branch, suite, body) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (project, key) DO UPDATE SET expires_at = excluded.expires_at, kind = excluded.kind,
           branch = excluded.branch, suite = excluded.suite, body = excluded.body`,
        )
        .run(
          run.project,
          `${run.ingestedAt}#${run.runId}`,
          expiresAt,
          run.kind,
          run.branch ?? null,
          run.suite ?? null,
          body,
        );
      // The newest run's time (ISO text sorts by time): what retention counts from.
      this.#db
        .q(
          `INSERT INTO meta (key, value) VALUES (?, ?)
           ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
        )
        .run(NEWEST_RUN, run.ingestedAt);
    });
  }

  async listRuns(project: string, query: RunQuery): Promise<Page<RunRecord>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const limit = Math.max(0, query.limit);
    const where: string[] = ['project = ?', 'expires_at > ?'];
    const args: unknown[] = [project, this.#reference()];
    const filter = (sql: string, value?: unknown) => {
      where.push(sql);
      if (value !== undefined) args.push(value);
    };
    if (after !== undefined) filter('key < ?', after);
    if (query.kind !== undefined) filter('kind = ?', query.kind);
    if (query.branch !== undefined) filter('branch = ?', query.branch);
    if (query.suite === null) filter('suite IS NULL');
    else if (query.suite !== undefined) filter('suite = ?', query.suite);
    const rows = this.#db
      .q(`SELECT key, body FROM runs WHERE ${where.join(' AND ')} ORDER BY key DESC LIMIT ?`)
      .all(...args, limit + 1) as { key: string; body: string }[];
    const page = rows.slice(0, limit);
    const items = parseRows<RunRecord>(page, `runs of ${project}`);
    const last = page.at(-1);
    return { items, ...(rows.length > limit && last ? { cursor: encodeCursor(last.key) } : {}) };
  }

  async series(
    project: string,
    kind: RunKind,
    suite: string | undefined,
    branch: string,
    limit: number,
  ): Promise<RunRecord[]> {
    if (limit <= 0) return [];
    const rows = this.#db
      .q(
        `SELECT body FROM runs WHERE project = ? AND expires_at > ? AND kind = ? AND branch = ?
         AND suite IS ? ORDER BY key DESC LIMIT ?`,
      )
      .all(project, this.#reference(), kind, branch, suite ?? null, limit) as { body: string }[];
    return parseRows<RunRecord>(rows, `runs of ${project}`);
  }

  async getTests(project: string, ids: readonly string[]): Promise<Map<string, TestRecord>> {
    const out = new Map<string, TestRecord>();
    const now = this.#reference();
    const unique: string[] = [];
    for (const id of new Set(ids)) {
      const known = this.#live(project, id, now);
      if (known) out.set(id, known.record);
      else unique.push(id);
    }
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      const rows = this.#db
        .q(
          `SELECT ${TEST_COLUMNS} FROM tests WHERE project = ? AND expires_at > ? AND id IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(project, now, ...chunk) as TestRow[];
      for (const r of rows) {
        const record = this.#record(project, r);
        if (record) out.set(r.id, record);
      }
    }
    return out;
  }

  async putTest(record: TestRecord, expectedVersion: number, ttlDays: number): Promise<boolean> {
    const [written] = await this.putTests([{ record, expectedVersion }], ttlDays);
    return written === true;
  }

  /** Version-checked writes of several tests, in one transaction (one group-commit item). */
  async putTests(
    writes: readonly { record: TestRecord; expectedVersion: number }[],
    ttlDays: number,
  ): Promise<boolean[]> {
    for (const { record, expectedVersion } of writes)
      if (record.version !== expectedVersion + 1)
        throw new VigilError(
          'internal',
          `test record version must be expectedVersion + 1 (got ${record.version} after ${expectedVersion})`,
        );
    // What this connection stored of each test last: its body and window are not built again.
    const reference = this.#reference();
    const known = writes.map(({ record }) => this.#live(record.project, record.id, reference));
    const bodies = writes.map(({ record }, i) => {
      const last = known[i];
      return last && sameBody(last.record, record) ? last.body : bodyOf(record);
    });
    const windows: EncodedWindow[] = [];
    const { written, fresh, expires, pruned } = await this.#db.batch(() => {
      // Expiry is checked at the reference time (as `getTests` reads), written from the clock.
      const now = this.#reference();
      const writtenAt = this.#now();
      const fresh = this.#windows.begin();
      const pruned = metaValue(this.#db, TESTS_PRUNED);
      // The version check is in the write itself: a new test is inserted unless a live row
      // exists; a known one is updated only at the version it was read at.
      const insert = this.#db.q(
        `INSERT INTO tests (project, id, expires_at, version, latest, flaky, body, window, min_ref)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (project, id) DO UPDATE SET expires_at = excluded.expires_at,
         version = excluded.version, latest = excluded.latest, flaky = excluded.flaky,
         body = excluded.body, window = excluded.window, min_ref = excluded.min_ref
         WHERE tests.expires_at <= ?`,
      );
      // Most writes leave `latest` and `flaky` as they were: the first statement then leaves
      // them out, so SQLite does not rewrite the two indexes on them (~30% of a report's writes).
      const keep = this.#db.q(
        `UPDATE tests SET expires_at = ?, version = ?, body = ?, window = ?, min_ref = ?
         WHERE project = ? AND id = ? AND expires_at > ? AND version = ? AND latest IS ? AND flaky = ?`,
      );
      const update = this.#db.q(
        `UPDATE tests SET expires_at = ?, version = ?, latest = ?, flaky = ?, body = ?, window = ?,
         min_ref = ? WHERE project = ? AND id = ? AND expires_at > ? AND version = ?`,
      );
      const live = this.#db.q(
        `SELECT ${TEST_COLUMNS} FROM tests WHERE project = ? AND id = ? AND expires_at > ?`,
      );
      const readable = (r: TestRow) =>
        parses(r.body) && this.#windows.decode(r.window) !== undefined;
      const expires = writtenAt + ttlDays * DAY_MS;
      const rows = writes.map(({ record }, i): TestRowValues => {
        const last = known[i];
        const previous = last && { outcomes: last.record.outcomes, encoded: last.window };
        const encoded = this.#windows.encode(record.project, record.outcomes, fresh, previous);
        windows[i] = encoded;
        const { window, minRef } = encoded;
        return { window, minRef, latest: latestOf(record), flaky: flakyOf(record) };
      });
      // No prune deleted tests since this connection's last write: the rows it wrote are there.
      const there = pruned === this.#pruned;
      const inPlace = new Set(this.#keptInPlace(writes, known, there, rows, bodies, expires, now));
      const written = writes.map(({ record, expectedVersion }, i) => {
        if (inPlace.has(i)) return true;
        const { latest, flaky, window, minRef } = rows[i] as TestRowValues;
        if (expectedVersion === 0) {
          const inserted =
            insert.run(
              record.project,
              record.id,
              expires,
              record.version,
              latest,
              flaky,
              bodies[i],
              window,
              minRef,
              now,
            ).changes === 1;
          if (inserted) return true;
          // A live row is there: a corrupt one (which `getTests` skipped) counts as none.
          const row = live.get(record.project, record.id, now) as TestRow | undefined;
          if (!row || storedVersion(row, `test ${record.id} of ${record.project}`, readable) !== 0)
            return false;
          return (
            update.run(
              expires,
              record.version,
              latest,
              flaky,
              bodies[i],
              window,
              minRef,
              record.project,
              record.id,
              now,
              row.version,
            ).changes === 1
          );
        }
        const key = [record.project, record.id, now, expectedVersion] as const;
        return (
          keep.run(expires, record.version, bodies[i], window, minRef, ...key, latest, flaky)
            .changes === 1 ||
          update.run(expires, record.version, latest, flaky, bodies[i], window, minRef, ...key)
            .changes === 1
        );
      });
      return { written, fresh, expires, pruned };
    });
    this.#windows.committed(fresh);
    if (pruned !== this.#pruned) {
      // What it wrote before may be gone: only what it wrote now is known to be there.
      this.#written.clear();
      this.#pruned = pruned;
    }
    for (const [i, { record }] of writes.entries()) {
      if (!written[i]) this.#forget(record.project, record.id);
      else
        this.#remember({
          record,
          expiresAt: expires,
          body: bodies[i] as string,
          window: windows[i] as EncodedWindow,
        });
    }
    return written;
  }

  /**
   * The writes that leave a test's `latest` and `flaky` as they were (most of a report's), made
   * by one statement per hundred (or ten) tests instead of one each (the bus worker's CPU per
   * 400-test report ~0.5 ms less: docs/architecture.md). A statement counts only if it wrote
   * every row of its chunk: each must be there (counted first, since an upsert would insert a
   * missing one, unless this connection wrote it and no prune deleted tests since: `there`),
   * live, at the version it was read at and in the state predicted; otherwise it is undone and
   * those writes go one by one, which tells which failed. Returns the indexes of the writes
   * made.
   */
  #keptInPlace(
    writes: readonly { record: TestRecord; expectedVersion: number }[],
    known: readonly (Written | undefined)[],
    there: boolean,
    rows: readonly TestRowValues[],
    bodies: readonly string[],
    expires: number,
    now: number,
  ): number[] {
    const project = writes[0]?.record.project;
    const eligible = writes.flatMap(({ record, expectedVersion }, i) => {
      if (expectedVersion === 0 || record.project !== project) return [];
      const row = rows[i] as TestRowValues;
      // What is stored: the record this connection wrote last, or else (a project beyond
      // `writtenTestsMax`) guessed: the status before this run's outcome, the flaky state as now.
      const last = known[i]?.record;
      const same = last
        ? last.version === expectedVersion &&
          latestOf(last) === row.latest &&
          flakyOf(last) === row.flaky
        : (record.outcomes.at(-2)?.status ?? null) === row.latest;
      return same ? [i] : [];
    });
    const kept: number[] = [];
    const chunks: number[][] = [];
    let at = 0;
    for (const size of IN_PLACE_CHUNKS)
      for (; eligible.length - at >= size; at += size) chunks.push(eligible.slice(at, at + size));
    for (const chunk of chunks) {
      const sql = inPlaceSql(chunk.length);
      // The rows this connection wrote are there (when `there`); the others are counted.
      if (!there || !chunk.every((i) => known[i] !== undefined)) {
        const ids = chunk.map((i) => (writes[i] as (typeof writes)[number]).record.id);
        const live = (this.#db.q(sql.count).get(project, now, ...ids) as { n: number }).n;
        if (live !== chunk.length) continue;
      }
      this.#db.db.exec('SAVEPOINT in_place');
      const done =
        this.#db.q(sql.write).run(
          project,
          expires,
          now,
          ...chunk.flatMap((i) => {
            const { record } = writes[i] as (typeof writes)[number];
            const { latest, flaky, window, minRef } = rows[i] as TestRowValues;
            return [record.id, record.version, latest, flaky, bodies[i], window, minRef];
          }),
        ).changes === chunk.length;
      this.#db.db.exec(done ? 'RELEASE in_place' : 'ROLLBACK TO in_place; RELEASE in_place');
      if (done) kept.push(...chunk);
    }
    return kept;
  }

  async listTests(
    project: string,
    query: { status: TestStatusFilter; limit: number; cursor?: string },
  ): Promise<Page<TestRecord>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const limit = Math.max(0, query.limit);
    const rows = this.#db
      .q(
        `SELECT ${TEST_COLUMNS} FROM ${TEST_FILTERS[query.status]} project = ? AND expires_at > ?
         AND id > ? ORDER BY id LIMIT ?`,
      )
      .all(project, this.#reference(), after ?? '', limit + 1) as TestRow[];
    const page = rows.slice(0, limit);
    const items = page
      .map((r) => this.#record(project, r))
      .filter((r): r is TestRecord => r !== undefined);
    const last = page.at(-1);
    return { items, ...(rows.length > limit && last ? { cursor: encodeCursor(last.id) } : {}) };
  }

  /**
   * Deletes the runs and tests expired at the reference time (the clock, never past the newest
   * run): `records`; and the run parts of windows no live test holds any more (`windowParts`:
   * space reclaimed, no record lost).
   */
  prune(): { records: number; windowParts: number } {
    const now = this.#reference();
    const records =
      this.#db.q('DELETE FROM runs WHERE expires_at <= ?').run(now).changes +
      this.#prunedTests(now);
    return { records, windowParts: this.#windows.prune() };
  }

  /** Deletes the tests expired at `now`; a prune that deletes any is counted (`#pruned`). */
  #prunedTests(now: number): number {
    const deleted = this.#db.q('DELETE FROM tests WHERE expires_at <= ?').run(now).changes;
    if (deleted > 0) bumpMeta(this.#db, TESTS_PRUNED);
    return deleted;
  }
}
