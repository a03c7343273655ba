/** cron-parser, as the maintenance windows load it (a side file of the Lambda bundles). */
export { CronExpressionParser } from 'cron-parser';
