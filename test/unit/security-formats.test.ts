import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../functions/core/formats';
import {
  cweIds,
  htmlToText,
  locationText,
  MAX_FINDINGS,
  severityOfLevel,
  severityOfNpm,
  severityOfScore,
  severityOfZapRisk,
} from '../../functions/core/security/model';
import { errorOf } from '../helpers/errors';
import { parseSecurity } from '../helpers/security';

/**
 * The security formats on real reports (expected numbers from the tools' own summaries: ESLint's
 * console line, npm's metadata.vulnerabilities, ZAP's per-alert counts, the SARIF result count;
 * Trivy's and Grype's JSON and ZAP's XML are in test/unit/formats/security-scanners.test.ts),
 * the severity mapping table, fingerprints across line shifts, and hostile input.
 */

const read = (path: string): string =>
  readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
describe('real reports', () => {
  it('ESLint SARIF: the 6 problems ESLint printed (1 error, 5 warnings), with rule, file and line', () => {
    const console = read('real/security/eslint-console.txt');
    const [, total, errors, warnings] =
      /✖ (\d+) problems \((\d+) errors?, (\d+) warnings?\)/.exec(console) ?? [];
    const r = parseSecurity(read('real/security/eslint-security.sarif'));
    expect(r.format).toBe('sarif');
    expect(r.summary.findings).toBe(Number(total));
    // ESLint's errors are SARIF `error` (high), its warnings `warning` (medium).
    expect(r.summary.bySeverity).toEqual({
      critical: 0,
      high: Number(errors),
      medium: Number(warnings),
      low: 0,
      info: 0,
    });
    expect(r.summary.tools).toEqual([{ name: 'ESLint', findings: 6 }]);
    const evalFinding = r.findings.find((f) => f.ruleId === 'no-eval');
    expect(evalFinding).toMatchObject({
      tool: 'ESLint',
      severity: 'high',
      message: 'eval can be harmful.',
      location: { file: '/tmp/vigil-sec-tools/project/server.js', line: 22 },
    });
    // Every finding has its own fingerprint.
    expect(new Set(r.findings.map((f) => f.fingerprint)).size).toBe(6);
    expect(r.warnings).toEqual([]);
  });

  it("Trivy SARIF: every result, by its level (Trivy's SARIF before security-severity)", () => {
    const text = read('security/trivy-alpine-310.sarif');
    const levels = (
      JSON.parse(text) as { runs: { results: { level: string }[] }[] }
    ).runs[0]?.results.map((x) => x.level);
    const r = parseSecurity(text);
    expect(r.summary.findings).toBe(levels?.length);
    expect(r.summary.bySeverity).toMatchObject({
      medium: levels?.filter((l) => l === 'warning').length,
      low: levels?.filter((l) => l === 'note').length,
    });
    expect(r.findings[0]).toMatchObject({
      tool: 'Trivy',
      ruleId: 'CVE-2019-1549',
      ruleName: 'OsPackageVulnerability',
      severity: 'medium',
      confidence: 'very-high',
      location: { file: 'testdata/fixtures/images/alpine-310.tar.gz', line: 1 },
    });
    // The same CVE in libcrypto1.1 and libssl1.1 are two findings.
    expect(new Set(r.findings.map((f) => f.fingerprint)).size).toBe(8);
  });

  it('ZAP JSON: one finding per alert instance, as ZAP counts them, HTML descriptions as text', () => {
    const text = read('security/zap-dev-build-traditional.json');
    const doc = JSON.parse(text) as {
      site: { alerts: { riskcode: string; count: string }[] }[];
    };
    const alerts = doc.site.flatMap((x) => x.alerts);
    const r = parseSecurity(text);
    expect(r.format).toBe('zap');
    expect(r.summary.findings).toBe(alerts.reduce((n, a) => n + Number(a.count), 0));
    expect(r.summary.bySeverity).toEqual({ critical: 0, high: 2, medium: 0, low: 0, info: 0 });
    expect(r.findings[0]).toMatchObject({
      ruleId: '1',
      ruleName: 'XSS',
      severity: 'high',
      confidence: 'medium',
      message: 'XSS Description',
      cwe: ['CWE-123'],
      location: { url: 'http://example.com/example_3', method: 'GET', param: 'Test Param' },
    });
    // Two instances at the same URL and parameter stay two findings.
    expect(new Set(r.findings.map((f) => f.fingerprint)).size).toBe(2);
    expect(r.warnings).toEqual([]);
  });

  it('npm audit v2: one finding per vulnerable package, matching metadata.vulnerabilities', () => {
    const text = read('security/npm-audit-v2-audit-ci-allowlisted-path.json');
    const meta = (JSON.parse(text) as { metadata: { vulnerabilities: Record<string, number> } })
      .metadata.vulnerabilities;
    const r = parseSecurity(text);
    expect(r.format).toBe('npm-audit');
    expect(r.summary.findings).toBe(meta.total);
    expect(r.summary.bySeverity).toEqual({
      critical: meta.critical,
      high: meta.high,
      medium: meta.moderate,
      low: meta.low,
      info: meta.info,
    });
    expect(r.findings.find((f) => f.location.package === 'axios')).toMatchObject({
      ruleId: 'GHSA-cph5-m8f7-6c5x',
      ruleName: 'Incorrect Comparison in axios',
      severity: 'high',
      location: { package: 'axios', version: '<=0.21.1' },
      message: 'Incorrect Comparison in axios (+2 more advisories); fix: axios@0.26.0 (major)',
    });
    expect(r.findings.find((f) => f.location.package === 'github-build')).toMatchObject({
      ruleId: 'via axios',
      message: 'Vulnerable through axios; fix available',
    });
    expect(r.warnings).toEqual([]);
  });

  it('npm audit with nothing vulnerable: zero findings', () => {
    const r = parseSecurity(read('security/npm-audit-empty-cdk-integ-tests-sample.json'));
    expect(r.summary).toEqual({
      findings: 0,
      bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
      tools: [],
    });
  });

  it('format= names the parser, and a wrong one is told', () => {
    expect(parseSecurity(read('security/trivy-alpine-310.sarif'), 'sarif').summary.findings).toBe(
      8,
    );
    expect(
      errorOf(() => parseReport(read('security/zap-dev-build-traditional.json'), 'npm-audit'))
        .message,
    ).toMatch(/auditReportVersion 2/);
  });
});

