import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerResult,
} from 'aws-lambda';
import { roleOf } from '../core/access';
import type { TokenSource } from '../core/ports';
import { logger } from '../shared/powertools';

/**
 * The API's Lambda REQUEST authorizer (HTTP API, simple responses): made by API Gateway before
 * a request (and its body) reaches the ingest function. It admits any known token, ingest or
 * read-only: API Gateway caches the answer per Authorization header, not per route, so what a
 * read-only token may not do (anything but GET) is refused by the ingest function's own check
 * (`authorize` in core/access.ts, 403). A flood of one wrong token costs one invocation per
 * cache period, and a request without the header is refused (401) without any invocation.
 */
export const createAuthorizer =
  (tokens: { ingest: TokenSource; read: TokenSource }) =>
  async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerResult> => {
    const authorization = event.identitySource?.[0] ?? event.headers?.authorization;
    const [ingest, read] = await Promise.all([tokens.ingest.tokens(), tokens.read.tokens()]);
    const isAuthorized = roleOf(authorization, { ingest, read }) !== undefined;
    if (!isAuthorized) logger.info('request refused by the authorizer', { route: event.routeKey });
    return { isAuthorized };
  };
