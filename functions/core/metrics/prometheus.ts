import { DIMENSIONS, METRICS, type MetricUnitName, PIPELINE_METRICS } from './catalog';

/**
 * The catalog in Prometheus' terms, and the text that Prometheus scrapes. Pure: the local
 * runtime's `GET /metrics` and the Grafana generator both read the names from here.
 *
 * The naming rule (docs/prometheus-grafana.md; https://prometheus.io/docs/practices/naming):
 * `vigil_` + the CloudWatch name in snake_case + the base unit as a suffix (`Milliseconds`
 * become `_seconds`, `Percent` becomes `_ratio` from 0 to 1, `Bytes` `_bytes`), and `_total`
 * for counters. `Count` metrics are counters (the sum of every datapoint since the process
 * started) except `FlakyTests` and `SecurityFindings`, levels of the latest run; the others
 * are gauges holding
 * the newest datapoint. Labels are the catalog's dimensions in lower case.
 */

export type PromType = 'counter' | 'gauge';
export type PromUnit = '' | 'seconds' | 'ratio' | 'bytes';

export interface PromFamily {
  /** The metric family's name (OpenMetrics): a counter's samples add `_total`. */
  family: string;
  type: PromType;
  unit: PromUnit;
  help: string;
  /** Every label its samples may carry. */
  labels: readonly string[];
}

export interface CatalogFamily extends PromFamily {
  /** The catalog's (CloudWatch) metric name and unit. */
  source: string;
  sourceUnit: string;
  /** The catalog's (CloudWatch) dimensions its labels come from. */
  dimensions: readonly string[];
  /** CloudWatch value x scale = Prometheus value. */
  scale: number;
}

const UNITS: Partial<
  Record<MetricUnitName | 'Seconds' | 'Bytes', { unit: PromUnit; scale: number }>
> = {
  Milliseconds: { unit: 'seconds', scale: 0.001 },
  Seconds: { unit: 'seconds', scale: 1 },
  Percent: { unit: 'ratio', scale: 0.01 },
  Bytes: { unit: 'bytes', scale: 1 },
};

/** Count metrics that are a level, not a number of things that happened. */
const LEVELS = new Set<string>([METRICS.flakyTests.name, METRICS.securityFindings.name]);

export const snakeCase = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();

/** The label a catalog dimension becomes (`Project` -> `project`). */
export const labelOf = (dimension: string): string => snakeCase(dimension);

const CI_LABELS = [DIMENSIONS.project, DIMENSIONS.suite];
const PROBE_LABELS = [DIMENSIONS.project, DIMENSIONS.probe];
/** Dimensions of the KPI metrics, as `datapointsFor` publishes them (a unit test compares). */
const OWN_DIMENSIONS: Partial<Record<string, readonly string[]>> = {
  [METRICS.benchmarkValue.name]: [DIMENSIONS.project, DIMENSIONS.benchmark],
  [METRICS.flakyTests.name]: [DIMENSIONS.project],
  [METRICS.heartbeatUp.name]: [DIMENSIONS.project, DIMENSIONS.heartbeat],
  // One series per severity and one per tool of the latest report (each set has one of them).
  [METRICS.securityFindings.name]: [DIMENSIONS.project, DIMENSIONS.severity, DIMENSIONS.tool],
};
const kpiDimensions = (name: string): readonly string[] =>
  OWN_DIMENSIONS[name] ?? (name.startsWith('Probe') ? PROBE_LABELS : CI_LABELS);

/** The Prometheus family of one catalog metric. */
export const promFamily = (
  metric: { name: string; unit: string },
  dimensions: readonly string[],
): CatalogFamily => {
  const type: PromType = metric.unit === 'Count' && !LEVELS.has(metric.name) ? 'counter' : 'gauge';
  const { unit, scale } = UNITS[metric.unit as MetricUnitName] ?? { unit: '' as const, scale: 1 };
  let base = `vigil_${snakeCase(metric.name)}`;
  // `TestsTotal` is a counter of tests: one `_total`, never two.
  if (type === 'counter') base = base.replace(/_total$/, '');
  const family = unit && !base.endsWith(`_${unit}`) ? `${base}_${unit}` : base;
  const what = type === 'counter' ? 'sum of the datapoints' : 'newest datapoint';
  return {
    family,
    type,
    unit,
    source: metric.name,
    sourceUnit: metric.unit,
    dimensions,
    scale,
    labels: dimensions.map(labelOf),
    help: `Vigil metric ${metric.name} (${metric.unit}): ${what}${scale === 1 ? '' : ` x ${scale}`}.`,
  };
};

