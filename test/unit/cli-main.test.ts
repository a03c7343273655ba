import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../cli/config';
import { DEV_USAGE, main, USAGE } from '../../cli/main';

const io = (env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  let stop: (() => Promise<void>) | undefined;
  return {
    out,
    err,
    stop: () => stop?.(),
    io: {
      env,
      stdout: (s: string) => out.push(s),
      stderr: (s: string) => err.push(s),
      onRunning: (fn: () => Promise<void>) => {
        stop = fn;
      },
    },
  };
};

const emptyConfig = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-cli-'));
  const file = join(dir, 'vigil.config.json');
  await writeFile(file, JSON.stringify({ project: 'cli-test' }));
  return { dir, file };
};

describe('vigil main', () => {
  it('prints the usage for help, and exits 2 without a command or with an unknown one', async () => {
    const help = io();
    expect(await main(['help'], help.io)).toBe(0);
    expect(help.out.join('')).toBe(USAGE);
    expect(await main([], io().io)).toBe(2);
    const unknown = io();
    expect(await main(['deploy'], unknown.io)).toBe(2);
    expect(unknown.err.join('')).toContain('Unknown command "deploy"');
  });

  it('answers dev --help, and refuses an argument dev does not read, without starting', async () => {
    // Prepare: were a server started, it would make this data directory.
    const { dir } = await emptyConfig();
    const env = { PORT: '0', VIGIL_DATA_DIR: join(dir, 'data') };
    const help = io(env);
    const port = io(env);
    // Act + Assess
    expect(await main(['dev', '--help'], help.io)).toBe(0);
    expect(help.out.join('')).toBe(DEV_USAGE);
    expect(await main(['dev', '--port', '4000'], port.io)).toBe(2);
    expect(port.err.join('')).toContain('vigil dev takes no arguments (got "--port")');
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('dispatches report and probe', async () => {
    const report = io();
    expect(await main(['report'], report.io)).toBe(2);
    const { file } = await emptyConfig();
    const probe = io({ VIGIL_CONFIG: file });
    expect(await main(['probe', '--once'], probe.io)).toBe(0);
  });

  it('runs dev: serves health, prints the URL, its own token and a curl command', async () => {
    // Prepare
    const { dir, file } = await emptyConfig();
    const run = io({ PORT: '0', VIGIL_CONFIG: file, VIGIL_DATA_DIR: join(dir, 'data') });
    // Act: on a terminal, where the token it made is printed.
    expect(await main(['dev'], { ...run.io, terminal: true })).toBeUndefined();
    try {
      // Assess
      const text = run.out.join('');
      const url = /listening on (\S+)/.exec(text)?.[1] ?? '';
      expect(text).toMatch(/token: +vgl_\S+ +\(made at the first start/);
      expect(text).toContain(`${url}/v1/results?project=cli-test&branch=main`);
      expect((await fetch(`${url}/v1/health`)).status).toBe(200);
    } finally {
      await run.stop();
    }
  });

  it('uses the tokens from VIGIL_INGEST_TOKENS and never prints them', async () => {
    const { dir, file } = await emptyConfig();
    const run = io({
      PORT: '0',
      VIGIL_CONFIG: file,
      VIGIL_DATA_DIR: dir,
      VIGIL_INGEST_TOKENS: 'tok-one, tok-two',
    });
    await main(['dev'], run.io);
    await run.stop();
    const text = run.out.join('');
    expect(text).toContain('2 from VIGIL_INGEST_TOKENS');
    expect(text).not.toContain('tok-one');
    expect(text).toContain('$VIGIL_TOKEN');
  });

  it('refuses a bad PORT', async () => {
    const { file } = await emptyConfig();
    await expect(main(['dev'], io({ PORT: 'eighty', VIGIL_CONFIG: file }).io)).rejects.toThrow(
      /PORT must be a number/,
    );
  });
});

describe('resolveConfig', () => {
  it('prefers VIGIL_CONFIG, then the vigil.config.* in the directory, then built-in defaults', async () => {
    const { dir, file } = await emptyConfig();
    const empty = await mkdtemp(join(tmpdir(), 'vigil-cli-'));
    expect(
      (await resolveConfig({ VIGIL_CONFIG: file }, await mkdtemp(join(tmpdir(), 'vigil-cli-'))))
        .config.project,
    ).toBe('cli-test');
    expect(await resolveConfig({}, dir)).toMatchObject({
      source: 'vigil.config.json',
      config: { project: 'cli-test' },
    });
    expect(await resolveConfig({}, empty)).toMatchObject({
      source: 'built-in defaults',
      config: { project: 'default' },
    });
    expect((await resolveConfig({}, process.cwd())).source).toBe('vigil.config.ts');
    await expect(resolveConfig({ VIGIL_CONFIG: 'missing.json' }, dir)).rejects.toThrow(
      /Config file not found/,
    );
  });

  it('refuses to guess between two config files', async () => {
    const { dir } = await emptyConfig();
    await writeFile(join(dir, 'vigil.config.mjs'), 'export default {};');
    await expect(resolveConfig({}, dir)).rejects.toThrow(
      `Found vigil.config.mjs and vigil.config.json in ${dir}: keep one, or name the one to use in VIGIL_CONFIG`,
    );
  });
});
