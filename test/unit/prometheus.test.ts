import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBus } from '../../functions/adapters/local/bus';
import { LocalMetricStore } from '../../functions/adapters/local/metric-store';
import {
  type HealthSource,
  metricsExposition,
  PrometheusRegistry,
} from '../../functions/adapters/local/prometheus';
import { LocalStore } from '../../functions/adapters/local/store';
import { configuredChecks } from '../../functions/core/check-key';
import { parseConfig } from '../../functions/core/config';
import { DETAIL_TYPES, type KnownEvent, SOURCES } from '../../functions/core/events';
import { datapointsFor, METRICS, PIPELINE_METRICS } from '../../functions/core/metrics/catalog';
import {
  CATALOG_FAMILIES,
  familyOf,
  MAX_SERIES_PER_FAMILY,
  negotiate,
  promFamily,
  promName,
  renderExposition,
  snakeCase,
} from '../../functions/core/metrics/prometheus';

const point = (name: string, value: number, dimensions: Record<string, string>, timestamp = 1) => ({
  namespace: 'Vigil',
  name,
  unit: 'None',
  dimensions: { service: 'vigil', ...dimensions },
  timestamp,
  value,
});

const bus = (over: Partial<HealthSource> = {}): HealthSource => ({
  backlog: () => ({ metrics: 2, alerts: 0 }),
  deadLetters: 1,
  deliveryFailures: new Map([['metrics', 3]]),
  ...over,
});

