import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Git } from '../../cli/git';
import { runReport } from '../../cli/report';
import { type FakeForge, startFakeForge } from '../helpers/fake-forge';

/** `vigil report` edges: the token it will not send, and what reaches stdout and the forge. */

const ENDPOINT = 'https://vigil.test';
const FORGE_TOKEN = 'forge-token-123';
const SHA = 'abc123def4567890abc123def4567890abc12345';
const JUNIT = '<testsuite name="s" tests="1"><testcase classname="c" name="n"/></testsuite>';

let forge: FakeForge;
let dir: string;
let report: string;
let eventPath: string;

beforeAll(async () => {
  forge = await startFakeForge(FORGE_TOKEN);
  dir = await mkdtemp(join(tmpdir(), 'vigil-report-edges-'));
  report = join(dir, 'junit.xml');
  eventPath = join(dir, 'event.json');
  await writeFile(report, JUNIT);
  await writeFile(
    eventPath,
    JSON.stringify({ number: 7, pull_request: { number: 7, head: { sha: SHA } } }),
  );
});
afterAll(async () => {
  await forge.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  forge.requests.length = 0;
  forge.statuses.length = 0;
  forge.comments.clear();
});

const notACheckout: Git = async () => ({ ok: false, stdout: '', stderr: 'not a git repository' });

const githubEnv: NodeJS.ProcessEnv = {
  GITHUB_ACTIONS: 'true',
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_EVENT_PATH: '',
  GITHUB_SHA: SHA,
  GITHUB_TOKEN: FORGE_TOKEN,
};

/** Vigil's answers come from `ingest`; everything else goes to the fake forge. */
const run = async (
  argv: string[],
  env: NodeJS.ProcessEnv,
  ingest: () => Response | Promise<Response>,
) => {
  let stdout = '';
  let stderr = '';
  let ingestCalls = 0;
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.startsWith(ENDPOINT)) {
      ingestCalls++;
      return ingest();
    }
    return fetch(input, init);
  }) as typeof fetch;
  const code = await runReport([report, '--endpoint', ENDPOINT, '--project', 'shop', ...argv], {
    env,
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    fetch: fetchFn,
    sleep: async () => {},
    random: () => 0.5,
    git: notACheckout,
    appendFile: async () => {},
  });
  return { code, stdout, stderr, ingestCalls };
};

const accepted = () =>
  Response.json(
    { runId: 'r1', kind: 'tests', gate: { status: 'pass', checks: [] }, summary: { total: 1 } },
    { status: 202 },
  );

describe('the token', () => {
  it.each([
    ['a zero-width space', 'vgl_secret\u200btoken'],
    ['a control character', 'vgl_secret\u0007token'],
    ['an inner space', 'vgl_secret token'],
    ['a non-ASCII letter', 'vgl_sécret'],
  ])('with %s is a usage error, not echoed, and nothing is sent', async (_, token) => {
    const r = await run(['--allow-unreachable'], { VIGIL_TOKEN: token }, accepted);
    expect(r.code).toBe(2);
    expect(r.ingestCalls).toBe(0);
    expect(r.stderr).toContain('VIGIL_TOKEN holds a character other than visible ASCII');
    expect(r.stderr).not.toContain('secret');
    expect(r.stderr).not.toContain('sécret');
  });

  it('is masked whatever its length', async () => {
    const r = await run([], { VIGIL_TOKEN: 'Zq9' }, () =>
      Response.json({ error: { code: 'unauthorized', message: 'bad token Zq9' } }, { status: 401 }),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('bad token ***');
    expect(r.stdout + r.stderr).not.toContain('Zq9');
  });
});

describe('feedback on the forge', () => {
  const env = () => ({
    ...githubEnv,
    GITHUB_API_URL: forge.url,
    GITHUB_EVENT_PATH: eventPath,
    VIGIL_TOKEN: 'vgl_token',
  });

  it('with --json, stdout carries only the JSON lines', async () => {
    const r = await run(['--json', '--comment', '--status'], env(), accepted);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ outcome: 'accepted' });
    expect(r.stderr).toContain('Vigil: pull request comment created');
    expect(r.stderr).toContain('Vigil: commit status set (pass)');
  });

  it('Vigil unreachable under --allow-unreachable does not turn the status red', async () => {
    const r = await run(['--allow-unreachable', '--status', '--retries', '0'], env(), () => {
      throw new TypeError('fetch failed');
    });
    expect(r.code).toBe(0);
    expect(forge.statuses).toHaveLength(1);
    expect(forge.statuses[0]).toMatchObject({
      state: 'success',
      description: 'Vigil: shop: 1 report(s) not recorded (Vigil unreachable)',
    });
  });

  it('Vigil unreachable without --allow-unreachable is an error status', async () => {
    const r = await run(['--status', '--retries', '0'], env(), () => {
      throw new TypeError('fetch failed');
    });
    expect(r.code).toBe(4);
    expect(forge.statuses[0]).toMatchObject({ state: 'error' });
    expect(String(forge.statuses[0]?.description)).toContain('1 report(s) got no verdict');
  });
});
