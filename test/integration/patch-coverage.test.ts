import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitIn } from '../../cli/git';
import { changedLines, parseUnifiedDiff } from '../../cli/patch';
import { fitPatch, runReport } from '../../cli/report';
import { parseConfig } from '../../functions/core/config';
import { parseGoCover } from '../../functions/core/formats/go-cover';
import { computePatch } from '../../functions/core/patch/ingest';
import { lineCoverage, MAX_GO_COVER_LINES } from '../../functions/core/patch/lines';
import { patchCoverage, readEnvelope } from '../../functions/core/patch/patch';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { requireTools } from '../helpers/requires';

/**
 * Patch coverage on a real git repository made here, against numbers computed by hand:
 *
 * base (main): src/a.ts lines 1-10, src/old.ts, src/gone.ts, logo.bin (binary).
 * feature: src/a.ts line 3 changed and lines 11-14 added (12 blank, 14 a comment);
 * src/old.ts renamed to src/new.ts with line 2 changed; src/gone.ts deleted; logo.bin changed.
 * Changed lines: src/a.ts 3, 11-14; src/new.ts 2.
 *
 * Coverage (LCOV, absolute paths from another machine): src/a.ts DA 1,2,3=0,5,11=1,13=0;
 * src/new.ts DA 2=1. Coverable changed lines: a.ts 3, 11, 13 and new.ts 2 = 4; covered:
 * a.ts 11 and new.ts 2 = 2 → 50%; uncovered: a.ts 3 and 13.
 */

const ok = requireTools('patch coverage on a git repository', [
  { command: 'git', install: 'apt-get install -y git' },
]);

const TOKEN = 'patch-token';
let root: string;
let repo: string;
let pipeline: LocalPipeline;

const sh = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: root,
    },
  });

