import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Page,
  type Request,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { dashboardLink, dashboardPath } from '../../functions/core/dashboard-links';
import { toProbeEvent } from '../../functions/core/probes/run';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { buildWebFiles } from '../../web/build';
import { CHROMIUM, CHROMIUM_ARGS, requireTools, TOOLS } from '../helpers/requires';

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against local
 * mode in this process: real reports posted, a real probe against a local target we flip.
 * One browser and one signed-in page for the file. With VIGIL_SCREENSHOTS=1 it writes the
 * screenshots of docs/img/ (a normal run leaves the tracked images alone).
 */

const ok = requireTools('dashboard browser tests', [TOOLS.chromium]);

const TOKEN = 'dash-token-0123456789';
const READ_TOKEN = 'dash-read-token-0123456789';
const HOSTILE = '<img src=x onerror=alert(1)>';
/** A hostile test name: 20,000 characters without a space. */
const LONG_NAME = `param ${'x'.repeat(20_000)}`;
/** An unbroken 300-character branch and a 400-character suite (as the API might answer). */
const LONG_BRANCH = 'b'.repeat(300);
const LONG_SUITE = 's'.repeat(400);
const SHOTS = new URL('../../docs/img/', import.meta.url);
const screenshot = async (page: Page, name: string): Promise<void> => {
  if (process.env.VIGIL_SCREENSHOTS === '1')
    await page.screenshot({ path: new URL(name, SHOTS).pathname, fullPage: true });
};
const AXE = readFileSync('node_modules/axe-core/axe.min.js', 'utf8');
const fixture = (path: string) =>
  readFileSync(new URL(`../fixtures/corpus/${path}`, import.meta.url));

/** JUnit with one passing, one failing test; names and messages from "the report" are hostile. */
const junit = (flakyPasses: boolean) =>
  Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="${HOSTILE.replace(/</g, '&lt;').replace(/>/g, '&gt;')}" tests="4" failures="${flakyPasses ? 1 : 2}">
  <testcase classname="cart.CartTest" name="adds an item" time="0.01"/>
  <testcase classname="cart.CartTest" name="${LONG_NAME}" time="0.01"/>
  <testcase classname="cart.CartTest" name="sometimes times out" time="0.02">${flakyPasses ? '' : '<failure message="timeout after 5s">TimeoutError: timeout after 5s\n  at Cart.checkout (cart.js:10)</failure>'}</testcase>
  <testcase classname="cart.CartTest" name="${HOSTILE.replace(/</g, '&lt;').replace(/>/g, '&gt;')}" time="0.03"><failure message="see javascript:alert(1) &lt;script&gt;alert(2)&lt;/script&gt;">javascript:alert(1)\n  at evil (x.js:1)</failure></testcase>
</testsuite>`);

let target: Server;
let targetStatus = 200;
let pipeline: LocalPipeline;
let dataDir: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const dialogs: string[] = [];
const cspErrors: string[] = [];
let failedRunId = '';
let flipped: Promise<void>;

const post = async (body: Buffer, query: Record<string, string>) => {
  const res = await fetch(`${pipeline.url}/v1/results?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body,
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as { runId: string };
};

const go = async (hash: string) => {
  await page.goto(`${pipeline.url}/${hash}`);
};

/** Text of the focused element (expressions run in the page: no DOM types needed here). */
const focused = (what = 'textContent') => page.evaluate(`document.activeElement?.${what}`);

/** How far the page scrolls sideways (0 or less: it does not). */
const pageOverflow = () => page.evaluate('document.scrollingElement.scrollWidth - innerWidth');

/** Each element matching `selector`: how many lines its text takes, and whether it fits its cell. */
const fitInCells = (selector: string) =>
  page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((el) => {
    const text = document.createRange();
    text.selectNodeContents(el);
    const lines = new Set([...text.getClientRects()].map((r) => Math.round(r.top))).size;
    const box = el.getBoundingClientRect();
    const cell = el.closest('td, th').getBoundingClientRect();
    const fits = box.left >= cell.left - 0.5 && box.right <= cell.right + 0.5;
    return { text: el.textContent, lines, fits };
  })`) as Promise<{ text: string; lines: number; fits: boolean }[]>;

/**
 * The Sign out button: inside the viewport, on the background of the element that paints it
 * (that element must contain the button), and the WCAG contrast of its text on that background.
 */
const CONTRAST_SIGN_OUT = `(() => {
  const button = document.querySelector('header button');
  const box = button.getBoundingClientRect();
  const rgba = (c) => {
    const [r, g, b, a = 1] = c.match(/[\\d.]+/g).map(Number);
    return { r, g, b, a };
  };
  let painter = button;
  while (painter.parentElement && rgba(getComputedStyle(painter).backgroundColor).a === 0)
    painter = painter.parentElement;
  const under = painter.getBoundingClientRect();
  const root = painter === document.body || painter === document.documentElement;
  const lum = ({ r, g, b }) => {
    const l = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * l(r) + 0.7152 * l(g) + 0.0722 * l(b);
  };
  const [hi, lo] = [lum(rgba(getComputedStyle(button).color)), lum(rgba(getComputedStyle(painter).backgroundColor))].sort((a, b) => b - a);
  return {
    inViewport: box.left >= 0 && box.right <= innerWidth && box.width > 0,
    onItsBackground: root || (box.left >= under.left && box.right <= under.right && box.top >= under.top && box.bottom <= under.bottom),
    ratio: (hi + 0.05) / (lo + 0.05),
  };
})()`;

/**
 * The probe going down and back up, each within its interval plus 5 s, on a tab of its own
 * (signed in like the first). It waits on the probe's interval and the page's poll, so it runs
 * while the other tests work: it starts with the browser and its test awaits it.
 */
const flipProbe = async (): Promise<void> => {
  const tab = await context.newPage();
  // Its first load shares the cores with the others: more time than a step's default.
  await tab.goto(`${pipeline.url}/#token=${encodeURIComponent(READ_TOKEN)}`, { timeout: 20_000 });
  await tab.getByRole('heading', { name: 'Overview' }).waitFor({ timeout: 20_000 });
  await tab.goto(`${pipeline.url}/#/probe/shop/checkout`);
  const status = (text: string) =>
    tab
      .locator('.facts .pill')
      .first()
      .filter({ hasText: new RegExp(`^${text}$`) });
  await status('up').waitFor({ timeout: 6000 });
  // The runbook on-call reads when it fires, from the config, opened outside the dashboard.
  const runbook = tab.getByRole('link', { name: 'Runbook' });
  expect(await runbook.getAttribute('href')).toBe('https://runbooks.example.com/checkout');
  expect(await runbook.getAttribute('rel')).toBe('noopener noreferrer nofollow');
  targetStatus = 500;
  await status('down').waitFor({ timeout: 6000 });
  await tab.locator('table', { hasText: 'Assertion' }).getByText('status').first().waitFor();
  await tab.getByRole('heading', { name: 'Incidents' }).waitFor();
  await tab.locator('.pill', { hasText: 'FIRING' }).first().waitFor({ timeout: 6000 });
  await screenshot(tab, 'probe.png');
  targetStatus = 200;
  await status('up').waitFor({ timeout: 6000 });
  await tab.locator('.pill', { hasText: 'RESOLVED' }).first().waitFor({ timeout: 6000 });
  await tab.close();
  // No more runs every second for the rest of the file: the pages read what is stored.
  await pipeline.probes.stop();
};

