import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectReport } from '../../../cli/report';
import { parseConfig } from '../../../functions/core/config';
import { parseReport } from '../../../functions/core/formats';
import { evaluateGate } from '../../../functions/core/gates/gate';
import { ingest } from '../../../functions/core/ingest/service';
import {
  fingerprintOf,
  MAX_FINDINGS,
  severityOfGrype,
  severityOfNpm,
  severityOfTrivy,
  severityOfZapRisk,
} from '../../../functions/core/security/model';
import { errorOf } from '../../helpers/errors';
import { fixedClock, MemoryArchive, MemoryLedger, MemoryPublisher } from '../../helpers/fakes';
import { parseSecurity } from '../../helpers/security';

/**
 * Trivy's and Grype's own JSON and ZAP's XML report: real files written by the tools (expected
 * numbers from their own fields), the severity tables, stable fingerprints, and hostile input.
 */

const read = (name: string): string =>
  readFileSync(new URL(`../../fixtures/security/${name}`, import.meta.url), 'utf8');
type TrivyDoc = {
  SchemaVersion: number;
  Results: { Target: string; Vulnerabilities?: Record<string, unknown>[] }[];
};
const trivyDoc = (): TrivyDoc => JSON.parse(read('trivy-npm-repo.json')) as TrivyDoc;
const trivyWith = (vulns: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    SchemaVersion: 2,
    ArtifactName: '.',
    Results: [{ Target: 'package-lock.json', Vulnerabilities: vulns, ...extra }],
  });

