/**
 * `node --import tsx scripts/after-bundling.ts <outputDir>`: what CDK runs after bundling every
 * function (`BUNDLING.commandHooks` in lib/function-defaults.ts), in one process: trim the
 * bundle's source map (scripts/trim-source-map.ts) and build the side files beside the bundle
 * (functions/core/side-files.ts).
 */
import { join } from 'node:path';
import { BUNDLE_FILE, buildSideFiles } from '../lib/function-defaults';
import { trimSourceMapFile } from './trim-source-map';

const [outputDir, ...rest] = process.argv.slice(2);
if (outputDir === undefined || rest.length > 0) {
  console.error('usage: node --import tsx scripts/after-bundling.ts <outputDir>');
  process.exit(2);
}
trimSourceMapFile(join(outputDir, `${BUNDLE_FILE}.map`));
await buildSideFiles(outputDir);