describe('Prometheus names of the catalog', () => {
  it('maps every catalog metric by the documented rule (the table of docs/prometheus-grafana.md)', () => {
    const table = Object.fromEntries(
      CATALOG_FAMILIES.map((f) => [f.source, `${promName({ name: f.source })} ${f.type}`]),
    );
    expect(table).toEqual({
      TestsTotal: 'vigil_tests_total counter',
      TestsFailed: 'vigil_tests_failed_total counter',
      TestsSkipped: 'vigil_tests_skipped_total counter',
      TestsFlaky: 'vigil_tests_flaky_total counter',
      TestPassRate: 'vigil_test_pass_rate_ratio gauge',
      SuiteDuration: 'vigil_suite_duration_seconds gauge',
      TestRuns: 'vigil_test_runs_total counter',
      GateFailures: 'vigil_gate_failures_total counter',
      CoverageLines: 'vigil_coverage_lines_ratio gauge',
      CoverageBranches: 'vigil_coverage_branches_ratio gauge',
      CoverageFunctions: 'vigil_coverage_functions_ratio gauge',
      CoverageStatements: 'vigil_coverage_statements_ratio gauge',
      LoadRequests: 'vigil_load_requests_total counter',
      LoadErrorRate: 'vigil_load_error_rate_ratio gauge',
      LoadLatencyP95: 'vigil_load_latency_p95_seconds gauge',
      LoadLatencyP99: 'vigil_load_latency_p99_seconds gauge',
      BenchmarkValue: 'vigil_benchmark_value gauge',
      SecurityFindings: 'vigil_security_findings gauge',
      SecurityNewFindings: 'vigil_security_new_findings_total counter',
      FlakyTests: 'vigil_flaky_tests gauge',
      ProbeAvailability: 'vigil_probe_availability gauge',
      ProbeLatency: 'vigil_probe_latency_seconds gauge',
      ProbeTlsDaysRemaining: 'vigil_probe_tls_days_remaining gauge',
      HeartbeatUp: 'vigil_heartbeat_up gauge',
      ReportsIngested: 'vigil_reports_ingested_total counter',
      InputsRejected: 'vigil_inputs_rejected_total counter',
      PublishRetries: 'vigil_publish_retries_total counter',
      ProbeRuns: 'vigil_probe_runs_total counter',
      AlertsSent: 'vigil_alerts_sent_total counter',
      DeliveryFailures: 'vigil_delivery_failures_total counter',
    });
    expect(familyOf(METRICS.suiteDuration.name)).toMatchObject({ unit: 'seconds', scale: 0.001 });
    expect(familyOf(METRICS.testPassRate.name)).toMatchObject({ unit: 'ratio', scale: 0.01 });
  });

  it('keeps a unit suffix once, knows units the catalog may add, and refuses unknown names', () => {
    expect(snakeCase('HTTPRequestBytes')).toBe('http_request_bytes');
    expect(promFamily({ name: 'BodyBytes', unit: 'Bytes' }, []).family).toBe('vigil_body_bytes');
    expect(promFamily({ name: 'Wait', unit: 'Seconds' }, []).family).toBe('vigil_wait_seconds');
    expect(() => promName({ name: 'Nope' })).toThrow('Nope is not in the metric catalog');
  });

  it('declares as labels every dimension the metrics handler publishes (and no other)', () => {
    // Prepare: one event of each kind, through the catalog's own datapointsFor.
    const config = parseConfig({ projects: { shop: { metricSuites: ['api'] } } });
    const metadata = { project: 'shop', suite: 'api' };
    const gate = { status: 'fail' };
    const events = [
      {
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.testRun,
        detail: {
          metadata,
          gate,
          summary: { total: 2, passed: 1, failed: 1, skipped: 0, flaky: 0, durationMs: 5 },
        },
      },
      {
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.coverage,
        detail: {
          metadata,
          gate,
          summary: {
            lines: { pct: 1 },
            branches: { pct: 1 },
            functions: { pct: 1 },
            statements: { pct: 1 },
          },
        },
      },
      {
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.load,
        detail: {
          metadata,
          gate,
          summary: { requests: 1, errorRate: 0, latencyMs: { p95: 1, p99: 2 } },
        },
      },
      {
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.benchmark,
        detail: { metadata, gate, summary: { benchmarks: [{ name: 'parse', value: 1 }] } },
      },
      {
        source: SOURCES.probe,
        detailType: DETAIL_TYPES.probeCompleted,
        detail: {
          metadata: { project: 'shop', probe: 'api' },
          status: 'up',
          latencyMs: 3,
          tls: { daysRemaining: 9 },
        },
      },
      {
        source: SOURCES.ingest,
        detailType: DETAIL_TYPES.security,
        detail: {
          metadata,
          gate,
          summary: {
            new: 1,
            bySeverity: { critical: 0, high: 1, medium: 0, low: 0, info: 0 },
            tools: [{ name: 'semgrep', findings: 1 }],
          },
        },
      },
      {
        source: SOURCES.heartbeat,
        detailType: DETAIL_TYPES.heartbeatChecked,
        detail: { metadata: { project: 'shop', heartbeat: 'nightly' }, status: 'up' },
      },
    ] as unknown as KnownEvent[];

    // Act
    const seen = new Map<string, Set<string>>();
    for (const event of events)
      for (const group of datapointsFor(event, config))
        for (const dims of group.dimensionSets)
          for (const datum of group.data)
            for (const k of Object.keys(dims))
              seen.set(datum.name, (seen.get(datum.name) ?? new Set()).add(k.toLowerCase()));

    // Assess: the published dimensions are exactly the declared labels.
    for (const m of Object.values(METRICS)) {
      if (m === METRICS.flakyTests) continue; // the history handler's: [Project] only
      expect([...(seen.get(m.name) ?? [])].sort(), m.name).toEqual(
        [...(familyOf(m.name)?.labels ?? [])].sort(),
      );
    }
    for (const m of Object.values(PIPELINE_METRICS))
      expect(familyOf(m.name)?.labels).toEqual(m.dimensions.map((d) => d.toLowerCase()));
  });
});

