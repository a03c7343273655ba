/** cron-parser, as `loadCronParser` loads it (cron.ts; a side file of the Lambda bundles). */
export { CronExpressionParser } from 'cron-parser';
