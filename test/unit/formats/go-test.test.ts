import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ParsedTests, parseReport } from '../../../functions/core/formats';
import { parseGoTest } from '../../../functions/core/formats/go-test';

const FIXTURES = join(__dirname, '../../fixtures');
const read = (rel: string): string => readFileSync(join(FIXTURES, rel), 'utf8');

const jsonl = (...events: Record<string, unknown>[]) =>
  events.map((e) => JSON.stringify(e)).join('\n');

/** `go test -json ./...`: three packages run in parallel, each for 50 s. */
const parallel = (withTime: boolean) => {
  const t0 = Date.parse('2026-12-03T10:00:00Z');
  const at = (s: number) => (withTime ? { Time: new Date(t0 + s * 1000).toISOString() } : {});
  const pkgs = ['a', 'b', 'c'];
  return jsonl(
    ...pkgs.map((p, i) => ({ ...at(0.1 * i), Action: 'start', Package: `ex/${p}` })),
    ...pkgs.map((p, i) => ({ ...at(0.2 + 0.1 * i), Action: 'run', Package: `ex/${p}`, Test: 'T' })),
    ...pkgs.map((p, i) => ({
      ...at(49.9 + 0.05 * i),
      Action: 'pass',
      Package: `ex/${p}`,
      Test: 'T',
      Elapsed: 49.5,
    })),
    ...pkgs.map((p, i) => ({
      ...at(50 + 0.1 * i),
      Action: 'pass',
      Package: `ex/${p}`,
      Elapsed: 50,
    })),
  );
};

describe('go test -json duration: wall time, not a sum of parallel packages', () => {
  it('reads three parallel 50 s packages as the ~50 s the run took (within a 120 s budget)', () => {
    // Act
    const parsed = parseGoTest(parallel(true));

    // Assess
    expect(parsed.summary).toMatchObject({ total: 3, passed: 3 });
    expect(parsed.summary.durationMs).toBe(50_200);
    expect(parsed.durationSource).toBe('event time span');
  });

  it('extends the span back to a package start that has no event (Elapsed before its end)', () => {
    // Prepare: only the end events, the binary ran 2 s before its first output.
    const text = jsonl(
      { Time: '2026-12-03T10:00:01.5+01:00', Action: 'pass', Package: 'p', Test: 'T', Elapsed: 1 },
      { Time: '2026-12-03T10:00:02.000000001+01:00', Action: 'pass', Package: 'p', Elapsed: 2 },
    );

    // Act
    const parsed = parseGoTest(text);

    // Assess
    expect(parsed.summary.durationMs).toBe(2000);
    expect(parsed.durationSource).toBe('event time span');
  });

  it('keeps the sum of package times when the events carry no Time, and says so', () => {
    // Act
    const parsed = parseGoTest(parallel(false));

    // Assess
    expect(parsed.summary.durationMs).toBe(150_000);
    expect(parsed.durationSource).toBe('sum of package times');
  });

  it('falls back to the tests when neither Time nor package Elapsed is there', () => {
    // Act
    const parsed = parseGoTest(
      jsonl(
        { Time: 'soon', Action: 'pass', Package: 'p', Test: 'A', Elapsed: 0.25 },
        { Action: 'pass', Package: 'p', Test: 'B', Elapsed: 0.5 },
      ),
    );

    // Assess
    expect(parsed.summary.durationMs).toBe(750);
    expect(parsed.durationSource).toBe('sum of test case times');
  });

  it('reads the real gotestsum --rerun-fails output as its wall time, not 0.17 s of Elapsed', () => {
    // Prepare: the console's last line says "DONE 3 runs ... in 9.429s", compile time included.
    const done = [...read('real/go/console-gotestsum.txt').matchAll(/DONE .* in ([\d.]+)s/g)];
    const consoleMs = Number(done.at(-1)?.[1]) * 1000;

    // Act
    const parsed = parseGoTest(read('real/go/gotestsum.jsonl'));

    // Assess: first package start (16:25:44.0668) to the last event (16:25:51.7784).
    expect(consoleMs).toBe(9429);
    expect(parsed.summary.durationMs).toBe(7712);
    expect(parsed.durationSource).toBe('event time span');
  });

  it('reads the real go test -json output as the package run time', () => {
    // Act
    const parsed = parseGoTest(read('real/go/go-test.jsonl'));

    // Assess: one package, Elapsed 0.091 s, its events span 0.064 s of it.
    expect(parsed.summary.durationMs).toBe(91);
    expect(parsed.durationSource).toBe('event time span');
  });
});

describe('go test -json: -count runs and reruns', () => {
  const run = (...actions: string[]) =>
    actions.map((Action) =>
      Action === 'pkg-fail' || Action === 'pkg-pass'
        ? { Action: Action.slice(4), Package: 'p', Elapsed: 0.01 }
        : { Action, Package: 'p', Test: 'TestFlaky', Elapsed: 0 },
    );

  it('reads -count=2 (one end of the package) as failed when a run failed, as go does', () => {
    const parsed = parseGoTest(jsonl(...run('fail', 'pass', 'pkg-fail')));
    expect(parsed.summary).toMatchObject({ total: 1, failed: 1, flaky: 0 });
    expect(parsed.warnings).toEqual([
      '1 test(s) ran more than once in one run of their package (go test -count): read as one test, failed if a run failed, as go fails the package',
    ]);
  });

  it('reads gotestsum --rerun-fails (the package ends again) as flaky when the rerun passed', () => {
    const parsed = parseGoTest(jsonl(...run('fail', 'pkg-fail', 'pass', 'pkg-pass')));
    expect(parsed.summary).toMatchObject({ total: 1, passed: 1, flaky: 1 });
  });

  it('leaves a failed test for a package whose last end failed although its tests passed', () => {
    const parsed = parseGoTest(jsonl(...run('fail', 'pkg-fail', 'pass', 'pkg-fail')));
    expect(parsed.summary).toMatchObject({ total: 2, passed: 1, failed: 1, flaky: 1 });
    expect(parsed.cases[1]).toMatchObject({ name: '(package)', status: 'failed' });
  });

  it('detects output that is only a build failure line (before Go 1.24) and fails the package', () => {
    const parsed = parseReport('FAIL\tex/broken [build failed]\n') as ParsedTests;
    expect(parsed.format).toBe('go-test');
    expect(parsed.cases).toEqual([
      expect.objectContaining({ suite: 'ex/broken', name: '(package)', status: 'failed' }),
    ]);
    expect(parsed.cases[0]?.message).toBe('ex/broken [build failed]');
  });
});
