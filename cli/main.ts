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

export const DEV_USAGE = `Usage: vigil dev   (or npm start)

Runs the pipeline locally. It takes no arguments: it is set up by environment variables,
among them PORT (default 3000), HOST (default 127.0.0.1), VIGIL_DATA_DIR (default .vigil),
VIGIL_CONFIG (the config file) and VIGIL_INGEST_TOKENS (see docs/local-mode.md).
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
      // Never starts a server (and makes a data directory) for an argument it does not read.
      if (rest.length > 0) {
        const help = ['help', '--help', '-h'].includes(rest[0] ?? '');
        if (help) io.stdout(DEV_USAGE);
        else io.stderr(`vigil dev takes no arguments (got "${rest[0]}").\n\n${DEV_USAGE}`);
        return help ? 0 : 2;
      }
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
