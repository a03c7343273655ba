import type { TestCase } from '../formats/types';
import type { FailedTest } from './api';

/**
 * What a run's page shows from its normalized result: the parser warnings and the first failed
 * tests with their messages and stack traces. The status subscriber takes it once, when it
 * records the run, so the run detail is one key lookup instead of reading and parsing the
 * archive (a 20,000-test result is 2.6 MB of JSON). Bounded to fit in one DynamoDB item with
 * the rest of the run (400 KB).
 */
export interface RunDigest {
  warnings: string[];
  /** The first failed tests, in report order, within `DIGEST_LIMITS`. */
  failedTests: FailedTest[];
  /** Every failed test of the run. */
  failedTestsTotal: number;
}

export const DIGEST_LIMITS = {
  /** Failed tests kept. */
  tests: 200,
  /** Bytes of JSON for all of them (the parsers already cap a message and a stack trace). */
  testBytes: 256 * 1024,
  warnings: 50,
  /** Characters of one warning, suite, class or test name, or file path. */
  text: 512,
} as const;

/** At most `max` characters (an ellipsis marks the cut), never splitting a surrogate pair. */
export const clipText = (s: string, max: number = DIGEST_LIMITS.text): string => {
  if (s.length <= max) return s;
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
};

const failedTest = (c: TestCase): FailedTest => ({
  suite: clipText(c.suite),
  classname: clipText(c.classname),
  name: clipText(c.name),
  ...(c.message === undefined ? {} : { message: c.message }),
  ...(c.details === undefined ? {} : { details: c.details }),
  ...(c.file === undefined ? {} : { file: clipText(c.file) }),
  ...(c.file === undefined || c.line === undefined ? {} : { line: c.line }),
  durationMs: c.durationMs,
});

/** The digest of a normalized result (`{ report: { cases?, warnings? } }`, written by ingest). */
export const digestOf = (normalized: Uint8Array): RunDigest => {
  const doc = JSON.parse(Buffer.from(normalized).toString('utf8')) as {
    report?: { cases?: TestCase[]; warnings?: string[] };
  };
  const failedTests: FailedTest[] = [];
  let total = 0;
  let bytes = 0;
  for (const c of doc.report?.cases ?? []) {
    if (c.status !== 'failed') continue;
    total++;
    if (failedTests.length === DIGEST_LIMITS.tests || bytes > DIGEST_LIMITS.testBytes) continue;
    const test = failedTest(c);
    bytes += Buffer.byteLength(JSON.stringify(test));
    if (bytes <= DIGEST_LIMITS.testBytes) failedTests.push(test);
  }
  return {
    warnings: (doc.report?.warnings ?? []).slice(0, DIGEST_LIMITS.warnings).map((w) => clipText(w)),
    failedTests,
    failedTestsTotal: total,
  };
};
