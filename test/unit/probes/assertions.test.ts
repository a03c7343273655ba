import { describe, expect, it } from 'vitest';
import { type ProbeConfig, probeSchema } from '../../../functions/core/config';
import {
  daysRemaining,
  evaluate,
  MAX_BODY_BYTES,
  type ResponseObservation,
  snippet,
} from '../../../functions/core/probes/assertions';

const NOW = new Date('2026-11-25T10:00:00.000Z');
const DAY = 86_400_000;

const probe = (input: Record<string, unknown> = {}): ProbeConfig =>
  probeSchema.parse({ name: 'api', url: 'https://api.example.com/health', ...input });

const response = (over: Partial<ResponseObservation> = {}): ResponseObservation => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: '{"status":"ok"}',
  latencyMs: 42,
  ...over,
});

describe('evaluate: status', () => {
  it('is up when the status is expected and nothing else is asserted', () => {
    // Act
    const verdict = evaluate(probe(), response(), NOW);
    // Assess
    expect(verdict).toEqual({ status: 'up', warnings: [] });
  });

  it('is down with "expected status 200, got 503"', () => {
    // Act
    const verdict = evaluate(probe(), response({ statusCode: 503 }), NOW);
    // Assess
    expect(verdict.status).toBe('down');
    expect(verdict.failure).toEqual({
      assertion: 'status',
      message: 'expected status 200, got 503',
    });
  });

  it('lists every accepted status', () => {
    // Act
    const verdict = evaluate(
      probe({ expect: { status: [200, 201, 204] } }),
      response({ statusCode: 500 }),
      NOW,
    );
    // Assess
    expect(verdict.failure?.message).toBe('expected status 200, 201 or 204, got 500');
  });

  it('names the redirect target of a 3xx, which is not followed', () => {
    // Act
    const verdict = evaluate(
      probe(),
      response({ statusCode: 301, headers: { location: 'https://www.example.com/' } }),
      NOW,
    );
    // Assess
    expect(verdict.failure?.message).toBe(
      'expected status 200, got 301 (redirect to https://www.example.com/, not followed)',
    );
  });

  it('accepts a redirect when the probe expects it', () => {
    expect(
      evaluate(probe({ expect: { status: [301] } }), response({ statusCode: 301 }), NOW).status,
    ).toBe('up');
  });
});

describe('evaluate: latency, body, headers', () => {
  it('fails maxLatencyMs when the response is slower', () => {
    // Act
    const verdict = evaluate(
      probe({ expect: { maxLatencyMs: 500 } }),
      response({ latencyMs: 812.4 }),
      NOW,
    );
    // Assess
    expect(verdict.failure).toEqual({
      assertion: 'maxLatencyMs',
      message: 'took 812 ms, more than the 500 ms allowed',
    });
  });

  it('passes maxLatencyMs at exactly the limit', () => {
    expect(
      evaluate(probe({ expect: { maxLatencyMs: 500 } }), response({ latencyMs: 500 }), NOW).status,
    ).toBe('up');
  });

  it('checks status before latency', () => {
    // Act
    const verdict = evaluate(
      probe({ expect: { maxLatencyMs: 10 } }),
      response({ statusCode: 500, latencyMs: 900 }),
      NOW,
    );
    // Assess
    expect(verdict.failure?.assertion).toBe('status');
  });

  it('says the body did not contain the text and quotes at most ~200 characters of it', () => {
    // Prepare
    const body = `<html>\n  <body>${'lorem ipsum '.repeat(500)}</body></html>`;
    // Act
    const verdict = evaluate(probe({ expect: { bodyContains: '"ok"' } }), response({ body }), NOW);
    // Assess
    expect(verdict.failure?.assertion).toBe('bodyContains');
    const message = verdict.failure?.message ?? '';
    expect(message).toMatch(
      /^the body did not contain "\\"ok\\""; it starts with "<html> <body>lorem/,
    );
    expect(message.length).toBeLessThan(300);
    expect(message).not.toContain('\n');
  });

  it('passes bodyContains when the text is present', () => {
    expect(evaluate(probe({ expect: { bodyContains: 'ok' } }), response(), NOW).status).toBe('up');
  });

  it('says so when the body is empty or was cut at 1 MB', () => {
    // Act
    const empty = evaluate(probe({ expect: { bodyContains: 'x' } }), response({ body: '' }), NOW);
    const cut = evaluate(
      probe({ expect: { bodyContains: 'needle' } }),
      response({ body: 'a'.repeat(100), bodyTruncated: true }),
      NOW,
    );
    // Assess
    expect(empty.failure?.message).toBe('the body is empty; expected it to contain "x"');
    expect(cut.failure?.message).toContain(`the first ${MAX_BODY_BYTES} bytes of the body`);
  });

  it('matches header names case-insensitively and values exactly', () => {
    // Prepare
    const p = probe({ expect: { headers: { 'Content-Type': 'application/json' } } });
    // Act
    const ok = evaluate(p, response({ headers: { 'content-type': 'application/json' } }), NOW);
    const upper = evaluate(p, response({ headers: { 'CONTENT-TYPE': 'application/json' } }), NOW);
    const wrong = evaluate(p, response({ headers: { 'content-type': 'text/html' } }), NOW);
    const missing = evaluate(p, response({ headers: {} }), NOW);
    // Assess
    expect(ok.status).toBe('up');
    expect(upper.status).toBe('up');
    expect(wrong.failure).toEqual({
      assertion: 'header:content-type',
      message: 'expected header content-type: "application/json", got "text/html"',
    });
    expect(missing.failure).toEqual({
      assertion: 'header:content-type',
      message:
        'expected header content-type: "application/json", but the response has no such header',
    });
  });
});

