import { describe, expect, it } from 'vitest';
import {
  gateConfigFor,
  parseConfig,
  quarantineFor,
  suppressionsFor,
} from '../../functions/core/config';
import type { ParsedReport } from '../../functions/core/formats/types';
import { evaluateGate } from '../../functions/core/gates/gate';

const defaults = gateConfigFor(parseConfig({}), 'p');

const tests = (
  summary: Partial<Extract<ParsedReport, { kind: 'tests' }>['summary']>,
): ParsedReport => ({
  kind: 'tests',
  format: 'junit',
  summary: { total: 10, passed: 10, failed: 0, skipped: 0, flaky: 0, durationMs: 1000, ...summary },
  cases: [],
  warnings: [],
});

const metric = (pct: number) => ({ pct, covered: pct, total: 100 });

describe('evaluateGate', () => {
  it('passes a green test run within budget', () => {
    // Act
    const gate = evaluateGate(tests({}), defaults);
    // Assess
    expect(gate.status).toBe('pass');
    expect(gate.checks.map((c) => [c.id, c.status])).toEqual([
      ['tests.present', 'pass'],
      ['tests.failed', 'pass'],
      ['tests.duration', 'pass'],
    ]);
  });

  it('fails on failed tests and says how many', () => {
    const gate = evaluateGate(tests({ passed: 8, failed: 2 }), defaults);
    expect(gate.status).toBe('fail');
    expect(gate.checks.find((c) => c.id === 'tests.failed')).toMatchObject({
      status: 'fail',
      actual: 2,
      threshold: 0,
      message: '2 of 10 tests failed',
    });
  });

  it('fails a suite slower than its budget, in seconds', () => {
    const gate = evaluateGate(tests({ durationMs: 125_500 }), defaults);
    expect(gate.checks.find((c) => c.id === 'tests.duration')).toMatchObject({
      status: 'fail',
      actual: 125.5,
      threshold: 120,
    });
  });

  it('fails an empty test report unless configured otherwise', () => {
    const empty = tests({ total: 0, passed: 0 });
    expect(evaluateGate(empty, defaults).status).toBe('fail');
    const lenient = gateConfigFor(parseConfig({ gates: { failOnEmptyTestRun: false } }), 'p');
    expect(evaluateGate(empty, lenient).checks.map((c) => c.id)).not.toContain('tests.present');
  });

  it('does not fail on failed tests when the project turns that off', () => {
    const cfg = gateConfigFor(
      parseConfig({ projects: { p: { gates: { failOnFailedTests: false } } } }),
      'p',
    );
    expect(evaluateGate(tests({ passed: 9, failed: 1 }), cfg).status).toBe('pass');
  });

  it('checks each configured coverage metric against the minimum', () => {
    const cfg = gateConfigFor(
      parseConfig({
        gates: { coverageMetrics: ['lines', 'branches', 'statements'], minCoverage: 85 },
      }),
      'p',
    );
    const gate = evaluateGate(
      {
        kind: 'coverage',
        format: 'lcov',
        summary: { lines: metric(90), branches: metric(84.99), functions: metric(50) },
        warnings: [],
      },
      cfg,
    );
    expect(gate.status).toBe('fail');
    expect(gate.checks.map((c) => [c.id, c.status])).toEqual([
      ['coverage.lines', 'pass'],
      ['coverage.branches', 'fail'],
      ['coverage.statements', 'skip'],
    ]);
    expect(gate.checks[1]?.message).toContain('84.99% is below the minimum of 85%');
  });

  it('says a gated coverage metric was not measured instead of passing it', () => {
    // Prepare: coverage.py's Cobertura has no function data; the project gates on functions.
    const cfg = gateConfigFor(
      parseConfig({ gates: { coverageMetrics: ['functions'], minCoverage: 80 } }),
      'p',
    );
    const report: ParsedReport = {
      kind: 'coverage',
      format: 'cobertura',
      summary: {
        lines: metric(95),
        branches: metric(95),
        functions: { pct: null, covered: 0, total: 0, reason: 'not measured: no <method>' },
      },
      warnings: [],
    };

    // Act
    const gate = evaluateGate(report, cfg);

    // Assess
    expect(gate.status).toBe('none');
    expect(gate.checks).toEqual([
      {
        id: 'coverage.functions',
        status: 'skip',
        message:
          'functions coverage was not measured (not measured: no <method>): the minimum of 80% cannot be checked; measure functions or remove it from coverageMetrics.',
        actual: null,
        threshold: 80,
      },
    ]);
  });

  it('uses the default minimum of 90% on lines', () => {
    const report: ParsedReport = {
      kind: 'coverage',
      format: 'istanbul',
      summary: { lines: metric(89.99), branches: metric(10), functions: metric(10) },
      warnings: [],
    };
    expect(evaluateGate(report, defaults)).toMatchObject({
      status: 'fail',
      checks: [{ id: 'coverage.lines', threshold: 90 }],
    });
  });

  it('turns each load-test threshold into its own check', () => {
    const load = (thresholds: { name: string; passed: boolean }[]): ParsedReport => ({
      kind: 'load',
      format: 'k6',
      summary: { requests: 10, failedRequests: 0, errorRate: 0, latencyMs: {}, thresholds },
      warnings: [],
    });
    const failed = evaluateGate(
      load([
        { name: 'checks', passed: true },
        { name: 'http_req_duration: p(95)<500', passed: false },
      ]),
      defaults,
    );
    expect(failed.status).toBe('fail');
    // Failed thresholds come first.
    expect(failed.checks.slice(0, 2)).toEqual([
      {
        id: 'load.threshold.http_req_duration: p(95)<500',
        status: 'fail',
        message: 'Load-test threshold "http_req_duration: p(95)<500" failed',
        actual: null,
        threshold: null,
      },
      expect.objectContaining({ id: 'load.threshold.checks', status: 'pass' }),
    ]);
    expect(evaluateGate(load([]), defaults)).toMatchObject({
      status: 'none',
      checks: [{ id: 'load.thresholds', status: 'skip' }, {}, {}, {}],
    });
    const off = gateConfigFor(parseConfig({ gates: { failOnLoadThresholds: false } }), 'p');
    const ignored = evaluateGate(load([{ name: 'x', passed: false }]), off);
    expect(ignored.status).toBe('none');
    expect(ignored.checks.map((c) => c.id)).toEqual(['load.p95', 'load.p99', 'load.errorRate']);
  });

  it('gives benchmarks no verdict without history, and says why', () => {
    const gate = evaluateGate(
      {
        kind: 'benchmark',
        format: 'benchmark',
        summary: { benchmarks: [{ name: 'b', unit: 'ns', value: 1 }] },
        warnings: [],
      },
      defaults,
    );
    expect(gate).toMatchObject({
      status: 'none',
      checks: [{ id: 'benchmark.regression', status: 'skip' }],
    });
    expect(gate.checks[0]?.message).toMatch(/not checked: no run history/);
  });
});