const lines = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i + 1};`).join('\n');

const LCOV = `TN:
SF:/home/runner/work/shop/shop/src/a.ts
DA:1,1
DA:2,1
DA:3,0
DA:5,4
DA:11,1
DA:13,0
end_of_record
SF:/home/runner/work/shop/shop/src/new.ts
DA:2,3
end_of_record
`;

beforeAll(async () => {
  if (!ok) return;
  root = await mkdtemp(join(tmpdir(), 'vigil-patch-'));
  repo = join(root, 'repo');
  execFileSync('mkdir', ['-p', join(repo, 'src')]);
  sh(repo, 'init', '-q', '-b', 'main');
  await writeFile(join(repo, 'src/a.ts'), `${lines(10, 'const a')}\n`);
  await writeFile(join(repo, 'src/old.ts'), `${lines(12, 'let old')}\n`);
  await writeFile(join(repo, 'src/gone.ts'), `${lines(3, 'gone')}\n`);
  await writeFile(join(repo, 'logo.bin'), Buffer.from([0, 1, 2, 0, 255]));
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'base');
  sh(repo, 'checkout', '-q', '-b', 'feature');
  const a = lines(10, 'const a').split('\n');
  a[2] = 'const a 3 changed;';
  await writeFile(
    join(repo, 'src/a.ts'),
    `${[...a, 'export const b = 1;', '', 'export const c = 2;', '// the end'].join('\n')}\n`,
  );
  sh(repo, 'mv', 'src/old.ts', 'src/new.ts');
  const old = lines(12, 'let old').split('\n');
  old[1] = 'let old 2 changed;';
  await writeFile(join(repo, 'src/new.ts'), `${old.join('\n')}\n`);
  sh(repo, 'rm', '-q', 'src/gone.ts');
  await writeFile(join(repo, 'logo.bin'), Buffer.from([0, 9, 9, 0, 255]));
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'feature');
  await writeFile(join(root, 'lcov.info'), LCOV);
  pipeline = await startLocal({
    config: parseConfig({ project: 'shop', gates: { minCoverage: 0, minPatchCoverage: 60 } }),
    dataDir: join(root, 'data'),
    port: 0,
    tokens: [TOKEN],
    probes: false,
  });
}, 60_000);

afterAll(async () => {
  await pipeline?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const report = async (cwd: string, args: string[]) => {
  let stdout = '';
  let stderr = '';
  const code = await runReport(
    [join(root, 'lcov.info'), '--endpoint', pipeline.url, '--project', 'shop', ...args],
    {
      env: { VIGIL_TOKEN: TOKEN, PATH: process.env.PATH },
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
      cwd,
    },
  );
  return { code, stdout, stderr };
};

describe.skipIf(!ok)('patch coverage on a real repository', () => {
  it('finds the changed lines: renames followed, deletions and binaries left out', async () => {
    const r = await changedLines(gitIn(repo), 'main');
    expect(r.ok && r.changed.files).toEqual([
      {
        path: 'src/a.ts',
        lines: [
          [3, 3],
          [11, 14],
        ],
      },
      { path: 'src/new.ts', lines: [[2, 2]] },
    ]);
  });

  it('sends them with the coverage report and gates on the hand-computed 50%', async () => {
    const r = await report(repo, ['--base', 'main', '--run-id', 'patch-1']);
    expect(r.stdout).toContain('patch coverage: 50% (2/4 changed lines)');
    expect(r.stdout).toContain('src/a.ts: not covered 3, 13');
    expect(r.stdout).toContain(
      '✖ coverage.patch: patch coverage 50% is below the minimum of 60% (2/4 changed lines)',
    );
    expect(r.stdout).toContain(
      "⚠ Patch coverage: coverage paths were matched to repository paths by their common ending (e.g. '/home/runner/work/shop/shop/src/a.ts' → 'src/a.ts')",
    );
    expect(r.stdout).toContain('branch feature');
    expect(r.code).toBe(1);
  });

  it('warns about a shallow clone without the merge base, and still ingests the report', async () => {
    const shallow = join(root, 'shallow');
    sh(root, 'clone', '-q', '--depth', '1', '--branch', 'feature', `file://${repo}`, shallow);
    sh(shallow, 'fetch', '-q', '--depth', '1', 'origin', 'main:refs/remotes/origin/main');
    const r = await report(shallow, ['--base', 'main', '--run-id', 'patch-2']);
    expect(r.stderr).toContain(
      "⚠ patch coverage: the merge base with 'origin/main' is not in this shallow clone: fetch more history",
    );
    expect(r.stdout).toContain(
      'coverage.patch: Patch coverage not checked: no changed lines were sent.',
    );
    expect(r.stdout).toContain('✔ ');
    expect(r.code).toBe(0);
  });

  it('warns about an unknown base branch', async () => {
    const r = await report(repo, ['--base', 'no-such-branch', '--run-id', 'patch-3']);
    expect(r.stderr).toContain(
      "⚠ patch coverage: unknown base branch 'no-such-branch': fetch it first (git fetch origin no-such-branch)",
    );
    expect(r.code).toBe(0);
  });

  it('outside a checkout, an explicit --base gets a warning', async () => {
    const r = await report(root, ['--base', 'main', '--run-id', 'patch-4']);
    expect(r.stderr).toContain('⚠ patch coverage: git cannot read the repository here');
    expect(r.code).toBe(0);
  });
});

