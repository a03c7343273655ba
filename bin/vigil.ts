import { main } from '../cli/main';

/** Process entry of the `vigil` command (see cli/main.ts). */
const line = (write: (s: string) => void) => (s: string) => write(s.endsWith('\n') ? s : `${s}\n`);

/**
 * `dev` stops on SIGINT or SIGTERM, once: npm forwards a signal its process group got too, so
 * the server often gets it twice (systemd's stop, a terminal's Ctrl+C), and a repeat must not
 * kill it in the middle of its close. That echo comes at once and is not mentioned; a signal a
 * second or more later (Ctrl+C pressed again) is answered. Installed before the start: a signal
 * that arrives while it starts stops it as soon as it runs.
 */
let stop: (() => Promise<void>) | undefined;
let stopping: number | undefined;
const close = () => {
  if (!stop) return;
  void stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`vigil: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
};
const onSignal = (signal: NodeJS.Signals) => {
  if (stopping !== undefined) {
    if (performance.now() - stopping >= 1000) process.stdout.write(`${signal}: already stopping\n`);
    return;
  }
  stopping = performance.now();
  process.stdout.write('Stopping...\n');
  close();
};
if (process.argv[2] === 'dev') {
  // What it writes (the store, reports, dead letters) is for its owner only, whatever the
  // shell's umask: the data directory's own mode is not enough once its files are copied.
  process.umask(0o077);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main(process.argv.slice(2), {
  env: process.env,
  stdout: line((s) => process.stdout.write(s)),
  stderr: line((s) => process.stderr.write(s)),
  terminal: process.stdout.isTTY === true,
  onRunning: (running) => {
    stop = running;
    if (stopping !== undefined) close();
  },
}).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`vigil: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
