import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { VigilError } from '../../core/errors';
import type {
  HistoryStore,
  Page,
  RunKind,
  RunQuery,
  RunRecord,
  TestRecord,
  TestStatusFilter,
} from '../../core/history/types';
import { type Clock, systemClock } from '../../core/ports';

export interface FileHistoryStoreOptions {
  clock?: Clock;
  /** Runs kept per project (the newest); older ones are dropped at compaction. Default 5 000. */
  maxRunsPerProject?: number;
}

const DAY_MS = 86_400_000;
/** `runs.jsonl` is compacted once it holds this much more than `maxRunsPerProject` lines. */
const RUNS_SLACK = 1.2;
/** `tests.jsonl` is compacted once it holds more than this many lines per record. */
const TESTS_SLACK = 2;

const code = (e: unknown): string | undefined => (e as { code?: string }).code;

/**
 * A project name as one safe directory name: every byte outside `[a-z0-9_-]` becomes `%XX`
 * (so `/`, `.`, `..` and upper case are all escaped). Injective, and no two names differ only
 * in letter case, so it is safe on case-insensitive file systems too.
 */
export const encodeProject = (project: string): string =>
  [...Buffer.from(project, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[a-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');

/** A UTF-16 code unit moved so that code-unit order becomes code-point (= UTF-8 byte) order. */
const fixUnit = (u: number): number => (u >= 0xe000 ? u - 0x800 : u >= 0xd800 ? u + 0x2000 : u);

/**
 * The order DynamoDB sorts string keys in (UTF-8 bytes), so both stores list alike. Plain `<`
 * compares UTF-16 code units, which differs only where a surrogate meets U+E000..U+FFFF.
 */
const byteCompare = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixUnit(x) - fixUnit(y);
  }
  return a.length - b.length;
};

/** Orders and identifies a run, as the DynamoDB sort key does. */
const runKey = (run: Pick<RunRecord, 'ingestedAt' | 'runId'>): string =>
  `${run.ingestedAt}#${run.runId}`;

/** The index of the first of `sorted` (byte order) that comes after `key`. */
const firstAfter = (sorted: readonly string[], key: string): number => {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byteCompare(sorted[mid] as string, key) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
};

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
    throw new VigilError('bad_request', 'invalid cursor: pass back the cursor of a previous page');
  return key;
};

/**
 * Atomic replace: readers see the old or the new file, never a partial one. The directory is
 * created on first need only (one syscall less per write).
 */
const replaceFile = async (path: string, content: string | Uint8Array): Promise<void> => {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content);
  } catch (e) {
    if (code(e) !== 'ENOENT') throw e;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, content);
  }
  await rename(tmp, path);
};

/** The file's bytes, or undefined when there is none. */
const readIfExists = async (path: string): Promise<Buffer | undefined> => {
  try {
    return await readFile(path);
  } catch (e) {
    if (code(e) === 'ENOENT') return undefined;
    throw e;
  }
};

/** Appends to `file`, creating its directory on first need. */
const appendCreating = async (file: string, text: string): Promise<void> => {
  try {
    await appendFile(file, text);
  } catch (e) {
    if (code(e) !== 'ENOENT') throw e;
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, text);
  }
};

/** Where a line lies in the file: byte offset and length, newline included. */
interface Place {
  at: number;
  size: number;
}

/**
 * What an index holds per key: the record itself and its expiry. Records are shared, not
 * copied: a `put` keeps the caller's object and reads hand it out (no parsing per read), so
 * callers treat records as values, as the history service does. `place` is where its line was
 * written: a rewrite copies those bytes instead of serialising every record again.
 */
interface Entry {
  expiresAt: number;
  place?: Place;
}

/** A run: `runs.jsonl` lines are `{key, expiresAt, run}`. */
interface RunEntry extends Entry {
  run: RunRecord;
}

/** A test: `tests.jsonl` lines are `{expiresAt, record}`. */
interface TestEntry extends Entry {
  record: TestRecord;
}

/** One copy of each equal string: what a load keeps of the strings repeated across lines. */
type Intern = (s: string) => string;

/** How one kind of log reads and writes its lines. */
interface LineFormat<E extends Entry> {
  /** The key and entry of a parsed line; undefined for a line that is not one. */
  read(line: unknown, intern: Intern): [string, E] | undefined;
  write(key: string, entry: E): string;
}

