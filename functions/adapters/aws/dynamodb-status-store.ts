import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { AlertNotification, ProbeCompletedDetail } from '../../core/events';
import type { RunHeadline } from '../../core/status/api';
import { headlineOf, latestKey, type RunCatalog, type RunEntry } from '../../core/status/catalog';
import { applyNotification, byFiredDesc, overlaps } from '../../core/status/incidents';
import {
  type BucketCounts,
  bucketStart,
  failureOf,
  latencyBin,
  latestOf,
  MINUTE_RETENTION_DAYS,
  RESOLUTIONS,
  resolutionMs,
  sampleKey,
  toRollup,
} from '../../core/status/rollup';
import type {
  Incident,
  IncidentStore,
  ProbeCounts,
  ProbeFailure,
  ProbeHistoryStore,
  ProbeLatest,
  ProbeRollup,
  Resolution,
  RollupRange,
} from '../../core/status/types';

/**
 * The status table's schema, the one source of truth for the CDK construct: string keys
 * `pk`/`sk` and TTL on `expiresAt` (epoch seconds). No index: every read is a query on one
 * partition.
 *
 * | item              | pk                                      | sk                          |
 * | ----------------- | --------------------------------------- | --------------------------- |
 * | rollup            | `ROLLUP#<project>#<probe>#<resolution>` | `<bucketStart>`             |
 * | latest sample     | `PROBES`                                | `<project>#<probe>`         |
 * | failure           | `FAIL#<project>#<probe>`                | `<checkedAt>#<sample key>`  |
 * | sample seen       | `SEEN#<sample key>`                     | `-`                         |
 * | incident          | `INC#<incidentId>`                      | `-`                         |
 * | open incident     | `OPEN`                                  | `<firedAt>#<incidentId>`    |
 * | resolved incident | `RESOLVED`                              | `<resolvedAt>#<incidentId>` |
 * | run               | `RUN#<project>`                         | `<runId>`                   |
 * | latest run        | `RUNS`                                  | `<series key>`              |
 * | trend point       | `TREND#<project>#<kind>#<branch>`       | `<ingestedAt>#<runId>`      |
 *
 * Rollups hold `checks`, `failures` and one `h<bin>` counter per latency histogram bin, bumped
 * with `ADD` in one transaction with the sample's `SEEN` marker, so a redelivered sample counts
 * once. Minute rollups expire after 2 days, everything else after the retention.
 */
export const STATUS_TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttl: 'expiresAt' } as const;

export interface DynamoStatusStoreOptions {
  table: string;
  client: DynamoDBClient;
  /** Days rollups, failures, incidents and runs are kept (the history retention). */
  retentionDays: number;
}

type Item = Record<string, AttributeValue>;

const DAY_S = 86_400;
const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const data = (value: unknown): Item => ({ data: s(JSON.stringify(value)) });
const parse = <T>(item: Item): T => JSON.parse(item.data?.S ?? 'null') as T;
const epoch = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

const isConditionFailed = (e: unknown): boolean =>
  e instanceof Error &&
  (e.name === 'ConditionalCheckFailedException' ||
    (e.name === 'TransactionCanceledException' && /ConditionalCheckFailed/.test(e.message)));

/** Key parts that may hold `#` are percent-encoded. */
const part = (value: string): string => encodeURIComponent(value);

const rollupPk = (project: string, probe: string, r: Resolution): string =>
  `ROLLUP#${part(project)}#${part(probe)}#${r}`;
const failPk = (project: string, probe: string): string => `FAIL#${part(project)}#${part(probe)}`;
const probeSk = (project: string, probe: string): string => `${part(project)}#${part(probe)}`;

class Base {
  protected readonly table: string;
  protected readonly client: DynamoDBClient;
  protected readonly retentionS: number;

  constructor(o: DynamoStatusStoreOptions) {
    this.table = o.table;
    this.client = o.client;
    this.retentionS = o.retentionDays * DAY_S;
  }

  /** Every item of a query (all pages), or the first `limit`. */
  protected async query(input: Omit<QueryCommandInput, 'TableName'>, limit = Infinity) {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          ...input,
          ...(limit < Infinity ? { Limit: limit - items.length } : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items;
  }

  protected partition(pk: string, extra: Omit<QueryCommandInput, 'TableName'> = {}) {
    return {
      KeyConditionExpression: 'pk = :pk',
      ...extra,
      ExpressionAttributeValues: { ':pk': s(pk), ...extra.ExpressionAttributeValues },
    };
  }

  /** A put that may lose a race to a newer write (its condition failing is fine). */
  protected async putIf(item: Item, condition: string, values: Item): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
  }

  protected async transact(items: TransactWriteItem[]): Promise<boolean> {
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }
}