describe('changed lines against the line formats', () => {
  const changed = {
    files: [
      {
        path: 'src/a.ts',
        lines: [
          [3, 3],
          [11, 14],
        ] as [number, number][],
      },
      { path: 'src/new.ts', lines: [[2, 2]] as [number, number][] },
    ],
  };
  const expected = {
    coverable: 4,
    covered: 2,
    pct: 50,
    files: [
      { path: 'src/a.ts', uncovered: [3, 13] },
      { path: 'src/new.ts', uncovered: [] },
    ],
  };

  it('Cobertura, with class paths under <source>', () => {
    const xml = `<?xml version="1.0"?><coverage><sources><source>/ci/shop/</source></sources>
<packages><package><classes>
<class filename="src/a.ts"><lines><line number="3" hits="0"/><line number="11" hits="2"/><line number="13" hits="0"/><line number="1" hits="1"/></lines></class>
<class filename="src/new.ts"><lines><line number="2" hits="1"/></lines></class>
</classes></package></packages></coverage>`;
    const cov = lineCoverage(xml, 'cobertura');
    const warnings: string[] = [];
    expect(cov && patchCoverage(cov, changed, warnings)).toEqual(expected);
    expect(warnings[0]).toContain("'/ci/shop/src/a.ts' → 'src/a.ts'");
  });

  it("Clover XML: PHPUnit's absolute file names, statement and condition lines (not method lines), not the tests' <testproject>", () => {
    const xml = `<?xml version="1.0"?><coverage generated="1"><project timestamp="1">
<package name="shop"><file name="/ci/shop/src/a.ts">
<line num="3" type="method" name="f" count="1"/><line num="3" type="stmt" count="0"/>
<line num="11" type="cond" count="2" truecount="1" falsecount="1"/><line num="12" type="method" name="g" count="0"/><line num="13" type="stmt" count="0"/><line num="1" type="stmt" count="1"/>
</file></package>
<file name="new.ts" path="/ci/shop/src/new.ts"><line num="2" type="stmt" count="1"/></file>
<metrics statements="5" coveredstatements="3"/></project>
<testproject timestamp="1"><file name="/ci/shop/src/a.ts"><line num="14" type="stmt" count="1"/></file></testproject></coverage>`;
    const cov = lineCoverage(xml, 'clover');
    const warnings: string[] = [];
    expect(cov && patchCoverage(cov, changed, warnings)).toEqual(expected);
    expect(warnings[0]).toContain("'/ci/shop/src/a.ts' → 'src/a.ts'");
  });

  it('Clover XML written by PHPUnit and by Vitest: the lines of the real reports', () => {
    const read = (path: string) =>
      lineCoverage(
        readFileSync(new URL(`../fixtures/real/${path}`, import.meta.url), 'utf8'),
        'clover',
      );
    // PHPUnit (Calc.php): its text report counts 9 lines, 4 run; the one-line method `add` on
    // line 3 is written as its method line only, so it is not coverable here (8 lines, 3 run).
    expect(read('phpunit/functions/clover.xml')).toEqual(
      new Map([
        [
          '/tmp/fx/php/src/Calc.php',
          new Map([
            [5, true],
            [6, false],
            [8, true],
            [9, true],
            [11, false],
            [14, false],
            [15, false],
            [19, false],
          ]),
        ],
      ]),
    );
    // Vitest's text report of the same run: calc.js Lines 60, uncovered 5-8.
    const [calc] = [...(read('vitest/coverage-clover/clover.xml')?.values() ?? [])];
    const lines = [...(calc ?? [])];
    expect(lines.filter(([, hit]) => hit).length / lines.length).toBe(0.6);
    expect(lines.filter(([, hit]) => !hit).map(([n]) => n)).toEqual([5, 8]);
  });

  it('JaCoCo XML: package paths matched to the source folders by their ending, a line covered when an instruction ran', () => {
    const xml = `<?xml version="1.0"?><report name="shop">
<package name="com/shop"><class name="com/shop/Cart" sourcefilename="Cart.kt"><method name="add" desc="()V" line="3"/></class>
<sourcefile name="Cart.kt"><line nr="3" mi="0" ci="2" mb="0" cb="0"/><line nr="10" mi="3" ci="0" mb="0" cb="0"/><line nr="11" mi="1" ci="1" mb="1" cb="1"/></sourcefile></package>
<package><sourcefile name="Main.kt"><line nr="1" mi="0" ci="4" mb="0" cb="0"/></sourcefile></package>
<counter type="LINE" missed="1" covered="3"/></report>`;
    const cov = lineCoverage(xml, 'jacoco');
    const cart = {
      path: 'app/src/main/kotlin/com/shop/Cart.kt',
      lines: [
        [3, 3],
        [10, 12],
      ] as [number, number][],
    };
    const main = { path: 'app/src/main/kotlin/Main.kt', lines: [[1, 1]] as [number, number][] };
    const warnings: string[] = [];
    // From the repository root or a module's folder alike: JaCoCo names no source folder.
    for (const prefix of ['', 'app/'])
      expect(cov && patchCoverage(cov, { prefix, files: [cart, main] }, warnings)).toEqual({
        coverable: 4,
        covered: 3,
        pct: 75,
        files: [
          { path: cart.path, uncovered: [10] },
          { path: main.path, uncovered: [] },
        ],
      });
    expect(warnings).toEqual([]);
    // The same class in two modules' changes: the report's file matches both, so neither counts.
    const other = { ...cart, path: 'web/src/main/kotlin/com/shop/Cart.kt' };
    expect(
      cov && patchCoverage(cov, { prefix: '', files: [cart, other] }, warnings).coverable,
    ).toBe(0);
    expect(warnings[0]).toContain(
      "'com/shop/Cart.kt' ('app/src/main/kotlin/com/shop/Cart.kt', 'web/src/main/kotlin/com/shop/Cart.kt')",
    );
  });

  it('JaCoCo XML of a real Gradle build: its lines agree with its own LINE counter', () => {
    const xml = readFileSync(
      new URL('../fixtures/corpus/jacoco/madrapps-multi-module-math.xml', import.meta.url),
      'utf8',
    );
    const lines = lineCoverage(xml, 'jacoco')?.get('com/madrapps/math/Math.kt');
    // <counter covered="5" missed="2" type="LINE"/>: lines 22 and 26 (modulo, power) never ran.
    expect([...(lines ?? [])].filter(([, hit]) => hit)).toHaveLength(5);
    expect([...(lines ?? [])].filter(([, hit]) => !hit).map(([n]) => n)).toEqual([22, 26]);
  });

  it('Go cover profile of a real `go test -coverprofile`: the lines of its blocks, by their import path', () => {
    const profile = readFileSync(new URL('../fixtures/real/go/cover.out', import.meta.url), 'utf8');
    const cov = lineCoverage(profile, 'go-cover');
    // go tool cover -func: Add and Grade 100%, Join and Unused 0% (calc.go, lines 5, 7-14, 17, 19).
    expect([...(cov?.get('example.com/calc/calc.go') ?? [])].sort(([a], [b]) => a - b)).toEqual([
      [5, true],
      [7, true],
      [8, true],
      [9, true],
      [10, true],
      [11, true],
      [12, true],
      [13, true],
      [14, true],
      [17, false],
      [19, false],
    ]);
    // The repository path is the import path's ending: the module at the repository's root, or
    // in a folder named as its path ends (example.com/calc in calc/).
    const warnings: string[] = [];
    for (const path of ['calc.go', 'calc/calc.go'])
      expect(
        cov && patchCoverage(cov, { prefix: '', files: [{ path, lines: [[8, 19]] }] }, warnings),
      ).toEqual({ coverable: 9, covered: 7, pct: 77.78, files: [{ path, uncovered: [17, 19] }] });
    expect(warnings).toEqual([]);
  });

  it('Go cover profile: a hostile one whose blocks span too many lines gives up patch coverage, not the report', () => {
    const hostile = `mode: set\nexample.com/x/a.go:1.1,${MAX_GO_COVER_LINES}.1 1 1\nexample.com/x/a.go:1.1,2.1 1 1\n`;
    const why = `the Go cover profile's blocks span more than ${MAX_GO_COVER_LINES} lines, more than patch coverage reads`;
    expect(() => lineCoverage(hostile, 'go-cover')).toThrow(why);
    // At ingest: the report is read, its patch coverage skipped with the reason.
    const warnings: string[] = [];
    const changed = { files: [{ path: 'a.go', lines: [[1, 1]] as [number, number][] }] };
    expect(
      computePatch(parseGoCover(hostile), hostile, { text: hostile, changed, warnings }),
    ).toEqual({ why });
    expect(warnings).toEqual([`Patch coverage not computed: ${why}.`]);
    // A block that ends before it starts spans nothing, and gives no budget back for another.
    expect(lineCoverage('mode: set\nexample.com/x/a.go:9.1,3.1 1 1\n', 'go-cover')?.size).toBe(0);
    const backwards = `mode: set\nexample.com/x/a.go:${MAX_GO_COVER_LINES}.1,1.1 1 1\nexample.com/x/a.go:1.1,${MAX_GO_COVER_LINES + 1}.1 1 1\n`;
    expect(() => lineCoverage(backwards, 'go-cover')).toThrow(why);
  });

  it('Istanbul coverage-final.json: a line is covered when a statement starting on it ran', () => {
    const file = (path: string, s: Record<string, [number, number]>) => ({
      path,
      statementMap: Object.fromEntries(
        Object.keys(s).map((k) => [k, { start: { line: s[k]?.[0] }, end: { line: s[k]?.[0] } }]),
      ),
      s: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v[1]])),
      fnMap: {},
      f: {},
      branchMap: {},
      b: {},
    });
    const doc = {
      'src/a.ts': file('src/a.ts', { 0: [3, 0], 1: [11, 0], 2: [11, 5], 3: [13, 0] }),
      'src/new.ts': file('src/new.ts', { 0: [2, 1] }),
    };
    const cov = lineCoverage(JSON.stringify(doc), 'istanbul');
    const warnings: string[] = [];
    expect(cov && patchCoverage(cov, changed, warnings)).toEqual(expected);
    expect(warnings).toEqual([]);
    expect(lineCoverage('{"total":{}}', 'istanbul')).toBeUndefined();
    expect(lineCoverage('{}', 'k6')).toBeUndefined();
  });

  it('says when no changed file is in the report', () => {
    const warnings: string[] = [];
    const cov = lineCoverage('SF:lib/x.ts\nDA:1,1\nend_of_record\n', 'lcov');
    expect(cov && patchCoverage(cov, changed, warnings)).toEqual({
      coverable: 0,
      covered: 0,
      pct: null,
      files: [],
    });
    expect(warnings[0]).toContain(
      "none of the 2 changed code files is in the coverage report (e.g. 'src/a.ts')",
    );
  });
});

