import { describe, expect, it } from 'vitest';
import {
  MAX_SECURITY_NOTICES_PER_RUN,
  securityNotices,
} from '../../functions/core/alerts/security';
import { alertBranches } from '../../functions/core/alerts/sources';
import {
  type GateConfig,
  parseConfig,
  type SecuritySuppression,
} from '../../functions/core/config';
import type { EventMetadata, SecurityDetail } from '../../functions/core/events';
import { parseBusEvent } from '../../functions/core/events';
import type { ParsedSecurity } from '../../functions/core/formats';
import { evaluateGate } from '../../functions/core/gates/gate';
import type { RunRecord } from '../../functions/core/history/types';
import { buildEvent } from '../../functions/core/ingest/service';
import { datapointsFor } from '../../functions/core/metrics/catalog';
import {
  analyseSecurity,
  MAX_STORED_FINGERPRINTS,
  securityRunSummary,
  suppressionMatches,
} from '../../functions/core/security/analysis';
import { securityEvent } from '../../functions/core/security/answer';
import { type Finding, type Severity, summarize } from '../../functions/core/security/model';

/** The new-vs-base analysis, suppressions, the gate's messages, the event, metrics and notices. */

const finding = (id: string, severity: Severity, extra: Partial<Finding> = {}): Finding => ({
  tool: 'CodeQL',
  ruleId: `js/${id}`,
  severity,
  message: id,
  location: { file: `src/${id}.js`, line: 3 },
  cwe: [],
  fingerprint: `fp-${id}`,
  ...extra,
});
const report = (findings: Finding[]): ParsedSecurity => ({
  kind: 'security',
  format: 'sarif',
  summary: summarize(findings),
  findings,
  warnings: [],
});
const baseRun = (
  runId: string,
  findings: Finding[],
  tools = ['CodeQL'],
): Extract<RunRecord, { kind: 'security' }> => ({
  project: 'shop',
  runId,
  format: 'sarif',
  branch: 'main',
  ingestedAt: '2026-11-20T10:00:00.000Z',
  correlationId: 'c',
  gate: 'pass',
  kind: 'security',
  summary: securityRunSummary(
    {
      ...summarize(findings),
      tools: tools.map((name) => ({ name, findings: 0 })),
      new: 0,
      fixed: 0,
      suppressed: 0,
    },
    findings,
  ),
});
const NOW = new Date('2026-11-25T10:00:00.000Z');
const cfg = (security?: GateConfig['security']): GateConfig =>
  ({ ...parseConfig({}).gates, ...(security ? { security } : {}) }) as GateConfig;
const gate = (
  r: ParsedSecurity,
  c: GateConfig,
  baseline?: RunRecord[],
  suppressions: SecuritySuppression[] = [],
  noHistory?: string,
) =>
  evaluateGate(r, c, {
    baseBranch: 'main',
    now: NOW,
    quarantine: [],
    suppressions,
    minBaselineRuns: 3,
    ...(baseline ? { baseline } : {}),
    ...(noHistory ? { noHistory } : {}),
  });

describe('new versus base', () => {
  const base = [
    baseRun('b2', [finding('old', 'high'), finding('gone', 'critical')]),
    baseRun('b1', [finding('older', 'high')]),
  ];

  it('counts only new findings at or above the threshold, and what was fixed', () => {
    const r = report([
      finding('old', 'high'),
      finding('fresh', 'critical'),
      finding('minor', 'medium'),
    ]);
    const g = gate(r, cfg(), base);
    expect(g.status).toBe('fail');
    expect(g.checks[0]).toMatchObject({
      id: 'security.findings',
      actual: 1,
      message:
        '1 new finding at or above high on base branch "main" (1 critical): critical js/fresh at src/fresh.js:3.',
    });
    const a = analyseSecurity({ report: r, baseline: base, suppressions: [], now: NOW });
    expect(a.summary).toMatchObject({ findings: 3, new: 2, fixed: 1, suppressed: 0 });
    expect(a.fixed).toEqual([{ tool: 'CodeQL', fingerprint: 'fp-gone' }]);
    expect(a.bases.get('CodeQL')?.runId).toBe('b2');
  });

  it('passes with nothing new, naming how many findings and fixes there were', () => {
    const g = gate(report([finding('old', 'high')]), cfg(), base);
    expect(g.checks[0]).toMatchObject({
      status: 'pass',
      message:
        'No new findings at or above high on base branch "main" (1 finding in the report, 1 fixed).',
    });
  });

  it('gates on all findings with newOnly: false, and at another threshold', () => {
    const r = report([finding('old', 'high'), finding('minor', 'medium'), finding('tiny', 'low')]);
    expect(gate(r, cfg({ newOnly: false }), base).checks[0]).toMatchObject({
      status: 'fail',
      actual: 1,
    });
    expect(gate(r, cfg({ newOnly: false, minSeverity: 'low' }), base).checks[0]?.message).toBe(
      '3 findings at or above low (1 high, 1 medium, 1 low): high js/old at src/old.js:3; medium js/minor at src/minor.js:3; low js/tiny at src/tiny.js:3.',
    );
    expect(gate(r, cfg({ minSeverity: 'critical' }), base).status).toBe('pass');
  });

  it('says when history could not be consulted, and lists more than three gated findings as a count', () => {
    const many = report(['a', 'b', 'c', 'd', 'e'].map((x) => finding(x, 'high')));
    const g = gate(many, cfg(), undefined, [], 'run history is not configured');
    expect(g.checks[0]?.message).toMatch(
      /; and 2 more\. No base comparison \(run history is not configured\): gating on all findings\.$/,
    );
  });

  it('compares each tool with its own latest base run; a tool without one is gated on all', () => {
    const zap = finding('zap', 'high', {
      tool: 'ZAP',
      location: { url: 'https://x/', method: 'GET' },
    });
    const g = gate(report([finding('old', 'high'), zap]), cfg(), base);
    expect(g.checks[0]?.message).toBe(
      '1 finding at or above high on base branch "main" (1 high): high js/zap at GET https://x/. No base run of ZAP on base branch "main" yet: gating on all its findings at or above high.',
    );
  });
});

