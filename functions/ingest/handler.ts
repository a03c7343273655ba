import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { VigilError } from '../core/errors';
import { type IngestDeps, ingest, newCorrelationId } from '../core/ingest/service';
import type { TokenSource } from '../core/ports';
import {
  bodyBytes,
  correlationIdFrom,
  errorResponse,
  type HttpResult,
  header,
  json,
  tokenAccepted,
} from '../shared/http';
import { logger } from '../shared/powertools';

export interface IngestHandlerDeps extends IngestDeps {
  tokens: TokenSource;
  version: string;
}

/**
 * The ingest API (API Gateway HTTP API payload v2). The same function serves Lambda
 * and the local runtime; only the adapters in `deps` differ.
 */
export const createIngestHandler = (deps: IngestHandlerDeps) => {
  const postResults = async (
    event: APIGatewayProxyEventV2,
    correlationId: string,
  ): Promise<HttpResult> => {
    if (!tokenAccepted(header(event, 'authorization'), await deps.tokens.tokens()))
      throw new VigilError(
        'unauthorized',
        'Missing or wrong bearer token: send "Authorization: Bearer <token>".',
      );
    const { status, result } = await ingest(
      {
        query: event.queryStringParameters ?? {},
        body: bodyBytes(event),
        contentEncoding: header(event, 'content-encoding'),
        correlationId,
      },
      { ...deps, warn: (message, error) => logger.warn(message, { error }) },
    );
    logger.info('report ingested', {
      project: result.project,
      runId: result.runId,
      format: result.format,
      gate: result.gate.status,
      duplicate: result.duplicate,
    });
    return json(status, result);
  };

  return async (event: APIGatewayProxyEventV2, context?: Context): Promise<HttpResult> => {
    const correlationId = correlationIdFrom(event) ?? newCorrelationId();
    const headers = { 'x-correlation-id': correlationId };
    if (context) logger.addContext(context);
    logger.appendKeys({ correlation_id: correlationId });
    try {
      const route = `${event.requestContext.http.method} ${event.rawPath}`;
      let response: HttpResult;
      if (route === 'GET /v1/health') {
        response = json(200, { status: 'ok', version: deps.version, stage: deps.stage ?? 'local' });
      } else if (route === 'POST /v1/results') {
        response = await postResults(event, correlationId);
      } else {
        throw new VigilError('not_found', `No route for ${route}.`);
      }
      return { ...response, headers: { ...response.headers, ...headers } };
    } catch (error) {
      const response = errorResponse(error, headers);
      if (response.statusCode >= 500) logger.error('ingest failed', { error });
      else
        logger.info('ingest rejected', {
          status: response.statusCode,
          error: (error as Error).message,
        });
      return response;
    } finally {
      logger.resetKeys();
    }
  };
};
