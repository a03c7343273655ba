import { VigilError } from '../../core/errors';
import { logger } from '../../shared/powertools';
import { isDiskFull, parseRecord, type StoreDb, storeFailure } from './store/database';

/**
 * The local twin of CloudWatch metrics: it reads the EMF documents the handlers print
 * (exactly what CloudWatch Logs would turn into metrics) and keeps the datapoints,
 * in the embedded store, served by `GET /v1/metrics`.
 */

export interface Datapoint {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  timestamp: number;
  value: number;
}

export interface MetricQuery {
  name: string;
  /** Exact dimension set wanted, ignoring Powertools' `service` dimension. */
  dimensions?: Record<string, string>;
  /**
   * Dimensions the datapoints must have (others may be there too). A metric published under
   * several dimension sets answers from the smallest set that matches, so nothing counts twice.
   */
  where?: Record<string, string>;
  sinceMs?: number;
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}

const IGNORED_DIMENSIONS = new Set(['service']);
const MAX_POINTS = 200_000;

const ownDimensions = (p: Datapoint): number =>
  Object.keys(p.dimensions).filter((k) => !IGNORED_DIMENSIONS.has(k)).length;

const sameDimensions = (have: Record<string, string>, want: Record<string, string>): boolean => {
  const keys = Object.keys(have).filter((k) => !IGNORED_DIMENSIONS.has(k));
  return keys.length === Object.keys(want).length && keys.every((k) => have[k] === want[k]);
};

/** Datapoints of one EMF document; throws on anything that is not EMF. */
export const parseEmf = (line: string): Datapoint[] => {
  const doc = JSON.parse(line) as Record<string, unknown> & {
    _aws?: { Timestamp?: number; CloudWatchMetrics?: EmfDirective[] };
  };
  const aws = doc._aws;
  if (!aws?.CloudWatchMetrics || typeof aws.Timestamp !== 'number')
    throw new Error('not an EMF document');
  const points: Datapoint[] = [];
  for (const directive of aws.CloudWatchMetrics) {
    for (const dimensionSet of directive.Dimensions) {
      const dimensions: Record<string, string> = {};
      for (const d of dimensionSet) dimensions[d] = String(doc[d]);
      for (const metric of directive.Metrics) {
        const raw = doc[metric.Name];
        const values = Array.isArray(raw) ? raw : [raw];
        for (const value of values)
          if (typeof value === 'number')
            points.push({
              namespace: directive.Namespace,
              name: metric.Name,
              unit: metric.Unit ?? 'None',
              dimensions,
              timestamp: aws.Timestamp,
              value,
            });
      }
    }
  }
  return points;
};

const HOUR_MS = 3_600_000;

/** A store failure that passes (full disk, I/O error, busy): the points are worth writing again. */
const passing = (error: unknown): boolean => {
  const failure = storeFailure(error, 'store metric points');
  return failure instanceof VigilError && failure.code === 'unavailable';
};

/** Dimensions as stored: JSON with sorted keys, so equal sets are equal strings. */
export const dimsKey = (dims: Record<string, string>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(dims).sort(([a], [b]) => (a < b ? -1 : 1))));

interface Row {
  name: string;
  ts: number;
  dims: string;
  unit: string;
  namespace: string;
  value: number;
}

const pointOf = (r: Row): Datapoint | undefined => {
  const dimensions = parseRecord<Record<string, string>>(r.dims, `metric ${r.name}`);
  return dimensions
    ? {
        namespace: r.namespace,
        name: r.name,
        unit: r.unit,
        dimensions,
        timestamp: r.ts,
        value: r.value,
      }
    : undefined;
};

/**
 * The points: in the embedded store when it is given one (raw points kept for the retention,
 * then rolled up per hour), else in memory (the newest 200 000).
 */
export class LocalMetricStore {
  #points: Datapoint[] = [];
  /**
   * Points whose commit failed for want of space (or another store failure): kept until the bus's
   * next progress save writes them in its transaction (`writeFailed`).
   */
  #failed: Datapoint[] = [];
  readonly #db: StoreDb | undefined;
  readonly #listeners: ((points: readonly Datapoint[]) => void)[] = [];

  constructor(db?: StoreDb) {
    this.#db = db;
  }

  /** Calls `listener` with the datapoints of every EMF line taken from now on. */
  onPoints(listener: (points: readonly Datapoint[]) => void): void {
    this.#listeners.push(listener);
  }

