import { runBackup } from './backup';
import { type DevIo, runDev } from './dev';
import { runProbeCli } from './probe';
import { runReport } from './report';

/** The `vigil` command: `dev` (local pipeline), `report` (post CI results), `probe --once`, `backup`. */

export const USAGE = `Usage: vigil <command> [options]

Commands:
  dev                     run the pipeline locally (same as npm start)
  report <files...>       post CI reports and print the gate verdict (see README)
  probe --once [--config F] [--json]
                          run every probe once and print the results
  backup <destination>    copy the local data directory, safe while it runs
  help                    show this text
`;

export interface MainIo extends DevIo {
  /** Called for `dev` once the pipeline runs: wire signals to `stop`. */
  onRunning?: (stop: () => Promise<void>) => void;
}

/** Runs a command; resolves to its exit code, or undefined while `dev` keeps running. */
export const main = async (argv: readonly string[], io: MainIo): Promise<number | undefined> => {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dev': {
      const pipeline = await runDev(io);
      io.onRunning?.(() => pipeline.close());
      return undefined;
    }
    case 'report':
      return runReport(rest, io);
    case 'probe':
      return runProbeCli(rest, io);
    case 'backup':
      return runBackup(rest, io);
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
