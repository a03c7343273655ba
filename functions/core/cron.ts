import type { CronExpressionParser } from 'cron-parser';
import { sideFileUrl } from './side-files';

/**
 * cron-parser (with luxon, ~100 KiB of bundle, ~10 ms of init) is loaded only where a cron
 * exists, a maintenance window's or a heartbeat's: the async callers await `loadCronParser`
 * with what they evaluate before the synchronous rules run (alert processing, the status
 * queries, the heartbeat service; `loadConfigFile` before `cronProblem`). In a Lambda bundle
 * it is a side file (side-files.ts): not even parsed at init.
 */
let parser: typeof CronExpressionParser | undefined;

/** Load cron-parser if one of `items` has a cron (no `items`, e.g. a raw file: load). */
export const loadCronParser = async (items?: readonly { cron?: string }[]): Promise<void> => {
  if (parser || (items && !items.some((i) => i.cron !== undefined))) return;
  const loaded: typeof import('./cron-parser') =
    typeof VIGIL_SIDE_FILES === 'undefined'
      ? await import('./cron-parser')
      : await import(sideFileUrl('cron-parser'));
  parser = loaded.CronExpressionParser;
};

/** The loaded parser; thrown outside any try, so a missing load is never taken for a bad cron. */
export const loadedCronParser = (): typeof CronExpressionParser => {
  if (!parser)
    throw new Error('cron-parser is not loaded: await loadCronParser() where the config is read');
  return parser;
};