const RUN_LINES: LineFormat<RunEntry> = {
  read: (line) => {
    const { key, expiresAt, run } = line as { key?: unknown; expiresAt?: unknown; run?: RunRecord };
    if (typeof key !== 'string' || typeof expiresAt !== 'number' || typeof run?.kind !== 'string')
      return undefined;
    return [key, { expiresAt, run }];
  },
  write: (key, e) => `${JSON.stringify({ key, expiresAt: e.expiresAt, run: e.run })}\n`,
};

const TEST_LINES: LineFormat<TestEntry> = {
  read: (line, intern) => {
    const { expiresAt, record } = line as { expiresAt?: unknown; record?: TestRecord };
    if (
      typeof expiresAt !== 'number' ||
      typeof record?.id !== 'string' ||
      !Array.isArray(record.outcomes)
    )
      return undefined;
    // All tests of a run share its id, time, branch and commit: keep them once, not per test
    // (halves the memory of a reloaded index).
    for (const o of record.outcomes) {
      o.runId = intern(o.runId);
      o.at = intern(o.at);
      if (o.branch !== undefined) o.branch = intern(o.branch);
      if (o.commit !== undefined) o.commit = intern(o.commit);
    }
    return [record.id, { expiresAt, record }];
  },
  write: (_id, e) => `${JSON.stringify({ expiresAt: e.expiresAt, record: e.record })}\n`,
};

/** When a log is rewritten and what it keeps: decided by the store that writes. */
interface Compaction<E extends Entry> {
  now(): number;
  /** The log is due a rewrite instead of an append that would make it `lines` long. */
  due(log: JsonLog<E>, now: number, lines: number): boolean;
  /** The keys to keep, from the live ones. */
  keep(live: string[], log: JsonLog<E>): string[];
}

/** A line waiting to be written, and its writer. */
interface Pending<E> {
  entry: E;
  line: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const NEWLINE = 10;
const OPEN_BRACE = 123;

/**
 * An append-only JSON-lines file and its in-memory index, the last line of a key winning.
 * Loaded once; from then on the index is authoritative and reads never touch the disk. A
 * `put` updates the index at once and resolves when its line is in the file; the lines that
 * arrive while a write is under way go out together in the next `appendFile`. A failed write
 * marks the log broken: its index may be ahead of the file, so it is dropped and reloaded.
 */
class JsonLog<E extends Entry> {
  readonly entries = new Map<string, E>();
  /** Lines in the file, superseded ones included. */
  lines = 0;
  /** Earliest expiry among the entries (stale low after rewrites: a rewrite recomputes it). */
  oldestExpiry = Infinity;
  broken = false;
  /** Bytes in the file. */
  #size = 0;
  /** The file ends in a torn line (a crash mid-append): the next append starts a new line. */
  #torn = false;
  #sorted: string[] | undefined;
  #pending: Pending<E>[] = [];
  #writing: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    readonly format: LineFormat<E>,
  ) {}

  static async load<E extends Entry>(file: string, format: LineFormat<E>): Promise<JsonLog<E>> {
    const log = new JsonLog(file, format);
    const bytes = await readIfExists(file);
    if (!bytes?.length) return log;
    const strings = new Map<string, string>();
    const intern: Intern = (s) => {
      const known = strings.get(s);
      if (known !== undefined) return known;
      strings.set(s, s);
      return s;
    };
    // Line by line from the buffer: the file may outgrow what one string can hold.
    for (let at = 0; at < bytes.length; ) {
      const nl = bytes.indexOf(NEWLINE, at);
      const end = nl < 0 ? bytes.length : nl + 1;
      const raw = bytes.toString('utf8', at, nl < 0 ? end : nl);
      const place = { at, size: end - at };
      at = end;
      if (!raw) continue;
      let parsed: [string, E] | undefined;
      try {
        parsed = format.read(JSON.parse(raw), intern);
      } catch {
        continue; // A torn line: skip it.
      }
      if (!parsed) continue;
      const [key, entry] = parsed;
      entry.place = place;
      log.entries.set(key, entry);
      log.lines++;
    }
    for (const e of log.entries.values())
      log.oldestExpiry = Math.min(log.oldestExpiry, e.expiresAt);
    log.#size = bytes.length;
    log.#torn = bytes[bytes.length - 1] !== NEWLINE;
    return log;
  }

