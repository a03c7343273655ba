import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ProbeConfig } from '../core/config';
import { payloadSha256 } from '../core/payload-hash';
import type { PayloadArchive } from '../core/ports';
import type { Failure } from '../core/probes/assertions';
import {
  artifactReserveMs,
  type BrowserArtifact,
  type BrowserJob,
  type BrowserReport,
  browserConfigError,
  browserOutcome,
  HARD_KILL_GRACE_MS,
  isBrowserProgress,
  killedFailure,
} from '../core/probes/browser';
import { type JudgedOutcome, judged } from '../core/probes/outcome';
import type { ProbeFn } from '../core/probes/run';
import { resolveTemplate, type SecretResolver, secretNames } from '../core/probes/secrets';
import { logger } from './powertools';

/**
 * The runner of browser checks, the same in both runtimes: each run forks a child process
 * (`browser-child.ts`) that drives Chromium, and kills it (with its Chromium) when it is not
 * done `HARD_KILL_GRACE_MS` after the probe's `timeoutMs`. A failed run's screenshot and
 * Playwright trace are archived (the data dir locally, S3 on AWS) under content-addressed names.
 * This module never loads Playwright: only the child does.
 */

/** Flags for headless Chromium on a server: no sandbox (root), no background traffic. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumLaunch {
  executablePath: string;
  args: string[];
}

/** Debian's Chromium, or the one `VIGIL_CHROMIUM` names; when it is not there, why (a config error). */
export const localChromium = (env: NodeJS.ProcessEnv = process.env): ChromiumLaunch | string => {
  const executablePath = env.VIGIL_CHROMIUM || '/usr/bin/chromium';
  return existsSync(executablePath)
    ? { executablePath, args: CHROMIUM_FLAGS }
    : `no Chromium at ${executablePath}: install it (apt-get install -y chromium) or set VIGIL_CHROMIUM to its path`;
};

export interface BrowserProberOptions {
  secrets: SecretResolver;
  /** Where a failed run's screenshot and trace go. */
  archive: PayloadArchive;
  /** The browser to launch, or why there is none. Default `localChromium()`. */
  chromium?: () => Promise<ChromiumLaunch | string>;
  /** The child's module. Default `browser-child.ts` next to this file (run under tsx). */
  childEntry?: string;
  /** The script module of a probe. Default: `probe.script` (made absolute by the config loader). */
  scriptPath?: (probe: ProbeConfig) => string;
}

const DEFAULT_CHILD = fileURLToPath(new URL('./browser-child.ts', import.meta.url));

/** `--import tsx` for a TypeScript child (tsx resolved from here, not from the cwd). */
const tsxArgs = (entry: string): string[] => {
  if (!entry.endsWith('.ts')) return [];
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
};

const EXT = { screenshot: 'png', trace: 'zip' } as const;
const TYPE = { screenshot: 'image/png', trace: 'application/zip' } as const;

/** Archive the files a failed run left; a file that cannot be kept is logged, not fatal. */
const keepArtifacts = async (
  archive: PayloadArchive,
  probe: ProbeConfig,
  files: BrowserReport['files'],
): Promise<BrowserArtifact[]> => {
  const out: BrowserArtifact[] = [];
  for (const kind of ['screenshot', 'trace'] as const) {
    const path = files[kind];
    if (!path) continue;
    try {
      const body = await readFile(path);
      // Hashed once: the archive takes this hash of these bytes as checked (payload-hash.ts).
      const sha256 = payloadSha256(body);
      const name = `${sha256}.${EXT[kind]}`;
      await archive.put({
        key: `artifacts/${name}`,
        body,
        contentType: TYPE[kind],
        sha256,
        metadata: { probe: probe.name, kind },
      });
      out.push({ kind, name, bytes: body.byteLength });
    } catch (error) {
      logger.error('archiving a browser check artifact failed', { probe: probe.name, kind, error });
    }
  }
  return out;
};

const kill = (pid: number): void => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
};

/**
 * Kill the child's process group, then Chromium's: Playwright starts Chromium in a group of its
 * own, and a killed child cannot close it. Chromium's processes are found by the profile
 * directory in their command line (it lives in the job's directory); Linux only (`/proc`), like
 * the runtimes.
 */