describe('bad diffs and envelopes', () => {
  it('reads renames, quoted names, deletions and binaries; rejects garbage', () => {
    const diff = [
      'diff --git a/x b/y',
      'similarity index 90%',
      'rename from x',
      'rename to y',
      '--- a/x',
      '+++ b/y',
      '@@ -2 +2 @@',
      '-a',
      '+b',
      'diff --git "a/q\\"t" "b/q\\"t"',
      '--- "a/q\\"t"',
      '+++ "b/q\\"t"\t',
      '@@ -0,0 +1,2 @@',
      '+1',
      '+2',
      'diff --git a/d b/d',
      'deleted file mode 100644',
      '--- a/d',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-x',
      'diff --git a/bin b/bin',
      'Binary files a/bin and b/bin differ',
      'diff --git a/e b/e',
      '--- a/e',
      '+++ b/e',
      '@@ -3,2 +2,0 @@',
      '-gone',
      '-gone',
    ].join('\n');
    expect(parseUnifiedDiff(diff)).toEqual({
      files: [
        { path: 'y', lines: [[2, 2]] },
        { path: 'q"t', lines: [[1, 2]] },
      ],
    });
    expect(parseUnifiedDiff('--- a/x\n+++ c/x\n').problem).toBe(
      'unexpected file header at diff line 2',
    );
    expect(parseUnifiedDiff('+++ b/x\n@@ nonsense @@\n').problem).toBe(
      'malformed hunk header at diff line 2',
    );
    expect(parseUnifiedDiff('+++ b/x\n@@ -1 +1 @@\n+a\nwhat is this\n').problem).toBe(
      'unexpected line at diff line 4',
    );
  });

  it('a bad envelope is a 400, a bad patch only a warning', () => {
    expect(() => readEnvelope('nope')).toThrow('With ?patch=1 the body must be JSON');
    expect(() => readEnvelope('{"report":1}')).toThrow('and nothing else');
    expect(
      readEnvelope('{"report":"SF:a","patch":{"files":[{"path":"a","lines":[[0,1]]}]}}'),
    ).toEqual({
      report: 'SF:a',
      warning: expect.stringContaining('the changed lines are invalid at patch.files.0.lines.0.0'),
      why: expect.stringContaining('the changed lines are invalid at patch.files.0.lines.0.0'),
    });
  });
});

