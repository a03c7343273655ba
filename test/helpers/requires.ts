import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Suites that need a program from outside npm (moto_server, cfn-lint, Chromium, promtool...)
 * call `requireTools` at module level and wrap themselves in `describe.skipIf(!ok)`.
 *
 * On a developer's machine a missing program skips the suite with one line saying what is
 * missing and how to get it. In CI (`CI=true`) nothing may be skipped: a missing program
 * throws, so the file fails loudly instead.
 */

/** An executable file of that name in a directory of PATH, as the shell would find it. */
const onPath = (command: string): boolean =>
  command.startsWith('/')
    ? existsSync(command)
    : (process.env.PATH ?? '').split(delimiter).some((dir) => {
        const file = join(dir || '.', command);
        try {
          accessSync(file, constants.X_OK);
          return statSync(file).isFile();
        } catch {
          return false;
        }
      });

export interface Requirement {
  /** A command on PATH or an absolute path. */
  command: string;
  /** How to get it, e.g. `apt-get install -y chromium`. */
  install: string;
}

/** The requirements whose program is not there. */
export const missingTools = (requirements: readonly Requirement[]): Requirement[] =>
  requirements.filter((r) => !onPath(r.command));

export const requireTools = (suite: string, requirements: readonly Requirement[]): boolean => {
  const missing = missingTools(requirements);
  if (missing.length === 0) return true;
  const what = missing.map((r) => `${r.command} (${r.install})`).join(', ');
  const line = `skipped ${suite}: missing ${what}`;
  if (process.env.CI === 'true') throw new Error(`${line}; CI must run every suite`);
  // Straight to stderr: the run hides console output of passing files (`silent: 'passed-only'`),
  // and a skip must stay visible.
  process.stderr.write(`${line}\n`);
  return false;
};

/** Debian's Chromium, or the one named by VIGIL_CHROMIUM. */
export const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

export const TOOLS = {
  moto: { command: 'moto_server', install: 'pip install "moto[server]"' },
  cfnLint: { command: 'cfn-lint', install: 'pip install cfn-lint' },
  chromium: { command: CHROMIUM, install: 'apt-get install -y chromium, or set VIGIL_CHROMIUM' },
  promtool: { command: 'promtool', install: 'apt-get install -y prometheus' },
  prometheus: { command: 'prometheus', install: 'apt-get install -y prometheus' },
  curl: { command: 'curl', install: 'apt-get install -y curl' },
  systemdAnalyze: { command: 'systemd-analyze', install: 'apt-get install -y systemd' },
} as const satisfies Record<string, Requirement>;

/** Flags for headless Chromium on a machine with no internet (as root, no sandbox). */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