describe('Trivy JSON', () => {
  it("reads every vulnerability of every result, as Trivy's own Severity counts them", () => {
    const text = read('trivy-npm-repo.json');
    const vulns = trivyDoc().Results.flatMap((x) => x.Vulnerabilities ?? []);
    const r = parseSecurity(text);
    expect(r.format).toBe('trivy');
    expect(r.summary.findings).toBe(vulns.length);
    expect(r.summary.bySeverity.medium).toBe(vulns.filter((v) => v.Severity === 'MEDIUM').length);
    expect(r.findings).toEqual([
      {
        tool: 'Trivy',
        ruleId: 'CVE-2019-11358',
        ruleName:
          "jquery: Prototype pollution in object's prototype leading to denial of service, remote code execution, or property injection",
        severity: 'medium',
        message:
          "jquery: Prototype pollution in object's prototype leading to denial of service, remote code execution, or property injection; fixed in 3.4.0 (package-lock.json)",
        location: { package: 'jquery', version: '3.3.9' },
        cwe: ['CWE-79'],
        fingerprint: fingerprintOf('Trivy', [
          'CVE-2019-11358',
          'jquery',
          '3.3.9',
          'package-lock.json',
        ]),
      },
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('keeps the fingerprint when the advisory text, references or scan date change, not when the version does', () => {
    const before = parseSecurity(read('trivy-npm-repo.json')).findings[0]?.fingerprint;
    const doc = trivyDoc() as TrivyDoc & Record<string, unknown>;
    const vuln = doc.Results[0]?.Vulnerabilities?.[0] ?? {};
    doc.CreatedAt = '2027-01-01T00:00:00Z';
    vuln.Description = 'rewritten';
    vuln.References = [];
    vuln.Fingerprint = 'sha256:other';
    expect(parseSecurity(JSON.stringify(doc)).findings[0]?.fingerprint).toBe(before);
    vuln.InstalledVersion = '3.3.10';
    expect(parseSecurity(JSON.stringify(doc)).findings[0]?.fingerprint).not.toBe(before);
  });

  it('a clean scan (no Results) is zero findings', () => {
    expect(
      parseSecurity(JSON.stringify({ SchemaVersion: 2, ArtifactName: 'alpine:3.19' })).summary
        .findings,
    ).toBe(0);
    const r = parseSecurity(
      trivyWith([{ VulnerabilityID: 'CVE-1', PkgName: 'a', Severity: 'UNKNOWN' }]),
    );
    expect(r.findings[0]).toMatchObject({
      severity: 'low',
      message: 'CVE-1; no fix available (package-lock.json)',
      location: { package: 'a' },
    });
    expect(r.warnings).toEqual([]);
  });

  it('reads secrets and failed misconfigurations as findings, so a leaked key fails the gate', () => {
    const text = read('trivy-fs-secret-misconfig.json');
    const r = parseSecurity(text);
    expect(
      r.findings.map((f) => [f.ruleId, f.severity, f.location, f.suppressedInReport ?? null]),
    ).toEqual([
      ['aws-access-key-id', 'critical', { file: 'config/.env', line: 1 }, null],
      ['DS002', 'high', { file: 'Dockerfile' }, null],
      ['DS001', 'medium', { file: 'Dockerfile', line: 1 }, null],
      // EXCEPTION: an exception the policy grants; PASS (DS005) is no finding at all.
      ['DS026', 'low', { file: 'Dockerfile' }, 'Trivy: policy exception'],
      // --show-suppressed: ignored by .trivyignore.yaml, still listed.
      [
        'CVE-2019-11358',
        'medium',
        { package: 'jquery', version: '3.3.9' },
        'Trivy ignored: Not reachable from our code (.trivyignore.yaml)',
      ],
    ]);
    expect(r.findings[0]).toMatchObject({
      ruleName: 'AWS Access Key ID',
      message: 'Secret: AWS Access Key ID (AWS)',
    });
    expect(r.findings[1]?.message).toBe(
      "Image user should not be 'root': Specify at least 1 USER command in Dockerfile with non-root user as argument",
    );
    expect(r.warnings).toEqual([]);
    const gate = evaluateGate(r, parseConfig({}).gates, { baseline: [], now: new Date() });
    expect(gate.status).toBe('fail');
    expect(gate.checks[0]?.message).toMatch(/^2 findings at or above high \(1 critical, 1 high\)/);
  });

  it('reads sparse secrets, misconfigurations and ignored findings, naming what it lacks', () => {
    const result = (secrets: unknown[]) => ({
      Secrets: secrets,
      Misconfigurations: [
        { AVDID: 'AVD-DS-0002', Severity: 'LOW', Title: 'T', Message: 'T' },
        { Severity: 'MEDIUM', CauseMetadata: 'not an object' },
      ],
      ExperimentalModifiedFindings: [
        { Type: 'license', Finding: {} },
        { Type: 'secret', Finding: { RuleID: 'k', Severity: 'LOW' } },
        {
          Type: 'misconfiguration',
          Status: 'ignored',
          Finding: { ID: 'DS1', Severity: 'LOW' },
        },
      ],
    });
    const doc = (secrets: unknown[]) =>
      JSON.stringify({ SchemaVersion: 2, Results: ['not an object', result(secrets)] });
    const problem = errorOf(() => parseSecurity(doc([{ Severity: 'HIGH', StartLine: 0 }, 'junk'])));
    // The junk secret has no Severity: named by its place.
    expect(problem.message).toBe(
      'Results[1].Secrets[1].Severity must be CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN.',
    );
    const r = parseSecurity(doc([{ Severity: 'HIGH', StartLine: 0 }]));
    expect(
      r.findings.map((f) => [f.ruleId, f.message, f.location, f.suppressedInReport ?? null]),
    ).toEqual([
      ['(no rule id)', 'Secret: (no rule id)', {}, null],
      ['AVD-DS-0002', 'T', {}, null],
      ['(no check id)', '(no check id)', {}, null],
      ['k', 'Secret: k', {}, 'Trivy ignored'],
      ['DS1', 'DS1', {}, 'Trivy ignored'],
    ]);
    expect(r.warnings).toEqual([
      '1 suppressed finding(s) of other kinds (licenses) in ExperimentalModifiedFindings are not read.',
    ]);
  });

  it('secret and misconfiguration fingerprints survive line shifts, and tell findings apart', () => {
    const doc = JSON.parse(read('trivy-fs-secret-misconfig.json'));
    const before = parseSecurity(JSON.stringify(doc)).findings.map((f) => f.fingerprint);
    doc.Results[0].Secrets[0].StartLine = 7;
    doc.Results[0].Secrets[0].EndLine = 7;
    doc.Results[1].Misconfigurations[1].CauseMetadata.StartLine = 3;
    const after = parseSecurity(JSON.stringify(doc)).findings.map((f) => f.fingerprint);
    expect(after).toEqual(before);
    expect(new Set(before).size).toBe(before.length);
    // A second key in the same file is a second finding.
    doc.Results[0].Secrets.push({
      ...doc.Results[0].Secrets[0],
      Match: 'AWS_ACCESS_KEY_ID_2=********************',
    });
    const two = parseSecurity(JSON.stringify(doc)).findings.filter(
      (f) => f.ruleId === 'aws-access-key-id',
    );
    expect(new Set(two.map((f) => f.fingerprint)).size).toBe(2);
    expect(two[0]?.fingerprint).toBe(before[0]);
  });

  it('the same vulnerability twice in one target stays two findings', () => {
    const v = { VulnerabilityID: 'CVE-1', PkgName: 'a', InstalledVersion: '1', Severity: 'HIGH' };
    const r = parseSecurity(trivyWith([v, v]));
    expect(new Set(r.findings.map((f) => f.fingerprint)).size).toBe(2);
  });
});

describe('Grype JSON', () => {
  it("reads every match, as Grype's own severity counts them", () => {
    const text = read('grype-json-presenter-dirs.json');
    const matches = (JSON.parse(text) as { matches: { vulnerability: { severity: string } }[] })
      .matches;
    const r = parseSecurity(text);
    expect(r.format).toBe('grype');
    expect(r.summary.findings).toBe(matches.length);
    expect(r.summary.bySeverity).toEqual({
      critical: matches.filter((m) => m.vulnerability.severity === 'Critical').length,
      high: 0,
      medium: 0,
      low: matches.filter((m) => m.vulnerability.severity === 'Low').length,
      info: 0,
    });
    expect(r.findings.map((f) => [f.ruleId, f.severity, f.location, f.message])).toEqual([
      [
        'CVE-1999-0001',
        'low',
        { package: 'package-1', version: '1.1.1' },
        'CVE-1999-0001 in package-1; fixed in 1.2.1, 2.1.3, 3.4.0 (/foo/bar/somefile-1.txt)',
      ],
      [
        'CVE-1999-0002',
        'critical',
        { package: 'package-2', version: '2.2.2' },
        'CVE-1999-0002 in package-2; no fix available (/foo/bar/somefile-2.txt)',
      ],
    ]);
    expect(r.findings[0]?.fingerprint).toBe(
      fingerprintOf('Grype', ['CVE-1999-0001', 'package-1', '1.1.1', '/foo/bar/somefile-1.txt']),
    );
  });

  it('ignored matches are findings suppressed in the report; without a location, the scanned image is the place', () => {
    const match = (id: string, severity: string, extra: Record<string, unknown> = {}) => ({
      vulnerability: {
        id,
        severity,
        description: 'Heap overflow',
        fix: { versions: [], state: 'not-fixed' },
      },
      artifact: { name: 'openssl', version: '3.0.1' },
      ...extra,
    });
    const r = parseSecurity(
      JSON.stringify({
        matches: [match('CVE-2', 'Negligible')],
        ignoredMatches: [
          match('CVE-3', 'Unknown', {
            appliedIgnoreRules: [{ vulnerability: 'CVE-3', reason: 'not reachable' }],
          }),
          match('CVE-4', 'High', { appliedIgnoreRules: [] }),
        ],
        source: { type: 'image', target: { userInput: 'nginx:1.25' } },
        descriptor: { name: 'grype' },
      }),
    );
    expect(r.findings.map((f) => [f.ruleId, f.severity, f.suppressedInReport, f.message])).toEqual([
      ['CVE-2', 'info', undefined, 'Heap overflow; no fix available (nginx:1.25)'],
      [
        'CVE-3',
        'low',
        'ignored by a Grype rule: not reachable',
        'Heap overflow; no fix available (nginx:1.25)',
      ],
      ['CVE-4', 'high', 'ignored by a Grype rule', 'Heap overflow; no fix available (nginx:1.25)'],
    ]);
  });
});

describe('ZAP XML report', () => {
  it('gives the same findings as its JSON twin from the same scan', () => {
    const text = read('zap-dev-build-traditional.xml');
    const xml = parseSecurity(text);
    const json = parseSecurity(read('zap-dev-build-traditional.json'));
    expect(xml.format).toBe('zap');
    expect(xml.findings).toEqual(json.findings);
    expect(xml.summary).toEqual(json.summary);
    // As many findings as ZAP's own <count> of instances.
    const counts = [...text.matchAll(/<count>(\d+)<\/count>/g)].map((m) => Number(m[1]));
    expect(xml.summary.findings).toBe(counts.reduce((a, b) => a + b, 0));
    expect(xml.summary.findings).toBe(2);
    expect(xml.warnings).toEqual([]);
  });

  it('is read with format=zap as well as by its root element, and archived as XML', async () => {
    const text = read('zap-dev-build-traditional.xml');
    expect(parseSecurity(text, 'zap').summary.findings).toBe(2);
    expect(detectReport(text)).toEqual({ format: 'zap', contentType: 'application/xml' });
    const archive = new MemoryArchive();
    const { result } = await ingest(
      { query: { project: 'web', format: 'zap' }, body: Buffer.from(text), correlationId: 'c-1' },
      {
        config: parseConfig({}),
        publisher: new MemoryPublisher(),
        archive,
        ledger: new MemoryLedger(),
        clock: fixedClock(),
      },
    );
    expect(result.format).toBe('zap');
    const raw = [...archive.objects].find(([key]) => !key.endsWith('.normalized.json'));
    expect(raw?.[0]).toMatch(/\.xml$/);
    expect(raw?.[1].contentType).toBe('application/xml');
  });

  const report = (alert: string) =>
    `<?xml version="1.0"?><OWASPZAPReport programName="ZAP" version="2.15.0"><site name="https://x"><alerts><alertitem>${alert}</alertitem></alerts></site></OWASPZAPReport>`;

  it('reads descriptions as text: escaped HTML decoded once and stripped, nested markup flattened, long text cut', () => {
    const r = parseSecurity(
      report(
        `<pluginid>40012</pluginid><name>XSS &lt;b&gt;reflected&lt;/b&gt;</name><riskcode> 3 </riskcode><confidence>2</confidence>` +
          `<desc>&lt;p&gt;Echoes &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt;<b>bold</b></desc>` +
          `<cweid>79</cweid><instances><instance><uri>https://x/?q=&lt;svg&gt;</uri><method>GET</method><param>q</param></instance></instances>`,
      ),
    );
    expect(r.findings[0]).toMatchObject({
      ruleId: '40012',
      ruleName: 'XSS <b>reflected</b>',
      severity: 'high',
      message: 'Echoes <script>alert(1)</script> steal() bold',
      cwe: ['CWE-79'],
      location: { url: 'https://x/?q=<svg>', method: 'GET', param: 'q' },
    });
    const long = parseSecurity(
      report(
        `<riskcode>1</riskcode><desc>${'word '.repeat(5000)}</desc><instances><instance/></instances>`,
      ),
    );
    expect(long.findings[0]?.message.length).toBeLessThanOrEqual(500);
  });

  it('refuses absurd risk codes, entity declarations, other roots and broken XML with where it is', () => {
    expect(
      errorOf(() => parseReport(report('<riskcode>99999999999999999999</riskcode>'))),
    ).toMatchObject({ code: 'invalid_report', location: { path: 'site[0].alerts[0].riskcode' } });
    const bomb = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><OWASPZAPReport><site/></OWASPZAPReport>`;
    expect(errorOf(() => parseReport(bomb, 'zap')).message).toMatch(/internal subset/);
    expect(errorOf(() => parseReport('<testsuites/>', 'zap')).message).toBe(
      'Not a ZAP XML report: the root element is <testsuites>, expected <OWASPZAPReport>.',
    );
    expect(
      errorOf(() => parseReport('<OWASPZAPReport><site><alerts></site></OWASPZAPReport>')).message,
    ).toMatch(/^Malformed XML at line 1/);
  });

  it('refuses more instances than a report may carry', () => {
    const many = '<instance><uri>u</uri></instance>'.repeat(MAX_FINDINGS + 1);
    expect(
      errorOf(() => parseReport(report(`<riskcode>1</riskcode><instances>${many}</instances>`)))
        .message,
    ).toMatch(/more than 50000 alert instances/);
  });
});

describe('severity mapping', () => {
  it('Trivy and Grype scales, and no severity from prototype keys', () => {
    expect(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN', 'high'].map(severityOfTrivy)).toEqual([
      'critical',
      'high',
      'medium',
      'low',
      'low',
      undefined,
    ]);
    expect(
      ['Critical', 'High', 'Medium', 'Low', 'Negligible', 'Unknown', 'CRITICAL'].map(
        severityOfGrype,
      ),
    ).toEqual(['critical', 'high', 'medium', 'low', 'info', 'low', undefined]);
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      for (const map of [severityOfTrivy, severityOfGrype, severityOfNpm, severityOfZapRisk])
        expect(map(key)).toBeUndefined();
  });
});

describe('hostile and malformed Trivy and Grype reports', () => {
  it('refuses other schema versions, odd shapes and unknown severities, saying where', () => {
    expect(
      errorOf(() => parseReport(JSON.stringify({ SchemaVersion: 1e308, Results: [] }))).message,
    ).toMatch(/^Trivy JSON schema version 1e\+308 is not supported: Vigil reads SchemaVersion 2/);
    expect(errorOf(() => parseReport('[]', 'trivy')).message).toMatch(
      /Trivy JSON report is an object/,
    );
    expect(
      errorOf(() => parseReport(JSON.stringify({ SchemaVersion: 2, Results: {} }), 'trivy'))
        .location,
    ).toEqual({ path: 'Results' });
    expect(
      errorOf(() => parseReport(trivyWith([{ VulnerabilityID: 'CVE-1', Severity: 'constructor' }])))
        .location,
    ).toEqual({ path: 'Results[0].Vulnerabilities[0].Severity' });
    expect(errorOf(() => parseReport('{"matches": {}}', 'grype')).location).toEqual({
      path: 'matches',
    });
    expect(
      errorOf(() =>
        parseReport(JSON.stringify({ matches: [{ vulnerability: { severity: 9 } }], source: {} })),
      ).location,
    ).toEqual({ path: 'matches[0].vulnerability.severity' });
    expect(
      errorOf(() => parseReport(read('grype-json-presenter-dirs.json'), 'trivy')).location,
    ).toEqual({
      path: 'SchemaVersion',
    });
  });

  it('turns HTML and control characters in titles into bounded plain text', () => {
    const title = `<img src=x onerror=alert(1)>\u202e\u0000${'x'.repeat(5000)}`;
    const r = parseSecurity(
      trivyWith([
        {
          VulnerabilityID: title,
          PkgName: title,
          InstalledVersion: '1',
          Title: title,
          Severity: 'LOW',
          CweIDs: ['CWE-79', 42, 'junk'],
        },
      ]),
    );
    const f = r.findings[0];
    expect(f?.message.startsWith('<img src=x onerror=alert(1)>x')).toBe(true);
    expect(f?.message.length).toBeLessThanOrEqual(500);
    expect(f?.ruleId.length).toBeLessThanOrEqual(200);
    expect(f?.location.package?.length).toBeLessThanOrEqual(200);
    expect(f?.cwe).toEqual(['CWE-79', 'CWE-42']);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking they were removed
    expect(`${f?.ruleId}${f?.message}`).not.toMatch(/[\u0000-\u001f\u202e]/);
    const g = parseSecurity(
      JSON.stringify({
        matches: [
          { vulnerability: { id: title, severity: 'High', description: title }, artifact: 'junk' },
        ],
        source: 'junk',
      }),
      'grype',
    ).findings[0];
    expect(g?.message.length).toBeLessThanOrEqual(500);
    expect(g?.location).toEqual({});
  });

  it('reads odd entries as far as they go', () => {
    const trivy = parseSecurity(
      JSON.stringify({
        SchemaVersion: 2,
        Results: ['junk', { Vulnerabilities: [{ Severity: 'HIGH' }] }],
      }),
    );
    expect(trivy.findings.map((f) => [f.ruleId, f.message, f.location])).toEqual([
      ['(no vulnerability id)', '(no vulnerability id); no fix available', {}],
    ]);
    const grype = parseSecurity(
      JSON.stringify({ matches: [{ vulnerability: { severity: 'Low' } }], descriptor: {} }),
    );
    expect(grype.findings.map((f) => [f.ruleId, f.message])).toEqual([
      ['(no vulnerability id)', '(no vulnerability id) in a package; no fix available'],
    ]);
  });

  it('refuses huge arrays with the count to aim for', () => {
    const vulns = Array.from({ length: MAX_FINDINGS + 1 }, () => 0);
    expect(errorOf(() => parseReport(trivyWith(vulns))).message).toMatch(
      /more than 50000 vulnerabilities, secrets and misconfigurations: split the scan or filter it \(--severity\)/,
    );
    expect(
      errorOf(() => parseReport(JSON.stringify({ matches: vulns, descriptor: {} }))).message,
    ).toMatch(/more than 50000 matches/);
    // Junk entries within the limit are read as far as they go: an entry without a severity is refused.
    expect(errorOf(() => parseReport(trivyWith([0]))).location).toEqual({
      path: 'Results[0].Vulnerabilities[0].Severity',
    });
  });
});
