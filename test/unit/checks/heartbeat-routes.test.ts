import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { StoredHeartbeatState } from '../../../functions/core/checks/heartbeat-service';
import { parseConfig } from '../../../functions/core/config';
import type { VigilEvent } from '../../../functions/core/events';
import {
  type HeartbeatRouteDeps,
  parseHeartbeatPath,
  pingHeartbeat,
} from '../../../functions/ingest/heartbeat-routes';

/** Text hygiene of pings: what a job sends, and what a 404 echoes of the URL. */

const BEARER = 'ingest-token-for-tests';

const setup = () => {
  const rows = new Map<string, StoredHeartbeatState>();
  const events: VigilEvent[] = [];
  const deps: HeartbeatRouteDeps = {
    config: parseConfig({ project: 'shop', heartbeats: [{ name: 'backup', periodSeconds: 60 }] }),
    store: {
      get: async (key) => rows.get(key),
      putIfVersion: async (state, expected) => {
        if ((rows.get(state.key)?.version ?? 0) !== expected) return false;
        rows.set(state.key, structuredClone(state));
        return true;
      },
    },
    publisher: { publish: async (e) => void events.push(...e) },
    clock: { now: () => new Date('2026-05-01T10:00:00Z') },
    location: 'test',
    secrets: { resolve: async () => '' } as unknown as HeartbeatRouteDeps['secrets'],
    tokens: async () => ({ ingest: [BEARER], read: [] }),
  };
  return { deps, events };
};

const request = (path: string, body?: string): APIGatewayProxyEventV2 =>
  ({
    rawPath: path,
    headers: { authorization: `Bearer ${BEARER}` },
    requestContext: { http: { method: 'POST', path } },
    ...(body === undefined ? {} : { body, isBase64Encoded: false }),
  }) as unknown as APIGatewayProxyEventV2;

const ping = async (deps: HeartbeatRouteDeps, path: string, body?: string) => {
  const route = parseHeartbeatPath(path);
  if (!route) throw new Error(`not a ping path: ${path}`);
  return pingHeartbeat(deps, request(path, body), route);
};

describe('heartbeat pings: text hygiene', () => {
  it('drops bidi overrides, isolates and direction marks from a failure message', async () => {
    // Prepare
    const { deps, events } = setup();
    const body =
      'disk \u202Efull\u202C on \u2066db1\u2069 \u200Eok\u200F\u202A\u202B\u202D\u2067\u2068\u0007 done';

    // Act
    await ping(deps, '/v1/heartbeats/shop/backup/fail', body);

    // Assess
    const message = (events[0]?.detail as { message?: string } | undefined)?.message;
    expect(message).toBe('the job reported a failure: disk full on db1 ok done');
    expect(message).not.toMatch(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
  });

  it("replaces the tokens the ping knows in a failure's text: its bearer, the heartbeat's own", async () => {
    // Prepare: a heartbeat with its own token; a job whose output shows both tokens
    const { deps, events } = setup();
    deps.config = parseConfig({
      project: 'shop',
      heartbeats: [{ name: 'backup', periodSeconds: 60, tokenSecret: 'hb-token' }],
    });
    deps.secrets = {
      resolve: async () => 'hb-own-token-0123456789',
    } as unknown as HeartbeatRouteDeps['secrets'];
    const body = `curl -H "Authorization: Bearer ${BEARER}" …/fail?token=hb-own-token-0123456789 exit 1`;
    const byQuery = {
      ...request('/v1/heartbeats/shop/backup/fail', body),
      headers: {},
      queryStringParameters: { token: 'hb-own-token-0123456789' },
    } as unknown as APIGatewayProxyEventV2;

    // Act: authorized by the ingest bearer, then by the heartbeat's own token
    await ping(deps, '/v1/heartbeats/shop/backup/fail', body);
    const route = parseHeartbeatPath('/v1/heartbeats/shop/backup/fail');
    if (route) await pingHeartbeat(deps, byQuery, route);

    // Assess
    const messages = events.map((e) => (e.detail as { message?: string }).message);
    expect(messages).toEqual([
      'the job reported a failure: curl -H "Authorization: Bearer ***" …/fail?token=*** exit 1',
      'the job reported a failure: curl -H "Authorization: Bearer ***" …/fail?token=*** exit 1',
    ]);

    // A token across the 2,000-byte mark (control runs collapse to one space after it) and one
    // written as a URL carries it: hidden whole.
    const spread = `${'\n'.repeat(1972)}token=hb-own-token-0123456789 end`;
    await ping(deps, '/v1/heartbeats/shop/backup/fail', spread);
    deps.secrets = {
      resolve: async () => 'hb+own/token=0123456789',
    } as unknown as HeartbeatRouteDeps['secrets'];
    await ping(
      deps,
      '/v1/heartbeats/shop/backup/fail',
      'GET …?token=hb%2Bown%2Ftoken%3D0123456789',
    );
    expect(events.slice(-2).map((e) => (e.detail as { message?: string }).message)).toEqual([
      'the job reported a failure: token=*** end',
      'the job reported a failure: GET …?token=***',
    ]);

    // Tokens that cannot be read (the heartbeat's own, or the API's): the failure without the
    // job's text, never lost.
    const failing = (resolve: () => Promise<string>) => {
      deps.secrets = { resolve } as unknown as HeartbeatRouteDeps['secrets'];
    };
    failing(async () => {
      throw new Error('secret unreadable');
    });
    await ping(deps, '/v1/heartbeats/shop/backup/fail', body);
    failing(async () => 'hb-own-token-0123456789');
    deps.tokens = async () => {
      throw new Error('secret unreadable');
    };
    if (route) await pingHeartbeat(deps, byQuery, route);
    expect(events.slice(-2).map((e) => e.detail)).toMatchObject([
      { outcome: 'failed', message: 'the job reported a failure' },
      { outcome: 'failed', message: 'the job reported a failure' },
    ]);
  });

  it('echoes at most 64 characters of an unknown heartbeat name or project', async () => {
    // Prepare
    const { deps } = setup();
    const long = 'n'.repeat(3000);

    // Act
    const error = await ping(deps, `/v1/heartbeats/${'p'.repeat(3000)}/${long}`).catch(
      (e: unknown) => e as Error,
    );

    // Assess
    expect(error).toMatchObject({ code: 'not_found' });
    const message = (error as Error).message;
    expect(message).toContain(
      `No heartbeat named "${'n'.repeat(64)}…" in project "${'p'.repeat(64)}…"`,
    );
    expect(message.length).toBeLessThan(300);
  });

  it('echoes a short unknown name as it is, without control or bidi characters', async () => {
    const { deps } = setup();
    const error = await ping(deps, '/v1/heartbeats/shop/no\u202Epe').catch(
      (e: unknown) => e as Error,
    );
    expect((error as Error).message).toContain('No heartbeat named "nope" in project "shop"');
  });
});
