import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { cachedWebFiles } from '../../../web/build';
import {
  EnvSecretResolver,
  envVarForSecret,
  missingSecretVariables,
} from '../../adapters/local/env-secrets';
import { dataDirCheck } from '../../adapters/local/health';
import { HeartbeatEvaluator } from '../../adapters/local/heartbeat-evaluator';
import {
  answerClientError,
  correlationHeader,
  createHttpEdge,
  type HttpEdge,
} from '../../adapters/local/http-edge';
import { invocationScopes } from '../../adapters/local/invocations';
import type { LocalMetricStore } from '../../adapters/local/metric-store';
import { createLocalMetrics } from '../../adapters/local/metrics';
import { metricsAnswer } from '../../adapters/local/metrics-route';
import { ProbeScheduler } from '../../adapters/local/probe-scheduler';
import { metricsExposition, PrometheusRegistry } from '../../adapters/local/prometheus';
import { LocalStore, type RetentionOptions } from '../../adapters/local/store';
import { importStatusJournal } from '../../adapters/local/store/status-import';
import { localToken, tokenList } from '../../adapters/local/token-file';
import { LocalUploads, requestBaseUrl, UPLOAD_PATH } from '../../adapters/local/uploads';
import { authorize, tokenMatches } from '../../core/access';
import { listAlerts, readAlertsQuery } from '../../core/alerts/service';
import { configuredChecks } from '../../core/check-key';
import { findHeartbeat } from '../../core/checks/heartbeat-service';
import type { VigilConfig } from '../../core/config';
import { dashboardUrlFor, historyRetentionDays } from '../../core/config-access';
import { configCheck } from '../../core/health';
import { type Clock, systemClock } from '../../core/ports';
import { createIngestHandler } from '../../ingest/handler';
import {
  type HeartbeatRoute,
  heartbeatNotFound,
  MAX_CONCURRENT_PINGS,
  MAX_PING_BODY_BYTES,
  PING_WRITES,
  pingRoute,
  wrongToken,
} from '../../ingest/heartbeat-routes';
import { createBrowserProber } from '../../shared/browser-probe';
import { errorResponse, type HttpResult, json, withBodyBytes } from '../../shared/http';
import { flushSpans } from '../../shared/otel/spans';
import { logger, NAMESPACE, SERVICE } from '../../shared/powertools';
import { withSentry } from '../../shared/sentry';
import { VERSION } from '../../shared/version';
import { publicData } from '../../web/data';
import { createWebHandler, isWebPath } from '../../web/handler';
import { ownDashboardUrl, printedUrl } from './address';
import { BusThread } from './bus-thread';
import type { BusWorkerData } from './bus-worker';

/**
 * The whole pipeline on one machine: the same ingest and metrics handlers as on AWS,
 * wired to local adapters (the embedded store: ledger, durable event bus with the CDK rules'
 * patterns, history, alert state, a metric store fed by the handlers' EMF output; raw reports
 * as content-addressed files) behind a small HTTP server.
 */

export interface LocalOptions {
  config: VigilConfig;
  dataDir: string;
  port?: number;
  host?: string;
  /** Accepted bearer tokens; when empty, local mode's own (`localToken`: kept in the data directory). */
  tokens?: readonly string[];
  /** Read-only tokens (GET routes only). Default: `VIGIL_READ_TOKENS` (comma-separated). */
  readTokens?: readonly string[];
  /** Print EMF lines as the Lambda runtime would (off by default: they are noisy). */
  echoMetrics?: boolean;
  /** Run the configured probes on their intervals (default true). */
  probes?: boolean;
  /** The single-file CLI served at GET /v1/cli/vigil.mjs (see cli/build.ts). */
  cliFile?: () => Promise<string>;
  /** The dashboard's built files (web/build.ts); built in memory at its first request when absent. */
  webFiles?: ReadonlyMap<string, Buffer>;
  env?: NodeJS.ProcessEnv;
  /** How long the store keeps raw metrics, rollups and delivered events (see docs/durability.md). */
  retention?: RetentionOptions;
  /** How often heartbeats are evaluated (missed pings, overrun runs). Default 5 000 ms. */
  heartbeatEvaluateMs?: number;
  /** The clock of heartbeat pings and evaluations (tests). Default: the system clock. */
  heartbeatClock?: Clock;
  /** The bus worker thread's delivery settings and extra subscribers (tests; see bus-worker.ts). */
  busWorker?: Pick<BusWorkerData, 'maxAttempts' | 'retryDelayMs' | 'extraSubscribers'>;
}

