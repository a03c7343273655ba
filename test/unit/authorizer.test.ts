import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../functions/authorizer/handler';

const source = (tokens: string[]) => ({ tokens: async () => tokens });
const authorizer = createAuthorizer({ ingest: source(['ingest-1']), read: source(['read-1']) });

const event = (authorization: string | undefined, routeKey = 'POST /v1/results') =>
  ({
    routeKey,
    identitySource: authorization === undefined ? undefined : [authorization],
    headers: {},
  }) as unknown as APIGatewayRequestAuthorizerEventV2;

describe('API authorizer', () => {
  it('admits ingest and read-only tokens (the function refuses what a read token may not do)', async () => {
    expect(await authorizer(event('Bearer ingest-1'))).toEqual({ isAuthorized: true });
    expect(await authorizer(event('Bearer read-1', 'GET /v1/projects'))).toEqual({
      isAuthorized: true,
    });
  });

  it('refuses a wrong, malformed or missing token', async () => {
    for (const header of ['Bearer nope', 'ingest-1', 'Basic aW5nZXN0LTE=', '', undefined])
      expect(await authorizer(event(header)), String(header)).toEqual({ isAuthorized: false });
  });

  it('reads the header when API Gateway gives no identity source', async () => {
    const e = {
      routeKey: 'GET /v1/probes',
      headers: { authorization: 'Bearer read-1' },
    } as unknown as APIGatewayRequestAuthorizerEventV2;
    expect(await authorizer(e)).toEqual({ isAuthorized: true });
  });
});
