import { describe, expect, it } from 'vitest';
import { detectCi } from '../../cli/ci-env';

describe('detectCi', () => {
  it('returns nothing outside CI', () => {
    expect(detectCi({})).toEqual({});
    expect(detectCi({ CI: 'true', GITHUB_ACTIONS: 'false', GITLAB_CI: '0' })).toEqual({});
  });

  describe('GitHub Actions', () => {
    const push = {
      GITHUB_ACTIONS: 'true',
      GITHUB_REF_NAME: 'main',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_WORKFLOW: 'CI',
      GITHUB_JOB: 'test',
      GITHUB_RUN_ID: '123456',
      GITHUB_RUN_ATTEMPT: '2',
    };

    it('reads a push build', () => {
      expect(detectCi(push)).toEqual({
        provider: 'github-actions',
        branch: 'main',
        commit: 'a'.repeat(40),
        ci: 'CI/test',
        runKey: 'github:123456:2:test',
      });
    });

    it('uses the PR source branch, not `123/merge`, and the PR target as base', () => {
      const env = {
        ...push,
        GITHUB_HEAD_REF: 'feature/x',
        GITHUB_BASE_REF: 'release/2.x',
        GITHUB_REF_NAME: '42/merge',
      };
      expect(detectCi(env)).toMatchObject({ branch: 'feature/x', base: 'release/2.x' });
    });

    it('ignores empty GITHUB_HEAD_REF/GITHUB_BASE_REF (push events set them to "")', () => {
      const ci = detectCi({ ...push, GITHUB_HEAD_REF: '', GITHUB_BASE_REF: '' });
      expect(ci.branch).toBe('main');
      expect(ci).not.toHaveProperty('base');
    });

    it('a re-run attempt gets a new run key; the same attempt keeps it', () => {
      expect(detectCi({ ...push, GITHUB_RUN_ATTEMPT: '3' }).runKey).not.toBe(detectCi(push).runKey);
      expect(detectCi({ ...push }).runKey).toBe(detectCi(push).runKey);
    });

    it('copes with missing pieces', () => {
      expect(detectCi({ GITHUB_ACTIONS: 'true', GITHUB_JOB: 'build', GITHUB_RUN_ID: '9' })).toEqual(
        { provider: 'github-actions', ci: 'build', runKey: 'github:9:1:build' },
      );
      expect(detectCi({ GITHUB_ACTIONS: 'true', GITHUB_WORKFLOW: 'CI' })).toEqual({
        provider: 'github-actions',
        ci: 'CI',
      });
    });
  });

  it('GitLab CI, branch pipeline and merge request pipeline', () => {
    const env = {
      GITLAB_CI: 'true',
      CI_COMMIT_REF_NAME: 'main',
      CI_COMMIT_SHA: 'b'.repeat(40),
      CI_JOB_NAME: 'unit tests',
      CI_JOB_ID: '777',
    };
    expect(detectCi(env)).toEqual({
      provider: 'gitlab',
      branch: 'main',
      commit: 'b'.repeat(40),
      ci: 'unit tests',
      runKey: 'gitlab:777',
    });
    expect(
      detectCi({
        ...env,
        CI_COMMIT_REF_NAME: 'refs/merge-requests/5/head',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feat',
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'develop',
      }),
    ).toMatchObject({ branch: 'feat', base: 'develop' });
  });

  it('CircleCI', () => {
    expect(
      detectCi({
        CIRCLECI: 'true',
        CIRCLE_BRANCH: 'dev',
        CIRCLE_SHA1: 'c'.repeat(40),
        CIRCLE_JOB: 'test',
        CIRCLE_WORKFLOW_ID: 'wf-1',
        CIRCLE_BUILD_NUM: '88',
        // Set on PR builds, but it is a URL, not the target branch: no base.
        CIRCLE_PULL_REQUEST: 'https://github.com/o/r/pull/3',
      }),
    ).toEqual({
      provider: 'circleci',
      branch: 'dev',
      commit: 'c'.repeat(40),
      ci: 'test',
      runKey: 'circleci:wf-1:88',
    });
  });

  it('Buildkite', () => {
    const env = {
      BUILDKITE: 'true',
      BUILDKITE_BRANCH: 'main',
      BUILDKITE_COMMIT: 'd'.repeat(40),
      BUILDKITE_PIPELINE_SLUG: 'shop',
      BUILDKITE_LABEL: ':vitest: unit',
      BUILDKITE_BUILD_ID: 'build-uuid',
      BUILDKITE_JOB_ID: 'job-uuid',
      BUILDKITE_RETRY_COUNT: '1',
    };
    expect(detectCi(env)).toEqual({
      provider: 'buildkite',
      branch: 'main',
      commit: 'd'.repeat(40),
      ci: 'shop/:vitest: unit',
      runKey: 'buildkite:build-uuid:job-uuid:1',
    });
    const { BUILDKITE_RETRY_COUNT: _, BUILDKITE_LABEL: __, ...firstTry } = env;
    expect(detectCi({ ...firstTry, BUILDKITE_COMMIT: 'HEAD' })).toEqual({
      provider: 'buildkite',
      branch: 'main',
      ci: 'shop',
      runKey: 'buildkite:build-uuid:job-uuid:0',
    });
  });

  it.each([
    ['a pull request build', 'main', 'main'],
    ['a branch build (empty)', '', undefined],
    ['a branch build ("false")', 'false', undefined],
  ])('Buildkite base on %s', (_label, value, base) => {
    const env = { BUILDKITE: 'true', BUILDKITE_PULL_REQUEST_BASE_BRANCH: value };
    expect(detectCi(env).base).toBe(base);
  });

  describe('Jenkins', () => {
    const base = {
      JENKINS_URL: 'https://jenkins.example.com/',
      GIT_COMMIT: 'e'.repeat(40),
      JOB_NAME: 'shop/main',
      BUILD_TAG: 'jenkins-shop-main-42',
    };

    it('multibranch pipeline: BRANCH_NAME', () => {
      expect(detectCi({ ...base, BRANCH_NAME: 'main', GIT_BRANCH: 'origin/other' })).toEqual({
        provider: 'jenkins',
        branch: 'main',
        commit: 'e'.repeat(40),
        ci: 'shop/main',
        runKey: 'jenkins:jenkins-shop-main-42',
      });
    });

    it('pull request: the source branch, not PR-n, and CHANGE_TARGET as base', () => {
      expect(
        detectCi({
          ...base,
          BRANCH_NAME: 'PR-7',
          CHANGE_BRANCH: 'fix/login',
          CHANGE_TARGET: 'main',
        }),
      ).toMatchObject({ branch: 'fix/login', base: 'main' });
    });

    it('freestyle job: GIT_BRANCH without the remote', () => {
      expect(detectCi({ ...base, GIT_BRANCH: 'origin/feature/x' }).branch).toBe('feature/x');
      expect(detectCi({ ...base, GIT_BRANCH: 'refs/remotes/origin/main' }).branch).toBe('main');
      expect(detectCi({ ...base, GIT_BRANCH: 'refs/heads/main' }).branch).toBe('main');
      expect(detectCi({ ...base, GIT_BRANCH: 'release' }).branch).toBe('release');
    });

    it('without a build tag there is no run key', () => {
      const { BUILD_TAG: _, ...env } = base;
      expect(detectCi(env).runKey).toBeUndefined();
    });
  });

  it('picks GitHub Actions first when several markers are present', () => {
    expect(detectCi({ GITHUB_ACTIONS: 'true', JENKINS_URL: 'http://j' }).provider).toBe(
      'github-actions',
    );
  });
});