/** Staged uploads are kept a day (the S3 lifecycle rule of the AWS stage does the same). */
const UPLOAD_KEEP_MS = 86_400_000;

/** How often the store drops what is past its retention. */
const PRUNE_EVERY_MS = 3_600_000;

export interface LocalPipeline {
  url: string;
  tokens: readonly string[];
  generatedToken: boolean;
  /** The bus: publishing commits here, a worker thread delivers (see bus-thread.ts). */
  bus: BusThread;
  metricStore: LocalMetricStore;
  store: LocalStore;
  /** Alert deliveries made and dead-lettered (by the bus worker thread). */
  alerts: BusThread['alerts'];
  /** The HTTP edge: request bodies being read. */
  edge: HttpEdge;
  /** The heartbeat evaluator (`evaluate()` runs one evaluation now). */
  heartbeats: HeartbeatEvaluator;
  /** The probe scheduler (`runAll()` runs every probe now, out of its schedule). */
  probes: ProbeScheduler;
  server: Server;
  close(): Promise<void>;
}

const decodePath = (pathname: string): string => {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
};

/** The query's parameters, a repeated one's values joined with commas as API Gateway joins them. */
const queryRecord = (url: URL): Record<string, string> => {
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  return query;
};

/** The API Gateway HTTP API (payload v2) event for a Node request, as API Gateway builds it. */
export const toApiGatewayEvent = (
  req: IncomingMessage,
  url: URL,
  body: Buffer,
): APIGatewayProxyEventV2 => {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const query = queryRecord(url);
  const method = req.method ?? 'GET';
  const now = new Date();
  // HTTP APIs hand Lambda the path percent-decoded once (`shop%2Fweb` arrives as `shop/web`).
  const path = decodePath(url.pathname);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method,
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      // 16 hex digits, as API Gateway's; from randomUUID's cached entropy (randomBytes: ~8 µs).
      requestId: randomUUID().replaceAll('-', '').slice(0, 16),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  // The body's bytes go to the handler as they are (no base64 round trip of a 10 MB report).
  return withBodyBytes(event, body);
};

/** How long close() lets the requests under way finish before it cuts their connections. */
const CLOSE_GRACE_MS = 5_000;

/**
 * Stops accepting connections and closes the idle ones; a connection a client keeps busy
 * (keep-alive, one request after another) is closed after its current answer (`markClosing`
 * makes every answer say `Connection: close`), and whatever is left after CLOSE_GRACE_MS is cut.
 * A request cut there was not acknowledged: the client retries it.
 */