describe('severity mapping', () => {
  it.each([
    [9.8, 'critical'],
    ['9.0', 'critical'],
    [8.9, 'high'],
    [7, 'high'],
    [6.9, 'medium'],
    [4, 'medium'],
    [3.9, 'low'],
    [0.1, 'low'],
    [0, 'info'],
    [11, undefined],
    [-1, undefined],
    ['high', undefined],
    ['', undefined],
  ])('security-severity %s → %s', (score, expected) => {
    expect(severityOfScore(score)).toBe(expected);
  });

  it('SARIF level, ZAP risk and npm severity', () => {
    expect(['error', 'warning', 'note', 'none', undefined].map(severityOfLevel)).toEqual([
      'high',
      'medium',
      'low',
      'info',
      'medium',
    ]);
    expect(['3', '2', 1, '0', '4'].map(severityOfZapRisk)).toEqual([
      'high',
      'medium',
      'low',
      'info',
      undefined,
    ]);
    expect(['critical', 'high', 'moderate', 'low', 'info', 'severe'].map(severityOfNpm)).toEqual([
      'critical',
      'high',
      'medium',
      'low',
      'info',
      undefined,
    ]);
  });

  it('security-severity wins over level, on the result or its rule', () => {
    const sarif = {
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 'CodeQL',
              rules: [
                {
                  id: 'js/xss',
                  properties: { 'security-severity': '6.1', tags: ['external/cwe/cwe-079'] },
                },
              ],
            },
          },
          results: [
            { ruleId: 'js/xss', ruleIndex: 0, level: 'error', message: { text: 'a' } },
            {
              ruleId: 'js/xss',
              ruleIndex: 0,
              level: 'note',
              properties: { 'security-severity': 9.3 },
              message: { text: 'b' },
            },
            { rule: { id: 'other' }, message: { text: 'c' } },
          ],
        },
      ],
    };
    const r = parseSecurity(JSON.stringify(sarif));
    expect(r.findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ['js/xss', 'medium'],
      ['js/xss', 'critical'],
      ['other', 'medium'],
    ]);
    expect(r.findings[0]?.cwe).toEqual(['CWE-79']);
  });

  it('CWE ids from numbers and tags', () => {
    expect(cweIds([79, '89', 'external/cwe/cwe-022', 'CWE-352: CSRF', 'nope', -1, '0'])).toEqual([
      'CWE-79',
      'CWE-89',
      'CWE-22',
      'CWE-352',
    ]);
  });
});

