import { DIMENSIONS, METRICS, PIPELINE_METRICS } from './catalog';
import {
  CATALOG_FAMILIES,
  catalogFamily,
  HEALTH_FAMILIES,
  promName,
  sampleName,
} from './prometheus';

/**
 * Grafana dashboards from the metric catalog: one for a Prometheus data source (local mode's
 * `GET /metrics`), one for Grafana's CloudWatch data source (the EMF metrics on AWS). Both
 * show the KPIs of the CloudWatch dashboard (lib/dashboard.ts), then a collapsed row with one
 * panel per catalog metric, so a metric added to the catalog appears without hand editing.
 * Dashboard JSON model schemaVersion 39 (Grafana 10.4 and 11); see docs/prometheus-grafana.md.
 */

export const SCHEMA_VERSION = 39;

type CatalogMetric = { name: string; unit: string };
type Scope = 'project' | 'probe' | 'pipeline';
/** How a series is drawn: PromQL function, and the CloudWatch statistic that matches it. */
type How = 'last' | 'increase' | 'avg' | 'max';

interface Series {
  metric: CatalogMetric;
  how: How;
  /** CloudWatch statistic; default from `how`. */
  statistic?: string;
  /** Added to the legend after the project, probe or dimension. */
  legend?: string;
}

interface Kpi {
  title: string;
  scope: Scope;
  series: Series[];
  /** Drawn as a ratio from 0 to 1 in both data sources. */
  ratio?: boolean;
  width?: number;
}

const STATISTIC: Record<How, string> = {
  last: 'Average',
  increase: 'Sum',
  avg: 'Average',
  max: 'Maximum',
};

const s = (metric: CatalogMetric, how: How, legend?: string, statistic?: string): Series => ({
  metric,
  how,
  ...(legend ? { legend } : {}),
  ...(statistic ? { statistic } : {}),
});

/** The KPIs of the CloudWatch dashboard, row by row. */
const SECTIONS: { title: string; kpis: Kpi[] }[] = [
  {
    title: 'CI',
    kpis: [
      { title: 'Test pass rate', scope: 'project', series: [s(METRICS.testPassRate, 'last')] },
      { title: 'Failed tests', scope: 'project', series: [s(METRICS.testsFailed, 'increase')] },
      {
        title: 'Flaky tests',
        scope: 'project',
        series: [
          s(METRICS.testsFlaky, 'increase', 'reported'),
          s(METRICS.flakyTests, 'last', 'known', 'Maximum'),
        ],
      },
      {
        title: 'Coverage',
        scope: 'project',
        series: [
          s(METRICS.coverageLines, 'last', 'lines'),
          s(METRICS.coverageBranches, 'last', 'branches'),
          s(METRICS.coverageFunctions, 'last', 'functions'),
        ],
      },
      {
        title: 'Suite duration',
        scope: 'project',
        series: [
          s(METRICS.suiteDuration, 'last', 'last', 'p50'),
          s(METRICS.suiteDuration, 'max', 'max'),
        ],
      },
      { title: 'Gate failures', scope: 'project', series: [s(METRICS.gateFailures, 'increase')] },
    ],
  },
  {
    title: 'Probes',
    kpis: [
      {
        title: 'Probe availability',
        scope: 'probe',
        ratio: true,
        width: 12,
        series: [s(METRICS.probeAvailability, 'avg')],
      },
      {
        title: 'Probe latency',
        scope: 'probe',
        width: 12,
        series: [
          s(METRICS.probeLatency, 'last', 'last', 'p50'),
          s(METRICS.probeLatency, 'max', 'max', 'p99'),
        ],
      },
    ],
  },
  {
    title: 'Alerts and pipeline health',
    kpis: [
      {
        title: 'Alerts sent',
        scope: 'pipeline',
        series: [s(PIPELINE_METRICS.alertsSent, 'increase')],
      },
      {
        title: 'Alert delivery failures',
        scope: 'pipeline',
        series: [s(PIPELINE_METRICS.deliveryFailures, 'increase')],
      },
      {
        title: 'Reports ingested and refused',
        scope: 'pipeline',
        series: [
          s(PIPELINE_METRICS.reportsIngested, 'increase'),
          s(PIPELINE_METRICS.inputsRejected, 'increase', 'refused'),
          s(PIPELINE_METRICS.publishRetries, 'increase', 'publish retries'),
        ],
      },
    ],
  },
];

// --- the two data sources ------------------------------------------------------------------

export interface Target {
  refId: string;
  datasource: { type: string; uid: string };
  [key: string]: unknown;
}

interface Flavour {
  type: 'prometheus' | 'cloudwatch';
  target(series: Series, scope: Scope, refId: string): Target;
  unit(metric: CatalogMetric, ratio: boolean): string;
  variables(): unknown[];
  /** A panel of what only this data source has. */
  extra?: { title: string; targets: Target[] };
}

