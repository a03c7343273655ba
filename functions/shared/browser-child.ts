import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { BrowserJob, BrowserProgress, BrowserReport } from '../core/probes/browser.js';
import type { StepResult } from '../core/probes/outcome.js';

/**
 * The child process of a browser check: receives one `BrowserJob` over IPC, drives Chromium
 * with playwright-core, answers with one `BrowserReport` and exits. It runs apart from the
 * probe scheduler so a hung page or a busy script never blocks other probes; the parent kills
 * it when it overruns (`browser-probe.ts`).
 */

/** What a check script's default export receives. */
export interface BrowserCheckContext {
  page: Page;
  /** Time a named part of the check; a throw inside fails the step and the check. */
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  /** The probe's `vars` (`{{secret:NAME}}` resolved). */
  vars: Readonly<Record<string, string>>;
  /** The secrets the probe's `vars` name, by name. */
  secrets: Readonly<Record<string, string>>;
}

export type BrowserCheck = (ctx: BrowserCheckContext) => Promise<void>;

class DeadlineError extends Error {}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
/** A Playwright error's first line (its call log follows). */
const firstLine = (e: unknown): string => message(e).split('\n')[0] ?? '';

/**
 * Web Vitals of the current page, from the timings the browser exposes (run in the page, so
 * written as text: this project compiles without the DOM's types). Paints, LCP and layout
 * shifts are handed to observers; `buffered` replays the ones already recorded. A page read
 * right after its load may not have painted yet (a busy machine): it waits for the first
 * contentful paint and the LCP up to 500 ms, well inside the time the caller gives it.
 */
const VITALS = `new Promise((resolve) => {
  const out = {};
  const nav = performance.getEntriesByType('navigation')[0];
  if (nav && nav.responseStart > 0) out.ttfbMs = nav.responseStart;
  let cls = 0;
  const paint = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') out.fcpMs = e.startTime;
  });
  const lcp = new PerformanceObserver((list) => {
    const last = list.getEntries().at(-1);
    if (last) out.lcpMs = last.startTime;
  });
  const shifts = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) cls += e.value;
  });
  try {
    paint.observe({ type: 'paint', buffered: true });
    lcp.observe({ type: 'largest-contentful-paint', buffered: true });
    shifts.observe({ type: 'layout-shift', buffered: true });
  } catch {}
  const started = performance.now();
  const settle = () => {
    const painted = out.fcpMs !== undefined && out.lcpMs !== undefined;
    if (!painted && performance.now() - started < 500) return setTimeout(settle, 50);
    paint.disconnect();
    lcp.disconnect();
    shifts.disconnect();
    out.cls = Math.round(cls * 1000) / 1000;
    resolve(out);
  };
  setTimeout(settle, 50);
})`;

const readVitals = (page: Page): Promise<BrowserReport['vitals']> =>
  page.evaluate<BrowserReport['vitals']>(VITALS);

/** Settles as `fn` does, or after `ms` as `onTimeout` does (its value, or what it throws). */
const within = <T>(ms: number, fn: () => Promise<T>, onTimeout: () => T): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    fn().finally(() => clearTimeout(timer)),
    new Promise<T>((ok, fail) => {
      timer = setTimeout(() => {
        try {
          ok(onTimeout());
        } catch (e) {
          fail(e);
        }
      }, ms);
    }),
  ]);
};

/** The check a script module exports (imported under tsx for a TypeScript script). */
const loadCheck = async (script: string): Promise<BrowserCheck> => {
  const mod = (await import(pathToFileURL(script).href)) as { default?: unknown };
  if (typeof mod.default !== 'function')
    throw new Error('the script must export a default async function');
  return mod.default as BrowserCheck;
};

/**
 * Run one job: its report. `progress` hears the step running as each step starts and ends (the
 * child passes it on to the parent, which names it if it has to kill the run).
 */
