/**
 * What the CI system the reporter runs in says about the run: branch, commit, a job name,
 * the target branch of a pull/merge request (`base`) and a run key. The run key names one
 * attempt of one job: it stays the same when the same step uploads again (so the server can
 * dedupe) and changes when the job is re-run.
 */
export interface CiMetadata {
  provider?: string;
  branch?: string;
  /** The pull/merge request's target branch: what regressions are measured against. */
  base?: string;
  commit?: string;
  ci?: string;
  runKey?: string;
}

type Env = NodeJS.ProcessEnv;

/** A variable's value, or undefined when it is unset or blank. */
const read = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value ? value : undefined;
};

/** CI systems set their marker to `true`; treat `false`/`0` as "not this CI". */
const isSet = (env: Env, name: string): boolean => {
  const value = read(env, name)?.toLowerCase();
  return value !== undefined && value !== 'false' && value !== '0';
};

const first = (...values: (string | undefined)[]): string | undefined =>
  values.find((v) => v !== undefined);

/** The present parts joined by `sep`, or undefined when none is present. */
const joinPresent = (sep: string, ...parts: (string | undefined)[]): string | undefined => {
  const present = parts.filter((p): p is string => p !== undefined);
  return present.length > 0 ? present.join(sep) : undefined;
};

/** A run key, only when the id that makes it unique is known. */
const runKey = (
  provider: string,
  id: string | undefined,
  ...rest: (string | undefined)[]
): string | undefined =>
  id === undefined ? undefined : [provider, id, ...rest.map((r) => r ?? '')].join(':');

/** Drop undefined fields so results compare and print cleanly. */
const compact = (meta: CiMetadata): CiMetadata => {
  const out: CiMetadata = {};
  for (const key of ['provider', 'branch', 'base', 'commit', 'ci', 'runKey'] as const) {
    const value = meta[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
};

/** `origin/feature/x`, `refs/heads/feature/x` → `feature/x`. */
const stripRemote = (branch: string | undefined): string | undefined =>
  branch?.replace(/^refs\/heads\//, '').replace(/^(refs\/remotes\/)?origin\//, '');

const githubActions = (env: Env): CiMetadata => {
  const job = read(env, 'GITHUB_JOB');
  return {
    provider: 'github-actions',
    // GITHUB_HEAD_REF is the PR source branch and only set for pull_request(_target) events;
    // GITHUB_REF_NAME would be `123/merge` there.
    branch: first(read(env, 'GITHUB_HEAD_REF'), read(env, 'GITHUB_REF_NAME')),
    // Also only set for pull_request(_target) events (empty on push).
    base: read(env, 'GITHUB_BASE_REF'),
    commit: read(env, 'GITHUB_SHA'),
    ci: joinPresent('/', read(env, 'GITHUB_WORKFLOW'), job),
    runKey: runKey(
      'github',
      read(env, 'GITHUB_RUN_ID'),
      read(env, 'GITHUB_RUN_ATTEMPT') ?? '1',
      job,
    ),
  };
};

const gitlab = (env: Env): CiMetadata => ({
  provider: 'gitlab',
  branch: first(read(env, 'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME'), read(env, 'CI_COMMIT_REF_NAME')),
  base: read(env, 'CI_MERGE_REQUEST_TARGET_BRANCH_NAME'),
  commit: read(env, 'CI_COMMIT_SHA'),
  ci: read(env, 'CI_JOB_NAME'),
  // A retried GitLab job is a new job with a new CI_JOB_ID.
  runKey: runKey('gitlab', read(env, 'CI_JOB_ID')),
});

const circleci = (env: Env): CiMetadata => ({
  provider: 'circleci',
  branch: read(env, 'CIRCLE_BRANCH'),
  // No base: CircleCI has no variable for a pull request's target branch.
  commit: read(env, 'CIRCLE_SHA1'),
  ci: read(env, 'CIRCLE_JOB'),
  runKey: runKey('circleci', read(env, 'CIRCLE_WORKFLOW_ID'), read(env, 'CIRCLE_BUILD_NUM')),
});

const buildkite = (env: Env): CiMetadata => {
  const commit = read(env, 'BUILDKITE_COMMIT');
  const base = read(env, 'BUILDKITE_PULL_REQUEST_BASE_BRANCH');
  return {
    provider: 'buildkite',
    branch: read(env, 'BUILDKITE_BRANCH'),
    // Empty or the literal `false` outside pull request builds.
    base: base === 'false' ? undefined : base,
    // Builds started from the UI without a commit carry the literal `HEAD`.
    commit: commit === 'HEAD' ? undefined : commit,
    ci: joinPresent('/', read(env, 'BUILDKITE_PIPELINE_SLUG'), read(env, 'BUILDKITE_LABEL')),
    runKey: runKey(
      'buildkite',
      read(env, 'BUILDKITE_BUILD_ID'),
      read(env, 'BUILDKITE_JOB_ID'),
      read(env, 'BUILDKITE_RETRY_COUNT') ?? '0',
    ),
  };
};

const jenkins = (env: Env): CiMetadata => ({
  provider: 'jenkins',
  // Multibranch pipelines: CHANGE_BRANCH is a PR's source branch (BRANCH_NAME is then `PR-n`).
  branch: first(
    read(env, 'CHANGE_BRANCH'),
    read(env, 'BRANCH_NAME'),
    stripRemote(read(env, 'GIT_BRANCH')),
  ),
  // Multibranch pipelines set CHANGE_TARGET on pull request builds only.
  base: read(env, 'CHANGE_TARGET'),
  commit: read(env, 'GIT_COMMIT'),
  ci: read(env, 'JOB_NAME'),
  // `jenkins-${JOB_NAME}-${BUILD_NUMBER}`: a rebuild gets a new number.
  runKey: runKey('jenkins', read(env, 'BUILD_TAG')),
});

/** CI metadata from the environment; `{}` outside a recognised CI system. */
export const detectCi = (env: NodeJS.ProcessEnv): CiMetadata => {
  if (isSet(env, 'GITHUB_ACTIONS')) return compact(githubActions(env));
  if (isSet(env, 'GITLAB_CI')) return compact(gitlab(env));
  if (isSet(env, 'CIRCLECI')) return compact(circleci(env));
  if (isSet(env, 'BUILDKITE')) return compact(buildkite(env));
  if (read(env, 'JENKINS_URL') !== undefined) return compact(jenkins(env));
  return {};
};
