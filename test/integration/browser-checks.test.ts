import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvSecretResolver } from '../../functions/adapters/local/env-secrets';
import { type PackedChromium, packedChromium } from '../../functions/browser/lambda-chromium';
import { type ProbeConfig, probeSchema } from '../../functions/core/config';
import { type ProbeCompletedDetail, probeCompletedDetailSchema } from '../../functions/core/events';
import { systemClock } from '../../functions/core/ports';
import {
  type BrowserJob,
  type BrowserReport,
  browserOutcome,
} from '../../functions/core/probes/browser';
import { runProbe } from '../../functions/core/probes/run';
import { runBrowserJob } from '../../functions/shared/browser-child';
import {
  type BrowserProberOptions,
  CHROMIUM_FLAGS,
  createBrowserProber,
  localChromium,
} from '../../functions/shared/browser-probe';
import { logger } from '../../functions/shared/powertools';
import { MemoryArchive } from '../helpers/fakes';
import { CHROMIUM, CHROMIUM_ARGS, requireTools, TOOLS } from '../helpers/requires';

/**
 * Browser checks, from the Chromium they launch to the outcome the runner returns, against a
 * small web app served here (a login form, a broken shop page, a page that never answers):
 * - which Chromium: Debian's or the one VIGIL_CHROMIUM names, the Lambda's packed one, and the
 *   configuration error without one;
 * - the runner (parent side) with stand-in child processes (plain .mjs modules, no Chromium);
 * - the child's job in this process (the forked child is not seen by coverage), on one Chromium
 *   shared by the jobs, each with a context and page of its own: a login flow, a broken page, a
 *   hung page...;
 * - `runProbe` forking the real child (under tsx) where the child process is what is tested: a
 *   script that never yields (killed from outside) and a script that is no check, both stopped
 *   before the child would launch a Chromium of its own.
 * The forked runs and the shared Chromium start with the file, and the hung page's job with that
 * Chromium; their tests await them, so their waits overlap the rest. A
 * whole forked run, its screenshot and trace archived and served, is proven end to end by
 * test/e2e/browser-outage.test.ts.
 */

const ok = requireTools('browser checks', [TOOLS.chromium]);
const FIXTURES = resolve(import.meta.dirname, '../fixtures/browser');
const PASSWORD = 'hunter2-correct-horse';
const TOKEN = 'tok3n-s3cret-value';
const PNG = '89504e470d0a1a0a';
const ZIP = '504b0304';

const PAGES: Record<string, string> = {
  '/login':
    '<h1>Sign in</h1><form method="post" action="/login"><input id="user" name="user">' +
    '<input id="password" name="password" type="password"><button type="submit">Go</button></form>',
  '/broken':
    '<h1>Shop</h1><img src="/missing.png"><script>console.error("cart failed to load")</script>',
};

/** Scripts written to the temporary directory: stand-in children and in-process checks. */
const SCRIPTS: Record<string, string> = {
  // A stand-in child: a passing report, or a failed one with its files and the secret the page
  // showed (its `url` is the job's directory, to see it removed), or no answer with a process
  // left behind as Chromium would be (its own group, the job's directory in its command line),
  // or a complaint and exit 3.
  'child.mjs': `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
process.once('message', (job) => {
  const report = { ok: true, durationMs: 5, steps: [], vitals: {}, consoleErrors: [],
    failedRequests: [], files: {} };
  if (job.vars.mode === 'report') process.send(report, () => process.exit(0));
  else if (job.vars.mode === 'fail') {
    const files = { screenshot: job.dir + '/screenshot.png', trace: job.dir + '/trace.zip' };
    writeFileSync(files.screenshot, 'png of ' + job.secrets.SHOP_TOKEN);
    writeFileSync(files.trace, 'zip');
    const failure = { assertion: 'step', message: 'no #pay-' + job.vars.token, step: 'pay' };
    process.send({ ...report, ok: false, failure, url: job.dir, files,
      steps: [{ name: 'pay', status: 'down', latencyMs: 7, failure }],
      consoleErrors: ['bad token ' + job.vars.token] }, () => process.exit(0));
  } else if (job.vars.mode === 'stuck') {
    const browser = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', job.dir],
      { detached: true, stdio: 'ignore' });
    writeFileSync(job.vars.pidFile, String(browser.pid));
  } else if (job.vars.mode === 'stuck-in-step') {
    // Stuck: alive until killed (the IPC channel alone would let it exit once read).
    setInterval(() => {}, 1000);
    process.send({ running: 'log in' });
    process.send({ running: null });
    process.send({ running: 'pay with ' + job.vars.token }, () =>
      writeFileSync(job.vars.pidFile, String(process.pid)));
  } else process.stderr.write('child trouble', () => process.exit(3));
});`,
  // Steps in steps, all passing (on a page that shows nothing).
  'nested.mjs': `export default async ({ step }) => {
    await step('outer', () => step('inner', async () => undefined));
    await step('after', async () => undefined);
  };`,
  // Passes: a step, a console message that is not an error, the page left at about:blank.
  'passing.mjs': `export default async ({ page, step }) => {
    await step('log', () => page.evaluate('console.log("just saying")'));
  };`,
  'no-default.mjs': 'export const check = 1;',
  'throws-string.mjs': `export default async () => { throw 'plain words'; };`,
  'hangs-in-step.mjs': `export default async ({ step }) => {
    await step('wait forever', () => new Promise(() => {}));
  };`,
};

