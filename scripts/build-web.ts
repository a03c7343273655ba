import { gzipSync } from 'node:zlib';
import { buildWebFiles, writeWebFiles } from '../web/build';

/**
 * `node --import tsx scripts/build-web.ts <dir>`: build the dashboard into `<dir>` (the web
 * function's bundle ships it) and print each file's size, raw and gzipped.
 */
const dir = process.argv[2];
if (!dir) throw new Error('usage: build-web.ts <output dir>');
const files = await buildWebFiles();
await writeWebFiles(files, dir);
for (const [path, body] of files)
  process.stdout.write(
    `${path}  ${body.length} B, ${gzipSync(body, { level: 9 }).length} B gzipped\n`,
  );
