import { bearerMatches } from '../../core/access';
import type { ConfiguredCheck } from '../../core/check-key';
import { VigilError } from '../../core/errors';
import { DIMENSIONS } from '../../core/metrics/catalog';
import {
  CATALOG_FAMILIES,
  type CatalogFamily,
  CONTENT_TYPES,
  type FamilySamples,
  familyOf,
  HEALTH_FAMILIES,
  labelOf,
  MAX_SERIES_PER_FAMILY,
  negotiate,
  type PromSample,
  renderExposition,
} from '../../core/metrics/prometheus';
import { errorResponse, type HttpResult } from '../../shared/http';
import type { Datapoint } from './metric-store';

/**
 * `GET /metrics` of local mode: every catalog metric in Prometheus' terms (see
 * core/metrics/prometheus.ts), fed by the datapoints the handlers emit while the process runs,
 * plus the process's own health: uptime, event backlog and failed deliveries per subscriber.
 */

interface Series {
  labels: Record<string, string>;
  value: number;
  /** Newest datapoint's time (gauges keep the newest). */
  at: number;
  /**
   * A new counter series is exposed at 0 first, its first increments only after that (the next
   * exposition): `increase()` and `rate()` count from a sample, so a series that appeared at its
   * value would lose its first increment to them.
   */
  pending?: number;
}

export interface HealthSource {
  /** Events not finished yet, per subscriber. */
  backlog(): Record<string, number>;
  /** Events dead-lettered so far. */
  readonly deadLetters: number;
  /** Failed delivery attempts per subscriber. */
  readonly deliveryFailures: ReadonlyMap<string, number>;
}

export class PrometheusRegistry {
  readonly #series = new Map<CatalogFamily, Map<string, Series>>(
    CATALOG_FAMILIES.map((f) => [f, new Map()]),
  );
  #dropped = 0;
  readonly #startedAt: number;

  constructor(
    private readonly bus: HealthSource,
    private readonly now: () => number = Date.now,
  ) {
    this.#startedAt = now();
  }

  /**
   * Starts the gauges from their newest stored datapoints (a restart keeps showing the last pass
   * rate, coverage...); counters start from 0 as Prometheus expects of a new process. A probe or
   * heartbeat no longer in `checks` (the configuration) is left out: its last value would be
   * exported for ever, and an alert rule on it would never resolve.
   */
  restoreGauges(
    store: { latest(names: readonly string[]): Datapoint[] },
    checks: readonly ConfiguredCheck[],
  ): void {
    const configured = new Set(checks.map((c) => `${c.kind}\n${c.project}\n${c.name}`));
    const kept = (p: Datapoint): boolean => {
      const project = p.dimensions[DIMENSIONS.project];
      const probe = p.dimensions[DIMENSIONS.probe];
      const heartbeat = p.dimensions[DIMENSIONS.heartbeat];
      if (probe !== undefined) return configured.has(`probe\n${project}\n${probe}`);
      if (heartbeat !== undefined) return configured.has(`heartbeat\n${project}\n${heartbeat}`);
      return true;
    };
    this.observe(
      store
        .latest(CATALOG_FAMILIES.filter((f) => f.type === 'gauge').map((f) => f.source))
        .filter(kept),
    );
  }

  /** Takes the datapoints of one EMF document; names the catalog does not have are ignored. */
  observe(points: readonly Datapoint[]): void {
    for (const p of points) {
      const family = familyOf(p.name);
      if (!family) continue;
      const labels: Record<string, string> = {};
      for (const [dimension, value] of Object.entries(p.dimensions)) {
        const label = labelOf(dimension);
        if (family.labels.includes(label)) labels[label] = value;
      }
      const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
      const all = this.#series.get(family) as Map<string, Series>;
      const value = p.value * family.scale;
      const old = all.get(key);
      if (!old) {
        if (all.size >= MAX_SERIES_PER_FAMILY) this.#dropped++;
        else if (family.type === 'counter')
          all.set(key, { labels, value: 0, at: p.timestamp, pending: value });
        else all.set(key, { labels, value, at: p.timestamp });
      } else if (family.type === 'counter') {
        if (old.pending === undefined) old.value += value;
        else old.pending += value;
      } else if (p.timestamp >= old.at) Object.assign(old, { value, at: p.timestamp });
    }
  }

  families(): FamilySamples[] {
    const catalog = [...this.#series].map(([family, all]) => ({
      family,
      samples: [...all.values()].map((series) => {
        const { labels, value, pending } = series;
        if (pending !== undefined)
          Object.assign(series, { value: value + pending, pending: undefined });
        return { labels, value };
      }),
    }));
    const perSubscriber = (values: Record<string, number>): PromSample[] =>
      Object.entries(values).map(([subscriber, value]) => ({ labels: { subscriber }, value }));
    const backlog = this.bus.backlog();
    const failures = Object.fromEntries(Object.keys(backlog).map((s) => [s, 0]));
    for (const [s, n] of this.bus.deliveryFailures) failures[s] = n;
    const one = (value: number): PromSample[] => [{ labels: {}, value }];
    return [
      ...catalog,
      { family: HEALTH_FAMILIES.uptime, samples: one((this.now() - this.#startedAt) / 1000) },
      { family: HEALTH_FAMILIES.backlog, samples: perSubscriber(backlog) },
      { family: HEALTH_FAMILIES.deliveryFailures, samples: perSubscriber(failures) },
      { family: HEALTH_FAMILIES.deadLetters, samples: one(this.bus.deadLetters) },
      { family: HEALTH_FAMILIES.seriesDropped, samples: one(this.#dropped) },
    ];
  }
}

/**
 * The answer to `GET /metrics`. Accepted bearer tokens: `VIGIL_METRICS_TOKEN` when set, and
 * always the ingest and read tokens (it is a GET route like the others).
 */
export const metricsExposition = (
  registry: PrometheusRegistry,
  headers: { authorization?: string | undefined; accept?: string | undefined },
  tokens: readonly string[],
  /** Headers of a refusal (the request's correlation id). */
  refusalHeaders: Record<string, string> = {},
): HttpResult => {
  if (!bearerMatches(headers.authorization, tokens))
    return errorResponse(
      new VigilError(
        'unauthorized',
        'Missing or wrong bearer token for /metrics: send "Authorization: Bearer <token>" with ' +
          'VIGIL_METRICS_TOKEN, a read token or an ingest token.',
      ),
      refusalHeaders,
    );
  const format = negotiate(headers.accept);
  return {
    statusCode: 200,
    headers: { 'content-type': CONTENT_TYPES[format], 'cache-control': 'no-store' },
    body: renderExposition(registry.families(), format),
  };
};
