import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_ENTRY, ACTION_OUTFILE, buildFile, cachedCliText } from '../../cli/build';
import { parseConfig } from '../../functions/core/config';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { type FakeForge, startFakeForge } from '../helpers/fake-forge';

/**
 * A GitHub workflow run, simulated end to end: the single-file CLI downloaded from the local
 * pipeline into an empty directory (no node_modules), run with the environment GitHub Actions
 * sets, against the in-process pipeline and a fake GitHub API.
 */

const TOKEN = 'ci-edge-token';
const GH_TOKEN = 'ghs_fake_token';
const HEAD = '0123456789abcdef0123456789abcdef01234567';
let pipeline: LocalPipeline;
let forge: FakeForge;
let root: string;
let work: string;
/** A fresh build of the action's entry, made while the other tests run. */
let freshAction: Promise<string>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vigil-ci-edge-'));
  work = join(root, 'checkout');
  await mkdir(work);
  const fresh = join(root, 'action.mjs');
  freshAction = buildFile(ACTION_ENTRY, fresh).then(() => fresh);
  freshAction.catch(() => undefined); // awaited (and its failure reported) by its test
  forge = await startFakeForge(GH_TOKEN);
  pipeline = await startLocal({
    config: parseConfig({ project: 'shop' }),
    dataDir: join(root, 'data'),
    port: 0,
    tokens: [TOKEN],
    probes: false,
    cliFile: cachedCliText,
  });
}, 60_000);

afterAll(async () => {
  await pipeline?.close();
  await forge?.close();
  await rm(root, { recursive: true, force: true });
});

const junit = (failing: boolean) => `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="cart" tests="3" failures="${failing ? 2 : 0}" time="0.3">
    <testcase classname="Cart" name="adds an item" file="src/cart.test.ts" time="0.1"/>
    <testcase classname="Cart" name="applies a &lt;coupon&gt;" file="src/cart.test.ts" time="0.1">${
      failing
        ? '<failure message="expected 90 to be 80&#10;at line 2">AssertionError: expected 90 to be 80\n    at Object.&lt;anonymous&gt; (src/cart.test.ts:14:7)</failure>'
        : ''
    }</testcase>
    <testcase classname="Cart" name="removes 50%, item" file="${work}/src/remove.test.ts" time="0.1">${
      failing ? '<failure message="::stop-commands::x"/>' : ''
    }</testcase>
  </testsuite>
</testsuites>`;

const run = (args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      ['vigil.mjs', ...args],
      { cwd: work, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) =>
        done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });

/** The committed Action entry, run as GitHub runs it (inputs as INPUT_* variables) in `work`. */
const runAction = (inputs: Record<string, string>) =>
  new Promise<{ code: number; stdout: string }>((done) => {
    execFile(
      process.execPath,
      [ACTION_OUTFILE],
      {
        cwd: work,
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? '',
          GITHUB_ACTIONS: 'true',
          GITHUB_ACTION: 'vigil',
          GITHUB_WORKSPACE: work,
          INPUT_ENDPOINT: pipeline.url,
          INPUT_PROJECT: 'shop',
          INPUT_TOKEN: TOKEN,
          'INPUT_FAIL-ON-UNREACHABLE': 'true',
          ...inputs,
        },
      },
      (error, stdout) => done({ code: error ? Number(error.code ?? 1) : 0, stdout }),
    );
  });

