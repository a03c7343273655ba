import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deliveredOf } from '../../cli/feedback/answer';
import {
  commentMarker,
  detectForge,
  ForgeError,
  setCommitStatus,
  upsertComment,
} from '../../cli/feedback/forge';
import { giveFeedback } from '../../cli/feedback/index';
import type { FeedbackContext } from '../../cli/feedback/markdown';
import { type FakeForge, PERSON, startFakeForge, TOKEN_USER } from '../helpers/fake-forge';

/** Comments and statuses against a fake GitHub / GitLab API on loopback. */

const TOKEN = 'forge-token-123';
const SHA = 'abc123def4567890abc123def4567890abc12345';
let forge: FakeForge;
let dir: string;
let eventPath: string;

beforeAll(async () => {
  forge = await startFakeForge(TOKEN);
  dir = await mkdtemp(join(tmpdir(), 'vigil-forge-'));
  eventPath = join(dir, 'event.json');
  await writeFile(
    eventPath,
    JSON.stringify({ number: 7, pull_request: { number: 7, head: { sha: SHA } } }),
  );
});
afterAll(async () => {
  await forge.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  forge.requests.length = 0;
  forge.statuses.length = 0;
  forge.comments.clear();
  forge.failNext.length = 0;
});

const githubEnv = (over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  GITHUB_ACTIONS: 'true',
  GITHUB_API_URL: forge.url,
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_EVENT_PATH: eventPath,
  GITHUB_SHA: 'f'.repeat(40),
  GITHUB_TOKEN: TOKEN,
  ...over,
});
const gitlabEnv = (over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  GITLAB_CI: 'true',
  CI_API_V4_URL: `${forge.url}/`,
  CI_PROJECT_ID: '42',
  CI_MERGE_REQUEST_IID: '9',
  CI_COMMIT_SHA: SHA,
  VIGIL_GITLAB_TOKEN: TOKEN,
  ...over,
});

const context = (gate: 'pass' | 'fail', problems: string[] = []): FeedbackContext => ({
  project: 'shop',
  suite: 'unit',
  endpoint: 'https://vigil.example',
  problems,
  delivered: [
    deliveredOf('junit.xml', {
      runId: 'run-1',
      kind: 'tests',
      gate: { status: gate, checks: [{ id: 'tests.failed', status: gate }] },
      failures: { failed: [{ suite: 's', classname: 'c', name: 'n', message: 'boom' }] },
    }),
  ],
});

const feedback = async (env: NodeJS.ProcessEnv, ctx = context('fail'), fetchFn = fetch) => {
  const out: string[] = [];
  const err: string[] = [];
  await giveFeedback(
    ctx,
    { comment: true, status: true, annotations: true },
    {
      env,
      fetch: fetchFn,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      appendFile: async () => {},
    },
  );
  return { out, err };
};