describe('evaluate: json', () => {
  const body = JSON.stringify({ status: 'degraded', checks: [{ db: 'up' }], version: 7 });

  it('passes equals and exists assertions that hold', () => {
    // Act
    const verdict = evaluate(
      probe({
        expect: {
          json: [
            { path: '$.checks[0].db', equals: 'up' },
            { path: '$.version', equals: 7 },
            { path: '$.status', exists: true },
            { path: '$.error', exists: false },
          ],
        },
      }),
      response({ body }),
      NOW,
    );
    // Assess
    expect(verdict.status).toBe('up');
  });

  it('fails the first json assertion that does not hold, named by its path', () => {
    // Act
    const verdict = evaluate(
      probe({
        expect: {
          json: [
            { path: '$.version', equals: 7 },
            { path: '$.status', equals: 'ok' },
            { path: '$.missing', exists: true },
          ],
        },
      }),
      response({ body }),
      NOW,
    );
    // Assess
    expect(verdict.failure).toEqual({
      assertion: 'json:$.status',
      message: '$.status is "degraded", expected "ok"',
    });
  });

  it.each([
    [{ path: '$.missing', exists: true }, '$.missing does not exist'],
    [{ path: '$.status', exists: false }, '$.status exists ("degraded"), expected it not to'],
    [{ path: '$.missing', equals: null }, '$.missing does not exist; expected null'],
    [{ path: '$.version', equals: '7' }, '$.version is 7, expected "7"'],
    [{ path: '$.checks', equals: 'x' }, '$.checks is [{"db":"up"}], expected "x"'],
  ])('explains %o', (assertion, message) => {
    // Act
    const verdict = evaluate(probe({ expect: { json: [assertion] } }), response({ body }), NOW);
    // Assess
    expect(verdict.failure).toEqual({ assertion: `json:${assertion.path}`, message });
  });

  it('fails clearly when the body is not JSON, without quoting it', () => {
    // Act
    const verdict = evaluate(
      probe({ expect: { json: [{ path: '$.status', equals: 'ok' }] } }),
      response({ body: '<html>Service Unavailable</html>' }),
      NOW,
    );
    // Assess
    expect(verdict.failure).toEqual({
      assertion: 'json:$.status',
      message: 'the body is not valid JSON, so $.status cannot be checked',
    });
  });

  it('mentions an empty body and a body cut at 1 MB', () => {
    // Prepare
    const p = probe({ expect: { json: [{ path: '$.a', exists: true }] } });
    // Act
    const empty = evaluate(p, response({ body: '' }), NOW);
    const cut = evaluate(p, response({ body: '{"a": [1, 2', bodyTruncated: true }), NOW);
    // Assess
    expect(empty.failure?.message).toBe('the body is empty, so $.a cannot be checked');
    expect(cut.failure?.message).toBe(
      `the body is not valid JSON (it was cut at ${MAX_BODY_BYTES} bytes), so $.a cannot be checked`,
    );
  });
});

