/**
 * For suites in the `shared` project (vitest.config.ts), where the files of a worker share
 * process.env and the module registry: take a copy of process.env now, get a function that
 * puts it back exactly (variables added since are removed). Call it in `beforeAll`, restore in
 * `afterAll`. A suite that imports modules fresh after setting the environment
 * (`vi.resetModules()` + `import()`) also calls `vi.resetModules()` in `afterAll`, so the next
 * file does not get the instances built with its environment.
 */
export const saveEnv = (): (() => void) => {
  const saved = { ...process.env };
  return () => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  };
};

/**
 * Before importing a Lambda entry: local mode turns Powertools' multi-concurrency on for the
 * whole process (`AWS_LAMBDA_MAX_CONCURRENCY`, functions/adapters/local/invocations.ts), which
 * an earlier file of the worker may have started; in Lambda it is not set.
 */
export const asInLambda = (): void => {
  delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
};
