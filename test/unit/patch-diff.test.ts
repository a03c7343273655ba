import { describe, expect, it } from 'vitest';
import { type Git, type GitResult, gitIn } from '../../cli/git';
import { changedLines, type PatchOutcome, parseNumstat } from '../../cli/patch';

/**
 * The CLI's reading of git for patch coverage when git fails or a change is odd: a scripted git
 * (the real one is in test/integration/patch-coverage.test.ts).
 */

const ok = (stdout = ''): GitResult => ({ ok: true, stdout, stderr: '' });
const failed = (stderr: string, error?: string): GitResult => ({
  ok: false,
  stdout: '',
  stderr,
  ...(error ? { error } : {}),
});

/** A git that answers by the first argument after the `-c` options; `diff --numstat` apart. */
/** The warning of an outcome that is not ok. */
const warningOf = async (outcome: Promise<PatchOutcome>): Promise<string | undefined> => {
  const o = await outcome;
  return o.ok ? undefined : o.warning;
};

const scripted =
  (answers: {
    numstat?: GitResult;
    diff?: GitResult;
    prefix?: GitResult;
    inside?: GitResult;
    shallow?: boolean;
    base?: GitResult;
    mergeBase?: GitResult;
  }): Git =>
  async (args) => {
    const command = args.filter((a, i) => a !== '-c' && args[i - 1] !== '-c');
    if (command[0] === 'rev-parse') {
      if (command.includes('--is-inside-work-tree')) return answers.inside ?? ok('true\n');
      if (command.includes('--show-prefix')) return answers.prefix ?? ok('\n');
      if (command.includes('--is-shallow-repository')) return ok(`${answers.shallow ?? false}\n`);
      return answers.base ?? ok('abc\n');
    }
    if (command[0] === 'merge-base') return answers.mergeBase ?? ok('mb\n');
    if (command.includes('--numstat')) return answers.numstat ?? ok('1\t0\ta.ts\0');
    return answers.diff ?? ok('');
  };

describe('git diff --numstat -z', () => {
  it('reads renames (old and new paths as their own fields) and binaries (no count)', () => {
    expect(parseNumstat('3\t1\t\0old.ts\0new.ts\0-\t-\tlogo.png\x002\t0\ta.ts\0')).toEqual([
      { path: 'new.ts', added: 3 },
      { path: 'logo.png' },
      { path: 'a.ts', added: 2 },
    ]);
  });
});

describe('changed lines when git fails or a change is odd', () => {
  it('says why the numstat failed, from git itself when git printed nothing', async () => {
    const git = scripted({ numstat: failed('', 'its output is larger than 64 MiB') });
    expect(await changedLines(git, 'main')).toEqual({
      ok: false,
      warning: 'git diff --numstat failed: its output is larger than 64 MiB; no patch coverage',
    });
  });

  it('sends no lines when every changed file is binary or huge, and says what it left out', async () => {
    const git = scripted({
      numstat: ok('60000\t0\tdata.csv\x0070000\t0\tdump.sql\0-\t-\tlogo.png\0'),
      prefix: failed('fatal: odd'),
    });
    expect(await changedLines(git, 'main')).toEqual({
      ok: true,
      changed: { base: 'mb', files: [] },
      note: 'left out 2 files (over 50000 added lines: generated or data, not code)',
    });
  });

  it("says why the diff failed, and when git's diff cannot be read", async () => {
    const numstat = ok('1\t0\ta.ts\0');
    expect(
      await changedLines(scripted({ numstat, diff: failed('fatal: bad object mb\n') }), 'main'),
    ).toEqual({ ok: false, warning: 'git diff failed: fatal: bad object mb; no patch coverage' });
    expect(await changedLines(scripted({ numstat, diff: failed('') }), 'main')).toEqual({
      ok: false,
      warning: 'git diff failed: no reason given; no patch coverage',
    });
  });

  it('says why there is no base to diff against, shallow clone or not', async () => {
    const none = failed('');
    expect(await changedLines(scripted({ inside: ok('false\n') }), 'main')).toEqual({
      ok: false,
      notRepo: false,
      warning: 'not inside a git work tree; no patch coverage',
    });
    expect(await warningOf(changedLines(scripted({ base: none, shallow: true }), 'main'))).toBe(
      "unknown base branch 'main': fetch it first (git fetch origin main) in this shallow clone; no patch coverage",
    );
    expect(await warningOf(changedLines(scripted({ mergeBase: none }), 'main'))).toBe(
      "'origin/main' and HEAD have no common history; no patch coverage",
    );
    expect(
      await warningOf(changedLines(scripted({ mergeBase: none, shallow: true }), 'main')),
    ).toMatch(/^the merge base with 'origin\/main' is not in this shallow clone/);
  });

  it('sends no lines for binaries only, with its prefix, and refuses a diff it cannot read', async () => {
    expect(
      await changedLines(
        scripted({ numstat: ok('-\t-\tlogo.png\0'), prefix: ok('web/\n') }),
        'main',
      ),
    ).toEqual({ ok: true, changed: { base: 'mb', files: [], prefix: 'web/' } });
    const unreadable = ok('diff --git a/a.ts b/a.ts\n+++ b/a.ts\n@@ -1 +1 @@\n+x\nweird\n');
    expect(await warningOf(changedLines(scripted({ diff: unreadable }), 'main'))).toMatch(
      /^could not read git's diff \(/,
    );
  });

  it('names a git that is not on PATH', async () => {
    const r = await gitIn(process.cwd(), { PATH: '/nonexistent' })(['--version']);
    expect(r).toMatchObject({ ok: false, error: 'git is not installed (or not on PATH)' });
  });
});
