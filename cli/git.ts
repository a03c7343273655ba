import { type ExecFileException, execFile } from 'node:child_process';

/**
 * The few git questions the reporter asks, through the `git` program of the runner. Every
 * answer may be missing (no git, not a checkout, detached HEAD): callers degrade, never fail.
 */

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** Why git could not run or its output was cut (no such program, too much output, timeout). */
  error?: string;
}

export type Git = (args: readonly string[]) => Promise<GitResult>;

/** Most bytes of output read from one git command. */
export const GIT_MAX_BUFFER = 64 * 1024 * 1024;

const describe = (error: ExecFileException) =>
  error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
    ? `its output is larger than ${GIT_MAX_BUFFER / 1024 / 1024} MiB`
    : error.code === 'ENOENT'
      ? 'git is not installed (or not on PATH)'
      : error.killed || error.signal
        ? `git was stopped (${error.signal ?? 'timeout'}) after ${GIT_TIMEOUT_MS / 1000} s`
        : error.message;

const GIT_TIMEOUT_MS = 30_000;

/** Run git in `cwd` (bounded output and time; never throws). */
export const gitIn =
  (cwd: string, env: NodeJS.ProcessEnv = process.env): Git =>
  (args) =>
    new Promise((done) => {
      execFile(
        'git',
        [...args],
        // No pager, no prompts, plain paths (a non-ASCII name is not quoted in octal).
        {
          cwd,
          env: { ...env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' },
          maxBuffer: GIT_MAX_BUFFER,
          timeout: GIT_TIMEOUT_MS,
          encoding: 'utf8',
        },
        (error, stdout, stderr) =>
          done(
            error === null
              ? { ok: true, stdout, stderr }
              : { ok: false, stdout, stderr, error: describe(error) },
          ),
      );
    });

/** Branch and commit of the checkout; each undefined when git cannot tell (detached HEAD). */
export const gitHead = async (git: Git): Promise<{ branch?: string; commit?: string }> => {
  const [commit, branch] = await Promise.all([
    git(['rev-parse', '--verify', '-q', 'HEAD']),
    git(['symbolic-ref', '-q', '--short', 'HEAD']),
  ]);
  const c = commit.ok ? commit.stdout.trim() : '';
  const b = branch.ok ? branch.stdout.trim() : '';
  return { ...(b ? { branch: b } : {}), ...(c ? { commit: c } : {}) };
};