/**
 * What goes wrong around the diff, each on a repository of its own made here: hostile diff
 * configuration, git refusing the repository, huge files and huge diffs, prefixes, formats
 * without per-line data, and an envelope over the body limit.
 */
describe.skipIf(!ok)('patch coverage when git or the report gets in the way', () => {
  let dir: string;
  /** main: src/a.ts (10 lines); feature: line 3 changed, lines 11-12 added. */
  const makeRepo = async (name: string): Promise<string> => {
    const r = join(dir, name);
    execFileSync('mkdir', ['-p', join(r, 'src')]);
    sh(r, 'init', '-q', '-b', 'main');
    await writeFile(join(r, 'src/a.ts'), `${lines(10, 'const a')}\n`);
    sh(r, 'add', '-A');
    sh(r, 'commit', '-q', '-m', 'base');
    sh(r, 'checkout', '-q', '-b', 'feature');
    const a = lines(10, 'const a').split('\n');
    a[2] = 'const a 3 changed;';
    await writeFile(join(r, 'src/a.ts'), `${[...a, 'const b = 1;', 'const c = 2;'].join('\n')}\n`);
    sh(r, 'add', '-A');
    sh(r, 'commit', '-q', '-m', 'feature');
    return r;
  };
  const A_LCOV = 'TN:\nSF:src/a.ts\nDA:3,1\nDA:11,0\nDA:12,1\nend_of_record\n';

  const run = async (
    cwd: string,
    file: string,
    args: string[],
    env: Record<string, string> = {},
    send?: typeof fetch,
  ): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const code = await runReport(
      [file, '--endpoint', pipeline.url, '--project', 'shop', '--suite', 'edge', ...args],
      {
        env: { VIGIL_TOKEN: TOKEN, PATH: process.env.PATH, HOME: root, ...env },
        stdout: (s) => {
          stdout += s;
        },
        stderr: (s) => {
          stderr += s;
        },
        cwd,
        ...(send ? { fetch: send } : {}),
      },
    );
    return { code, stdout, stderr };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-patch-edge-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the diff the same whatever diff.noprefix, mnemonicPrefix, relative or interHunkContext say', async () => {
    const r = await makeRepo('hostile');
    const home = join(dir, 'home');
    execFileSync('mkdir', ['-p', home]);
    await writeFile(
      join(home, '.gitconfig'),
      '[diff]\n\tnoprefix = true\n\tmnemonicPrefix = true\n\trelative = true\n\tinterHunkContext = 20\n',
    );
    const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
    for (const cwd of [r, join(r, 'src')]) {
      const got = await changedLines(gitIn(cwd, env), 'main');
      expect(got.ok && got.changed.files).toEqual([
        {
          path: 'src/a.ts',
          lines: [
            [3, 3],
            [11, 12],
          ],
        },
      ]);
    }
  });

  it('sends where it ran, relative to the repository root, as git prints it', async () => {
    const r = await makeRepo('prefix');
    const atRoot = await changedLines(gitIn(r), 'main');
    const inSrc = await changedLines(gitIn(join(r, 'src')), 'main');
    expect(atRoot.ok && atRoot.changed.prefix).toBe('');
    expect(inSrc.ok && inSrc.changed.prefix).toBe('src/');
    expect(inSrc.ok && inSrc.changed.files.map((f) => f.path)).toEqual(['src/a.ts']);
  });

  it('warns with git’s own words when git refuses the repository', async () => {
    const r = await makeRepo('refused');
    await writeFile(join(r, 'lcov.info'), A_LCOV);
    sh(r, 'config', 'core.repositoryformatversion', '99');
    const res = await run(r, join(r, 'lcov.info'), ['--base', 'main', '--branch', 'feature']);
    expect(res.stderr).toMatch(
      /⚠ patch coverage: git cannot read the repository here: fatal: .*repo version.*; no patch coverage/,
    );
    expect(res.code).toBe(0);
  });

  it('outside a checkout: git runs where the report is; else warns only for an explicit --base', async () => {
    const r = await makeRepo('elsewhere');
    await writeFile(join(r, 'lcov.info'), A_LCOV);
    // The CLI runs outside the repository, the report is inside it.
    const there = await run(dir, join(r, 'lcov.info'), ['--base', 'main', '--branch', 'feature']);
    expect(there.stdout).toContain('patch coverage: 66.67% (2/3 changed lines)');
    expect(there.stderr).not.toContain('patch coverage');
    // Neither the CLI nor the report in a repository.
    await writeFile(join(dir, 'lcov.info'), A_LCOV);
    const explicit = await run(dir, join(dir, 'lcov.info'), ['--base', 'main', '--branch', 'x']);
    expect(explicit.stderr).toContain(
      '⚠ patch coverage: git cannot read the repository here: fatal: not a git repository',
    );
    const fromCi = await run(dir, join(dir, 'lcov.info'), ['--branch', 'x'], {
      GITLAB_CI: 'true',
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
    });
    expect(fromCi.stderr).not.toContain('patch coverage');
  });

  it('leaves huge files out of the diff, and says so', async () => {
    const r = await makeRepo('huge');
    await writeFile(join(r, 'data.txt'), `${lines(60_000, 'row')}\n`);
    sh(r, 'add', '-A');
    sh(r, 'commit', '-q', '-m', 'data');
    await writeFile(join(r, 'lcov.info'), A_LCOV);
    const got = await changedLines(gitIn(join(r, 'src')), 'main');
    expect(got.ok && got.changed.files.map((f) => f.path)).toEqual(['src/a.ts']);
    expect(got.ok && got.note).toBe(
      'left out data.txt (over 50000 added lines: generated or data, not code)',
    );
    const res = await run(r, join(r, 'lcov.info'), ['--base', 'main', '--branch', 'feature']);
    expect(res.stderr).toContain('⚠ patch coverage: left out data.txt');
    expect(res.stdout).toContain('patch coverage: 66.67% (2/3 changed lines)');
  });

  it('over the file limit: sends only the changed files the report lists, else none', () => {
    const patch = {
      base: 'main',
      files: ['src/a.ts', 'gen/f1.txt', 'gen/f2.txt'].map((path) => ({ path, lines: [[1, 1]] })),
    };
    const max = (files: number) => ({ files, bytes: 1e6 });
    expect(fitPatch(patch, A_LCOV, max(3)).patch).toBe(patch);
    expect(fitPatch(patch, A_LCOV, max(2)).patch).toEqual({ ...patch, files: [patch.files[0]] });
    expect(fitPatch(patch, `${A_LCOV}SF:gen/f1.txt\nSF:gen/f2.txt\n`, max(2))).toEqual({
      warning: '3 changed files are in the report, more than the 2 Vigil reads; no patch coverage',
    });
  });

  it.each([
    [
      'SonarQube generic coverage',
      'coverage.xml',
      '<coverage version="1"><file path="src/a.ts"><lineToCover lineNumber="3" covered="true"/><lineToCover lineNumber="11" covered="false"/><lineToCover lineNumber="12" covered="true"/></file></coverage>',
    ],
    [
      'JaCoCo',
      'jacoco.xml',
      '<report name="shop"><package name="src"><sourcefile name="a.ts"><line nr="3" mi="0" ci="1"/><line nr="11" mi="2" ci="0"/><line nr="12" mi="0" ci="3"/></sourcefile></package><counter type="LINE" missed="1" covered="2"/></report>',
    ],
    [
      'Go cover',
      'cover.out',
      'mode: set\nexample.com/shop/src/a.ts:3.1,3.10 1 1\nexample.com/shop/src/a.ts:11.1,11.5 1 0\nexample.com/shop/src/a.ts:12.1,12.9 1 1\n',
    ],
    [
      'Clover',
      'clover.xml',
      '<coverage><project><file name="src/a.ts"><line num="3" type="stmt" count="1"/><line num="11" type="stmt" count="0"/><line num="12" type="cond" count="4"/></file><metrics statements="3" coveredstatements="2"/></project></coverage>',
    ],
  ])('sends the changed lines with a %s report', async (_format, name, report) => {
    const r = await makeRepo(name);
    await writeFile(join(r, name), report);
    const res = await run(r, join(r, name), ['--base', 'main', '--branch', 'feature']);
    expect(res.stdout).toContain('patch coverage: 66.67% (2/3 changed lines)');
  });

  it('names the coverage formats it cannot compute patch coverage for', async () => {
    const r = await makeRepo('gcovr');
    await writeFile(
      join(r, 'summary.json'),
      JSON.stringify({
        line_total: 3,
        line_covered: 2,
        branch_total: 0,
        branch_covered: 0,
        files: [],
      }),
    );
    const res = await run(r, join(r, 'summary.json'), ['--base', 'main', '--branch', 'feature']);
    expect(res.stderr).toContain(
      '⚠ patch coverage: gcovr reports are not read line by line by Vigil; no patch coverage (write it with gcovr --cobertura or --lcov instead)',
    );
  });

  it('sends the report again without its changed lines when the server refuses them as too large', async () => {
    // Prepare: a server whose limit is lower than the CLI's (a proxy in front of the pipeline).
    const r = await makeRepo('small-limit');
    await writeFile(join(r, 'lcov.info'), A_LCOV);
    const sent: string[] = [];
    const smallLimit: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      sent.push(url.searchParams.get('patch') ?? 'plain');
      if (url.searchParams.has('patch'))
        return new Response(
          JSON.stringify({ error: { code: 'payload_too_large', message: 'over 100 bytes' } }),
          { status: 413, headers: { 'content-type': 'application/json' } },
        );
      return fetch(input, init);
    };
    // Act
    const { code, stdout, stderr } = await run(
      r,
      join(r, 'lcov.info'),
      ['--base', 'main', '--branch', 'feature'],
      {},
      smallLimit,
    );
    // Assess: recorded, without patch coverage, and said so.
    expect(sent).toEqual(['1', 'plain']);
    expect(code).toBe(0);
    expect(stderr).toContain(
      'lcov.info: the server refused the report with its changed lines as too large (HTTP 413); sending it without them (no patch coverage)',
    );
    expect(stdout).toContain('lcov.info: lcov → coverage');
    expect(stdout).not.toContain('patch coverage:');
  });

  it('sends the report without its changed lines when only the wrapped body is over the limit', () => {
    const patch = { base: 'main', files: [{ path: 'src/a.ts', lines: [[1, 1]] }] };
    // JSON escapes each newline: 40 bytes of report are 48 wrapped, and more with the patch.
    const text = 'SF:a\n'.repeat(8);
    const wrapped = fitPatch(patch, text, { files: 10, bytes: 200 });
    expect(wrapped.patch).toBe(patch);
    expect(JSON.parse(String(wrapped.envelope))).toEqual({ report: text, patch });
    expect(fitPatch(patch, text, { files: 10, bytes: 60 })).toEqual({
      warning: expect.stringMatching(
        /^with the changed lines the body would be \d+ bytes, over the server's limit of 60; sending the report without them \(no patch coverage\)$/,
      ),
    });
    // A report over the limit by itself keeps its patch: the server's 413 says what is wrong.
    expect(fitPatch(patch, text, { files: 10, bytes: 20 }).patch).toBe(patch);
  });
});
