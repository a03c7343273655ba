import { execFile } from 'node:child_process';

/**
 * The few git questions the reporter asks, through the `git` program of the runner. Every
 * answer may be missing (no git, not a checkout, detached HEAD): callers degrade, never fail.
 */

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export type Git = (args: readonly string[]) => Promise<GitResult>;

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
          maxBuffer: 64 * 1024 * 1024,
          timeout: 30_000,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => done({ ok: error === null, stdout, stderr }),
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
