import { randomUUID } from 'node:crypto';
import { InvokeStore } from '@aws/lambda-invoke-store';

/**
 * Local mode runs many handler invocations concurrently in one process, like a Lambda
 * function with multi-concurrency. Powertools keeps per-invocation state (log keys,
 * metrics, dimensions) in the invoke store when `AWS_LAMBDA_MAX_CONCURRENCY` is set; this
 * turns that on and gives each local invocation its own scope, so the correlation id of
 * one request never shows up in another's logs or metrics.
 */
export type Scoped = <T>(fn: () => Promise<T>) => Promise<T>;

const REQUEST_ID = Symbol.for('vigil.local.requestId');

export const invocationScopes = async (): Promise<Scoped> => {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  const store = await InvokeStore.getInstanceAsync(true);
  return (fn) => store.run({ [REQUEST_ID]: randomUUID() }, fn);
};
