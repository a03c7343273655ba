#!/usr/bin/env nodeimport{randomUUID as _t, createHash as wt}from"node:crypto";
import { readdir as an, readFile as Rt } from 'node:fs/promises';
import { normalize as At, relative as cn, join as ze } from 'node:path';
import { setTimeout as Et } from 'node:timers/promises';
import { parseArgs as Ct } from 'node:util';
import { gzipSync as St, gunzipSync as vt } from 'node:zlib';
var Ze = /^(?:(?:TN|SF|VER|FN|FNDA|FNF|FNH|FNL|FNA|DA|BRDA|BRF|BRH|LF|LH):|end_of_record$)/,
  et = (e) => {
    let t = 0,
      n = Math.min(e.length, 64 * 1024);
    for (; t < n; ) {
      const r = e.indexOf('<', t);
      if (r < 0 || r >= n) return;
      const s = e[r + 1];
      if (s === '?') {
        const o = e.indexOf('?>', r + 2);
        if (o < 0) return;
        t = o + 2;
      } else if (e.startsWith('<!--', r)) {
        const o = e.indexOf('-->', r + 4);
        if (o < 0) return;
        t = o + 3;
      } else if (s === '!') {
        const o = e.indexOf('>', r),
          i = e.indexOf('[', r);
        if (o < 0 || (i >= 0 && i < o)) return '!DOCTYPE';
        t = o + 1;
      } else return /^<([A-Za-z_][\w.:-]*)/.exec(e.slice(r, r + 256))?.[1];
    }
  },
  me = (e) => {
    const t = e.search(/\S/);
    if (t < 0) return { syntax: 'empty' };
    const n = e.slice(t, t + 512).toLowerCase();
    if (n.startsWith('<!doctype html') || n.startsWith('<html')) return { syntax: 'html' };
    const r = e[t];
    if (r === '<') {
      const s = et(e);
      return s?.toLowerCase() === 'html' ? { syntax: 'html' } : { syntax: 'xml', root: s };
    }
    return r === '{' || r === '[' ? { syntax: 'json' } : { syntax: 'text' };
  },
  fe = (e) => {
    if (e === 'testsuites' || e === 'testsuite') return 'junit';
    if (e === 'coverage') return 'cobertura';
  },
  pe = (e) => {
    const t = e.slice(0, 4096),
      n = t.split(`
`);
    e.length > t.length && n.length > 1 && n.pop();
    const r = n
      .slice(0, 20)
      .map((s, o) => (o === 0 ? s.replace(/^\uFEFF/, '') : s).trim())
      .filter((s) => s !== '');
    return r.length > 0 && r.some((s) => s.startsWith('SF:')) && r.every((s) => Ze.test(s));
  },
  A = (e) => typeof e == 'object' && e !== null && !Array.isArray(e),
  ge = (e) => {
    if (Array.isArray(e)) {
      const t = e[0];
      return A(t) && typeof t.name == 'string' && 'unit' in t && 'value' in t
        ? 'benchmark'
        : void 0;
    }
    if (A(e)) {
      if (Array.isArray(e.testResults) && ('numTotalTests' in e || 'numPassedTests' in e))
        return 'jest';
      if (A(e.total) && A(e.total.lines) && 'covered' in e.total.lines) return 'istanbul';
      if (A(e.aggregate) && (A(e.aggregate.counters) || 'intermediate' in e)) return 'artillery';
      if (
        (A(e.results) && Array.isArray(e.results.metrics) && A(e.metadata)) ||
        (A(e.metrics) && (A(e.root_group) || A(e.state)))
      )
        return 'k6';
      if (
        (Array.isArray(e.benchmarks) && ('machine_info' in e || 'commit_info' in e)) ||
        (Array.isArray(e.results) && A(e.results[0]) && 'command' in e.results[0]) ||
        (Array.isArray(e.files) && A(e.files[0]) && 'groups' in e.files[0])
      )
        return 'benchmark';
    }
  };
