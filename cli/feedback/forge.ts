import { readFile } from 'node:fs/promises';
import { isRecord } from './answer';

/**
 * Pull/merge request comments and commit statuses on GitHub (REST API) and GitLab (API v4).
 * One comment per request and project+suite, found again by a hidden marker and edited in
 * place. Every failure is a `ForgeError` with one line to print: the caller warns and moves
 * on (feedback never changes the exit code the gate decided).
 */

export interface Forge {
  kind: 'github' | 'gitlab';
  api: string;
  /** `owner/repo` (GitHub) or the project id (GitLab). */
  repo: string;
  token?: string;
  /** The pull request number / merge request IID, when this run belongs to one. */
  request?: number;
  /** The commit statuses belong to (a pull request's head, not GitHub's merge commit). */
  sha?: string;
}

export class ForgeError extends Error {}

const read = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v ? v : undefined;
};

const positive = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0
    ? v
    : typeof v === 'string' && /^[1-9]\d{0,9}$/.test(v)
      ? Number(v)
      : undefined;

/** The pull request of a GitHub event payload (`pull_request`, `pull_request_target`). */
const githubEvent = async (
  path: string | undefined,
): Promise<{ request?: number; head?: string }> => {
  if (!path) return {};
  try {
    const doc: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (!isRecord(doc) || !isRecord(doc.pull_request)) return {};
    const pr = doc.pull_request;
    const head = isRecord(pr.head) && typeof pr.head.sha === 'string' ? pr.head.sha : undefined;
    const request = positive(pr.number) ?? positive(doc.number);
    return { ...(request ? { request } : {}), ...(head ? { head } : {}) };
  } catch {
    return {};
  }
};

/** The forge this CI job runs for, or undefined outside GitHub Actions and GitLab CI. */
export const detectForge = async (env: NodeJS.ProcessEnv): Promise<Forge | undefined> => {
  if (read(env, 'GITHUB_ACTIONS') === 'true') {
    const repo = read(env, 'GITHUB_REPOSITORY');
    if (!repo) return undefined;
    const event = await githubEvent(read(env, 'GITHUB_EVENT_PATH'));
    const token = read(env, 'GITHUB_TOKEN');
    const sha = event.head ?? read(env, 'GITHUB_SHA');
    return {
      kind: 'github',
      api: (read(env, 'GITHUB_API_URL') ?? 'https://api.github.com').replace(/\/+$/, ''),
      repo,
      ...(token ? { token } : {}),
      ...(event.request ? { request: event.request } : {}),
      ...(sha ? { sha } : {}),
    };
  }
  if (read(env, 'GITLAB_CI') === 'true') {
    const api = read(env, 'CI_API_V4_URL');
    const repo = read(env, 'CI_PROJECT_ID');
    if (!api || !repo) return undefined;
    const token = read(env, 'VIGIL_GITLAB_TOKEN') ?? read(env, 'GITLAB_TOKEN');
    const request = positive(read(env, 'CI_MERGE_REQUEST_IID'));
    const sha = read(env, 'CI_COMMIT_SHA');
    return {
      kind: 'gitlab',
      api: api.replace(/\/+$/, ''),
      repo,
      ...(token ? { token } : {}),
      ...(request ? { request } : {}),
      ...(sha ? { sha } : {}),
    };
  }
  return undefined;
};

const NAME = { github: 'GitHub', gitlab: 'GitLab' } as const;

/** One line saying what went wrong and what to do about it. */
const explain = (forge: Forge, res: Response): string => {
  const who = NAME[forge.kind];
  const s = res.status;
  if (s === 429 || (s === 403 && res.headers.get('x-ratelimit-remaining') === '0'))
    return `${who} rate limit reached (HTTP ${s}); try again later`;
  if (s === 401) return `${who} rejected the token (HTTP 401)`;
  if (s === 403)
    return forge.kind === 'github'
      ? 'GitHub refused (HTTP 403): the token may not write here; pull requests from forks get a read-only GITHUB_TOKEN, and the job needs `permissions: pull-requests: write, statuses: write`'
      : 'GitLab refused (HTTP 403): the token needs the api scope and at least the Reporter role';
  if (s === 404)
    return `${who} answered 404: check the repository, the request number and that the token can see them`;
  if (s >= 500) return `${who} failed (HTTP ${s}); try again later`;
  return `${who} answered HTTP ${s}`;
};

type Fetch = typeof fetch;

