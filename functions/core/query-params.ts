import { VigilError } from './errors';

/** Shared rules for query strings: only the accepted keys, only well-formed text. */

type Query = Readonly<Record<string, string | undefined>>;

/** Refuse any key the route does not accept, listing the ones it does. */
export const onlyKnown = (query: Query, known: readonly string[]): void => {
  for (const key of Object.keys(query)) {
    if (!known.includes(key))
      throw new VigilError(
        'bad_request',
        `Unknown query parameter "${key.slice(0, 40)}"; this route accepts ${known.join(', ')}.`,
        { path: `query.${key.slice(0, 40)}` },
      );
  }
};

/**
 * Refuse values that were not valid UTF-8: a percent-escape that does not decode (`%FF`), or
 * what a lenient decoder left of one (U+FFFD, a lone surrogate).
 */
export const wellFormedQuery = (query: Query, rawQueryString?: string): void => {
  for (const pair of rawQueryString ? rawQueryString.split('&') : []) {
    try {
      decodeURIComponent(pair.replaceAll('+', ' '));
    } catch {
      throw notUtf8(pair.replace(/=.*/s, '').slice(0, 40));
    }
  }
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && /[\ufffd\p{Cs}]/u.test(value)) throw notUtf8(key.slice(0, 40));
};

const notUtf8 = (key: string): VigilError =>
  new VigilError(
    'bad_request',
    `Query parameter "${key}" is not valid UTF-8 text; percent-encode its UTF-8 bytes.`,
    { path: `query.${key}` },
  );

/** A refused query parameter: its name, and what it must be. */
export const invalid = (key: string, message: string): VigilError =>
  new VigilError('bad_request', `Query parameter "${key}" is invalid: ${message}.`, {
    path: `query.${key}`,
  });

/** A whole-number parameter from `min` to `max`; `fallback` when absent or empty. */
export const wholeNumber = (
  query: Query,
  key: string,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number => {
  const raw = query[key];
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min && n <= max)) throw invalid(key, `a whole number from ${min} to ${max}`);
  return n;
};
