import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerResult,
} from 'aws-lambda';
import type { TokenSource } from '../core/ports';
import { tokenAccepted } from '../shared/http';
import { logger } from '../shared/powertools';

/**
 * The API's Lambda REQUEST authorizer (HTTP API, simple responses): the same bearer-token check
 * as the ingest function, made by API Gateway before a request (and its body) reaches the
 * ingest function. API Gateway caches the answer per Authorization header, so a flood of one
 * wrong token costs one invocation per cache period, and a request without the header is
 * refused (401) without any invocation.
 */
export const createAuthorizer =
  (tokens: TokenSource) =>
  async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerResult> => {
    const authorization = event.identitySource?.[0] ?? event.headers?.authorization;
    const isAuthorized = tokenAccepted(authorization, await tokens.tokens());
    if (!isAuthorized) logger.info('request refused by the authorizer', { route: event.routeKey });
    return { isAuthorized };
  };