describe('fingerprints', () => {
  const eslint = () =>
    JSON.parse(read('real/security/eslint-security.sarif')) as {
      runs: {
        results: { locations: { physicalLocation: { region: { startLine: number } } }[] }[];
      }[];
    };

  it('survive the code moving down (no line in the fingerprint)', () => {
    const before = parseSecurity(read('real/security/eslint-security.sarif'));
    const shifted = eslint();
    for (const r of shifted.runs[0]?.results ?? [])
      for (const l of r.locations) l.physicalLocation.region.startLine += 7;
    const after = parseSecurity(JSON.stringify(shifted));
    expect(after.findings.map((f) => f.location.line)).toEqual(
      before.findings.map((f) => (f.location.line ?? 0) + 7),
    );
    expect(after.findings.map((f) => f.fingerprint)).toEqual(
      before.findings.map((f) => f.fingerprint),
    );
  });

  it("use the tool's partialFingerprints when given, and keep equal findings apart by occurrence", () => {
    const result = (line: number, hash?: string) => ({
      ruleId: 'r',
      message: { text: 'same' },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'file:///src/a.js' },
            region: { startLine: line },
          },
        },
      ],
      ...(hash ? { partialFingerprints: { primaryLocationLineHash: hash } } : {}),
    });
    const doc = (results: unknown[]) =>
      JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'T' } }, results }] });
    const a = parseSecurity(doc([result(1, 'h1:1'), result(5, 'h2:1')]));
    const b = parseSecurity(doc([result(40, 'h1:1'), result(90, 'h2:1')]));
    expect(b.findings.map((f) => f.fingerprint)).toEqual(a.findings.map((f) => f.fingerprint));
    expect(a.findings[0]?.location.file).toBe('/src/a.js');
    const twins = parseSecurity(doc([result(3), result(9)]));
    expect(new Set(twins.findings.map((f) => f.fingerprint)).size).toBe(2);
    const twinsMoved = parseSecurity(doc([result(13), result(19)]));
    expect(twinsMoved.findings.map((f) => f.fingerprint)).toEqual(
      twins.findings.map((f) => f.fingerprint),
    );
  });
});

