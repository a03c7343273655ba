/**
 * The environment for a child Node process of a test. Local mode sets
 * AWS_LAMBDA_MAX_CONCURRENCY in its own process (functions/adapters/local/invocations.ts), and
 * test files share their worker's process.env: a child inheriting it would have Powertools look
 * for Lambda's invoke store before local mode installs one. Node drops undefined values.
 */
export const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  AWS_LAMBDA_MAX_CONCURRENCY: undefined,
  // Set for the test workers only (vitest.config.ts): a child traces as deployed.
  AWS_XRAY_MANUAL_MODE: undefined,
  ...extra,
});
