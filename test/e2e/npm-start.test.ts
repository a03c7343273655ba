import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKGROUND_NICE } from '../../functions/adapters/local/threads';
import { childEnv } from '../helpers/child-env';
import { requireTools, TOOLS } from '../helpers/requires';
import { spawnVigil } from '../helpers/vigil-process';

/** `npm start` as a user runs it: a real process, its printed URL, token and curl command. */

const run = promisify(execFile);
/** Without curl the printed command is not run (the rest of the test is). */
const withCurl = requireTools('running the printed curl command (npm-start.test.ts)', [TOOLS.curl]);

/**
 * The config these processes read: the shipped vigil.config.ts's content, as a fixture. The
 * root vigil.config.ts is the user's to edit (the probe walkthrough adds to it), so no test
 * here depends on what it holds.
 */
const CONFIG = 'test/fixtures/config/vigil.config.ts';

/** The nice value of each thread of process `pid`, by thread id (Linux's /proc). */
const threadNiceValues = async (pid: number): Promise<Map<number, number>> => {
  const out = new Map<number, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // After the command name in parentheses: state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
};
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children.splice(0)) child.kill('SIGTERM');
});

// Two processes at once: the refused config while `npm start` comes up.
describe.concurrent('npm start (vigil dev)', () => {
  it('prints its URL, where its generated token is (not the token: no terminal) and a working curl command; runs as one process under npm, which SIGTERM stops, freeing the port; runs its bus worker thread at a lower CPU priority; never loads the X-Ray SDK nor prints a build warning', async () => {
    // Prepare: `npm start` exactly as a user types it (with the fixture config); Node logs
    // every CommonJS module it loads (the X-Ray SDK is one), in worker threads too, on stderr.
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-npm-'));
    const npm = spawn('npm', ['start'], {
      env: childEnv({
        PORT: '0',
        VIGIL_CONFIG: CONFIG,
        VIGIL_DATA_DIR: dataDir,
        VIGIL_INGEST_TOKENS: '',
        NODE_DEBUG: 'module',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own, as systemd's control group or a terminal's Ctrl+C reach it.
      detached: true,
    });
    children.push(npm);
    let out = '';
    let err = '';
    npm.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    npm.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<string>((resolve) =>
      npm.on('exit', (code, signal) => resolve(`${code ?? signal}`)),
    );
    // Up to a minute (tsx compiles the sources first: 20 s were too few under load 13), and
    // no longer than it takes to print.
    const printed = async (pattern: RegExp): Promise<RegExpExecArray> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (npm.exitCode !== null || Date.now() > deadline)
          throw new Error(`npm start never printed ${pattern}: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // Act: the curl command as printed, with the generated token.
    const [, url, port] = await printed(/listening on (http:\/\/127\.0\.0\.1:(\d+))/);
    const [curl] = await printed(/curl [^\n]+\\\n[^\n]+/);
    if (withCurl) {
      const { stdout } = await run('bash', [
        '-c',
        curl.replace('curl -sS', 'curl -sS -w "\\n%{http_code}"'),
      ]);

      // Assess
      const [json, code] = stdout.trim().split('\n');
      expect(code).toBe('202');
      expect(JSON.parse(json ?? '{}')).toMatchObject({
        project: 'vigil',
        kind: 'tests',
        gate: { status: 'fail' },
      });
    }
    const health = await fetch(`${url}/v1/health`);
    expect(health.status).toBe(200);
    // Its output is not a terminal (a pipe, as a log file or systemd's journal): the generated
    // token is not in it, the commands read it from its file, and the dashboard says where.
    const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
    expect(out).not.toContain(token);
    expect(curl).toContain(`Bearer $(cat ${join(dataDir, 'token')})`);
    const [, dashboard] = await printed(/Dashboard: (http:\S+\/) {2}\(sign in with the token in /);
    expect(dashboard).toBe(`${url}/`);
    const page = await fetch(dashboard ?? '');
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module" src="\/assets\/main-\w+\.js">/);

    // Act: npm's only child is the server itself (no shell, no tsx CLI in between).
    const ps = await run('ps', ['-o', 'pid=,args=', '--ppid', String(npm.pid)]);
    const lines = ps.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const [pid, ...args] = (lines[0] ?? '').trim().split(/\s+/);
    expect(args.join(' ')).toBe('node --import tsx bin/vigil.ts dev');
    // Its bus worker thread, and only that one, runs BACKGROUND_NICE below the others (Linux
    // only: elsewhere a nice value is the whole process's, and the server leaves it).
    if (process.platform === 'linux') {
      const nice = await threadNiceValues(Number(pid));
      const base = nice.get(Number(pid));
      expect([...nice.values()].filter((n) => n !== base)).toEqual([
        Math.min(19, (base ?? 0) + BACKGROUND_NICE),
      ]);
    }
    // Act: SIGTERM to npm, which forwards it to the server; while the server closes, the
    // group's signal (npm's and the server's: a second Ctrl+C) must not cut the close short.
    expect(existsSync(join(dataDir, 'vigil.lock'))).toBe(true);
    npm.kill('SIGTERM');
    await printed(/Stopping\.\.\./);
    process.kill(-(npm.pid ?? 0), 'SIGTERM');
    // Assess: one close, npm ends with the server (0), the lock is gone (the close's last step:
    // a server cut short leaves it) and nothing listens on the port any more. npm forwards
    // signals only while its child runs: when the group's signal comes after the server has
    // already exited (a loaded machine), it ends npm itself (seen in a run of the suite).
    expect(['0', 'SIGTERM']).toContain(await exited);
    expect(out.match(/Stopping\.\.\./g)).toHaveLength(1);
    expect(existsSync(join(dataDir, 'vigil.lock'))).toBe(false);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    // Local mode has no use for the X-Ray SDK (only Lambda entries install the tracer).
    expect(err).toMatch(/MODULE \d+: .*@aws-lambda-powertools\/logger/);
    expect(err).not.toMatch(/aws-xray-sdk-core/);
    // No build warning from the worker threads' scripts, when they were built (not cached:
    // test/unit/thread-script.test.ts builds them).
    expect(out + err).not.toMatch(/built with warnings/);
  }, 120_000);

  it('stops on a SIGTERM that arrives while it starts, once it runs, and frees its lock', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-early-'));
    const vigil = await spawnVigil({ VIGIL_CONFIG: CONFIG, VIGIL_DATA_DIR: dataDir });
    children.push(vigil.child);
    // The lock is taken early in the start, well before the bus is ready.
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(dataDir, 'vigil.lock')) && vigil.child.exitCode === null) {
      if (Date.now() > deadline) throw new Error('vigil never took its lock');
      await new Promise((r) => setTimeout(r, 5));
    }

    // Twice, as a terminal's Ctrl+C and npm's forward of it arrive (the second once the first
    // was taken: the kernel merges a signal with the same one still pending).
    vigil.child.kill('SIGTERM');
    await vigil.waitFor(/Stopping\.\.\./);
    vigil.child.kill('SIGTERM');

    const { code, out } = await vigil.exited;
    expect(code).toBe(0);
    expect(out.match(/Stopping\.\.\./g)).toHaveLength(1);
    // The echo is not mentioned (a signal a second later would be: Ctrl+C pressed again).
    expect(out).not.toContain('already stopping');
    // Its files are its owner's only (umask 077), whatever the caller's umask (022 here).
    expect(statSync(join(dataDir, 'vigil.db')).mode & 0o077).toBe(0);
    expect(existsSync(join(dataDir, 'vigil.lock'))).toBe(false);
  }, 60_000);

  it('refuses an invalid config and names the bad field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-badcfg-'));
    const config = join(dir, 'vigil.config.json');
    await writeFile(config, JSON.stringify({ gates: { minCoverage: 'ninety' } }));
    const vigil = await spawnVigil({ VIGIL_CONFIG: config, VIGIL_DATA_DIR: dir });
    children.push(vigil.child);
    const { code, err } = await vigil.exited;
    expect(code).toBe(1);
    expect(err).toMatch(/gates\.minCoverage/);
  }, 60_000);
});