describe('GitHub', () => {
  it('creates the comment once, then edits it, found on a later page among others', async () => {
    // 150 comments by others: ours lands on the second page of 100.
    forge.comments.set(
      7,
      Array.from({ length: 150 }, (_, i) => ({ id: i + 1, body: `someone else ${i}` })),
    );
    const first = await feedback(githubEnv());
    expect(first.err).toEqual([]);
    expect(first.out).toContain('Vigil: pull request comment created');
    await feedback(githubEnv(), context('pass'));
    const ours = forge.comments
      .get(7)
      ?.filter((c) => c.body.includes(commentMarker('shop', 'unit')));
    expect(ours).toHaveLength(1);
    expect(ours?.[0]?.body).toContain('✅ Vigil: shop \\(unit\\): passed');
    const calls = forge.requests.map((r) => `${r.method} ${r.path}?${r.query}`);
    expect(
      calls.filter((c) => c.startsWith('POST /repos/acme/shop/issues/7/comments')),
    ).toHaveLength(1);
    expect(
      calls.filter((c) => c.startsWith('PATCH /repos/acme/shop/issues/comments/')),
    ).toHaveLength(1);
    expect(calls).toContain('GET /repos/acme/shop/issues/7/comments?per_page=100&page=2');
    expect(forge.requests[0]?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
    });
    // A comment for another suite is a separate comment.
    await feedback(githubEnv(), { ...context('pass'), suite: 'e2e' });
    expect(forge.comments.get(7)?.filter((c) => c.body.includes('vigil-report'))).toHaveLength(2);
  });

  it('sets the status on the pull request head with a link to the run', async () => {
    const { out } = await feedback(githubEnv());
    expect(out).toContain('Vigil: commit status failure: gate failed in 1 of 1 report(s)');
    expect(forge.statuses).toEqual([
      {
        sha: SHA,
        state: 'failure',
        context: 'vigil/shop/unit',
        description: 'Vigil: shop (unit): gate failed in 1 of 1 report(s)',
        target_url: 'https://vigil.example/#/run/shop/run-1',
      },
    ]);
    await feedback(
      githubEnv({ GITHUB_EVENT_PATH: join(dir, 'missing.json') }),
      context('pass', ['x: rejected']),
    );
    expect(forge.statuses[1]).toMatchObject({
      sha: 'f'.repeat(40),
      state: 'error',
      description: 'Vigil: shop (unit): 1 report(s) got no verdict',
    });
    await feedback(githubEnv(), { ...context('pass'), suite: undefined });
    expect(forge.statuses[2]).toMatchObject({
      state: 'success',
      context: 'vigil/shop',
      description: 'Vigil: shop: gate passed',
    });
  });

  it.each([
    [
      { status: 403 },
      'the token may not write here; pull requests from forks get a read-only GITHUB_TOKEN',
    ],
    [
      { status: 403, headers: { 'x-ratelimit-remaining': '0' } },
      'GitHub rate limit reached (HTTP 403)',
    ],
    [{ status: 429 }, 'GitHub rate limit reached (HTTP 429)'],
    [{ status: 404 }, 'GitHub answered 404'],
    [{ status: 502 }, 'GitHub failed (HTTP 502); try again later'],
    [{ status: 401 }, 'GitHub rejected the token (HTTP 401)'],
    [{ status: 422 }, 'GitHub answered HTTP 422'],
  ])('an API error (%j) is one warning per feature', async (failure, text) => {
    forge.failNext.push(failure, failure);
    const { err } = await feedback(githubEnv());
    expect(err).toHaveLength(2);
    expect(err[0]).toContain('⚠ Vigil: no pull request comment: ');
    expect(err[0]).toContain(text);
    expect(err[1]).toContain('⚠ Vigil: no commit status: ');
  });

  it('says why nothing was posted: no token, no pull request, unreachable API, no forge', async () => {
    let r = await feedback(githubEnv({ GITHUB_TOKEN: '' }));
    expect(r.err[0]).toContain('no GITHUB_TOKEN in the environment');
    r = await feedback(githubEnv({ GITHUB_EVENT_PATH: '', GITHUB_SHA: '' }));
    expect(r.err).toEqual([
      '⚠ Vigil: no pull request comment: not a pull request run (no pull_request in the event payload): no comment',
      '⚠ Vigil: no commit status: no commit SHA in the environment: no status',
    ]);
    r = await feedback(githubEnv({ GITHUB_API_URL: 'http://127.0.0.1:1' }));
    expect(r.err[0]).toContain('GitHub could not be reached');
    r = await feedback({});
    expect(r.err).toEqual([
      '⚠ Vigil: --comment and --status work on GitHub Actions and GitLab CI only; skipped',
    ]);
    // On a CI that lacks what it always sets (a job run by hand, a simulation): named.
    r = await feedback(githubEnv({ GITHUB_REPOSITORY: '' }));
    expect(r.err).toEqual([
      '⚠ Vigil: --comment and --status need GITHUB_REPOSITORY (set by the CI), not set here; skipped',
    ]);
    r = await feedback(gitlabEnv({ CI_API_V4_URL: '', CI_PROJECT_ID: '' }));
    expect(r.err).toEqual([
      '⚠ Vigil: --comment and --status need CI_API_V4_URL and CI_PROJECT_ID (set by the CI), not set here; skipped',
    ]);
    expect(forge.requests).toHaveLength(0);
  });

  it('follows pagination links only on the API origin (the token goes with them)', async () => {
    const fetchSpy: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      if (String(url).includes('/comments?'))
        return new Response(await res.text(), {
          status: 200,
          headers: { link: '<http://evil.example/next>; rel="next"' },
        });
      return res;
    };
    const f = await detectForge(githubEnv());
    if (!f) throw new Error('no forge detected');
    expect(await upsertComment(f, fetchSpy, '<!-- m -->', 'x')).toBe('created');
    expect(forge.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET']);
  });
});