describe('exposition formats', () => {
  const family = {
    family: 'vigil_x_seconds',
    type: 'gauge' as const,
    unit: 'seconds' as const,
    help: 'back\\slash\nnew line',
    labels: ['benchmark'],
  };
  const hostile = { benchmark: 'a"b\\c\nd' };

  it('escapes hostile label values and help text, and writes special values as Prometheus does', () => {
    const text = renderExposition(
      [
        {
          family,
          samples: [
            { labels: hostile, value: Number.NaN },
            { labels: { benchmark: '' }, value: Infinity },
            { labels: {}, value: -Infinity },
          ],
        },
      ],
      'text',
    );
    expect(text).toBe(
      [
        '# HELP vigil_x_seconds back\\\\slash\\nnew line',
        '# TYPE vigil_x_seconds gauge',
        'vigil_x_seconds{benchmark="a\\"b\\\\c\\nd"} NaN',
        'vigil_x_seconds +Inf',
        'vigil_x_seconds -Inf',
        '',
      ].join('\n'),
    );
  });

  it('names counter families without _total in OpenMetrics, with # UNIT and # EOF', () => {
    const counter = { ...family, family: 'vigil_y', type: 'counter' as const, unit: '' as const };
    const samples = [{ labels: {}, value: 2 }];
    expect(
      renderExposition(
        [
          { family: counter, samples },
          { family, samples },
        ],
        'openmetrics',
      ),
    ).toBe(
      [
        '# HELP vigil_y back\\\\slash\\nnew line',
        '# TYPE vigil_y counter',
        'vigil_y_total 2',
        '# HELP vigil_x_seconds back\\\\slash\\nnew line',
        '# TYPE vigil_x_seconds gauge',
        '# UNIT vigil_x_seconds seconds',
        'vigil_x_seconds 2',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it.each([
    [undefined, 'text'],
    ['*/*', 'text'],
    ['text/plain;version=0.0.4', 'text'],
    ['application/openmetrics-text;version=1.0.0,text/plain;q=0.5', 'openmetrics'],
    ['text/plain, Application/OpenMetrics-Text; q=0.2', 'openmetrics'],
    ['application/openmetrics-text;q=0', 'text'],
  ])('Accept %s gets %s', (accept, format) => {
    expect(negotiate(accept)).toBe(format);
  });
});

describe('the local registry behind GET /metrics', () => {
  it('sums counters, keeps the newest gauge, converts units, drops unknown dimensions and names', () => {
    // Prepare
    let now = 1_000;
    const registry = new PrometheusRegistry(bus(), () => now);
    const shop = { Project: 'shop' };

    // Act
    registry.observe([
      point(METRICS.testsFailed.name, 2, shop),
      point(METRICS.testsFailed.name, 3, shop),
      point(METRICS.testsFailed.name, 1, { Project: 'shop', Suite: 'api' }),
      point(METRICS.suiteDuration.name, 1500, shop, 20),
      point(METRICS.suiteDuration.name, 9000, shop, 10), // older: ignored
      point(METRICS.testPassRate.name, 87.5, { ...shop, RunId: 'r1' }),
      point('SomethingElse', 1, shop),
    ]);
    now = 3_500;
    const first = renderExposition(registry.families(), 'text');
    const text = renderExposition(registry.families(), 'text');

    // Assess: a new counter is exposed at 0 once, then with what it counted (increase() sees it all).
    expect(first).toContain('\nvigil_tests_failed_total{project="shop"} 0\n');
    expect(first).toContain('\nvigil_suite_duration_seconds{project="shop"} 1.5\n');
    expect(text).toContain('\nvigil_tests_failed_total{project="shop"} 5\n');
    expect(text).toContain('\nvigil_tests_failed_total{project="shop",suite="api"} 1\n');
    expect(text).toContain('\nvigil_suite_duration_seconds{project="shop"} 1.5\n');
    expect(text).toContain('\nvigil_test_pass_rate_ratio{project="shop"} 0.875\n');
    expect(text).not.toContain('something');
    expect(text).toContain('\nvigil_uptime_seconds 2.5\n');
    expect(text).toContain('\nvigil_event_backlog{subscriber="metrics"} 2\n');
    expect(text).toContain('\nvigil_event_delivery_failures_total{subscriber="metrics"} 3\n');
    expect(text).toContain('\nvigil_event_delivery_failures_total{subscriber="alerts"} 0\n');
    expect(text).toContain('\nvigil_event_dead_letters_total 1\n');
    registry.observe([point(METRICS.testsFailed.name, 2, shop)]);
    expect(renderExposition(registry.families(), 'text')).toContain(
      '\nvigil_tests_failed_total{project="shop"} 7\n',
    );
  });

  it.each([
    ['in memory', false],
    ['in the embedded store', true],
  ])('restores the newest gauges %s after a restart, and no counter', async (_where, durable) => {
    // Prepare: what an earlier process left in the metric store.
    const dir = await mkdtemp(join(tmpdir(), 'vigil-restore-'));
    const store = durable ? LocalStore.open(dir) : undefined;
    const metrics = store?.metrics ?? new LocalMetricStore();
    const emf = (
      name: string,
      value: number,
      at: number,
      project = 'shop',
      check: Record<string, string> = {},
    ) =>
      JSON.stringify({
        _aws: {
          Timestamp: at,
          CloudWatchMetrics: [
            {
              Namespace: 'Vigil',
              Dimensions: [['Project', ...Object.keys(check)]],
              Metrics: [{ Name: name }],
            },
          ],
        },
        Project: project,
        ...check,
        [name]: value,
      });
    for (const line of [
      emf(METRICS.testPassRate.name, 50, 2),
      emf(METRICS.testPassRate.name, 90, 1), // older
      emf(METRICS.testPassRate.name, 75, 1, 'web'),
      emf(METRICS.testsFailed.name, 4, 1),
      // Checks of the configuration, and one of each kind it no longer has.
      emf(METRICS.probeAvailability.name, 0, 1, 'shop', { Probe: 'api' }),
      emf(METRICS.probeAvailability.name, 0, 1, 'shop', { Probe: 'removed' }),
      emf(METRICS.heartbeatUp.name, 1, 1, 'shop', { Heartbeat: 'nightly' }),
      emf(METRICS.heartbeatUp.name, 0, 1, 'web', { Heartbeat: 'nightly' }),
    ])
      metrics.ingestLine(line);
    await store?.db.batch(() => undefined);

    // Act
    const registry = new PrometheusRegistry(bus());
    registry.restoreGauges(
      metrics,
      configuredChecks(
        parseConfig({
          project: 'shop',
          probes: [{ name: 'api', url: 'https://api.example.com/health' }],
          heartbeats: [{ name: 'nightly', periodSeconds: 86_400 }],
        }),
      ),
    );
    const text = renderExposition(registry.families(), 'text');
    store?.close();
    await rm(dir, { recursive: true, force: true });

    // Assess
    expect(text).toContain('\nvigil_test_pass_rate_ratio{project="shop"} 0.5\n');
    expect(text).toContain('\nvigil_test_pass_rate_ratio{project="web"} 0.75\n');
    expect(text).not.toContain('vigil_tests_failed_total{');
    // (Label order: as each store gives the dimensions.)
    const samples = (family: string) => text.split('\n').filter((l) => l.startsWith(`${family}{`));
    expect(samples('vigil_probe_availability')).toEqual([
      expect.stringMatching(/^\S*probe="api"\S*} 0$/),
    ]);
    expect(samples('vigil_heartbeat_up')).toEqual([
      expect.stringMatching(/^\S*project="shop"\S*} 1$/),
    ]);
  });

  it('bounds the series of one metric and counts what it dropped', () => {
    const registry = new PrometheusRegistry(bus());
    const points = Array.from({ length: MAX_SERIES_PER_FAMILY + 5 }, (_, i) =>
      point(METRICS.benchmarkValue.name, i, { Project: 'shop', Benchmark: `b${i}` }),
    );
    registry.observe(points);
    const benchmarks = registry.families().find((f) => f.family.family === 'vigil_benchmark_value');
    expect(benchmarks?.samples).toHaveLength(MAX_SERIES_PER_FAMILY);
    expect(renderExposition(registry.families(), 'text')).toContain(
      '\nvigil_prometheus_series_dropped_total 5\n',
    );
  });

  describe('a full family', () => {
    const config = parseConfig({
      project: 'shop',
      probes: [{ name: 'api', url: 'https://api.example.com/health' }],
    });
    const passRate = (project: string, value = 50) =>
      point(METRICS.testPassRate.name, value, { Project: project });
    /** Made-up projects (any ingest token can name one) filling a family, p0 the oldest. */
    const madeUp = (make: (project: string) => ReturnType<typeof point>) =>
      Array.from({ length: MAX_SERIES_PER_FAMILY }, (_, i) => make(`p${i}`));
    const exposed = (registry: PrometheusRegistry) => renderExposition(registry.families(), 'text');

    it("exposes a configured project's series, evicting the least recently updated made-up one", () => {
      // Prepare
      const registry = new PrometheusRegistry(bus(), Date.now, config);
      registry.observe(madeUp((p) => passRate(p)));
      registry.observe([passRate('p0', 60)]); // p0 updated: p1 is now the least recent

      // Act
      registry.observe([passRate('shop', 90)]);

      // Assess
      const text = exposed(registry);
      expect(text).toContain('\nvigil_test_pass_rate_ratio{project="shop"} 0.9\n');
      expect(text).toContain('\nvigil_test_pass_rate_ratio{project="p0"} 0.6\n');
      expect(text).not.toContain('{project="p1"}');
      expect(text).toContain('{project="p2"}');
      expect(text).toContain('\nvigil_prometheus_series_dropped_total 1\n');
    });

    it('lets a newer made-up series evict the least recently updated one, never a configured one', () => {
      // Prepare: shop's series first, so it is the least recently updated of all.
      const registry = new PrometheusRegistry(bus(), Date.now, config);
      registry.observe([passRate('shop', 90), ...madeUp((p) => passRate(p)).slice(1)]);

      // Act
      registry.observe([passRate('late', 75), passRate('later', 25)]);

      // Assess
      const text = exposed(registry);
      expect(text).toContain('\nvigil_test_pass_rate_ratio{project="shop"} 0.9\n');
      expect(text).toContain('\nvigil_test_pass_rate_ratio{project="late"} 0.75\n');
      expect(text).toContain('\nvigil_test_pass_rate_ratio{project="later"} 0.25\n');
      expect(text).not.toContain('{project="p1"}');
      expect(text).not.toContain('{project="p2"}');
      expect(text).toContain('{project="p3"}');
      expect(text).toContain('\nvigil_prometheus_series_dropped_total 2\n');
    });

    it('treats a probe the configuration does not name as made up, in a configured project too', () => {
      // Prepare: the family holds the configured probe, and made-up probes of shop.
      const probe = (name: string) =>
        point(METRICS.probeAvailability.name, 100, { Project: 'shop', Probe: name });
      const registry = new PrometheusRegistry(bus(), Date.now, config);
      registry.observe([probe('api'), ...madeUp(probe).slice(1)]);

      // Act
      registry.observe([probe('invented')]);

      // Assess
      const text = exposed(registry);
      expect(text).toMatch(/\nvigil_probe_availability\{[^}]*probe="api"[^}]*\} 100\n/);
      expect(text).toContain('probe="invented"');
      expect(text).not.toMatch(/probe="p1"/);
    });

    it('refuses a made-up series when every series is configured, and counts it', () => {
      // Prepare: benchmarks of the configured project fill the family.
      const bench = (project: string, name: string) =>
        point(METRICS.benchmarkValue.name, 1, { Project: project, Benchmark: name });
      const registry = new PrometheusRegistry(bus(), Date.now, config);
      registry.observe(madeUp((b) => bench('shop', b)));

      // Act: a made-up project's benchmark, then a new one of shop.
      registry.observe([bench('made-up', 'x'), bench('shop', 'new')]);

      // Assess: the made-up one is refused; shop's newest takes the place of its oldest.
      const text = exposed(registry);
      expect(text).not.toContain('made-up');
      expect(text).toContain('benchmark="new"');
      expect(text).not.toContain('benchmark="p0"');
      expect(text).toContain('\nvigil_prometheus_series_dropped_total 2\n');
    });

    it('restarts an evicted counter series that comes back at 0, then with its new count', () => {
      // Prepare: p0 counted 5 and was exposed with it, then made-up projects evicted it.
      const failed = (project: string, value: number) =>
        point(METRICS.testsFailed.name, value, { Project: project });
      const registry = new PrometheusRegistry(bus(), Date.now, config);
      registry.observe([failed('p0', 5)]);
      exposed(registry);
      expect(exposed(registry)).toContain('\nvigil_tests_failed_total{project="p0"} 5\n');
      registry.observe(madeUp((p) => failed(`${p}-x`, 1)));
      expect(exposed(registry)).not.toContain('{project="p0"}');

      // Act
      registry.observe([failed('p0', 2)]);

      // Assess: a new series (Prometheus sees a reset), not 5 + 2 after a gap it did not see.
      expect(exposed(registry)).toContain('\nvigil_tests_failed_total{project="p0"} 0\n');
      expect(exposed(registry)).toContain('\nvigil_tests_failed_total{project="p0"} 2\n');
    });

    it('restores the newest gauges first, and a configured project whatever the stored order', () => {
      // Prepare: a store holding more made-up projects than a family keeps, shop first.
      const metrics = new LocalMetricStore();
      const emf = (project: string, at: number) =>
        JSON.stringify({
          _aws: {
            Timestamp: at,
            CloudWatchMetrics: [
              {
                Namespace: 'Vigil',
                Dimensions: [['Project']],
                Metrics: [{ Name: METRICS.testPassRate.name }],
              },
            ],
          },
          Project: project,
          [METRICS.testPassRate.name]: 50,
        });
      metrics.ingestLine(emf('shop', 1));
      // p0 is the newest: stored last but one, before an old p-old.
      for (let i = MAX_SERIES_PER_FAMILY - 1; i >= 0; i--)
        metrics.ingestLine(emf(`p${i}`, 10_000 - i));
      metrics.ingestLine(emf('p-old', 2));

      // Act
      const registry = new PrometheusRegistry(bus(), Date.now, config);
      registry.restoreGauges(metrics, configuredChecks(config));

      // Assess: shop kept; the two oldest made-up ones (p-old, then p999) made room.
      const text = exposed(registry);
      expect(text).toContain('\nvigil_test_pass_rate_ratio{project="shop"} 0.5\n');
      expect(text).toContain('{project="p0"}');
      expect(text).not.toContain('{project="p-old"}');
      expect(text).not.toContain(`{project="p${MAX_SERIES_PER_FAMILY - 1}"}`);
      expect(text).toContain('\nvigil_prometheus_series_dropped_total 2\n');
    });
  });

  it('answers only a known bearer token, in the format Accept asks for', () => {
    const registry = new PrometheusRegistry(bus());
    const refused = metricsExposition(registry, { authorization: 'Bearer nope' }, ['scrape']);
    expect(refused.statusCode).toBe(401);
    expect(JSON.parse(refused.body ?? '{}')).toMatchObject({
      error: { code: 'unauthorized', message: expect.stringContaining('VIGIL_METRICS_TOKEN') },
    });
    const om = metricsExposition(
      registry,
      { authorization: 'Bearer scrape', accept: 'application/openmetrics-text' },
      ['scrape'],
    );
    expect(om).toMatchObject({
      statusCode: 200,
      headers: { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' },
    });
    expect(om.body?.endsWith('# EOF\n')).toBe(true);
  });
});

describe('the bus health /metrics shows', () => {
  it('counts the backlog per subscriber and every failed delivery attempt', async () => {
    // Prepare: one subscriber held up, one that always fails (two attempts, then dead letters).
    const dir = await mkdtemp(join(tmpdir(), 'vigil-bus-health-'));
    const store = LocalStore.open(dir);
    const bus = new LocalBus({ db: store.db, log: store.log, maxAttempts: 2, retryDelayMs: 1 });
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    bus.subscribe('slow', { source: ['vigil.ingest'] }, () => held);
    bus.subscribe('failing', { source: ['vigil.ingest'] }, async () => {
      throw new Error('down');
    });
    const event = { source: 'vigil.ingest', detailType: 'Coverage Reported', detail: {} } as never;
    try {
      // Act
      await bus.publish([event, event, event]);
      for (let i = 0; i < 200 && bus.deadLetters < 3; i++)
        await new Promise((r) => setTimeout(r, 5));

      // Assess
      expect(bus.backlog()).toEqual({ slow: 3, failing: 0 });
      expect(bus.deliveryFailures.get('failing')).toBe(6);
      release();
      await bus.drain();
      expect(bus.backlog()).toEqual({ slow: 0, failing: 0 });
    } finally {
      release();
      await bus.stop();
      store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