let app: Server;
let baseUrl: string;
let dir: string;
const hangs: ServerResponse[] = [];

const listen = (server: Server) =>
  new Promise<number>((ok) =>
    server.listen(0, '127.0.0.1', () => ok((server.address() as AddressInfo).port)),
  );

const serve = (req: import('node:http').IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204).end();
    return;
  }
  if (url.pathname === '/hang') {
    hangs.push(res);
    return;
  }
  if (req.method === 'POST' && url.pathname === '/login') {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      if (form.get('password') !== PASSWORD) res.writeHead(401).end('<h1>Wrong password</h1>');
      else
        res
          .writeHead(303, { location: `/home?user=${encodeURIComponent(form.get('user') ?? '')}` })
          .end();
    });
    return;
  }
  if (url.pathname === '/home') {
    const user = url.searchParams.get('user') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<h1>Welcome ${user.replace(/[<>&"]/g, '')}</h1>`);
    return;
  }
  const page = PAGES[url.pathname];
  res.writeHead(page ? 200 : 404, { 'content-type': 'text/html' });
  res.end(page ?? 'not found');
};

const check = (name: string, script: string, vars: Record<string, string>, timeoutMs = 60_000) =>
  probeSchema.parse({ name, type: 'browser', script, vars: { baseUrl, ...vars }, timeoutMs });

const prober = (options: Partial<BrowserProberOptions> = {}) =>
  createBrowserProber({
    secrets: new EnvSecretResolver({
      VIGIL_SECRET_SHOP_PASSWORD: PASSWORD,
      VIGIL_SECRET_SHOP_TOKEN: TOKEN,
    }),
    archive: new MemoryArchive(),
    ...options,
  });

const run = (probe: ProbeConfig, options?: Partial<BrowserProberOptions>) =>
  runProbe(
    probe,
    { probe: prober(options), clock: systemClock },
    { correlationId: 'c-1', location: 'local', defaultProject: 'shop' },
  );

/** The forked runs, started in `beforeAll` (with Chromium) and awaited by their tests. */
let forked: Record<'block' | 'noExport', Promise<ProbeCompletedDetail>> | undefined;
/** The Chromium the jobs in this process share, launched in `beforeAll`. */
let launched: Promise<Browser> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-browser-checks-'));
  for (const [name, text] of Object.entries(SCRIPTS)) await writeFile(join(dir, name), text);
  app = createServer(serve);
  baseUrl = `http://127.0.0.1:${await listen(app)}`;
  if (!ok) return;
  forked = {
    block: run(check('block', join(FIXTURES, 'blocks.check.ts'), {}, 2500)),
    noExport: run(check('bad', join(FIXTURES, 'no-export.check.ts'), {})),
  };
  // The in-process jobs' browser starts while the first tests run.
  launched = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  launched.catch(() => undefined);
});

afterAll(async () => {
  await Promise.allSettled(Object.values(forked ?? {}));
  await launched?.then((browser) => browser.close()).catch(() => undefined);
  for (const res of hangs) res.destroy();
  await new Promise((ok) => app?.close(ok));
  await rm(dir, { recursive: true, force: true });
});