describe('evaluate: TLS', () => {
  it('reports the days remaining', () => {
    // Act
    const verdict = evaluate(
      probe(),
      response({ tls: { validTo: new Date(NOW.getTime() + 90 * DAY + 3600_000) } }),
      NOW,
    );
    // Assess
    expect(verdict).toEqual({
      status: 'up',
      warnings: [],
      tls: { validTo: '2027-02-23T11:00:00.000Z', daysRemaining: 90 },
    });
  });

  it('warns, but stays up, when the certificate expires within tlsExpiryDays', () => {
    // Act
    const verdict = evaluate(
      probe({ tlsExpiryDays: 14 }),
      response({ tls: { validTo: new Date(NOW.getTime() + 4.5 * DAY) } }),
      NOW,
    );
    // Assess
    expect(verdict.status).toBe('up');
    expect(verdict.tls?.daysRemaining).toBe(4);
    expect(verdict.warnings).toEqual([
      'TLS certificate expires in 4 days (2026-11-29T22:00:00.000Z), within the 14-day warning window',
    ]);
  });

  it('does not warn outside the window or without tlsExpiryDays', () => {
    // Prepare
    const tls = { validTo: new Date(NOW.getTime() + 14 * DAY + 1000) };
    // Act + Assess
    expect(evaluate(probe({ tlsExpiryDays: 14 }), response({ tls }), NOW).warnings).toEqual([]);
    expect(
      evaluate(probe(), response({ tls: { validTo: new Date(NOW.getTime() + DAY) } }), NOW)
        .warnings,
    ).toEqual([]);
  });

  it('says "less than a day" in the last day', () => {
    // Act
    const verdict = evaluate(
      probe({ tlsExpiryDays: 3 }),
      response({ tls: { validTo: new Date(NOW.getTime() + 3600_000) } }),
      NOW,
    );
    // Assess
    expect(verdict.warnings[0]).toMatch(/^TLS certificate expires in less than a day/);
  });

  it('is down when the certificate has already expired', () => {
    // Act
    const verdict = evaluate(
      probe({ tlsExpiryDays: 14 }),
      response({ tls: { validTo: new Date(NOW.getTime() - 3 * DAY - 60_000) } }),
      NOW,
    );
    // Assess
    expect(verdict.status).toBe('down');
    expect(verdict.failure).toEqual({
      assertion: 'tls',
      message: 'TLS certificate expired on 2026-11-22T09:59:00.000Z (3 days ago)',
    });
    expect(verdict.tls?.daysRemaining).toBe(-4);
  });

  it('explains an expired certificate that the TLS handshake rejected', () => {
    // Act
    const verdict = evaluate(
      probe(),
      {
        error: 'tls',
        message: 'TLS certificate not trusted: the certificate has expired (CERT_HAS_EXPIRED)',
        latencyMs: 5,
        tls: { validTo: new Date(NOW.getTime() - 3600_000) },
      },
      NOW,
    );
    // Assess
    expect(verdict.failure).toEqual({
      assertion: 'tls',
      message: 'TLS certificate expired on 2026-11-25T09:00:00.000Z (less than a day ago)',
    });
    expect(verdict.tls).toEqual({ validTo: '2026-11-25T09:00:00.000Z', daysRemaining: -1 });
  });

  it('ignores an unreadable validTo', () => {
    expect(
      evaluate(probe(), response({ tls: { validTo: new Date('garbage') } }), NOW).tls,
    ).toBeUndefined();
  });
});

describe('evaluate: transport failures', () => {
  it.each([
    ['timeout', 'no complete response within 5000 ms'],
    ['connection', 'connection refused: connect ECONNREFUSED 127.0.0.1:1'],
    ['dns', 'DNS lookup for nowhere.invalid failed (ENOTFOUND)'],
    ['tls', 'TLS certificate not trusted: the certificate is self-signed'],
  ] as const)('reports %s as the failed assertion', (error, message) => {
    // Act
    const verdict = evaluate(probe(), { error, message, latencyMs: 5000 }, NOW);
    // Assess
    expect(verdict).toEqual({
      status: 'down',
      failure: { assertion: error, message },
      warnings: [],
    });
  });
});

describe('helpers', () => {
  it('computes whole days remaining, negative once expired', () => {
    expect(daysRemaining(new Date(NOW.getTime() + 5 * DAY), NOW)).toBe(5);
    expect(daysRemaining(new Date(NOW.getTime() + 5 * DAY - 1), NOW)).toBe(4);
    expect(daysRemaining(new Date(NOW.getTime() - 1), NOW)).toBe(-1);
  });

  it('cuts snippets and collapses whitespace', () => {
    expect(snippet('  a \n\t b  ')).toBe('a b');
    expect(snippet('x'.repeat(300))).toHaveLength(200);
  });
});
