import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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

/** One line of `runs.jsonl`. `key` orders and identifies the run, as the DynamoDB sort key. */
interface RunLine {
  key: string;
  expiresAt: number;
  run: RunRecord;
}

/** One file under `tests/`. */
interface TestFile {
  expiresAt: number;
  record: TestRecord;
}

const DAY_MS = 86_400_000;
/** `runs.jsonl` is compacted once it holds this much more than `maxRunsPerProject` lines. */
const COMPACT_SLACK = 1.2;
const READ_CONCURRENCY = 16;

const STATUS_FILTERS: Record<TestStatusFilter, (t: TestRecord) => boolean> = {
  flaky: (t) => t.flaky !== undefined,
  failing: (t) => t.outcomes.at(-1)?.status === 'failed',
  passing: (t) => t.outcomes.at(-1)?.status === 'passed',
  all: () => true,
};

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

const runKey = (run: Pick<RunRecord, 'ingestedAt' | 'runId'>): string =>
  `${run.ingestedAt}#${run.runId}`;

/** The lines of a runs file, oldest write first; torn lines (a crash mid-append) skipped. */
const parseLines = (text: string): RunLine[] => {
  const lines: RunLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      lines.push(JSON.parse(raw) as RunLine);
    } catch {
      // A torn line: skip it.
    }
  }
  return lines;
};

const oldestExpiry = (lines: readonly RunLine[]): number =>
  lines.reduce((min, l) => Math.min(min, l.expiresAt), Infinity);

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

/** Serialises async sections per key within this process (all instances share it). */
const queues = new Map<string, Promise<void>>();
const withLock = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
  const previous = queues.get(key) ?? Promise.resolve();
  let release: () => void = () => undefined;
  const mine = new Promise<void>((r) => {
    release = r;
  });
  const tail = previous.then(() => mine);
  queues.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (queues.get(key) === tail) queues.delete(key);
  }
};

/**
 * Atomic replace: readers see the old or the new file, never a partial one. The directory is
 * created on first need only (one syscall less per write).
 */
const replaceFile = async (path: string, content: string): Promise<void> => {
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

const readText = async (path: string): Promise<string | undefined> => {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (code(e) === 'ENOENT') return undefined;
    throw e;
  }
};

const mapLimit = async <T, R>(items: readonly T[], fn: (t: T) => Promise<R>): Promise<R[]> => {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, worker));
  return out;
};

/**
 * `HistoryStore` as files, the local twin of the DynamoDB table, under
 * `<dataDir>/history/<encoded project>/`:
 *
 * - `runs.jsonl`: one run per line, appended. A run written again (same ingestedAt + runId) is
 *   read back once, the last write winning. The file is compacted (deduplicated, expired runs
 *   dropped, the newest `maxRunsPerProject` kept, replaced atomically) when it grows 20% past
 *   that bound, or when a run expired more than a day ago.
 * - `tests/<sha256(test id)>.json`: one test record per file (a write costs one small file,
 *   however many tests the project has), replaced atomically, with its expiry. Expired files
 *   are ignored on read and deleted by a sweep at most once a day per project.
 *
 * Writers in one process are serialised per file, so the version check of `putTest` is a
 * compare-and-swap and no append is lost to a compaction. One data dir belongs to one process.
 */
export class FileHistoryStore implements HistoryStore {
  readonly #root: string;
  readonly #clock: Clock;
  readonly #maxRuns: number;
  /** Per runs file: lines it holds and the earliest expiry among them (a compaction trigger). */
  readonly #runFiles = new Map<string, { lines: number; oldestExpiry: number }>();
  readonly #lastSweep = new Map<string, number>();

  constructor(dataDir: string, opts: FileHistoryStoreOptions = {}) {
    this.#root = join(dataDir, 'history');
    this.#clock = opts.clock ?? systemClock;
    this.#maxRuns = opts.maxRunsPerProject ?? 5_000;
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  #dir(project: string): string {
    return join(this.#root, encodeProject(project));
  }

  #testPath(project: string, id: string): string {
    return join(
      this.#dir(project),
      'tests',
      `${createHash('sha256').update(id).digest('hex')}.json`,
    );
  }

