import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrowserJob } from '../../functions/core/probes/browser';
import { runBrowserJob } from '../../functions/shared/browser-child';
import { CHROMIUM, CHROMIUM_ARGS, requireTools, TOOLS } from '../helpers/requires';

/**
 * The browser check child's logic, run in-process (the forked child is not seen by coverage):
 * one Chromium shared by the jobs (each job still gets a context and page of its own), scripts
 * written to a temporary directory. The jobs whose script fails before touching the page run
 * on a stand-in browser: a real page costs seconds on a busy machine.
 */

const ok = requireTools('browser child', [TOOLS.chromium]);

let dir: string;
let browser: Browser;

const SCRIPTS: Record<string, string> = {
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

/** A browser whose page has nothing to show (as about:blank). */
const standIn = {
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

const job = (script: string, deadlineMs = 5000): BrowserJob => ({
  script: join(dir, script),
  vars: {},
  secrets: {},
  executablePath: CHROMIUM,
  args: CHROMIUM_ARGS,
  deadline: Date.now() + deadlineMs,
  dir,
});

describe.skipIf(!ok)('a browser check job, in-process', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-browser-child-'));
    for (const [name, text] of Object.entries(SCRIPTS)) await writeFile(join(dir, name), text);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    vi.spyOn(chromium, 'launch').mockResolvedValue(browser);
  });

  afterAll(async () => {
    vi.mocked(chromium.launch).mockRestore();
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a passing check with its steps, no failure, no url for a blank page and no files', async () => {
    // Act
    const report = await runBrowserJob(job('passing.mjs'));
    // Assess
    expect(report).toMatchObject({ ok: true, steps: [{ name: 'log', status: 'up' }] });
    expect(report).not.toHaveProperty('failure');
    expect(report).not.toHaveProperty('url');
    expect(report.consoleErrors).toEqual([]);
    expect(report.files).toEqual({});
  });

  it('fails a script without a default export as a script problem', async () => {
    // Prepare
    vi.mocked(chromium.launch).mockResolvedValueOnce(standIn);
    // Act
    const report = await runBrowserJob(job('no-default.mjs'));
    // Assess
    expect(report.ok).toBe(false);
    expect(report.failure).toEqual({
      assertion: 'script',
      message: 'the script must export a default async function',
    });
  });

  it('reports a thrown non-Error by its text, outside any step', async () => {
    // Prepare
    vi.mocked(chromium.launch).mockResolvedValueOnce(standIn);
    // Act
    const report = await runBrowserJob(job('throws-string.mjs'));
    // Assess
    expect(report).toMatchObject({
      ok: false,
      failure: { assertion: 'script', message: 'plain words' },
      steps: [],
    });
  });

  it('fails a step still running at the deadline as a timeout of that step, with a screenshot', async () => {
    // Act
    const report = await runBrowserJob(job('hangs-in-step.mjs', 200));
    // Assess: one down step (not two), no vitals read from the stuck page.
    const failure = {
      assertion: 'timeout',
      message: 'the script did not finish before its timeout',
      step: 'wait forever',
    };
    expect(report.failure).toEqual(failure);
    expect(report.steps).toEqual([{ name: 'wait forever', status: 'down', latencyMs: 0, failure }]);
    expect(report.vitals).toEqual({});
    expect(existsSync(join(dir, 'screenshot.png'))).toBe(true);
  });
});
