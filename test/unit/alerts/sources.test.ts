import { describe, expect, it } from 'vitest';
import { observationFromAlarm } from '../../../functions/core/alerts/alarm-source';
import {
  alarmSeverity,
  alertBranches,
  noticeFromEvent,
  observationFromEvent,
} from '../../../functions/core/alerts/sources';
import { parseConfig } from '../../../functions/core/config';
import type {
  CoverageDetail,
  EventMetadata,
  Gate,
  KnownEvent,
  ProbeCompletedDetail,
  TestFlakyDetail,
  TestRunDetail,
} from '../../../functions/core/events';

const config = parseConfig({
  project: 'shop',
  probes: [
    {
      name: 'checkout-api',
      url: 'https://shop.example.com/health',
      failureThreshold: 3,
      recoveryThreshold: 2,
      severity: 'critical',
      runbookUrl: 'https://runbooks.example.com/checkout',
      tags: ['checkout'],
    },
  ],
});

const pointer = { uri: 'file:///tmp/x', bytes: 1, sha256: 'a'.repeat(64) };

const metadata = (overrides: Partial<EventMetadata> = {}): EventMetadata => ({
  project: 'shop',
  suite: 'unit',
  branch: 'main',
  commit: '0123456789abcdef0123',
  ci: 'github-actions',
  runId: 'run-1',
  correlationId: 'corr-1',
  format: 'junit',
  ingestedAt: '2026-11-25T10:00:00.000Z',
  archive: pointer,
  normalized: pointer,
  ...overrides,
});

const failedGate: Gate = {
  status: 'fail',
  checks: [
    {
      id: 'tests.failed',
      status: 'fail',
      message: '2 of 10 tests failed',
      actual: 2,
      threshold: 0,
    },
    { id: 'tests.present', status: 'pass', message: '10 tests reported', actual: 10, threshold: 1 },
  ],
};
const passedGate: Gate = {
  status: 'pass',
  checks: [
    { id: 'tests.failed', status: 'pass', message: 'No failed tests', actual: 0, threshold: 0 },
  ],
};

const testRun = (gate: Gate, meta: Partial<EventMetadata> = {}): KnownEvent => {
  const detail: TestRunDetail = {
    metadata: metadata(meta),
    summary: { total: 10, passed: 8, failed: 2, skipped: 0, flaky: 0, durationMs: 1000 },
    gate,
    failedTests: [
      { suite: 'cart', classname: 'CartTest', name: 'adds items', message: 'expected 2\nstack' },
      { suite: 'cart', classname: 'CartTest', name: 'removes items' },
    ],
    failedTestsTruncated: false,
    flakyTests: [],
  };
  return { source: 'vigil.ingest', detailType: 'Test Run Reported', detail };
};

const coverage = (gate: Gate, meta: Partial<EventMetadata> = {}): KnownEvent => {
  const m = { pct: 80, covered: 80, total: 100 };
  const detail: CoverageDetail = {
    metadata: metadata({ format: 'lcov', ...meta }),
    summary: { lines: m, branches: m, functions: m },
    gate,
  };
  return { source: 'vigil.ingest', detailType: 'Coverage Reported', detail };
};

const probe = (
  status: 'up' | 'down',
  overrides: Partial<ProbeCompletedDetail> = {},
): KnownEvent => ({
  source: 'vigil.probe',
  detailType: 'Probe Completed',
  detail: {
    metadata: {
      project: 'shop',
      probe: 'checkout-api',
      correlationId: 'probe-corr-1',
      checkedAt: '2026-11-25T10:00:00.000Z',
      location: 'local',
    },
    url: 'https://shop.example.com/health?token=secret',
    method: 'GET',
    status,
    latencyMs: 120,
    ...(status === 'down'
      ? { statusCode: 503, failure: { assertion: 'status', message: 'expected 200, got 503' } }
      : { statusCode: 200 }),
    attempt: 1,
    warnings: [],
    severity: 'critical',
    tags: ['checkout'],
    ...overrides,
  },
});

