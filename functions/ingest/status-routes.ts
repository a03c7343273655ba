import type { VigilConfig } from '../core/config';
import { VigilError } from '../core/errors';
import type { Query } from '../core/history/queries';
import type { HistoryReader } from '../core/history/types';
import type { ArchiveReader, Clock } from '../core/ports';
import { publicStatus } from '../core/status/public';
import {
  PUBLIC_ROUTES,
  queryIncidents,
  queryProbe,
  queryProbes,
  queryProjects,
  queryReport,
  queryRun,
  type StatusQueryDeps,
  type StatusRoute,
} from '../core/status/queries';
import { type HttpResult, json } from '../shared/http';
import { annotate } from '../shared/tracing';

/** The stores behind the dashboard API. */
export type StatusStores = Pick<StatusQueryDeps, 'probes' | 'incidents' | 'catalog'>;

export interface StatusRouteDeps {
  config: VigilConfig;
  clock: Clock;
  history?: HistoryReader;
  archive?: ArchiveReader;
  stores?: StatusStores;
  /** Throws 401/403 unless the caller may read. */
  requireToken: () => Promise<void>;
}

/** Answers of the private routes change with every probe run: never cached. */
const PRIVATE = { 'cache-control': 'no-store' };
/** The public status model: shared caches may keep it a few seconds. */
const PUBLIC = { 'cache-control': 'public, max-age=5' };

/**
 * Serve a dashboard route (see `core/status/api.ts`); `parseStatusPath` says which one a path
 * names.
 */
export const routeStatus = async (
  deps: StatusRouteDeps,
  route: StatusRoute,
  query: Query,
): Promise<HttpResult> => {
  if (!PUBLIC_ROUTES.includes(route.route)) await deps.requireToken();
  if (!deps.stores)
    throw new VigilError(
      'unavailable',
      'The dashboard store is not configured on this deployment.',
    );
  const q: StatusQueryDeps = {
    config: deps.config,
    clock: deps.clock,
    ...deps.stores,
    ...(deps.history ? { history: deps.history } : {}),
    ...(deps.archive ? { archive: deps.archive } : {}),
  };
  annotate({ statusRoute: route.route });
  switch (route.route) {
    case 'projects':
      return json(200, await queryProjects(q, query), PRIVATE);
    case 'run':
      return json(200, await queryRun(q, route.project, route.runId, query), PRIVATE);
    case 'report': {
      const { body, fileName } = await queryReport(q, route.project, route.runId, query);
      // Hostile bytes: plain text, never sniffed, sandboxed if a browser opens it.
      return {
        statusCode: 200,
        headers: {
          ...PRIVATE,
          'content-type': 'text/plain; charset=utf-8',
          'content-disposition': `inline; filename="${fileName.replace(/[^\w.:-]/g, '_')}"`,
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'none'; sandbox",
        },
        body: Buffer.from(body).toString('utf8'),
      };
    }
    case 'probes':
      return json(200, await queryProbes(q, query), PRIVATE);
    case 'probe':
      return json(200, await queryProbe(q, route.project, route.probe, query), PRIVATE);
    case 'incidents':
      return json(200, await queryIncidents(q, query), PRIVATE);
    case 'status':
      if (Object.keys(query).length)
        throw new VigilError('bad_request', 'GET /v1/status takes no query parameters.', {
          path: `query.${Object.keys(query)[0]?.slice(0, 40)}`,
        });
      return json(200, await publicStatus(q), PUBLIC);
  }
};
