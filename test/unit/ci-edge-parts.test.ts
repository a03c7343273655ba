import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionArgs, expandFiles, globRegex, input } from '../../cli/action';
import { checkInputs } from '../../cli/build';
import { cliFileReader } from '../../functions/adapters/aws/cli-file';
import { parseConfig } from '../../functions/core/config';
import { detectJsonFormat } from '../../functions/core/formats/detect';
import { parseReport } from '../../functions/core/formats/index';
import { failuresOf } from '../../functions/core/ingest/failures';
import { computePatch, unwrapPatch, withPatchCheck } from '../../functions/core/patch/ingest';
import { lineCoverage } from '../../functions/core/patch/lines';
import { createIngestHandler, type IngestHandlerDeps } from '../../functions/ingest/handler';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
} from '../helpers/fakes';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-ci-parts-'));
  await mkdir(join(dir, 'reports', 'unit'), { recursive: true });
  await mkdir(join(dir, 'node_modules', 'x'), { recursive: true });
  for (const f of ['reports/a.xml', 'reports/unit/b.xml', 'reports/c.json', 'node_modules/x/d.xml'])
    await writeFile(join(dir, f), 'x');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the GitHub Action inputs', () => {
  it('turn into vigil report arguments and environment', async () => {
    const env = {
      INPUT_FILES: 'reports/**/*.xml\nmissing-*.xml  coverage/lcov.info',
      INPUT_ENDPOINT: 'https://vigil.example',
      INPUT_PROJECT: 'shop',
      INPUT_SUITE: 'unit',
      INPUT_BASE: '',
      INPUT_TOKEN: 'vigil-secret',
      INPUT_COMMENT: 'true',
      INPUT_STATUS: 'false',
      'INPUT_FAIL-ON-UNREACHABLE': 'false',
      'INPUT_GITHUB-TOKEN': 'ghs_x',
    };
    const r = await actionArgs(env, dir);
    expect(r.argv).toEqual([
      'reports/a.xml',
      'reports/unit/b.xml',
      'missing-*.xml',
      'coverage/lcov.info',
      '--endpoint',
      'https://vigil.example',
      '--project',
      'shop',
      '--suite',
      'unit',
      '--comment',
      '--allow-unreachable',
    ]);
    expect(r.env).toMatchObject({ VIGIL_TOKEN: 'vigil-secret', GITHUB_TOKEN: 'ghs_x' });
    const strict = await actionArgs(
      { INPUT_FILES: 'a.xml', 'INPUT_FAIL-ON-UNREACHABLE': 'true', INPUT_STATUS: 'yes' },
      dir,
    );
    expect(strict.argv).toEqual(['a.xml', '--status']);
    expect(strict.env.VIGIL_TOKEN).toBeUndefined();
    expect(input({ INPUT_MY_NAME: ' v ' }, 'my name')).toBe('v');
  });

  it('globs like a shell: * within a directory, ** across, ? one character', async () => {
    expect(globRegex('reports/**/*.xml').test('reports/a.xml')).toBe(true);
    expect(globRegex('reports/**/*.xml').test('reports/x/y/a.xml')).toBe(true);
    expect(globRegex('reports/*.xml').test('reports/x/a.xml')).toBe(false);
    expect(globRegex('a?.(x)').test('ab.(x)')).toBe(true);
    expect(globRegex('**').test('any/thing')).toBe(true);
    expect(await expandFiles('**/*.xml', dir)).toEqual(['reports/a.xml', 'reports/unit/b.xml']);
    expect(await expandFiles('reports/*.json', dir)).toEqual(['reports/c.json']);
    expect(await expandFiles('nowhere/*.xml', dir)).toEqual(['nowhere/*.xml']);
  });
});

describe('GET /v1/cli/vigil.mjs', () => {
  const deps = (cliFile?: () => Promise<string>): IngestHandlerDeps => ({
    config: parseConfig({}),
    publisher: new MemoryPublisher(),
    archive: new MemoryArchive(),
    ledger: new MemoryLedger(),
    clock: fixedClock(),
    tokens: { tokens: async () => ['t'] },
    version: '1',
    ...(cliFile ? { cliFile } : {}),
  });
  const get = (d: IngestHandlerDeps) =>
    createIngestHandler(d)(apiEvent({ method: 'GET', path: '/v1/cli/vigil.mjs' }));

  it('serves the file without a token, cacheable, as JavaScript', async () => {
    const res = await get(deps(async () => '#!/usr/bin/env node\nconsole.log(1)'));
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    });
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.body).toBe('#!/usr/bin/env node\nconsole.log(1)');
  });

  it('answers 503 with what to do when there is no file', async () => {
    for (const d of [deps(), deps(async () => Promise.reject(new Error('ENOENT')))]) {
      const res = await get(d);
      expect(res.statusCode).toBe(503);
      expect(JSON.parse(res.body ?? '{}').error.message).toContain(
        'build it with npm run build:cli',
      );
    }
  });

  it('on AWS reads the file beside the handler once, and again after a failure', async () => {
    const file = join(dir, 'vigil.mjs');
    const read = cliFileReader(pathToFileURL(file));
    await expect(read()).rejects.toThrow('ENOENT');
    await writeFile(file, 'one');
    expect(await read()).toBe('one');
    await writeFile(file, 'two');
    expect(await read()).toBe('one');
  });
});

