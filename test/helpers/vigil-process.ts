import { type ChildProcess, spawn } from 'node:child_process';
import { childEnv } from './child-env';

export interface VigilProcess {
  child: ChildProcess;
  /** The first match of `pattern` on stdout; rejects when the process exits first or on timeout. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; out: string; err: string }>;
}

/** `vigil dev` as a real process (one node process, as `npm start` runs it). */
export const spawnVigil = (env: Record<string, string>): VigilProcess => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/vigil.ts', 'dev'], {
    env: childEnv({ PORT: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const waitFor = (pattern: RegExp, ms = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const started = Date.now();
      const timer = setInterval(() => {
        const m = pattern.exec(out);
        const failure =
          child.exitCode !== null
            ? `vigil exited ${child.exitCode}`
            : Date.now() - started > ms
              ? `timed out waiting for ${pattern}`
              : undefined;
        if (m || failure) clearInterval(timer);
        if (m) resolve(m);
        else if (failure) reject(new Error(`${failure}; stdout: ${out}; stderr: ${err}`));
      }, 25);
    });
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out, err })),
  );
  return { child, waitFor, exited };
};
