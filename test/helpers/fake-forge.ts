import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake GitHub REST API and GitLab API v4 on loopback, answering with the documented shapes:
 * issue comments (list with `per_page`/`page` and a `Link: <…>; rel="next"` header, each with
 * its author as `user: { login, type }`; create 201, edit 200, delete 204), commit statuses
 * (201); GitLab's current user (`GET /user`), merge request notes (list with `X-Next-Page`,
 * each with `author: { id, username }`; create 201, edit 200, delete 204) and commit statuses
 * (201). What the token creates is authored by `TOKEN_USER` (GitHub's `github-actions[bot]`,
 * as with `GITHUB_TOKEN`); a seeded comment without an author is a person's (`PERSON`). It
 * records every request and can be told to fail the next ones (403, 404, 429, 500...).
 */

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body?: Record<string, unknown>;
}

export interface Author {
  id: number;
  login: string;
  /** GitHub's `user.type`. */
  type: 'Bot' | 'User';
}

/** Who the fake's token is: what it creates is authored by this user. */
export const TOKEN_USER: Author = { id: 41898282, login: 'github-actions[bot]', type: 'Bot' };
/** The author of a seeded comment that names none. */
export const PERSON: Author = { id: 583231, login: 'octocat', type: 'User' };

export interface Comment {
  id: number;
  body: string;
  author?: Author;
}

export interface FakeForge {
  url: string;
  requests: Recorded[];
  /** GitHub issue comments and GitLab notes, by issue/MR number. */
  comments: Map<number, Comment[]>;
  statuses: Record<string, unknown>[];
  /** The next requests are answered with these statuses (and headers), first in first out. */
  failNext: { status: number; headers?: Record<string, string> }[];
  close: () => Promise<void>;
}

const readJson = async (req: IncomingMessage): Promise<Record<string, unknown> | undefined> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
};

export const startFakeForge = async (token: string): Promise<FakeForge> => {
  const requests: Recorded[] = [];
  const comments = new Map<number, Comment[]>();
  const statuses: Record<string, unknown>[] = [];
  const failNext: FakeForge['failNext'] = [];
  let nextId = 1000;
  let base = '';

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      const body = await readJson(req);
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        ...(body ? { body } : {}),
      });
      const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      };
      const fail = failNext.shift();
      if (fail) return send(fail.status, { message: 'fake failure' }, fail.headers);

      const github = req.headers.authorization === `Bearer ${token}`;
      const gitlab = req.headers['private-token'] === token;
      if (!github && !gitlab) return send(401, { message: 'Bad credentials' });

      const page = (list: Comment[]) => {
        const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
        const n = Number(url.searchParams.get('page') ?? 1);
        const items = list.slice((n - 1) * perPage, n * perPage);
        return { items, more: n * perPage < list.length, n };
      };

      let m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname);
      if (github && m) {
        const list = comments.get(Number(m[3])) ?? [];
        comments.set(Number(m[3]), list);
        if (req.method === 'GET') {
          const { items, more, n } = page(list);
          const next = new URL(url);
          next.searchParams.set('page', String(n + 1));
          return send(
            200,
            items.map(({ author: { login, type } = PERSON, ...c }) => ({
              ...c,
              user: { login, type },
            })),
            more ? { link: `<${next.href}>; rel="next"` } : {},
          );
        }
        if (req.method === 'POST') {
          const c = { id: nextId++, body: String(body?.body) };
          list.push({ ...c, author: TOKEN_USER });
          return send(201, { ...c, html_url: `${base}/c/${c.id}` });
        }
      }
      m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
      if (github && m && (req.method === 'PATCH' || req.method === 'DELETE')) {
        const id = Number(m[3]);
        const list = [...comments.values()].find((l) => l.some((x) => x.id === id));
        const c = list?.find((x) => x.id === id);
        if (!list || !c) return send(404, { message: 'Not Found' });
        if (req.method === 'DELETE') {
          list.splice(list.indexOf(c), 1);
          res.writeHead(204).end();
          return;
        }
        c.body = String(body?.body);
        return send(200, { id, body: c.body });
      }
      m = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]+)$/.exec(url.pathname);
      if (github && m && req.method === 'POST') {
        statuses.push({ sha: m[3], ...body });
        return send(201, { id: nextId++, ...body });
      }
      if (gitlab && url.pathname === '/user' && req.method === 'GET')
        return send(200, { id: TOKEN_USER.id, username: TOKEN_USER.login, bot: true });
      m = /^\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(url.pathname);
      if (gitlab && m) {
        const list = comments.get(Number(m[2])) ?? [];
        comments.set(Number(m[2]), list);
        if (req.method === 'GET' && !m[3]) {
          const { items, more, n } = page(list);
          return send(
            200,
            items.map(({ author: { id, login } = PERSON, ...c }) => ({
              ...c,
              author: { id, username: login },
            })),
            { 'x-page': String(n), 'x-next-page': more ? String(n + 1) : '' },
          );
        }
        if (req.method === 'POST' && !m[3]) {
          const c = { id: nextId++, body: String(body?.body) };
          list.push({ ...c, author: TOKEN_USER });
          return send(201, c);
        }
        const c = list.find((x) => x.id === Number(m?.[3]));
        if ((req.method === 'PUT' || req.method === 'DELETE') && m[3] && !c)
          return send(404, { message: '404 Not found' });
        if (req.method === 'PUT' && c) {
          c.body = String(body?.body);
          return send(200, { id: c.id, body: c.body });
        }
        if (req.method === 'DELETE' && c) {
          list.splice(list.indexOf(c), 1);
          res.writeHead(204).end();
          return;
        }
      }
      m = /^\/projects\/([^/]+)\/statuses\/([0-9a-f]+)$/.exec(url.pathname);
      if (gitlab && m && req.method === 'POST') {
        statuses.push({ sha: m[2], ...body });
        return send(201, { id: nextId++, ...body });
      }
      return send(404, { message: 'Not Found' });
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    comments,
    statuses,
    failNext,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
};