  /** The entry of `key` unless it expired. */
  live(key: string, now: number): E | undefined {
    const e = this.entries.get(key);
    return e && e.expiresAt > now ? e : undefined;
  }

  /** Every key (live or not) in byte order, kept up to date as keys come, rebuilt when they go. */
  sorted(): readonly string[] {
    this.#sorted ??= [...this.entries.keys()].sort(byteCompare);
    return this.#sorted;
  }

  /**
   * Sets the entry now (no await before it, so a check made just before is a compare-and-swap)
   * and resolves once its line is in the file.
   */
  put(key: string, entry: E, compaction: Compaction<E>): Promise<void> {
    if (!this.entries.has(key) && this.#sorted) {
      // Insert in order (runs mostly arrive newest last, at the end) rather than sort again.
      const sorted = this.#sorted;
      sorted.splice(firstAfter(sorted, key), 0, key);
    }
    this.entries.set(key, entry);
    this.oldestExpiry = Math.min(this.oldestExpiry, entry.expiresAt);
    const line = this.format.write(key, entry);
    const written = new Promise<void>((resolve, reject) =>
      this.#pending.push({ entry, line, resolve, reject }),
    );
    this.#writing ??= this.#flush(compaction);
    return written;
  }

  /** Resolves when no write is under way. */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #flush(compaction: Compaction<E>): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const now = compaction.now();
        const lines = this.lines + batch.length;
        if (compaction.due(this, now, lines)) await this.#compact(batch, compaction, now);
        else await this.#append(batch, lines);
        for (const p of batch) p.resolve();
      } catch (e) {
        // Fail every writer still waiting: their lines may not be in the file either.
        this.broken = true;
        for (const p of [...batch, ...this.#pending]) p.reject(e);
        this.#pending = [];
      }
    }
    this.#writing = undefined;
  }

  async #append(batch: Pending<E>[], lines: number): Promise<void> {
    const lead = this.#torn ? '\n' : '';
    await appendCreating(this.file, lead + batch.map((p) => p.line).join(''));
    let at = this.#size + lead.length;
    for (const p of batch) {
      const size = Buffer.byteLength(p.line);
      p.entry.place = { at, size };
      at += size;
    }
    this.#size = at;
    this.#torn = false;
    this.lines = lines;
  }

  /**
   * Rewrites the file with the kept entries (temp file + rename) and drops the others. Taken
   * before the first await, the snapshot holds exactly the entries whose lines were written or
   * are in `batch`; later puts append after the rename. Written lines are copied as bytes.
   */
  async #compact(batch: Pending<E>[], compaction: Compaction<E>, now: number): Promise<void> {
    const lineOf = new Map(batch.map((p) => [p.entry, p.line]));
    const live = [...this.entries].filter(([, e]) => e.expiresAt > now).map(([k]) => k);
    const kept = new Set(compaction.keep(live, this));
    const plan: [string, E][] = [];
    let oldest = Infinity;
    for (const [key, e] of this.entries) {
      if (!kept.has(key)) {
        this.entries.delete(key);
        this.#sorted = undefined;
        continue;
      }
      plan.push([key, e]);
      oldest = Math.min(oldest, e.expiresAt);
    }
    const old = await readIfExists(this.file);
    const parts: Uint8Array[] = [];
    const places: Place[] = [];
    let at = 0;
    for (const [key, e] of plan) {
      const p = e.place;
      // A written line, checked to still look like one (else written again from the record).
      const copied =
        p && old?.[p.at] === OPEN_BRACE && old[p.at + p.size - 1] === NEWLINE
          ? old.subarray(p.at, p.at + p.size)
          : undefined;
      const bytes = copied ?? Buffer.from(lineOf.get(e) ?? this.format.write(key, e));
      parts.push(bytes);
      places.push({ at, size: bytes.length });
      at += bytes.length;
    }
    await replaceFile(this.file, Buffer.concat(parts));
    plan.forEach(([, e], i) => {
      e.place = places[i];
    });
    this.#size = at;
    this.#torn = false;
    this.lines = plan.length;
    this.oldestExpiry = oldest;
  }
}