describe('the single-file build', () => {
  it('refuses AWS SDK, Powertools and Sentry code', () => {
    expect(() =>
      checkInputs({ inputs: { 'cli/report.ts': { bytes: 1, imports: [] } }, outputs: {} }),
    ).not.toThrow();
    expect(() =>
      checkInputs({
        inputs: { 'node_modules/@aws-sdk/client-s3/dist-es/index.js': { bytes: 1, imports: [] } },
        outputs: {},
      }),
    ).toThrow('must not contain AWS SDK/Powertools/Sentry code, found: node_modules/@aws-sdk/');
  });
});

describe('failed and flaky tests in the ingest answer', () => {
  it('lists them, bounded, with how many were left out', () => {
    const cases = Array.from({ length: 7 }, (_, i) => ({
      suite: 's',
      classname: 'c',
      name: `t${i}`,
      status: i < 4 ? ('failed' as const) : ('passed' as const),
      flaky: i >= 4,
      durationMs: 1,
      retries: 0,
      ...(i === 0 ? { message: 'boom', file: 'a.ts' } : {}),
    }));
    const report = {
      kind: 'tests' as const,
      format: 'junit' as const,
      summary: { total: 7, passed: 3, failed: 4, skipped: 0, flaky: 3, durationMs: 7 },
      cases,
      warnings: [],
    };
    expect(failuresOf(report, [], new Date(), 3)).toEqual({
      failed: [
        { suite: 's', classname: 'c', name: 't0', message: 'boom', file: 'a.ts' },
        { suite: 's', classname: 'c', name: 't1' },
        { suite: 's', classname: 'c', name: 't2' },
      ],
      moreFailed: 1,
      flaky: [
        { suite: 's', classname: 'c', name: 't4' },
        { suite: 's', classname: 'c', name: 't5' },
        { suite: 's', classname: 'c', name: 't6' },
      ],
      moreFlaky: 0,
    });
    expect(
      failuresOf({
        kind: 'load',
        format: 'k6',
        summary: { requests: 0, failedRequests: 0, errorRate: 0, latencyMs: {}, thresholds: [] },
        warnings: [],
      }),
    ).toBeUndefined();
  });
});

describe('quarantined failures in the ingest answer', () => {
  it('marks a failure under a quarantine in force, and not one whose quarantine expired', () => {
    const failed = (name: string) => ({
      suite: 'api',
      classname: 'Checkout',
      name,
      status: 'failed' as const,
      flaky: false,
      durationMs: 1,
      retries: 0,
    });
    const report = {
      kind: 'tests' as const,
      format: 'junit' as const,
      summary: { total: 3, passed: 0, failed: 3, skipped: 0, flaky: 0, durationMs: 3 },
      cases: [failed('pays'), failed('refunds'), failed('ships')],
      warnings: [],
    };
    const quarantine = [
      { test: 'api > Checkout > pay*', owner: 'ana', reason: '#412', expires: '2026-12-01' },
      { test: '*refunds', owner: 'cy', reason: '#9', expires: '2026-11-24' },
    ];
    const { failed: listed } =
      failuresOf(report, quarantine, new Date('2026-12-01T23:00:00Z')) ?? {};
    expect(listed?.map((t) => [t.name, t.quarantined])).toEqual([
      ['pays', { owner: 'ana', expires: '2026-12-01' }],
      ['refunds', undefined],
      ['ships', undefined],
    ]);
    // The day after its last day, the first one is counted again: no mark.
    const later = failuresOf(report, quarantine, new Date('2026-12-02T00:00:00Z'));
    expect(later?.failed.every((t) => t.quarantined === undefined)).toBe(true);
  });
});

describe('Istanbul coverage-final.json', () => {
  const doc = {
    '/r/src/a.ts': {
      path: '/r/src/a.ts',
      statementMap: {
        0: { start: { line: 1, column: 0 }, end: { line: 1, column: 9 } },
        1: { start: { line: 2, column: 0 }, end: { line: 2, column: 9 } },
        2: { start: { line: 2, column: 10 }, end: { line: 2, column: 19 } },
        3: { start: { line: 4, column: 0 }, end: { line: 4, column: 9 } },
      },
      s: { 0: 1, 1: 0, 2: 3, 3: 0 },
      fnMap: { 0: {}, 1: {} },
      f: { 0: 2, 1: 0 },
      branchMap: { 0: {} },
      b: { 0: [1, 0, 0] },
    },
  };

  it('is detected and counted: statements, lines, functions, branches', () => {
    expect(detectJsonFormat(doc)).toBe('istanbul');
    const r = parseReport(JSON.stringify(doc));
    expect(r).toMatchObject({
      kind: 'coverage',
      format: 'istanbul',
      dialect: 'coverage-final',
      summary: {
        statements: { covered: 2, total: 4, pct: 50 },
        lines: { covered: 2, total: 3, pct: 66.66 },
        functions: { covered: 1, total: 2, pct: 50 },
        branches: { covered: 1, total: 3, pct: 33.33 },
      },
    });
  });

  it('rejects an entry without statements, naming it', () => {
    expect(() =>
      parseReport(JSON.stringify({ ...doc, 'b.ts': { statementMap: {} } }), 'istanbul'),
    ).toThrow('Invalid Istanbul coverage-final.json: "b.ts" has no statementMap and s.');
  });
});