describe('the Chromium a check launches', () => {
  it('is a configuration error naming what is missing, without a browser', async () => {
    // Act
    const detail = await run(check('login', join(FIXTURES, 'login.check.ts'), {}), {
      chromium: async () => localChromium({ VIGIL_CHROMIUM: '/nonexistent/chromium' }),
    });
    // Assess
    expect(detail.status).toBe('down');
    expect(detail.failure).toEqual({
      assertion: 'config',
      message:
        'no Chromium at /nonexistent/chromium: install it (apt-get install -y chromium) or set VIGIL_CHROMIUM to its path',
    });
  });

  it('uses VIGIL_CHROMIUM when it names a program, with the server flags', () => {
    expect(localChromium({ VIGIL_CHROMIUM: process.execPath })).toEqual({
      executablePath: process.execPath,
      args: CHROMIUM_FLAGS,
    });
  });

  const packed = (args: string[]): PackedChromium => ({
    default: { executablePath: async () => '/tmp/chromium', args },
  });

  it("launches the Lambda's packed one with its flags less the two that weaken page isolation, unpacked once", async () => {
    // Prepare
    const load = vi.fn(async () =>
      packed([
        '--headless',
        '--disable-web-security',
        '--allow-running-insecure-content',
        '--no-zygote',
      ]),
    );
    const chromium = packedChromium(load);
    // Act
    const first = await chromium();
    const second = await chromium();
    // Assess
    expect(first).toEqual({ executablePath: '/tmp/chromium', args: ['--headless', '--no-zygote'] });
    expect(second).toBe(first);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('says why the packed one could not be unpacked, and tries again on the next run', async () => {
    // Prepare: the first unpack fails with an Error, the second with a bare value, then it works.
    const load = vi
      .fn<() => Promise<PackedChromium>>()
      .mockRejectedValueOnce(new Error('ENOSPC: no space left on device'))
      .mockRejectedValueOnce('brotli stream truncated')
      .mockResolvedValueOnce(packed([]));
    const chromium = packedChromium(load);
    // Act
    const results = [await chromium(), await chromium(), await chromium()];
    // Assess
    expect(results).toEqual([
      'Chromium could not be unpacked: ENOSPC: no space left on device',
      'Chromium could not be unpacked: brotli stream truncated',
      { executablePath: '/tmp/chromium', args: [] },
    ]);
  });
});

describe.concurrent('the runner with stand-in children', () => {
  const standIn = (options: Partial<BrowserProberOptions> = {}) =>
    prober({
      chromium: async () => ({ executablePath: '/nowhere/chromium', args: [] }),
      childEntry: join(dir, 'child.mjs'),
      ...options,
    });
  const probe = (vars?: Record<string, string>) =>
    probeSchema.parse({ name: 'shop', type: 'browser', script: '/checks/shop.mjs', vars });
  const signal = new AbortController().signal;

  it('returns the report of a child that answers', async () => {
    // Act
    const outcome = await standIn()(probe({ mode: 'report' }), signal);
    // Assess
    expect(outcome).toMatchObject({ status: 'up' });
    expect(outcome).not.toHaveProperty('failure');
    expect(outcome).not.toHaveProperty('artifacts');
  });

  it("archives a failed run's files by content, scrubs the secret and removes the job's directory", async ({
    expect,
  }) => {
    // Prepare
    const archive = new MemoryArchive();
    // Act
    const outcome = await standIn({ archive })(
      probe({ mode: 'fail', token: '{{secret:SHOP_TOKEN}}' }),
      signal,
    );
    // Assess
    const shot = Buffer.from(`png of ${TOKEN}`);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(outcome).toMatchObject({
      status: 'down',
      failure: { assertion: 'step', message: 'no #pay-***', step: 'pay' },
      steps: [{ name: 'pay', status: 'down', latencyMs: 7 }],
      browser: { consoleErrors: ['bad token ***'], failedRequests: [] },
      artifacts: [
        { kind: 'screenshot', name: `${sha(shot)}.png`, bytes: shot.byteLength },
        { kind: 'trace', name: `${sha(Buffer.from('zip'))}.zip`, bytes: 3 },
      ],
    });
    expect(archive.objects.get(`artifacts/${sha(shot)}.png`)).toMatchObject({
      body: shot,
      contentType: 'image/png',
      metadata: { probe: 'shop', kind: 'screenshot' },
    });
    expect([...archive.objects.keys()]).toHaveLength(2);
    // The directory goes once nothing of the run is left (after the result).
    const jobDir = (outcome as { url?: string }).url ?? '';
    expect(jobDir).toContain('vigil-browser-');
    await expect.poll(() => existsSync(jobDir)).toBe(false);
  });

  it('keeps the result of a failed run whose files cannot be archived, and logs why', async () => {
    // Prepare
    const error = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const archive = { put: async () => Promise.reject(new Error('disk full')) };
    // Act
    const outcome = await standIn({ archive })(probe({ mode: 'fail', token: 'x' }), signal);
    // Assess
    expect(outcome).toMatchObject({ status: 'down', failure: { step: 'pay' } });
    expect(outcome).not.toHaveProperty('artifacts');
    expect(error).toHaveBeenCalledWith('archiving a browser check artifact failed', {
      probe: 'shop',
      kind: 'screenshot',
      error: new Error('disk full'),
    });
    error.mockRestore();
  });

  it('kills a child aborted without an answer, and the browser it left in a group of its own', async ({
    expect,
  }) => {
    // Prepare
    const pidFile = join(dir, 'stuck.pid');
    const stuck = probeSchema.parse({
      name: 'shop',
      type: 'browser',
      script: '/checks/shop.mjs',
      vars: { mode: 'stuck', pidFile },
    });
    const abort = new AbortController();
    // Act: the probe's deadline (its signal) comes once the "browser" is up.
    const running = standIn()(stuck, abort.signal);
    await expect.poll(() => existsSync(pidFile), { timeout: 20_000 }).toBe(true);
    abort.abort();
    const outcome = await running;
    // Assess
    expect(outcome).toMatchObject({
      status: 'down',
      failure: {
        assertion: 'timeout',
        message: 'the browser check was killed: no result within 5000 ms',
      },
    });
    // Gone, or a zombie waiting for init to reap it (it is no child of ours).
    const pid = Number(await readFile(pidFile, 'utf8'));
    const alive = async () =>
      (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.[0] ?? 'gone';
    await expect.poll(alive).toMatch(/^(gone|Z)$/);
  });

  it('names the step a killed child last said it was in, its secret scrubbed', async ({
    expect,
  }) => {
    // Prepare
    const pidFile = join(dir, 'stuck-in-step.pid');
    const stuck = probe({ mode: 'stuck-in-step', token: '{{secret:SHOP_TOKEN}}', pidFile });
    const abort = new AbortController();
    // Act: killed (its signal aborts) once it has said which step it is in.
    const running = standIn()(stuck, abort.signal);
    await expect.poll(() => existsSync(pidFile), { timeout: 20_000 }).toBe(true);
    // An I/O turn or two for the messages it sent before writing the file to be read.
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
    abort.abort();
    const outcome = await running;
    // Assess
    expect(outcome).toMatchObject({
      status: 'down',
      failure: {
        assertion: 'timeout',
        message: 'step "pay with ***": the browser check was killed: no result within 5000 ms',
        step: 'pay with ***',
      },
    });
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('fails a check whose child exits without a result, and logs what it wrote on stderr', async () => {
    // Prepare
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    // Act
    const outcome = await standIn()(probe(), signal);
    // Assess
    expect(outcome).toMatchObject({
      status: 'down',
      failure: {
        assertion: 'browser',
        message: "the browser check's process exited (code 3) without a result",
      },
    });
    expect(warn).toHaveBeenCalledWith('browser check child output', { stderr: 'child trouble' });
    warn.mockRestore();
  });

  it('is a config error when the runner module is missing', async () => {
    // Act
    const outcome = await standIn({ childEntry: join(dir, 'no-such-child.mjs') })(probe(), signal);
    // Assess
    expect(outcome).toMatchObject({
      status: 'down',
      failure: {
        assertion: 'config',
        message: expect.stringContaining(`no browser runner at ${join(dir, 'no-such-child.mjs')}`),
      },
    });
  });
});

// Chromium on a busy 2-core machine takes seconds to start. One job at a time: the child's own
// time limits (vitals, screenshot) are short, and jobs side by side would only share the cores.
// Except the hung page, which only waits (for its deadline, then for a screenshot that cannot
// come): it starts with the browser and its test awaits it, so its wait overlaps the others.
describe.skipIf(!ok)('a job in this process, on a shared Chromium', { timeout: 60_000 }, () => {
  let browser: Browser;
  let hungRun: Promise<{ deadline: number; report: BrowserReport }>;
  let hungContexts: BrowserContext[];

  /** A browser whose page has nothing to show (as about:blank): for scripts that ignore it. */
  const blank = {
    newContext: async () => ({
      tracing: { start: async () => undefined, stop: async () => undefined },
      newPage: async () => ({
        on: () => undefined,
        url: () => 'about:blank',
        evaluate: async () => ({}),
        screenshot: async () => undefined,
      }),
    }),
  } as unknown as Browser;

  const job = async (
    script: string,
    vars: Record<string, string> = {},
    deadlineMs = 30_000,
  ): Promise<BrowserJob> => ({
    script,
    vars,
    secrets: {},
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    deadline: Date.now() + deadlineMs,
    // As the parent sets it for a probe whose deadline leaves 3 s for the artifacts.
    artifactsBy: Date.now() + deadlineMs + 3000,
    dir: await mkdtemp(join(dir, 'job-')),
  });

  const head = async (path: string | undefined, bytes: number) =>
    (await readFile(path ?? '')).subarray(0, bytes).toString('hex');

  beforeAll(async () => {
    browser = await (launched as Promise<Browser>);
    vi.spyOn(chromium, 'launch').mockResolvedValue(browser);
    const hung = await job(join(FIXTURES, 'hung.check.ts'), { baseUrl }, 4000);
    hungRun = runBrowserJob(hung).then((report) => ({ deadline: hung.deadline, report }));
    // Once the page is stuck on /hang it no longer calls `chromium.launch` (one test counts those).
    await vi.waitFor(() => expect(hangs).toHaveLength(1), { timeout: 30_000, interval: 20 });
    hungContexts = browser.contexts();
  });

  // A job leaves its context open (a child would exit): closed after its test, tracing and all.
  afterEach(async () => {
    const left = browser.contexts().filter((c) => !hungContexts.includes(c));
    await Promise.all(left.map((c) => c.close()));
  });

  afterAll(async () => {
    await hungRun?.catch(() => undefined);
    vi.mocked(chromium.launch).mockRestore();
  });

  it('says which step is running as each starts and ends, steps in steps too', async () => {
    // Prepare
    vi.mocked(chromium.launch).mockResolvedValueOnce(blank);
    const said: (string | null)[] = [];
    // Act
    const report = await runBrowserJob(await job(join(dir, 'nested.mjs')), (p) =>
      said.push(p.running),
    );
    // Assess
    expect(report.ok).toBe(true);
    expect(said).toEqual(['outer', 'inner', 'outer', null, 'after', null]);
  });

  it('reports a passing check with its steps, no failure, no url for a blank page and no files', async () => {
    // Act
    const report = await runBrowserJob(await job(join(dir, 'passing.mjs')));
    // Assess
    expect(report).toMatchObject({ ok: true, steps: [{ name: 'log', status: 'up' }] });
    expect(report).not.toHaveProperty('failure');
    expect(report).not.toHaveProperty('url');
    expect(report.consoleErrors).toEqual([]);
    expect(report.files).toEqual({});
  });

  it('passes a login flow, timing each step and reading the Web Vitals', async () => {
    // Prepare: the secret as the runner hands it to the child.
    const login = await job(join(FIXTURES, 'login.check.ts'), { baseUrl, user: 'ada' });
    // Act: the child's report, judged by `runProbe` as the runner's would be.
    const report = await runBrowserJob({ ...login, secrets: { SHOP_PASSWORD: PASSWORD } });
    const detail = await runProbe(
      check('login', login.script, {}),
      { probe: async () => browserOutcome(report, [PASSWORD], []), clock: systemClock },
      { correlationId: 'c-1', location: 'local', defaultProject: 'shop' },
    );
    // Assess
    probeCompletedDetailSchema.parse(detail);
    expect(detail.failure, JSON.stringify(detail)).toBeUndefined();
    expect(detail.status).toBe('up');
    expect(detail.method).toBe('BROWSER');
    expect(detail.url).toBe(`${baseUrl}/home?user=ada`);
    expect(detail.steps?.map((s) => [s.name, s.status])).toEqual([
      ['open login', 'up'],
      ['sign in', 'up'],
      ['see welcome', 'up'],
    ]);
    for (const s of detail.steps ?? []) expect(s.latencyMs).toBeGreaterThan(0);
    expect(detail.latencyMs).toBeGreaterThanOrEqual(
      (detail.steps ?? []).reduce((sum, s) => sum + s.latencyMs, 0) - 1,
    );
    const vitals = detail.browser?.vitals ?? {};
    expect(vitals.ttfbMs).toBeGreaterThan(0);
    expect(vitals.fcpMs).toBeGreaterThan(0);
    expect(vitals.lcpMs).toBeGreaterThan(0);
    expect(vitals.cls).toBe(0);
    expect(detail.browser?.consoleErrors).toEqual([]);
    expect(detail.artifacts).toBeUndefined();
    expect(JSON.stringify(detail)).not.toContain(PASSWORD);
  });

  it('fails with the step, console errors, failed requests, Web Vitals, a screenshot and a trace', async () => {
    // Act
    const report = await runBrowserJob(
      await job(join(FIXTURES, 'broken.check.ts'), { baseUrl, token: 'x' }),
    );
    // Assess
    expect(report).toMatchObject({
      ok: false,
      failure: { assertion: 'step', step: 'find checkout' },
      url: `${baseUrl}/broken`,
    });
    // The run's message names the step (as a multi-step API check's); the step's own does not.
    expect(report.failure?.message).toMatch(/^step "find checkout": .*#checkout-x/s);
    expect(report.steps.map((s) => s.status)).toEqual(['up', 'down']);
    expect(report.steps[1]?.failure?.message).not.toContain('step "find checkout"');
    expect(report.consoleErrors).toContain('cart failed to load');
    expect(report.failedRequests).toContain(`GET ${baseUrl}/missing.png: 404`);
    expect(report.vitals.fcpMs).toBeGreaterThan(0);
    // PNG and ZIP signatures: the real files.
    expect(await head(report.files.screenshot, 8)).toBe(PNG);
    expect(await head(report.files.trace, 4)).toBe(ZIP);
  });

  it('stops a hung page at its deadline: a timeout of its step, timed, with a screenshot and a trace', async () => {
    // Act (started with the browser)
    const { deadline, report } = await hungRun;
    // Assess: one down step (not two), timed up to the deadline; no vitals from the stuck page.
    const message = 'the script did not finish before its timeout';
    expect(report.failure).toEqual({
      assertion: 'timeout',
      message: `step "open": ${message}`,
      step: 'open',
    });
    expect(report.steps).toEqual([
      {
        name: 'open',
        status: 'down',
        latencyMs: expect.any(Number),
        failure: { assertion: 'timeout', message },
      },
    ]);
    expect(report.steps[0]?.latencyMs).toBeGreaterThan(0);
    expect(report.steps[0]?.latencyMs).toBeLessThanOrEqual(report.durationMs);
    expect(hangs).toHaveLength(1);
    expect(Date.now()).toBeGreaterThanOrEqual(deadline);
    expect(report.vitals).toEqual({});
    // The navigation in flight is stopped for the screenshot (its abort is not a page failure).
    expect(await head(report.files.screenshot, 8)).toBe(PNG);
    expect(await head(report.files.trace, 4)).toBe(ZIP);
    expect(report).not.toHaveProperty('warnings');
    expect(report.failedRequests).toEqual([]);
  });

  it('fails a step still running at the deadline as a timeout of that step, with a screenshot', async () => {
    // Act
    const report = await runBrowserJob(await job(join(dir, 'hangs-in-step.mjs'), {}, 200));
    // Assess
    expect(report.failure).toMatchObject({
      assertion: 'timeout',
      message: 'step "wait forever": the script did not finish before its timeout',
      step: 'wait forever',
    });
    expect(report.steps).toHaveLength(1);
    expect(report.steps[0]?.latencyMs).toBeGreaterThan(0);
    expect(await head(report.files.screenshot, 8)).toBe(PNG);
  });

  it('says when a failed run has no screenshot or no trace, rather than leaving them out silently', async () => {
    // Prepare: a page whose screenshot fails and a trace that cannot be written.
    const broken = {
      newContext: async () => ({
        ...(await blank.newContext()),
        tracing: {
          start: async () => undefined,
          stop: async () => Promise.reject(new Error('ENOSPC: no space left\ncall log')),
        },
        newPage: async () => ({
          ...(await (await blank.newContext()).newPage()),
          screenshot: async () => Promise.reject(new Error('Timeout 2000ms exceeded.\ncall log')),
        }),
      }),
    } as unknown as Browser;
    vi.mocked(chromium.launch).mockResolvedValueOnce(broken);
    // Act
    const report = await runBrowserJob(await job(join(dir, 'throws-string.mjs')));
    // Assess
    expect(report).toMatchObject({ ok: false, files: {} });
    expect(report.warnings).toEqual([
      'no screenshot of the failure: Timeout 2000ms exceeded.',
      'no trace of the failure: ENOSPC: no space left',
    ]);
  });

  it('gives the trace the time left before the kill, and leaves out a trace written after it', async () => {
    // Prepare: a trace that takes 1.3 s, with no time left (the 1 s floor applies).
    let written = false;
    const slow = {
      newContext: async () => ({
        ...(await blank.newContext()),
        tracing: {
          start: async () => undefined,
          stop: () =>
            new Promise<void>((ok) =>
              setTimeout(() => {
                written = true;
                ok();
              }, 1300),
            ),
        },
      }),
    } as unknown as Browser;
    vi.mocked(chromium.launch).mockResolvedValueOnce(slow);
    const late = { ...(await job(join(dir, 'throws-string.mjs'))), artifactsBy: Date.now() };
    // Act
    const report = await runBrowserJob(late);
    await vi.waitFor(() => expect(written).toBe(true), { timeout: 2000 });
    // Assess
    expect(report.files.trace).toBeUndefined();
    expect(report.warnings).toEqual(['no trace of the failure: not written within 1000 ms']);
  });

  it('fails a script without a default export as a script problem, without starting Chromium', async () => {
    // Prepare
    vi.mocked(chromium.launch).mockClear();
    // Act
    const report = await runBrowserJob(await job(join(dir, 'no-default.mjs')));
    // Assess
    expect(report.ok).toBe(false);
    expect(report.failure).toEqual({
      assertion: 'script',
      message: 'the script must export a default async function',
    });
    expect(chromium.launch).not.toHaveBeenCalled();
  });

  it('reports a thrown non-Error by its text, outside any step', async () => {
    // Prepare
    vi.mocked(chromium.launch).mockResolvedValueOnce(blank);
    // Act
    const report = await runBrowserJob(await job(join(dir, 'throws-string.mjs')));
    // Assess
    expect(report).toMatchObject({
      ok: false,
      failure: { assertion: 'script', message: 'plain words' },
      steps: [],
    });
  });
});

describe.skipIf(!ok)('forked children', { timeout: 90_000 }, () => {
  it('kills a script that never yields at its timeout, from outside', async () => {
    const blocked = await (forked?.block as Promise<ProbeCompletedDetail>);
    // The script blocks while it loads, before any Chromium. Killed by the runner 500 ms after
    // the timeout, or (on a loaded machine, where the fork itself came late) by the probe's own
    // deadline 1 s after it, which aborts the run and so kills it too.
    expect(blocked.failure?.assertion, JSON.stringify(blocked)).toBe('timeout');
    expect(blocked.failure?.message).toMatch(
      /^(the browser check was killed: )?no result within 2500 ms$/,
    );
    expect(blocked.latencyMs).toBeGreaterThanOrEqual(2500);
    expect(blocked.latencyMs).toBeLessThan(2500 + 2000);
  });

  it('reports a TypeScript script without a default export', async () => {
    const detail = await (forked?.noExport as Promise<ProbeCompletedDetail>);
    expect(detail.failure).toMatchObject({
      assertion: 'script',
      message: 'the script must export a default async function',
    });
  });
});