/** Loaded logs by file, shared by all instances of this process (one process per data dir). */
const logs = new Map<string, Promise<JsonLog<Entry>>>();

/** The log of `file`, loaded on first use and again after a failed write. */
const openLog = async <E extends Entry>(
  file: string,
  format: LineFormat<E>,
): Promise<JsonLog<E>> => {
  for (;;) {
    let loading = logs.get(file) as Promise<JsonLog<E>> | undefined;
    if (!loading) {
      const started = JsonLog.load(file, format);
      loading = started;
      logs.set(file, started);
      // A failed load is not kept: the next call tries again.
      started.catch(() => {
        if (logs.get(file) === started) logs.delete(file);
      });
    }
    const log = await loading;
    if (!log.broken) return log;
    if (logs.get(file) === loading) logs.delete(file);
  }
};

const TEST_FILTERS: Record<TestStatusFilter, (t: TestRecord) => boolean> = {
  flaky: (t) => t.flaky !== undefined,
  failing: (t) => t.outcomes.at(-1)?.status === 'failed',
  passing: (t) => t.outcomes.at(-1)?.status === 'passed',
  all: () => true,
};

/**
 * `HistoryStore` as files, the local twin of the DynamoDB table, under
 * `<dataDir>/history/<encoded project>/`, each an append-only log read once per project into
 * an in-memory index that is then authoritative (reads and listings never touch the disk):
 *
 * - `runs.jsonl`: `{key, expiresAt, run}` per line. A run written again (same ingestedAt +
 *   runId) is one run, the last write winning. The log is rewritten (expired runs dropped, the
 *   newest `maxRunsPerProject` kept) when it grows 20% past that bound, or when a run expired
 *   more than a day ago.
 * - `tests.jsonl`: `{expiresAt, record}` per line, the last line of a test winning. The version
 *   check of `putTest` is a compare-and-swap on the index. The log is rewritten (live records
 *   only) once it holds more than twice as many lines as records, or when a record expired
 *   more than a day ago: each write costs one serialised, appended line, and at most one more
 *   copy of its bytes later.
 *
 * Rewrites go to a temporary file renamed over the log; a line torn by a crash is skipped.
 * Local mode runs one process per data dir, and this relies on it: the indexes are shared by
 * every instance in the process, not with other processes, so a second process writing the
 * same data dir would go unseen and write over its records. Records read are the index's own
 * objects: treat them as values.
 */
export class FileHistoryStore implements HistoryStore {
  readonly #root: string;
  readonly #clock: Clock;
  readonly #maxRuns: number;
  readonly #runCompaction: Compaction<RunEntry>;
  readonly #testCompaction: Compaction<TestEntry>;

