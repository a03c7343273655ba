import { VigilError } from '../../core/errors';
import { DIMENSIONS } from '../../core/metrics/catalog';
import { canonicalProject } from '../../core/project';
import { onlyKnown } from '../../core/query-params';
import { errorResponse, type HttpResult, json } from '../../shared/http';
import type { LocalMetricStore } from './metric-store';

/** Query parameters of `GET /v1/metrics` that filter by a dimension of the catalog. */
const FILTERS = Object.keys(DIMENSIONS) as (keyof typeof DIMENSIONS)[];
const ACCEPTED = ['name', 'since', ...FILTERS];

/**
 * `GET /v1/metrics`: the metric names seen so far, or with `name=` the datapoints of one
 * metric, filtered by any dimension it has (the catalog's `DIMENSIONS`: `project=`, `suite=`…) and
 * `since=` (epoch ms). A metric published under several dimension sets (per project and per
 * suite) answers from the smallest set that matches, so no run is counted twice.
 */
export const metricsAnswer = (store: LocalMetricStore, params: URLSearchParams): HttpResult => {
  try {
    return answer(store, params);
  } catch (error) {
    return errorResponse(error);
  }
};

const answer = (store: LocalMetricStore, params: URLSearchParams): HttpResult => {
  const query = Object.fromEntries(params);
  onlyKnown(query, ACCEPTED);
  const { name, since } = query;
  if (!name) return json(200, { names: store.names() });
  if (since !== undefined && !/^\d{1,16}$/.test(since))
    throw new VigilError('bad_request', 'Query parameter "since" is invalid: epoch milliseconds.', {
      path: 'query.since',
    });
  const where: Record<string, string> = {};
  for (const key of FILTERS) {
    const value = query[key];
    if (value)
      where[DIMENSIONS[key]] = key === 'project' ? canonicalProject(value, 'query.project') : value;
  }
  const datapoints = store
    .query({ name, where, ...(since ? { sinceMs: Number(since) } : {}) })
    .map(({ timestamp, value, unit, dimensions }) => ({
      timestamp: new Date(timestamp).toISOString(),
      value,
      unit,
      dimensions,
    }));
  return json(200, { name, project: where[DIMENSIONS.project] ?? null, datapoints });
};
