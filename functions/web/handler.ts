import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { bearerMatches } from '../core/access';
import { VigilError } from '../core/errors';
import type { TokenSource } from '../core/ports';
import type { BadgeData, PublicStatus } from '../core/status/api';
import { errorResponse, type HttpResult, headAsGet, header } from '../shared/http';
import { prepareAssets, withStatusPage } from './assets';
import { renderBadge } from './badge';
import { securityHeaders } from './security';
import { renderStatusPage, STATUS_STYLE_HASH } from './status-page';

/** Which badge a path names (see `parseBadgePath`). */
export type BadgeRoute =
  | { kind: 'gate' | 'coverage'; project: string; branch?: string }
  | { kind: 'uptime'; project: string; probe: string };

/** What the badges say and who may see them (the core's badge data, see core/status/badges). */
export interface BadgeSource {
  badge(route: BadgeRoute): Promise<BadgeData>;
  /** May this badge be served without a token (config `badges.public`)? */
  isPublic(route: BadgeRoute): boolean;
}

export interface WebHandlerDeps {
  /** The dashboard's built files (web/build.ts): `index.html` and `assets/…`. */
  files: ReadonlyMap<string, Buffer>;
  /** Tokens that may read (ingest and read-only tokens): non-public badges need one. */
  tokens: TokenSource;
  /** The public status; absent when the config has no `statusPage` (then `/status` is 404). */
  status?: () => Promise<PublicStatus>;
  badges: BadgeSource;
}

export const BADGE_PREFIX = '/v1/badges/';
/** Seconds a browser or CDN may reuse the status page and public badges. */
export const STATUS_MAX_AGE = 10;
const BADGE_MAX_AGE = 60;

/**
 * `/v1/badges/gate/{project}.svg`, `/v1/badges/coverage/{project}.svg` (`?branch=`, default the
 * config's default branch) and `/v1/badges/uptime/{project}/{probe}.svg`. A project may hold
 * `/` (everything between the kind and `.svg`, or before the last `/` of an uptime badge);
 * probe names never do.
 */
export const parseBadgePath = (path: string, branch?: string): BadgeRoute | undefined => {
  if (!path.startsWith(BADGE_PREFIX) || !path.endsWith('.svg')) return undefined;
  const rest = path.slice(BADGE_PREFIX.length, -'.svg'.length);
  const slash = rest.indexOf('/');
  const kind = rest.slice(0, slash);
  const name = rest.slice(slash + 1);
  if (slash < 0 || !name) return undefined;
  if (kind === 'gate' || kind === 'coverage')
    return { kind, project: name, ...(branch ? { branch } : {}) };
  const last = name.lastIndexOf('/');
  if (kind === 'uptime' && last > 0 && last < name.length - 1)
    return { kind, project: name.slice(0, last), probe: name.slice(last + 1) };
  return undefined;
};

/** Paths this handler serves (the runtimes route them here; everything else is the API's). */
export const isWebPath = (path: string): boolean =>
  path === '/' ||
  path === '/index.html' ||
  path === '/status' ||
  path.startsWith('/assets/') ||
  path.startsWith(BADGE_PREFIX);

const accepts = (event: APIGatewayProxyEventV2, encoding: string): boolean =>
  (header(event, 'accept-encoding') ?? '').split(',').some((e) => e.trim().startsWith(encoding));

/**
 * The web function: the dashboard's files, the public status page (`/status`) and SVG badges
 * (`/v1/badges/…`), with security headers on every answer. The dashboard reads its data from
 * the API with the user's token; this function never serves project data to a page itself.
 * Same function on AWS (HTTP API routes) and in local mode.
 */
export const createWebHandler = (deps: WebHandlerDeps) => {
  const assets = prepareAssets(deps.status ? withStatusPage(deps.files) : deps.files);
  const page = securityHeaders();

  const file = (event: APIGatewayProxyEventV2, path: string): HttpResult => {
    const asset = assets.get(path);
    if (!asset) throw new VigilError('not_found', `No file ${path}.`);
    const gzip = asset.gzip && accepts(event, 'gzip') ? asset.gzip : undefined;
    return {
      statusCode: 200,
      headers: {
        ...page,
        'content-type': asset.contentType,
        'cache-control': asset.cacheControl,
        vary: 'accept-encoding',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      },
      body: (gzip ?? asset.body).toString('base64'),
      isBase64Encoded: true,
    };
  };

  const statusPage = async (): Promise<HttpResult> => {
    if (!deps.status)
      throw new VigilError('not_found', 'This deployment has no public status page.');
    const status = await deps.status();
    return {
      statusCode: 200,
      headers: {
        ...securityHeaders({
          styleHashes: [STATUS_STYLE_HASH],
          allowFraming: status.allowFraming,
        }),
        'content-type': 'text/html; charset=utf-8',
        'cache-control': `public, max-age=${STATUS_MAX_AGE}`,
      },
      body: renderStatusPage(status),
    };
  };

  const badge = async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    const route = parseBadgePath(event.rawPath, event.queryStringParameters?.branch);
    if (!route)
      throw new VigilError(
        'not_found',
        `No badge at ${event.rawPath}: use ${BADGE_PREFIX}gate/{project}.svg, ` +
          `${BADGE_PREFIX}coverage/{project}.svg or ${BADGE_PREFIX}uptime/{project}/{probe}.svg.`,
      );
    const open = deps.badges.isPublic(route);
    if (!open && !bearerMatches(header(event, 'authorization'), await deps.tokens.tokens()))
      throw new VigilError(
        'unauthorized',
        'This badge is not public: send "Authorization: Bearer <token>" or list it in the config under badges.public.',
      );
    return {
      statusCode: 200,
      headers: {
        ...page,
        'content-type': 'image/svg+xml',
        'cache-control': open ? `public, max-age=${BADGE_MAX_AGE}` : 'private, no-store',
      },
      body: renderBadge(await deps.badges.badge(route)),
    };
  };

  const get = async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    const { method } = event.requestContext.http;
    const path = event.rawPath;
    try {
      if (method !== 'GET') throw new VigilError('not_found', `No route for ${method} ${path}.`);
      if (path === '/' || path === '/index.html') return file(event, 'index.html');
      if (path.startsWith('/assets/')) return file(event, path.slice(1));
      if (path === '/status') return await statusPage();
      if (path.startsWith(BADGE_PREFIX)) return await badge(event);
      throw new VigilError('not_found', `No route for ${method} ${path}.`);
    } catch (error) {
      const response = errorResponse(error);
      return {
        ...response,
        headers: { ...response.headers, ...page, 'cache-control': 'no-store' },
      };
    }
  };

  /**
   * HEAD is answered as GET (same status, same headers, same token checks: uptime checkers
   * often send HEAD) without the body. Every answer says its length (`Content-Length`), a HEAD
   * one the length its GET would have.
   */
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    if (event.requestContext.http.method === 'HEAD') return headAsGet(event, get);
    const result = await get(event);
    const bytes = Buffer.byteLength(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
    return { ...result, headers: { ...result.headers, 'content-length': String(bytes) } };
  };
};