export const runBrowserJob = async (
  job: BrowserJob,
  progress: (p: BrowserProgress) => void = () => undefined,
): Promise<BrowserReport> => {
  const steps: StepResult[] = [];
  const consoleErrors: string[] = [];
  const failedRequests: string[] = [];
  const report = (rest: Partial<BrowserReport> & Pick<BrowserReport, 'ok' | 'durationMs'>) => ({
    steps,
    vitals: {},
    consoleErrors,
    failedRequests,
    files: {},
    ...rest,
  });
  const start = performance.now();
  const elapsed = () => Math.round((performance.now() - start) * 10) / 10;
  // The script before the browser: one that is not a check fails without starting Chromium.
  let check: BrowserCheck;
  try {
    check = await loadCheck(job.script);
  } catch (e) {
    return report({
      ok: false,
      durationMs: elapsed(),
      failure: { assertion: 'script', message: message(e) },
    });
  }
  const { chromium } = await import('playwright-core');
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  try {
    browser = await chromium.launch({
      executablePath: job.executablePath,
      args: job.args,
      headless: true,
      // The parent's kill bounds the launch; its time counts against the script's budget.
      timeout: 0,
    });
    context = await browser.newContext();
    await context.tracing.start({ screenshots: true, snapshots: true });
    page = await context.newPage();
  } catch (e) {
    await browser?.close().catch(() => undefined);
    return report({
      ok: false,
      durationMs: elapsed(),
      failure: { assertion: 'browser', message: `Chromium did not start: ${message(e)}` },
    });
  }
  // Off once the run stops the page for its screenshot: the loads it aborts are not the page's.
  let recording = true;
  page.on('console', (m) => {
    if (recording && m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => {
    if (recording) consoleErrors.push(message(e));
  });
  page.on('requestfailed', (r) => {
    if (recording)
      failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText ?? 'failed'}`);
  });
  page.on('response', (r) => {
    if (recording && r.status() >= 400)
      failedRequests.push(`${r.request().method()} ${r.url()}: ${r.status()}`);
  });

  const since = (at: number) => Math.round((performance.now() - at) * 10) / 10;
  /** The step in progress and when it started (a step that misses the deadline is timed too). */
  let running: { name: string; at: number } | undefined;
  /** Set when the script is over (done or past its deadline): later step ends are not its. */
  let over = false;
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    const latency = () => since(at);
    const outer = running;
    running = { name, at };
    if (!over) progress({ running: name });
    try {
      const value = await fn();
      if (!over) steps.push({ name, status: 'up', latencyMs: latency() });
      return value;
    } catch (e) {
      // A step past the deadline ends when its page is stopped: the timeout already reports it.
      if (!over && !(e instanceof DeadlineError))
        steps.push({
          name,
          status: 'down',
          latencyMs: latency(),
          failure: { assertion: 'step', message: message(e) },
        });
      throw e;
    } finally {
      running = outer;
      if (!over) progress({ running: outer?.name ?? null });
    }
  };

  const scriptStart = performance.now();
  let failure: BrowserReport['failure'];
  try {
    await within(
      Math.max(0, job.deadline - Date.now()),
      async () => {
        await check({ page, step, vars: job.vars, secrets: job.secrets });
      },
      () => {
        throw new DeadlineError('the script did not finish before its timeout');
      },
    );
  } catch (e) {
    const step = running?.name ?? steps.find((s) => s.status === 'down')?.name;
    const assertion = e instanceof DeadlineError ? 'timeout' : step ? 'step' : 'script';
    // The run's message names its step, as a multi-step API check's does; the step's own does not.
    failure = {
      assertion,
      message: step ? `step "${step}": ${message(e)}` : message(e),
      ...(step ? { step } : {}),
    };
    if (e instanceof DeadlineError && running)
      steps.push({
        name: running.name,
        status: 'down',
        latencyMs: since(running.at),
        failure: { assertion, message: message(e) },
      });
  }
  over = true;
  const durationMs = Math.round((performance.now() - scriptStart) * 10) / 10;

  // A page that missed the deadline is stuck: its time goes to the screenshot and trace. Else
  // the vitals may take what is left of the script's time (at least 1 s: a busy machine is slow).
  const vitals =
    failure?.assertion === 'timeout'
      ? {}
      : await within(
          Math.max(1000, job.deadline - Date.now()),
          () => readVitals(page),
          () => ({}),
        ).catch(() => ({}));
  const files: BrowserReport['files'] = {};
  const warnings: string[] = [];
  if (failure) {
    const shot = join(job.dir, 'screenshot.png');
    const trace = join(job.dir, 'trace.zip');
    // 2 s for the screenshot, stopping the page first: a navigation still in flight (a page
    // that never answers) holds a screenshot back until it ends. Then the trace, in the time left
    // before the parent's kill (at least 1 s: a busy machine writes the zip slowly).
    const shotStart = performance.now();
    recording = false;
    // (CDP's `Page.stopLoading`: `page.evaluate` itself waits for that navigation.)
    await within(
      500,
      async () => {
        const cdp = await context.newCDPSession(page);
        await cdp.send('Page.stopLoading');
      },
      () => undefined,
    ).catch(() => undefined);
    const left = Math.max(500, 2000 - (performance.now() - shotStart));
    await page
      .screenshot({ path: shot, timeout: left })
      .then(() => (files.screenshot = shot))
      .catch((e: unknown) => warnings.push(`no screenshot of the failure: ${firstLine(e)}`));
    const traceMs = Math.max(1000, (job.artifactsBy ?? 0) - Date.now());
    // A trace written after its time is not reported: the report has gone without it.
    let late = false;
    await within(
      traceMs,
      () =>
        context.tracing.stop({ path: trace }).then(() => {
          if (!late) files.trace = trace;
        }),
      () => {
        late = true;
        throw new Error(`not written within ${traceMs} ms`);
      },
    ).catch((e: unknown) => warnings.push(`no trace of the failure: ${firstLine(e)}`));
  }
  const url = page.url();
  // No `browser.close()`: the child exits right after reporting, and Playwright kills the
  // browser on exit (the parent's sweep is the backstop).
  return report({
    ok: !failure,
    durationMs,
    ...(failure ? { failure } : {}),
    ...(url && url !== 'about:blank' ? { url } : {}),
    vitals,
    files,
    ...(warnings.length ? { warnings } : {}),
  });
};

/** The child's main: one job in, one report out, then exit (Chromium goes with it). */
export const browserChildMain = (): void => {
  process.once('message', (job: BrowserJob) => {
    // Progress goes out as it happens; one the parent cannot take is no reason to stop (the
    // callback keeps a send error from being thrown as an `error` event).
    const progress = (p: BrowserProgress) => {
      process.send?.(p, () => undefined);
    };
    runBrowserJob(job, progress)
      .catch(
        (e): BrowserReport => ({
          ok: false,
          durationMs: 0,
          failure: { assertion: 'browser', message: message(e) },
          steps: [],
          vitals: {},
          consoleErrors: [],
          failedRequests: [],
          files: {},
        }),
      )
      .then((r) => process.send?.(r, () => process.exit(0)));
  });
};

if (process.env.VIGIL_BROWSER_CHILD === '1' && process.send) browserChildMain();