export class DynamoProbeHistoryStore extends Base implements ProbeHistoryStore {
  async record(sample: ProbeCompletedDetail): Promise<void> {
    const { project, probe, checkedAt } = sample.metadata;
    const at = epoch(checkedAt);
    // The latest first: idempotent on its own, so a crash after it loses nothing.
    await this.putIf(
      {
        pk: s('PROBES'),
        sk: s(probeSk(project, probe)),
        checkedAt: s(checkedAt),
        ...data(latestOf(sample)),
      },
      'attribute_not_exists(checkedAt) OR checkedAt <= :at',
      { ':at': s(checkedAt) },
    );
    const bin = `h${latencyBin(sample.latencyMs)}`;
    const key = sampleKey(sample);
    const failure = failureOf(sample);
    const writes: TransactWriteItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: {
            pk: s(`SEEN#${key}`),
            sk: s('-'),
            expiresAt: n(at + MINUTE_RETENTION_DAYS * DAY_S),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...RESOLUTIONS.map(
        (r): TransactWriteItem => ({
          Update: {
            TableName: this.table,
            Key: { pk: s(rollupPk(project, probe, r)), sk: s(bucketStart(checkedAt, r)) },
            UpdateExpression: 'ADD checks :one, failures :failed, #bin :one SET expiresAt = :exp',
            ExpressionAttributeNames: { '#bin': bin },
            ExpressionAttributeValues: {
              ':one': n(1),
              ':failed': n(sample.status === 'down' ? 1 : 0),
              ':exp': n(
                Math.floor(Date.parse(bucketStart(checkedAt, r)) / 1000) +
                  (r === 'minute' ? MINUTE_RETENTION_DAYS * DAY_S : this.retentionS) +
                  resolutionMs(r) / 1000,
              ),
            },
          },
        }),
      ),
      ...(failure
        ? [
            {
              Put: {
                TableName: this.table,
                Item: {
                  pk: s(failPk(project, probe)),
                  sk: s(`${checkedAt}#${key}`),
                  expiresAt: n(at + this.retentionS),
                  ...data(failure),
                },
              },
            },
          ]
        : []),
    ];
    await this.transact(writes); // false: a redelivered sample, already counted
  }

  async rollups(q: {
    project: string;
    probe: string;
    resolution: Resolution;
    from: string;
    to: string;
  }): Promise<ProbeRollup[]> {
    const items = await this.query(
      this.partition(rollupPk(q.project, q.probe, q.resolution), {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':from': s(q.from), ':to': s(q.to) },
      }),
    );
    return items
      .filter((i) => (i.sk?.S ?? '') < q.to)
      .map((i) => {
        const counts: BucketCounts = {
          checks: Number(i.checks?.N ?? 0),
          failures: Number(i.failures?.N ?? 0),
          hist: {},
        };
        for (const [name, value] of Object.entries(i))
          if (/^h\d+$/.test(name)) counts.hist[Number(name.slice(1))] = Number(value.N);
        return toRollup(
          {
            project: q.project,
            probe: q.probe,
            resolution: q.resolution,
            bucketStart: i.sk?.S ?? '',
          },
          counts,
        );
      });
  }

  /** The same query as `rollups`, reading only the counts (not the histogram's bins). */
  async counts(q: RollupRange): Promise<ProbeCounts> {
    const items = await this.query(
      this.partition(rollupPk(q.project, q.probe, q.resolution), {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':from': s(q.from), ':to': s(q.to) },
        ProjectionExpression: 'sk, checks, failures',
      }),
    );
    const sum = { checks: 0, failures: 0 };
    for (const i of items)
      if ((i.sk?.S ?? '') < q.to) {
        sum.checks += Number(i.checks?.N ?? 0);
        sum.failures += Number(i.failures?.N ?? 0);
      }
    return sum;
  }

  async latest(project?: string): Promise<ProbeLatest[]> {
    const items = await this.query(
      project === undefined
        ? this.partition('PROBES')
        : this.partition('PROBES', {
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
            ExpressionAttributeValues: { ':p': s(`${part(project)}#`) },
          }),
    );
    return items.map((i) => parse<ProbeLatest>(i));
  }

  async failures(q: { project: string; probe: string; limit: number }): Promise<ProbeFailure[]> {
    const items = await this.query(
      this.partition(failPk(q.project, q.probe), { ScanIndexForward: false }),
      q.limit,
    );
    return items.map((i) => parse<ProbeFailure>(i));
  }

  /** DynamoDB's TTL deletes old items (reads skip nothing: TTL lags by at most a day or two). */
  async prune(): Promise<void> {}
}

