import { describe, expect, it } from 'vitest';
import {
  dispositionFileName,
  downloadLink,
  downtime,
  NAME_SHOWN,
  percentRange,
  shownName,
  tokenRefused,
} from '../../web/text';

describe('dashboard: downloads', () => {
  it("takes the file name from the server's Content-Disposition", () => {
    expect(dispositionFileName('inline; filename="mvn-1.xml"')).toBe('mvn-1.xml');
    expect(dispositionFileName('attachment; FILENAME="a.json"')).toBe('a.json');
    expect(dispositionFileName('inline; filename=""')).toBeUndefined();
    expect(dispositionFileName('inline')).toBeUndefined();
    expect(dispositionFileName(null)).toBeUndefined();
  });
});

describe('dashboard: a download answered with a link (a large raw report on AWS)', () => {
  it('opens the https URL of a JSON answer, and keeps any other answer as the file', async () => {
    const text = (t: string) => () => Promise.resolve(t);
    const link = JSON.stringify({ url: 'https://bucket.s3.amazonaws.com/r.xml?X-Amz-Signature=s' });
    expect(await downloadLink('application/json', text(link))).toBe(
      'https://bucket.s3.amazonaws.com/r.xml?X-Amz-Signature=s',
    );
    // The report itself (JSON reports too: served as text/plain), or a link not to be opened.
    expect(await downloadLink('text/plain;charset=utf-8', text(link))).toBeUndefined();
    expect(await downloadLink('application/json', text('{"url":"javascript:alert(1)"}'))).toBe(
      undefined,
    );
    expect(await downloadLink('application/json', text('not json'))).toBeUndefined();
  });
});

describe('dashboard: a refused token signs out', () => {
  it("on a 401, and on API Gateway's bare 403 (the AWS authorizer said no), not on Vigil's own 403", () => {
    expect(tokenRefused(401, { error: { code: 'unauthorized', message: 'x' } })).toBe(true);
    expect(tokenRefused(403, { message: 'Forbidden' })).toBe(true);
    expect(tokenRefused(403, null)).toBe(true);
    expect(tokenRefused(403, { error: { code: 'forbidden', message: 'read-only token' } })).toBe(
      false,
    );
    expect(tokenRefused(404, { message: 'Not Found' })).toBe(false);
    expect(tokenRefused(500, null)).toBe(false);
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

describe('dashboard: percentage charts', () => {
  it('keep their axis within 0-100 %, with room around the data', () => {
    // A pass rate of 100 % every run: a flat line at the top, not an axis up to 150 %.
    expect(percentRange(100, 100)).toEqual([95, 100]);
    expect(percentRange(0, 0)).toEqual([0, 5]);
    expect(percentRange(62.5, 98)).toEqual([57, 100]);
    expect(percentRange(10, 90)).toEqual([2, 98]);
    expect(percentRange(null, null)).toEqual([0, 100]);
  });
});

describe('dashboard: downtime', () => {
  it('says seconds under a minute, never "0 min"', () => {
    expect(downtime(undefined)).toBe('');
    expect(downtime(0.2)).toBe('1 s down');
    expect(downtime(20)).toBe('20 s down');
    expect(downtime(90)).toBe('2 min down');
    expect(downtime(5400)).toBe('1.5 h down');
  });
});
