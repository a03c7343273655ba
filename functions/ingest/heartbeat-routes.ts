import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { authorize, tokenMatches } from '../core/access';
import type { PingKind } from '../core/checks/heartbeat';
import {
  findHeartbeat,
  type HeartbeatDeps,
  type HeartbeatStore,
  recordPing,
} from '../core/checks/heartbeat-service';
import { VigilError } from '../core/errors';
import { redactSecrets, type SecretResolver } from '../core/probes/secrets';
import { cleanText } from '../core/security/model';
import { bodyBytes, type HttpResult, header, json } from '../shared/http';
import { logger } from '../shared/powertools';

/**
 * `POST` or `GET /v1/heartbeats/{project}/{name}` (a good run), `.../start`, `.../fail`, with
 * `?exitCode=N` (non-zero: a failure). Authorized by an ingest bearer token, or by the
 * heartbeat's own token in `?token=` (its `tokenSecret`), which pings that heartbeat only. The
 * token is compared in constant time and never logged or echoed. The body of a failure (up to
 * 500 characters, control and bidi characters removed) becomes the alert's error text.
 */

export const HEARTBEAT_PATH_PREFIX = '/v1/heartbeats/';

/** Why a read-only token may not ping, by GET as by POST (`authorize`). */
export const PING_WRITES =
  "records a heartbeat ping (a GET as a POST): use an ingest token or the heartbeat's own ?token=";

export interface HeartbeatRoute {
  project: string;
  name: string;
  kind: PingKind;
}

const MAX_MESSAGE_CHARS = 500;
/**
 * Largest body a ping may carry (local mode reads it before the heartbeat's own token is
 * checked: keep it small). Only its first 500 characters are used (a failure's error text).
 */
export const MAX_PING_BODY_BYTES = 16 * 1024;

/**
 * Ping bodies local mode reads at once: a pool of their own, apart from the reports', so slow
 * pings cannot hold back report ingestion (at most this many × `MAX_PING_BODY_BYTES` in memory).
 */
export const MAX_CONCURRENT_PINGS = 8;

/** The route of a heartbeat ping (`GET` or `POST`), or undefined for any other request. */
export const pingRoute = (method: string | undefined, path: string): HeartbeatRoute | undefined =>
  method === 'GET' || method === 'POST' ? parseHeartbeatPath(path) : undefined;

/** `{project}/{name}[/start|/fail]` (a project may contain `/`), or undefined. */
export const parseHeartbeatPath = (path: string): HeartbeatRoute | undefined => {
  if (!path.startsWith(HEARTBEAT_PATH_PREFIX)) return undefined;
  const segments = path.slice(HEARTBEAT_PATH_PREFIX.length).split('/');
  const last = segments.at(-1);
  const kind: PingKind = last === 'start' || last === 'fail' ? last : 'success';
  if (kind !== 'success') segments.pop();
  const name = segments.pop();
  const project = segments.join('/');
  if (!name || !project) return undefined;
  return { project, name, kind };
};

export interface HeartbeatRouteDeps extends Omit<HeartbeatDeps, 'location'> {
  store: HeartbeatStore;
  secrets: SecretResolver;
  /** `local` or the AWS region. */
  location: string;
  /** Ingest and read-only bearer tokens. */
  tokens: () => Promise<{ ingest: readonly string[]; read: readonly string[] }>;
}

/** The answer to a wrong heartbeat token, and to any token for a heartbeat not configured. */
export const wrongToken = (): VigilError =>
  new VigilError(
    'unauthorized',
    'Missing or wrong token: send "Authorization: Bearer <ingest token>", or the heartbeat\'s own token as ?token=.',
  );

/** Most characters of a name from the URL echoed in an answer. */
const MAX_ECHOED_CHARS = 64;

/**
 * Plain text for people: a run of control characters becomes a space; bidi-override, isolate
 * and direction-mark characters (they could reorder what an alert or a terminal shows) are
 * dropped (`cleanText`, shared with report text); whitespace collapsed.
 */
const plainText = (text: string): string =>
  cleanText(
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: a control character separates words
      .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
      .replace(/[\u200e\u200f]/g, ''),
    Number.POSITIVE_INFINITY,
  );

