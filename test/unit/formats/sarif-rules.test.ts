import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import type { ParsedSecurity } from '../../../functions/core/formats';
import { evaluateGate } from '../../../functions/core/gates/gate';
import { parseSecurity } from '../../helpers/security';

/**
 * SARIF rule resolution (ruleIndex, ruleId, hierarchical ids, tool extensions, configuration
 * overrides) and run outcome (failed invocations, absent results), read through the security
 * gate: a misread severity or a failed scan must not pass a `high` gate.
 */

const read = (path: string): string =>
  readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');

const gate = (r: ParsedSecurity) =>
  evaluateGate(r, parseConfig({}).gates, { baseline: [], now: new Date('2026-01-01T00:00:00Z') });

/** One run of tool T with rule R1 (error, security-severity 9.8) and these results. */
const run = (results: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'T',
            rules: [
              { id: 'R0', defaultConfiguration: { level: 'note' } },
              {
                id: 'R1',
                defaultConfiguration: { level: 'error' },
                properties: { 'security-severity': '9.8' },
              },
            ],
          },
        },
        results,
        ...extra,
      },
    ],
  });

describe('SARIF rule lookup', () => {
  it('finds the rule by ruleId when there is no ruleIndex (Semgrep 1.122)', () => {
    const r = parseSecurity(read('security/semgrep-1.122-ruleid-only.sarif'));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({
      tool: 'Semgrep OSS',
      ruleId: 'dockerfile.security.missing-user.missing-user',
      severity: 'high',
      confidence: 'very-high',
      cwe: ['CWE-250'],
    });
    expect(gate(r).status).toBe('fail');
  });

  it.each([
    ['no ruleIndex', { ruleId: 'R1' }],
    ['ruleIndex -1 (absent, §3.27.6)', { ruleId: 'R1', ruleIndex: -1 }],
    ['rule.index -1', { ruleId: 'R1', rule: { id: 'R1', index: -1 } }],
    ['a hierarchical id R1/sub (§3.27.5)', { ruleId: 'R1/sub' }],
    ['a hierarchical id at the parent rule index', { ruleId: 'R1/sub', ruleIndex: 1 }],
    ['a ruleIndex pointing at another rule', { ruleId: 'R1', ruleIndex: 0 }],
  ])('reads the rule with %s', (_, result) => {
    const r = parseSecurity(run([{ ...result, message: { text: 'm' } }]));
    expect(r.findings[0]?.severity).toBe('critical');
    expect(r.findings[0]?.ruleId).toBe(result.ruleId);
    expect(gate(r).status).toBe('fail');
  });

  it('still uses the rule at ruleIndex when the result has no ruleId', () => {
    const r = parseSecurity(run([{ ruleIndex: 1, message: { text: 'm' } }]));
    expect(r.findings[0]).toMatchObject({ ruleId: 'R1', severity: 'critical' });
  });

  it('an unknown rule id falls back to the result level, then warning', () => {
    const r = parseSecurity(run([{ ruleId: 'R9/x', message: { text: 'm' } }]));
    expect(r.findings[0]?.severity).toBe('medium');
  });

  it('reads rules from tool.extensions through rule.toolComponent (CodeQL)', () => {
    const r = parseSecurity(read('security/codeql-extensions-hand-made.sarif'));
    expect(r.findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ['js/request-forgery', 'critical'],
      ['js/unused-local-variable', 'low'],
    ]);
    expect(r.findings[0]?.cwe).toEqual(['CWE-918']);
    expect(gate(r).status).toBe('fail');
  });

  it('resolves toolComponent by name or guid, and extension rules by id without one', () => {
    const doc = (ref: Record<string, unknown>) =>
      JSON.stringify({
        version: '2.1.0',
        runs: [
          {
            tool: {
              driver: {
                name: 'CodeQL',
                rules: [{ id: 'x', defaultConfiguration: { level: 'note' } }],
              },
              extensions: [
                { name: 'other', rules: [] },
                {
                  name: 'codeql/java-queries',
                  guid: 'a1b2',
                  rules: [{ id: 'java/sqli', properties: { 'security-severity': '8.8' } }],
                },
              ],
            },
            results: [{ ruleId: 'java/sqli', ...ref, message: { text: 'm' } }],
          },
        ],
      });
    for (const ref of [
      { rule: { index: 0, toolComponent: { name: 'codeql/java-queries' } } },
      { rule: { index: 0, toolComponent: { guid: 'a1b2' } } },
      { rule: { index: 0, toolComponent: { index: 1 } } },
      {},
    ])
      expect(parseSecurity(doc(ref)).findings[0]?.severity).toBe('high');
  });

  it('applies invocations[].ruleConfigurationOverrides to the rule level (§3.20.5)', () => {
    const r = parseSecurity(
      run([{ ruleId: 'R0', ruleIndex: 0, message: { text: 'm' } }], {
        invocations: [
          {
            executionSuccessful: true,
            ruleConfigurationOverrides: [
              { descriptor: { index: 0 }, configuration: { level: 'error' } },
            ],
          },
        ],
      }),
    );
    expect(r.findings[0]?.severity).toBe('high');
    expect(gate(r).status).toBe('fail');
    // The result's own level still wins over an override.
    const own = parseSecurity(
      run([{ ruleId: 'R0', level: 'note', message: { text: 'm' } }], {
        invocations: [
          {
            executionSuccessful: true,
            ruleConfigurationOverrides: [
              { descriptor: { id: 'R0' }, configuration: { level: 'error' } },
            ],
          },
        ],
      }),
    );
    expect(own.findings[0]?.severity).toBe('low');
  });
});