describe('tools that vanish and partial base runs', () => {
  const semgrep = (id: string) => finding(id, 'high', { tool: 'Semgrep' });

  it("counts a tool's findings as fixed when it has none left (it is no longer in the report)", () => {
    const base = [
      baseRun('b1', [finding('old', 'high'), semgrep('s1'), semgrep('s2')], ['CodeQL', 'Semgrep']),
    ];
    const a = analyseSecurity({
      report: report([finding('old', 'high')]),
      baseline: base,
      suppressions: [],
      now: NOW,
    });
    expect(a.summary).toMatchObject({ new: 0, fixed: 2 });
    expect(a.fixed).toEqual([
      { tool: 'Semgrep', fingerprint: 'fp-s1' },
      { tool: 'Semgrep', fingerprint: 'fp-s2' },
    ]);
    expect(a.bases.get('Semgrep')?.runId).toBe('b1');
    // Everything fixed: an empty report still names the fixes.
    expect(gate(report([]), cfg(), base).checks[0]).toMatchObject({
      status: 'pass',
      message:
        'No new findings at or above high on base branch "main" (0 findings in the report, 3 fixed).',
    });
  });

  it('an identical rescan bigger than the stored fingerprints is not new: the rest is unknown', () => {
    const many = Array.from({ length: MAX_STORED_FINGERPRINTS + 5000 }, (_, i) =>
      finding(`f${i}`, 'high'),
    );
    const base = [baseRun('b1', many)];
    // The stored summary counts every finding of the tool, the fingerprints only the first ones.
    base[0]?.summary.tools.splice(0, 1, { name: 'CodeQL', findings: many.length });
    const a = analyseSecurity({ report: report(many), baseline: base, suppressions: [], now: NOW });
    expect(a.bases.get('CodeQL')).toMatchObject({ complete: false, findings: many.length });
    expect(a.newFindings).toHaveLength(0);
    expect(a.unknown).toHaveLength(5000);
    expect(a.gated).toHaveLength(0);
    expect(gate(report(many), cfg(), base).status).toBe('pass');
    // A complete base still tells new from old.
    const small = [baseRun('b2', many.slice(0, 10))];
    const b = analyseSecurity({
      report: report(many.slice(0, 11)),
      baseline: small,
      suppressions: [],
      now: NOW,
    });
    expect([b.newFindings.length, b.unknown.length]).toEqual([1, 0]);
  });
});