const closeServer = async (server: Server, markClosing: () => void): Promise<void> => {
  markClosing();
  const closed = new Promise<void>((ok) => server.close(() => ok()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
  try {
    await closed;
  } finally {
    clearTimeout(cut);
  }
};

const send = (res: ServerResponse, result: HttpResult): void => {
  res.writeHead(result.statusCode, result.headers);
  res.end(result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : result.body);
};

export const startLocal = async (opts: LocalOptions): Promise<LocalPipeline> => {
  const dataDir = resolve(opts.dataDir);
  const given = opts.tokens ?? [];
  const generatedToken = given.length === 0;

  const env = opts.env ?? process.env;
  const scoped = await invocationScopes();
  const store = LocalStore.open(dataDir);
  let tokens: readonly string[];
  try {
    // Read or made with the data directory's lock held (the store's).
    tokens = generatedToken ? [await localToken(dataDir)] : [...given];
  } catch (error) {
    store.close();
    throw error;
  }
  const metricStore = store.metrics;
  const metrics = createLocalMetrics(metricStore, {
    namespace: NAMESPACE,
    serviceName: SERVICE,
    echo: opts.echoMetrics ? (line) => process.stdout.write(`${line}\n`) : undefined,
  });
  const host = opts.host ?? '127.0.0.1';
  const listenPort = opts.port ?? 3000;
  const dashboardUrl = dashboardUrlFor(opts.config, 'local') ?? ownDashboardUrl(host, listenPort);
  // The subscribers run in a worker thread (bus-worker.ts): what their handlers emit reaches
  // the Prometheus registry of this thread through it.
  const bus = new BusThread({
    store,
    worker: {
      config: opts.config,
      env,
      echoMetrics: opts.echoMetrics,
      logLevel: logger.getLevelName(),
      ...(dashboardUrl === undefined ? {} : { dashboardUrl }),
      ...opts.busWorker,
    },
    onPoints: (points) => prometheus.observe(points),
  });
  // The configuration: its projects and checks keep their series when a family is full.
  const prometheus = new PrometheusRegistry(bus, Date.now, opts.config);
  prometheus.restoreGauges(metricStore, configuredChecks(opts.config));
  metricStore.onPoints((points) => prometheus.observe(points));
  const secrets = new EnvSecretResolver(env);
  const unset = missingSecretVariables(opts.config, env);
  if (unset.length > 0)
    logger.warn('secrets not set: the checks, channels and heartbeats that use them will fail', {
      variables: unset,
    });
  const alertStore = store.alerts;
  const { archive, history } = store;
  // The dashboard's data: run catalog, probe history, incidents.
  const retentionDays = historyRetentionDays(opts.config, 'local');
  const status = store.status;
  const imported = await importStatusJournal(dataDir, status, retentionDays);
  if (imported) logger.info('imported the dashboard data of an earlier version', { ...imported });
  const readTokens = opts.readTokens ?? tokenList(env.VIGIL_READ_TOKENS);
  const probes = new ProbeScheduler({
    config: opts.config,
    publisher: bus,
    secrets,
    clock: systemClock,
    metrics,
    browser: createBrowserProber({ secrets, archive }),
    // Checks off the main event loop, so their timing is not delayed by the rest.
    worker: { env },
  });

  const heartbeatDeps = {
    store: store.heartbeats,
    location: 'local',
    clock: opts.heartbeatClock ?? systemClock,
  };
  const heartbeats = new HeartbeatEvaluator(
    { ...heartbeatDeps, config: opts.config, publisher: bus },
    { intervalMs: opts.heartbeatEvaluateMs },
  );

  let baseUrl = '';
  // Upload URLs name the host the client addressed (its Host header), not the bind address.
  const requestHost = new AsyncLocalStorage<string | undefined>();
  const uploads = new LocalUploads(dataDir, () => requestBaseUrl(requestHost.getStore(), baseUrl));
  // Its 5xx answers and unhandled errors go to Sentry when SENTRY_DSN is set, as in Lambda.
  const ingestHandler = withSentry(
    'ingest',
    createIngestHandler({
      config: opts.config,
      stage: 'local',
      publisher: bus,
      archive,
      ledger: store.ledger,
      history,
      clock: systemClock,
      tokens: { tokens: async () => tokens },
      readTokens: { tokens: async () => readTokens },
      status,
      archiveReader: archive,
      // Content-addressed: the archive finds `<sha256>.<ext>` under its objects.
      artifactUri: (name) => `file:///artifacts/${name}`,
      version: VERSION,
      metrics,
      health: [configCheck(opts.config), dataDirCheck(dataDir)],
      uploads,
      heartbeats: { ...heartbeatDeps, secrets },
      ...(opts.cliFile ? { cliFile: opts.cliFile } : {}),
    }),
  );

  // The dashboard, the status page and the badges: the same handler as the AWS web function,
  // made at the first request of one (the dashboard is built then, not at every start).
  let web: Promise<ReturnType<typeof createWebHandler>> | undefined;
  const webHandler = withSentry(
    'web',
    async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
      web ??= (opts.webFiles ? Promise.resolve(opts.webFiles) : cachedWebFiles()).then((files) =>
        createWebHandler({
          files,
          tokens: { tokens: async () => [...tokens, ...readTokens] },
          ...publicData({ ...status, config: opts.config, stage: 'local', clock: systemClock }),
        }),
      );
      try {
        return (await web)(event);
      } catch (error) {
        return errorResponse(error); // the dashboard did not build
      }
    },
  );

  const access = { ingest: tokens, read: readTokens };
  /**
   * May a heartbeat ping with a body be read? With the heartbeat's own `?token=`: only the right
   * token of a configured heartbeat that has one (locally its secret is an environment variable,
   * read here; the handler checks it again); any other gets the handler's own answer (401: names
   * stay private) before its body is read, so wrong tokens cannot fill the ping lane. Otherwise
   * the bearer token is checked here, and a heartbeat not configured is 404.
   */
  const admitPing = (req: IncomingMessage, url: URL, route: HeartbeatRoute): boolean => {
    const cfg = findHeartbeat(opts.config, route.project, route.name);
    if (url.searchParams.has('token')) {
      const expected = cfg?.tokenSecret ? env[envVarForSecret(cfg.tokenSecret)] : undefined;
      // Joined as API Gateway joins a repeated parameter (the handler sees the same).
      const given = url.searchParams.getAll('token').join(',');
      if (expected && tokenMatches(given, [expected])) return true;
      throw wrongToken();
    }
    authorize(req.headers.authorization, access, req.method ?? 'POST', url.pathname, PING_WRITES);
    if (!cfg) throw heartbeatNotFound(route);
    return true;
  };
  const edge = createHttpEdge({
    ...opts.config.ingest,
    // An upload URL is its own credential (as S3's presigned PUT); a heartbeat ping may carry its
    // own token (see admitPing); the rest need a bearer token.
    authorize: (req, url) => {
      if (req.method === 'PUT' && UPLOAD_PATH.test(url.pathname))
        return uploads.authorize(req, url);
      const ping = pingRoute(req.method, decodePath(url.pathname));
      if (ping) return admitPing(req, url, ping);
      return (
        authorize(req.headers.authorization, access, req.method ?? 'GET', url.pathname) !==
        undefined
      );
    },
    // Heartbeat pings: small bodies, in a pool of their own (they never crowd out reports).
    lanes: [
      {
        name: 'heartbeat ping',
        match: (req, url) => pingRoute(req.method, decodePath(url.pathname)) !== undefined,
        maxBodyBytes: MAX_PING_BODY_BYTES,
        maxConcurrentBodies: MAX_CONCURRENT_PINGS,
        tooLargeMessage: `A heartbeat ping's body is at most ${MAX_PING_BODY_BYTES} bytes.`,
      },
    ],
  });
  /**
   * Answer a GET route of local mode only: with a read or an ingest token, as every other one,
   * and kept by no cache.
   */
  const serveRead = async (
    req: IncomingMessage,
    res: ServerResponse,
    answer: () => HttpResult | Promise<HttpResult>,
  ): Promise<void> => {
    try {
      authorize(req.headers.authorization, access, 'GET', req.url ?? '/');
      const result = await answer();
      send(res, { ...result, headers: { 'cache-control': 'no-store', ...result.headers } });
    } catch (error) {
      send(res, errorResponse(error, { ...correlationHeader(req), 'cache-control': 'no-store' }));
    }
  };
  // Prometheus' scrape token (docs/prometheus-grafana.md), or any read or ingest token.
  const scrapeToken = env.VIGIL_METRICS_TOKEN?.trim();
  const metricsTokens = [...tokens, ...readTokens, ...(scrapeToken ? [scrapeToken] : [])];
  const onRequest = (req: IncomingMessage, res: ServerResponse, expectContinue = false) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (req.method === 'GET' && url.pathname === '/metrics') {
      send(
        res,
        metricsExposition(prometheus, req.headers, metricsTokens, {
          ...correlationHeader(req),
          'cache-control': 'no-store',
        }),
      );
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/metrics') {
      void serveRead(req, res, () => metricsAnswer(metricStore, url.searchParams));
      return;
    }
    // HEAD too: the web handler answers it as GET without the body (uptime checkers send it).
    if ((req.method === 'GET' || req.method === 'HEAD') && isWebPath(url.pathname)) {
      webHandler(toApiGatewayEvent(req, url, Buffer.alloc(0))).then((result) => send(res, result));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/alerts') {
      void serveRead(req, res, async () =>
        json(
          200,
          await listAlerts(alertStore, {
            clock: systemClock,
            maintenance: opts.config.alerts.maintenance,
            ...readAlertsQuery(queryRecord(url)),
          }),
        ),
      );
      return;
    }
    const uploadId = req.method === 'PUT' ? UPLOAD_PATH.exec(url.pathname)?.[1] : undefined;
    // The body counts against the edge's bounds until its response is done.
    let release = () => {};
    edge
      .readBody(req, res, url, expectContinue)
      .then(async (read) => {
        if (!read) {
          if (uploadId) uploads.unclaim(uploadId, req);
          return;
        }
        release = read.release;
        const { body } = read;
        if (uploadId) {
          const corr = correlationHeader(req);
          try {
            await uploads.put(uploadId, body);
          } catch (error) {
            uploads.unclaim(uploadId, req);
            throw error;
          }
          send(
            res,
            json(
              200,
              { uploadId, bytes: body.byteLength, correlationId: corr['x-correlation-id'] },
              { ...corr, 'cache-control': 'no-store' },
            ),
          );
        } else
          send(
            res,
            await requestHost.run(req.headers.host, () =>
              scoped(() => ingestHandler(toApiGatewayEvent(req, url, body))),
            ),
          );
      })
      .catch((error: unknown) => {
        res.on('finish', () => req.destroy());
        send(
          res,
          errorResponse(error, {
            ...correlationHeader(req),
            'cache-control': 'no-store',
            connection: 'close',
          }),
        );
      })
      .finally(() => release());
  };
  /** Set once close() began: every answer then ends its connection (keep-alive or not). */
  let closing = false;
  const answer = (req: IncomingMessage, res: ServerResponse, expectContinue = false) => {
    if (closing) res.setHeader('connection', 'close');
    onRequest(req, res, expectContinue);
  };
  const server = createServer(answer);
  // Refuse (401, 413, 503) before `100 Continue`: the client then never sends the body.
  server.on('checkContinue', (req, res) => answer(req, res, true));
  // What Node's HTTP parser refuses (headers too large, a malformed length) gets the JSON error.
  server.on('clientError', answerClientError);

  bus.start();
  const prune = () => {
    try {
      const { dashboard: _inBackground, ...pruned } = store.prune({
        statusDays: retentionDays,
        ...opts.config.local?.retention,
        ...opts.retention,
      });
      logger.info('store pruned', pruned);
    } catch (error) {
      logger.error('pruning the store failed; will try again', { error });
    }
    uploads
      .prune(Date.now() - UPLOAD_KEEP_MS)
      .catch((error) => logger.error('pruning staged uploads failed; will try again', { error }));
  };
  prune();
  const pruner = setInterval(prune, PRUNE_EVERY_MS);
  pruner.unref();

  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(listenPort, host, () => ok());
    });
    // The subscribers deliver before the pipeline says it runs.
    await bus.ready();
  } catch (e) {
    clearInterval(pruner);
    server.close();
    await bus.stop();
    store.close();
    throw e;
  }
  const { port } = server.address() as AddressInfo;
  if (opts.probes !== false) probes.start();
  heartbeats.start();
  baseUrl = printedUrl(host, port);

  return {
    url: baseUrl,
    tokens,
    generatedToken,
    bus,
    metricStore,
    store,
    alerts: bus.alerts,
    edge,
    heartbeats,
    probes,
    server,
    close: async () => {
      clearInterval(pruner);
      await probes.stop();
      await heartbeats.stop();
      await closeServer(server, () => {
        closing = true;
      });
      await bus.stop();
      // The last spans (OpenTelemetry export on) leave before the process does.
      await flushSpans();
      store.close();
    },
  };
};
