import { describe, expect, it } from 'vitest';
import {
  METRICS,
  METRICS_NAMESPACE,
  PIPELINE_METRICS,
  SERVICE_NAME,
} from '../../functions/core/metrics/catalog';
import {
  DATASOURCE_UID,
  type Dashboard,
  grafanaDashboards,
  type Panel,
  SCHEMA_VERSION,
} from '../../functions/core/metrics/grafana';
import {
  CATALOG_FAMILIES,
  familyOf,
  HEALTH_FAMILIES,
  sampleName,
} from '../../functions/core/metrics/prometheus';
import { provisioningFiles } from '../../scripts/generate-grafana';

/**
 * The Grafana dashboards generated from the catalog: valid against the dashboard model, every
 * query names a catalog metric, and the committed provisioning folder is the generator's output.
 */

const dashboards = grafanaDashboards({ namespace: METRICS_NAMESPACE, service: SERVICE_NAME });
const prometheus = dashboards['vigil-prometheus.json'] as Dashboard;
const cloudWatch = dashboards['vigil-cloudwatch.json'] as Dashboard;

/** Every panel, those inside collapsed rows too. */
const allPanels = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const graphs = (d: Dashboard): Panel[] => allPanels(d).filter((p) => p.type !== 'row');

const catalogNames = new Set<string>([
  ...Object.values(METRICS).map((m) => m.name),
  ...Object.values(PIPELINE_METRICS).map((m) => m.name),
]);
const promNames = new Set([
  ...CATALOG_FAMILIES.map(sampleName),
  ...Object.values(HEALTH_FAMILIES).map(sampleName),
]);

const overlaps = (a: Panel['gridPos'], b: Panel['gridPos']): boolean =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe.each([
  ['Prometheus', prometheus, 'prometheus'],
  ['CloudWatch', cloudWatch, 'cloudwatch'],
])('the %s dashboard', (_name, dashboard, type) => {
  it('follows the dashboard model: schema version, unique ids, panels on the 24-column grid', () => {
    expect(dashboard).toMatchObject({ schemaVersion: SCHEMA_VERSION, uid: `vigil-${type}` });
    expect(dashboard.uid.length).toBeLessThanOrEqual(40);
    const panels = allPanels(dashboard);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.h, p.title).toBeGreaterThan(0);
    }
    // Panels of one view (the top level, or one collapsed row) never overlap.
    for (const view of [dashboard.panels, ...dashboard.panels.map((p) => p.panels ?? [])])
      for (const [i, a] of view.entries())
        for (const b of view.slice(i + 1))
          expect(overlaps(a.gridPos, b.gridPos), `${a.title} / ${b.title}`).toBe(false);
  });

  it('gives every graph its data source, a unit and targets with distinct refIds', () => {
    for (const p of graphs(dashboard)) {
      expect(p.datasource, p.title).toEqual({ type, uid: DATASOURCE_UID });
      expect(p.fieldConfig?.defaults.unit, p.title).toMatch(/^(percent|percentunit|s|ms|short)$/);
      const targets = p.targets ?? [];
      expect(targets.length, p.title).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size).toBe(targets.length);
      for (const t of targets) expect(t.datasource).toEqual(p.datasource);
    }
  });

  it('has the data source, project and probe variables, the probe one filtered by project', () => {
    const names = dashboard.templating.list.map((v) => v.name);
    expect(names).toEqual(['datasource', 'project', 'probe']);
    expect(dashboard.templating.list[0]).toMatchObject({ type: 'datasource', query: type });
    expect(JSON.stringify(dashboard.templating.list[2])).toContain('$project');
  });

  it("shows the CloudWatch dashboard's KPIs and a panel for every catalog metric", () => {
    const titles = graphs(dashboard).map((p) => p.title);
    for (const kpi of [
      'Test pass rate',
      'Failed tests',
      'Flaky tests',
      'Coverage',
      'Suite duration',
      'Gate failures',
      'Probe availability',
      'Probe latency',
      'Alerts sent',
      'Alert delivery failures',
      'Reports ingested and refused',
    ])
      expect(titles).toContain(kpi);
    for (const name of catalogNames) expect(titles).toContain(name);
  });
});

describe('queries', () => {
  it('Prometheus: every metric an expression names is one /metrics exposes', () => {
    const used = new Set<string>();
    for (const p of graphs(prometheus))
      for (const t of p.targets ?? [])
        for (const name of String(t.expr).match(/\bvigil_[a-z0-9_]+/g) ?? []) used.add(name);
    for (const v of prometheus.templating.list)
      for (const name of String(v.query).match(/\bvigil_[a-z0-9_]+/g) ?? []) used.add(name);
    expect([...used].filter((n) => !promNames.has(n))).toEqual([]);
    // Every catalog metric has a panel; local mode's bus health too.
    expect(CATALOG_FAMILIES.map(sampleName).filter((n) => !used.has(n))).toEqual([]);
    expect(used).toContain(sampleName(HEALTH_FAMILIES.backlog));
  });

  it('Prometheus: project queries read the project totals (no suite), probes filter by probe', () => {
    const exprs = graphs(prometheus).flatMap((p) => (p.targets ?? []).map((t) => String(t.expr)));
    expect(exprs).toContain('vigil_test_pass_rate_ratio{project=~"$project", suite=""}');
    expect(exprs).toContain(
      'avg_over_time(vigil_probe_availability{project=~"$project", probe=~"$probe"}[$__rate_interval])',
    );
  });

  it('CloudWatch: namespace, catalog metric names and the dimensions lib/ publishes them under', () => {
    for (const p of graphs(cloudWatch))
      for (const t of p.targets ?? []) {
        expect(t).toMatchObject({
          namespace: METRICS_NAMESPACE,
          queryMode: 'Metrics',
          matchExact: true,
        });
        expect(catalogNames.has(String(t.metricName)), String(t.metricName)).toBe(true);
        const dims = t.dimensions as Record<string, string>;
        expect(dims.service).toBe(SERVICE_NAME);
        // Exactly a dimension set the metric is published under (matchExact): its own, no Suite.
        const published = familyOf(String(t.metricName))?.dimensions.filter((d) => d !== 'Suite');
        expect(Object.keys(dims).sort()).toEqual(['service', ...(published ?? [])].sort());
        expect(t.statistic).toMatch(/^(Average|Sum|Maximum|p50|p99)$/);
      }
    const passRate = graphs(cloudWatch).find((p) => p.title === 'Test pass rate');
    expect(passRate?.targets?.[0]).toMatchObject({
      metricName: METRICS.testPassRate.name,
      dimensions: { service: SERVICE_NAME, Project: '$project' },
      statistic: 'Average',
    });
    expect(passRate?.fieldConfig?.defaults.unit).toBe('percent');
  });
});

describe('the provisioning folder', () => {
  it.each(Object.entries(provisioningFiles()))(
    '%s is what `npm run grafana` writes',
    async (name, text) => {
      await expect(text).toMatchFileSnapshot(`../../grafana/provisioning/dashboards/${name}`);
    },
  );
});