export class DynamoIncidentStore extends Base implements IncidentStore {
  async apply(notification: AlertNotification): Promise<void> {
    const key = { pk: s(`INC#${notification.incidentId}`), sk: s('-') };
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
    );
    const current = out.Item ? parse<Incident>(out.Item) : undefined;
    const next = applyNotification(current, notification);
    if (!next) return;
    const expires = n(
      epoch(next.resolvedAt ?? next.firedAt) +
        this.retentionS +
        (next.resolvedAt ? 0 : 365 * DAY_S),
    );
    const openKey = { pk: s('OPEN'), sk: s(`${next.firedAt}#${next.incidentId}`) };
    const writes: TransactWriteItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: {
            ...key,
            ...data(next),
            expiresAt: expires,
            ...(next.resolvedAt ? { resolved: s('1') } : {}),
          },
          // Two writers racing: the second one's condition fails and it changes nothing.
          ConditionExpression: current
            ? 'attribute_exists(pk) AND attribute_not_exists(resolved)'
            : 'attribute_not_exists(pk)',
        },
      },
      next.resolvedAt === undefined
        ? {
            Put: { TableName: this.table, Item: { ...openKey, ...data(next), expiresAt: expires } },
          }
        : {
            Put: {
              TableName: this.table,
              Item: {
                pk: s('RESOLVED'),
                sk: s(`${next.resolvedAt}#${next.incidentId}`),
                ...data(next),
                expiresAt: expires,
              },
            },
          },
    ];
    if (current && next.resolvedAt !== undefined)
      writes.push({ Delete: { TableName: this.table, Key: openKey } });
    await this.transact(writes);
  }

  async list(q: {
    from: string;
    to: string;
    project?: string;
    checkKey?: string;
    limit?: number;
  }): Promise<Incident[]> {
    // Overlapping [from, to): open and fired before `to`, or resolved at or after `from`.
    const [open, resolved] = await Promise.all([
      this.query(
        this.partition('OPEN', {
          KeyConditionExpression: 'pk = :pk AND sk < :to',
          ExpressionAttributeValues: { ':to': s(q.to) },
        }),
      ),
      this.query(
        this.partition('RESOLVED', {
          KeyConditionExpression: 'pk = :pk AND sk >= :from',
          ExpressionAttributeValues: { ':from': s(q.from) },
        }),
      ),
    ]);
    return [...open, ...resolved]
      .map((i) => parse<Incident>(i))
      .filter(
        (i) =>
          overlaps(i, q.from, q.to) &&
          (q.project === undefined || i.project === q.project) &&
          (q.checkKey === undefined || i.checkKey === q.checkKey),
      )
      .sort(byFiredDesc)
      .slice(0, q.limit ?? Infinity);
  }
}

const trendPk = (project: string, kind: string, branch: string): string =>
  `TREND#${part(project)}#${kind}#${part(branch)}`;

export class DynamoRunCatalog extends Base implements RunCatalog {
  async record(entry: RunEntry, ttlDays: number): Promise<void> {
    const expiresAt = n(epoch(entry.ingestedAt) + ttlDays * DAY_S);
    const headline = headlineOf(entry);
    await Promise.all([
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: s(`RUN#${part(entry.project)}`),
            sk: s(entry.runId),
            expiresAt,
            ...data(entry),
          },
        }),
      ),
      this.putIf(
        {
          pk: s('RUNS'),
          sk: s(latestKey(headline)),
          newest: s(`${entry.ingestedAt}#${entry.runId}`),
          expiresAt,
          ...data(headline),
        },
        'attribute_not_exists(newest) OR newest <= :at',
        { ':at': s(`${entry.ingestedAt}#${entry.runId}`) },
      ),
      entry.branch === undefined
        ? undefined
        : this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: {
                pk: s(trendPk(entry.project, entry.kind, entry.branch)),
                sk: s(`${entry.ingestedAt}#${entry.runId}`),
                expiresAt,
                ...data(headline),
              },
            }),
          ),
    ]);
  }

  async get(project: string, runId: string): Promise<RunEntry | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: s(`RUN#${part(project)}`), sk: s(runId) },
      }),
    );
    return out.Item ? parse<RunEntry>(out.Item) : undefined;
  }

  async latest(): Promise<RunHeadline[]> {
    return (await this.query(this.partition('RUNS'))).map((i) => parse<RunHeadline>(i));
  }

  async trend(q: {
    project: string;
    kind: RunHeadline['kind'];
    branch: string;
    limit: number;
  }): Promise<RunHeadline[]> {
    const items = await this.query(
      this.partition(trendPk(q.project, q.kind, q.branch), { ScanIndexForward: false }),
      q.limit,
    );
    return items.map((i) => parse<RunHeadline>(i));
  }
}
