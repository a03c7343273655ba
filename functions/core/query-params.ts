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