/** Every metric of the catalog, KPIs first, then the pipeline's own. */
export const CATALOG_FAMILIES: readonly CatalogFamily[] = [
  ...Object.values(METRICS).map((m) => promFamily(m, kpiDimensions(m.name))),
  ...Object.values(PIPELINE_METRICS).map((m) => promFamily(m, m.dimensions)),
];

const BY_SOURCE = new Map(CATALOG_FAMILIES.map((f) => [f.source, f]));

/** The family of a catalog metric by its CloudWatch name, if the catalog has it. */
export const familyOf = (cloudWatchName: string): CatalogFamily | undefined =>
  BY_SOURCE.get(cloudWatchName);

/** The name of a family's samples (what PromQL queries). */
export const sampleName = (f: Pick<PromFamily, 'family' | 'type'>): string =>
  f.type === 'counter' ? `${f.family}_total` : f.family;

/** The family of a catalog metric (throws for a name the catalog does not have). */
export const catalogFamily = (metric: { name: string }): CatalogFamily => {
  const f = familyOf(metric.name);
  if (!f) throw new Error(`${metric.name} is not in the metric catalog`);
  return f;
};

/** The PromQL name of a catalog metric. */
export const promName = (metric: { name: string }): string => sampleName(catalogFamily(metric));

// --- local mode's own health ------------------------------------------------------------------

/**
 * Series kept per family at most (memory stays bounded whatever names reports make up). A full
 * family makes room by evicting its least recently updated series, never one of a project or
 * check the configuration names for one that is not (see adapters/local/prometheus.ts).
 */
export const MAX_SERIES_PER_FAMILY = 1_000;

const health = (
  family: string,
  type: PromFamily['type'],
  help: string,
  labels: string[] = [],
  unit: PromFamily['unit'] = '',
): PromFamily => ({ family, type, unit, help, labels });

/** The health of the local process, exposed next to the catalog. */
export const HEALTH_FAMILIES = {
  uptime: health(
    'vigil_uptime_seconds',
    'gauge',
    'Seconds since this Vigil process started.',
    [],
    'seconds',
  ),
  backlog: health(
    'vigil_event_backlog',
    'gauge',
    'Events committed to the local bus that a subscriber has not finished yet.',
    ['subscriber'],
  ),
  deliveryFailures: health(
    'vigil_event_delivery_failures',
    'counter',
    'Failed delivery attempts of bus events, per subscriber (each retry counts).',
    ['subscriber'],
  ),
  deadLetters: health(
    'vigil_event_dead_letters',
    'counter',
    'Bus events dead-lettered after their last attempt.',
  ),
  seriesDropped: health(
    'vigil_prometheus_series_dropped',
    'counter',
    `Series evicted, and datapoints refused, because their metric already had ${MAX_SERIES_PER_FAMILY} series.`,
  ),
} as const satisfies Record<string, PromFamily>;

// --- exposition ------------------------------------------------------------------------------

export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** OpenMetrics when the `Accept` header asks for it (with a quality above 0), else text 0.0.4. */
export const negotiate = (accept: string | undefined): ExpositionFormat => {
  for (const part of (accept ?? '').split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (type !== 'application/openmetrics-text') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return 'openmetrics';
  }
  return 'text';
};

export interface PromSample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface FamilySamples {
  family: PromFamily;
  samples: readonly PromSample[];
}

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

const formatValue = (v: number): string =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);

const formatLabels = (labels: Readonly<Record<string, string>>): string => {
  const pairs = Object.entries(labels)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
};

/**
 * The exposition of `families`: Prometheus text format 0.0.4, or OpenMetrics 1.0 (`# UNIT`,
 * counter families named without `_total`, `# EOF`). No timestamps: Prometheus stamps the scrape.
 */
export const renderExposition = (
  families: readonly FamilySamples[],
  format: ExpositionFormat,
): string => {
  const lines: string[] = [];
  for (const { family: f, samples } of families) {
    const name = sampleName(f);
    const meta = format === 'openmetrics' ? f.family : name;
    lines.push(`# HELP ${meta} ${escapeHelp(f.help)}`, `# TYPE ${meta} ${f.type}`);
    if (format === 'openmetrics' && f.unit) lines.push(`# UNIT ${meta} ${f.unit}`);
    for (const s of samples) lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  if (format === 'openmetrics') lines.push('# EOF');
  return `${lines.join('\n')}\n`;
};