describe('config', () => {
  it('merges top-level, stage and project gate settings in that order', () => {
    const config = parseConfig({
      gates: { minCoverage: 80, maxDurationSeconds: 100 },
      stages: { prod: { gates: { minCoverage: 95, maxDurationSeconds: 50 } } },
      projects: { shop: { gates: { maxDurationSeconds: 600 } } },
    });
    expect(gateConfigFor(config, 'shop', 'prod')).toMatchObject({
      minCoverage: 95,
      maxDurationSeconds: 600,
    });
    expect(gateConfigFor(config, 'other')).toMatchObject({
      minCoverage: 80,
      maxDurationSeconds: 100,
    });
  });

  it('merges gates.security key by key and gates.benchmarks benchmark by benchmark, key by key', () => {
    const config = parseConfig({
      gates: {
        security: { minSeverity: 'medium' },
        benchmarks: { fib: { thresholdPct: 5 }, sort: { direction: 'smaller' } },
      },
      stages: { prod: { gates: { benchmarks: { fib: { thresholdPct: 7 } } } } },
      projects: {
        shop: {
          gates: { security: { newOnly: false }, benchmarks: { fib: { direction: 'bigger' } } },
        },
      },
    });
    const shop = gateConfigFor(config, 'shop', 'prod');
    expect(shop.security).toEqual({ minSeverity: 'medium', newOnly: false });
    expect(shop.benchmarks).toEqual({
      fib: { thresholdPct: 7, direction: 'bigger' },
      sort: { direction: 'smaller' },
    });
    // The layers themselves are not changed by merging.
    expect(gateConfigFor(config, 'other')).toMatchObject({
      security: { minSeverity: 'medium' },
      benchmarks: { fib: { thresholdPct: 5 }, sort: { direction: 'smaller' } },
    });
    expect(config.gates.security).toEqual({ minSeverity: 'medium' });
  });

  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty'])(
    'reads no project settings for %j, a name Object.prototype also has',
    (project) => {
      const known = { owner: 'qa', reason: 'known', expires: '2099-01-01' };
      const config = parseConfig({
        gates: { minCoverage: 80 },
        quarantine: [{ test: 'flaky', ...known }],
        security: { suppress: [{ rule: 'CVE-1', ...known }] },
      });
      expect(gateConfigFor(config, project, project)).toEqual(gateConfigFor(config, 'other'));
      expect(quarantineFor(config, project)).toEqual(config.quarantine);
      expect(suppressionsFor(config, project)).toEqual(config.security.suppress);
    },
  );

  it('accepts overrides only for the stages Vigil runs as: a misspelt one would never apply', () => {
    expect(() => parseConfig({ stages: { production: { logLevel: 'DEBUG' } } })).toThrow(
      'stages: unknown stage "production"; the stages are dev, staging, prod, local',
    );
    expect(parseConfig({ stages: { local: { historyRetentionDays: 7 } } }).stages).toEqual({
      local: { historyRetentionDays: 7 },
    });
    // The same range as history.retentionDays.
    expect(() => parseConfig({ stages: { prod: { historyRetentionDays: 3651 } } })).toThrow(
      'stages.prod.historyRetentionDays: Too big',
    );
  });

  it('keeps the default or the level above for a field set to undefined (a .ts config)', () => {
    // Prepare: `minCoverage: process.env.CI ? 80 : undefined` outside CI, at every level.
    const config = parseConfig({
      gates: { minCoverage: undefined, maxDurationSeconds: 60 },
      stages: { prod: { gates: { maxDurationSeconds: undefined } } },
      projects: { shop: { gates: { maxDurationSeconds: undefined, minCoverage: undefined } } },
    });
    // Act
    const shop = gateConfigFor(config, 'shop', 'prod');
    // Assess
    expect(config.gates.minCoverage).toBe(90);
    expect(shop.minCoverage).toBe(90);
    expect(shop.maxDurationSeconds).toBe(60);
  });

  it('accepts a local section that sets nothing', () => {
    expect(parseConfig({ local: {} }).local).toEqual({ retention: {} });
  });

  it('names every invalid field by its path', () => {
    expect(() =>
      parseConfig(
        {
          gates: { minCoverage: 120 },
          projects: { shop: { gates: { maxDurationSeconds: 'fast' } } },
          typo: 1,
        },
        'vigil.config.json',
      ),
    ).toThrow(
      /vigil\.config\.json: .*gates\.minCoverage: .*projects\.shop\.gates\.maxDurationSeconds: .*; typo: unknown field$/,
    );
  });
});
