import { bearerMatches } from '../../core/access';
import { type ConfiguredCheck, configuredChecks } from '../../core/check-key';
import type { VigilConfig } from '../../core/config';
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

/**
 * One family's series in two groups, each a Map in recency order (an update moves a series to
 * the end, so the first one is the least recently updated): `configured` holds the series of
 * the configuration's projects and checks, `others` the rest (project names a report made up).
 */
interface FamilySeries {
  configured: Map<string, Series>;
  others: Map<string, Series>;
}

/** The projects and checks a configuration names: their series are not evicted for others. */
const configuredNames = (config: VigilConfig | undefined) => {
  const checks = config ? configuredChecks(config) : [];
  const projects = new Set(
    config
      ? [config.project, ...Object.keys(config.projects), ...checks.map((c) => c.project)]
      : [],
  );
  return {
    // NFC: ingest stores the canonical form of a project name (core/project.ts).
    projects: new Set([...projects].map((p) => p.normalize('NFC'))),
    checks: new Set(checks.map((c) => `${c.kind}\n${c.project.normalize('NFC')}\n${c.name}`)),
  };
};

export interface HealthSource {
  /** Events not finished yet, per subscriber. */
  backlog(): Record<string, number>;
  /** Events dead-lettered so far. */
  readonly deadLetters: number;
  /** Failed delivery attempts per subscriber. */
  readonly deliveryFailures: ReadonlyMap<string, number>;
}

export class PrometheusRegistry {
  readonly #series = new Map<CatalogFamily, FamilySeries>(
    CATALOG_FAMILIES.map((f) => [f, { configured: new Map(), others: new Map() }]),
  );
  #dropped = 0;
  readonly #startedAt: number;
  readonly #configured: ReturnType<typeof configuredNames>;

  /**
   * `config`: its projects, probes and heartbeats keep their series when a family is full (any
   * ingest token can make up project names; without it every series competes alike).
   */
  constructor(
    private readonly bus: HealthSource,
    private readonly now: () => number = Date.now,
    config?: VigilConfig,
  ) {
    this.#startedAt = now();
    this.#configured = configuredNames(config);
  }

  /**
   * Whether a series is one of the configuration's: its project is configured and, for a probe
   * or heartbeat metric, so is the check. A family without a project label holds the pipeline's
   * own series (labels from a fixed set of codes, kinds and channels): kept alike.
   */
  #isConfigured(labels: Readonly<Record<string, string>>): boolean {
    const project = labels[labelOf(DIMENSIONS.project)];
    if (project === undefined) return true;
    if (!this.#configured.projects.has(project)) return false;
    const probe = labels[labelOf(DIMENSIONS.probe)];
    if (probe !== undefined) return this.#configured.checks.has(`probe\n${project}\n${probe}`);
    const heartbeat = labels[labelOf(DIMENSIONS.heartbeat)];
    if (heartbeat !== undefined)
      return this.#configured.checks.has(`heartbeat\n${project}\n${heartbeat}`);
    return true;
  }

  /**
   * Room for one more series in a full family: the least recently updated of `others` goes
   * first; a configured newcomer takes the least recently updated configured series only when
   * the whole family is configured (memory stays bounded). False when nothing may go: an
   * unconfigured newcomer never evicts a configured series.
   */
  #makeRoom(all: FamilySeries, configured: boolean): boolean {
    const from = all.others.size > 0 ? all.others : configured ? all.configured : undefined;
    const oldest = from?.keys().next().value;
    if (from === undefined || oldest === undefined) return false;
    // A counter evicted and seen again starts as a new series (0 first): Prometheus sees the
    // old one go stale and a reset, so increase() misses the increments while it was out (they
    // are counted here), never counts them twice.
    from.delete(oldest);
    this.#dropped++;
    return true;
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
        .filter(kept)
        // Oldest first: the store's order is arbitrary, and a full family evicts by recency.
        .sort((a, b) => a.timestamp - b.timestamp),
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
      const all = this.#series.get(family) as FamilySeries;
      const value = p.value * family.scale;
      const group = this.#isConfigured(labels) ? all.configured : all.others;
      const old = group.get(key);
      if (!old) {
        const full = all.configured.size + all.others.size >= MAX_SERIES_PER_FAMILY;
        if (full && !this.#makeRoom(all, group === all.configured)) this.#dropped++;
        else if (family.type === 'counter')
          group.set(key, { labels, value: 0, at: p.timestamp, pending: value });
        else group.set(key, { labels, value, at: p.timestamp });
        continue;
      }
      // Updated: to the end of the recency order.
      group.delete(key);
      group.set(key, old);
      if (family.type === 'counter') {
        if (old.pending === undefined) old.value += value;
        else old.pending += value;
      } else if (p.timestamp >= old.at) Object.assign(old, { value, at: p.timestamp });
    }
  }

  families(): FamilySamples[] {
    const catalog = [...this.#series].map(([family, all]) => ({
      family,
      samples: [...all.configured.values(), ...all.others.values()].map((series) => {
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
