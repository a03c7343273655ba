import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type VigilConfig } from '../../functions/core/config';
import { BROWSER_EXTERNALS, browserAfterBundling } from '../../lib/browser-checks';
import { loadVigilConfig } from '../../lib/config';
import {
  bundleLikeNodejsFunction,
  esbuildOptions,
  functionEntry,
  REPO_ROOT,
} from '../../lib/function-defaults';
import { buildApp, nagFindings } from './synth';

/**
 * The browser checks' own Lambda function: sized for Chromium, x86_64 (the packed Chromium is
 * x86_64 only), put-only on the archive's `artifacts/` prefix, cdk-nag clean; its asset carries
 * `@sparticuz/chromium` with its packed binary and the bundled check script, and the HTTP probe
 * bundle stays free of Playwright.
 */

const SCRIPT = resolve(import.meta.dirname, '../fixtures/browser/login.check.ts');

let config: VigilConfig;
let template: Template;
let nag: PolicyValidationPluginReport;

beforeAll(async () => {
  config = parseConfig({
    ...(await loadVigilConfig()),
    probes: [
      { name: 'shop-health', url: 'https://shop.example.com/health' },
      { name: 'login', type: 'browser', script: SCRIPT, timeoutMs: 30_000 },
    ],
  });
  const built = await buildApp('dev', { config });
  template = Template.fromStack(built.stack);
  nag = built.nag.validateScope(built.app);
});

const functionWith = (description: string) => {
  const found = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp(description) },
  });
  const [resource] = Object.values(found) as { Properties: Record<string, unknown> }[];
  if (!resource) throw new Error(`no function described as ${description}`);
  return resource.Properties;
};

describe('browser function (synth)', () => {
  it('is its own function, sized for Chromium, beside the HTTP probe function', () => {
    const browser = functionWith('browser checks');
    expect(browser).toMatchObject({
      MemorySize: 2048,
      // A minute of samples + the slowest check's 30 s + margin.
      Timeout: 100,
      EphemeralStorage: { Size: 2048 },
      Architectures: ['x86_64'],
    });
    expect(functionWith('synthetic probes')).toMatchObject({
      MemorySize: 256,
      Architectures: ['arm64'],
    });
    // Scheduled like the HTTP probes: every minute, one schedule per function.
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
  });

  it('may only put objects under artifacts/ in the archive bucket', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes('BrowserChecksHandler'),
    );
    const statements = policies.flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: { Action: unknown }[] } } }).Properties
          .PolicyDocument.Statement,
    );
    const s3 = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3).toEqual([
      expect.objectContaining({
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [expect.anything(), '/artifacts/*']] },
      }),
    ]);
  });

  it('is cdk-nag clean', () => {
    expect(nagFindings(nag, 'error')).toEqual([]);
    expect(nagFindings(nag, 'warning')).toEqual([]);
  });
});

describe('browser function asset', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'vigil-browser-asset-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('ships the packed Chromium, playwright-core and the check script; the probe bundle has no Playwright', async () => {
    const { build } = await import('esbuild');
    const browserDir = join(outdir, 'browser');
    // As NodejsFunction builds it: the shared options with the browser packages external.
    await build({
      ...esbuildOptions(),
      entryPoints: [functionEntry('browser')],
      outfile: join(browserDir, 'index.mjs'),
      external: BROWSER_EXTERNALS,
    });
    const run = promisify(execFile);
    for (const command of browserAfterBundling(config)(REPO_ROOT, browserDir))
      await run('bash', ['-c', command], { cwd: REPO_ROOT });
    const modules = join(browserDir, 'node_modules');
    expect(existsSync(join(modules, '@sparticuz/chromium/bin/chromium.br'))).toBe(true);
    expect(existsSync(join(modules, 'playwright-core/package.json'))).toBe(true);
    // Its dependencies came along (tar-fs unpacks the fonts and libraries at run time).
    expect(existsSync(join(modules, 'tar-fs/package.json'))).toBe(true);
    expect(readFileSync(join(browserDir, 'checks/login.mjs'), 'utf8')).toContain('see welcome');
    const handler = readFileSync(join(browserDir, 'index.mjs'), 'utf8');
    expect(handler).toContain('@sparticuz/chromium');
    expect(handler.length).toBeLessThan(3 * 1024 * 1024);

    const { probe } = await bundleLikeNodejsFunction({ probe: functionEntry('probe') }, outdir);
    const probeBundle = readFileSync(probe ?? '', 'utf8');
    expect(probeBundle).not.toMatch(/playwright|sparticuz/i);
  }, 120_000);
});
