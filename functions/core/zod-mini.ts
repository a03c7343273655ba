import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod/mini, with zod's English messages, for every schema of Vigil (the config, the events, the
 * history's normalized result, CloudWatch alarms, the JSON report formats, the coverage patch):
 * import it as `import * as z from './zod-mini.js'`. zod's own API hangs its checks on methods,
 * which esbuild cannot tree-shake: with zod/mini a bundle carries ~70 KiB less code, which V8
 * parses at every cold start (docs/performance.md#cold-start). zod/mini loads no locale by
 * itself: without `en`, every issue would read "Invalid input".
 */
z.config(en());

export * from 'zod/mini';
/** What a zod/mini `parse` throws. */
export { $ZodError } from 'zod/v4/core';