describe('one comment per project and suite', () => {
  const MARKER = commentMarker('shop', 'unit');
  /** The comments that start with the marker, whoever wrote them. */
  const marked = (request: number) =>
    (forge.comments.get(request) ?? []).filter((c) => c.body.startsWith(MARKER));
  const calls = () => forge.requests.map((r) => `${r.method} ${r.path}`);

  it('a job that created one as another job did keeps the oldest, with its own text', async () => {
    const racing: typeof fetch = async (url, init) => {
      const list = forge.comments.get(7) ?? [];
      // The other job creates its comment between this job's search and its create...
      if (init?.method === 'POST' && String(url).endsWith('/issues/7/comments'))
        list.push({ id: 500, body: `${MARKER}\nother job`, author: TOKEN_USER });
      // ...and deletes this job's copy first (this job's DELETE gets a 404).
      if (init?.method === 'DELETE')
        list.splice(
          list.findIndex((c) => String(url).endsWith(`/${c.id}`)),
          1,
        );
      return fetch(url, init);
    };

    const { err } = await feedback(githubEnv(), context('pass'), racing);

    expect(err).toEqual([]);
    expect(marked(7)).toEqual([
      { id: 500, body: expect.stringContaining('✅ Vigil: shop'), author: TOKEN_USER },
    ]);
    const deleted = calls().filter((c) => c.startsWith('DELETE'));
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).not.toContain('/500');
  });

  it('parallel jobs end with one comment', async () => {
    await Promise.all([1, 2, 3].map(() => feedback(githubEnv())));
    expect(marked(7)).toHaveLength(1);
    await Promise.all([1, 2, 3].map(() => feedback(gitlabEnv())));
    expect(marked(9)).toHaveLength(1);
  });

  it('edits the oldest of ours and deletes the other copies', async () => {
    forge.comments.set(7, [
      { id: 5, body: `${MARKER}\nold`, author: TOKEN_USER },
      { id: 9, body: `${MARKER}\nolder copy`, author: TOKEN_USER },
    ]);
    forge.comments.set(9, [
      { id: 6, body: `${MARKER}\nold`, author: TOKEN_USER },
      { id: 8, body: `${MARKER}\ncopy`, author: TOKEN_USER },
    ]);

    const github = await feedback(githubEnv());
    const gitlab = await feedback(gitlabEnv());

    expect(github.out).toContain('Vigil: pull request comment updated');
    expect(gitlab.out).toContain('Vigil: merge request comment updated');
    expect(marked(7).map((c) => c.id)).toEqual([5]);
    expect(marked(9).map((c) => c.id)).toEqual([6]);
    expect(marked(7)[0]?.body).toContain('❌ Vigil: shop');
    expect(calls().filter((c) => /^(PATCH|PUT|DELETE|POST) .*(comments|notes)/.test(c))).toEqual([
      'PATCH /repos/acme/shop/issues/comments/5',
      'DELETE /repos/acme/shop/issues/comments/9',
      'PUT /projects/42/merge_requests/9/notes/6',
      'DELETE /projects/42/merge_requests/9/notes/8',
    ]);
  });

  it("is never someone else's, nor one that only quotes the marker", async () => {
    // A person's comment made to look like ours, and a bot's that quotes the marker.
    const planted = [
      { id: 1, body: `${MARKER}\nlooks like Vigil`, author: PERSON },
      { id: 2, body: `> ${MARKER}\nquoted`, author: TOKEN_USER },
    ];
    forge.comments.set(7, structuredClone(planted));
    forge.comments.set(9, structuredClone(planted));

    const github = await feedback(githubEnv());
    const gitlab = await feedback(gitlabEnv());

    expect(github.out).toContain('Vigil: pull request comment created');
    expect(gitlab.out).toContain('Vigil: merge request comment created');
    for (const request of [7, 9]) {
      expect(forge.comments.get(request)?.slice(0, 2)).toEqual(planted);
      expect(marked(request)).toHaveLength(2);
      expect(marked(request)[1]?.author).toEqual(TOKEN_USER);
    }
    expect(calls().filter((c) => /^(PATCH|PUT|DELETE)/.test(c))).toEqual([]);
  });
});