/**
 * The EventBridge event CloudWatch sends when a metric alarm changes state, as documented in
 * "Alarm events and EventBridge" (Amazon CloudWatch User Guide), with Vigil's names.
 */
const alarmEvent = (
  value: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA',
  alarmName = 'vigil-prod-ProbeDown',
) => ({
  version: '0',
  id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  account: '123456789012',
  time: '2026-11-25T10:04:40Z',
  region: 'us-east-1',
  resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
  detail: {
    alarmName,
    configuration: {
      description: 'Probe failures over the threshold',
      metrics: [
        {
          id: '30b6c6b2-a864-43a2-4877-c09a1afc3b87',
          metricStat: {
            metric: { dimensions: { Project: 'shop' }, name: 'ProbeFailures', namespace: 'Vigil' },
            period: 60,
            stat: 'Sum',
          },
          returnData: true,
        },
      ],
    },
    previousState: {
      reason:
        'Threshold Crossed: 1 out of the last 1 datapoints [0.0 (25/11/26 09:59:00)] was not greater than the threshold (0.0).',
      reasonData: '{"version":"1.0","queryDate":"2026-11-25T10:00:40.985+0000"}',
      timestamp: '2026-11-25T10:00:40.987+0000',
      value: value === 'OK' ? 'ALARM' : 'OK',
    },
    state: {
      reason:
        value === 'ALARM'
          ? 'Threshold Crossed: 1 out of the last 1 datapoints [3.0 (25/11/26 10:03:00)] was greater than the threshold (0.0).'
          : 'Threshold Crossed: no datapoints over the threshold.',
      reasonData: '{"version":"1.0","queryDate":"2026-11-25T10:04:40.975+0000"}',
      timestamp: '2026-11-25T10:04:40.985+0000',
      value,
    },
  },
});

describe('observationFromEvent: probes', () => {
  it('maps a down probe to a failing observation with the probe config thresholds and runbook', () => {
    // Prepare
    const event = probe('down');

    // Act
    const o = observationFromEvent(event, 'evt-1', config);

    // Assess
    expect(o).toEqual({
      id: 'evt-1',
      checkKey: 'probe:shop/checkout-api',
      ok: false,
      at: '2026-11-25T10:00:00.000Z',
      source: 'probe',
      project: 'shop',
      severity: 'critical',
      title: 'Probe checkout-api',
      target: 'GET https://shop.example.com/health',
      error: 'status: expected 200, got 503 (HTTP 503)',
      runbookUrl: 'https://runbooks.example.com/checkout',
      dashboardPath: '#/probe/shop/checkout-api',
      correlationId: 'probe-corr-1',
      policy: { failureThreshold: 3, recoveryThreshold: 2 },
      tags: ['checkout'],
      probe: 'checkout-api',
    });
  });

  it('maps an up probe to a passing one, and uses the schema defaults for an unknown probe', () => {
    // Prepare
    const up = probe('up');
    const unknown = probe('down', {
      metadata: {
        project: 'shop',
        probe: 'gone',
        correlationId: 'c',
        checkedAt: '2026-11-25T10:00:00.000Z',
        location: 'local',
      },
    });

    // Act
    const a = observationFromEvent(up, 'e1', config);
    const b = observationFromEvent(unknown, 'e2', config);

    // Assess
    expect(a).toMatchObject({ ok: true, checkKey: 'probe:shop/checkout-api' });
    expect(a?.error).toBeUndefined();
    expect(b).toMatchObject({
      checkKey: 'probe:shop/gone',
      policy: { failureThreshold: 2, recoveryThreshold: 1 },
    });
    expect(b?.runbookUrl).toBeUndefined();
  });
});

