import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/**
 * The local twin of CloudWatch metrics: it reads the EMF documents the handlers print
 * (exactly what CloudWatch Logs would turn into metrics) and keeps the datapoints,
 * persisted as `<dataDir>/metrics.ndjson` and served by `GET /v1/metrics`.
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

export class LocalMetricStore {
  #points: Datapoint[] = [];
  readonly #file: string | undefined;

  constructor(dataDir?: string) {
    if (!dataDir) return;
    mkdirSync(dataDir, { recursive: true });
    this.#file = join(dataDir, 'metrics.ndjson');
    try {
      for (const line of readFileSync(this.#file, 'utf8').split('\n'))
        if (line) this.#points.push(JSON.parse(line) as Datapoint);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
  }

  /** Take one printed line; non-EMF lines are ignored (handlers may print logs too). */
  ingestLine(line: string): number {
    let points: Datapoint[];
    try {
      points = parseEmf(line);
    } catch {
      return 0;
    }
    this.#points.push(...points);
    if (this.#points.length > MAX_POINTS) this.#points = this.#points.slice(-MAX_POINTS);
    if (this.#file && points.length)
      appendFileSync(this.#file, points.map((p) => `${JSON.stringify(p)}\n`).join(''));
    return points.length;
  }

  /** A stream to hand to a Console: every line written is read as EMF. */
  writable(echo?: (line: string) => void): Writable {
    let pending = '';
    return new Writable({
      write: (chunk: Buffer | string, _enc, done) => {
        pending += chunk.toString();
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          this.ingestLine(line);
          echo?.(line);
          nl = pending.indexOf('\n');
        }
        done();
      },
    });
  }

  query(q: MetricQuery): Datapoint[] {
    const where = Object.entries(q.where ?? {});
    const points = this.#points.filter(
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

  names(): string[] {
    return [...new Set(this.#points.map((p) => p.name))].sort();
  }
}