describe('a GitHub workflow with the single-file CLI', () => {
  it('downloads the CLI without a token', async () => {
    const res = await fetch(`${pipeline.url}/v1/cli/vigil.mjs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const text = await res.text();
    expect(text.startsWith('#!/usr/bin/env node')).toBe(true);
    // Every CI job downloads it: a guard against bundling a large dependency by accident (the
    // AWS SDK alone is ~400 KB), with room for the CLI's own growth (300 KB until the config
    // checks and the check kinds grew on 2026-12-05; 293 KiB then).
    expect(text.length).toBeLessThan(320_000);
    expect(text).not.toContain(TOKEN);
    await writeFile(join(work, 'vigil.mjs'), text);
  }, 60_000);

  it('reports, annotates, writes the summary, comments once and sets the status', async () => {
    const summary = join(root, 'step-summary.md');
    const event = join(root, 'event.json');
    await writeFile(event, JSON.stringify({ pull_request: { number: 12, head: { sha: HEAD } } }));
    const env = (attempt: string): NodeJS.ProcessEnv => ({
      VIGIL_ENDPOINT: pipeline.url,
      VIGIL_PROJECT: 'shop',
      VIGIL_TOKEN: TOKEN,
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: work,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_API_URL: forge.url,
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_EVENT_PATH: event,
      GITHUB_SHA: 'f'.repeat(40),
      GITHUB_TOKEN: GH_TOKEN,
      GITHUB_HEAD_REF: 'feature/cart',
      GITHUB_BASE_REF: 'main',
      GITHUB_RUN_ID: '991',
      GITHUB_RUN_ATTEMPT: attempt,
      GITHUB_JOB: 'test',
    });

    await writeFile(join(work, 'junit.xml'), junit(true));
    const first = await run(
      ['report', 'junit.xml', '--suite', 'unit', '--comment', '--status'],
      env('1'),
    );
    expect(first.stderr).toBe('');
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('failed tests (2):');
    expect(first.stdout).toContain('✖ cart › Cart › applies a <coupon>: expected 90 to be 80');
    expect(first.stdout).toContain(
      '::error file=src/cart.test.ts,line=14,title=Failed%3A cart › Cart › applies a <coupon>::expected 90 to be 80',
    );
    // Hostile text is escaped: the title's comma and colon, a message that is a command.
    expect(first.stdout).toContain(
      '::error file=src/remove.test.ts,title=Failed%3A cart › Cart › removes 50%25%2C item::::stop-commands::x',
    );
    expect(first.stdout.split('\n').filter((l) => l.startsWith('::stop-commands'))).toEqual([]);
    expect(first.stdout).toContain('Vigil: pull request comment created');
    expect(first.stdout).toContain('Vigil: commit status failure: gate failed in');
    const md = await readFile(summary, 'utf8');
    expect(md).toContain('### ❌ Vigil: shop \\(unit\\): failed');
    expect(md).toContain('applies a &lt;coupon\\>');

    await writeFile(join(work, 'junit.xml'), junit(false));
    const second = await run(
      ['report', 'junit.xml', '--suite', 'unit', '--comment', '--status'],
      env('2'),
    );
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Vigil: pull request comment updated');
    expect(second.stdout).not.toContain('::error');

    const comments = forge.comments.get(12) ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain('✅ Vigil: shop \\(unit\\): passed');
    expect(forge.statuses.map((s) => [s.sha, s.state, s.context])).toEqual([
      [HEAD, 'failure', 'vigil/shop/unit'],
      [HEAD, 'success', 'vigil/shop/unit'],
    ]);
    expect(String(forge.statuses[0]?.target_url)).toMatch(
      new RegExp(`^${pipeline.url}/#/run/shop/[0-9a-f]{32}$`),
    );
    expect((await readFile(summary, 'utf8')).match(/^### /gm)).toHaveLength(2);
  }, 60_000);

  it('the committed action entry is up to date and runs with the inputs GitHub passes', async () => {
    const fresh = await freshAction;
    const digest = async (f: string) =>
      createHash('sha256')
        .update(await readFile(f))
        .digest('hex');
    expect(await digest(ACTION_OUTFILE), 'action/dist/index.mjs is stale: npm run build:cli').toBe(
      await digest(fresh),
    );
    await writeFile(join(work, 'junit.xml'), junit(false));
    const r = await runAction({ INPUT_FILES: '*.xml', INPUT_SUITE: 'action' });
    expect(r.stdout).toContain('junit.xml: junit → tests');
    expect(r.code).toBe(0);
  }, 60_000);

  it('the action says in one ::error why it got no verdict: no file matched, token refused', async () => {
    const errors = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('::error'));
    await writeFile(join(work, 'junit.xml'), junit(false));

    const nomatch = await runAction({ INPUT_FILES: 'nomatch/*.xml' });
    const refused = await runAction({ INPUT_FILES: 'junit.xml', INPUT_TOKEN: 'not-the-token' });
    const empty = await runAction({ INPUT_FILES: 'junit.xml', INPUT_PROJECT: '' });

    expect(nomatch.code).toBe(2);
    expect(errors(nomatch.stdout)).toEqual([
      '::error title=Vigil::no file matches the pattern nomatch/*.xml',
    ]);
    expect(refused.code).toBe(3);
    expect(errors(refused.stdout)).toEqual([
      expect.stringMatching(/^::error title=Vigil::junit\.xml: rejected by the server: .*401/),
    ]);
    // In the Action's terms (its input), not the CLI's flags, and nothing sent.
    expect(empty.code).toBe(2);
    expect(empty.stdout.trim().split('\n')).toEqual([
      "::error title=Vigil::the project input is empty: set it under the step's with: (or VIGIL_PROJECT in its env:)",
    ]);
  }, 60_000);

  it('runs probe --once from the same file', async () => {
    await writeFile(
      join(work, 'probes.json'),
      JSON.stringify({ probes: [{ name: 'vigil-health', url: `${pipeline.url}/v1/health` }] }),
    );
    const r = await run(['probe', '--once', '--config', 'probes.json'], {});
    expect(r.stdout).toMatch(/vigil-health\s+✔ UP\s+200/);
    expect(r.code).toBe(0);
  }, 30_000);
});