describe('suppressions', () => {
  const s = (over: Partial<SecuritySuppression>): SecuritySuppression => ({
    owner: 'ana',
    reason: 'accepted risk',
    expires: '2026-12-31',
    ...over,
  });

  it('match on every given field, with * globs', () => {
    const f = finding('sqli', 'high', { location: { file: 'src/db/query.js', line: 1 } });
    expect(suppressionMatches(s({ rule: 'js/*' }), f)).toBe(true);
    expect(suppressionMatches(s({ rule: 'js/*', path: 'src/db/*' }), f)).toBe(true);
    expect(suppressionMatches(s({ rule: 'js/*', path: 'test/*' }), f)).toBe(false);
    expect(suppressionMatches(s({ url: '*' }), f)).toBe(false);
    expect(suppressionMatches(s({ tool: 'CodeQL', package: 'x' }), f)).toBe(false);
    const pkg = finding('dep', 'critical', {
      tool: 'npm audit',
      location: { package: 'lodash', version: '<4' },
    });
    expect(suppressionMatches(s({ package: 'lodash' }), pkg)).toBe(true);
  });

  it('suppress until they expire (the named day included), then say so', () => {
    const r = report([finding('sqli', 'critical'), finding('xss', 'high')]);
    const entries = [
      s({ rule: 'js/sqli', expires: '2026-11-25' }),
      s({ rule: 'js/xss', expires: '2026-11-24T23:59:59Z', owner: 'bo' }),
    ];
    const g = gate(r, cfg(), undefined, entries);
    expect(g.checks[0]?.message).toBe(
      '1 finding at or above high (1 high): high js/xss at src/xss.js:3. No base comparison (no run history was consulted): gating on all findings. Suppression rule "js/xss" (owner bo) expired on 2026-11-24T23:59:59Z: it no longer suppresses 1 finding. 1 finding suppressed (listed in the answer).',
    );
  });

  it('an entry in force wins over an expired one for the same finding; report suppressions count', () => {
    const r = report([
      finding('sqli', 'critical'),
      finding('inline', 'high', { suppressedInReport: 'suppressed in the report (inSource)' }),
    ]);
    const a = analyseSecurity({
      report: r,
      suppressions: [s({ rule: 'js/sqli', expires: '2020-01-01' }), s({ rule: 'js/sqli' })],
      now: NOW,
    });
    expect(a.suppressed.map((x) => (x.by === 'report' ? 'report' : x.by.expires))).toEqual([
      '2026-12-31',
      'report',
    ]);
    expect(a.expired).toEqual([]);
    expect(a.gated).toEqual([]);
  });

  it('are validated in the config: one matcher at least, a real date', () => {
    expect(() =>
      parseConfig({ security: { suppress: [{ owner: 'a', reason: 'b', expires: '2026-01-01' }] } }),
    ).toThrow(
      /security\.suppress\.0: a suppression needs at least one of rule, path, url, package or tool/,
    );
    expect(() =>
      parseConfig({
        security: { suppress: [{ rule: 'x', owner: 'a', reason: 'b', expires: 'soon' }] },
      }),
    ).toThrow(/security\.suppress\.0\.expires/);
    expect(() => parseConfig({ gates: { security: { minSeverity: 'severe' } } })).toThrow(
      /gates\.security\.minSeverity/,
    );
    const c = parseConfig({
      projects: {
        shop: {
          security: {
            suppress: [{ package: 'lodash', owner: 'a', reason: 'b', expires: '2027-01-01' }],
          },
        },
      },
    });
    expect(c.projects.shop?.security.suppress).toHaveLength(1);
  });
});

