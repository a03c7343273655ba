import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
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

/**
 * The history table's schema, the one source of truth for the CDK construct: string keys
 * `pk`/`sk`, TTL on `expiresAt` (epoch seconds), and a sparse GSI over flaky tests
 * (partition `flakyPk`, sort `sk`, projection ALL) that only flaky test items carry.
 */
export const HISTORY_TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttl: 'expiresAt',
  flakyIndex: { name: 'flaky', partitionKey: 'flakyPk', sortKey: 'sk' },
} as const;

export interface DynamoHistoryStoreOptions {
  table: string;
  client: DynamoDBClient;
  clock?: Clock;
  /** Base of the exponential backoff for unprocessed batch reads. Default 25. */
  retryDelayMs?: number;
}

type Item = Record<string, AttributeValue>;

const DAY_SECONDS = 86_400;
/** DynamoDB key limits, in UTF-8 bytes. */
const MAX_PK_BYTES = 2048;
const MAX_SK_BYTES = 1024;
/** JSON above this is stored gzip-compressed (one write unit is 1 KB). */
const GZIP_ABOVE_BYTES = 1024;
/** Budget for a run's data attribute; items are limited to 400 KB and runs are written twice. */
const MAX_DATA_BYTES = 300 * 1024;
const BATCH_GET_KEYS = 100;
const BATCH_GET_CONCURRENCY = 4;
const BATCH_GET_ATTEMPTS = 8;
/** A filtered query reads pages of at least this many items (Limit applies before filters). */
const FILTERED_PAGE = 100;
/** A filtered listing stops after this many queries and hands back a cursor. */
const MAX_QUERIES_PER_PAGE = 10;

const { name: FLAKY_INDEX } = HISTORY_TABLE_KEYS.flakyIndex;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A key that fits DynamoDB's byte limit: unchanged when short enough, otherwise a prefix cut at
 * a character boundary plus `~` and the sha256 of the whole, so distinct long ids stay distinct
 * and still sort (roughly) by their beginning.
 */
export const fitKey = (key: string, maxBytes: number): string => {
  if (Buffer.byteLength(key) <= maxBytes) return key;
  const hash = createHash('sha256').update(key).digest('hex');
  const budget = maxBytes - hash.length - 1;
  let prefix = '';
  let bytes = 0;
  for (const ch of key) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > budget) break;
    prefix += ch;
    bytes += n;
  }
  return `${prefix}~${hash}`;
};

/** `''` for an absent part, `=` + the escaped value otherwise: unambiguous between `#`s. */
const seriesPart = (value: string | undefined): string =>
  value === undefined ? '' : `=${encodeURIComponent(value)}`;

const runsPk = (project: string): string => fitKey(`RUNS#${project}`, MAX_PK_BYTES);
const testsPk = (project: string): string => fitKey(`TESTS#${project}`, MAX_PK_BYTES);
const flakyPk = (project: string): string => fitKey(`FLAKY#${project}`, MAX_PK_BYTES);
const seriesPk = (project: string, kind: RunKind, suite?: string, branch?: string): string =>
  fitKey(`SERIES#${project}#${kind}#${seriesPart(suite)}#${seriesPart(branch)}`, MAX_PK_BYTES);
const runSk = (run: Pick<RunRecord, 'ingestedAt' | 'runId'>): string =>
  fitKey(`${run.ingestedAt}#${run.runId}`, MAX_SK_BYTES);
const testSk = (id: string): string => fitKey(id, MAX_SK_BYTES);

/** Cursors carry only the sort key: the partition comes from the query, never from the client. */
const encodeCursor = (sk: string): string =>
  Buffer.from(JSON.stringify({ sk }), 'utf8').toString('base64url');

const decodeCursor = (cursor: string): string => {
  let sk: unknown;
  try {
    sk = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { sk?: unknown }).sk;
  } catch {
    sk = undefined;
  }
  if (typeof sk !== 'string' || sk === '' || Buffer.byteLength(sk) > MAX_SK_BYTES)
    throw new VigilError(
      'bad_request',
      'invalid cursor: pass back the cursor of a previous page',
      // The query parameter it came in: the history API's errors name the failing one.
      { path: 'query.cursor' },
    );
  return sk;
};

