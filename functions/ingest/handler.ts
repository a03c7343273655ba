import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { authorize } from '../core/access';
import { isVigilError, VigilError } from '../core/errors';
import { type HealthCheck, runHealthChecks } from '../core/health';
import { HISTORY_PATH_PREFIX, parseHistoryPath, queryHistory } from '../core/history/queries';
import { type IngestDeps, ingest, newCorrelationId } from '../core/ingest/service';
import { parseUploadRequest, type UploadStore, uploadIdParam } from '../core/ingest/uploads';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
import type { ArchiveLinks, ArchiveReader, Clock, TokenSource } from '../core/ports';
import { parseStatusPath, type StatusRoute } from '../core/status/queries';
import { testRunSpans } from '../core/tracing/ci-trace';
import {
  bodyBytes,
  correlationIdFrom,
  errorResponse,
  type HttpResult,
  headAsGet,
  header,
  json,
  logRoute,
} from '../shared/http';
import { activeSpan, otelEnabled, recordSpans } from '../shared/otel/spans';
import { emitPipelineMetric, flushMetrics } from '../shared/pipeline-metrics';
import { logger, metrics as sharedMetrics } from '../shared/powertools';
import { annotate, traceHandler, traceSync } from '../shared/tracing';
import { postAlertmanager } from './alertmanager-route';
import { getArtifact, isArtifactPath } from './artifact-route';
import { CLI_PATH, getCli } from './cli-file';
import { type HeartbeatRouteDeps, parseHeartbeatPath, pingHeartbeat } from './heartbeat-routes';
import { routeStatus, type StatusStores } from './status-routes';

export interface IngestHandlerDeps extends IngestDeps {
  tokens: TokenSource;
  /** Read-only tokens: every GET route, never POST (403). Default: none. */
  readTokens?: TokenSource;
  /** The dashboard API's stores (`/v1/projects`, `/v1/probes`, …); without them those routes answer 503. */
  status?: StatusStores;
  /** Reads archived reports back (run detail, raw report), and browser check artifacts. */
  archiveReader?: ArchiveReader;
  /** Links to archived objects (AWS): a raw report too large for a Lambda answer is linked. */
  archiveLinks?: ArchiveLinks;
  /** Where a browser check artifact of a name is archived; without it `/v1/artifacts/` answers 503. */
  artifactUri?: (name: string) => string;
  version: string;
  /** What `GET /v1/health` checks (config, bus, store). Default: none (always ok). */
  health?: readonly HealthCheck[];
  /** Time each health check may take. Default `HEALTH_CHECK_TIMEOUT_MS` (1 s). */
  healthTimeoutMs?: number;
  /** Where the pipeline metrics go. Default: the shared Powertools instance. */
  metrics?: Metrics;
  /**
   * The single-file CLI served at `GET /v1/cli/vigil.mjs` (no token: it holds no secrets).
   * Default: none (the route answers 503).
   */
  cliFile?: () => Promise<string>;
  /** Staged uploads (`POST /v1/uploads`, `?upload=`). Without it those answer 503. */
  uploads?: UploadStore;
  /** Heartbeat pings (`/v1/heartbeats/...`, see heartbeat-routes.ts). Without it they answer 503. */
  heartbeats?: Pick<HeartbeatRouteDeps, 'store' | 'secrets' | 'location'> & { clock?: Clock };
}

/** With OpenTelemetry export on, a test run becomes a trace of its own (core/tracing/ci-trace.ts). */
const exportTestRun: NonNullable<IngestHandlerDeps['onAccepted']> = (report, metadata) => {
  if (report.kind === 'tests' && otelEnabled()) recordSpans(testRunSpans(report, metadata));
};

/**
 * The ingest API (API Gateway HTTP API payload v2). The same function serves Lambda
 * and the local runtime; only the adapters in `deps` differ. `deps.history` also serves the
 * history API (`GET /v1/projects/{project}/tests|runs|benchmarks/{name}`); without it those
 * routes answer 503.
 */
