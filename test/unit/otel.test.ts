import { describe, expect, it } from 'vitest';
import { emailBody, slackPayload } from '../../functions/core/alerts/messages';
import type { AlertNotification, EventMetadata } from '../../functions/core/events';
import type { ParsedTests, TestCase } from '../../functions/core/formats/types';
import {
  MAX_FAILED_TEST_SPANS,
  MAX_SUITE_SPANS,
  testRunSpans,
} from '../../functions/core/tracing/ci-trace';
import { newTraceContext, parseTraceparent } from '../../functions/core/tracing/context';
import {
  encodeSpans,
  parseKeyValues,
  resourceAttributes,
} from '../../functions/shared/otel/export';
import { flushBudgetMs, tracesEndpoint, withSpan } from '../../functions/shared/otel/spans';
import { incomingTrace } from '../../functions/shared/tracing';

/** The pure parts of the OpenTelemetry support (the export itself: test/integration/otel.test.ts). */

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('W3C trace context', () => {
  it('reads a valid traceparent and refuses malformed ones', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      traceparent: `00-${TRACE}-${SPAN}-01`,
    });
    // A future version may add fields; version 00 may not.
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-extra`)?.traceId).toBe(TRACE);
    for (const bad of [
      undefined,
      42,
      '',
      `00-${TRACE}-${SPAN}-01-extra`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}`,
    ])
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
  });

  it('makes new traces, and children that keep the trace id', () => {
    const root = newTraceContext();
    expect(root.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const child = newTraceContext(root);
    expect(child.traceId).toBe(root.traceId);
    expect(child.spanId).not.toBe(root.spanId);
    expect(newTraceContext({ traceId: '0'.repeat(32) }).traceId).not.toBe('0'.repeat(32));
  });
});

describe('OTLP configuration', () => {
  it('follows the specification for endpoints, and is off without one', () => {
    expect(tracesEndpoint({})).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe(
      'http://c:4318/v1/traces',
    );
    expect(
      tracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom',
      }),
    ).toBe('http://t:4318/custom');
    expect(
      tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_SDK_DISABLED: 'TRUE' }),
    ).toBeUndefined();
    expect(
      tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBeUndefined();
  });

  it('reads the flush budget, headers and resource attributes', () => {
    expect(flushBudgetMs({})).toBe(500);
    expect(flushBudgetMs({ VIGIL_OTEL_FLUSH_MS: '120' })).toBe(120);
    expect(flushBudgetMs({ VIGIL_OTEL_FLUSH_MS: 'soon' })).toBe(500);
    expect(parseKeyValues('a=1, b = x%20y ,bad,=v,c=%E0%A4%A')).toEqual({ a: '1', b: 'x y' });
    expect(
      resourceAttributes({
        OTEL_RESOURCE_ATTRIBUTES: 'team=web,service.name=ignored',
        OTEL_SERVICE_NAME: 'vigil-prod',
        VIGIL_STAGE: 'prod',
        AWS_LAMBDA_FUNCTION_NAME: 'vigil-prod-ingest',
        AWS_REGION: 'eu-west-1',
      }),
    ).toMatchObject({
      team: 'web',
      'service.name': 'vigil-prod',
      'deployment.environment.name': 'prod',
      'faas.name': 'vigil-prod-ingest',
      'cloud.region': 'eu-west-1',
    });
    expect(resourceAttributes({})).toMatchObject({
      'service.name': 'vigil',
      'deployment.environment.name': 'local',
    });
  });

  it('is a plain call when off', () => {
    expect(withSpan('x', (span) => span, {})).toBeUndefined();
  });
});

describe('OTLP JSON encoding', () => {
  it('encodes ids in hex, times as nanosecond strings and typed attribute values', () => {
    const body = encodeSpans(
      [
        {
          traceId: TRACE,
          spanId: SPAN,
          parentSpanId: 'b7ad6b7169203331',
          name: 'ingest',
          kind: 2,
          startMs: 1_795_600_800_000.5,
          endMs: 1_795_600_800_010,
          attributes: { s: 'a', i: 3, d: 1.5, b: true, list: ['x', 'y'], gone: undefined },
          status: { code: 'error', message: 'boom' },
        },
        {
          traceId: TRACE,
          spanId: 'b7ad6b7169203331',
          name: 'root',
          kind: 1,
          startMs: 10,
          endMs: 5,
          attributes: {},
          status: { code: 'ok' },
        },
      ],
      {},
    );
    const [a, b] = body.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    expect(a).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: 'b7ad6b7169203331',
      name: 'ingest',
      kind: 2,
      startTimeUnixNano: '1795600800000500000',
      endTimeUnixNano: '1795600800010000000',
      attributes: [
        { key: 's', value: { stringValue: 'a' } },
        { key: 'i', value: { intValue: '3' } },
        { key: 'd', value: { doubleValue: 1.5 } },
        { key: 'b', value: { boolValue: true } },
        {
          key: 'list',
          value: { arrayValue: { values: [{ stringValue: 'x' }, { stringValue: 'y' }] } },
        },
      ],
      status: { code: 2, message: 'boom' },
    });
    // An end before the start is clamped; no parent, no parentSpanId.
    expect(b).toMatchObject({ endTimeUnixNano: b?.startTimeUnixNano, status: { code: 1 } });
    expect(b).not.toHaveProperty('parentSpanId');
  });
});

