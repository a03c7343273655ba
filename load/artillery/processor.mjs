import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * Artillery processor for load/artillery/ingest.json: turns each virtual user's one request
 * into a Vigil ingest (POST /v1/results) with a report body, the bearer token and a fresh
 * runId. Self-contained (Node built-ins only, bodies generated here) so that
 * `artillery run-lambda` / `run-fargate` can ship it to their workers as it is.
 *
 * Environment (on Lambda/Fargate pass it with `--dotenv`):
 *   VIGIL_TOKEN          bearer token (required)
 *   VIGIL_LOAD_PROJECT   project the reports go to (default vigil-load)
 *   VIGIL_LOAD_GZIP      share of requests sent gzipped, 0..1 (default 0.3)
 */

const PROJECT = process.env.VIGIL_LOAD_PROJECT || 'vigil-load';
const GZIP_SHARE = Number(process.env.VIGIL_LOAD_GZIP ?? '0.3');
/** Unique per worker, so run ids from many Lambda/Fargate workers never collide. */
const WORKER = randomUUID().slice(0, 8);
let sequence = 0;

/** Surefire-like JUnit XML of about `targetBytes`: classes of tests, a few failures with traces. */
export const junitXml = (targetBytes = 50 * 1024) => {
  const suites = [];
  let size = 0;
  let tests = 0;
  let failures = 0;
  for (let s = 0; size < targetBytes; s++) {
    const cases = [];
    let suiteFailures = 0;
    for (let c = 0; c < 25; c++) {
      const name = `should handle case ${c} of scenario ${s}`;
      const time = (((s * 31 + c * 17) % 200) / 1000).toFixed(3);
      if ((s * 25 + c) % 40 === 7) {
        suiteFailures++;
        cases.push(
          `    <testcase name="${name}" classname="com.acme.load.Suite${s}Test" time="${time}">\n      <failure message="expected:&lt;200&gt; but was:&lt;503&gt;" type="org.opentest4j.AssertionFailedError">org.opentest4j.AssertionFailedError: expected:&lt;200&gt; but was:&lt;503&gt;\n\tat com.acme.load.Suite${s}Test.case${c}(Suite${s}Test.java:${40 + c})\n\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)</failure>\n      <system-out><![CDATA[GET /api/orders/${c} -> 503 after 1200 ms]]></system-out>\n    </testcase>`,
        );
      } else {
        cases.push(
          `    <testcase name="${name}" classname="com.acme.load.Suite${s}Test" time="${time}"/>`,
        );
      }
    }
    const xml = `  <testsuite name="com.acme.load.Suite${s}Test" tests="${cases.length}" failures="${suiteFailures}" errors="0" skipped="0">\n${cases.join('\n')}\n  </testsuite>`;
    suites.push(xml);
    size += xml.length;
    tests += cases.length;
    failures += suiteFailures;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${tests}" failures="${failures}">\n${suites.join('\n')}\n</testsuites>\n`;
};

/** Jest `--json` output: a few files of passing and failing tests. */
export const jestJson = () => {
  const testResults = [];
  let passed = 0;
  let failed = 0;
  for (let f = 0; f < 12; f++) {
    const assertionResults = [];
    for (let t = 0; t < 15; t++) {
      const fails = (f * 15 + t) % 50 === 3;
      if (fails) failed++;
      else passed++;
      assertionResults.push({
        ancestorTitles: [`module ${f}`],
        fullName: `module ${f} renders state ${t}`,
        title: `renders state ${t}`,
        status: fails ? 'failed' : 'passed',
        duration: (f * 7 + t * 3) % 40,
        failureMessages: fails
          ? [`Error: expect(received).toBe(expected)\n    at src/module${f}.test.ts:${t + 10}:7`]
          : [],
      });
    }
    testResults.push({
      name: `/ci/src/module${f}.test.ts`,
      status: assertionResults.some((a) => a.status === 'failed') ? 'failed' : 'passed',
      startTime: 1_700_000_000_000 + f * 1000,
      endTime: 1_700_000_000_900 + f * 1000,
      assertionResults,
    });
  }
  return JSON.stringify({
    numTotalTests: passed + failed,
    numPassedTests: passed,
    numFailedTests: failed,
    numPendingTests: 0,
    startTime: 1_700_000_000_000,
    success: failed === 0,
    testResults,
  });
};

/** An LCOV tracefile with a few source files. */
export const lcovInfo = () => {
  const records = [];
  for (let f = 0; f < 8; f++) {
    const lines = [];
    let hit = 0;
    for (let l = 1; l <= 60; l++) {
      const count = (f + l) % 9 === 0 ? 0 : 1 + ((f * l) % 5);
      if (count > 0) hit++;
      lines.push(`DA:${l},${count}`);
    }
    records.push(
      ['TN:', `SF:src/module${f}.ts`, ...lines, 'LF:60', `LH:${hit}`, 'end_of_record'].join('\n'),
    );
  }
  return `${records.join('\n')}\n`;
};

/** Istanbul `coverage-summary.json` (json-summary reporter). */
export const istanbulSummary = () => {
  const metric = (total, covered) => ({
    total,
    covered,
    skipped: 0,
    pct: Math.round((covered / total) * 10000) / 100,
  });
  return JSON.stringify({
    total: {
      lines: metric(1200, 1104),
      statements: metric(1300, 1183),
      functions: metric(240, 221),
      branches: metric(610, 512),
    },
  });
};

const body = (format, suite, contentType, text, weight) => {
  const plain = Buffer.from(text);
  return { format, suite, contentType, plain, gzipped: gzipSync(plain), weight };
};

/** The mix: mostly JUnit, then Jest JSON and coverage. Built once per worker. */
export const BODIES = [
  body('junit', 'unit', 'application/xml', junitXml(), 60),
  body('jest', 'unit', 'application/json', jestJson(), 20),
  body('lcov', 'coverage', 'text/plain', lcovInfo(), 10),
  body('istanbul', 'coverage', 'application/json', istanbulSummary(), 10),
];
const TOTAL_WEIGHT = BODIES.reduce((sum, b) => sum + b.weight, 0);

const pick = () => {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const b of BODIES) {
    r -= b.weight;
    if (r < 0) return b;
  }
  return BODIES[BODIES.length - 1];
};

