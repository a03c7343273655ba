import type { VigilConfig } from '../core/config';
import { VigilError } from '../core/errors';
import type { Query } from '../core/history/queries';
import type { HistoryReader } from '../core/history/types';
import type { ArchiveLinks, ArchiveReader, Clock } from '../core/ports';
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
import { linkAnswer } from './archive-link';

/** The stores behind the dashboard API. */
export type StatusStores = Pick<StatusQueryDeps, 'probes' | 'incidents' | 'catalog'>;

export interface StatusRouteDeps {
  config: VigilConfig;
  clock: Clock;
  history?: HistoryReader;
  archive?: ArchiveReader;
  /** Links to archived objects (AWS): a report too large to answer inline is linked instead. */
  links?: ArchiveLinks;
  /** The request's `Accept` header: `application/json` asks for such a link as JSON. */
  accept?: string;
  stores?: StatusStores;
  /** Throws 401/403 unless the caller may read. */
  requireToken: () => Promise<void>;
}

/** Answers of the private routes change with every probe run: never cached. */
const PRIVATE = { 'cache-control': 'no-store' };
/** The public status model: shared caches may keep it a few seconds. */
const PUBLIC = { 'cache-control': 'public, max-age=5' };

/**
 * The largest raw report answered inline where there are links (AWS): Lambda answers at most
 * 6 MB, with the body JSON-escaped inside (quotes and control characters grow). Counted on the
 * escaped body, leaving room for the headers.
 */
export const INLINE_REPORT_MAX_BYTES = 5 * 1024 * 1024;
const REPORT_TYPE = 'text/plain; charset=utf-8';

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
      const report = await queryReport(q, route.project, route.runId, query);
      const fileName = report.fileName.replace(/[^\w.:-]/g, '_');
      const { links } = deps;
      // Escaping only grows the text: a report whose bytes alone are too many is not read.
      if (links && report.pointer.bytes > INLINE_REPORT_MAX_BYTES)
        return linkAnswer(
          links,
          report.pointer,
          { name: fileName, contentType: REPORT_TYPE },
          { accept: deps.accept, now: deps.clock.now() },
        );
      const text = Buffer.from(await report.read()).toString('utf8');
      if (links && Buffer.byteLength(JSON.stringify(text)) > INLINE_REPORT_MAX_BYTES)
        return linkAnswer(
          links,
          report.pointer,
          { name: fileName, contentType: REPORT_TYPE },
          { accept: deps.accept, now: deps.clock.now() },
        );
      // Hostile bytes: plain text, never sniffed, sandboxed if a browser opens it.
      return {
        statusCode: 200,
        headers: {
          ...PRIVATE,
          'content-type': REPORT_TYPE,
          'content-disposition': `inline; filename="${fileName}"`,
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'none'; sandbox",
        },
        body: text,
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