describe('observationFromEvent: probe edge cases', () => {
  it('names a failed step once: the message of a multi-step or browser step failure says it already', () => {
    const errorOf = (failure: ProbeCompletedDetail['failure'], statusCode?: number) =>
      observationFromEvent(
        probe('down', { failure, ...(statusCode ? { statusCode } : { statusCode: undefined }) }),
        'e',
        config,
      )?.error;
    // As steps.ts and the browser child report them (assertion, message naming the step, step).
    expect(
      errorOf(
        { assertion: 'status', message: 'step "login": expected 200, got 500', step: 'login' },
        500,
      ),
    ).toBe('step "login": expected 200, got 500 (HTTP 500)');
    expect(errorOf({ assertion: 'step', message: 'step "pay": no #pay button', step: 'pay' })).toBe(
      'step "pay": no #pay button',
    );
    // A message that does not name its step keeps the assertion in front.
    expect(
      errorOf({ assertion: 'timeout', message: 'no result within 5000 ms', step: 'pay' }),
    ).toBe('timeout: no result within 5000 ms');
  });

  it('says "down" without a failure, and hides a URL it cannot parse', () => {
    // Prepare
    const event = probe('down', { url: 'not a url', failure: undefined });

    // Act
    const o = observationFromEvent(event, 'e', config);

    // Assess
    expect(o).toMatchObject({ target: 'GET (invalid URL)', error: 'down (HTTP 503)' });
  });

  it('names TCP, DNS and browser targets by their scheme, host and path, without credentials', () => {
    const targetOf = (method: string, url: string) =>
      observationFromEvent(probe('down', { method, url }), 'e', config)?.target;
    expect(targetOf('TCP', 'tcp://db.internal:5432')).toBe('TCP tcp://db.internal:5432');
    expect(targetOf('DNS', 'dns://shop.example.com/AAAA')).toBe('DNS dns://shop.example.com/AAAA');
    expect(targetOf('BROWSER', 'browser://login')).toBe('BROWSER browser://login');
    expect(targetOf('GET', 'https://u:p@shop.example.com/health?token=t')).toBe(
      'GET https://shop.example.com/health',
    );
  });
});

describe('observationFromEvent: heartbeats', () => {
  const heartbeat = (name: string, status: 'up' | 'down'): KnownEvent =>
    ({
      source: 'vigil.heartbeat',
      detailType: 'Heartbeat Checked',
      detail: {
        metadata: {
          project: 'shop',
          heartbeat: name,
          correlationId: 'c1',
          checkedAt: '2026-12-03T02:40:00.000Z',
          location: 'local',
        },
        status,
        outcome: 'missed',
        message: 'no ping since 02:31',
        severity: 'critical',
        tags: [],
      },
    }) as KnownEvent;
  const withCron = parseConfig({
    project: 'shop',
    heartbeats: [
      {
        name: 'nightly',
        cron: '30 2 * * *',
        timezone: 'Europe/Berlin',
        failureThreshold: 2,
        failureWindow: { failures: 2, of: 5 },
        runbookUrl: 'https://runbooks.example.com/nightly',
      },
    ],
  });

  it('describes a cron heartbeat by its schedule, with its runbook and failure window', () => {
    // Act
    const o = observationFromEvent(heartbeat('nightly', 'down'), 'e1', withCron);

    // Assess
    expect(o).toMatchObject({
      checkKey: 'heartbeat:shop/nightly',
      ok: false,
      target: 'cron "30 2 * * *" Europe/Berlin',
      error: 'missed: no ping since 02:31',
      runbookUrl: 'https://runbooks.example.com/nightly',
      // Heartbeats are on the probes' page.
      dashboardPath: '#/probe/shop/nightly',
      policy: { failureThreshold: 2, recoveryThreshold: 1, failureWindow: { failures: 2, of: 5 } },
    });
  });

  it('alerts at once on a heartbeat no longer in the config, with an unknown period', () => {
    // Act
    const o = observationFromEvent(heartbeat('gone', 'up'), 'e2', withCron);

    // Assess
    expect(o).toMatchObject({ ok: true, target: 'every ? s' });
    expect(o?.policy).toEqual({ failureThreshold: 1, recoveryThreshold: 1 });
    expect(o).not.toHaveProperty('runbookUrl');
    expect(o).not.toHaveProperty('error');
  });
});

