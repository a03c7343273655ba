import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { FormatId } from '../../functions/core/formats/types';
import { generateJunit } from '../../test/helpers/generate-junit';
import { mulberry32 as prng } from '../prng';
import type { RequestSpec, Scenario } from './types';

/**
 * Requests for Vigil's ingest endpoint (`POST /v1/results`): real report bodies, the bearer
 * token, some bodies gzipped, and a fresh `runId` on every request so that none is a duplicate
 * and every accepted one can be found again in what Vigil stored. A JUnit body ends with a
 * comment naming its run, so that each is new bytes as CI's reports are (the archive stores
 * each distinct report once: identical bodies would be compared, not written).
 */

export interface Body {
  name: string;
  format: FormatId;
  suite: string;
  contentType: string;
  plain: Buffer;
  gzipped: Buffer;
  /** Relative share of requests that carry this body. */
  weight: number;
}

/** The capacity benchmark's body size: a 50 KB JUnit report. */
export const JUNIT_TARGET_BYTES = 50 * 1024;

/**
 * A Surefire-like JUnit report (failures with stack traces, skips, flaky retries, output) of at
 * least `targetBytes`, from the same generator the parser benchmarks use.
 */
export const junitReport = (targetBytes = JUNIT_TARGET_BYTES, seed = 7): string => {
  // About 130 bytes per test case with output; grow until the size is reached.
  let cases = Math.max(1, Math.floor(targetBytes / 140));
  for (;;) {
    const xml = generateJunit({ cases, withOutput: true, seed });
    if (Buffer.byteLength(xml) >= targetBytes) return xml;
    cases += 5;
  }
};

const CORPUS = new URL('../../test/fixtures/corpus/', import.meta.url);
const corpus = (path: string): Buffer => readFileSync(new URL(path, CORPUS));

const body = (
  name: string,
  format: FormatId,
  suite: string,
  contentType: string,
  plain: Buffer,
  weight: number,
): Body => ({ name, format, suite, contentType, plain, gzipped: gzipSync(plain), weight });

/** The 50 KB JUnit body alone: what `bench:capacity` and `--scenario junit` send. */
export const junitBodies = (): Body[] => [
  body('junit-50k', 'junit', 'unit', 'application/xml', Buffer.from(junitReport()), 1),
];

/**
 * The realistic mix: mostly JUnit (generated 50 KB, Playwright, jest-junit), Jest JSON and
 * coverage (LCOV, Istanbul summary), real files from test/fixtures/corpus (see SOURCES.md).
 */
export const mixedBodies = (): Body[] => [
  ...junitBodies().map((b) => ({ ...b, weight: 45 })),
  body(
    'junit-playwright',
    'junit',
    'e2e',
    'application/xml',
    corpus('junit/dorny-playwright-report.xml'),
    10,
  ),
  body('junit-jest', 'junit', 'unit', 'application/xml', corpus('junit/datadog-js-jest.xml'), 10),
  body(
    'jest-json',
    'jest',
    'unit',
    'application/json',
    corpus('jest/ethereum-event-scan-jest-results.json'),
    15,
  ),
  body('lcov', 'lcov', 'coverage', 'text/plain', corpus('lcov/dorny-lcov.info'), 10),
  body(
    'istanbul-summary',
    'istanbul',
    'coverage',
    'application/json',
    corpus('istanbul/tsinjex-coverage-summary.json'),
    10,
  ),
];

/** `/v1/results` under the target's base path; a target that already names it is kept. */
export const ingestPath = (target: URL): string => {
  const base = target.pathname.replace(/\/+$/, '').replace(/\/v1\/results$/, '');
  return `${base}/v1/results`;
};

/** A run id prefix unique to this run (letters, digits and dashes: a valid Vigil run id). */
export const newRunPrefix = (now = Date.now()): string =>
  `load-${now.toString(36)}-${randomBytes(3).toString('hex')}`;

export interface IngestOptions {
  target: URL;
  token: string;
  project: string;
  bodies: Body[];
  /** Run ids are `<runPrefix>-<n>`. */
  runPrefix: string;
  /** Share of requests sent gzipped (Content-Encoding: gzip), 0..1. */
  gzipShare: number;
  branch?: string;
  seed?: number;
  name?: string;
}

/** What follows a JUnit body's root element to make it new bytes: an XML comment naming the run. */
export const runComment = (runId: string): Buffer => Buffer.from(`\n<!-- run ${runId} -->\n`);

/**
 * A JUnit body with its `runComment`; a gzipped one gets it as a second gzip member, which
 * gunzip reads as following the first.
 */
const withRunComment = (b: Body, gzip: boolean, runId: string): Buffer => {
  const comment = runComment(runId);
  return gzip ? Buffer.concat([b.gzipped, gzipSync(comment)]) : Buffer.concat([b.plain, comment]);
};

export const ingestScenario = (opts: IngestOptions): Scenario => {
  const path = ingestPath(opts.target);
  const total = opts.bodies.reduce((sum, b) => sum + b.weight, 0);
  if (opts.bodies.length === 0 || total <= 0) throw new Error('ingest scenario without bodies');
  const rand = prng(opts.seed ?? 1);
  const pick = (): Body => {
    let r = rand() * total;
    for (const b of opts.bodies) {
      r -= b.weight;
      if (r < 0) return b;
    }
    return opts.bodies[opts.bodies.length - 1] as Body;
  };
  let seq = 0;
  const mix = opts.bodies
    .map(
      (b) =>
        `${b.name} ${Math.round((b.weight / total) * 100)}% (${Math.round(b.plain.byteLength / 1024)} KB)`,
    )
    .join(', ');

  return {
    name: opts.name ?? 'ingest',
    description: `${mix}; ${Math.round(opts.gzipShare * 100)}% gzipped`,
    next: (): RequestSpec => {
      const b = pick();
      const gzip = rand() < opts.gzipShare;
      const runId = `${opts.runPrefix}-${++seq}`;
      const query = new URLSearchParams({
        project: opts.project,
        format: b.format,
        suite: b.suite,
        branch: opts.branch ?? 'load-test',
        runId,
      });
      const headers: Record<string, string> = {
        authorization: `Bearer ${opts.token}`,
        'content-type': b.contentType,
      };
      if (gzip) headers['content-encoding'] = 'gzip';
      return {
        method: 'POST',
        path: `${path}?${query}`,
        headers,
        body: b.format === 'junit' ? withRunComment(b, gzip, runId) : gzip ? b.gzipped : b.plain,
        runId,
      };
    },
  };
};