/** The data source of every panel: the dashboard's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not JavaScript's
export const DATASOURCE_UID = '${datasource}';
const datasource = (type: string) => ({ type, uid: DATASOURCE_UID });

const prometheus: Flavour = {
  type: 'prometheus',
  target(series, scope, refId) {
    const f = catalogFamily(series.metric);
    const filters =
      scope === 'probe'
        ? ['project=~"$project"', 'probe=~"$probe"']
        : scope === 'project'
          ? ['project=~"$project"', ...(f.labels.includes('suite') ? ['suite=""'] : [])]
          : [];
    const selector = `${sampleName(f)}${filters.length ? `{${filters.join(', ')}}` : ''}`;
    // Series without `suite` are the project's totals (the others repeat them per suite).
    const by = f.labels.filter((l) => l !== 'suite');
    const range = `${selector}[$__rate_interval]`;
    const expr = {
      last: selector,
      increase: `sum${by.length ? ` by (${by.join(', ')})` : ''} (increase(${range}))`,
      avg: `avg_over_time(${range})`,
      max: `max_over_time(${range})`,
    }[series.how];
    const legend = [...by.map((l) => `{{${l}}}`), ...(series.legend ? [series.legend] : [])];
    return {
      refId,
      datasource: datasource('prometheus'),
      expr,
      legendFormat: legend.join(' ') || series.metric.name,
      range: true,
    };
  },
  unit: (metric, ratio) => {
    const unit = catalogFamily(metric).unit;
    return ratio || unit === 'ratio' ? 'percentunit' : unit === 'seconds' ? 's' : 'short';
  },
  extra: {
    title: 'Local event bus',
    targets: [
      [sampleName(HEALTH_FAMILIES.backlog), '{{subscriber}} backlog'],
      [
        `sum by (subscriber) (increase(${sampleName(HEALTH_FAMILIES.deliveryFailures)}[$__rate_interval]))`,
        '{{subscriber}} failed attempts',
      ],
      [
        `sum(increase(${sampleName(HEALTH_FAMILIES.deadLetters)}[$__rate_interval]))`,
        'dead letters',
      ],
    ].map(([expr, legendFormat], i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: datasource('prometheus'),
      expr,
      legendFormat,
      range: true,
    })),
  },
  variables: () => [
    variable('datasource', 'Data source', { type: 'datasource', query: 'prometheus' }),
    queryVariable(
      'project',
      'Project',
      'prometheus',
      'label_values({__name__=~"vigil_.+"}, project)',
    ),
    queryVariable(
      'probe',
      'Probe',
      'prometheus',
      `label_values(${promName(METRICS.probeAvailability)}{project=~"$project"}, probe)`,
    ),
  ],
};

const cloudWatch = (namespace: string, service: string): Flavour => {
  /** The metric's dimension set without `Suite` (the project totals), others as wildcards. */
  const dimensionsOf = (metric: CatalogMetric): Record<string, string> => {
    const dims: Record<string, string> = { service };
    for (const d of catalogFamily(metric).dimensions)
      if (d === DIMENSIONS.project) dims[d] = '$project';
      else if (d === DIMENSIONS.probe) dims[d] = '$probe';
      else if (d !== DIMENSIONS.suite) dims[d] = '*';
    return dims;
  };
  const variableQuery = (
    metricName: string,
    dimensionKey: string,
    filters: Record<string, string>,
  ) => ({
    refId: 'CloudWatchVariableQueryEditor-VariableQuery',
    queryType: 'dimensionValues',
    region: 'default',
    namespace,
    metricName,
    dimensionKey,
    dimensionFilters: { service, ...filters },
  });
  return {
    type: 'cloudwatch',
    target(series, _scope, refId) {
      const dims = dimensionsOf(series.metric);
      const label = Object.keys(dims)
        .filter((k) => k !== 'service')
        .map((k) => `\${PROP('Dim.${k}')}`);
      return {
        refId,
        datasource: datasource('cloudwatch'),
        queryMode: 'Metrics',
        metricQueryType: 0,
        metricEditorMode: 0,
        region: 'default',
        namespace,
        metricName: series.metric.name,
        dimensions: dims,
        matchExact: true,
        statistic: series.statistic ?? STATISTIC[series.how],
        period: '',
        id: '',
        expression: '',
        label: [...label, ...(series.legend ? [series.legend] : [])].join(' '),
      };
    },
    unit: (metric, ratio) =>
      ratio
        ? 'percentunit'
        : metric.unit === 'Percent'
          ? 'percent'
          : metric.unit === 'Milliseconds'
            ? 'ms'
            : 'short',
    variables: () => [
      variable('datasource', 'Data source', { type: 'datasource', query: 'cloudwatch' }),
      queryVariable(
        'project',
        'Project',
        'cloudwatch',
        variableQuery(METRICS.testRuns.name, DIMENSIONS.project, {}),
      ),
      queryVariable(
        'probe',
        'Probe',
        'cloudwatch',
        variableQuery(METRICS.probeAvailability.name, DIMENSIONS.probe, {
          [DIMENSIONS.project]: '$project',
        }),
      ),
    ],
  };
};

