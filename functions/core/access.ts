import { createHash, timingSafeEqual } from 'node:crypto';
import { VigilError } from './errors';

/**
 * Who may do what: the one decision used by the API handler (and by an API Gateway authorizer).
 * Ingest tokens may do everything; read-only tokens (`VIGIL_READ_TOKENS`, the read secret on
 * AWS) may call every GET route and nothing else.
 */

export type Role = 'ingest' | 'read';

export interface AccessTokens {
  ingest: readonly string[];
  read: readonly string[];
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time check of a token against every accepted one (each compared, always). */
export const tokenMatches = (token: string, accepted: readonly string[]): boolean => {
  const given = digest(token);
  let ok = false;
  for (const t of accepted) ok = timingSafeEqual(given, digest(t)) || ok;
  return ok;
};

/** Constant-time check of a bearer `Authorization` header against every accepted token. */
export const bearerMatches = (
  authorization: string | undefined,
  accepted: readonly string[],
): boolean => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1] ? tokenMatches(m[1], accepted) : false;
};

/** The role of the caller, or undefined for no or an unknown token. */
export const roleOf = (
  authorization: string | undefined,
  tokens: AccessTokens,
): Role | undefined =>
  bearerMatches(authorization, tokens.ingest)
    ? 'ingest'
    : bearerMatches(authorization, tokens.read)
      ? 'read'
      : undefined;

/**
 * May this caller call `method route`? Returns its role, or throws 401 (no or wrong token) or
 * 403 (a read-only token on anything but GET/HEAD, or on a route that `writes` whatever its
 * method, such as a heartbeat ping: `writes` then says what it records).
 */
export const authorize = (
  authorization: string | undefined,
  tokens: AccessTokens,
  method: string,
  route: string,
  writes?: string,
): Role => {
  const role = roleOf(authorization, tokens);
  if (!role)
    throw new VigilError(
      'unauthorized',
      'Missing or wrong bearer token: send "Authorization: Bearer <token>".',
    );
  if (role === 'read' && writes)
    throw new VigilError('forbidden', `This token is read-only: ${method} ${route} ${writes}.`);
  if (role === 'read' && method !== 'GET' && method !== 'HEAD')
    throw new VigilError(
      'forbidden',
      `This token is read-only: it may call GET routes but not ${method} ${route}. Use an ingest token.`,
    );
  return role;
};