describe('observationFromEvent: test runs and gates', () => {
  it('alerts on a failed test-run gate on the default branch, with the failed checks and tests', () => {
    // Prepare
    const event = testRun(failedGate);

    // Act
    const o = observationFromEvent(event, 'evt-2', config);

    // Assess
    expect(o).toMatchObject({
      checkKey: 'tests:shop/unit/main',
      ok: false,
      source: 'tests',
      severity: 'warning',
      title: 'Tests shop/unit on main',
      target: 'main @ 0123456789ab (github-actions)',
      dashboardPath: '#/run/shop/run-1',
      correlationId: 'corr-1',
      policy: { failureThreshold: 1, recoveryThreshold: 1 },
    });
    expect(o?.error).toBe(
      '2 of 10 tests failed\n✗ CartTest > adds items: expected 2\n✗ CartTest > removes items',
    );
  });

  it('puts each failed test on one line, without control or bidi characters', () => {
    // Prepare: names and a message as a hostile report sends them, one faking a RESOLVED line.
    const event = testRun(failedGate);
    if (event.detailType !== 'Test Run Reported') throw new Error('a test run');
    event.detail.failedTests = [
      { suite: 'cart', classname: 'Cart\r\nRESOLVED: all clear', name: 'pays\u009b2J' },
      {
        suite: 'cart',
        classname: '',
        name: 'refunds \u202eexe.txt',
        message: 'boom\rRESOLVED: all clear\nstack',
      },
    ];

    // Act
    const o = observationFromEvent(event, 'evt-3', config);

    // Assess
    expect(o?.error?.split('\n')).toEqual([
      '2 of 10 tests failed',
      '✗ Cart RESOLVED: all clear > pays 2J',
      '✗ refunds  exe.txt: boom RESOLVED: all clear',
    ]);
  });

  it('resolves on a passing run of the same suite and branch, and uses "default" without a suite', () => {
    // Prepare
    const passing = testRun(passedGate);
    const noSuite = testRun(failedGate, { suite: undefined });

    // Act
    const a = observationFromEvent(passing, 'e1', config);
    const b = observationFromEvent(noSuite, 'e2', config);

    // Assess
    expect(a).toMatchObject({ checkKey: 'tests:shop/unit/main', ok: true });
    expect(b?.checkKey).toBe('tests:shop/default/main');
  });

  it('ignores other branches, reports without a branch and runs without a gate verdict', () => {
    // Prepare
    const events = [
      testRun(failedGate, { branch: 'feature/x' }),
      testRun(failedGate, { branch: undefined }),
      testRun({ status: 'none', checks: [] }),
    ];

    // Act
    const results = events.map((e, i) => observationFromEvent(e, `e${i}`, config));

    // Assess
    expect(results).toEqual([undefined, undefined, undefined]);
  });

  it('uses alerts.branches when configured', () => {
    // Prepare
    const custom = parseConfig({ alerts: { branches: ['release', 'main'] } });

    // Act
    const release = observationFromEvent(testRun(failedGate, { branch: 'release' }), 'e', custom);

    // Assess
    expect(alertBranches(custom)).toEqual(['release', 'main']);
    expect(alertBranches(config)).toEqual(['main']);
    expect(release?.checkKey).toBe('tests:shop/unit/release');
  });

  it('says "The gate failed." without a failed check, and clips a huge failure message', () => {
    // Prepare
    const bare: Gate = { status: 'fail', checks: [] };
    const huge: Gate = {
      status: 'fail',
      checks: [{ id: 'c', status: 'fail', message: 'x'.repeat(5000), actual: 1, threshold: 0 }],
    };

    // Act
    const [a, b] = [bare, huge].map((g) => observationFromEvent(coverage(g), 'e', config));

    // Assess
    expect(a?.error).toBe('The gate failed.');
    expect(b?.error).toHaveLength(2000);
    expect(b?.error?.endsWith('x…')).toBe(true);
  });

  it('maps coverage, load and benchmark gates to gate:<project>/<kind>/<branch>', () => {
    // Prepare
    const cov = coverage({
      status: 'fail',
      checks: [
        {
          id: 'coverage.lines',
          status: 'fail',
          message: 'lines coverage 80% is below the minimum of 90% (80/100)',
          actual: 80,
          threshold: 90,
        },
      ],
    });
    const load: KnownEvent = {
      source: 'vigil.ingest',
      detailType: 'Load Test Reported',
      detail: {
        metadata: metadata({ format: 'k6' }),
        summary: { requests: 1, failedRequests: 0, errorRate: 0, latencyMs: {}, thresholds: [] },
        gate: passedGate,
      },
    };
    const bench: KnownEvent = {
      source: 'vigil.ingest',
      detailType: 'Benchmark Reported',
      detail: {
        metadata: metadata({ format: 'benchmark' }),
        summary: { benchmarks: [] },
        gate: failedGate,
      },
    };

    // Act
    const [c, l, b] = [cov, load, bench].map((e) => observationFromEvent(e, 'e', config));

    // Assess
    expect(c).toMatchObject({
      checkKey: 'gate:shop/coverage/main',
      ok: false,
      source: 'gate',
      title: 'Coverage gate shop on main',
      error: 'lines coverage 80% is below the minimum of 90% (80/100)',
    });
    expect(l).toMatchObject({ checkKey: 'gate:shop/load/main', ok: true });
    expect(b).toMatchObject({ checkKey: 'gate:shop/benchmark/main', ok: false });
  });

  it('does not alert on its own Alert State Changed events', () => {
    // Prepare
    const event = {
      source: 'vigil.alert',
      detailType: 'Alert State Changed',
      detail: {},
    } as unknown as KnownEvent;

    // Act
    const o = observationFromEvent(event, 'e', config);

    // Assess
    expect(o).toBeUndefined();
  });
});