describe('event, metrics and notices', () => {
  const metadata = (branch?: string): EventMetadata => ({
    project: 'shop',
    ...(branch ? { branch } : {}),
    commit: '0123456789abcdef0123',
    runId: 'r1',
    correlationId: 'c1',
    format: 'sarif',
    ingestedAt: '2026-11-25T10:00:00.000Z',
    archive: { uri: 'mem://a', bytes: 1, sha256: 'a'.repeat(64) },
    normalized: { uri: 'mem://n', bytes: 1, sha256: 'b'.repeat(64) },
  });
  const severities: Severity[] = ['critical', 'high', 'medium'];
  const many = report(
    Array.from({ length: 60 }, (_, i) => finding(`f${i}`, severities[i % 3] as Severity)),
  );
  const event = (branch?: string) => {
    const base = [baseRun('b', [])];
    const a = analyseSecurity({ report: many, baseline: base, suppressions: [], now: NOW });
    const g = gate(many, cfg(), base);
    return { a, e: buildEvent(many, metadata(branch), g) };
  };

  it('keeps the event small: counts and the first 50 new findings, most severe first', () => {
    const { a, e } = event('main');
    // buildEvent alone has no base (new 0); ingest publishes the event of its own analysis.
    expect((e.detail as SecurityDetail).summary).toMatchObject({ findings: 60, new: 0 });
    const own = securityEvent(a, metadata('main'), { status: 'fail', checks: [] });
    const d = parseBusEvent({
      source: own.source,
      'detail-type': own.detailType,
      detail: own.detail,
    }).detail as SecurityDetail;
    expect(d.summary).toMatchObject({ findings: 60, new: 60 });
    expect(d.newFindings).toHaveLength(50);
    expect(d.newFindings.slice(0, 20).every((f) => f.severity === 'critical')).toBe(true);
    expect(d.newFindingsTruncated).toBe(true);
  });

  it('notifies each new critical or high finding on an alerting branch, capped, the last naming the rest', () => {
    const { a } = event('main');
    const detail: SecurityDetail = {
      metadata: metadata('main'),
      summary: a.summary,
      gate: { status: 'fail', checks: [] },
      newFindings: a.newFindings.slice(0, 50).map((f) => ({
        tool: f.tool,
        ruleId: f.ruleId,
        severity: f.severity,
        location: 'src/x.js:1',
        fingerprint: f.fingerprint,
      })),
      newFindingsTruncated: true,
    };
    const config = parseConfig({});
    expect(alertBranches(config)).toEqual(['main']);
    const notices = securityNotices(detail, 'ev1', config);
    expect(notices).toHaveLength(MAX_SECURITY_NOTICES_PER_RUN);
    expect(notices[0]).toMatchObject({
      kind: 'NOTICE',
      source: 'security',
      severity: 'critical',
      checkKey: 'security:shop/fp-f0',
      incidentId: 'ev1:1',
      dashboardPath: '#/run/shop/r1', // the run that brought it
    });
    // Most severe first: the 20 critical ones take the 10 places; a high one is a warning.
    expect(notices.every((n) => n.severity === 'critical')).toBe(true);
    const high = detail.newFindings.filter((f) => f.severity !== 'critical');
    const [one] = securityNotices(
      { ...detail, newFindings: high, newFindingsTruncated: false },
      'ev4',
      config,
    );
    expect(one).toMatchObject({
      severity: 'warning',
      title: 'New high security finding in shop: js/f1',
    });
    expect(one?.summary).toBe(
      'CodeQL reports js/f1 at src/x.js:1 on main @ 0123456789ab, new since the previous run (fingerprint fp-f1).',
    );
    expect(notices.at(-1)?.summary).toMatch(/Run r1 has 50 more new findings/);
    expect(securityNotices({ ...detail, metadata: metadata('feature') }, 'ev2', config)).toEqual(
      [],
    );
    expect(securityNotices({ ...detail, metadata: metadata() }, 'ev3', config)).toEqual([]);
  });

  it('emits findings per severity and per tool, new findings and the gate', () => {
    const { a } = event('main');
    const detail: SecurityDetail = {
      metadata: metadata('main'),
      summary: a.summary,
      gate: { status: 'fail', checks: [] },
      newFindings: [],
      newFindingsTruncated: false,
    };
    const groups = datapointsFor(
      { source: 'vigil.ingest', detailType: 'Security Findings Reported', detail },
      parseConfig({}),
    );
    const flat = groups.flatMap((g) =>
      g.data.map((d) => ({ dims: g.dimensionSets[0], name: d.name, value: d.value })),
    );
    expect(flat).toContainEqual({
      dims: { Project: 'shop' },
      name: 'SecurityNewFindings',
      value: 60,
    });
    expect(flat).toContainEqual({ dims: { Project: 'shop' }, name: 'GateFailures', value: 1 });
    expect(flat).toContainEqual({
      dims: { Project: 'shop', Severity: 'critical' },
      name: 'SecurityFindings',
      value: 20,
    });
    expect(flat).toContainEqual({
      dims: { Project: 'shop', Severity: 'info' },
      name: 'SecurityFindings',
      value: 0,
    });
    expect(flat).toContainEqual({
      dims: { Project: 'shop', Tool: 'CodeQL' },
      name: 'SecurityFindings',
      value: 60,
    });
  });
});

describe('gate messages for other suppressions and tools', () => {
  it('names an expired suppression by its matchers, and several tools without a base', () => {
    const zap = finding('a', 'high', {
      tool: 'ZAP',
      location: { url: 'https://x/a', method: 'GET' },
    });
    const npm = finding('b', 'high', { tool: 'npm audit', location: { package: 'lodash' } });
    const g = evaluateGate(report([zap, npm]), cfg(), {
      baseBranch: 'main',
      now: NOW,
      baseline: [],
      suppressions: [
        { url: 'https://x/*', tool: 'ZAP', owner: 'o', reason: 'r', expires: '2026-01-01' },
      ],
    });
    expect(g.checks[0]?.message).toContain(
      'No base run of ZAP, npm audit on base branch "main" yet: gating on all their findings',
    );
    expect(g.checks[0]?.message).toContain(
      'Suppression tool "ZAP", url "https://x/*" (owner o) expired on 2026-01-01',
    );
    // No suppressions in the context at all: nothing suppressed.
    expect(evaluateGate(report([npm]), cfg(), { baseline: [] }).checks[0]?.status).toBe('fail');
  });
});