/** At most `max` characters (code points: no half of a pair), `…` when cut. */
const capped = (text: string, max: number): string => {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : text;
};

/** A name from the URL as an answer may echo it: plain, and short. */
const echoed = (name: string): string => capped(plainText(name), MAX_ECHOED_CHARS);

/** The answer to a bearer-authorized ping of a heartbeat that is not configured. */
export const heartbeatNotFound = (route: HeartbeatRoute): VigilError =>
  new VigilError(
    'not_found',
    `No heartbeat named "${echoed(route.name)}" in project "${echoed(route.project)}" is configured (heartbeats in vigil.config).`,
  );

const parseExitCode = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,10}$/.test(raw))
    throw new VigilError(
      'bad_request',
      'The query parameter exitCode must be an integer (0 is success, anything else a failure).',
    );
  return Number(raw);
};

/**
 * What a failing job said, as plain text: without control or bidi characters, the `tokens`
 * Vigil knows replaced with `***` (a job's output may echo the URL it pings, or a token in its
 * environment), then shortened.
 */
const messageOf = (
  event: APIGatewayProxyEventV2,
  tokens: readonly string[],
): string | undefined => {
  // The whole body (at most MAX_PING_BODY_BYTES) before it is cut: a token across the cut
  // would otherwise keep its first characters. Also as a URL would carry it.
  const text = redactSecrets(plainText(bodyBytes(event).toString('utf8')), [
    ...tokens,
    ...tokens.map(encodeURIComponent),
  ]);
  return text ? [...text].slice(0, MAX_MESSAGE_CHARS).join('') : undefined;
};

export const pingHeartbeat = async (
  deps: HeartbeatRouteDeps,
  event: APIGatewayProxyEventV2,
  route: HeartbeatRoute,
): Promise<HttpResult> => {
  const query = event.queryStringParameters ?? {};
  const cfg = findHeartbeat(deps.config, route.project, route.name);
  if (query.token !== undefined) {
    // The heartbeat's own token: an unknown heartbeat answers as a wrong token (names stay private).
    const expected = cfg?.tokenSecret
      ? await deps.secrets.resolve(cfg.tokenSecret).catch((error: unknown) => {
          logger.error('heartbeat token secret unreadable', {
            heartbeat: route.name,
            secret: cfg.tokenSecret,
            error: error instanceof Error ? error.message : String(error),
          });
          return undefined;
        })
      : undefined;
    if (!expected || !tokenMatches(query.token, [expected])) throw wrongToken();
  } else {
    authorize(
      header(event, 'authorization'),
      await deps.tokens(),
      event.requestContext.http.method,
      event.rawPath,
      PING_WRITES,
    );
  }
  // Every token Vigil knows that a job's output may show: the API's and the heartbeat's own
  // (`?token=` once it matched; a secret that cannot be read throws: the text is left out).
  const knownTokens = async (): Promise<string[]> => {
    const { ingest, read } = await deps.tokens();
    const own =
      query.token ?? (cfg?.tokenSecret ? await deps.secrets.resolve(cfg.tokenSecret) : undefined);
    return [...ingest, ...read, ...(own ? [own] : [])];
  };
  if (!cfg) throw heartbeatNotFound(route);
  const exitCode = parseExitCode(query.exitCode);
  const failing = route.kind === 'fail' || (exitCode !== undefined && exitCode !== 0);
  // Tokens that cannot be read leave the job's text out, never the failure.
  const tokens = failing
    ? await knownTokens().catch((error: unknown) => {
        logger.error('tokens unreadable: the failure is recorded without its text', {
          heartbeat: route.name,
          error: error instanceof Error ? error.message : String(error),
        });
        return undefined;
      })
    : undefined;
  const message = tokens ? messageOf(event, tokens) : undefined;
  const answer = await recordPing(deps, cfg, {
    kind: route.kind,
    ...(exitCode === undefined ? {} : { exitCode }),
    ...(message ? { message } : {}),
  });
  logger.info('heartbeat ping', {
    project: answer.project,
    heartbeat: answer.heartbeat,
    kind: answer.kind,
    outcome: answer.outcome,
    nextDueAt: answer.nextDueAt,
  });
  return json(200, answer);
};