describe('hostile and malformed input', () => {
  const sarif = (extra: Record<string, unknown>) =>
    JSON.stringify({ version: '2.1.0', runs: [], ...extra });

  it('refuses a SARIF version other than 2.1.0, and a log without runs', () => {
    const wrong = errorOf(() =>
      parseReport(
        JSON.stringify({
          $schema: 'https://json.schemastore.org/sarif-2.0.0.json',
          version: '2.0.0',
          runs: [],
        }),
      ),
    );
    expect(wrong).toMatchObject({
      code: 'invalid_report',
      status: 400,
      location: { path: 'version' },
    });
    expect(wrong.message).toMatch(
      /SARIF version "2\.0\.0" is not supported: Vigil reads SARIF 2\.1\.0/,
    );
    const noRuns = errorOf(() =>
      parseReport(JSON.stringify({ $schema: 'sarif-2.1.0', version: '2.1.0' })),
    );
    expect(noRuns).toMatchObject({ code: 'invalid_report', location: { path: 'runs' } });
    expect(errorOf(() => parseReport(sarif({ runs: [{ results: 'x' }] })))).toMatchObject({
      location: { path: 'runs[0].results' },
    });
    expect(errorOf(() => parseReport('[1]', 'sarif')).message).toMatch(/JSON object/);
  });

  it('refuses more results than a report may carry, with the count to aim for', () => {
    const results = Array.from({ length: MAX_FINDINGS + 1 }, () => ({}));
    const e = errorOf(() =>
      parseReport(sarif({ runs: [{ tool: { driver: { name: 'T' } }, results }] })),
    );
    expect(e.message).toMatch(new RegExp(`more than ${MAX_FINDINGS} results: split the scan`));
  });

  it('keeps findings with absurd regions without a line, and says how many', () => {
    const at = (startLine: unknown) => ({
      ruleId: 'r',
      message: { text: String(startLine) },
      locations: [
        { physicalLocation: { artifactLocation: { uri: 'a.js' }, region: { startLine } } },
      ],
    });
    const r = parseSecurity(
      sarif({
        runs: [
          {
            tool: { driver: { name: 'T' } },
            results: [at(1e12), at(-3), at('12'), at(2.5), at(12)],
          },
        ],
      }),
    );
    expect(r.findings.map((f) => f.location.line)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      12,
    ]);
    expect(r.warnings).toEqual([
      '4 result(s) had a region start line that is not a line number (kept without a line).',
    ]);
  });

  it('SARIF: only results of kind fail (or no kind) are findings; the others are counted in a warning', () => {
    const result = (ruleId: string, extra: Record<string, unknown>) => ({
      ruleId,
      message: { text: ruleId },
      ...extra,
    });
    const r = parseSecurity(
      sarif({
        runs: [
          {
            tool: { driver: { name: 'T' } },
            results: [
              result('passed', { kind: 'pass', level: 'none' }),
              result('skipped', { kind: 'notApplicable' }),
              result('failed', { kind: 'fail', level: 'error' }),
              result('default', {}),
            ],
          },
          {
            tool: { driver: { name: 'U' } },
            results: [result('todo', { kind: 'review' }), result('odd', { kind: 7 })],
          },
        ],
      }),
    );
    expect(r.findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ['failed', 'high'],
      ['default', 'medium'],
    ]);
    expect(r.summary.findings).toBe(2);
    expect(r.summary.bySeverity).toMatchObject({ high: 1, medium: 1, info: 0 });
    expect(r.summary.tools).toEqual([{ name: 'T', findings: 2 }]);
    expect(r.warnings).toEqual([
      '4 result(s) not counted as findings: their kind is not "fail" (pass 1, notApplicable 1, review 1, invalid 1), so they are not problems.',
    ]);
  });

  it('turns hostile strings into bounded plain text', () => {
    const name = `<img src=x onerror=alert(1)>\u202e\u0000${'x'.repeat(5000)}`;
    const r = parseSecurity(
      sarif({
        runs: [
          {
            tool: { driver: { name } },
            results: [{ ruleId: name, message: { text: `line1\nline2 ${name}` } }],
          },
        ],
      }),
    );
    const f = r.findings[0];
    expect(f?.tool.length).toBeLessThanOrEqual(300);
    expect(f?.ruleId.length).toBeLessThanOrEqual(200);
    expect(f?.message.length).toBeLessThanOrEqual(500);
    expect(f?.message.startsWith('line1 line2 <img')).toBe(true);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking they were removed
    expect(`${f?.tool}${f?.ruleId}${f?.message}`).not.toMatch(/[\u0000-\u001f\u202e]/);
  });

  it('reads ZAP descriptions as text: tags dropped, entities decoded once, never markup', () => {
    const doc = {
      '@programName': 'ZAP',
      site: [
        {
          alerts: [
            {
              pluginid: '40012',
              riskcode: '3',
              confidence: '2',
              name: 'XSS <b>reflected</b>',
              desc: '<p>Echoes &lt;script&gt;alert(1)&lt;/script&gt;</p><script>steal()</script>',
              cweid: '79',
              instances: [{ uri: 'https://x/search?q=1', method: 'GET', param: 'q' }],
              count: '2',
            },
          ],
        },
      ],
    };
    const r = parseSecurity(JSON.stringify(doc));
    expect(r.findings[0]).toMatchObject({
      severity: 'high',
      message: 'Echoes <script>alert(1)</script> steal()',
      cwe: ['CWE-79'],
    });
    expect(r.warnings).toEqual([
      '1 alert(s) list a different number of instances than their "count".',
    ]);
    expect(htmlToText('&amp;lt;b&amp;gt;', 100)).toBe('&lt;b&gt;');
    expect(locationText(r.findings[0]?.location ?? {})).toBe('GET https://x/search?q=1 (param q)');
  });

  it('refuses a ZAP alert without a risk code and npm audit reports of other versions', () => {
    const zap = {
      '@programName': 'ZAP',
      site: [{ alerts: [{ pluginid: '1', riskcode: '9', instances: [] }] }],
    };
    expect(errorOf(() => parseReport(JSON.stringify(zap)))).toMatchObject({
      location: { path: 'site[0].alerts[0].riskcode' },
    });
    const v1 = errorOf(() =>
      parseReport(JSON.stringify({ auditReportVersion: 1, advisories: {} })),
    );
    expect(v1.message).toMatch(
      /version 1 is not supported: Vigil reads auditReportVersion 2 \(npm 7 and later/,
    );
    const badSeverity = {
      auditReportVersion: 2,
      vulnerabilities: { a: { name: 'a', severity: 'severe', via: [] } },
    };
    expect(errorOf(() => parseReport(JSON.stringify(badSeverity))).message).toMatch(
      /severity must be critical, high, moderate, low or info/,
    );
    expect(
      errorOf(() => parseReport(JSON.stringify({ auditReportVersion: 2 }))).location?.path,
    ).toBe('vulnerabilities');
  });

  it('tells when npm counted other than it listed', () => {
    const doc = {
      auditReportVersion: 2,
      vulnerabilities: {
        a: { name: 'a', severity: 'low', via: ['b'], range: '*', fixAvailable: false },
      },
      metadata: { vulnerabilities: { total: 2 } },
    };
    const r = parseSecurity(JSON.stringify(doc));
    expect(r.findings[0]?.message).toBe('Vulnerable through b; no fix available');
    expect(r.warnings).toEqual([
      'npm counted 2 vulnerable packages in metadata.vulnerabilities.total, the report lists 1.',
    ]);
  });
});