/**
 * A record as JSON, gzip-compressed above 1 KB: DynamoDB bills writes per KB, and a test record
 * with 30 outcomes shrinks from ~4.4 KB to ~0.4 KB (1 write unit instead of 5).
 */
const encodeData = (value: unknown): Item => {
  const json = JSON.stringify(value);
  return Buffer.byteLength(json) <= GZIP_ABOVE_BYTES
    ? { data: { S: json } }
    : { dataGz: { B: gzipSync(json) } };
};

/**
 * A run's data attribute. A benchmark run still too big once compressed keeps its first
 * benchmarks that fit (tens of thousands): items are limited to 400 KB.
 */
const encodeRun = (run: RunRecord): Item => {
  let record = run;
  for (;;) {
    const data = encodeData(record);
    const size = data.dataGz?.B?.byteLength ?? 0;
    if (size <= MAX_DATA_BYTES || record.kind !== 'benchmark') return data;
    const all = record.summary.benchmarks;
    const keep = Math.min(all.length - 1, Math.floor(all.length * (MAX_DATA_BYTES / size) * 0.9));
    record = { ...record, summary: { ...record.summary, benchmarks: all.slice(0, keep) } };
  }
};

const decodeData = <T>(item: Item): T | undefined => {
  if (item.data?.S !== undefined) return JSON.parse(item.data.S) as T;
  if (item.dataGz?.B !== undefined)
    return JSON.parse(gunzipSync(item.dataGz.B).toString('utf8')) as T;
  return undefined;
};

const isConditionFailed = (e: unknown): boolean =>
  e instanceof Error && e.name === 'ConditionalCheckFailedException';

/**
 * `HistoryStore` on one DynamoDB table (single-table design; see `HISTORY_TABLE_KEYS`):
 *
 * | item        | pk                                           | sk                     |
 * | ----------- | -------------------------------------------- | ---------------------- |
 * | run         | `RUNS#<project>`                             | `<ingestedAt>#<runId>` |
 * | run (again) | `SERIES#<project>#<kind>#=<suite>#=<branch>` | `<ingestedAt>#<runId>` |
 * | test        | `TESTS#<project>`                            | `<testId>`             |
 *
 * The record is JSON in `data`, or gzip-compressed in `dataGz` above 1 KB. Runs also carry
 * `kind`, `branch` and `suite` for filters; tests `version` (the write condition) and `last`
 * (the latest status). Every item has `expiresAt` (TTL, refreshed on each write); reads skip
 * expired items that DynamoDB has not deleted yet. A flaky test item also carries
 * `flakyPk = FLAKY#<project>`, which puts it in the sparse `flaky` index: listing flaky tests
 * reads only flaky tests and costs nothing extra on the writes of the (many) other tests.
 * Keys over DynamoDB's limits are cut and suffixed with a hash (`fitKey`).
 */
export class DynamoHistoryStore implements HistoryStore {
  private readonly table: string;
  private readonly client: DynamoDBClient;
  private readonly clock: Clock;
  private readonly retryDelayMs: number;

  constructor(options: DynamoHistoryStoreOptions) {
    this.table = options.table;
    this.client = options.client;
    this.clock = options.clock ?? systemClock;
    this.retryDelayMs = options.retryDelayMs ?? 25;
  }

  async putRun(run: RunRecord, ttlDays: number): Promise<void> {
    const item: Item = {
      sk: { S: runSk(run) },
      kind: { S: run.kind },
      ...(run.branch === undefined ? {} : { branch: { S: run.branch } }),
      ...(run.suite === undefined ? {} : { suite: { S: run.suite } }),
      expiresAt: { N: String(this.expiresAt(ttlDays)) },
      ...encodeRun(run),
    };
    const puts = [{ ...item, pk: { S: runsPk(run.project) } }];
    // A series is per branch: a run without one is in no regression baseline.
    if (run.branch !== undefined)
      puts.push({ ...item, pk: { S: seriesPk(run.project, run.kind, run.suite, run.branch) } });
    await Promise.all(
      puts.map((Item) => this.client.send(new PutItemCommand({ TableName: this.table, Item }))),
    );
  }