interface AxeViolation {
  id: string;
  impact: string;
  nodes: unknown[];
}

/** Serious and critical axe-core findings on the page as it is now. */
const axe = async (p: Page): Promise<string[]> => {
  // Once per document (hash navigation keeps it); evaluated over DevTools, so the page's CSP
  // (rightly) does not apply to it.
  if (!(await p.evaluate("'axe' in window"))) await p.evaluate(AXE);
  const violations = (await p.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
};

describe.skipIf(!ok)('dashboard in Chromium', () => {
  beforeAll(async () => {
    target = createServer((req, res) => {
      // The team's webhook receiver, down all along: its deliveries are retried.
      if (req.url === '/hook') return void res.writeHead(503).end('receiver down');
      res.writeHead(targetStatus).end(targetStatus === 200 ? 'ok' : 'down');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
    dataDir = await mkdtemp(join(tmpdir(), 'vigil-dash-'));
    // The browser and its signed-out page start while local mode starts and takes the reports.
    const opened = (async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      // In the full suite Chromium shares 2 cores with three test workers: one search once took
      // over 5 s there (2026-12-04). A wait that can never end still fails, only later.
      context.setDefaultTimeout(10_000);
      page = await context.newPage();
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
      });
    })();
    // Awaited at the end of this hook; a failure before then is not an unhandled rejection.
    opened.catch(() => undefined);
    pipeline = await startLocal({
      config: parseConfig({
        project: 'shop',
        probes: [
          {
            name: 'checkout',
            url: targetUrl,
            runbookUrl: 'https://runbooks.example.com/checkout',
            intervalSeconds: 1,
            timeoutMs: 500,
            failureThreshold: 1,
            recoveryThreshold: 1,
          },
        ],
        heartbeats: [{ name: 'nightly-backup', periodSeconds: 86_400 }],
        statusPage: {
          title: 'Shop status',
          components: [{ name: 'Checkout', probes: ['checkout'] }],
        },
        badges: { public: { projects: ['shop'] } },
        alerts: { channels: [{ type: 'webhook', url: `${targetUrl}hook` }] },
      }),
      dataDir,
      port: 0,
      tokens: [TOKEN],
      readTokens: [READ_TOKEN],
      webFiles: await buildWebFiles(),
      env: {},
    });
    // The probe's flips, on a tab of their own, start once the browser is up.
    flipped = opened.then(flipProbe);
    // Awaited by its test; a failure before then is not an unhandled rejection.
    flipped.catch(() => undefined);
    // Two security runs of the same ESLint SARIF (6 findings: 1 high, 5 medium) on main.
    const sarif = readFileSync(
      new URL('../fixtures/real/security/eslint-security.sarif', import.meta.url),
    );
    // Reports side by side: a flaky test (failed and passed on one commit), a gate failure with
    // a hostile test name, coverage, a load test and the first security run.
    const [failed] = await Promise.all([
      post(junit(false), { project: 'shop', branch: 'main', commit: 'c0ffee1' }),
      post(junit(true), { project: 'shop', branch: 'main', commit: 'c0ffee1' }),
      post(fixture('cobertura/grandlinex-core-istanbul-cobertura.xml'), {
        project: 'shop',
        branch: 'main',
      }),
      post(fixture('k6/k6-summary-v1-example-basic.json'), { project: 'shop', branch: 'main' }),
      post(sarif, { project: 'shop', branch: 'main', commit: '5ec0001', format: 'sarif' }),
      post(fixture('benchmarks/hyperfine-1brc.json'), {
        project: 'shop',
        branch: 'main',
        suite: 'hyperfine-1brc-json',
      }),
    ]);
    failedRunId = failed.runId;
    // The second security run is compared with the first (recorded once the bus has delivered
    // it): no new finding.
    await pipeline.bus.drain();
    await post(sarif, { project: 'shop', branch: 'main', commit: '5ec0002', format: 'sarif' });
    await pipeline.bus.drain();
    await opened;
  });

  afterAll(async () => {
    await browser?.close();
    await pipeline?.close();
    await new Promise((r) => target?.close(r));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('shows a sign-in form without a token, and the API answers 401 without one', async () => {
    await go('');
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    expect(await page.getByLabel('Token').getAttribute('type')).toBe('password');
    expect((await fetch(`${pipeline.url}/v1/projects`)).status).toBe(401);
    expect((await fetch(`${pipeline.url}/v1/probes`)).status).toBe(401);
    // The page shell itself holds no data and carries the security headers.
    const shell = await fetch(`${pipeline.url}/`);
    expect(shell.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(shell.headers.get('x-content-type-options')).toBe('nosniff');
    // This deployment has a status page: the no-JavaScript notice and the form link to it.
    expect(await shell.text()).toContain('works without it: <a href="/status">');
    expect(await page.locator('a[href="/status"]').count()).toBe(1);
    // Without one (the web handler marks the page only with one), no link to a 404.
    await page.route(`${pipeline.url}/`, async (route) => {
      const res = await route.fetch();
      const body = (await res.text()).replace(/<meta name="vigil-status-page"[^>]*>/, '');
      await route.fulfill({ response: res, body });
    });
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    expect(await page.locator('a[href="/status"]').count()).toBe(0);
    await page.unrouteAll();
    await page.reload();
  });

  it('opens the page an alert message links to once signed in, in every new tab when asked to keep the token', async () => {
    // The link of a failed run's FIRING, opened in a browser that has no token yet.
    const link = dashboardLink(pipeline.url, dashboardPath(['run', 'shop', failedRunId]));
    const own = await browser.newContext();
    try {
      const tab = await own.newPage();
      await tab.goto(link);
      await tab.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
      await tab.getByLabel('Token').fill(READ_TOKEN);
      await tab.getByLabel('Keep me signed in on this browser', { exact: false }).check();
      await tab.getByRole('button', { name: 'Sign in' }).click();
      await tab.getByRole('heading', { name: `Run ${failedRunId}` }).waitFor();
      expect(tab.url()).toBe(link);
      // The next message's link, in a new tab of this browser: no sign-in asked.
      const next = await own.newPage();
      await next.goto(dashboardLink(pipeline.url, dashboardPath(['probe', 'shop', 'checkout'])));
      await next.getByRole('heading', { name: 'Probe checkout' }).waitFor();
      // Signing out in one tab signs every tab out, the first one too, without a reload.
      await next.getByRole('button', { name: 'Sign out' }).click();
      await tab.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
      const after = await own.newPage();
      await after.goto(link);
      await after.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    } finally {
      await own.close();
    }
  });

  it('signs in from /#token=…, forgets it from the address bar and shows the overview', async () => {
    await go(`#token=${encodeURIComponent(READ_TOKEN)}`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(page.url()).toBe(`${pipeline.url}/#/`);
    expect(await page.evaluate("sessionStorage.getItem('vigil.token')")).toBe(READ_TOKEN);
    await page.locator('section.card h2', { hasText: 'shop' }).waitFor();
    await page.locator('tr[data-probe="checkout"]').waitFor();
    const latest = page.locator('table', { hasText: 'Latest run per branch' });
    await expect.poll(() => latest.locator('tbody tr').count()).toBeGreaterThanOrEqual(3);
    // The trend charts in view are drawn (each chart draws when it comes near the viewport).
    await page.locator('figure', { hasText: 'Pass rate on main' }).locator('canvas').waitFor();
    expect(
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents(),
    ).toContain('Status page');
    await screenshot(page, 'overview.png');
  });

  it('shows a run: its gate checks, the failed test with its message', async () => {
    await go(`#/run/shop/${encodeURIComponent(failedRunId)}`);
    await page.getByRole('heading', { name: `Run ${failedRunId}` }).waitFor();
    await page.getByRole('heading', { name: 'sometimes times out' }).waitFor();
    const failure = page.locator('.failure', { hasText: 'sometimes times out' });
    expect(await failure.textContent()).toContain('timeout after 5s');
    // The history finds it flaky (it passed on the same commit): this failure may not be the
    // change's; its history is a click away. The other failure is no flaky test.
    await failure.getByText('flaky', { exact: true }).waitFor();
    expect(await failure.textContent()).toMatch(
      /flaky since \d+ s ago \(failed and passed on one commit\): this failure may not be the change's\./,
    );
    expect(
      await failure.getByRole('link', { name: 'History of this test' }).getAttribute('href'),
    ).toBe('#/tests/shop?status=all&q=sometimes+times+out');
    expect(await page.locator('.failure .pill').count()).toBe(1);
    expect(await page.locator('table').first().textContent()).toMatch(/fail/);
    // The raw report is saved under the server's name, with the report's extension.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /^Download/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${failedRunId}.xml`);
    await screenshot(page, 'run.png');
  });

  it('downloads a raw report the API answers with a link (AWS, too large to answer inline), staying on the page', async () => {
    // Prepare: the API's answer on AWS, and S3's answer to the presigned GET
    const link = `https://archive.s3.amazonaws.com/shop/${failedRunId}.xml?X-Amz-Signature=s`;
    const reportPath = `**/v1/projects/shop/runs/${encodeURIComponent(failedRunId)}/report`;
    const asked: (string | undefined)[] = [];
    await page.route(reportPath, (route) => {
      asked.push(route.request().headers().accept);
      return route.fulfill({ json: { url: link, fileName: `${failedRunId}.xml` } });
    });
    await page.route(link, (route) =>
      route.fulfill({
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          'content-disposition': `attachment; filename="${failedRunId}.xml"`,
        },
        body: '<testsuites/>',
      }),
    );
    const at = page.url();

    // Act
    try {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: /^Download/ }).click(),
      ]);

      // Assess
      expect(asked[0]).toContain('application/json');
      expect(download.url()).toBe(link);
      expect(download.suggestedFilename()).toBe(`${failedRunId}.xml`);
      expect(page.url()).toBe(at);
    } finally {
      await page.unrouteAll();
    }
  });

  it('renders hostile names and messages as text: no element, no dialog, no javascript: link', async () => {
    // On the run page loaded above: the hostile test name is a heading's text.
    await page.getByRole('heading', { name: HOSTILE }).waitFor();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script:not([src])').count()).toBe(0);
    expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
    expect(await page.getByText('see javascript:alert(1) <script>alert(2)</script>').count()).toBe(
      1,
    );
    // The suite name (hostile too) in the test list.
    await go('#/tests/shop?status=all');
    await page.getByText(HOSTILE, { exact: true }).first().waitFor();
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    // A 20,000-character name is cut to 300 (whole in its tooltip) and wraps in its own column:
    // the other columns keep their width, their headers on one line.
    const long = page.locator('.test-name', { hasText: 'param xxx' });
    expect((await long.textContent())?.length).toBe(301);
    expect(await long.getAttribute('title')).toBe(LONG_NAME);
    const headers =
      (await page.evaluate(`[...document.querySelectorAll('main thead th')].map((th) => {
      const text = document.createRange();
      text.selectNodeContents(th);
      const lines = new Set([...text.getClientRects()].map((r) => Math.round(r.top))).size;
      return { name: th.textContent, width: th.getBoundingClientRect().width, lines };
    })`)) as { name: string; width: number; lines: number }[];
    expect(headers.map((h) => h.name)).toEqual([
      'Test',
      'Last',
      'Flaky rule',
      'Quarantine',
      'Outcomes, oldest first',
    ]);
    for (const h of headers.slice(1)) {
      expect(h.width, h.name).toBeGreaterThanOrEqual(60);
      expect(h.lines, h.name).toBe(1);
    }
  });

  it('lists the flaky test with the rule that found it and its outcome strip; search narrows', async () => {
    await go('#/tests/shop?status=flaky');
    const row = page.locator('tr', { hasText: 'sometimes times out' });
    await row.waitFor();
    expect(await row.textContent()).toContain('same-commit');
    await expect.poll(() => row.locator('.strip i').count()).toBe(2);
    const search = page.getByRole('searchbox', { name: 'Test name' });
    await search.fill('no such test');
    // What is typed survives a render of the page meanwhile (a poll's answer, a route event).
    await page.evaluate("dispatchEvent(new HashChangeEvent('hashchange'))");
    expect(await search.inputValue()).toBe('no such test');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No flaky tests matching').waitFor();
  });

  it('draws a long test list 100 rows at a time, with a button for the next', async () => {
    const cases = Array.from(
      { length: 130 },
      (_, i) => `<testcase classname="Many" name="case ${i}"/>`,
    ).join('');
    await post(Buffer.from(`<testsuite name="many" tests="130">${cases}</testsuite>`), {
      project: 'many',
      branch: 'main',
      commit: 'aaa0001',
    });
    await pipeline.bus.drain();
    await go('#/tests/many?status=all');
    const rows = page.locator('tbody tr');
    await page.getByText('130 tests, first 100 shown').waitFor();
    expect(await rows.count()).toBe(100);
    await page.getByRole('button', { name: 'Show 30 more' }).click();
    await expect.poll(() => rows.count()).toBe(130);
    expect(await page.getByRole('button', { name: /^Show/ }).count()).toBe(0);
    // The search is the API's (`q`), over the whole list: what it asked for, and what it drew.
    const asked: string[] = [];
    const listen = (r: Request) => {
      if (r.url().includes('/tests?')) asked.push(new URL(r.url()).searchParams.get('q') ?? '');
    };
    page.on('request', listen);
    await go('#/tests/many?status=all&q=CASE%2012');
    await page.getByText('11 tests matching “CASE 12”').waitFor();
    page.off('request', listen);
    expect(await rows.allTextContents()).toHaveLength(11);
    expect(asked).toContain('CASE 12');

    // A search that stops before the end of a long list (the API reads at most 20 pages of its
    // limit per call): the real answer with its matches moved past a cursor, as on 10,000+
    // tests. The page says so and searches further from the cursor.
    const testsApi = (url: URL) => url.pathname === '/v1/projects/many/tests';
    await page.route(testsApi, async (route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.get('cursor') === 'past-10000') {
        url.searchParams.delete('cursor');
        await route.fulfill({ response: await route.fetch({ url: url.href }) });
        return;
      }
      const response = await route.fetch();
      const answer = (await response.json()) as { tests: unknown[] };
      await route.fulfill({ response, json: { ...answer, tests: [], cursor: 'past-10000' } });
    });
    try {
      await go('#/tests/many?status=all&q=CASE%2011');
      await page
        .getByText('No tests matching “CASE 11” among the tests searched so far; the list goes on.')
        .waitFor();
      await page.getByRole('button', { name: 'Search further' }).click();
      await page.getByText('11 tests matching “CASE 11”').waitFor();
      expect(await rows.count()).toBe(11);
      expect(await page.getByRole('button', { name: 'Search further' }).count()).toBe(0);
    } finally {
      await page.unroute(testsApi);
    }
  });

  it('keeps every run shown after "Load more" through a refresh, and drops them on another project', async () => {
    // The API's pages are faked (130 runs, 100 a page); the 30 s refresh runs on a fake clock.
    const [real] = (
      (await (
        await fetch(`${pipeline.url}/v1/projects/shop/runs?limit=1`, {
          headers: { authorization: `Bearer ${READ_TOKEN}` },
        })
      ).json()) as { runs: Record<string, unknown>[] }
    ).runs;
    const run = (i: number) => ({ ...real, runId: `fake-${i}`, commit: `f${i}` });
    const span = (from: number, to: number) =>
      Array.from({ length: from - to + 1 }, (_, k) => run(from - k));
    let arrived = false;
    // A context of its own: a page's clock is its context's, installed in each of its pages
    // (once it failed on the probe's tab, closing at that moment: "Target page, context or
    // browser has been closed").
    const own = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    own.setDefaultTimeout(10_000);
    const tab = await own.newPage();
    await tab.clock.install();
    await tab.route(/\/v1\/projects\/fake\/runs\?/, (route) => {
      const cursor = new URL(route.request().url()).searchParams.get('cursor');
      const body = cursor
        ? { project: 'fake', runs: span(cursor === 'after-30' ? 29 : 30, 0) }
        : arrived
          ? { project: 'fake', runs: [run(130), ...span(129, 31)], cursor: 'after-31' }
          : { project: 'fake', runs: span(129, 30), cursor: 'after-30' };
      return route.fulfill({ json: body });
    });
    await tab.goto(`${pipeline.url}/#token=${encodeURIComponent(READ_TOKEN)}`);
    await tab.getByRole('heading', { name: 'Overview' }).waitFor();
    await tab.goto(`${pipeline.url}/#/runs/fake`);
    await tab.getByText('100 runs, newest first').waitFor();
    await tab.getByRole('button', { name: 'Load more' }).click();
    await tab.getByText('130 runs, newest first').waitFor();
    // A new run pushes run 30 past the first page; the refresh keeps it, once.
    arrived = true;
    await tab.clock.runFor(31_000);
    await tab.getByText('131 runs, newest first').waitFor();
    const ids = await tab
      .locator('tbody tr a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')?.split('/').at(-1)));
    expect(ids).toEqual(span(130, 0).map((r) => r.runId));
    // Another project by its address (same page component): none of fake's rows.
    await tab.evaluate("location.hash = '#/runs/shop'");
    await tab.getByRole('heading', { name: 'Runs of shop' }).waitFor();
    await expect.poll(() => tab.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await tab.locator('a[href*="fake-"]').count()).toBe(0);
    await own.close();
  });

  it('says a project has no history on its benchmarks, coverage and security pages, and a run is not found', async () => {
    for (const p of ['benchmarks', 'coverage', 'security']) {
      await go(`#/${p}/nohistory`);
      await page.getByText('No history for project "nohistory".').waitFor();
      expect(await page.locator('[aria-busy="true"]').count(), p).toBe(0);
    }
    // A page without data still has its heading (screen readers navigate by it).
    await go('#/run/shop/doesnotexist');
    await page.getByRole('alert').waitFor();
    expect(await page.locator('main h1').textContent()).toBe('Run not found');
  });

  it('shows the security view: findings by severity over the default branch runs, new and fixed per run', async () => {
    await go('#/security/shop');
    await page.getByRole('heading', { name: 'Security of shop' }).waitFor();
    const table = page.locator('table', { hasText: 'security runs on main' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    const headers = await table.locator('thead th').allTextContents();
    const cells = await table.locator('tbody tr').first().locator('td').allTextContents();
    const row = Object.fromEntries(headers.map((h, i) => [h, cells[i]]));
    expect(row).toMatchObject({
      Gate: 'pass',
      Commit: '5ec0002',
      Findings: '6',
      critical: '0',
      high: '1',
      medium: '5',
      New: '0',
      Fixed: '0',
      Suppressed: '0',
    });
    // The first run had no base: every finding at or above high counted, so its gate failed.
    expect(await table.locator('tbody tr').nth(1).locator('td').nth(1).textContent()).toBe('fail');
    await page.locator('.uplot canvas').first().waitFor();
    expect(await page.locator('.uplot .u-legend').textContent()).toContain('critical');
    await screenshot(page, 'security.png');
  });

  it("shows a browser check's failed step, step timings and its screenshot (fetched with the token)", async () => {
    // A failed browser check's result as the browser prober publishes it: the screenshot in
    // the archive (content-addressed), the event pointing at it. Step names come from a page.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    const sha256 = createHash('sha256').update(png).digest('hex');
    await pipeline.store.archive.put({
      key: `artifacts/${sha256}.png`,
      body: png,
      contentType: 'image/png',
      sha256,
      metadata: { probe: 'login', kind: 'screenshot' },
    });
    await pipeline.bus.publish([
      toProbeEvent({
        metadata: {
          project: 'shop',
          probe: 'login',
          correlationId: 'browser-1',
          checkedAt: new Date().toISOString(),
          location: 'local',
        },
        url: 'script:checks/login.check.ts',
        method: 'BROWSER',
        status: 'down',
        latencyMs: 900,
        attempt: 1,
        failure: { assertion: 'script', message: 'no sign-in button', step: HOSTILE },
        steps: [
          { name: 'open the page', status: 'up', latencyMs: 300 },
          { name: HOSTILE, status: 'down', latencyMs: 600 },
        ],
        artifacts: [{ kind: 'screenshot', name: `${sha256}.png`, bytes: png.byteLength }],
        warnings: [],
        severity: 'critical',
        tags: [],
      }),
    ]);
    await pipeline.bus.drain();
    await go('#/probe/shop/login');
    const row = page.locator('tr', { hasText: 'no sign-in button' });
    await row.waitFor();
    // One hour of the 168 has a sample: too few for a line, said so rather than empty axes.
    await page.getByText('Not enough samples yet').waitFor();
    expect(await page.locator('figure.chart').count()).toBe(0);
    // Only the status is live: the "Checked … ago" beside it would be read out every poll.
    expect(await page.locator('main [aria-live]').allTextContents()).toEqual([
      'Status: removed from config',
    ]);
    expect(await row.textContent()).toContain(`step ${HOSTILE}`);
    expect(
      await row.getByRole('list', { name: 'Step timings' }).locator('li').allTextContents(),
    ).toEqual(['open the page: up, 300 ms', `${HOSTILE}: down, 600 ms`]);
    expect(await page.locator('img').count()).toBe(0);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('button', { name: 'Screenshot' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^login-.+\.png$/);
    expect(await readFile((await download.path()) ?? '')).toEqual(png);
  });

  it('marks a probe removed from the config and a heartbeat as one, and draws an hour of latency alone as a dot', async () => {
    // A failed run of the job, then a good one.
    for (const path of ['/fail', '']) {
      const ping = await fetch(`${pipeline.url}/v1/heartbeats/shop/nightly-backup${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: path ? 'backup: disk full' : '',
      });
      expect(ping.status, await ping.text()).toBeLessThan(300);
    }
    // A probe the config does not name, with one sample: one hour of the 24 has latency.
    await pipeline.bus.publish([
      toProbeEvent({
        metadata: {
          project: 'shop',
          probe: 'retired',
          correlationId: 'retired-1',
          checkedAt: new Date().toISOString(),
          location: 'local',
        },
        url: 'https://retired.example.com/',
        method: 'GET',
        status: 'up',
        latencyMs: 80,
        attempt: 1,
        warnings: [],
        severity: 'critical',
        tags: [],
      }),
    ]);
    await pipeline.bus.drain();
    await go('#/');
    const row = page.locator('tr[data-probe="retired"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('removed from config');
    expect(await row.locator('td').first().textContent()).toBe('retired');
    // A heartbeat's row says what it is (it shares the table with the probes) and is configured.
    const heartbeat = page.locator('tr[data-probe="nightly-backup"]');
    expect(await heartbeat.locator('td').first().textContent()).toBe('nightly-backup heartbeat');
    expect(await heartbeat.locator('td').nth(1).textContent()).toBe('up');
    // A line needs two points: one point is a dot, never a polyline that draws nothing.
    expect(await row.locator('svg.spark circle').count()).toBe(1);
    expect(await row.locator('svg.spark polyline').count()).toBe(0);
    // The heartbeat's page says when pings are expected, not a latency it does not have.
    await go('#/probe/shop/nightly-backup');
    await page.getByRole('heading', { name: 'Heartbeat nightly-backup' }).waitFor();
    expect(await page.locator('.facts').textContent()).toContain(
      'Expected every 86400 s, late after 300 s more',
    );
    expect(await page.getByRole('heading', { name: /^Latency/ }).count()).toBe(0);
    // Its failures: what happened, without the status code and latency a ping does not have.
    const failures = page
      .locator('table', { has: page.locator('th', { hasText: 'When' }) })
      .filter({ hasText: 'backup: disk full' });
    await failures.waitFor();
    expect(await failures.locator('th').allTextContents()).toEqual(['When', 'Outcome', 'Message']);
  });

  it('can be used with the keyboard alone', async () => {
    await go('#/');
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Probes');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Probes' }).waitFor();
    // The probe table arrives with its data, after the heading.
    await page.getByRole('link', { name: 'checkout' }).waitFor();
    // Focus moved to the new page's heading, so the next Tab continues inside the page.
    expect(await focused('tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('checkout');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Probe checkout' }).waitFor();
  });

  it("moves focus to a run's heading when it arrives after following a run link", async () => {
    await go('#/runs/shop');
    await page.getByRole('heading', { name: 'Runs of shop' }).waitFor();
    const link = page.locator('main tbody tr a').first();
    const target = (await link.getAttribute('href')) ?? '';
    await link.click();
    // The run's heading comes with its data, after the route changed.
    const heading = page.locator('main h1', { hasText: /^Run / });
    await heading.waitFor();
    expect(new URL(page.url()).hash).toBe(target);
    expect(await focused('tagName')).toBe('H1');
    expect(await focused()).toBe(await heading.textContent());
  });

  it('keeps a drawn chart when a refresh brings the same chart data', async () => {
    // Every answer of /v1/projects is the real one; once `marked`, shop's open-incident count
    // (not the chart's data) changes, which shows when the refresh has been rendered.
    let marked = false;
    await page.route('**/v1/projects', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { projects: { project: string; openIncidents: number }[] };
      for (const p of body.projects) if (marked && p.project === 'shop') p.openIncidents = 4242;
      await route.fulfill({ response: res, json: body });
    });
    try {
      await go('#/');
      const figure = page.locator('figure', { hasText: 'Pass rate on main' });
      await figure.scrollIntoViewIfNeeded();
      await figure.locator('canvas').waitFor();
      await page.evaluate(
        `globalThis.drawn = [...document.querySelectorAll('figure')].find((f) => f.textContent.includes('Pass rate on main')).querySelector('canvas')`,
      );
      marked = true;
      // The link says where it leads, and leads to this project's incidents.
      const incidents = page
        .locator('section.card:has(h2 a[href="#/runs/shop"])')
        .getByRole('link', { name: 'Open incidents: 4242' });
      await incidents.waitFor();
      expect(await incidents.getAttribute('href')).toBe('#/alerts?project=shop');
      // Preact runs effects after the next frame: wait for it and the tasks queued from it.
      await page.evaluate(
        'new Promise((r) => requestAnimationFrame(() => setTimeout(() => setTimeout(r))))',
      );
      expect(await page.evaluate('globalThis.drawn.isConnected')).toBe(true);
      expect(await figure.locator('canvas').count()).toBe(1);
    } finally {
      await page.unrouteAll();
    }
  });

  it('says when a refresh gets no answer, and how old the page it keeps is', async () => {
    await go('#/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // Vigil stopped or out of reach: the next poll's request fails (fetch: "Failed to fetch").
    await page.route('**/v1/probes', (route) => route.abort('connectionrefused'));
    try {
      const alert = page.getByRole('alert').filter({ hasText: 'Could not refresh' });
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(
        /^Could not refresh \(Vigil did not answer: it may be stopped or unreachable from here\): this is what Vigil answered \d+ s ago\.$/,
      );
    } finally {
      await page.unrouteAll();
    }
  });

  it('keeps the other columns readable next to a 300-character branch name, without page overflow', async () => {
    // Ingest takes names of up to 256 characters; the API's answers stretch them to 300 (the
    // branch) and 400 (the suite): the page must not rely on the limit.
    const [branch, suite] = ['b'.repeat(256), 's'.repeat(256)];
    await post(junit(true), { project: 'longnames', branch, suite });
    await pipeline.bus.drain();
    await page.route(/\/v1\/projects(\/longnames\/runs)?(\?|$)/, async (route) => {
      const res = await route.fetch();
      const body = (await res.text()).replaceAll(branch, LONG_BRANCH).replaceAll(suite, LONG_SUITE);
      await route.fulfill({ response: res, body });
    });
    const checks = {
      // Overview: Branch, Kind, Suite, Gate, When, Commit, Result.
      '#/': [
        'section.card:has(h2 a[href="#/runs/longnames"]) tbody td:nth-child(2)',
        'section.card:has(h2 a[href="#/runs/longnames"]) tbody td:nth-child(4) .pill',
        'section.card:has(h2 a[href="#/runs/longnames"]) tbody td:nth-child(5) time',
        'section.card:has(h2 a[href="#/runs/longnames"]) tbody td:nth-child(6) code',
        'section.card:has(h2 a[href="#/runs/longnames"]) thead th',
      ],
      // Runs: When, Gate, Kind, Branch, Suite, Commit, Result.
      '#/runs/longnames': [
        'main tbody td:nth-child(1) time',
        'main tbody td:nth-child(2) .pill',
        'main tbody td:nth-child(3)',
        'main tbody td:nth-child(6) code',
        'main thead th',
      ],
    };
    try {
      for (const [hash, selectors] of Object.entries(checks)) {
        await go(hash);
        const branchCell = page.locator('main td', { hasText: LONG_BRANCH });
        await branchCell.waitFor();
        for (const selector of selectors) {
          const fits = await fitInCells(selector);
          expect(fits.length, selector).toBeGreaterThan(0);
          for (const f of fits)
            expect(f, `${hash} ${selector}`).toMatchObject({ lines: 1, fits: true });
        }
        expect(await pageOverflow(), hash).toBeLessThanOrEqual(0);
        // The branch (300 characters) is shown whole; the suite (400) is cut, whole in its tooltip.
        expect(await branchCell.textContent(), hash).toBe(LONG_BRANCH);
        const suiteCell = page.locator('main td', { hasText: 'ssss' });
        expect((await suiteCell.textContent())?.length, hash).toBe(301);
        expect(await suiteCell.locator('[title]').getAttribute('title'), hash).toBe(LONG_SUITE);
      }
    } finally {
      await page.unrouteAll();
    }
  });

  it('fits a 375 px wide screen: no page overflow, wide tables scroll in their box, Sign out readable', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    try {
      await go('#/');
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      expect(await page.evaluate(CONTRAST_SIGN_OUT)).toMatchObject({
        inViewport: true,
        onItsBackground: true,
      });
      const { ratio } = (await page.evaluate(CONTRAST_SIGN_OUT)) as { ratio: number };
      expect(ratio).toBeGreaterThanOrEqual(4.5);
      for (const hash of [
        '#/',
        '#/runs/longnames',
        '#/tests/shop?status=all',
        `#/run/shop/${encodeURIComponent(failedRunId)}`,
        '#/probe/shop/checkout',
        '#/security/shop',
      ]) {
        await go(hash);
        await page.locator('main h1').waitFor();
        await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
        // Every chart drawn (each is drawn when it comes near the viewport).
        const charts = page.locator('figure.chart');
        for (let i = 0; i < (await charts.count()); i++) {
          await charts.nth(i).scrollIntoViewIfNeeded();
          await charts.nth(i).locator('canvas').waitFor();
        }
        expect(await pageOverflow(), hash).toBeLessThanOrEqual(0);
        if (hash === '#/')
          // Numbers and short words are never split to narrow a column: an uptime ("100.00%",
          // once "1 / 0 / 0 / . / …" down its cell), a run's kind ("coverage").
          for (const selector of [
            'tr[data-probe] td:nth-child(4)',
            'tr[data-probe] td:nth-child(6)',
            'section.card tbody td:nth-child(2)',
          ]) {
            const cells = await fitInCells(selector);
            expect(cells.length, selector).toBeGreaterThan(0);
            for (const c of cells) expect(c, selector).toMatchObject({ lines: 1 });
          }
        if (hash.startsWith('#/tests/'))
          // The Tests table (62rem at least) scrolls inside its box.
          expect(
            await page.evaluate(
              "(() => { const box = document.querySelector('main .scroll'); return box.scrollWidth > box.clientWidth; })()",
            ),
          ).toBe(true);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it('charts the benchmarks of every suite on the branch: the newest suite first, the suite kept in the address', async () => {
    for (const [i, value] of [40, 42].entries())
      await post(Buffer.from(JSON.stringify([{ name: 'parse <rows>', unit: 'ms', value }])), {
        project: 'shop',
        branch: 'main',
        commit: `be0000${i}`,
      });
    await pipeline.bus.drain();
    const urls: URL[] = [];
    const onRequest = (r: Request) => urls.push(new URL(r.url()));
    page.on('request', onRequest);
    // The newest benchmark run (posted without a suite) chooses the suite shown first.
    await go('#/benchmarks/shop?branch=main');
    await page.locator('[aria-label^="parse <rows> (ms) on main: 2 points"]').waitFor();
    const suite = page.getByRole('combobox', { name: 'Suite' });
    expect(await suite.locator('option').allTextContents()).toEqual([
      '(no suite)',
      'hyperfine-1brc-json',
    ]);
    // Every chart's series in one call, for the suite shown.
    const bench = () => urls.filter((u) => u.pathname.includes('/benchmarks'));
    expect(bench().map((u) => `${u.pathname}${u.search}`)).toEqual([
      '/v1/projects/shop/benchmarks?branch=main&limit=100&max=12',
    ]);
    // The suite posted with the report (hyperfine-1brc.json with suite=hyperfine-1brc-json).
    await suite.selectOption('hyperfine-1brc-json');
    await page.getByRole('button', { name: 'Show' }).click();
    await page
      .locator(
        '[aria-label^="cargo run --release --bin 1brc measurements_1000000000.txt (s) on main: 1 points"]',
      )
      .waitFor();
    expect(new URL(page.url()).hash).toBe(
      '#/benchmarks/shop?branch=main&suite=hyperfine-1brc-json',
    );
    expect(bench().at(-1)?.searchParams.get('suite')).toBe('hyperfine-1brc-json');
    // Back to the runs without a suite: kept in the address as `suite=`.
    await suite.selectOption('(no suite)');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('[aria-label^="parse <rows> (ms) on main: 2 points"]').waitFor();
    expect(new URL(page.url()).hash).toBe('#/benchmarks/shop?branch=main&suite=');
    page.off('request', onRequest);
    // The k6 report has no thresholds: a line says so, not a table of headers alone.
    await page.getByText("No thresholds in the latest load test's report").waitFor();
    expect(await page.locator('table', { hasText: 'Threshold' }).count()).toBe(0);
  });

  // The probe's flips started in `beforeAll`, once the browser was up. The next four run side by side.
  it.concurrent('shows the probe going down and back up within its interval plus 5 s', {
    timeout: 60_000,
  }, async () => {
    await flipped;
  });

  it.concurrent('serves the status page without a token and with JavaScript off', {
    timeout: 60_000,
  }, async ({ expect }) => {
    const noJs = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 900, height: 700 },
    });
    const p = await noJs.newPage();
    const res = await p.goto(`${pipeline.url}/status`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['cache-control']).toMatch(/max-age=\d+/);
    await p.getByRole('heading', { name: 'Shop status' }).waitFor();
    await p.getByText('Checkout').first().waitFor();
    const html = await p.content();
    expect(html).not.toContain('127.0.0.1'); // no target URL
    expect(html).not.toContain('checkout'); // no probe name (the component is "Checkout")
    await screenshot(p, 'status.png');
    await noJs.close();
  });

  it.concurrent('serves public badges without a token and others only with one', {
    timeout: 60_000,
  }, async ({ expect }) => {
    const gate = await fetch(`${pipeline.url}/v1/badges/gate/shop.svg`);
    expect(gate.status).toBe(200);
    expect(await gate.text()).toContain('failing');
    expect((await fetch(`${pipeline.url}/v1/badges/uptime/shop/checkout.svg`)).status).toBe(401);
    const uptime = await fetch(`${pipeline.url}/v1/badges/uptime/shop/checkout.svg`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    expect(uptime.status).toBe(200);
  });

  it.concurrent('has no serious or critical accessibility violations (axe-core) and no CSP violations', {
    timeout: 60_000,
  }, async ({ expect }) => {
    for (const hash of [
      '#/',
      `#/run/shop/${encodeURIComponent(failedRunId)}`,
      '#/tests/shop?status=all',
      '#/probe/shop/checkout',
      '#/probe/shop/login',
      '#/alerts',
      '#/benchmarks/shop',
      '#/coverage/shop',
      '#/security/shop',
      '#/runs/shop',
      'status',
    ]) {
      await go(hash);
      await page.locator('main h1').waitFor();
      await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
      expect(await axe(page), hash).toEqual([]);
    }
    expect(cspErrors).toEqual([]);
  });

  it('forgets a refused token and shows the sign-in form again', async () => {
    await page.evaluate("sessionStorage.setItem('vigil.token', 'wrong')");
    await go('#/alerts');
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    // Says why: a wrong token typed into the form is not simply ignored.
    await page.getByLabel('Token').fill('still-wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in to Vigil' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toBe(
      'The token was refused. Sign in again.',
    );
    await page.getByLabel('Token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    // The probe's incident (its flip is over) leads to the probe.
    const toProbe = page.getByRole('link', { name: 'Probe checkout' });
    await toProbe.first().waitFor();
    expect(await toProbe.first().getAttribute('href')).toBe('#/probe/shop/checkout');
    // The webhook that answers 503: its first FIRING waits for its next attempt (to come), the
    // error said; what came after it for this check on that channel waits in line.
    const rows = page
      .locator('table', { hasText: 'Attempts' })
      .locator('tr', { hasText: 'probe:shop/checkout' });
    const retried = rows.filter({ hasText: '503' });
    await retried.first().waitFor();
    expect(await retried.first().textContent()).toMatch(
      /^pendingwebhook\[0\](FIRING|RESOLVED) .*probe:shop\/checkout[1-9]\d*.*503.*next attempt (in \d+ (s|min)|due now)$/,
    );
    for (const row of await rows.filter({ hasNotText: '503' }).all())
      expect(await row.textContent()).toMatch(/^pending.*probe:shop\/checkout0waiting to be sent/);
  });

  it("lists an open incident once on the Alerts page, narrowed to the overview's project", async () => {
    // The resolved incident answered as open, as if it still fired: it shows above, not again
    // in the 30 days.
    const asked: string[] = [];
    // How many of the probe's incidents the faked answer holds: its flips made one, or more
    // when a check failed on a busy machine (its timeout is 500 ms).
    let open = 0;
    await page.route('**/v1/incidents?*', async (route) => {
      const url = new URL(route.request().url());
      asked.push(url.search);
      if (url.searchParams.get('open') !== 'true') return route.fallback();
      url.searchParams.delete('open');
      const res = await route.fetch({ url: url.href });
      const body = (await res.json()) as { incidents: { resolvedAt?: string; checkKey: string }[] };
      for (const i of body.incidents) delete i.resolvedAt;
      open = body.incidents.filter((i) => i.checkKey === 'probe:shop/checkout').length;
      await route.fulfill({ response: res, json: body });
    });
    try {
      await go('#/alerts?project=shop');
      await page.getByRole('heading', { name: 'Alerts of shop' }).waitFor();
      // The faked answer, not what the page showed before it (an open incident of the previous
      // address's answer, on a busy machine, passed the checks before the new answer came).
      await expect.poll(() => open).toBeGreaterThan(0);
      await page.locator('.pill', { hasText: 'FIRING' }).first().waitFor();
      await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
      // Each open incident once: none again in the 30 days below.
      await expect
        .poll(() => page.getByRole('link', { name: 'Probe checkout' }).count())
        .toBe(open);
      expect(asked.every((q) => new URLSearchParams(q).get('project') === 'shop')).toBe(true);
    } finally {
      await page.unrouteAll();
    }
  });
});
