import { describe, expect, it } from 'vitest';
import { testSearch } from '../../functions/core/dashboard-links';
import {
  ago,
  dispositionFileName,
  downloadLink,
  downtime,
  incidentTarget,
  isPast,
  NAME_SHOWN,
  percentRange,
  seriesBySuite,
  shownName,
  tokenRefused,
  uptimePct,
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

describe('dashboard: uptime', () => {
  it('rounds down to two decimals, as the status page does: never better than it is', () => {
    expect(uptimePct(2 / 3)).toBe('66.66%');
    expect(uptimePct(0.99999)).toBe('99.99%');
    expect(uptimePct(1)).toBe('100.00%');
    expect(uptimePct(0)).toBe('0.00%');
    // A float product a hair below the exact value (0.57 × 10,000 = 5699.999…) is not cut.
    expect(uptimePct(57 / 100)).toBe('57.00%');
    expect(uptimePct(29 / 100)).toBe('29.00%');
    // 30 days of a check every second: one failure shows, it is not rounded away.
    expect(uptimePct((2_592_000 - 1) / 2_592_000)).toBe('99.99%');
    expect(uptimePct(null)).toBe('—');
    expect(uptimePct(undefined)).toBe('—');
  });
});

describe('dashboard: an incident links to its cause', () => {
  const incident = (checkKey: string, title = '', project = 'shop') => ({
    checkKey,
    project,
    title,
  });

  it('leads a probe or heartbeat incident to its page, the project holding "/" or not', () => {
    expect(incidentTarget(incident('probe:shop/checkout', 'Probe checkout'))).toEqual({
      parts: ['probe', 'shop', 'checkout'],
    });
    expect(incidentTarget(incident('heartbeat:payments/api/nightly', '', 'payments/api'))).toEqual({
      parts: ['probe', 'payments/api', 'nightly'],
    });
  });

  it('leads a gate or tests incident to the runs it is about (an incident has no run id)', () => {
    expect(incidentTarget(incident('gate:shop/coverage/feature/login'))).toEqual({
      parts: ['runs', 'shop'],
      query: { kind: 'coverage', branch: 'feature/login' },
      list: 'runs',
    });
    // Suite and branch may both hold "/": the split the title agrees with.
    expect(
      incidentTarget(
        incident('tests:shop/e2e/web/release/1.2', 'Tests shop/e2e/web on release/1.2'),
      ),
    ).toEqual({
      parts: ['runs', 'shop'],
      query: { kind: 'tests', branch: 'release/1.2', suite: 'e2e/web' },
      list: 'runs',
    });
    // A run without a suite alerts as "default"; a title that does not decide: any branch.
    expect(
      incidentTarget(incident('tests:shop/default/main', 'Tests shop/default on main')),
    ).toEqual({ parts: ['runs', 'shop'], query: { kind: 'tests', branch: 'main' }, list: 'runs' });
    expect(incidentTarget(incident('tests:shop/a/b', 'something else'))).toEqual({
      parts: ['runs', 'shop'],
      query: { kind: 'tests' },
      list: 'runs',
    });
  });

  it('leads security and flaky ones to their pages, and others nowhere', () => {
    expect(incidentTarget(incident('security:shop/abc123'))).toEqual({
      parts: ['security', 'shop'],
      list: 'security runs',
    });
    expect(incidentTarget(incident('flaky:shop/t1'))?.query).toEqual({ status: 'flaky' });
    expect(incidentTarget(incident('alarm:HighErrors'))).toBeUndefined();
    expect(incidentTarget(incident('alertmanager:f00d'))).toBeUndefined();
    // Another project's key, or none: no guess.
    expect(incidentTarget(incident('probe:other/checkout'))).toBeUndefined();
    expect(incidentTarget(incident('probe:shop/'))).toBeUndefined();
    expect(incidentTarget(incident('no colon'))).toBeUndefined();
  });
});

describe("dashboard: a test's history search", () => {
  it('searches what the API takes and the id holds: whitespace squashed, no controls, 200 characters', () => {
    expect(testSearch('  adds\n  two\tnumbers ')).toBe('adds two numbers');
    expect(testSearch('bell\u0007 and \u007fdel')).toBe('bell and del');
    expect(testSearch(`param ${'x'.repeat(20_000)}`)).toHaveLength(200);
  });
});

describe('dashboard: trends per suite', () => {
  it('draws a line per suite over every point, the suites with the newest runs first', () => {
    const points = [
      { at: 't1', suite: 'unit', v: 1 },
      { at: 't2', suite: 'e2e', v: 50 },
      { at: 't3', v: 7 },
      { at: 't4', suite: 'unit', v: 2 },
    ];
    expect(seriesBySuite(points, (p) => p.v)).toEqual({
      at: ['t1', 't2', 't3', 't4'],
      lines: [
        { suite: 'unit', values: [1, null, null, 2] },
        { suite: '', values: [null, null, 7, null] },
        { suite: 'e2e', values: [null, 50, null, null] },
      ],
    });
    // Beyond `max` suites, the oldest suite's points are left out, times included.
    expect(seriesBySuite(points, (p) => p.v, 1)).toEqual({
      at: ['t1', 't4'],
      lines: [{ suite: 'unit', values: [1, 2] }],
    });
  });
});

describe('dashboard: relative times', () => {
  it('says how long ago, or how soon; a few seconds ahead is the clocks, not the future', () => {
    const now = Date.parse('2026-12-06T10:00:00Z');
    const at = (seconds: number) => new Date(now + seconds * 1000).toISOString();
    expect(ago(at(-12), now)).toBe('12 s ago');
    expect(ago(at(-7200), now)).toBe('2 h ago');
    expect(ago(at(-3 * 86_400), now)).toBe('3 d ago');
    expect(ago(at(2), now)).toBe('0 s ago');
    expect([isPast(at(2), now), isPast(at(10), now)]).toEqual([true, false]);
    expect(ago(at(10), now)).toBe('in 10 s');
    expect(ago(at(300), now)).toBe('in 5 min');
    expect(ago(undefined, now)).toBe('—');
  });
});
