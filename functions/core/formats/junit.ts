import { scanJunit } from './junit-fast';
import { junitBuilder } from './junit-model';
import type { ParsedTests } from './types';
import { readXml } from './xml';

/**
 * JUnit XML, all dialects: Surefire/Gradle (incl. flaky and rerun elements), pytest, jest-junit,
 * vitest, mocha, node:test, go-junit-report, gotestsuite, PHPUnit, Playwright, nextest, Catch2,
 * bun, Bazel, fastlane trainer. Every `<testcase>` is one test, however deeply it is nested;
 * counts are recomputed from the test cases and declared counts only produce warnings.
 *
 * Two parsers feed the same model (`junit-model.ts`):
 * - the fast path, `scanJunit` (`junit-fast.ts`), jumps over character data with `indexOf` and
 *   only decodes what JUnit needs. Most bytes of a real report are logs and stack traces that
 *   no field depends on; a general XML library tokenizes each of them, which caps throughput
 *   below what ingest needs. The scanner accepts only documents it is sure are well-formed and
 *   returns undefined for anything else;
 * - the reference path, `parseJunitReference` (saxes through `readXml`), then either reads the
 *   document (valid but unusual XML) or throws the precise `invalid_report` with line/column.
 */

/** The saxes-based parser: the reference for the fast path and the source of error messages. */
export const parseJunitReference = (text: string): ParsedTests => {
  const builder = junitBuilder();
  readXml(text, builder, { format: 'JUnit XML', roots: ['testsuites', 'testsuite'] });
  return builder.result();
};

export const parseJunit = (text: string): ParsedTests =>
  scanJunit(text) ?? parseJunitReference(text);