describe('SARIF run outcome', () => {
  it('a scan that did not complete fails the gate (ESLint 9.39.5, syntax error)', () => {
    const r = parseSecurity(read('real/security/eslint-parse-error.sarif'));
    expect(r.findings).toHaveLength(0);
    expect(r.toolErrors).toEqual(['ESLint: Parsing error: Unexpected token =']);
    expect(r.warnings).toContain(
      'The scan did not complete: ESLint: Parsing error: Unexpected token =.',
    );
    const g = gate(r);
    expect(g.status).toBe('fail');
    expect(g.checks[0]?.message).toMatch(
      /^The security tool did not complete \(ESLint: Parsing error/,
    );
  });

  it('executionSuccessful false without notifications, and error notifications, fail the gate', () => {
    const failed = parseSecurity(run([], { invocations: [{ executionSuccessful: false }] }));
    expect(failed.toolErrors).toEqual(['T: executionSuccessful is false']);
    expect(gate(failed).status).toBe('fail');
    const noted = parseSecurity(
      run([], {
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: [
              { level: 'error', message: { text: 'Out of memory' } },
              { level: 'warning', message: { text: 'slow' } },
              { message: { text: 'default level is warning' } },
            ],
          },
        ],
      }),
    );
    expect(noted.toolErrors).toEqual(['T: Out of memory']);
    expect(gate(noted).status).toBe('fail');
  });

  it('a successful invocation with warnings only passes', () => {
    const r = parseSecurity(
      run([], {
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: [{ level: 'warning', message: { text: 'slow' } }],
          },
        ],
      }),
    );
    expect(r.toolErrors).toBeUndefined();
    expect(r.warnings).toEqual([]);
    expect(gate(r).status).toBe('pass');
  });

  it('results whose baselineState is absent are not findings (§3.27.24)', () => {
    const r = parseSecurity(
      run([
        { ruleId: 'R1', baselineState: 'absent', message: { text: 'fixed' } },
        { ruleId: 'R0', baselineState: 'unchanged', message: { text: 'still there' } },
      ]),
    );
    expect(r.findings.map((f) => f.ruleId)).toEqual(['R0']);
    expect(r.warnings).toEqual([
      '1 result(s) not counted as findings: their baselineState is "absent" (no longer found).',
    ]);
    expect(gate(r).status).toBe('pass');
  });
});
