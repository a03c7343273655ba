import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake GitHub REST API and GitLab API v4 on loopback, answering with the documented shapes:
 * issue comments (list with `per_page`/`page` and a `Link: <…>; rel="next"` header, create
 * 201, edit 200), commit statuses (201); GitLab merge request notes (list with `X-Next-Page`,
 * create 201, edit 200) and commit statuses (201). It records every request and can be told
 * to fail the next ones (403, 404, 429, 500...).
 */

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body?: Record<string, unknown>;
}

export interface Comment {
  id: number;
  body: string;
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
            items.map((c) => ({ id: c.id, body: c.body, user: { login: 'github-actions[bot]' } })),
            more ? { link: `<${next.href}>; rel="next"` } : {},
          );
        }
        if (req.method === 'POST') {
          const c = { id: nextId++, body: String(body?.body) };
          list.push(c);
          return send(201, { ...c, html_url: `${base}/c/${c.id}` });
        }
      }
      m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
      if (github && m && req.method === 'PATCH') {
        const c = [...comments.values()].flat().find((x) => x.id === Number(m?.[3]));
        if (!c) return send(404, { message: 'Not Found' });
        c.body = String(body?.body);
        return send(200, c);
      }
      m = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]+)$/.exec(url.pathname);
      if (github && m && req.method === 'POST') {
        statuses.push({ sha: m[3], ...body });
        return send(201, { id: nextId++, ...body });
      }
      m = /^\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(url.pathname);
      if (gitlab && m) {
        const list = comments.get(Number(m[2])) ?? [];
        comments.set(Number(m[2]), list);
        if (req.method === 'GET' && !m[3]) {
          const { items, more, n } = page(list);
          return send(200, items, {
            'x-page': String(n),
            'x-next-page': more ? String(n + 1) : '',
          });
        }
        if (req.method === 'POST' && !m[3]) {
          const c = { id: nextId++, body: String(body?.body) };
          list.push(c);
          return send(201, c);
        }
        if (req.method === 'PUT' && m[3]) {
          const c = list.find((x) => x.id === Number(m?.[3]));
          if (!c) return send(404, { message: '404 Not found' });
          c.body = String(body?.body);
          return send(200, c);
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