  async listRuns(project: string, query: RunQuery): Promise<Page<RunRecord>> {
    const names: Record<string, string> = {};
    const values: Item = {};
    const filters: string[] = [];
    if (query.kind !== undefined) {
      names['#kind'] = 'kind';
      values[':kind'] = { S: query.kind };
      filters.push('#kind = :kind');
    }
    if (query.branch !== undefined) {
      names['#branch'] = 'branch';
      values[':branch'] = { S: query.branch };
      filters.push('#branch = :branch');
    }
    if (query.suite !== undefined) {
      names['#suite'] = 'suite';
      if (query.suite === null) filters.push('attribute_not_exists(#suite)');
      else {
        values[':suite'] = { S: query.suite };
        filters.push('#suite = :suite');
      }
    }
    const pk = runsPk(project);
    return this.page<RunRecord>(
      { KeyConditionExpression: 'pk = :pk', ScanIndexForward: false },
      { pk, names, values, filters },
      query.limit,
      query.cursor,
      (sk) => ({ pk: { S: pk }, sk: { S: sk } }),
    );
  }

  async series(
    project: string,
    kind: RunKind,
    suite: string | undefined,
    branch: string,
    limit: number,
  ): Promise<RunRecord[]> {
    if (limit <= 0) return [];
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: '#exp > :now',
        ExpressionAttributeNames: { '#exp': HISTORY_TABLE_KEYS.ttl },
        ExpressionAttributeValues: {
          ':pk': { S: seriesPk(project, kind, suite, branch) },
          ':now': { N: String(this.nowSeconds()) },
        },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).flatMap((item) => decodeData<RunRecord>(item) ?? []);
  }

  async getTests(project: string, ids: readonly string[]): Promise<Map<string, TestRecord>> {
    const wanted = new Set(ids);
    const pk = testsPk(project);
    const keys = [...new Set([...wanted].map(testSk))].map((sk) => ({
      pk: { S: pk },
      sk: { S: sk },
    }));
    const chunks: Item[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS)
      chunks.push(keys.slice(i, i + BATCH_GET_KEYS));
    const out = new Map<string, TestRecord>();
    const now = this.nowSeconds();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) {
        for (const item of await this.batchGet(chunk)) {
          if (Number(item.expiresAt?.N ?? 0) <= now) continue;
          const record = decodeData<TestRecord>(item);
          if (record && wanted.has(record.id)) out.set(record.id, record);
        }
      }
    };
    await Promise.all(Array.from({ length: BATCH_GET_CONCURRENCY }, worker));
    return out;
  }

  async putTest(record: TestRecord, expectedVersion: number, ttlDays: number): Promise<boolean> {
    if (record.version !== expectedVersion + 1)
      throw new VigilError(
        'internal',
        `test record version must be expectedVersion + 1 (got ${record.version} after ${expectedVersion})`,
      );
    const last = record.outcomes.at(-1)?.status;
    const condition =
      expectedVersion === 0
        ? // Absent, or expired but not yet deleted by DynamoDB (readers no longer see it).
          { ConditionExpression: 'attribute_not_exists(pk) OR #exp <= :now', now: true }
        : { ConditionExpression: '#version = :expected', now: false };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: { S: testsPk(record.project) },
            sk: { S: testSk(record.id) },
            version: { N: String(record.version) },
            ...(last === undefined ? {} : { last: { S: last } }),
            ...(record.flaky ? { flakyPk: { S: flakyPk(record.project) } } : {}),
            expiresAt: { N: String(this.expiresAt(ttlDays)) },
            ...encodeData(record),
          },
          ConditionExpression: condition.ConditionExpression,
          ExpressionAttributeNames: condition.now
            ? { '#exp': HISTORY_TABLE_KEYS.ttl }
            : { '#version': 'version' },
          ExpressionAttributeValues: condition.now
            ? { ':now': { N: String(this.nowSeconds()) } }
            : { ':expected': { N: String(expectedVersion) } },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async listTests(
    project: string,
    query: { status: TestStatusFilter; limit: number; cursor?: string },
  ): Promise<Page<TestRecord>> {
    const pk = testsPk(project);
    if (query.status === 'flaky') {
      const fpk = flakyPk(project);
      return this.page<TestRecord>(
        { IndexName: FLAKY_INDEX, KeyConditionExpression: '#fpk = :pk' },
        { pk: fpk, names: { '#fpk': 'flakyPk' }, values: {}, filters: [] },
        query.limit,
        query.cursor,
        (sk) => ({ pk: { S: pk }, sk: { S: sk }, flakyPk: { S: fpk } }),
      );
    }
    const byLast =
      query.status === 'failing' ? 'failed' : query.status === 'passing' ? 'passed' : undefined;
    return this.page<TestRecord>(
      { KeyConditionExpression: 'pk = :pk' },
      byLast === undefined
        ? { pk, names: {}, values: {}, filters: [] }
        : {
            pk,
            names: { '#last': 'last' },
            values: { ':last': { S: byLast } },
            filters: ['#last = :last'],
          },
      query.limit,
      query.cursor,
      (sk) => ({ pk: { S: pk }, sk: { S: sk } }),
    );
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  private expiresAt(ttlDays: number): number {
    return this.nowSeconds() + Math.round(ttlDays * DAY_SECONDS);
  }

  /**
   * One page of a (filtered) query: DynamoDB's `Limit` counts items before the filter, so keep
   * querying until `limit + 1` items matched (the extra one says whether there is a next page)
   * or the partition ends. Bounded: after `MAX_QUERIES_PER_PAGE` queries the page may be short,
   * with a cursor to continue from.
   */
  private async page<T>(
    base: Pick<QueryCommandInput, 'IndexName' | 'KeyConditionExpression' | 'ScanIndexForward'>,
    expr: { pk: string; names: Record<string, string>; values: Item; filters: string[] },
    limit: number,
    cursor: string | undefined,
    keyOf: (sk: string) => Item,
  ): Promise<Page<T>> {
    if (limit <= 0) return { items: [] };
    const filtered = expr.filters.length > 0;
    let start = cursor === undefined ? undefined : keyOf(decodeCursor(cursor));
    const found: Item[] = [];
    for (let queries = 1; ; queries++) {
      const want = limit + 1 - found.length;
      const out = await this.client.send(
        new QueryCommand({
          ...base,
          TableName: this.table,
          FilterExpression: ['#exp > :now', ...expr.filters].join(' AND '),
          ExpressionAttributeNames: { ...expr.names, '#exp': HISTORY_TABLE_KEYS.ttl },
          ExpressionAttributeValues: {
            ...expr.values,
            ':pk': { S: expr.pk },
            ':now': { N: String(this.nowSeconds()) },
          },
          Limit: filtered ? Math.max(want, FILTERED_PAGE) : want,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      found.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
      if (found.length > limit) {
        const items = found.slice(0, limit);
        const lastSk = items.at(-1)?.sk?.S;
        return {
          items: items.flatMap((i) => decodeData<T>(i) ?? []),
          ...(lastSk ? { cursor: encodeCursor(lastSk) } : {}),
        };
      }
      if (!start || queries >= MAX_QUERIES_PER_PAGE) {
        const nextSk = start?.sk?.S;
        return {
          items: found.flatMap((i) => decodeData<T>(i) ?? []),
          ...(nextSk ? { cursor: encodeCursor(nextSk) } : {}),
        };
      }
    }
  }

  /** BatchGetItem with its unprocessed keys retried (exponential backoff with jitter). */
  private async batchGet(keys: Item[]): Promise<Item[]> {
    const items: Item[] = [];
    let pending = keys;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > BATCH_GET_ATTEMPTS)
        throw new VigilError('unavailable', 'history table is throttling reads; try again');
      if (attempt > 1) await sleep(Math.random() * this.retryDelayMs * 2 ** attempt);
      const out = await this.client.send(
        new BatchGetItemCommand({
          RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      items.push(...(out.Responses?.[this.table] ?? []));
      pending = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
    }
    return items;
  }
}
