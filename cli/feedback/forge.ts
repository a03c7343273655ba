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

export class ForgeError extends Error {
  constructor(
    message: string,
    /** The HTTP status the forge answered, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

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

/** On GitHub Actions or GitLab CI, the variables `detectForge` needs that are not set. */
export const forgeVariablesMissing = (env: NodeJS.ProcessEnv): string[] => {
  const needed =
    read(env, 'GITHUB_ACTIONS') === 'true'
      ? ['GITHUB_REPOSITORY']
      : read(env, 'GITLAB_CI') === 'true'
        ? ['CI_API_V4_URL', 'CI_PROJECT_ID']
        : [];
  return needed.filter((name) => !read(env, name));
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
    throw new ForgeError(explain(forge, res), res.status);
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

type Owned = (comment: Record<string, unknown>) => boolean;

/**
 * Whose comments are ours: what is found gets edited or deleted, and anyone can put the marker
 * in a comment of their own. GitHub: a bot's, as comments made with `GITHUB_TOKEN`
 * (`github-actions[bot]`) or a GitHub App token are (the job token cannot ask `GET /user`; a
 * personal access token comments as its user, and those comments are not found again).
 * GitLab: the token's own user (`GET /user`; a project access token's bot user).
 */
const ownerCheck = async (forge: Forge, fetchFn: Fetch): Promise<Owned> => {
  if (forge.kind === 'github') return (c) => isRecord(c.user) && c.user.type === 'Bot';
  const me: unknown = await (await call(forge, fetchFn, 'GET', '/user')).json();
  const id = isRecord(me) ? positive(me.id) : undefined;
  return (c) => id !== undefined && isRecord(c.author) && c.author.id === id;
};

/** The ids of our comments with this marker, oldest (lowest id) first. */
const findComments = async (
  forge: Forge,
  fetchFn: Fetch,
  marker: string,
  ours: Owned,
): Promise<number[]> => {
  const base =
    forge.kind === 'github'
      ? `${repoPath(forge)}/issues/${forge.request}/comments?per_page=100`
      : `${repoPath(forge)}/merge_requests/${forge.request}/notes?per_page=100&sort=asc&order_by=created_at`;
  const origin = new URL(forge.api).origin;
  const ids: number[] = [];
  let url: string | undefined = base;
  for (let page = 1; url && page <= MAX_PAGES; page++) {
    const res = await call(forge, fetchFn, 'GET', url);
    const list: unknown = await res.json();
    for (const c of Array.isArray(list) ? list : []) {
      // Ours start with the marker (upsertComment): one quoting it further down is not ours.
      const id =
        isRecord(c) && typeof c.body === 'string' && c.body.startsWith(marker) && ours(c)
          ? positive(c.id)
          : undefined;
      if (id) ids.push(id);
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
  return ids.sort((a, b) => a - b);
};

/**
 * Create or edit this project+suite's comment; says which it did. Parallel jobs may each find
 * none and create one: after creating, the list is read again and the oldest comment stays
 * (with this run's text), the others are deleted, so every job converges on the same one.
 */
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
  const list =
    forge.kind === 'github'
      ? `${repoPath(forge)}/issues/${forge.request}/comments`
      : `${repoPath(forge)}/merge_requests/${forge.request}/notes`;
  const one = (id: number) =>
    forge.kind === 'github' ? `${repoPath(forge)}/issues/comments/${id}` : `${list}/${id}`;
  const ours = await ownerCheck(forge, fetchFn);
  let ids = await findComments(forge, fetchFn, marker, ours);
  let created: number | undefined;
  if (ids.length === 0) {
    const res = await call(forge, fetchFn, 'POST', list, { body });
    const doc: unknown = await res.json().catch(() => undefined);
    created = isRecord(doc) ? positive(doc.id) : undefined;
    ids = await findComments(forge, fetchFn, marker, ours);
  }
  const [keep, ...extra] = ids;
  if (keep !== undefined && keep !== created)
    await call(forge, fetchFn, forge.kind === 'github' ? 'PATCH' : 'PUT', one(keep), { body });
  // Another job may be deleting the same duplicate: gone is as good as deleted.
  for (const id of extra)
    await call(forge, fetchFn, 'DELETE', one(id)).catch((e: unknown) => {
      if (!(e instanceof ForgeError && e.status === 404)) throw e;
    });
  return keep === undefined || keep === created ? 'created' : 'updated';
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
