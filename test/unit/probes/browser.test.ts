import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../functions/adapters/local/config-file';
import { parseConfig } from '../../../functions/core/config';
import {
  artifactPath,
  type BrowserReport,
  browserOutcome,
  MAX_ITEMS,
  MAX_TEXT,
} from '../../../functions/core/probes/browser';
import { getArtifact } from '../../../functions/ingest/artifact-route';
import { createHttpProber } from '../../../functions/shared/http-probe';

/** Browser checks without a browser: config rules, the report's scrubbing, the artifact route. */

const browser = (extra: Record<string, unknown> = {}) => ({
  name: 'login',
  type: 'browser',
  script: 'checks/login.check.ts',
  ...extra,
});

const problems = (probe: Record<string, unknown>): string => {
  try {
    parseConfig({ probes: [probe] });
    return '';
  } catch (e) {
    return (e as Error).message;
  }
};

describe('browser check config', () => {
  it('needs a script, and only browser checks take one', () => {
    expect(problems(browser())).toBe('');
    expect(problems(browser({ script: undefined }))).toContain(
      'probes.0.script: a browser check needs "script"',
    );
    expect(problems({ name: 'api', url: 'https://x.example', script: 'a.ts' })).toContain(
      'probes.0.script: "script" is for browser checks',
    );
    expect(problems(browser({ url: 'https://x.example' }))).toContain(
      'probes.0.type: a browser check has "script"',
    );
    expect(problems({ name: 'api', url: 'https://x.example', vars: { a: 'b' } })).toContain(
      'probes.0.vars: "vars" is for browser checks',
    );
  });

  it('allows browser checks up to 120 s and other checks up to 30 s', () => {
    expect(problems(browser({ timeoutMs: 120_000 }))).toBe('');
    expect(problems({ name: 'api', url: 'https://x.example', timeoutMs: 60_000 })).toContain(
      'probes.0.timeoutMs: at most 30000 ms',
    );
  });

  it('resolves the script against the config file and reports one that is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-browser-config-'));
    try {
      await writeFile(join(dir, 'login.check.ts'), 'export default async () => {};');
      const file = join(dir, 'vigil.config.json');
      await writeFile(file, JSON.stringify({ probes: [browser({ script: 'login.check.ts' })] }));
      expect((await loadConfigFile(file)).probes[0]?.script).toBe(join(dir, 'login.check.ts'));
      await writeFile(file, JSON.stringify({ probes: [browser({ script: 'gone.ts' })] }));
      await expect(loadConfigFile(file)).rejects.toThrow(
        `probes.0.script: gone.ts does not exist (looked for ${join(dir, 'gone.ts')})`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails a browser check where no browser runner is wired, instead of crashing', async () => {
    const probe = parseConfig({ probes: [browser()] }).probes[0];
    if (!probe) throw new Error('no probe');
    const outcome = await createHttpProber({ secrets: { resolve: async () => '' } })(
      probe,
      new AbortController().signal,
    );
    expect(outcome).toMatchObject({ status: 'down', failure: { assertion: 'config' } });
  });
});

describe('browserOutcome', () => {
  const report = (extra: Partial<BrowserReport>): BrowserReport => ({
    ok: false,
    durationMs: 12.5,
    steps: [],
    vitals: {},
    consoleErrors: [],
    failedRequests: [],
    files: {},
    ...extra,
  });

  it('scrubs secrets from everything the page reported and cuts it to size', () => {
    const secret = 's3cret-value';
    const outcome = browserOutcome(
      report({
        failure: { assertion: 'step', message: `no ${secret}`, step: `log in ${secret}` },
        steps: [
          {
            name: 'log in',
            status: 'down',
            latencyMs: 3,
            failure: { assertion: 'step', message: secret },
          },
        ],
        url: `https://shop.example/?t=${secret}`,
        consoleErrors: Array.from({ length: 20 }, () => `${secret} ${'x'.repeat(500)}`),
      }),
      [secret],
      [],
    );
    const text = JSON.stringify(outcome);
    expect(text).not.toContain(secret);
    expect(outcome.failure).toEqual({ assertion: 'step', message: 'no ***', step: 'log in ***' });
    expect(outcome.browser?.consoleErrors).toHaveLength(MAX_ITEMS);
    expect(outcome.browser?.consoleErrors[0]).toHaveLength(MAX_TEXT);
    expect(outcome.url).toBe('https://shop.example/?t=***');
    expect(outcome.artifacts).toBeUndefined();
  });

  it("keeps the run's warnings (a missing screenshot), scrubbed", () => {
    const outcome = browserOutcome(
      report({ warnings: ['no screenshot of the failure: page at /t/s3cret crashed'] }),
      ['s3cret'],
      [],
    );
    expect(outcome.warnings).toEqual(['no screenshot of the failure: page at /t/*** crashed']);
    expect(browserOutcome(report({}), [], []).warnings).toEqual([]);
  });

  it('passes a run with its steps and links its artifacts by content', () => {
    const artifact = { kind: 'screenshot' as const, name: `${'a'.repeat(64)}.png`, bytes: 10 };
    const outcome = browserOutcome(report({ ok: true }), [], [artifact]);
    expect(outcome).toMatchObject({ status: 'up', latencyMs: 12.5, artifacts: [artifact] });
    expect(artifactPath(artifact)).toBe(`/v1/artifacts/${'a'.repeat(64)}.png?bytes=10`);
  });
});

describe('GET /v1/artifacts', () => {
  const name = `${'b'.repeat(64)}.zip`;

  it('refuses names that are not content addresses, a missing length, and no archive', async () => {
    await expect(getArtifact({}, '/v1/artifacts/../etc/passwd', { bytes: '1' })).rejects.toThrow(
      'No artifact',
    );
    await expect(getArtifact({}, `/v1/artifacts/${name}`, {})).rejects.toThrow('?bytes=');
    await expect(getArtifact({}, `/v1/artifacts/${name}`, { bytes: '3' })).rejects.toThrow(
      'not configured',
    );
  });

  it('serves a trace as a download, never sniffed', async () => {
    const res = await getArtifact(
      { reader: { get: async () => new Uint8Array([80, 75, 3]) }, uri: (n) => `file:///a/${n}` },
      `/v1/artifacts/${name}`,
      { bytes: '3' },
    );
    expect(res.headers).toMatchObject({
      'content-type': 'application/zip',
      'x-content-type-options': 'nosniff',
    });
    expect(res.headers?.['content-disposition']).toMatch(/^attachment/);
    expect(Buffer.from(res.body ?? '', 'base64')).toEqual(Buffer.from([80, 75, 3]));
  });
});

describe('docs', () => {
  it('shows the tested login script in docs/checks.md', async () => {
    const root = resolve(import.meta.dirname, '../../..');
    const doc = await readFile(join(root, 'docs/checks.md'), 'utf8');
    const fixture = await readFile(join(root, 'test/fixtures/browser/login.check.ts'), 'utf8');
    // The same script but for the type import (the docs name the package export).
    expect(doc).toContain(fixture.split('\n').slice(1).join('\n'));
  });
});
