import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gateConfigFor, parseConfig, type Quarantine } from '../../functions/core/config';
import { parseReport } from '../../functions/core/formats';
import type { ParsedReport } from '../../functions/core/formats/types';
import { evaluateGate } from '../../functions/core/gates/gate';
import { MAX_QUARANTINE_LISTED } from '../../functions/core/gates/tests';

// jest-junit (corpus): 6 tests, 4 failed, 1 skipped.
const report = parseReport(
  readFileSync('test/fixtures/corpus/junit/dorny-jest-junit.xml', 'utf8'),
  'junit',
);
const cfg = gateConfigFor(parseConfig({}), 'shop');
const NOW = new Date('2026-11-25T10:00:00Z');

const entry = (
  test: string,
  expires: string,
  owner = 'ana',
  reason = 'flaky on CI',
): Quarantine => ({
  test,
  owner,
  reason,
  expires,
});

const gate = (quarantine: Quarantine[], r: ParsedReport = report) =>
  evaluateGate(r, cfg, { quarantine, now: NOW });
const byId = (g: ReturnType<typeof gate>, id: string) => g.checks.find((c) => c.id === id);

describe('quarantine in the gate', () => {
  it('does not count a quarantined failure, names it and its owner', () => {
    const g = gate([entry('__tests__\\second.test.js > Timeout test', '2026-12-01')]);
    expect(byId(g, 'tests.failed')).toMatchObject({
      status: 'fail',
      actual: 3,
      message:
        '3 of 6 tests failed (1 more failure quarantined: "__tests__\\second.test.js > Timeout test" by ana until 2026-12-01)',
    });
    expect(byId(g, 'tests.quarantine')).toMatchObject({
      status: 'skip',
      actual: 1,
      message: expect.stringContaining('(flaky on CI)'),
    });
  });

  it('passes when every failure is quarantined, still showing each one', () => {
    const g = gate([entry('__tests__\\*', '2026-12-31', 'bo', 'sandbox outage')]);
    expect(g.status).toBe('pass');
    expect(byId(g, 'tests.failed')).toMatchObject({
      status: 'pass',
      actual: 0,
      message: expect.stringMatching(/^No failed tests \(4 failures quarantined: /),
    });
    const listed = byId(g, 'tests.quarantine')?.message ?? '';
    expect(listed).toMatch(/^4 quarantined failures not failing the gate: /);
    for (const c of report.kind === 'tests' ? report.cases : [])
      if (c.status === 'failed') expect(listed).toContain(c.name);
    // The inline message stays short: three names, then a count.
    expect(byId(g, 'tests.failed')?.message).toContain('and 1 more');
  });

  it('counts a failure again once its quarantine expired, and says so', () => {
    const g = gate([
      entry('__tests__\\second.test.js > Timeout test', '2026-11-24', 'cy'),
      entry('*Exception in test', '2026-11-25T09:00:00Z', 'di'),
    ]);
    expect(byId(g, 'tests.failed')).toMatchObject({ status: 'fail', actual: 4 });
    expect(byId(g, 'tests.failed')?.message).toBe(
      '4 of 6 tests failed (quarantine expired, counted: "__tests__\\main.test.js > Test 2 > Exception in test" by di expired 2026-11-25T09:00:00Z, "__tests__\\second.test.js > Timeout test" by cy expired 2026-11-24)',
    );
    expect(byId(g, 'tests.quarantine')).toMatchObject({
      actual: 0,
      message: expect.stringMatching(/^2 failures whose quarantine expired, counted again: /),
    });
  });

  it('keeps the last day of a date-only quarantine in force', () => {
    const g = gate([entry('*Timeout test', '2026-11-25')]);
    expect(byId(g, 'tests.failed')?.actual).toBe(3);
  });

  it('ignores quarantine entries for tests that passed, and adds no check then', () => {
    const g = gate([entry('*Passing test*', '2026-12-01')]);
    expect(byId(g, 'tests.failed')?.message).toBe('4 of 6 tests failed');
    expect(byId(g, 'tests.quarantine')).toBeUndefined();
  });

  it('lists many quarantined failures up to a cap, with an exact count', () => {
    const cases = Array.from({ length: 30 }, (_, i) => ({
      suite: 'api',
      classname: 'Pay',
      name: `case ${i}`,
      status: 'failed' as const,
      flaky: false,
      durationMs: 1,
      retries: 0,
    }));
    const big: ParsedReport = {
      kind: 'tests',
      format: 'junit',
      summary: { total: 30, passed: 0, failed: 30, skipped: 0, flaky: 0, durationMs: 30 },
      cases,
      warnings: [],
    };
    const g = gate([entry('api > Pay > *', '2027-01-01')], big);
    const q = byId(g, 'tests.quarantine');
    expect(q?.actual).toBe(30);
    expect(q?.message).toContain(`and ${30 - MAX_QUARANTINE_LISTED} more`);
    expect(q?.message).toContain('"api > Pay > case 19"');
    expect(q?.message).not.toContain('"api > Pay > case 20"');
  });

  it('still shows quarantined failures when failed tests do not gate', () => {
    const lenient = gateConfigFor(parseConfig({ gates: { failOnFailedTests: false } }), 'shop');
    const g = evaluateGate(report, lenient, {
      quarantine: [entry('*Timeout test', '2026-12-01')],
      now: NOW,
    });
    expect(g.checks.map((c) => c.id)).toEqual([
      'tests.present',
      'tests.duration',
      'tests.quarantine',
    ]);
  });
});