const call = async (
  forge: Forge,
  fetchFn: Fetch,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> => {
  if (!forge.token)
    throw new ForgeError(
      forge.kind === 'github'
        ? 'no GITHUB_TOKEN in the environment (set it from github.token, or use the action)'
        : 'no VIGIL_GITLAB_TOKEN in the environment (a project access token with the api scope)',
    );
  const headers: Record<string, string> =
    forge.kind === 'github'
      ? {
          authorization: `Bearer ${forge.token}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          'user-agent': 'vigil-report',
        }
      : { 'private-token': forge.token };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetchFn(path.startsWith('http') ? path : `${forge.api}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: 'error',
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new ForgeError(
      `${NAME[forge.kind]} could not be reached: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ForgeError(explain(forge, res));
  }
  return res;
};

const repoPath = (forge: Forge): string =>
  forge.kind === 'github'
    ? `/repos/${forge.repo.split('/').map(encodeURIComponent).join('/')}`
    : `/projects/${encodeURIComponent(forge.repo)}`;

/** The hidden line that finds this project+suite's comment again. */
export const commentMarker = (project: string, suite: string | undefined): string =>
  `<!-- vigil-report ${encodeURIComponent(project)} ${encodeURIComponent(suite ?? '')} -->`;

/** Bound on the comments read while looking for ours (100 per page). */
const MAX_PAGES = 50;

/** `<url>; rel="next"` from GitHub's Link header. */
const nextLink = (link: string | null): string | undefined =>
  link
    ?.split(',')
    .map((part) => /<([^>]+)>\s*;\s*rel="next"/.exec(part)?.[1])
    .find((u) => u !== undefined);

const findComment = async (
  forge: Forge,
  fetchFn: Fetch,
  marker: string,
): Promise<number | undefined> => {
  const base =
    forge.kind === 'github'
      ? `${repoPath(forge)}/issues/${forge.request}/comments?per_page=100`
      : `${repoPath(forge)}/merge_requests/${forge.request}/notes?per_page=100&sort=asc&order_by=created_at`;
  const origin = new URL(forge.api).origin;
  let url: string | undefined = base;
  for (let page = 1; url && page <= MAX_PAGES; page++) {
    const res = await call(forge, fetchFn, 'GET', url);
    const list: unknown = await res.json();
    for (const c of Array.isArray(list) ? list : [])
      if (isRecord(c) && typeof c.body === 'string' && c.body.includes(marker)) {
        const id = positive(c.id);
        if (id) return id;
      }
    if (forge.kind === 'github') {
      // The token goes with every request: follow links to the API's own origin only.
      const next = nextLink(res.headers.get('link'));
      url = next && new URL(next).origin === origin ? next : undefined;
    } else {
      const next = res.headers.get('x-next-page');
      url = next && /^\d+$/.test(next) ? `${base}&page=${next}` : undefined;
    }
  }
  return undefined;
};

/** Create or edit this project+suite's comment; says which it did. */
export const upsertComment = async (
  forge: Forge,
  fetchFn: Fetch,
  marker: string,
  markdown: string,
): Promise<'created' | 'updated'> => {
  if (forge.request === undefined)
    throw new ForgeError(
      forge.kind === 'github'
        ? 'not a pull request run (no pull_request in the event payload): no comment'
        : 'not a merge request pipeline (no CI_MERGE_REQUEST_IID): no comment',
    );
  const body = `${marker}\n${markdown}`;
  const id = await findComment(forge, fetchFn, marker);
  const path =
    forge.kind === 'github'
      ? id === undefined
        ? `${repoPath(forge)}/issues/${forge.request}/comments`
        : `${repoPath(forge)}/issues/comments/${id}`
      : `${repoPath(forge)}/merge_requests/${forge.request}/notes${id === undefined ? '' : `/${id}`}`;
  const method = id === undefined ? 'POST' : forge.kind === 'github' ? 'PATCH' : 'PUT';
  await call(forge, fetchFn, method, path, { body });
  return id === undefined ? 'created' : 'updated';
};

export interface CommitStatus {
  state: 'success' | 'failure' | 'error';
  context: string;
  description: string;
  targetUrl?: string;
}

/** Set the commit status (GitHub statuses API; GitLab commit status API). */
export const setCommitStatus = async (
  forge: Forge,
  fetchFn: Fetch,
  status: CommitStatus,
): Promise<void> => {
  if (!forge.sha) throw new ForgeError('no commit SHA in the environment: no status');
  const description = status.description.slice(0, 140);
  const sha = encodeURIComponent(forge.sha);
  if (forge.kind === 'github')
    await call(forge, fetchFn, 'POST', `${repoPath(forge)}/statuses/${sha}`, {
      state: status.state,
      context: status.context,
      description,
      ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
    });
  else
    await call(forge, fetchFn, 'POST', `${repoPath(forge)}/statuses/${sha}`, {
      state: status.state === 'success' ? 'success' : 'failed',
      name: status.context,
      description,
      ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
    });
};