const killTree = async (child: ChildProcess, dir: string): Promise<void> => {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
    kill(-child.pid);
  const pids = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    pids
      .filter((p) => /^\d+$/.test(p))
      .map(async (pid) => {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (!cmdline.includes(dir)) return;
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
        // `pid (comm) state ppid pgrp ...`: comm may hold spaces, so count from its `)`.
        const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        if (pgrp > 1) kill(-pgrp);
        kill(Number(pid));
      }),
  );
};

/**
 * Run one job in a child: its report, or why there is none (killed at its deadline, died), as
 * soon as there is one; `swept` settles once nothing of the run is left running.
 */
const runChild = (
  entry: string,
  job: BrowserJob,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ result: BrowserReport | Failure; swept: Promise<void> }> =>
  new Promise((resolve) => {
    const child = fork(entry, [], {
      execArgv: tsxArgs(entry),
      // Its own process group, so the kill takes Chromium with it; its temporary files
      // (Playwright's profile) land in the job's directory, removed after the run.
      detached: true,
      env: { ...process.env, VIGIL_BROWSER_CHILD: '1', TMPDIR: job.dir },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    let settled = false;
    /** The step the child last said it was in: a killed run is reported in it. */
    let running: string | null = null;
    const done = (result: BrowserReport | Failure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
      child.off('message', onMessage);
      if ('assertion' in result && stderr) logger.warn('browser check child output', { stderr });
      resolve({ result, swept: killTree(child, job.dir) });
    };
    const abort = () => done(killedFailure(timeoutMs, running, Object.values(job.secrets)));
    const timer = setTimeout(abort, timeoutMs + HARD_KILL_GRACE_MS);
    signal.addEventListener('abort', abort);
    // Progress (the step running) as the steps start and end, then one report.
    const onMessage = (m: unknown) => {
      if (isBrowserProgress(m)) running = m.running;
      else done(m as BrowserReport);
    };
    child.on('message', onMessage);
    const died = (why: string) =>
      done({ assertion: 'browser', message: `the browser check's process ${why}` });
    // `close`, not `exit`: a child that sends its report and exits can be seen to exit before
    // its message is read; the IPC channel closes only after that.
    child.once('close', (code, sig) => died(`exited (${sig ?? `code ${code}`}) without a result`));
    child.once('error', (e) => died(`could not run: ${e.message}`));
    child.send(job);
  });

/** The `ProbeFn` of browser checks. */
export const createBrowserProber = (options: BrowserProberOptions): ProbeFn => {
  const entry = options.childEntry ?? DEFAULT_CHILD;
  const chromium = options.chromium ?? (async () => localChromium());
  const scriptPath = options.scriptPath ?? ((p: ProbeConfig) => p.script ?? '');
  return async (probe, signal): Promise<JudgedOutcome> => {
    if (!existsSync(entry))
      return browserConfigError(
        `no browser runner at ${entry}: run browser checks from a clone of Vigil (the single-file CLI has none)`,
      );
    const launch = await chromium();
    if (typeof launch === 'string') return browserConfigError(launch);
    const secrets: Record<string, string> = {};
    const vars: Record<string, string> = {};
    for (const [key, value] of Object.entries(probe.vars ?? {})) {
      for (const name of secretNames(value)) secrets[name] ??= await options.secrets.resolve(name);
      vars[key] = await resolveTemplate(value, { resolve: async (n) => secrets[n] ?? '' });
    }
    const dir = await mkdtemp(join(tmpdir(), 'vigil-browser-'));
    const started = performance.now();
    let swept: Promise<void> = Promise.resolve();
    try {
      const run = await runChild(
        entry,
        {
          script: scriptPath(probe),
          vars,
          secrets,
          ...launch,
          deadline: Date.now() + probe.timeoutMs - artifactReserveMs(probe.timeoutMs),
          artifactsBy: Date.now() + probe.timeoutMs,
          dir,
        },
        probe.timeoutMs,
        signal,
      );
      swept = run.swept;
      const report = run.result;
      if ('assertion' in report) return judged(performance.now() - started, report);
      const artifacts = report.ok ? [] : await keepArtifacts(options.archive, probe, report.files);
      return browserOutcome(report, Object.values(secrets), artifacts);
    } finally {
      // Never delays the result: once Chromium is gone, its profile and the files go too.
      void swept
        .then(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }))
        .catch((error: unknown) =>
          logger.warn('cleaning up after a browser check failed', { dir, error }),
        );
    }
  };
};
