import { readdir } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { runReport } from './report';

/**
 * The GitHub Action (action/action.yml): its inputs become `vigil report` arguments and
 * environment. Built into action/dist/index.mjs by `npm run build:cli`.
 */

/** An input as the runner passes it: `INPUT_<NAME>` (upper case, spaces as `_`). */
export const input = (env: NodeJS.ProcessEnv, name: string): string =>
  (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();

const isTrue = (value: string): boolean => /^(true|yes|1|on)$/i.test(value);

/** A glob (`*`, `?`, `**`) as a regular expression over `/`-separated relative paths. */
export const globRegex = (pattern: string): RegExp => {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
};

/**
 * `pattern` as the `/`-separated path relative to `cwd` that the files are matched as:
 * `./reports/*.xml` is `reports/*.xml`, and so is `${cwd}/reports/*.xml` (the workspace's
 * absolute path, e.g. `${{ github.workspace }}/reports/*.xml`).
 */
const relativePattern = (pattern: string, cwd: string): string => {
  const normal = posix.normalize(pattern.replaceAll(sep, '/'));
  if (!isAbsolute(normal)) return normal;
  const segments = normal.split('/');
  const fixed = segments.findIndex((s) => /[*?]/.test(s));
  const root = relative(cwd, segments.slice(0, fixed).join('/') || '/').replaceAll(sep, '/');
  return [...(root ? [root] : []), ...segments.slice(fixed)].join('/');
};

/** Files under `cwd` matching `pattern` (node_modules and .git are not searched). */
const globFiles = async (given: string, cwd: string): Promise<string[]> => {
  const pattern = relativePattern(given, cwd);
  const segments = pattern.split('/');
  const fixed = segments.findIndex((s) => /[*?]/.test(s));
  const root = segments.slice(0, fixed).join('/');
  const entries = await readdir(join(cwd, root || '.'), {
    recursive: true,
    withFileTypes: true,
  }).catch(() => []);
  const re = globRegex(pattern);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(cwd, join(e.parentPath, e.name)).replaceAll('\\', '/'))
    .filter((p) => !/(^|\/)(node_modules|\.git)\//.test(p) && re.test(p))
    .sort();
};

/** `files`: paths or glob patterns, one per line or separated by spaces. */
export const expandFiles = async (spec: string, cwd: string): Promise<string[]> => {
  const out: string[] = [];
  for (const pattern of spec.split(/\s+/).filter(Boolean)) {
    const found = /[*?]/.test(pattern) ? await globFiles(pattern, cwd) : [];
    // An unmatched pattern stays: `vigil report` then says that no file matches it.
    out.push(...(found.length ? found : [pattern]));
  }
  return out;
};

export const actionArgs = async (
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ argv: string[]; env: NodeJS.ProcessEnv }> => {
  const argv = [...(await expandFiles(input(env, 'files'), cwd))];
  for (const name of ['endpoint', 'project', 'suite', 'base']) {
    const value = input(env, name);
    if (value) argv.push(`--${name}`, value);
  }
  if (isTrue(input(env, 'comment'))) argv.push('--comment');
  if (isTrue(input(env, 'status'))) argv.push('--status');
  // Default: an unreachable Vigil fails the step, as `vigil report` does.
  const failOnUnreachable = input(env, 'fail-on-unreachable');
  if (failOnUnreachable && !isTrue(failOnUnreachable)) argv.push('--allow-unreachable');
  const token = input(env, 'token');
  const githubToken = input(env, 'github-token');
  return {
    argv,
    env: {
      ...env,
      ...(token ? { VIGIL_TOKEN: token } : {}),
      ...(githubToken ? { GITHUB_TOKEN: githubToken } : {}),
    },
  };
};

/** The inputs a report needs, with the variable `vigil report` reads when one is empty. */
const REQUIRED: readonly (readonly [input: string, variable?: string])[] = [
  ['files'],
  ['endpoint', 'VIGIL_ENDPOINT'],
  ['project', 'VIGIL_PROJECT'],
  ['token', 'VIGIL_TOKEN'],
];
const SWITCHES = ['comment', 'status', 'fail-on-unreachable'];

/**
 * What the step's `with:` gets wrong, said in the Action's own terms (its inputs), before
 * `vigil report` would say it in its flags': empty required inputs (GitHub does not enforce
 * `required`), as `::error` lines; a switch that is neither true nor false, as a warning.
 */
export const inputProblems = (env: NodeJS.ProcessEnv): { errors: string[]; warnings: string[] } => {
  const missing = REQUIRED.filter(([name, variable]) => !input(env, name) && !env[variable ?? '']);
  const odd = SWITCHES.filter((name) => {
    const value = input(env, name);
    return value !== '' && !isTrue(value) && !/^(false|no|0|off)$/i.test(value);
  });
  return {
    errors: missing.map(
      ([name, variable]) =>
        `::error title=Vigil::the ${name} input is empty: set it under the step's with:${variable ? ` (or ${variable} in its env:)` : ''}`,
    ),
    warnings: odd.map(
      (name) =>
        `::warning title=Vigil::the ${name} input is "${input(env, name).replace(/[\r\n%]/g, ' ')}", neither true nor false: read as false`,
    ),
  };
};

/** Runs the action; resolves to the exit code. */
export const runAction = async (env: NodeJS.ProcessEnv, cwd: string): Promise<number> => {
  const { errors, warnings } = inputProblems(env);
  for (const line of [...warnings, ...errors]) process.stdout.write(`${line}\n`);
  // As `vigil report` exits on a usage error.
  if (errors.length > 0) return 2;
  const { argv, env: runEnv } = await actionArgs(env, cwd);
  const write = (stream: NodeJS.WriteStream) => (s: string) => stream.write(s);
  return runReport(argv, {
    env: runEnv,
    stdout: write(process.stdout),
    stderr: write(process.stderr),
    cwd,
  });
};
