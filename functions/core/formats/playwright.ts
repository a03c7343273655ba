import { invalidReport } from '../errors';
import * as z from '../zod-mini';
import { formatPath, isRecord, parseShape } from './shape';
import {
  DETAILS_MAX_TESTS,
  detailOf,
  firstLine,
  lineNumber,
  MAX_DURATION_MS,
  MAX_NESTING_DEPTH,
  type ParsedTests,
  stripAnsi,
  type TestCase,
  type TestSummary,
} from './types';

/**
 * Playwright JSON reporter (`--reporter=json`): `suites[]` (files, then `describe` blocks,
 * nested) hold `specs[]`; each spec has one `tests[]` entry per project, each with the
 * `results[]` of its attempts. One test = one spec in one project, counted as Playwright counts:
 * its `status` is `expected` (passed, or a `test.fail()` that failed as expected), `flaky`
 * (passed on a retry), `unexpected` (failed) or `skipped` (skip/fixme annotations). Retries =
 * attempts − 1. Attachments, stdout and steps are ignored. `stats` (Playwright's own totals)
 * are compared, and a difference is a warning. Suites nested deeper than MAX_NESTING_DEPTH are
 * refused before the (recursive) schema reads them.
 */

const WHAT = 'Playwright JSON report';
const SEPARATOR = ' › ';

const Result = z.object({
  status: z.optional(z.string()),
  duration: z.optional(z.number().check(z.nonnegative(), z.lte(MAX_DURATION_MS))),
  error: z.nullish(
    z.object({
      message: z.optional(z.string()),
      stack: z.optional(z.string()),
      location: z.optional(z.object({ file: z.string(), line: z.number() })),
    }),
  ),
  errors: z.optional(z.array(z.object({ message: z.optional(z.string()) }))),
});

const Test = z.object({
  projectName: z.optional(z.string()),
  expectedStatus: z.optional(z.string()),
  status: z.enum(['expected', 'unexpected', 'flaky', 'skipped']),
  results: z.array(Result),
  annotations: z.optional(z.array(z.object({ type: z.string() }))),
});

const Spec = z.object({
  title: z.string(),
  file: z.optional(z.string()),
  line: z.optional(z.number()),
  tests: z.array(Test),
});

interface SuiteShape {
  title: string;
  file?: string | undefined;
  specs?: z.infer<typeof Spec>[] | undefined;
  suites?: SuiteShape[] | undefined;
}

const Suite: z.ZodMiniType<SuiteShape> = z.lazy(() =>
  z.object({
    title: z.string(),
    file: z.optional(z.string()),
    specs: z.optional(z.array(Spec)),
    suites: z.optional(z.array(Suite)),
  }),
);

const Report = z.object({
  suites: z.array(Suite),
  stats: z.optional(
    z.object({
      duration: z.optional(z.number().check(z.nonnegative(), z.lte(MAX_DURATION_MS))),
      expected: z.optional(z.number()),
      unexpected: z.optional(z.number()),
      flaky: z.optional(z.number()),
      skipped: z.optional(z.number()),
    }),
  ),
});

/** A suite in the document, for `refuseDeepSuites`. */
interface SuiteAt {
  suite: unknown;
  index: number;
  depth: number;
  parent: SuiteAt | undefined;
}

/** `suites[0].suites[3]…` of a suite. */
const suitePath = (at: SuiteAt): string => {
  const keys: (string | number)[] = [];
  for (let s: SuiteAt | undefined = at; s; s = s.parent) keys.push(s.index, 'suites');
  return formatPath(keys.reverse());
};

/** Refuse suites nested deeper than MAX_NESTING_DEPTH (a loop: the document may nest deeper). */
const refuseDeepSuites = (doc: unknown): void => {
  const stack: SuiteAt[] = [];
  const push = (suites: unknown, depth: number, parent: SuiteAt | undefined): void => {
    if (Array.isArray(suites))
      suites.forEach((suite, index) => {
        stack.push({ suite, index, depth, parent });
      });
  };
  if (isRecord(doc)) push(doc.suites, 1, undefined);
  for (let at = stack.pop(); at; at = stack.pop()) {
    if (at.depth > MAX_NESTING_DEPTH) {
      const path = suitePath(at);
      throw invalidReport(
        `Invalid ${WHAT}: suite nesting is deeper than ${MAX_NESTING_DEPTH} levels at ${path}; refusing to read further.`,
        { path },
      );
    }
    if (isRecord(at.suite)) push(at.suite.suites, at.depth + 1, at);
  }
};

