import { runLoadCli } from './cli';

/** Process entry of `npm run load` (see load/cli.ts): Ctrl+C stops sending and still reports. */
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('Stopping: waiting for the requests under way…\n');
  controller.abort();
});

runLoadCli(process.argv.slice(2), {
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`vigil load: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
