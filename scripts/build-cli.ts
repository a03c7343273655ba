import { parseArgs } from 'node:util';
import { ACTION_ENTRY, ACTION_OUTFILE, buildFile, CLI_ENTRY, CLI_OUTFILE } from '../cli/build';

/**
 * `npm run build:cli`: dist/vigil.mjs and action/dist/index.mjs. `--out FILE` builds only the
 * CLI, to FILE (the CDK bundling of the ingest function uses it).
 */
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const jobs: [string, string][] = values.out
  ? [[CLI_ENTRY, values.out]]
  : [
      [CLI_ENTRY, CLI_OUTFILE],
      [ACTION_ENTRY, ACTION_OUTFILE],
    ];
for (const [entry, outfile] of jobs) {
  const { bytes } = await buildFile(entry, outfile);
  console.log(`${outfile}: ${(bytes / 1024).toFixed(1)} KiB`);
}