var q = ['junit', 'jest', 'istanbul', 'lcov', 'cobertura', 'k6', 'artillery', 'benchmark'];
var m = (e, t) => {
    const n = e[t]?.trim();
    return n || void 0;
  },
  W = (e, t) => {
    const n = m(e, t)?.toLowerCase();
    return n !== void 0 && n !== 'false' && n !== '0';
  },
  ee = (...e) => e.find((t) => t !== void 0),
  he = (e, ...t) => {
    const n = t.filter((r) => r !== void 0);
    return n.length > 0 ? n.join(e) : void 0;
  },
  H = (e, t, ...n) => (t === void 0 ? void 0 : [e, t, ...n.map((r) => r ?? '')].join(':')),
  B = (e) => {
    const t = {};
    for (const n of ['provider', 'branch', 'base', 'commit', 'ci', 'runKey']) {
      const r = e[n];
      r !== void 0 && (t[n] = r);
    }
    return t;
  },
  tt = (e) => e?.replace(/^refs\/heads\//, '').replace(/^(refs\/remotes\/)?origin\//, ''),
  nt = (e) => {
    const t = m(e, 'GITHUB_JOB');
    return {
      provider: 'github-actions',
      branch: ee(m(e, 'GITHUB_HEAD_REF'), m(e, 'GITHUB_REF_NAME')),
      base: m(e, 'GITHUB_BASE_REF'),
      commit: m(e, 'GITHUB_SHA'),
      ci: he('/', m(e, 'GITHUB_WORKFLOW'), t),
      runKey: H('github', m(e, 'GITHUB_RUN_ID'), m(e, 'GITHUB_RUN_ATTEMPT') ?? '1', t),
    };
  },
  rt = (e) => ({
    provider: 'gitlab',
    branch: ee(m(e, 'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME'), m(e, 'CI_COMMIT_REF_NAME')),
    base: m(e, 'CI_MERGE_REQUEST_TARGET_BRANCH_NAME'),
    commit: m(e, 'CI_COMMIT_SHA'),
    ci: m(e, 'CI_JOB_NAME'),
    runKey: H('gitlab', m(e, 'CI_JOB_ID')),
  }),
  st = (e) => ({
    provider: 'circleci',
    branch: m(e, 'CIRCLE_BRANCH'),
    commit: m(e, 'CIRCLE_SHA1'),
    ci: m(e, 'CIRCLE_JOB'),
    runKey: H('circleci', m(e, 'CIRCLE_WORKFLOW_ID'), m(e, 'CIRCLE_BUILD_NUM')),
  }),
  ot = (e) => {
    const t = m(e, 'BUILDKITE_COMMIT'),
      n = m(e, 'BUILDKITE_PULL_REQUEST_BASE_BRANCH');
    return {
      provider: 'buildkite',
      branch: m(e, 'BUILDKITE_BRANCH'),
      base: n === 'false' ? void 0 : n,
      commit: t === 'HEAD' ? void 0 : t,
      ci: he('/', m(e, 'BUILDKITE_PIPELINE_SLUG'), m(e, 'BUILDKITE_LABEL')),
      runKey: H(
        'buildkite',
        m(e, 'BUILDKITE_BUILD_ID'),
        m(e, 'BUILDKITE_JOB_ID'),
        m(e, 'BUILDKITE_RETRY_COUNT') ?? '0',
      ),
    };
  },
  it = (e) => ({
    provider: 'jenkins',
    branch: ee(m(e, 'CHANGE_BRANCH'), m(e, 'BRANCH_NAME'), tt(m(e, 'GIT_BRANCH'))),
    base: m(e, 'CHANGE_TARGET'),
    commit: m(e, 'GIT_COMMIT'),
    ci: m(e, 'JOB_NAME'),
    runKey: H('jenkins', m(e, 'BUILD_TAG')),
  }),
  be = (e) =>
    W(e, 'GITHUB_ACTIONS')
      ? B(nt(e))
      : W(e, 'GITLAB_CI')
        ? B(rt(e))
        : W(e, 'CIRCLECI')
          ? B(st(e))
          : W(e, 'BUILDKITE')
            ? B(ot(e))
            : m(e, 'JENKINS_URL') !== void 0
              ? B(it(e))
              : {};
var T = (e) => typeof e == 'object' && e !== null && !Array.isArray(e),
  x = (e) => (typeof e == 'string' ? e : void 0),
  G = (e) => (typeof e == 'number' && Number.isFinite(e) ? e : void 0),
  X = (e) => Math.max(0, Math.floor(G(e) ?? 0)),
  v = (e, t = 300) => {
    const n = e.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
    return n.length > t ? `${n.slice(0, t - 1)}\u2026` : n;
  },
  ye = (e) =>
    (Array.isArray(e) ? e : []).filter(T).map((t) => {
      const n = x(t.message),
        r = x(t.file);
      return {
        suite: x(t.suite) ?? '',
        classname: x(t.classname) ?? '',
        name: x(t.name) ?? '?',
        ...(n ? { message: n } : {}),
        ...(r ? { file: r } : {}),
      };
    }),
  at = (e) => {
    if (!T(e)) return;
    const t = G(e.pct);
    return {
      coverable: X(e.coverable),
      covered: X(e.covered),
      pct: t ?? null,
      files: (Array.isArray(e.files) ? e.files : [])
        .filter(T)
        .map((n) => ({
          path: x(n.path) ?? '?',
          uncovered: (Array.isArray(n.uncovered) ? n.uncovered : []).filter(
            (r) => Number.isInteger(r) && r > 0,
          ),
        })),
    };
  },
  $e = (e, t) => {
    const n = T(t.gate) ? t.gate : {},
      r = T(t.failures) ? t.failures : {},
      s = T(t.summary) ? t.summary : {},
      o = x(t.runId),
      i = x(t.kind),
      c = at(s.patch);
    return {
      file: e,
      ...(o ? { runId: o } : {}),
      ...(i ? { kind: i } : {}),
      gate: n.status === 'pass' || n.status === 'fail' ? n.status : 'none',
      checks: (Array.isArray(n.checks) ? n.checks : []).filter(T).map((u) => {
        const a = x(u.message),
          f = G(u.actual),
          d = G(u.threshold);
        return {
          id: x(u.id) ?? 'check',
          status: x(u.status) ?? '?',
          ...(a ? { message: a } : {}),
          ...(f === void 0 ? {} : { actual: f }),
          ...(d === void 0 ? {} : { threshold: d }),
        };
      }),
      summary: s,
      failed: ye(r.failed),
      moreFailed: X(r.moreFailed),
      flaky: ye(r.flaky),
      moreFlaky: X(r.moreFlaky),
      warnings: (Array.isArray(t.warnings) ? t.warnings : []).filter((u) => typeof u == 'string'),
      ...(c ? { patch: c } : {}),
    };
  },
  P = (e) => {
    const t = [];
    for (const n of [e.suite, e.classname, e.name]) n && t.at(-1) !== n && t.push(n);
    return t.join(' \u203A ');
  },
  ke = (e) => (e.includes('fail') ? 'fail' : e.includes('pass') ? 'pass' : 'none');
import { appendFile as It } from 'node:fs/promises';
var D = 10,
  Te = (e) => e.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'),
  ct = (e) => Te(e).replace(/:/g, '%3A').replace(/,/g, '%2C'),
  te = (e, t, n) => {
    const r = Object.entries(t)
      .filter((s) => s[1] !== void 0 && s[1] !== '')
      .map(([s, o]) => `${s}=${ct(o)}`)
      .join(',');
    return `::${e}${r ? ` ${r}` : ''}::${Te(n)}`;
  },
  Ie = (e, t) => {
    const n = e.replaceAll('\\', '/'),
      r = t?.replaceAll('\\', '/').replace(/\/+$/, '');
    return r && n.startsWith(`${r}/`) ? n.slice(r.length + 1) : n.replace(/^\.\//, '');
  },
  we = (e, t) => {
    let n = [],
      r = [],
      s = 0,
      o = 0;
    for (const a of e) {
      (s += a.failed.length + a.moreFailed), (o += a.flaky.length + a.moreFlaky);
      for (const f of a.failed)
        n.push(
          te(
            'error',
            { file: f.file && Ie(v(f.file, 500), t), title: `Failed: ${v(P(f), 200)}` },
            v(f.message ?? 'failed', 1e3),
          ),
        );
      for (const f of a.flaky)
        r.push(
          te(
            'warning',
            { file: f.file && Ie(v(f.file, 500), t), title: `Flaky: ${v(P(f), 200)}` },
            'Passed only after a retry.',
          ),
        );
    }
    const i = [...n.slice(0, D), ...r.slice(0, D)],
      c = s - Math.min(n.length, D),
      u = o - Math.min(r.length, D);
    return (
      (c > 0 || u > 0) &&
        i.push(
          te(
            'notice',
            { title: 'Vigil: more results than annotations' },
            `${c} failed and ${u} flaky tests are not annotated (GitHub shows at most ${D} of each kind per step); see the job summary and log.`,
          ),
        ),
      i
    );
  };
import { readFile as ut } from 'node:fs/promises';
var L = class extends Error {},
  E = (e, t) => {
    const n = e[t]?.trim();
    return n || void 0;
  },
  z = (e) =>
    typeof e == 'number' && Number.isInteger(e) && e > 0
      ? e
      : typeof e == 'string' && /^[1-9]\d{0,9}$/.test(e)
        ? Number(e)
        : void 0,
  dt = async (e) => {
    if (!e) return {};
    try {
      const t = JSON.parse(await ut(e, 'utf8'));
      if (!T(t) || !T(t.pull_request)) return {};
      const n = t.pull_request,
        r = T(n.head) && typeof n.head.sha == 'string' ? n.head.sha : void 0,
        s = z(n.number) ?? z(t.number);
      return { ...(s ? { request: s } : {}), ...(r ? { head: r } : {}) };
    } catch {
      return {};
    }
  },
  _e = async (e) => {
    if (E(e, 'GITHUB_ACTIONS') === 'true') {
      const t = E(e, 'GITHUB_REPOSITORY');
      if (!t) return;
      const n = await dt(E(e, 'GITHUB_EVENT_PATH')),
        r = E(e, 'GITHUB_TOKEN'),
        s = n.head ?? E(e, 'GITHUB_SHA');
      return {
        kind: 'github',
        api: (E(e, 'GITHUB_API_URL') ?? 'https://api.github.com').replace(/\/+$/, ''),
        repo: t,
        ...(r ? { token: r } : {}),
        ...(n.request ? { request: n.request } : {}),
        ...(s ? { sha: s } : {}),
      };
    }
    if (E(e, 'GITLAB_CI') === 'true') {
      const t = E(e, 'CI_API_V4_URL'),
        n = E(e, 'CI_PROJECT_ID');
      if (!t || !n) return;
      const r = E(e, 'VIGIL_GITLAB_TOKEN') ?? E(e, 'GITLAB_TOKEN'),
        s = z(E(e, 'CI_MERGE_REQUEST_IID')),
        o = E(e, 'CI_COMMIT_SHA');
      return {
        kind: 'gitlab',
        api: t.replace(/\/+$/, ''),
        repo: n,
        ...(r ? { token: r } : {}),
        ...(s ? { request: s } : {}),
        ...(o ? { sha: o } : {}),
      };
    }
  },
  Re = { github: 'GitHub', gitlab: 'GitLab' },
  lt = (e, t) => {
    const n = Re[e.kind],
      r = t.status;
    return r === 429 || (r === 403 && t.headers.get('x-ratelimit-remaining') === '0')
      ? `${n} rate limit reached (HTTP ${r}); try again later`
      : r === 401
        ? `${n} rejected the token (HTTP 401)`
        : r === 403
          ? e.kind === 'github'
            ? 'GitHub refused (HTTP 403): the token may not write here; pull requests from forks get a read-only GITHUB_TOKEN, and the job needs `permissions: pull-requests: write, statuses: write`'
            : 'GitLab refused (HTTP 403): the token needs the api scope and at least the Reporter role'
          : r === 404
            ? `${n} answered 404: check the repository, the request number and that the token can see them`
            : r >= 500
              ? `${n} failed (HTTP ${r}); try again later`
              : `${n} answered HTTP ${r}`;
  },
  Y = async (e, t, n, r, s) => {
    if (!e.token)
      throw new L(
        e.kind === 'github'
          ? 'no GITHUB_TOKEN in the environment (set it from github.token, or use the action)'
          : 'no VIGIL_GITLAB_TOKEN in the environment (a project access token with the api scope)',
      );
    const o =
      e.kind === 'github'
        ? {
            authorization: `Bearer ${e.token}`,
            accept: 'application/vnd.github+json',
            'x-github-api-version': '2022-11-28',
            'user-agent': 'vigil-report',
          }
        : { 'private-token': e.token };
    s !== void 0 && (o['content-type'] = 'application/json');
    let i;
    try {
      i = await t(r.startsWith('http') ? r : `${e.api}${r}`, {
        method: n,
        headers: o,
        ...(s === void 0 ? {} : { body: JSON.stringify(s) }),
        redirect: 'error',
        signal: AbortSignal.timeout(15e3),
      });
    } catch (c) {
      throw new L(
        `${Re[e.kind]} could not be reached: ${c instanceof Error ? c.message : String(c)}`,
      );
    }
    if (!i.ok) throw (await i.body?.cancel(), new L(lt(e, i)));
    return i;
  },
  M = (e) =>
    e.kind === 'github'
      ? `/repos/${e.repo.split('/').map(encodeURIComponent).join('/')}`
      : `/projects/${encodeURIComponent(e.repo)}`,
  Ae = (e, t) => `<!-- vigil-report ${encodeURIComponent(e)} ${encodeURIComponent(t ?? '')} -->`,
  mt = 50,
  ft = (e) =>
    e
      ?.split(',')
      .map((t) => /<([^>]+)>\s*;\s*rel="next"/.exec(t)?.[1])
      .find((t) => t !== void 0),
  pt = async (e, t, n) => {
    let r =
        e.kind === 'github'
          ? `${M(e)}/issues/${e.request}/comments?per_page=100`
          : `${M(e)}/merge_requests/${e.request}/notes?per_page=100&sort=asc&order_by=created_at`,
      s = new URL(e.api).origin,
      o = r;
    for (let i = 1; o && i <= mt; i++) {
      const c = await Y(e, t, 'GET', o),
        u = await c.json();
      for (const a of Array.isArray(u) ? u : [])
        if (T(a) && typeof a.body == 'string' && a.body.includes(n)) {
          const f = z(a.id);
          if (f) return f;
        }
      if (e.kind === 'github') {
        const a = ft(c.headers.get('link'));
        o = a && new URL(a).origin === s ? a : void 0;
      } else {
        const a = c.headers.get('x-next-page');
        o = a && /^\d+$/.test(a) ? `${r}&page=${a}` : void 0;
      }
    }
  },
  Ee = async (e, t, n, r) => {
    if (e.request === void 0)
      throw new L(
        e.kind === 'github'
          ? 'not a pull request run (no pull_request in the event payload): no comment'
          : 'not a merge request pipeline (no CI_MERGE_REQUEST_IID): no comment',
      );
    const s = `${n}
${r}`,
      o = await pt(e, t, n),
      i =
        e.kind === 'github'
          ? o === void 0
            ? `${M(e)}/issues/${e.request}/comments`
            : `${M(e)}/issues/comments/${o}`
          : `${M(e)}/merge_requests/${e.request}/notes${o === void 0 ? '' : `/${o}`}`,
      c = o === void 0 ? 'POST' : e.kind === 'github' ? 'PATCH' : 'PUT';
    return (await Y(e, t, c, i, { body: s }), o === void 0 ? 'created' : 'updated');
  },
  Ce = async (e, t, n) => {
    if (!e.sha) throw new L('no commit SHA in the environment: no status');
    const r = n.description.slice(0, 140),
      s = encodeURIComponent(e.sha);
    e.kind === 'github'
      ? await Y(e, t, 'POST', `${M(e)}/statuses/${s}`, {
          state: n.state,
          context: n.context,
          description: r,
          ...(n.targetUrl ? { target_url: n.targetUrl } : {}),
        })
      : await Y(e, t, 'POST', `${M(e)}/statuses/${s}`, {
          state: n.state === 'success' ? 'success' : 'failed',
          name: n.context,
          description: r,
          ...(n.targetUrl ? { target_url: n.targetUrl } : {}),
        });
  };
var U = 20,
  ve = (e, t, n, r, s) => {
    const o = n.length + r;
    if (o === 0) return [];
    const i = [`${e} (${o}):`];
    for (const u of n.slice(0, U)) {
      const a = s && u.message ? `: ${v(u.message, 200)}` : '';
      i.push(`  ${t} ${v(P(u))}${a}`);
    }
    const c = o - Math.min(n.length, U);
    return (c > 0 && i.push(`  \u2026 and ${c} more`), i);
  },
  Se = (e) => [
    ...ve('failed tests', '\u2716', e.failed, e.moreFailed, !0),
    ...ve('flaky tests (passed on retry)', '~', e.flaky, e.moreFlaky, !1),
  ],
  ne = (e) => {
    const t = [...e].sort((r, s) => r - s),
      n = [];
    for (let r = 0; r < t.length; ) {
      let s = t[r],
        o = s;
      for (; t[r + 1] === o + 1; ) o++, r++;
      r++, n.push(s === o ? String(s) : `${s}-${o}`);
    }
    return n.join(', ');
  },
  xe = (e) => {
    const t = e.patch;
    if (!t) return [];
    const n = [
      `patch coverage: ${t.pct === null ? 'no coverable changed lines' : `${t.pct}% (${t.covered}/${t.coverable} changed lines)`}`,
    ];
    for (const r of t.files.slice(0, U))
      r.uncovered.length > 0 && n.push(`  ${v(r.path)}: not covered ${ne(r.uncovered)}`);
    return n;
  };
var I = (e, t = 300) =>
    v(e, t)
      .replace(/[\\`*_{}[\]()#+\-.!|~>]/g, (n) => `\\${n}`)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/@/g, '&#64;'),
  Le = { pass: '\u2705', fail: '\u274C', none: '\u2796' },
  je = { pass: '\u2705', fail: '\u274C', skip: '\u2796' },
  Pe = { pass: 'passed', fail: 'failed', none: 'no gate' },
  re = (e, t, n) =>
    `${e.replace(/\/+$/, '')}/#/projects/${encodeURIComponent(t)}/runs/${encodeURIComponent(n)}`,
  K = (e) => (Math.abs(e) >= 1e3 ? String(Math.round(e)) : String(Number(e.toPrecision(4)))),
  gt = (e) =>
    e.length === 0
      ? []
      : [
          '| Check | Result | Detail |',
          '| --- | --- | --- |',
          ...e.map(
            (t) =>
              `| ${I(t.id, 80)} | ${je[t.status] ?? I(t.status, 10)} | ${I(t.message ?? '', 400)} |`,
          ),
        ],
  Fe = (e, t, n, r) => {
    const s = t.length + n;
    if (s === 0) return [];
    const o = ['', `**${e} (${s})**`, ''];
    for (const c of t.slice(0, U)) {
      const u = c.file ? ` (${I(c.file, 200)})` : '',
        a = r && c.message ? `: ${I(c.message, 300)}` : '';
      o.push(`- ${I(P(c))}${u}${a}`);
    }
    const i = s - Math.min(t.length, U);
    return (i > 0 && o.push(`- \u2026 and ${i} more`), o);
  },
  ht = (e) => {
    if (e.kind !== 'coverage') return [];
    const t = [];
    for (const s of ['lines', 'branches', 'functions', 'statements']) {
      const o = e.summary[s],
        i = T(o) ? G(o.pct) : void 0;
      i !== void 0 && t.push(`${s} ${K(i)}%`);
    }
    const n = t.length ? ['', `Coverage: ${t.join(', ')}`] : [];
    for (const s of e.checks)
      s.id.startsWith('coverage.drop.') && s.message && n.push(`- ${I(s.message, 400)}`);
    const r = e.patch;
    if (r) {
      n.push(
        '',
        r.pct === null
          ? 'Patch coverage: no coverable changed lines'
          : `Patch coverage: **${K(r.pct)}%** (${r.covered} of ${r.coverable} changed lines)`,
      );
      const s = r.files.filter((o) => o.uncovered.length > 0);
      s.length && n.push('', '| File | Changed lines not covered |', '| --- | --- |');
      for (const o of s.slice(0, 50))
        n.push(`| ${I(o.path, 200)} | ${ne(o.uncovered).slice(0, 500)} |`);
      s.length > 50 && n.push(`| \u2026 and ${s.length - 50} more files | |`);
    }
    return n;
  },
  bt = (e, t) => (t === 0 ? '' : `${e >= t ? '+' : '\u2212'}${K(Math.abs(((e - t) / t) * 100))}%`),
  yt = (e) => {
    const t = e.checks.filter(
      (n) => n.id.startsWith('benchmark.') && n.status !== 'skip' && n.threshold !== void 0,
    );
    return t.length === 0
      ? []
      : [
          '',
          '| Benchmark check | Value | Base | Change | Verdict |',
          '| --- | --- | --- | --- | --- |',
          ...t.map((n) => {
            const r = n.actual ?? Number.NaN,
              s = n.threshold ?? Number.NaN;
            return `| ${I(n.id, 120)} | ${K(r)} | ${K(s)} | ${bt(r, s)} | ${je[n.status] ?? ''} ${I(n.message ?? '', 300)} |`;
          }),
        ];
  },
  $t = (e) => {
    if (e.kind !== 'load') return [];
    const t = (Array.isArray(e.summary.thresholds) ? e.summary.thresholds : []).filter(T);
    return t.length === 0
      ? []
      : [
          '',
          '| Load threshold | Result |',
          '| --- | --- |',
          ...t.map(
            (n) =>
              `| ${I(String(n.name ?? '?'), 200)} | ${n.passed === !0 ? '\u2705' : '\u274C'} |`,
          ),
        ];
  },
  kt = (e, t) => {
    const n = t.runId ? ` \xB7 [run](${re(e.endpoint, e.project, t.runId)})` : '';
    return [
      '',
      `#### ${Le[t.gate]} ${I(t.file, 200)}: ${I(t.kind ?? 'report', 20)}, ${Pe[t.gate]}${n}`,
      '',
      ...gt(t.checks),
      ...Fe('Failed tests', t.failed, t.moreFailed, !0),
      ...Fe('Flaky tests (passed on retry)', t.flaky, t.moreFlaky, !1),
      ...ht(t),
      ...yt(t),
      ...$t(t),
      ...t.warnings.slice(0, 10).map((r) => `> \u26A0\uFE0F ${I(r, 300)}`),
    ];
  },
  Ne = 6e4,
  se = (e) =>
    e.problems.length > 0 && e.delivered.every((t) => t.gate !== 'fail')
      ? 'none'
      : ke(e.delivered.map((t) => t.gate)),
  oe = (e) => `Vigil: ${e.project}${e.suite ? ` (${e.suite})` : ''}`,
  Me = (e) => {
    const t = se(e),
      r = [
        `### ${Le[t]} ${I(oe(e), 200)}: ${Pe[t]}${e.commit ? ` at \`${e.commit.slice(0, 12).replace(/[^0-9A-Za-z._-]/g, '')}\`` : ''}`,
      ];
    for (const o of e.problems) r.push('', `> \u2757 ${I(o, 400)}`);
    for (const o of e.delivered) r.push(...kt(e, o));
    let s = `${r.join(`
`)}
`;
    return (
      s.length > Ne &&
        (s = `${s.slice(0, Ne)}

\u2026 (cut: the full results are in the job log)
`),
      s
    );
  };
var ie = (e) => (e instanceof L || e instanceof Error ? e.message : String(e)),
  Oe = async (e, t, n) => {
    const { env: r } = n;
    if (r.GITHUB_ACTIONS === 'true' && t.annotations)
      for (const u of we(e.delivered, r.GITHUB_WORKSPACE)) n.out(u);
    const o = Me(e),
      i = r.GITHUB_STEP_SUMMARY?.trim();
    if (i)
      try {
        await (n.appendFile ?? It)(i, o);
      } catch (u) {
        n.err(`\u26A0 Vigil: could not write the job summary: ${ie(u)}`);
      }
    if (!t.comment && !t.status) return;
    const c = await _e(r);
    if (!c) {
      n.err(
        '\u26A0 Vigil: --comment and --status work on GitHub Actions and GitLab CI only; skipped',
      );
      return;
    }
    if (t.comment)
      try {
        const u = await Ee(c, n.fetch, Ae(e.project, e.suite), o);
        n.out(`Vigil: ${c.kind === 'github' ? 'pull' : 'merge'} request comment ${u}`);
      } catch (u) {
        n.err(
          `\u26A0 Vigil: no ${c.kind === 'github' ? 'pull' : 'merge'} request comment: ${ie(u)}`,
        );
      }
    if (t.status) {
      const u = se(e),
        a = e.delivered.find((l) => l.runId),
        f = e.delivered.filter((l) => l.gate === 'fail').length,
        d =
          e.problems.length > 0 && u !== 'fail'
            ? `${e.problems.length} report(s) got no verdict`
            : u === 'fail'
              ? `gate failed in ${f} of ${e.delivered.length} report(s)`
              : u === 'pass'
                ? 'gate passed'
                : 'no gate applied';
      try {
        await Ce(c, n.fetch, {
          state: u === 'fail' ? 'failure' : e.problems.length > 0 ? 'error' : 'success',
          context: `vigil/${e.project}${e.suite ? `/${e.suite}` : ''}`,
          description: `${oe(e)}: ${d}`,
          ...(a?.runId ? { targetUrl: re(e.endpoint, e.project, a.runId) } : {}),
        }),
          n.out(`Vigil: commit status set (${u})`);
      } catch (l) {
        n.err(`\u26A0 Vigil: no commit status: ${ie(l)}`);
      }
    }
  };
import { execFile as Tt } from 'node:child_process';
var Ge =
    (e, t = process.env) =>
    (n) =>
      new Promise((r) => {
        Tt(
          'git',
          [...n],
          {
            cwd: e,
            env: { ...t, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' },
            maxBuffer: 64 * 1024 * 1024,
            timeout: 3e4,
            encoding: 'utf8',
          },
          (s, o, i) => r({ ok: s === null, stdout: o, stderr: i }),
        );
      }),
  Ue = async (e) => {
    const [t, n] = await Promise.all([
        e(['rev-parse', '--verify', '-q', 'HEAD']),
        e(['symbolic-ref', '-q', '--short', 'HEAD']),
      ]),
      r = t.ok ? t.stdout.trim() : '',
      s = n.ok ? n.stdout.trim() : '';
    return { ...(s ? { branch: s } : {}), ...(r ? { commit: r } : {}) };
  };
var g = { ok: 0, gateFailed: 1, usage: 2, rejected: 3, unreachable: 4 },
  Be = `Usage: vigil report <files...> --endpoint URL --project P [options]

Uploads each report to {endpoint}/v1/results and prints the gate verdict.

Options:
  --endpoint URL        Vigil endpoint (env VIGIL_ENDPOINT)
  --project P           project name (env VIGIL_PROJECT)
  --format F            report format for every file: ${q.join(', ')}
                        (default: detected per file, else left to the server)
  --suite S             suite name
  --branch B            branch (default: from the CI environment)
  --base B              branch to compare benchmarks, load and coverage with (default: the
                        pull/merge request's target branch from the CI environment, else the
                        server's default branch)
  --commit C            commit SHA (default: from the CI environment)
  --ci NAME             CI job name (default: from the CI environment)
  --run-id R            run id (default: derived from project, CI run, path and content;
                        with several files each gets the suffix -<index>)
  --allow-unreachable   warn instead of failing when the endpoint cannot be reached
  --json                print one JSON line per file instead of the summary
  --comment             create or update one pull/merge request comment per project and
                        suite with the results (GitHub: GITHUB_TOKEN; GitLab:
                        VIGIL_GITLAB_TOKEN)
  --status              set the commit status vigil/<project>[/<suite>] with the verdict
  --timeout-ms N        per-request timeout (default 30000)
  --retries N           retries after the first attempt on network errors, 429 and 5xx
                        (default 3)
  -h, --help            show this help

The token is read from VIGIL_TOKEN only.

Exit codes: 0 gates passed or none, 1 a gate failed, 2 usage error or unreadable file,
3 a report was rejected (4xx), 4 endpoint unreachable or 5xx after retries.
`,
  xt = 3e4,
  Ft = 3,
  Nt = 500,
  Lt = 3e4,
  jt = 6e4,
  Pt = (e) => q.includes(e),
  C = (e) => {
    const t = e?.trim();
    return t || void 0;
  },
  He = (e, t, n, r, s) => {
    if (e === void 0) return n;
    if (!/^\d+$/.test(e)) return `${t} must be a whole number, got '${e}'`;
    const o = Number(e);
    return o < r || o > s ? `${t} must be between ${r} and ${s}` : o;
  },
  Mt = (e) => {
    let t;
    try {
      t = new URL(e);
    } catch {
      return `endpoint '${e}' is not a URL`;
    }
    return t.protocol !== 'http:' && t.protocol !== 'https:'
      ? `endpoint must be an http(s) URL, got ${t.protocol}`
      : t.username || t.password
        ? 'endpoint must not contain credentials; set VIGIL_TOKEN instead'
        : t.search || t.hash
          ? 'endpoint must not contain a query or fragment'
          : ((t.pathname = `${t.pathname.replace(/\/+$/, '')}/v1/results`), t);
  },
  Ot = (e, t) => {
    if (e.some((_) => _ === '--token' || _.startsWith('--token=')))
      return {
        kind: 'error',
        problems: [
          '--token is not accepted: put the token in the VIGIL_TOKEN environment variable',
        ],
      };
    let n, r;
    try {
      ({ values: n, positionals: r } = Ct({
        args: e,
        allowPositionals: !0,
        strict: !0,
        options: {
          endpoint: { type: 'string' },
          project: { type: 'string' },
          format: { type: 'string' },
          suite: { type: 'string' },
          branch: { type: 'string' },
          base: { type: 'string' },
          commit: { type: 'string' },
          ci: { type: 'string' },
          'run-id': { type: 'string' },
          'allow-unreachable': { type: 'boolean' },
          json: { type: 'boolean' },
          comment: { type: 'boolean' },
          status: { type: 'boolean' },
          'timeout-ms': { type: 'string' },
          retries: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }));
    } catch (_) {
      return { kind: 'error', problems: [_ instanceof Error ? _.message : String(_)] };
    }
    if (n.help) return { kind: 'help' };
    const s = [],
      o = r.filter((_) => _.length > 0);
    o.length === 0 && s.push('no report files given');
    let i = C(n.endpoint) ?? C(t.VIGIL_ENDPOINT),
      c;
    if (i === void 0) s.push('no endpoint: pass --endpoint or set VIGIL_ENDPOINT');
    else {
      const _ = Mt(i);
      typeof _ == 'string' ? s.push(_) : (c = _);
    }
    const u = C(n.project) ?? C(t.VIGIL_PROJECT);
    u === void 0 && s.push('no project: pass --project or set VIGIL_PROJECT');
    const a = C(t.VIGIL_TOKEN);
    a === void 0 && s.push('no token: set the VIGIL_TOKEN environment variable');
    let f,
      d = C(n.format);
    d !== void 0 &&
      (Pt(d) ? (f = d) : s.push(`unknown --format '${d}'; expected one of ${q.join(', ')}`));
    const l = He(n['timeout-ms'], '--timeout-ms', xt, 1, 6e5);
    typeof l == 'string' && s.push(l);
    const w = He(n.retries, '--retries', Ft, 0, 10);
    if (
      (typeof w == 'string' && s.push(w),
      s.length > 0 ||
        c === void 0 ||
        u === void 0 ||
        a === void 0 ||
        typeof l == 'string' ||
        typeof w == 'string')
    )
      return { kind: 'error', problems: s };
    const N = be(t);
    return {
      kind: 'ok',
      options: {
        files: o,
        url: c,
        project: u,
        token: a,
        format: f,
        suite: C(n.suite),
        branch: C(n.branch) ?? N.branch,
        base: C(n.base) ?? N.base,
        commit: C(n.commit) ?? N.commit,
        ci: C(n.ci) ?? N.ci,
        runKey: N.runKey,
        runId: C(n['run-id']),
        allowUnreachable: n['allow-unreachable'] === !0,
        json: n.json === !0,
        comment: n.comment === !0,
        status: n.status === !0,
        timeoutMs: l,
        retries: w,
      },
    };
  },
  $ = { xml: 'application/xml', json: 'application/json', text: 'text/plain' },
  Gt = {
    junit: $.xml,
    cobertura: $.xml,
    jest: $.json,
    istanbul: $.json,
    k6: $.json,
    artillery: $.json,
    benchmark: $.json,
    lcov: $.text,
  },
  Ut = (e) => e[0] === 31 && e[1] === 139,
  Bt = (e) => {
    const t = me(e);
    switch (t.syntax) {
      case 'xml': {
        const n = fe(t.root);
        return n
          ? { format: n, contentType: $.xml }
          : { contentType: $.xml, why: `unknown XML root <${t.root ?? '?'}>` };
      }
      case 'json': {
        let n;
        try {
          n = JSON.parse(e.replace(/^\uFEFF/, ''));
        } catch {
          return { contentType: $.json, why: 'not valid JSON' };
        }
        const r = ge(n);
        return r
          ? { format: r, contentType: $.json }
          : { contentType: $.json, why: 'unrecognised JSON shape' };
      }
      case 'text':
        return pe(e)
          ? { format: 'lcov', contentType: $.text }
          : { contentType: $.text, why: 'unrecognised text' };
      case 'html':
        return { contentType: $.text, why: 'it is an HTML page, not a report' };
      case 'empty':
        return { contentType: $.text, why: 'the file is empty' };
    }
  },
  De = (e) => wt('sha256').update(e).digest('hex'),
  Ht = (e, t, n, r) => De([e, t ?? '', Dt(n), De(r)].join('|')).slice(0, 32),
  Dt = (e) => At(e).replaceAll('\\', '/'),
  F = (e) => typeof e == 'object' && e !== null && !Array.isArray(e),
  Kt = (e, t) => {
    if (e instanceof Error) {
      if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${t} ms`;
      const n = e.cause;
      if (F(n)) {
        const r = typeof n.code == 'string' ? n.code : void 0,
          s = typeof n.message == 'string' ? n.message : void 0;
        if (r && s && !s.includes(r)) return `${r}: ${s}`;
        if (s) return s;
        if (r) return r;
      }
      return e.message;
    }
    return String(e);
  },
  Vt = (e, t) => {
    if (e === null) return;
    const n = e.trim();
    if (/^\d+$/.test(n)) return Number(n) * 1e3;
    const r = Date.parse(n);
    return Number.isNaN(r) ? void 0 : Math.max(0, r - t);
  },
  Ke = (e) => e === 429 || e >= 500,
  Jt = (e) => e.kind === 'network' || Ke(e.status),
  Ve = (e) => {
    try {
      const t = JSON.parse(e);
      return F(t) ? t : void 0;
    } catch {
      return;
    }
  },
  ae = (e) => {
    const t = Ve(e);
    if (!t) return;
    const n = F(t.error) ? t.error : t,
      r = {};
    return (
      typeof n.code == 'string' && (r.code = n.code),
      typeof n.message == 'string' && (r.message = n.message),
      F(n.location) && (r.location = n.location),
      r.code || r.message ? r : void 0
    );
  },
  Je = (e) => {
    const t = e.replace(/\s+/g, ' ').trim();
    return t.length > 200 ? `${t.slice(0, 199)}\u2026` : t;
  },
  qt = (e) => {
    if (!e) return '';
    const t = [];
    for (const n of ['line', 'column', 'path', 'offset']) {
      const r = e[n];
      (typeof r == 'number' || typeof r == 'string') && t.push(`${n} ${r}`);
    }
    return t.length ? ` (at ${t.join(', ')})` : '';
  },
  ce = (e, t) => {
    const n = ae(t),
      r = n ? `${n.code ? `${n.code}: ` : ''}${n.message ?? ''}${qt(n.location)}` : Je(t);
    return { code: n?.code, text: `HTTP ${e}${r ? ` ${r}` : ''}` };
  },
  Wt = {
    401: 'check that VIGIL_TOKEN is set to a valid token for this endpoint',
    403: 'check that VIGIL_TOKEN is set to a valid token for this endpoint',
    404: 'check --endpoint: it should be the base URL, without /v1/results',
    413: 'the report is larger than the server accepts',
    415: 'pass --format to name the report format',
  },
  Xt = (e, t) => {
    const n = Ve(e);
    if (!n) return;
    const r = F(n.gate) ? n.gate : {},
      s = r.status === 'pass' || r.status === 'fail' ? r.status : 'none';
    return {
      runId: typeof n.runId == 'string' ? n.runId : void 0,
      kind: typeof n.kind == 'string' ? n.kind : void 0,
      format: typeof n.format == 'string' ? n.format : void 0,
      summary: F(n.summary) ? n.summary : {},
      gate: { status: s, checks: Array.isArray(r.checks) ? r.checks.filter(F) : [] },
      warnings: Array.isArray(n.warnings) ? n.warnings.filter((o) => typeof o == 'string') : [],
      duplicate: n.duplicate === !0 || (n.duplicate === void 0 && t === 200),
      raw: n,
    };
  },
  S = (e, t) => {
    if (!F(e)) return;
    const n = e[t];
    return typeof n == 'number' && Number.isFinite(n) ? n : void 0;
  },
  j = (e) => (Number.isInteger(e) ? String(e) : String(Math.round(e * 100) / 100)),
  qe = (e) => (e < 1e3 ? `${j(e)} ms` : e < 12e4 ? `${j(e / 1e3)} s` : `${j(e / 6e4)} min`),
  zt = (e, t) => {
    switch (e) {
      case 'tests': {
        const n = ['total', 'passed', 'failed', 'skipped', 'flaky']
            .map((s) => {
              const o = S(t, s);
              return o === void 0 ? void 0 : `${o} ${s}`;
            })
            .filter((s) => s !== void 0),
          r = S(t, 'durationMs');
        return [`tests: ${n.join(', ')}${r === void 0 ? '' : ` in ${qe(r)}`}`];
      }
      case 'coverage':
        return [
          `coverage: ${['lines', 'branches', 'functions', 'statements']
            .map((r) => {
              const s = t[r],
                o = S(s, 'pct');
              if (o === void 0) return;
              const i = S(s, 'covered'),
                c = S(s, 'total'),
                u = i !== void 0 && c !== void 0 ? ` (${i}/${c})` : '';
              return `${r} ${j(o)}%${u}`;
            })
            .filter((r) => r !== void 0)
            .join(', ')}`,
        ];
      case 'load': {
        const n = S(t, 'requests'),
          r = S(t, 'failedRequests'),
          s = S(t, 'errorRate'),
          o = [];
        n !== void 0 && o.push(`${n} requests${r === void 0 ? '' : `, ${r} failed`}`),
          s !== void 0 && o.push(`${j(s * 100)}% errors`);
        for (const u of ['p95', 'p99']) {
          const a = S(t.latencyMs, u);
          a !== void 0 && o.push(`${u} ${j(a)} ms`);
        }
        const i = Array.isArray(t.thresholds) ? t.thresholds.filter(F) : [];
        if (i.length > 0) {
          const u = i.filter((a) => a.passed === !0).length;
          o.push(`thresholds ${u}/${i.length} passed`);
        }
        const c = [`load: ${o.join(', ')}`];
        for (const u of i) u.passed !== !0 && c.push(`  \u2716 threshold ${String(u.name ?? '?')}`);
        return c;
      }
      case 'benchmark': {
        const n = Array.isArray(t.benchmarks) ? t.benchmarks.filter(F) : [],
          r = [`benchmarks: ${n.length}`];
        for (const s of n.slice(0, 5)) {
          const o = S(s, 'value'),
            i = S(s, 'stddev'),
            c = S(s, 'samples'),
            u = [i === void 0 ? void 0 : `\xB1 ${j(i)}`, c === void 0 ? void 0 : `n=${c}`].filter(
              (a) => a !== void 0,
            );
          r.push(
            `  ${String(s.name ?? '?')}: ${o === void 0 ? '?' : j(o)} ${String(s.unit ?? '')}${u.length ? ` (${u.join(', ')})` : ''}`.trimEnd(),
          );
        }
        return (n.length > 5 && r.push(`  \u2026 and ${n.length - 5} more`), r);
      }
      default:
        return [];
    }
  },
  Yt = { pass: '\u2714', fail: '\u2716', skip: '\u2013' },
  Qt = { pass: '\u2714', fail: '\u2716', none: '\u2013' },
  Zt = (e) => {
    const t = typeof e.status == 'string' ? e.status : '?',
      n = typeof e.id == 'string' ? e.id : 'check',
      r = typeof e.message == 'string' && e.message ? e.message : void 0,
      s = typeof e.actual == 'number' ? e.actual : void 0,
      o = typeof e.threshold == 'number' ? e.threshold : void 0,
      i =
        r === void 0 && (s !== void 0 || o !== void 0)
          ? `actual ${s ?? '-'}, threshold ${o ?? '-'}`
          : void 0;
    return `    ${Yt[t] ?? '?'} ${n}: ${r ?? i ?? t}`;
  },
  en = async (e, t, n, r, s) => {
    const { options: o, deps: i } = e,
      c = o.retries + 1;
    for (let u = 1; ; u++) {
      let a;
      try {
        const w = await i.fetch(t, {
            method: 'POST',
            headers: n,
            body: r,
            redirect: 'manual',
            signal: AbortSignal.timeout(o.timeoutMs),
          }),
          N = await w.text();
        a = {
          kind: 'response',
          status: w.status,
          body: N,
          retryAfterMs: Vt(w.headers.get('retry-after'), Date.now()),
          location: w.headers.get('location') ?? void 0,
        };
      } catch (w) {
        a = { kind: 'network', reason: Kt(w, o.timeoutMs) };
      }
      if (!Jt(a) || u >= c) return { result: a, attempts: u };
      let f = Math.min(Lt, Nt * 2 ** (u - 1)),
        d = Math.round(f / 2 + i.random() * (f / 2));
      a.kind === 'response' &&
        a.retryAfterMs !== void 0 &&
        (d = Math.max(d, Math.min(a.retryAfterMs, jt)));
      const l = a.kind === 'network' ? a.reason : ce(a.status, a.body).text;
      e.err(`${s}: attempt ${u} of ${c} failed (${l}); retrying in ${qe(d)}`), await i.sleep(d);
    }
  },
  tn = async (e, t, n) => {
    let { options: r, deps: s } = e,
      o = _t(),
      i;
    try {
      i = await s.readFile(t);
    } catch (k) {
      const p =
          F(k) && typeof k.code == 'string' ? k.code : k instanceof Error ? k.message : String(k),
        h = `cannot read ${t}: ${p}`;
      return (
        e.err(`\u2716 ${h}`),
        r.json &&
          e.out(
            JSON.stringify({
              file: t,
              outcome: 'unreadable',
              exitCode: g.usage,
              error: { code: 'unreadable', message: h },
            }),
          ),
        { file: t, outcome: 'unreadable', exitCode: g.usage }
      );
    }
    let c = Ut(i),
      u = '';
    try {
      u = Buffer.from(c ? vt(i) : i).toString('utf8');
    } catch {}
    const a = Bt(u),
      f = r.format ?? a.format,
      d = r.format ? Gt[r.format] : a.contentType;
    r.format === void 0 && a.format === void 0
      ? e.err(
          `\u26A0 ${t}: format not recognised here (${a.why ?? 'unknown'}); sending it anyway and letting the server decide (use --format to name it)`,
        )
      : r.format &&
        a.format &&
        a.format !== r.format &&
        e.err(`\u26A0 ${t}: looks like ${a.format}, but --format ${r.format} was given`);
    const l =
        r.runId === void 0
          ? Ht(r.project, r.runKey, t, i)
          : r.files.length > 1
            ? `${r.runId}-${n}`
            : r.runId,
      w = new URL(r.url),
      N = [
        ['project', r.project],
        ['format', f],
        ['suite', r.suite],
        ['branch', r.branch],
        ['base', r.base],
        ['commit', r.commit],
        ['runId', l],
        ['ci', r.ci],
      ];
    for (const [k, p] of N) p !== void 0 && w.searchParams.set(k, p);
    const _ = {
        authorization: `Bearer ${r.token}`,
        'content-encoding': 'gzip',
        'content-type': d,
        'x-correlation-id': o,
      },
      Qe = c ? i : St(i),
      { result: b, attempts: Q } = await en(e, w, _, Qe, t),
      V = { file: t, correlationId: o, runId: l, format: f ?? null, attempts: Q };
    if (b.kind === 'network' || Ke(b.status)) {
      const k = b.kind === 'network' ? b.reason : ce(b.status, b.body).text,
        p = `endpoint unreachable after ${Q} attempt${Q === 1 ? '' : 's'}: ${k}`,
        h = r.allowUnreachable;
      return (
        h
          ? (e.err(''),
            e.err('!!! ================================================================ !!!'),
            e.err(`!!! WARNING: ${t} was NOT recorded by Vigil`),
            e.err(`!!! ${p}`),
            e.err('!!! Not failing because --allow-unreachable is set.'),
            e.err(`!!! correlation id ${o}`),
            e.err('!!! ================================================================ !!!'),
            e.err(''))
          : e.err(`\u2716 ${t}: ${p} (correlation id ${o})`),
        r.json &&
          e.out(
            JSON.stringify({
              ...V,
              outcome: 'unreachable',
              exitCode: h ? g.ok : g.unreachable,
              allowed: h,
              ...(b.kind === 'response' ? { status: b.status } : {}),
              error: {
                code:
                  b.kind === 'response' ? (ae(b.body)?.code ?? `http_${b.status}`) : 'unreachable',
                message: p,
              },
            }),
          ),
        { file: t, outcome: 'unreachable', exitCode: h ? g.ok : g.unreachable, allowed: h }
      );
    }
    const { status: R } = b;
    if (R < 200 || R >= 300) {
      let p = `rejected by the server: ${ce(R, b.body).text}`;
      R >= 300 &&
        R < 400 &&
        (p = `the endpoint redirected (HTTP ${R}${b.location ? ` to ${b.location}` : ''}); use the final URL as --endpoint`);
      const h = Wt[R];
      if ((e.err(`\u2716 ${t}: ${p} (correlation id ${o})`), h && e.err(`  hint: ${h}`), r.json)) {
        const J = ae(b.body);
        e.out(
          JSON.stringify({
            ...V,
            outcome: 'rejected',
            exitCode: g.rejected,
            status: R,
            error: {
              code: J?.code ?? `http_${R}`,
              message: J?.message ?? p,
              ...(J?.location ? { location: J.location } : {}),
            },
          }),
        );
      }
      return { file: t, outcome: 'rejected', exitCode: g.rejected };
    }
    const y = Xt(b.body, R);
    if (!y) {
      const k = `unexpected answer to HTTP ${R}: ${Je(b.body) || '(empty body)'}`,
        p = r.allowUnreachable;
      return (
        e.err(
          `${p ? '\u26A0' : '\u2716'} ${t}: ${k} (correlation id ${o})${p ? '; not failing because --allow-unreachable is set' : ''}`,
        ),
        r.json &&
          e.out(
            JSON.stringify({
              ...V,
              outcome: 'unreachable',
              exitCode: p ? g.ok : g.unreachable,
              allowed: p,
              status: R,
              error: { code: 'bad_response', message: k },
            }),
          ),
        { file: t, outcome: 'unreachable', exitCode: p ? g.ok : g.unreachable, allowed: p }
      );
    }
    const de = y.duplicate ? 'duplicate' : 'accepted',
      le = y.gate.status === 'fail' ? g.gateFailed : g.ok,
      Z = $e(t, y.raw);
    if (r.json)
      e.out(JSON.stringify({ ...V, outcome: de, exitCode: le, status: R, response: y.raw }));
    else {
      const k = [y.format ?? f ?? 'unknown format', y.kind].filter(Boolean),
        p = [`run ${y.runId ?? l}`];
      y.duplicate && p.push('duplicate: already recorded'),
        e.out(`${Qt[y.gate.status]} ${t}: ${k.join(' \u2192 ')} [${p.join(', ')}]`);
      for (const h of zt(y.kind, y.summary)) e.out(`  ${h}`);
      for (const h of [...Se(Z), ...xe(Z)]) e.out(`  ${h}`);
      for (const h of y.warnings) e.out(`  \u26A0 ${h}`);
      if (y.gate.status === 'none' && y.gate.checks.length === 0) e.out('  gate: none');
      else {
        e.out(`  gate: ${y.gate.status}`);
        for (const h of y.gate.checks) e.out(Zt(h));
      }
    }
    return { file: t, outcome: de, exitCode: le, gate: y.gate.status, delivered: Z };
  },
  We = (e, t) => `${e} ${t}${e === 1 ? '' : 's'}`,
  nn = (e, t) => {
    const n = (l) => e.filter(l).length,
      r = [],
      s = n((l) => l.gate === 'pass'),
      o = n((l) => l.gate === 'fail'),
      i = n((l) => l.gate === 'none'),
      c = n((l) => l.outcome === 'rejected'),
      u = n((l) => l.outcome === 'unreachable' && !l.allowed),
      a = n((l) => l.outcome === 'unreachable' && l.allowed === !0),
      f = n((l) => l.outcome === 'unreadable');
    return (
      o && r.push(`${o} gate${o === 1 ? '' : 's'} failed`),
      s && r.push(`${s} passed`),
      i && r.push(`${i} without gate`),
      c && r.push(`${c} rejected`),
      u && r.push(`${u} not delivered`),
      a && r.push(`${a} not delivered (allowed)`),
      f && r.push(`${f} unreadable`),
      `Vigil verdict: ${{ [g.ok]: a ? '\u2714 PASS (with undelivered reports)' : '\u2714 PASS', [g.gateFailed]: '\u2716 FAIL: gate failed', [g.usage]: '\u2716 ERROR: unreadable report file', [g.rejected]: '\u2716 ERROR: report rejected by the server', [g.unreachable]: '\u2716 ERROR: Vigil endpoint unreachable' }[t] ?? `exit ${t}`} (${We(e.length, 'report')}: ${r.join(', ')})`
    );
  },
  rn = {
    accepted: 'accepted',
    duplicate: 'already recorded',
    rejected: 'rejected by Vigil (see the job log)',
    unreachable: 'not delivered: Vigil was unreachable',
    unreadable: 'could not be read',
  },
  sn = (e) => (t) => (e && e.length >= 6 ? t.split(e).join('***') : t),
  on = (e) => e === 'localhost' || e === '[::1]' || e.startsWith('127.'),
  Xe = async (e, t) => {
    const n = sn(C(t.env.VIGIL_TOKEN)),
      r = (d) =>
        t.stdout(`${n(d)}
`),
      s = (d) =>
        t.stderr(`${n(d)}
`),
      o = Ot(e, t.env);
    if (o.kind === 'help') return (t.stdout(Be), g.ok);
    if (o.kind === 'error') {
      for (const d of o.problems) s(`vigil report: ${d}`);
      return (s(''), t.stderr(Be), g.usage);
    }
    const { options: i } = o,
      c = Ge(t.cwd ?? process.cwd(), t.env);
    if (i.branch === void 0 || i.commit === void 0) {
      const d = await Ue(c);
      (i.branch ??= d.branch), (i.commit ??= d.commit);
    }
    const u = {
      options: i,
      deps: {
        fetch: t.fetch ?? globalThis.fetch,
        sleep: t.sleep ?? ((d) => Et(d)),
        readFile: t.readFile ?? ((d) => Rt(d)),
        random: t.random ?? Math.random,
      },
      out: r,
      err: s,
    };
    if (
      (i.url.protocol === 'http:' &&
        !on(i.url.hostname) &&
        s(`\u26A0 ${i.url.host} is plain HTTP: the token is sent unencrypted`),
      !i.json)
    ) {
      const d = [
        i.branch && `branch ${i.branch}`,
        i.base && `base ${i.base}`,
        i.commit && `commit ${i.commit.slice(0, 12)}`,
        i.ci && `ci ${i.ci}`,
      ].filter(Boolean);
      r(
        `Vigil: sending ${We(i.files.length, 'report')} to ${i.url.origin}${i.url.pathname} for project ${i.project}${d.length ? ` (${d.join(', ')})` : ''}`,
      );
    }
    const a = [];
    for (const [d, l] of i.files.entries()) a.push(await tn(u, l, d));
    const f = Math.max(g.ok, ...a.map((d) => d.exitCode));
    return (
      i.json || r(nn(a, f)),
      await Oe(
        {
          project: i.project,
          suite: i.suite,
          commit: i.commit,
          endpoint: i.url.href.replace(/\/v1\/results$/, ''),
          delivered: a.flatMap((d) => (d.delivered ? [d.delivered] : [])),
          problems: a
            .filter((d) => d.delivered === void 0)
            .map((d) => `${d.file}: ${rn[d.outcome]}`),
        },
        { comment: i.comment, status: i.status, annotations: !i.json },
        { env: t.env, fetch: u.deps.fetch, appendFile: t.appendFile, out: r, err: s },
      ),
      f
    );
  };
var O = (e, t) => (e[`INPUT_${t.replace(/ /g, '_').toUpperCase()}`] ?? '').trim(),
  ue = (e) => /^(true|yes|1|on)$/i.test(e),
  un = (e) => {
    let t = '';
    for (let n = 0; n < e.length; n++) {
      const r = e[n];
      if (r === '*' && e[n + 1] === '*') {
        const s = e[n + 2] === '/';
        (t += s ? '(?:.*/)?' : '.*'), (n += s ? 2 : 1);
      } else
        r === '*'
          ? (t += '[^/]*')
          : r === '?'
            ? (t += '[^/]')
            : (t += r.replace(/[.+^${}()|[\]\\]/g, '\\$&'));
    }
    return new RegExp(`^${t}$`);
  },
  dn = async (e, t) => {
    const n = e.split('/'),
      r = n.findIndex((c) => /[*?]/.test(c)),
      s = n.slice(0, r).join('/'),
      o = await an(ze(t, s || '.'), { recursive: !0, withFileTypes: !0 }).catch(() => []),
      i = un(e);
    return o
      .filter((c) => c.isFile())
      .map((c) => cn(t, ze(c.parentPath, c.name)).replaceAll('\\', '/'))
      .filter((c) => !/(^|\/)(node_modules|\.git)\//.test(c) && i.test(c))
      .sort();
  },
  ln = async (e, t) => {
    const n = [];
    for (const r of e.split(/\s+/).filter(Boolean)) {
      const s = /[*?]/.test(r) ? await dn(r, t) : [];
      n.push(...(s.length ? s : [r]));
    }
    return n;
  },
  mn = async (e, t) => {
    const n = [...(await ln(O(e, 'files'), t))];
    for (const i of ['endpoint', 'project', 'suite', 'base']) {
      const c = O(e, i);
      c && n.push(`--${i}`, c);
    }
    ue(O(e, 'comment')) && n.push('--comment'), ue(O(e, 'status')) && n.push('--status');
    const r = O(e, 'fail-on-unreachable');
    r && !ue(r) && n.push('--allow-unreachable');
    const s = O(e, 'token'),
      o = O(e, 'github-token');
    return {
      argv: n,
      env: { ...e, ...(s ? { VIGIL_TOKEN: s } : {}), ...(o ? { GITHUB_TOKEN: o } : {}) },
    };
  },
  Ye = async (e, t) => {
    const { argv: n, env: r } = await mn(e, t),
      s = (o) => (i) => o.write(i);
    return Xe(n, { env: r, stdout: s(process.stdout), stderr: s(process.stderr), cwd: t });
  };
Ye(process.env, process.env.GITHUB_WORKSPACE ?? process.cwd()).then(
  (e) => {
    process.exitCode = e;
  },
  (e) => {
    const t = e instanceof Error ? e.message : String(e);
    process.stdout.write(`::error title=Vigil::${t.replace(/%/g, '%25').replace(/\r?\n/g, ' ')}
`),
      (process.exitCode = 1);
  },
);