  /** Take one printed line; non-EMF lines are ignored (handlers may print logs too). */
  ingestLine(line: string): number {
    let points: Datapoint[];
    try {
      points = parseEmf(line);
    } catch {
      return 0;
    }
    for (const listener of this.#listeners) listener(points);
    const db = this.#db;
    if (!db) {
      for (const p of points) this.#points.push(p); // no spread: a long line would overflow the stack
      if (this.#points.length > MAX_POINTS) this.#points = this.#points.slice(-MAX_POINTS);
      return points.length;
    }
    // Committed with the bus progress of the delivery that printed them (the last transaction
    // of one group commit): a crash keeps both or neither. If that commit fails (full disk), the
    // progress is not saved either, and its retry writes these points again (`writeFailed`).
    db.batch(() => this.#insert(db, points), { last: true }).catch((error: unknown) => {
      if (!passing(error)) {
        logger.error('could not store metric points', { error });
        return;
      }
      for (const p of points) this.#failed.push(p); // no spread (see above)
    });
    return points.length;
  }

  /**
   * Writes, in the caller's transaction, the points whose commit failed (see `ingestLine`): the
   * bus calls it in each save of its progress, so they commit with the progress that covers the
   * deliveries that printed them, never after it. Returns what to call once that transaction
   * ended: `committed` false keeps the points for the next save.
   */
  writeFailed(): ((committed: boolean) => void) | undefined {
    const db = this.#db;
    if (!db || this.#failed.length === 0) return undefined;
    const points = this.#failed;
    this.#failed = [];
    const keep = (committed: boolean) => {
      if (!committed) this.#failed = points.concat(this.#failed);
    };
    try {
      this.#insert(db, points);
    } catch (error) {
      if (!isDiskFull(error)) {
        // Never holds the progress back: points that cannot be written for another reason
        // (a damaged page) are dropped, and said so.
        logger.error('could not store metric points', { error });
        return undefined;
      }
      keep(false);
      throw error; // fails the whole transaction, the progress with it: both are tried again
    }
    return keep;
  }

  /** Number of points waiting for `writeFailed`. */
  get failedPoints(): number {
    return this.#failed.length;
  }

  #insert(db: StoreDb, points: readonly Datapoint[]): void {
    const insert = db.q(
      'INSERT INTO metrics (name, ts, dims, unit, namespace, value) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const p of points)
      insert.run(p.name, p.timestamp, dimsKey(p.dimensions), p.unit, p.namespace, p.value);
  }

  /**
   * Rolls raw points older than `rawBefore` (epoch ms) up into hourly count/sum/min/max and
   * deletes them, and deletes rollups older than `rollupsBefore`. Returns the raw points rolled.
   */
  prune(rawBefore: number, rollupsBefore: number): number {
    const db = this.#db;
    if (!db) return 0;
    return db.tx(() => {
      db.q(
        `INSERT INTO metric_rollups (name, dims, unit, namespace, hour, count, sum, min, max)
         SELECT name, dims, unit, namespace, (ts / ${HOUR_MS}) * ${HOUR_MS}, count(*), sum(value), min(value), max(value)
         FROM metrics WHERE ts < ? GROUP BY name, dims, unit, namespace, (ts / ${HOUR_MS})
         ON CONFLICT (name, dims, hour) DO UPDATE SET count = count + excluded.count,
         sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max)`,
      ).run(rawBefore);
      const rolled = db.q('DELETE FROM metrics WHERE ts < ?').run(rawBefore).changes;
      db.q('DELETE FROM metric_rollups WHERE hour < ?').run(rollupsBefore);
      return rolled;
    });
  }

  /** Hourly rollups of one metric since `sinceMs` (what is left of points past retention). */
  rollups(
    name: string,
    sinceMs = 0,
  ): {
    hour: number;
    dimensions: Record<string, string>;
    count: number;
    sum: number;
    min: number;
    max: number;
  }[] {
    const rows = (this.#db
      ?.q(
        'SELECT hour, dims, count, sum, min, max FROM metric_rollups WHERE name = ? AND hour >= ? ORDER BY hour',
      )
      .all(name, sinceMs) ?? []) as {
      hour: number;
      dims: string;
      count: number;
      sum: number;
      min: number;
      max: number;
    }[];
    return rows.map(({ dims, ...r }) => ({
      ...r,
      dimensions: parseRecord<Record<string, string>>(dims, 'metric rollup') ?? {},
    }));
  }

  query(q: MetricQuery): Datapoint[] {
    const where = Object.entries(q.where ?? {});
    const points = (this.#db ? this.#stored(q) : this.#points).filter(
      (p) =>
        p.name === q.name &&
        (q.sinceMs === undefined || p.timestamp >= q.sinceMs) &&
        (q.dimensions === undefined || sameDimensions(p.dimensions, q.dimensions)) &&
        where.every(([k, v]) => p.dimensions[k] === v),
    );
    if (where.length === 0) return points;
    const smallest = Math.min(...points.map(ownDimensions));
    return points.filter((p) => ownDimensions(p) === smallest);
  }

  #stored(q: MetricQuery): Datapoint[] {
    const rows = this.#db
      ?.q(
        'SELECT name, ts, dims, unit, namespace, value FROM metrics WHERE name = ? AND ts >= ? ORDER BY ts',
      )
      .all(q.name, q.sinceMs ?? 0) as Row[];
    return rows.map(pointOf).filter((p) => p !== undefined);
  }

  /** The newest datapoint of each dimension set of these metrics. */
  latest(names: readonly string[]): Datapoint[] {
    const newest = new Map<string, Datapoint>();
    const keep = (p: Datapoint) => {
      const key = `${p.name}\n${dimsKey(p.dimensions)}`;
      if ((newest.get(key)?.timestamp ?? -Infinity) <= p.timestamp) newest.set(key, p);
    };
    if (!this.#db) for (const p of this.#points) if (names.includes(p.name)) keep(p);
    for (const name of this.#db ? names : []) {
      // SQLite returns the row of max(ts) for the bare columns.
      const rows = this.#db
        ?.q(
          'SELECT name, max(ts) AS ts, dims, unit, namespace, value FROM metrics WHERE name = ? GROUP BY dims',
        )
        .all(name) as Row[];
      for (const r of rows) {
        const p = pointOf(r);
        if (p) keep(p);
      }
    }
    return [...newest.values()];
  }

  names(): string[] {
    if (this.#db)
      return (
        this.#db.q('SELECT DISTINCT name FROM metrics ORDER BY name').all() as { name: string }[]
      ).map((r) => r.name);
    return [...new Set(this.#points.map((p) => p.name))].sort();
  }
}