const variable = (name: string, label: string, rest: Record<string, unknown>) => ({
  name,
  label,
  hide: 0,
  current: {},
  ...rest,
});

const queryVariable = (name: string, label: string, type: string, query: unknown) =>
  variable(name, label, {
    type: 'query',
    datasource: datasource(type),
    query,
    ...(typeof query === 'string' ? { definition: query } : {}),
    refresh: 2,
    sort: 1,
    multi: true,
    includeAll: true,
  });

// --- layout --------------------------------------------------------------------------------

const WIDTH = 24;
const HEIGHT = 8;

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  fieldConfig?: { defaults: { unit: string; [key: string]: unknown }; overrides: unknown[] };
  panels?: Panel[];
  [key: string]: unknown;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; [key: string]: unknown }[] };
  [key: string]: unknown;
}

const buildDashboard = (flavour: Flavour, uid: string, title: string): Dashboard => {
  let id = 0;
  let x = 0;
  let y = 0;
  const row = (rowTitle: string, collapsed: boolean, panels: Panel[] = []): Panel => {
    if (x > 0) y += HEIGHT;
    x = 0;
    const panel = {
      id: ++id,
      type: 'row',
      title: rowTitle,
      collapsed,
      gridPos: { x, y, w: WIDTH, h: 1 },
      panels,
    };
    y += 1;
    return panel;
  };
  const timeseries = (
    title: string,
    w: number,
    targets: Target[],
    defaults: { unit: string; min?: number; max?: number },
  ): Panel => {
    if (x + w > WIDTH) {
      x = 0;
      y += HEIGHT;
    }
    const panel: Panel = {
      id: ++id,
      type: 'timeseries',
      title,
      gridPos: { x, y, w, h: HEIGHT },
      datasource: datasource(flavour.type),
      targets,
      fieldConfig: { defaults, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true } },
    };
    x += w;
    return panel;
  };
  const graph = (kpi: Kpi): Panel =>
    timeseries(
      kpi.title,
      kpi.width ?? 8,
      kpi.series.map((series, i) => flavour.target(series, kpi.scope, String.fromCharCode(65 + i))),
      {
        unit: flavour.unit((kpi.series[0] as Series).metric, kpi.ratio ?? false),
        ...(kpi.ratio ? { min: 0, max: 1 } : {}),
      },
    );

  const panels: Panel[] = [];
  for (const section of SECTIONS) {
    panels.push(row(section.title, false));
    for (const kpi of section.kpis) panels.push(graph(kpi));
  }
  if (flavour.extra)
    panels.push(timeseries(flavour.extra.title, 8, flavour.extra.targets, { unit: 'short' }));
  // Every catalog metric, so a new one shows up here without editing this file.
  const all = row('Every catalog metric', true);
  panels.push(all);
  for (const f of CATALOG_FAMILIES) {
    const metric = { name: f.source, unit: f.sourceUnit };
    const scope: Scope = f.labels.includes('probe')
      ? 'probe'
      : f.labels.includes('project')
        ? 'project'
        : 'pipeline';
    const how: How = f.type === 'counter' ? 'increase' : 'last';
    all.panels?.push(graph({ title: f.source, scope, series: [{ metric, how }] }));
  }

  return {
    uid,
    title,
    tags: ['vigil'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    refresh: '1m',
    time: { from: 'now-7d', to: 'now' },
    annotations: { list: [] },
    templating: { list: flavour.variables() as Dashboard['templating']['list'] },
    panels,
  };
};

export interface GrafanaOptions {
  /** CloudWatch namespace of Vigil's metrics (lib/: METRICS_NAMESPACE). */
  namespace: string;
  /** Powertools' `service` dimension (lib/: SERVICE_NAME). */
  service: string;
}

/** The two dashboards, keyed by their file name. */
export const grafanaDashboards = (opts: GrafanaOptions): Record<string, Dashboard> => ({
  'vigil-prometheus.json': buildDashboard(prometheus, 'vigil-prometheus', 'Vigil (Prometheus)'),
  'vigil-cloudwatch.json': buildDashboard(
    cloudWatch(opts.namespace, opts.service),
    'vigil-cloudwatch',
    'Vigil (CloudWatch)',
  ),
});
