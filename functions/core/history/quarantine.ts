import type { Quarantine } from '../config';

/**
 * Quarantine as code: `{ test, owner, reason, expires }` entries from the config. A quarantined
 * test's failure does not fail the gate (it is still recorded and shown) until it expires.
 */

export interface QuarantineMatch {
  entry: Quarantine;
  /** The entry matches but its `expires` has passed: it no longer applies. */
  expired: boolean;
}

const DAY_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** The instant a quarantine stops applying: after the named day (UTC) or at the named instant. */
export const quarantineEnd = (expires: string): number =>
  DAY_ONLY.test(expires)
    ? Date.parse(`${expires}T00:00:00.000Z`) + 86_400_000
    : Date.parse(expires);

const patterns = new Map<string, RegExp>();

/** `*` matches any run of characters; everything else is literal; the whole id must match. */
export const matchesTest = (pattern: string, id: string): boolean => {
  let re = patterns.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 's');
    patterns.set(pattern, re);
  }
  return re.test(id);
};

/**
 * The entry covering test `id` at `now`: an entry still in force wins over an expired one
 * (so a renewed quarantine next to the old one applies), `undefined` when none matches.
 */
export const findQuarantine = (
  entries: readonly Quarantine[],
  id: string,
  now: Date,
): QuarantineMatch | undefined => {
  let expired: QuarantineMatch | undefined;
  for (const entry of entries) {
    if (!matchesTest(entry.test, id)) continue;
    if (now.getTime() < quarantineEnd(entry.expires)) return { entry, expired: false };
    expired ??= { entry, expired: true };
  }
  return expired;
};