describe('noticeFromEvent: flaky tests', () => {
  const flaky = (branch?: string, batch = { index: 1, total: 1 }): KnownEvent => {
    const detail: TestFlakyDetail = {
      metadata: {
        project: 'shop',
        runId: 'nightly-7',
        ...(branch === undefined ? {} : { branch }),
        correlationId: 'corr-9',
        detectedAt: '2026-11-25T10:00:00.000Z',
      },
      test: {
        id: 'cart > CartTest > checkout',
        suite: 'cart',
        classname: 'CartTest',
        name: 'checkout',
      },
      reason: 'flip-rate',
      explanation: '3 flips in 8 runs on main (flip rate 43%, threshold 30%).',
      flipRate: 0.429,
      batch,
    };
    return { source: 'vigil.history', detailType: 'Test Flaky Detected', detail };
  };

  it('is a NOTICE on an alerting branch, nothing elsewhere or without a branch', () => {
    // Act
    const onMain = noticeFromEvent(flaky('main'), 'evt-1', config);
    const others = [flaky('feature/x'), flaky()].map((e) => noticeFromEvent(e, 'e', config));
    const release = noticeFromEvent(
      flaky('release'),
      'e',
      parseConfig({ alerts: { branches: ['release'] } }),
    );

    // Assess
    expect(onMain).toMatchObject({
      kind: 'NOTICE',
      source: 'flaky',
      severity: 'warning',
      checkKey: 'flaky:shop/cart > CartTest > checkout',
      incidentId: 'evt-1',
      title: 'Flaky test cart > CartTest > checkout',
      summary: '3 flips in 8 runs on main (flip rate 43%, threshold 30%).',
      correlationId: 'corr-9',
    });
    expect(others).toEqual([undefined, undefined]);
    expect(release?.kind).toBe('NOTICE');
  });

  it('is no observation, and other events are no notice', () => {
    expect(observationFromEvent(flaky('main'), 'e', config)).toBeUndefined();
    expect(noticeFromEvent(testRun(failedGate), 'e', config)).toBeUndefined();
  });
});