export const createIngestHandler = (deps: IngestHandlerDeps) => {
  const metrics = deps.metrics ?? sharedMetrics;
  const getHealth = async (): Promise<HttpResult> => {
    const report = await runHealthChecks(deps.health ?? [], deps.healthTimeoutMs);
    if (!report.ok) logger.warn('health check failed', { checks: report.checks });
    return json(report.ok ? 200 : 503, {
      status: report.ok ? 'ok' : 'degraded',
      version: deps.version,
      stage: deps.stage ?? 'local',
      checks: report.checks,
    });
  };

  const accessTokens = async () => {
    const [ingest, read] = await Promise.all([
      deps.tokens.tokens(),
      deps.readTokens?.tokens() ?? [],
    ]);
    return { ingest, read };
  };

  const requireToken = async (event: APIGatewayProxyEventV2): Promise<void> => {
    authorize(
      header(event, 'authorization'),
      await accessTokens(),
      event.requestContext.http.method,
      event.rawPath,
    );
  };

  /** The dashboard API (`./status-routes.ts`); public routes skip the token. */
  const getStatus = (event: APIGatewayProxyEventV2, route: StatusRoute): Promise<HttpResult> =>
    routeStatus(
      {
        config: deps.config,
        clock: deps.clock,
        ...(deps.history ? { history: deps.history } : {}),
        ...(deps.archiveReader ? { archive: deps.archiveReader } : {}),
        ...(deps.archiveLinks ? { links: deps.archiveLinks } : {}),
        accept: header(event, 'accept'),
        ...(deps.status ? { stores: deps.status } : {}),
        requireToken: () => requireToken(event),
      },
      route,
      event.queryStringParameters ?? {},
    );

  /** The history API: same bearer tokens as the ingest, read-only. */
  const getHistory = async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    await requireToken(event);
    const route = parseHistoryPath(event.rawPath);
    if (!route)
      throw new VigilError(
        'not_found',
        `No route for GET ${event.rawPath}: use ${HISTORY_PATH_PREFIX}{project}/tests, ` +
          '/runs, /benchmarks or /benchmarks/{name}.',
      );
    if (!deps.history)
      throw new VigilError('unavailable', 'Run history is not configured on this deployment.');
    annotate({ project: route.project, historyRoute: route.route });
    const answer = await queryHistory(
      { history: deps.history, config: deps.config, clock: deps.clock },
      route,
      event.queryStringParameters ?? {},
    );
    const items =
      'tests' in answer
        ? answer.tests
        : 'runs' in answer
          ? answer.runs
          : 'points' in answer
            ? answer.points
            : answer.benchmarks;
    logger.info('history query', {
      project: route.project,
      route: route.route,
      items: items.length,
      more: 'cursor' in answer && answer.cursor !== undefined,
    });
    return json(200, answer);
  };

  const uploadStore = (): UploadStore => {
    if (!deps.uploads)
      throw new VigilError('unavailable', 'Staged uploads are not configured on this deployment.');
    return deps.uploads;
  };

  /** `POST /v1/uploads`: a URL that takes the report (exactly the declared bytes). */
  const postUpload = async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    await requireToken(event);
    const request = parseUploadRequest(bodyBytes(event), deps.config.ingest.maxBodyBytes);
    const ticket = await uploadStore().create(request);
    // A prefix only: locally the id is what lets its URL take the report, without a token.
    logger.info('upload staged', {
      uploadId: `${ticket.uploadId.slice(0, 8)}…`,
      bytes: ticket.bytes,
    });
    return json(201, ticket);
  };

  const postResults = async (
    event: APIGatewayProxyEventV2,
    correlationId: string,
  ): Promise<HttpResult> => {
    await requireToken(event);
    const uploadId = uploadIdParam(event.queryStringParameters?.upload);
    if (uploadId && bodyBytes(event).byteLength > 0)
      throw new VigilError(
        'bad_request',
        'This request has a body and "upload": send the report either as the body or staged ' +
          '(upload=<id>, no body), not both.',
        { path: 'query.upload' },
      );
    const { status, result } = await ingest(
      {
        query: event.queryStringParameters ?? {},
        // A staged upload is read with the same limit as a body; gzip is recognised by its bytes.
        body: uploadId
          ? await uploadStore().read(uploadId, deps.config.ingest.maxBodyBytes)
          : bodyBytes(event),
        contentEncoding: uploadId ? undefined : header(event, 'content-encoding'),
        rawQuery: event.rawQueryString,
        contentType: header(event, 'content-type'),
        correlationId,
        traceparent: activeSpan()?.traceparent,
      },
      {
        ...deps,
        trace: deps.trace ?? traceSync,
        onAccepted: deps.onAccepted ?? exportTestRun,
        warn: (message, error) => logger.warn(message, { error }),
      },
    );
    annotate({ project: result.project, format: result.format });
    emitPipelineMetric(metrics, PIPELINE_METRICS.reportsIngested, {
      Format: result.format,
      Outcome: result.duplicate ? 'duplicate' : 'accepted',
    });
    logger.info('report ingested', {
      project: result.project,
      runId: result.runId,
      format: result.format,
      gate: result.gate.status,
      duplicate: result.duplicate,
    });
    return json(status, result);
  };

  const heartbeatPing = (event: APIGatewayProxyEventV2): Promise<HttpResult> | undefined => {
    const { method } = event.requestContext.http;
    const route =
      method === 'GET' || method === 'POST' ? parseHeartbeatPath(event.rawPath) : undefined;
    if (!route) return undefined;
    if (!deps.heartbeats)
      throw new VigilError('unavailable', 'Heartbeats are not configured on this deployment.');
    return pingHeartbeat(
      {
        store: deps.heartbeats.store,
        secrets: deps.heartbeats.secrets,
        location: deps.heartbeats.location,
        config: deps.config,
        publisher: deps.publisher,
        clock: deps.heartbeats.clock ?? deps.clock,
        tokens: accessTokens,
      },
      event,
      route,
    );
  };

  const handle = async (event: APIGatewayProxyEventV2, context?: Context): Promise<HttpResult> => {
    const correlationId = correlationIdFrom(event) ?? newCorrelationId();
    const headers = { 'x-correlation-id': correlationId };
    if (context) logger.addContext(context);
    logger.appendKeys({ correlation_id: correlationId });
    annotate({ correlationId });
    const { method } = event.requestContext.http;
    const route = `${method} ${event.rawPath}`;
    try {
      const statusRoute = method === 'GET' ? parseStatusPath(event.rawPath) : undefined;
      let response: HttpResult;
      const heartbeat = heartbeatPing(event);
      if (heartbeat) {
        response = await heartbeat;
      } else if (route === 'GET /v1/health') {
        response = await getHealth();
      } else if (route === `GET ${CLI_PATH}`) {
        response = await getCli(deps.cliFile);
      } else if (route === 'POST /v1/results') {
        response = await postResults(event, correlationId);
      } else if (statusRoute) {
        response = await getStatus(event, statusRoute);
      } else if (route === 'POST /v1/uploads') {
        response = await postUpload(event);
      } else if (route === 'POST /v1/alertmanager') {
        await requireToken(event);
        response = await postAlertmanager(event, correlationId, deps);
      } else if (method === 'GET' && isArtifactPath(event.rawPath)) {
        await requireToken(event);
        response = await getArtifact(
          {
            reader: deps.archiveReader,
            uri: deps.artifactUri,
            ...(deps.archiveLinks ? { links: deps.archiveLinks } : {}),
            accept: header(event, 'accept'),
          },
          event.rawPath,
          event.queryStringParameters ?? {},
        );
      } else if (method === 'GET' && event.rawPath.startsWith(HISTORY_PATH_PREFIX)) {
        response = await getHistory(event);
      } else {
        throw new VigilError('not_found', `No route for ${route}.`);
      }
      // An answer with a token is the caller's alone: never kept by a cache unless it says so
      // (the public status model and the CLI file do).
      return {
        ...response,
        headers: { 'cache-control': 'no-store', ...response.headers, ...headers },
      };
    } catch (error) {
      // Errors too: a 401 or 404 for one token must not be served to another from a cache.
      const response = errorResponse(error, { 'cache-control': 'no-store', ...headers });
      if (response.statusCode >= 500)
        logger.error(route === 'POST /v1/results' ? 'ingest failed' : 'request failed', {
          route,
          error,
        });
      else {
        emitPipelineMetric(metrics, PIPELINE_METRICS.inputsRejected, {
          Code: isVigilError(error) ? error.code : 'bad_request',
        });
        logger.info('ingest rejected', {
          route: logRoute(event.requestContext.http.method, event.rawPath),
          status: response.statusCode,
          error: (error as Error).message,
          // Who keeps guessing tokens, for a firewall or fail2ban.
          sourceIp: event.requestContext.http.sourceIp,
        });
      }
      return response;
    } finally {
      flushMetrics(metrics);
      logger.resetKeys();
    }
  };

  /** The public reads that answer HEAD as GET without the body (uptime checkers send HEAD). */
  const HEAD_PATHS = new Set(['/v1/health', '/v1/status']);
  const answer = (event: APIGatewayProxyEventV2, context?: Context): Promise<HttpResult> =>
    event.requestContext.http.method === 'HEAD' && HEAD_PATHS.has(event.rawPath)
      ? headAsGet(event, (get) => handle(get, context))
      : handle(event, context);

  return traceHandler('ingest', answer);
};
