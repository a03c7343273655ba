import type { EventMetadata } from '../events';
import type { ParsedTests, TestCase } from '../formats/types';
import { newSpanId, newTraceContext } from './context';
import { type Attributes, SPAN_KIND, type SpanRecord } from './spans';

/**
 * An ingested test run as a trace, in OpenTelemetry's CI/CD and test semantic conventions, so
 * a tracing backend shows CI test runs next to production traces:
 *
 * - the run: one root span (`cicd.pipeline.*`, `vcs.ref.head.*`), ending at ingestion and as
 *   long as the report says the run took;
 * - a child span per suite (`test.suite.name`, `test.suite.run.status`), laid out one after
 *   the other with the summed durations of their tests (reports rarely say when a suite ran);
 * - under its suite, a span per failed test (`test.case.name`, `test.case.result.status`
 *   `fail`, error status with the first line of the message).
 *
 * Bounded: at most `MAX_SUITE_SPANS` suites and `MAX_FAILED_TEST_SPANS` failed tests (the root
 * says how many were left out).
 */

export const MAX_SUITE_SPANS = 200;
export const MAX_FAILED_TEST_SPANS = 100;

const fullName = (c: TestCase): string => (c.classname ? `${c.classname}.${c.name}` : c.name);

const suiteStatus = (cases: readonly TestCase[]): string =>
  cases.some((c) => c.status === 'failed')
    ? 'failure'
    : cases.every((c) => c.status === 'skipped')
      ? 'skipped'
      : 'success';

export const testRunSpans = (report: ParsedTests, m: EventMetadata): SpanRecord[] => {
  const root = newTraceContext();
  const endMs = Date.parse(m.ingestedAt);
  const startMs = endMs - Math.max(0, report.summary.durationMs);
  const suites = new Map<string, TestCase[]>();
  for (const c of report.cases) {
    const name = c.suite || m.suite || 'default';
    const list = suites.get(name);
    if (list) list.push(c);
    else suites.set(name, [c]);
  }

  const spans: SpanRecord[] = [];
  let offset = startMs;
  let failedShown = 0;
  let suitesShown = 0;
  for (const [suite, cases] of suites) {
    if (suitesShown === MAX_SUITE_SPANS) break;
    suitesShown++;
    const suiteId = newSpanId();
    const suiteStart = offset;
    let at = suiteStart;
    for (const c of cases) {
      const caseStart = at;
      at += Math.max(0, c.durationMs);
      if (c.status !== 'failed' || failedShown === MAX_FAILED_TEST_SPANS) continue;
      failedShown++;
      spans.push({
        traceId: root.traceId,
        spanId: newSpanId(),
        parentSpanId: suiteId,
        name: `test ${fullName(c)}`,
        kind: SPAN_KIND.internal,
        startMs: caseStart,
        endMs: at,
        attributes: {
          'test.case.name': fullName(c),
          'test.case.result.status': 'fail',
          'test.suite.name': suite,
          'code.filepath': c.file,
          'vigil.test.retries': c.retries,
        },
        status: { code: 'error', ...(c.message ? { message: c.message } : {}) },
      });
    }
    offset = at;
    const failed = cases.filter((c) => c.status === 'failed').length;
    spans.push({
      traceId: root.traceId,
      spanId: suiteId,
      parentSpanId: root.spanId,
      name: `test suite ${suite}`,
      kind: SPAN_KIND.internal,
      startMs: suiteStart,
      endMs: at,
      attributes: {
        'test.suite.name': suite,
        'test.suite.run.status': suiteStatus(cases),
        'vigil.tests.total': cases.length,
        'vigil.tests.failed': failed,
      },
      ...(failed > 0 ? { status: { code: 'error' as const } } : {}),
    });
  }

  const { summary } = report;
  // Errors outside the tests (a failing hook, a file that did not load) fail the run too.
  const errors = report.errors?.length ?? 0;
  const failedRun = summary.failed > 0 || errors > 0;
  const attributes: Attributes = {
    'cicd.pipeline.name': m.ci ?? m.project,
    'cicd.pipeline.run.id': m.runId,
    'cicd.pipeline.task.type': 'test',
    'cicd.pipeline.result': failedRun ? 'failure' : 'success',
    'vcs.ref.head.name': m.branch,
    'vcs.ref.head.revision': m.commit,
    'vigil.project': m.project,
    'vigil.correlation_id': m.correlationId,
    'vigil.format': m.format,
    'vigil.tests.total': summary.total,
    'vigil.tests.passed': summary.passed,
    'vigil.tests.failed': summary.failed,
    'vigil.tests.skipped': summary.skipped,
    'vigil.tests.flaky': summary.flaky,
    ...(errors > 0 ? { 'vigil.tests.errors': errors } : {}),
    ...(suites.size > suitesShown ? { 'vigil.suites_not_shown': suites.size - suitesShown } : {}),
    ...(summary.failed > failedShown
      ? { 'vigil.failed_tests_not_shown': summary.failed - failedShown }
      : {}),
  };
  spans.push({
    traceId: root.traceId,
    spanId: root.spanId,
    name: `test run ${m.project}${m.suite ? `/${m.suite}` : ''}`,
    kind: SPAN_KIND.internal,
    startMs,
    endMs: Math.max(endMs, offset),
    attributes,
    status: failedRun ? { code: 'error' } : { code: 'ok' },
  });
  return spans;
};