  constructor(dataDir: string, opts: FileHistoryStoreOptions = {}) {
    this.#root = join(resolve(dataDir), 'history');
    this.#clock = opts.clock ?? systemClock;
    const maxRuns = opts.maxRunsPerProject ?? 5_000;
    this.#maxRuns = maxRuns;
    const now = () => this.#now();
    const expired = (log: JsonLog<Entry>, t: number) => log.oldestExpiry < t - DAY_MS;
    this.#runCompaction = {
      now,
      due: (log, t, lines) => lines > maxRuns * RUNS_SLACK || expired(log, t),
      // The newest runs: keys sort by time.
      keep: (live) => live.sort(byteCompare).slice(-maxRuns),
    };
    this.#testCompaction = {
      now,
      due: (log, t, lines) => lines > TESTS_SLACK * log.entries.size || expired(log, t),
      keep: (live) => live,
    };
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  #runs(project: string): Promise<JsonLog<RunEntry>> {
    return openLog(join(this.#root, encodeProject(project), 'runs.jsonl'), RUN_LINES);
  }

  #tests(project: string): Promise<JsonLog<TestEntry>> {
    return openLog(join(this.#root, encodeProject(project), 'tests.jsonl'), TEST_LINES);
  }

  /**
   * Waits for the writes under way and forgets this data dir's indexes, so that the next use
   * reads the files again (as a restarted process would).
   */
  async close(): Promise<void> {
    const prefix = `${this.#root}${sep}`;
    for (const [file, loading] of logs) {
      if (!file.startsWith(prefix)) continue;
      await (await loading.catch(() => undefined))?.settled();
      if (logs.get(file) === loading) logs.delete(file);
    }
  }

  async putRun(run: RunRecord, ttlDays: number): Promise<void> {
    let log: JsonLog<RunEntry>;
    do log = await this.#runs(run.project);
    while (log.broken); // (a write failed while we waited: write to the reloaded log)
    const entry = { expiresAt: this.#now() + ttlDays * DAY_MS, run };
    await log.put(runKey(run), entry, this.#runCompaction);
  }

  /**
   * Visits the project's live runs, newest first, until `visit` returns false: at most
   * `maxRunsPerProject` of them (what a rewrite keeps, so readers see the bound before it is
   * written). Synchronous after the load, so no write reorders the keys under it.
   */
  async #newestRuns(project: string, visit: (key: string, e: RunEntry) => boolean): Promise<void> {
    const log = await this.#runs(project);
    const now = this.#now();
    const keys = log.sorted();
    let seen = 0;
    for (let i = keys.length - 1; i >= 0 && seen < this.#maxRuns; i--) {
      const key = keys[i] as string;
      const e = log.live(key, now);
      if (!e) continue;
      seen++;
      if (!visit(key, e)) return;
    }
  }

  async listRuns(project: string, query: RunQuery): Promise<Page<RunRecord>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const limit = Math.max(0, query.limit);
    const items: RunRecord[] = [];
    let lastKey: string | undefined;
    let more = false;
    await this.#newestRuns(project, (key, { run }) => {
      if (
        (after !== undefined && byteCompare(key, after) >= 0) ||
        (query.kind !== undefined && run.kind !== query.kind) ||
        (query.branch !== undefined && run.branch !== query.branch) ||
        (query.suite !== undefined && (run.suite ?? null) !== query.suite)
      )
        return true;
      if (items.length === limit) {
        more = true;
        return false;
      }
      items.push(run);
      lastKey = key;
      return true;
    });
    return { items, ...(more && lastKey !== undefined ? { cursor: encodeCursor(lastKey) } : {}) };
  }

  async series(
    project: string,
    kind: RunKind,
    suite: string | undefined,
    branch: string,
    limit: number,
  ): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    if (limit <= 0) return out;
    await this.#newestRuns(project, (_key, { run }) => {
      if (run.kind === kind && run.suite === suite && run.branch === branch) out.push(run);
      return out.length < limit;
    });
    return out;
  }

  async getTests(project: string, ids: readonly string[]): Promise<Map<string, TestRecord>> {
    const log = await this.#tests(project);
    const now = this.#now();
    const out = new Map<string, TestRecord>();
    for (const id of ids) {
      const e = log.live(id, now);
      if (e) out.set(id, e.record);
    }
    return out;
  }

  async putTest(record: TestRecord, expectedVersion: number, ttlDays: number): Promise<boolean> {
    if (record.version !== expectedVersion + 1)
      throw new VigilError(
        'internal',
        `test record version must be expectedVersion + 1 (got ${record.version} after ${expectedVersion})`,
      );
    const now = this.#now();
    let log: JsonLog<TestEntry>;
    do log = await this.#tests(record.project);
    while (log.broken);
    // No await from the check to `put`: a compare-and-swap on the index.
    if ((log.live(record.id, now)?.record.version ?? 0) !== expectedVersion) return false;
    const entry = { expiresAt: now + ttlDays * DAY_MS, record };
    await log.put(record.id, entry, this.#testCompaction);
    return true;
  }

  async listTests(
    project: string,
    query: { status: TestStatusFilter; limit: number; cursor?: string },
  ): Promise<Page<TestRecord>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const log = await this.#tests(project);
    const now = this.#now();
    const ids = log.sorted();
    const matches = TEST_FILTERS[query.status];
    const limit = Math.max(0, query.limit);
    const items: TestRecord[] = [];
    let more = false;
    for (let i = after === undefined ? 0 : firstAfter(ids, after); i < ids.length; i++) {
      const e = log.live(ids[i] as string, now);
      if (!e || !matches(e.record)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(e.record);
    }
    const last = items.at(-1);
    return { items, ...(more && last ? { cursor: encodeCursor(last.id) } : {}) };
  }
}