describe('what an invocation continues', () => {
  const tp = `00-${TRACE}-${SPAN}-01`;
  it('reads the trigger: API request, bus event, alert notification, SNS message', () => {
    expect(incomingTrace({ requestContext: {}, headers: { traceparent: tp } })).toEqual({
      kind: 2,
      parent: tp,
    });
    expect(incomingTrace({ detail: { metadata: { traceparent: tp } } })).toEqual({
      kind: 5,
      parent: tp,
    });
    expect(incomingTrace({ detail: { traceparent: tp } })).toEqual({ kind: 5, parent: tp });
    expect(
      incomingTrace({ Records: [{ Sns: { Message: JSON.stringify({ traceparent: tp }) } }] }),
    ).toEqual({ kind: 5, parent: tp });
    expect(incomingTrace({ Records: [{ Sns: { Message: 'not json' } }] })).toEqual({ kind: 5 });
    expect(incomingTrace({ Records: [{ Sns: { Message: '42' } }] })).toEqual({
      kind: 5,
      parent: undefined,
    });
    expect(incomingTrace({ group: 'all' })).toEqual({ kind: 1 });
    expect(incomingTrace(undefined)).toEqual({ kind: 1 });
  });
});

const meta = (over: Partial<EventMetadata> = {}): EventMetadata => ({
  project: 'shop',
  runId: 'r-1',
  correlationId: 'c-1',
  format: 'junit',
  ingestedAt: '2026-12-03T10:00:00.000Z',
  archive: { uri: 'file:///a', bytes: 1, sha256: 'a'.repeat(64) },
  normalized: { uri: 'file:///b', bytes: 1, sha256: 'b'.repeat(64) },
  ...over,
});

const testCase = (suite: string, status: TestCase['status'], name = 't'): TestCase => ({
  suite,
  classname: '',
  name,
  status,
  flaky: false,
  durationMs: 10,
  retries: 0,
});

const report = (cases: TestCase[]): ParsedTests => ({
  kind: 'tests',
  format: 'junit',
  summary: {
    total: cases.length,
    passed: cases.filter((c) => c.status === 'passed').length,
    failed: cases.filter((c) => c.status === 'failed').length,
    skipped: cases.filter((c) => c.status === 'skipped').length,
    flaky: 0,
    durationMs: 50,
  },
  warnings: [],
  cases,
});

describe('test run as a CI trace', () => {
  it('passes: skipped suites say so, the root is ok, the suite name falls back', () => {
    const spans = testRunSpans(
      report([testCase('', 'skipped'), testCase('b', 'passed')]),
      meta({ suite: 'unit' }),
    );
    const root = spans.find((s) => s.parentSpanId === undefined);
    expect(root).toMatchObject({
      name: 'test run shop/unit',
      status: { code: 'ok' },
      attributes: { 'cicd.pipeline.name': 'shop', 'cicd.pipeline.result': 'success' },
    });
    expect(spans.find((s) => s.name === 'test suite unit')?.attributes).toMatchObject({
      'test.suite.run.status': 'skipped',
    });
    expect(spans.find((s) => s.name === 'test suite b')?.attributes).toMatchObject({
      'test.suite.run.status': 'success',
    });
    expect(root?.endMs).toBe(Date.parse('2026-12-03T10:00:00.000Z'));
  });

  it('fails the run for an error outside the tests (a failing hook) with no failed test', () => {
    const spans = testRunSpans(
      {
        ...report([testCase('a', 'passed')]),
        errors: [{ name: 'a', file: 'a.test.ts', message: 'beforeAll failed' }],
      },
      meta(),
    );
    expect(spans.find((s) => s.parentSpanId === undefined)).toMatchObject({
      status: { code: 'error' },
      attributes: { 'cicd.pipeline.result': 'failure', 'vigil.tests.errors': 1 },
    });
  });

  it('bounds the spans and says how many were left out', () => {
    const cases = Array.from({ length: MAX_SUITE_SPANS + 10 }, (_, i) =>
      testCase(`s${i}`, 'failed', `f${i}`),
    );
    const spans = testRunSpans(report(cases), meta());
    expect(spans.filter((s) => s.name.startsWith('test suite '))).toHaveLength(MAX_SUITE_SPANS);
    expect(spans.filter((s) => s.attributes['test.case.result.status'] === 'fail')).toHaveLength(
      MAX_FAILED_TEST_SPANS,
    );
    const root = spans.find((s) => s.parentSpanId === undefined);
    expect(root?.attributes).toMatchObject({
      'vigil.suites_not_shown': 10,
      'vigil.failed_tests_not_shown': cases.length - MAX_FAILED_TEST_SPANS,
    });
  });
});

describe('trace id in alert messages', () => {
  const n: AlertNotification = {
    checkKey: 'probe:shop/api',
    incidentId: 'inc-1',
    kind: 'FIRING',
    source: 'probe',
    project: 'shop',
    severity: 'critical',
    title: 'Probe api',
    summary: 'down',
    since: '2026-12-03T10:00:00.000Z',
    at: '2026-12-03T10:01:00.000Z',
    correlationId: 'c-1',
    traceId: TRACE,
  };
  it('names the probe trace in Slack and email, and nothing without one', () => {
    expect(JSON.stringify(slackPayload(n).blocks)).toContain(`trace \`${TRACE}\``);
    expect(emailBody(n)).toContain(`Trace id:`);
    const { traceId: _t, ...without } = n;
    expect(JSON.stringify(slackPayload(without).blocks)).not.toContain('trace `');
    expect(emailBody(without)).not.toContain('Trace id');
  });
});
