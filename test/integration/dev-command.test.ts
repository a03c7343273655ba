import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_TOKEN_LENGTH, runDev } from '../../cli/dev';
import { localToken } from '../../functions/adapters/local/token-file';
import { requireTools, TOOLS } from '../helpers/requires';

const run = promisify(execFile);
/** Without curl the printed commands are not run (the rest of the tests are). */
const withCurl = requireTools('running the printed curl command (dev-command.test.ts)', [
  TOOLS.curl,
]);

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-dev-'));
  const config = join(dir, 'vigil.config.json');
  await writeFile(config, JSON.stringify({ project: 'shop' }));
  env = { VIGIL_CONFIG: config, VIGIL_DATA_DIR: join(dir, 'data') };
});

describe('vigil dev (npm start)', () => {
  it('prints a curl command that works from any directory: the sample report by its absolute path', async () => {
    let out = '';
    const pipeline = await runDev({
      env: { ...env, PORT: '0' },
      stdout: (s) => {
        out += s;
      },
      stderr: () => {},
    });
    try {
      const sample = /--data-binary @(\S+)/.exec(out)?.[1] ?? '';
      expect(isAbsolute(sample), out).toBe(true);
      expect(existsSync(sample)).toBe(true);
    } finally {
      await pipeline.close();
    }
  });

  it('keeps the token it made across restarts, in an owner-only file of the data directory', async () => {
    const start = async () => {
      let out = '';
      const pipeline = await runDev({
        env: { ...env, PORT: '0', VIGIL_DATA_DIR: join(dir, 'kept') },
        stdout: (s) => {
          out += s;
        },
        stderr: () => {},
        terminal: true,
      });
      await pipeline.close();
      return /token: {4}(vgl_\S+)/.exec(out)?.[1];
    };
    const first = await start();
    expect(first).toMatch(/^vgl_[A-Za-z0-9_-]{24}$/);
    expect(await start()).toBe(first);
    const file = join(dir, 'kept', 'token');
    expect((await readFile(file, 'utf8')).trim()).toBe(first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('prints the token only to a terminal: elsewhere its file, and commands that read it there', async () => {
    // A data directory whose path needs quoting in a shell.
    const data = join(await mkdtemp(join(tmpdir(), "vigil-it's here ")), 'data');
    let out = '';
    const pipeline = await runDev({
      env: { ...env, PORT: '0', VIGIL_DATA_DIR: data },
      stdout: (s) => {
        out += s;
      },
      stderr: () => {},
    });
    try {
      const token = (await readFile(join(data, 'token'), 'utf8')).trim();
      expect(out).not.toContain(token);
      expect(out).toContain(`  token:    in ${join(data, 'token')}  (printed only to a terminal;`);
      expect(out).toContain(
        `Dashboard: ${pipeline.url}/  (sign in with the token in ${join(data, 'token')})`,
      );
      // The printed command, run by a shell as pasted, reads the token from its file.
      const curl = /curl [^\n]+ "([^"]+\/v1\/metrics[^"]+)"/.exec(out)?.[0] ?? '';
      if (withCurl) {
        const { stdout } = await run('bash', [
          '-c',
          curl.replace('curl -sS', 'curl -sS -w "\\n%{http_code}"'),
        ]);
        expect(stdout.trim().split('\n').at(-1)).toBe('200');
      }
    } finally {
      await pipeline.close();
    }
  });

  it('warns of tokens short enough to guess and of an address beyond loopback, naming no token', async () => {
    const start = async (extra: NodeJS.ProcessEnv) => {
      let err = '';
      const pipeline = await runDev({
        env: { ...env, PORT: '0', VIGIL_DATA_DIR: join(dir, 'warn'), ...extra },
        stdout: () => {},
        stderr: (s) => {
          err += s;
        },
      });
      await pipeline.close();
      return err;
    };
    const long = 'a'.repeat(MIN_TOKEN_LENGTH);
    expect(await start({ VIGIL_INGEST_TOKENS: long, VIGIL_READ_TOKENS: long })).toBe('');
    const err = await start({
      VIGIL_INGEST_TOKENS: `hunter2, ${long}, ${long.slice(1)}`,
      VIGIL_READ_TOKENS: 'reader',
      HOST: '0.0.0.0',
    });
    expect(err.split('\n')).toEqual([
      `warning: VIGIL_INGEST_TOKENS holds 2 token(s) shorter than ${MIN_TOKEN_LENGTH} characters, which can be guessed: use long random ones (openssl rand -base64 24)`,
      `warning: VIGIL_READ_TOKENS holds 1 token(s) shorter than ${MIN_TOKEN_LENGTH} characters, which can be guessed: use long random ones (openssl rand -base64 24)`,
      'warning: HOST=0.0.0.0 lets other machines reach Vigil over plain HTTP, tokens and reports unencrypted: put a TLS proxy in front of it, or keep HOST=127.0.0.1; alert messages carry no dashboard link until alerts.dashboardUrl names the address the team opens',
      '',
    ]);
    // The scrape token and a heartbeat's own token open routes too: 4 digits is 10,000 guesses.
    await writeFile(
      env.VIGIL_CONFIG as string,
      JSON.stringify({
        project: 'shop',
        heartbeats: [{ name: 'backup', periodSeconds: 3600, tokenSecret: 'hb' }],
      }),
    );
    try {
      expect(
        await start({
          VIGIL_INGEST_TOKENS: long,
          VIGIL_METRICS_TOKEN: 'abc',
          VIGIL_SECRET_HB: '4821',
        }),
      ).toBe(
        `warning: VIGIL_METRICS_TOKEN holds 1 token(s) shorter than ${MIN_TOKEN_LENGTH} characters, which can be guessed: use long random ones (openssl rand -base64 24)\n` +
          `warning: VIGIL_SECRET_HB holds 1 token(s) shorter than ${MIN_TOKEN_LENGTH} characters, which can be guessed: use long random ones (openssl rand -base64 24)\n`,
      );
    } finally {
      await writeFile(env.VIGIL_CONFIG as string, JSON.stringify({ project: 'shop' }));
    }
  });

  it('prints a loopback address when it listens on every address (0.0.0.0 names no machine)', async () => {
    const pipeline = await runDev({
      env: { ...env, PORT: '0', HOST: '0.0.0.0', VIGIL_DATA_DIR: join(dir, 'wildcard') },
      stdout: () => {},
      stderr: () => {},
    });
    try {
      expect(pipeline.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${pipeline.url}/v1/health`)).status).toBe(200);
    } finally {
      await pipeline.close();
    }
  });

  it('keeps the data directory and its token owner-only, even when they were made wider', async () => {
    const data = await mkdtemp(join(tmpdir(), 'vigil-modes-'));
    await chmod(data, 0o755);
    await writeFile(join(data, 'token'), 'vgl_AAAAAAAAAAAAAAAAAAAAAAAA\n', { mode: 0o644 });
    // A stale temporary file of an earlier process with this pid, readable by all.
    await writeFile(join(data, `token.${process.pid}.tmp`), 'x', { mode: 0o644 });
    const pipeline = await runDev({
      env: { ...env, PORT: '0', VIGIL_DATA_DIR: data },
      stdout: () => {},
      stderr: () => {},
    });
    await pipeline.close();
    expect((await stat(data)).mode & 0o777).toBe(0o700);
    expect((await stat(join(data, 'token'))).mode & 0o777).toBe(0o600);
    // A new token, made over the stale temporary file, is owner-only too.
    await writeFile(join(data, 'token'), 'not a token\n');
    await localToken(data);
    expect((await stat(join(data, 'token'))).mode & 0o777).toBe(0o600);
  });

  it('replaces a token file that does not hold a token it made', async () => {
    const data = await mkdtemp(join(tmpdir(), 'vigil-token-'));
    await writeFile(join(data, 'token'), 'password\n');
    const token = await localToken(data);
    expect(token).toMatch(/^vgl_[A-Za-z0-9_-]{24}$/);
    expect(await localToken(data)).toBe(token);
  });

  it('fails to start when its token file cannot be read, and leaves the data directory free', async () => {
    const data = join(dir, 'unreadable');
    await mkdir(join(data, 'token'), { recursive: true });
    const io = {
      env: { ...env, PORT: '0', VIGIL_DATA_DIR: data },
      stdout: () => {},
      stderr: () => {},
    };
    await expect(runDev(io)).rejects.toMatchObject({ code: 'EISDIR' });
    // The store it opened was closed with its lock: the next start may take the directory.
    await rm(join(data, 'token'), { recursive: true });
    await (await runDev(io)).close();
  });

  describe('on a port already taken', () => {
    let taken: Server;
    beforeAll(async () => {
      taken = createServer();
      await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok));
    });
    afterAll(() => new Promise<void>((ok) => taken.close(() => ok())));

    it('says so and how to choose another port', async () => {
      const port = (taken.address() as { port: number }).port;
      await expect(
        runDev({ env: { ...env, PORT: String(port) }, stdout: () => {}, stderr: () => {} }),
      ).rejects.toThrow(
        `127.0.0.1:${port} is already in use (another Vigil, or another program): stop it, or start with PORT=<another port> (PORT=0 takes any free one).`,
      );
    });
  });
});
