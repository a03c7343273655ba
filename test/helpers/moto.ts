import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A running `moto_server` on 127.0.0.1 for one test file. */
export interface MotoServer {
  endpoint: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 100;
const PORT_ATTEMPTS = 3;

/** Ask the OS for a free TCP port by binding to port 0 and releasing it again. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Kill the whole process group: `moto_server` may be a shim that starts python as a child. */
const killGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
};

const exited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

const stopChild = async (child: ChildProcess): Promise<void> => {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, 'SIGTERM');
  // moto holds no state worth flushing; do not let a slow shutdown stall afterAll.
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 1_000);
  await done;
  clearTimeout(timer);
};

type Attempt = { ok: true; server: MotoServer } | { ok: false; retry: boolean; error: Error };

const attempt = async (): Promise<Attempt> => {
  const port = await freePort();
  const endpoint = `http://${HOST}:${port}`;
  const child = spawn('moto_server', ['-p', String(port), '-H', HOST], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    // Keep only the tail: moto logs every request to stderr.
    stderr = (stderr + chunk).slice(-4_000);
  });
  // Should the test process exit without calling stop(), take the server down with it.
  const onExit = (): void => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) {
      return {
        ok: false,
        retry: false,
        error: new Error(`could not start moto_server: ${spawnError.message}`),
      };
    }
    if (exited(child)) {
      // Most likely someone grabbed the port between freePort() and the bind.
      return {
        ok: false,
        retry: true,
        error: new Error(
          `moto_server exited early (code ${child.exitCode}, signal ${child.signalCode}); stderr:\n${stderr}`,
        ),
      };
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(500) });
      await res.body?.cancel();
      child.stderr?.removeAllListeners('data');
      child.stderr?.resume();
      return { ok: true, server: { endpoint, stop: () => stopChild(child) } };
    } catch {
      await delay(POLL_INTERVAL_MS);
    }
  }
  await stopChild(child);
  return {
    ok: false,
    retry: false,
    error: new Error(
      `moto_server did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s; stderr:\n${stderr}`,
    ),
  };
};

/**
 * Start `moto_server` on a free port and wait until it answers HTTP.
 * Call `stop()` in `afterAll`; it kills the server's whole process group.
 */
export const startMoto = async (): Promise<MotoServer> => {
  let last: Error | undefined;
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    const result = await attempt();
    if (result.ok) return result.server;
    last = result.error;
    if (!result.retry) break;
  }
  throw last ?? new Error('moto_server failed to start');
};
