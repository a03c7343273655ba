import { describe, expect, it } from 'vitest';
import { dispositionFileName, NAME_SHOWN, shownName } from '../../web/text';

describe('dashboard: downloads', () => {
  it("takes the file name from the server's Content-Disposition", () => {
    expect(dispositionFileName('inline; filename="mvn-1.xml"')).toBe('mvn-1.xml');
    expect(dispositionFileName('attachment; FILENAME="a.json"')).toBe('a.json');
    expect(dispositionFileName('inline; filename=""')).toBeUndefined();
    expect(dispositionFileName('inline')).toBeUndefined();
    expect(dispositionFileName(null)).toBeUndefined();
  });
});

describe('dashboard: tests table', () => {
  it('shows names up to 300 characters whole and cuts longer ones with "…"', () => {
    const realistic = 'a'.repeat(NAME_SHOWN);
    expect(shownName(realistic)).toBe(realistic);
    const hostile = 'x'.repeat(20_000);
    expect(shownName(hostile)).toBe(`${'x'.repeat(NAME_SHOWN)}…`);
    // Never half of a surrogate pair.
    const emoji = `${'a'.repeat(NAME_SHOWN - 1)}😀tail`;
    expect(shownName(emoji)).toBe(`${'a'.repeat(NAME_SHOWN - 1)}…`);
  });
});
