import { runDev } from '../cli/dev';
import { runProbeCli } from '../cli/probe';
import { runReport } from '../cli/report';

/** The `vigil` command: `dev` (local pipeline), `report` (post CI results). */

const USAGE = `Usage: vigil <command> [options]

Commands:
  dev                     run the pipeline locally (same as npm start)
  report <files...>       post CI reports and print the gate verdict (see README)
  probe --once [--config F] [--json]
                          run every probe once and print the results
  help                    show this text
`;

const io = {
  env: process.env,
  stdout: (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  stderr: (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

const main = async (argv: string[]): Promise<number | undefined> => {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dev': {
      const pipeline = await runDev(io);
      const stop = () => {
        io.stdout('Stopping...');
        void pipeline.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return undefined;
    }
    case 'report':
      return runReport(rest, io);
    case 'probe':
      return runProbeCli(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
};

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`vigil: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