describe('patch coverage steps of the ingest', () => {
  const changed = { files: [{ path: 'a.ts', lines: [[1, 2]] as [number, number][] }] };
  const gate = { status: 'pass' as const, checks: [] };

  it('ignores changed lines sent with a test report, and says so', () => {
    const report = parseReport('<testsuite name="s" tests="1"><testcase name="t"/></testsuite>');
    const unwrapped = { text: '', changed, warnings: [] as string[] };
    expect(computePatch(report, '', unwrapped)).toEqual({});
    expect(unwrapped.warnings).toEqual([
      'Changed lines ignored: patch coverage needs a coverage report, not tests.',
    ]);
    expect(withPatchCheck(gate, report, {}, 80)).toBe(gate);
  });

  it('explains that coverage-summary.json has no line data, and the gate says why', () => {
    const text = JSON.stringify({
      total: {
        lines: { total: 2, covered: 1 },
        branches: { total: 0, covered: 0 },
        functions: { total: 0, covered: 0 },
      },
    });
    const report = parseReport(text);
    const unwrapped = { text, changed, warnings: [] as string[] };
    const result = computePatch(report, text, unwrapped);
    expect(unwrapped.warnings[0]).toContain(
      'has no per-line data (Istanbul coverage-summary.json)',
    );
    const g = withPatchCheck(gate, report, result, 80);
    expect(g.checks[0]).toMatchObject({ id: 'coverage.patch', status: 'skip', threshold: 80 });
    expect(g.checks[0]?.message).toContain('coverage-summary.json');
    expect(withPatchCheck(gate, report, result, undefined)).toBe(gate);
  });

  it('passes and fails against the minimum; no coverable line is a skip', () => {
    const report = parseReport('SF:a.ts\nDA:1,1\nDA:2,0\nend_of_record\n');
    const unwrapped = unwrapPatch({ patch: '1' }, JSON.stringify({ report: 'x', patch: changed }));
    expect(unwrapped).toEqual({ text: 'x', changed, warnings: [] });
    expect(unwrapPatch({}, 'raw')).toEqual({ text: 'raw', warnings: [] });
    const result = computePatch(report, 'SF:a.ts\nDA:1,1\nDA:2,0\nend_of_record\n', unwrapped);
    expect(result.patch).toMatchObject({ coverable: 2, covered: 1, pct: 50 });
    expect(withPatchCheck(gate, report, result, 50).status).toBe('pass');
    expect(withPatchCheck(gate, report, result, 51).status).toBe('fail');
    const none = { patch: { coverable: 0, covered: 0, pct: null, files: [] } };
    expect(withPatchCheck(gate, report, none, 50).checks[0]?.status).toBe('skip');
  });

  it('reads Cobertura without <source> and LCOV zero counts', () => {
    const xml =
      '<coverage><packages><package><classes><class filename="a.ts"><lines><line number="1" hits="0"/><line number="x" hits="1"/></lines></class></classes></package></packages></coverage>';
    expect(lineCoverage(xml, 'cobertura')).toEqual(new Map([['a.ts', new Map([[1, false]])]]));
    expect(
      lineCoverage('SF:b.ts\nDA:3,000\nDA:3,2\nDA:0,1\nend_of_record\nDA:4,1\n', 'lcov'),
    ).toEqual(new Map([['b.ts', new Map([[3, true]])]]));
  });

  it('prefixes relative Cobertura paths with the first <source>, never absolute ones', () => {
    const xml =
      '<coverage><sources><source>/repo/src/</source></sources><packages><package><classes>' +
      '<class filename="a.ts"><lines><line number="1" hits="1"/></lines></class>' +
      '<class filename="/abs/b.ts"><lines><line number="2" hits="0"/></lines></class>' +
      '<class filename="C:/win/c.ts"><lines><line number="3" hits="1"/></lines></class>' +
      '</classes></package></packages></coverage>';
    expect([...(lineCoverage(xml, 'cobertura')?.keys() ?? [])]).toEqual([
      '/repo/src/a.ts',
      '/abs/b.ts',
      'C:/win/c.ts',
    ]);
  });

  it('reads Istanbul coverage-final.json by path, or by key without one, skipping non-objects', () => {
    const entry = { statementMap: { 0: { start: { line: 4 } } }, s: { 0: 1 } };
    const doc = { '/repo/a.ts': { ...entry, path: '/repo/a.ts' }, 'b.ts': entry, junk: 7 };
    expect(lineCoverage(JSON.stringify(doc), 'istanbul')).toEqual(
      new Map([
        ['/repo/a.ts', new Map([[4, true]])],
        ['b.ts', new Map([[4, true]])],
      ]),
    );
  });
});
