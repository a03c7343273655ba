import { main } from '../cli/main';

/** Process entry of the `vigil` command (see cli/main.ts). */
const line = (write: (s: string) => void) => (s: string) => write(s.endsWith('\n') ? s : `${s}\n`);

main(process.argv.slice(2), {
  env: process.env,
  stdout: line((s) => process.stdout.write(s)),
  stderr: line((s) => process.stderr.write(s)),
  onRunning: (stop) => {
    const shutdown = () => {
      process.stdout.write('Stopping...\n');
      void stop().then(() => process.exit(0));
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
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