describe('observationFromAlarm', () => {
  it('maps ALARM to a failing observation with the reason and the state timestamp', () => {
    // Prepare
    const event = alarmEvent('ALARM');

    // Act
    const o = observationFromAlarm(event, config);

    // Assess
    expect(o).toMatchObject({
      id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      checkKey: 'alarm:vigil-prod-ProbeDown',
      ok: false,
      at: '2026-11-25T10:04:40.985Z',
      source: 'alarm',
      project: 'shop',
      severity: 'critical',
      title: 'Alarm vigil-prod-ProbeDown',
      target: 'Probe failures over the threshold (us-east-1)',
      correlationId: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      policy: { failureThreshold: 1, recoveryThreshold: 1 },
    });
    expect(o?.error).toMatch(/^Threshold Crossed: 1 out of the last 1 datapoints/);
  });

  it('maps OK to a passing observation and ignores INSUFFICIENT_DATA', () => {
    // Prepare
    const ok = alarmEvent('OK');
    const insufficient = alarmEvent('INSUFFICIENT_DATA');

    // Act
    const a = observationFromAlarm(ok, config);
    const b = observationFromAlarm(insufficient, config);

    // Assess
    expect(a).toMatchObject({ ok: true, checkKey: 'alarm:vigil-prod-ProbeDown' });
    expect(a?.error).toBeUndefined();
    expect(b).toBeUndefined();
  });

  it('falls back to the event time when the state timestamp cannot be read', () => {
    // Prepare
    const event = alarmEvent('ALARM');
    event.detail.state.timestamp = 'yesterday';

    // Act
    const o = observationFromAlarm(event, config);

    // Assess
    expect(o?.at).toBe('2026-11-25T10:04:40.000Z');
  });

  it('names only the region without a description, and keeps an unreadable time as it is', () => {
    // Prepare
    const event = alarmEvent('ALARM');
    event.detail.state.timestamp = 'yesterday';
    event.time = 'today';
    const { configuration: _c, ...bare } = event.detail;

    // Act
    const o = observationFromAlarm({ ...event, detail: bare }, config);

    // Assess
    expect(o).toMatchObject({ target: 'us-east-1', at: 'today' });
  });

  it('is a warning when the alarm name contains "warning"', () => {
    // Prepare
    const event = alarmEvent('ALARM', 'vigil-prod-LatencyWarning');

    // Act
    const o = observationFromAlarm(event, config);

    // Assess
    expect(o?.severity).toBe('warning');
    expect(alarmSeverity('api-warning-5xx')).toBe('warning');
    expect(alarmSeverity('api-5xx')).toBe('critical');
  });

  it('rejects an event that is not an alarm state change', () => {
    // Prepare
    const broken = { ...alarmEvent('ALARM'), detail: { alarmName: 'x' } };

    // Act
    const act = () => observationFromAlarm(broken, config);

    // Assess
    expect(act).toThrow();
  });
});

describe('noticeFromEvent: a burst of flaky tests in one run', () => {
  const burst = (index: number, total: number): KnownEvent =>
    ({
      source: 'vigil.history',
      detailType: 'Test Flaky Detected',
      detail: {
        metadata: {
          project: 'shop/web',
          runId: 'first-upload',
          branch: 'main',
          correlationId: 'corr-b',
          detectedAt: '2026-11-25T10:00:00.000Z',
        },
        test: { id: `t${index}`, suite: '', classname: '', name: `t${index}` },
        reason: 'retried',
        explanation: 'Passed only after a retry in run first-upload.',
        batch: { index, total },
      },
    }) as KnownEvent;

  it('notifies the first five, the fifth naming how many more there are and where to see them', () => {
    // Arrange
    const config = parseConfig({});

    // Act
    const notices = [1, 2, 3, 4, 5, 6, 40].map((i) =>
      noticeFromEvent(burst(i, 40), `e${i}`, config),
    );

    // Assess
    expect(notices.slice(0, 5).every((n) => n?.kind === 'NOTICE')).toBe(true);
    expect(notices[3]?.summary).not.toContain('more');
    expect(notices[4]?.summary).toContain(
      '35 more tests were found flaky in run first-upload: GET /v1/projects/shop%2Fweb/tests?status=flaky lists them all.',
    );
    expect(notices.slice(5)).toEqual([undefined, undefined]);
    expect(noticeFromEvent(burst(5, 5), 'e', config)?.summary).not.toContain('more');
  });
});