describe('defensive shapes', () => {
  it('SARIF: rule from the result, its reference or the rule list; message fallbacks; in-report suppressions', () => {
    const rules = [
      { id: 'by-index', shortDescription: { text: 'Rule text' } },
      { id: 'named', name: 'Named rule' },
    ];
    const doc = {
      version: '2.1.0',
      runs: [
        null,
        {
          tool: { driver: { name: 'Semgrep', rules } },
          results: [
            { ruleIndex: 0, message: {} },
            { ruleId: 'named', ruleIndex: 0, message: { markdown: 'md **text**' } },
            {
              message: { text: 'no rule' },
              suppressions: [{ kind: 'inSource', justification: 'test data' }],
            },
            {
              ruleId: 'x',
              message: { text: 'rejected' },
              suppressions: [{ kind: 'external', status: 'rejected' }],
            },
            { ruleId: 'y', message: { text: 'accepted' }, suppressions: [{ status: 'accepted' }] },
            'junk',
          ],
        },
      ],
    };
    const r = parseSecurity(JSON.stringify(doc));
    expect(r.findings.map((f) => [f.ruleId, f.ruleName, f.message, f.suppressedInReport])).toEqual([
      ['by-index', 'Rule text', 'Rule text', undefined],
      ['named', 'Named rule', 'md **text**', undefined],
      ['(no rule)', undefined, 'no rule', 'suppressed in the report (inSource: test data)'],
      ['x', undefined, 'rejected', undefined],
      ['y', undefined, 'accepted', 'suppressed in the report (external)'],
      ['(no rule)', undefined, '', undefined],
    ]);
    expect(errorOf(() => parseReport('{"runs": []}', 'sarif')).message).toMatch(
      /SARIF version null/,
    );
  });

  it('ZAP: odd entries are read as far as they go, and too many instances are refused', () => {
    const doc = {
      '@version': '2.15.0',
      site: [
        'junk',
        {
          alerts: [
            { alertRef: '10020-1', riskcode: 2, instances: ['junk', { uri: 'https://x/' }] },
            { riskcode: '0' },
          ],
        },
      ],
    };
    const r = parseSecurity(JSON.stringify(doc));
    expect(r.findings).toEqual([
      expect.objectContaining({ ruleId: '10020-1', severity: 'medium', message: '', location: {} }),
      expect.objectContaining({ ruleId: '10020-1', location: { url: 'https://x/' } }),
    ]);
    expect(r.findings[0]).not.toHaveProperty('ruleName');
    expect(
      parseSecurity(
        JSON.stringify({ '@programName': 'ZAP', site: [{ alerts: [{ riskcode: '1' }] }] }),
      ).findings,
    ).toEqual([]);
    expect(errorOf(() => parseReport('{"site": {}}', 'zap')).location?.path).toBe('site');
    const huge = {
      '@programName': 'ZAP',
      site: [
        {
          alerts: [
            {
              pluginid: '1',
              riskcode: '1',
              instances: Array.from({ length: MAX_FINDINGS + 1 }, () => 0),
            },
          ],
        },
      ],
    };
    expect(errorOf(() => parseReport(JSON.stringify(huge))).message).toMatch(
      /more than 50000 alert instances/,
    );
  });

  it('npm audit: odd entries, advisories without a GHSA link, and too many packages', () => {
    const doc = {
      auditReportVersion: 2,
      vulnerabilities: {
        keyed: 'junk',
        lib: {
          severity: 'high',
          via: [{ source: 1234, title: 'Old advisory', cwe: 'CWE-1' }],
          fixAvailable: { name: 'lib', version: '2.0.0' },
        },
      },
    };
    expect(() => parseSecurity(JSON.stringify(doc))).toThrow(
      /vulnerabilities\["keyed"\]\.severity/,
    );
    delete (doc.vulnerabilities as Record<string, unknown>).keyed;
    const r = parseSecurity(JSON.stringify(doc));
    expect(r.findings[0]).toMatchObject({
      ruleId: '1234',
      location: { package: 'lib' },
      message: 'Old advisory; fix: lib@2.0.0',
      cwe: [],
    });
    const none = parseSecurity(
      JSON.stringify({
        auditReportVersion: 2,
        vulnerabilities: { z: { severity: 'info', via: [{}] } },
      }),
    );
    expect(none.findings[0]?.ruleId).toBe('via (unknown)');
    expect(errorOf(() => parseReport('[]', 'npm-audit')).message).toBe(
      'An npm audit report is a JSON object.',
    );
    const many = Object.fromEntries(
      Array.from({ length: MAX_FINDINGS + 1 }, (_, i) => [`p${i}`, 0]),
    );
    expect(
      errorOf(() => parseReport(JSON.stringify({ auditReportVersion: 2, vulnerabilities: many })))
        .message,
    ).toMatch(/more than 50000 packages/);
  });

  it('text helpers: entities, CWE lists capped at 10, every location shape', () => {
    expect(htmlToText('<p>&quot;a&quot; &#39;b&apos; &gt; &amp;</p>', 100)).toBe(`"a" 'b' > &`);
    expect(htmlToText(42, 10)).toBe('');
    expect(cweIds(Array.from({ length: 20 }, (_, i) => i + 1))).toHaveLength(10);
    expect(locationText({ file: 'a.js' })).toBe('a.js');
    expect(locationText({ url: 'https://x/' })).toBe('https://x/');
    expect(locationText({ package: 'lodash' })).toBe('lodash');
    expect(locationText({ package: 'lodash', version: '<4' })).toBe('lodash <4');
    expect(locationText({})).toBe('(no location)');
  });
});
