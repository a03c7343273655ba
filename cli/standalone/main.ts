import { logLine } from '../feedback/answer';

/**
 * Entry of the single-file `vigil.mjs` (built by `npm run build:cli`): `report` and
 * `probe --once`, with nothing but Node.js 20+ (no node_modules, no AWS SDK).
 * `vigil dev` needs the repository: it is not in this file.
 */

export const STANDALONE_USAGE = `Usage: node vigil.mjs <command> [options]

Commands:
  report <files...>       post CI reports and print the gate verdict (report --help)
  probe --once [--config F] [--json]
                          run every probe once and print the results (probe --help)
  help                    show this text

This is the single-file build of the Vigil CLI; \`vigil dev\` (the local pipeline) runs from
a clone of the repository (npm start).
`;

const write = (stream: NodeJS.WriteStream) => (s: string) =>
  stream.write(s.endsWith('\n') ? s : `${s}\n`);

const run = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  const io = { env: process.env, stdout: write(process.stdout), stderr: write(process.stderr) };
  switch (command) {
    // Loaded on use: `--help` stays fast (zod schemas are built when their module loads).
    case 'report':
      return (await import('../report')).runReport(rest, io);
    case 'probe':
      return (await import('../probe')).runProbeCli(rest, io);
    case 'help':
    case '--help':
    case '-h':
      io.stdout(STANDALONE_USAGE);
      return 0;
    default:
      io.stderr(
        `${command === undefined ? '' : `Unknown command "${command}".\n\n`}${STANDALONE_USAGE}`,
      );
      return 2;
  }
};

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `${logLine(`vigil: ${error instanceof Error ? error.message : String(error)}`)}\n`,
    );
    process.exitCode = 1;
  },
);