/** beforeRequest hook: fill in the query, headers and body of the ingest request. */
export function vigilIngestRequest(requestParams, context, events, next) {
  const token = process.env.VIGIL_TOKEN;
  if (!token) return next(new Error('VIGIL_TOKEN is not set'));
  const b = pick();
  const gzip = Math.random() < GZIP_SHARE;
  const runId = `artillery-${WORKER}-${++sequence}`;
  const query = new URLSearchParams({
    project: PROJECT,
    format: b.format,
    suite: b.suite,
    branch: 'load-test',
    runId,
  });
  requestParams.url = `${requestParams.url}?${query}`;
  requestParams.headers = {
    ...requestParams.headers,
    authorization: `Bearer ${token}`,
    'content-type': b.contentType,
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  };
  requestParams.body = gzip ? b.gzipped : b.plain;
  context.vars.runId = runId;
  events.emit('counter', `vigil.sent.${b.format}`, 1);
  return next();
}

/**
 * afterResponse hook: anything but a 2xx fails the virtual user, so Artillery counts it under
 * `errors.*` (and `ensure.maxErrorRate` sees it); Vigil's Artillery parser counts those too.
 */
export function vigilCheckAnswer(_requestParams, response, _context, events, next) {
  if (response.statusCode >= 200 && response.statusCode < 300) {
    events.emit('counter', 'vigil.accepted', 1);
    return next();
  }
  return next(new Error(`HTTP ${response.statusCode}`));
}