describe('GitLab', () => {
  it('creates the merge request note once, then edits it; sets the commit status', async () => {
    forge.comments.set(
      9,
      Array.from({ length: 120 }, (_, i) => ({ id: i + 1, body: `note ${i}` })),
    );
    await feedback(gitlabEnv());
    const second = await feedback(gitlabEnv(), context('pass'));
    expect(second.out).toContain('Vigil: merge request comment updated');
    const calls = forge.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls.filter((c) => c === 'POST /projects/42/merge_requests/9/notes')).toHaveLength(1);
    expect(
      calls.filter((c) => /^PUT \/projects\/42\/merge_requests\/9\/notes\/\d+$/.test(c)),
    ).toHaveLength(1);
    expect(forge.requests[0]?.headers['private-token']).toBe(TOKEN);
    expect(forge.statuses.map((s) => s.state)).toEqual(['failed', 'success']);
    expect(forge.statuses[0]).toMatchObject({ sha: SHA, name: 'vigil/shop/unit' });
  });

  it('explains 403 and missing pieces', async () => {
    forge.failNext.push({ status: 403 });
    let r = await feedback(gitlabEnv());
    expect(r.err[0]).toContain('the token needs the api scope');
    r = await feedback(gitlabEnv({ VIGIL_GITLAB_TOKEN: '', CI_MERGE_REQUEST_IID: '' }));
    expect(r.err[0]).toContain('not a merge request pipeline');
    expect(r.err[1]).toContain('no VIGIL_GITLAB_TOKEN');
    expect(await detectForge(gitlabEnv({ CI_PROJECT_ID: '' }))).toBeUndefined();
    expect(await detectForge(githubEnv({ GITHUB_REPOSITORY: '' }))).toBeUndefined();
  });
});

describe('job summary', () => {
  it('appends the Markdown to GITHUB_STEP_SUMMARY and warns when it cannot', async () => {
    const file = join(dir, 'summary.md');
    await writeFile(file, 'before\n');
    const out: string[] = [];
    const err: string[] = [];
    const deps = {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: file },
      fetch,
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
    };
    await giveFeedback(context('fail'), { comment: false, status: false, annotations: true }, deps);
    expect(await readFile(file, 'utf8')).toMatch(/^before\n### ❌ Vigil: shop/);
    expect(out[0]).toBe('::error title=Failed%3A s › c › n::boom');
    await giveFeedback(
      context('fail'),
      { comment: false, status: false, annotations: false },
      { ...deps, env: { GITHUB_STEP_SUMMARY: join(dir, 'no', 'such', 'dir') } },
    );
    expect(err[0]).toMatch(/^⚠ Vigil: could not write the job summary: ENOENT/);
    expect(out).toHaveLength(1);
  });
});

describe('status without a SHA', () => {
  it('is a ForgeError', async () => {
    await expect(
      setCommitStatus({ kind: 'gitlab', api: forge.url, repo: '1' }, fetch, {
        state: 'success',
        context: 'c',
        description: 'd',
      }),
    ).rejects.toBeInstanceOf(ForgeError);
  });
});

describe('detectForge', () => {
  it('reads what the event and environment say, and nothing more', async () => {
    // Prepare: a push event (no pull request), a pull request without head, a number only at
    // the top level, and unreadable JSON.
    const event = async (name: string, doc: string) => {
      const path = join(dir, name);
      await writeFile(path, doc);
      return path;
    };
    const push = await event('push.json', JSON.stringify({ ref: 'refs/heads/main' }));
    const noHead = await event('nohead.json', JSON.stringify({ number: '12', pull_request: {} }));
    const broken = await event('broken.json', '{');

    // Act
    const [pushed, headless, unreadable, bare, gitlab] = await Promise.all([
      detectForge(githubEnv({ GITHUB_EVENT_PATH: push, GITHUB_SHA: '', GITHUB_API_URL: '' })),
      detectForge(githubEnv({ GITHUB_EVENT_PATH: noHead })),
      detectForge(githubEnv({ GITHUB_EVENT_PATH: broken, GITHUB_TOKEN: '' })),
      detectForge({ GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/shop' }),
      detectForge(gitlabEnv({ CI_COMMIT_SHA: '', VIGIL_GITLAB_TOKEN: '', GITLAB_TOKEN: 't2' })),
    ]);

    // Assess
    expect(pushed).toEqual({
      kind: 'github',
      api: 'https://api.github.com',
      repo: 'acme/shop',
      token: TOKEN,
    });
    expect(headless).toMatchObject({ request: 12, sha: 'f'.repeat(40) });
    expect(unreadable).toEqual({
      kind: 'github',
      api: forge.url,
      repo: 'acme/shop',
      sha: 'f'.repeat(40),
    });
    expect(bare).toEqual({ kind: 'github', api: 'https://api.github.com', repo: 'acme/shop' });
    expect(gitlab).toEqual({ kind: 'gitlab', api: forge.url, repo: '42', token: 't2', request: 9 });
  });
});