/** The last attempt's error: its message's first line, its full text, where it happened. */
const failureOf = (
  results: z.infer<typeof Result>[],
): { message?: string; detail?: string; line?: number } => {
  for (let i = results.length - 1; i >= 0; i--) {
    const r = results[i];
    const text = r?.error?.stack ?? r?.error?.message ?? r?.errors?.[0]?.message;
    if (!text) continue;
    // Playwright colours its messages with ANSI escapes.
    const plain = stripAnsi(text);
    const out: { message?: string; detail?: string; line?: number } = {};
    const message = firstLine(plain);
    if (message !== undefined) out.message = message;
    const detail = detailOf(plain);
    if (detail !== undefined) out.detail = detail;
    const line = lineNumber(r?.error?.location?.line);
    if (line !== undefined) out.line = line;
    return out;
  }
  return {};
};

export const parsePlaywright = (doc: unknown): ParsedTests => {
  refuseDeepSuites(doc);
  const report = parseShape(Report, doc, WHAT);
  const cases: TestCase[] = [];
  let detailsKept = 0;
  const summary: TestSummary = {
    total: 0,
    passed: 0,
    failed: 0,
    skipped: 0,
    flaky: 0,
    durationMs: 0,
  };
  let sumMs = 0;

  const walk = (suite: SuiteShape, titles: string[], file: string): void => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests) {
        const durationMs = test.results.reduce((ms, r) => ms + (r.duration ?? 0), 0);
        sumMs += durationMs;
        const tc: TestCase = {
          suite: test.projectName ?? '',
          classname: spec.file ?? file,
          name: [...titles, spec.title].join(SEPARATOR),
          status: 'passed',
          flaky: false,
          durationMs,
          retries: Math.max(0, test.results.length - 1),
        };
        if (spec.file ?? file) tc.file = spec.file ?? file;
        const specLine = lineNumber(spec.line);
        if (specLine !== undefined) tc.line = specLine;
        if (test.status === 'unexpected') {
          tc.status = 'failed';
          const { message, detail, line } = failureOf(test.results);
          if (message !== undefined) tc.message = message;
          if (detail !== undefined && detailsKept++ < DETAILS_MAX_TESTS) tc.details = detail;
          if (line !== undefined) tc.line = line;
          summary.failed++;
        } else if (test.status === 'skipped') {
          tc.status = 'skipped';
          summary.skipped++;
        } else {
          summary.passed++;
          if (test.status === 'flaky') {
            tc.flaky = true;
            summary.flaky++;
          }
        }
        cases.push(tc);
      }
    }
    for (const child of suite.suites ?? []) walk(child, [...titles, child.title], file);
  };
  // Top-level suites are files: their title is the file path, not part of the test's name.
  for (const top of report.suites) walk(top, [], top.file ?? top.title);

  summary.total = cases.length;
  const stats = report.stats;
  summary.durationMs = stats?.duration ?? sumMs;
  const warnings: string[] = [];
  if (stats) {
    const declared = {
      'expected+flaky (passed)': [(stats.expected ?? 0) + (stats.flaky ?? 0), summary.passed],
      'unexpected (failed)': [stats.unexpected ?? 0, summary.failed],
      skipped: [stats.skipped ?? 0, summary.skipped],
      flaky: [stats.flaky ?? 0, summary.flaky],
    } as const;
    for (const [name, [said, found]] of Object.entries(declared))
      if (said !== found) warnings.push(`stats say ${name}=${said} but the tests give ${found}`);
  }
  if (cases.length === 0) warnings.push('the report contains no tests');
  return { kind: 'tests', format: 'playwright', summary, warnings, cases };
};
