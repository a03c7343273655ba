import { describe, expect, it } from 'vitest';
import type { Quarantine } from '../../functions/core/config';
import { parseConfig } from '../../functions/core/config';
import {
  findQuarantine,
  matchesTest,
  quarantineEnd,
} from '../../functions/core/history/quarantine';

const entry = (test: string, expires: string, owner = 'ana'): Quarantine => ({
  test,
  owner,
  reason: 'flaky on CI',
  expires,
});

describe('quarantine matching', () => {
  it('matches the whole id, with * as a wildcard and everything else literal', () => {
    expect(matchesTest('api > Checkout > pays', 'api > Checkout > pays')).toBe(true);
    expect(matchesTest('api > Checkout > pays', 'api > Checkout > pays twice')).toBe(false);
    expect(matchesTest('api > Checkout > *', 'api > Checkout > pays twice')).toBe(true);
    expect(matchesTest('*pays*', 'api > Checkout > pays (EUR)')).toBe(true);
    // Regex metacharacters in names are literal.
    expect(matchesTest('a.b(1)', 'a.b(1)')).toBe(true);
    expect(matchesTest('a.b(1)', 'axb(1)')).toBe(false);
  });

  it('treats a day as inclusive (UTC) and an instant as exact', () => {
    expect(quarantineEnd('2026-11-25')).toBe(Date.parse('2026-11-26T00:00:00.000Z'));
    expect(quarantineEnd('2026-11-25T12:00:00+01:00')).toBe(Date.parse('2026-11-25T11:00:00Z'));
    const q = [entry('t', '2026-11-25')];
    expect(findQuarantine(q, 't', new Date('2026-11-25T23:59:59Z'))?.expired).toBe(false);
    expect(findQuarantine(q, 't', new Date('2026-11-26T00:00:00Z'))?.expired).toBe(true);
  });

  it('prefers an entry in force over an expired one, and says when only expired ones match', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    const q = [entry('suite > *', '2026-01-01', 'old'), entry('suite > t', '2026-12-31', 'new')];
    expect(findQuarantine(q, 'suite > t', now)).toEqual({ entry: q[1], expired: false });
    expect(findQuarantine(q, 'suite > u', now)).toEqual({ entry: q[0], expired: true });
    expect(findQuarantine(q, 'other > t', now)).toBeUndefined();
  });

  it('is validated in the config: owner, reason and a real date are required', () => {
    const ok = parseConfig({
      quarantine: [entry('a > b', '2026-12-01')],
      projects: { shop: { quarantine: [entry('c', '2026-12-01T00:00:00Z')] } },
    });
    expect(ok.quarantine).toHaveLength(1);
    expect(ok.projects.shop?.quarantine).toHaveLength(1);
    expect(() => parseConfig({ quarantine: [{ test: 'a', owner: 'x', expires: 'soon' }] })).toThrow(
      /quarantine\.0\.reason.*quarantine\.0\.expires|quarantine\.0\.expires.*quarantine\.0\.reason/,
    );
  });
});