  async putRun(run: RunRecord, ttlDays: number): Promise<void> {
    const dir = this.#dir(run.project);
    const file = join(dir, 'runs.jsonl');
    const line: RunLine = { key: runKey(run), expiresAt: this.#now() + ttlDays * DAY_MS, run };
    await withLock(file, async () => {
      let state = this.#runFiles.get(file);
      let torn = false;
      if (!state) {
        await mkdir(dir, { recursive: true });
        const text = (await readText(file)) ?? '';
        const lines = parseLines(text);
        state = { lines: lines.length, oldestExpiry: oldestExpiry(lines) };
        this.#runFiles.set(file, state);
        // A crash mid-append left a line without its newline: do not glue ours onto it.
        torn = text !== '' && !text.endsWith('\n');
      }
      await appendFile(file, `${torn ? '\n' : ''}${JSON.stringify(line)}\n`);
      state.lines++;
      state.oldestExpiry = Math.min(state.oldestExpiry, line.expiresAt);
      if (state.lines > this.#maxRuns * COMPACT_SLACK || state.oldestExpiry < this.#now() - DAY_MS)
        await this.#compact(file, state);
    });
  }

  async listRuns(project: string, query: RunQuery): Promise<Page<RunRecord>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const lines = (await this.#liveRuns(project)).filter(
      ({ key, run }) =>
        (after === undefined || byteCompare(key, after) < 0) &&
        (query.kind === undefined || run.kind === query.kind) &&
        (query.branch === undefined || run.branch === query.branch) &&
        (query.suite === undefined || (run.suite ?? null) === query.suite),
    );
    return page(
      lines,
      query.limit,
      (l) => l.run,
      (l) => l.key,
    );
  }

  async series(
    project: string,
    kind: RunKind,
    suite: string | undefined,
    branch: string,
    limit: number,
  ): Promise<RunRecord[]> {
    return (await this.#liveRuns(project))
      .filter(({ run }) => run.kind === kind && run.suite === suite && run.branch === branch)
      .slice(0, Math.max(0, limit))
      .map((l) => l.run);
  }

  async getTests(project: string, ids: readonly string[]): Promise<Map<string, TestRecord>> {
    const unique = [...new Set(ids)];
    const records = await mapLimit(unique, (id) => this.#readTest(this.#testPath(project, id)));
    const out = new Map<string, TestRecord>();
    unique.forEach((id, i) => {
      const record = records[i];
      if (record?.id === id) out.set(id, record);
    });
    return out;
  }

  async putTest(record: TestRecord, expectedVersion: number, ttlDays: number): Promise<boolean> {
    if (record.version !== expectedVersion + 1)
      throw new VigilError(
        'internal',
        `test record version must be expectedVersion + 1 (got ${record.version} after ${expectedVersion})`,
      );
    const path = this.#testPath(record.project, record.id);
    const written = await withLock(path, async () => {
      const current = await this.#readTest(path);
      if ((current?.version ?? 0) !== expectedVersion) return false;
      const file: TestFile = { expiresAt: this.#now() + ttlDays * DAY_MS, record };
      await replaceFile(path, JSON.stringify(file));
      return true;
    });
    if (written) await this.#sweepIfDue(record.project);
    return written;
  }

  async listTests(
    project: string,
    query: { status: TestStatusFilter; limit: number; cursor?: string },
  ): Promise<Page<TestRecord>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const records = (await this.#allTests(project))
      .filter(
        ({ record }) =>
          (after === undefined || byteCompare(record.id, after) > 0) &&
          STATUS_FILTERS[query.status](record),
      )
      .map(({ record }) => record)
      .sort((a, b) => byteCompare(a.id, b.id));
    return page(
      records,
      query.limit,
      (r) => r,
      (r) => r.id,
    );
  }

  async #readLines(file: string): Promise<RunLine[]> {
    return parseLines((await readText(file)) ?? '');
  }

  /** Unexpired runs, one per key (the last write wins), newest first. */
  #dedupe(lines: RunLine[]): RunLine[] {
    const now = this.#now();
    const byKey = new Map<string, RunLine>();
    for (const line of lines) byKey.set(line.key, line);
    return [...byKey.values()]
      .filter((l) => l.expiresAt > now)
      .sort((a, b) => byteCompare(b.key, a.key));
  }

  /** What a compaction would keep: readers see the bound even before it is written. */
  async #liveRuns(project: string): Promise<RunLine[]> {
    const lines = await this.#readLines(join(this.#dir(project), 'runs.jsonl'));
    return this.#dedupe(lines).slice(0, this.#maxRuns);
  }

  async #compact(file: string, state: { lines: number; oldestExpiry: number }): Promise<void> {
    const kept = this.#dedupe(await this.#readLines(file))
      .slice(0, this.#maxRuns)
      .reverse();
    await replaceFile(file, kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
    state.lines = kept.length;
    state.oldestExpiry = oldestExpiry(kept);
  }

  async #readTestFile(path: string): Promise<TestFile | undefined> {
    const text = await readText(path);
    if (text === undefined) return undefined;
    const file = JSON.parse(text) as TestFile;
    return file.expiresAt > this.#now() ? file : undefined;
  }

  async #readTest(path: string): Promise<TestRecord | undefined> {
    return (await this.#readTestFile(path))?.record;
  }

  async #testFiles(project: string): Promise<string[]> {
    const dir = join(this.#dir(project), 'tests');
    try {
      return (await readdir(dir)).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
    } catch (e) {
      if (code(e) === 'ENOENT') return [];
      throw e;
    }
  }

  async #allTests(project: string): Promise<{ path: string; record: TestRecord }[]> {
    const paths = await this.#testFiles(project);
    const records = await mapLimit(paths, (p) => this.#readTest(p));
    return paths.flatMap((path, i) => {
      const record = records[i];
      return record ? [{ path, record }] : [];
    });
  }

  /** Deletes expired test files, at most once a day per project (tests that stopped running). */
  async #sweepIfDue(project: string): Promise<void> {
    const now = this.#now();
    if (now - (this.#lastSweep.get(project) ?? -Infinity) < DAY_MS) return;
    this.#lastSweep.set(project, now);
    for (const path of await this.#testFiles(project)) {
      await withLock(path, async () => {
        const text = await readText(path);
        if (text === undefined || (JSON.parse(text) as TestFile).expiresAt > this.#now()) return;
        await unlink(path).catch((e) => {
          if (code(e) !== 'ENOENT') throw e;
        });
      });
    }
  }
}

/** The first `limit` of `sorted` (already past the cursor), with a cursor when more remain. */
const page = <T, R>(
  sorted: T[],
  limit: number,
  value: (t: T) => R,
  keyOf: (t: T) => string,
): Page<R> => {
  const items = sorted.slice(0, Math.max(0, limit));
  const last = items.at(-1);
  return {
    items: items.map(value),
    ...(sorted.length > items.length && last !== undefined
      ? { cursor: encodeCursor(keyOf(last)) }
      : {}),
  };
};
