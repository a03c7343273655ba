import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';

/**
 * Local mode runs many handler invocations concurrently in one process, like a Lambda
 * function with multi-concurrency. Powertools keeps per-invocation state (log keys, log level,
 * metrics, dimensions) in the invoke store when `AWS_LAMBDA_MAX_CONCURRENCY` is set; this
 * turns that on and gives each local invocation its own scope, so the correlation id of
 * one request never shows up in another's logs or metrics.
 */
export type Scoped = <T>(fn: () => Promise<T>) => Promise<T>;

const REQUEST_ID = Symbol.for('vigil.local.requestId');

type Context = Record<string | symbol, unknown>;

/** An invoke store that holds each concurrent invocation's context apart, as Lambda's own does. */
export class ConcurrentInvokeStore extends InvokeStoreBase {
  readonly #als = new AsyncLocalStorage<Context>();
  getContext(): Context | undefined {
    return this.#als.getStore();
  }
  hasContext(): boolean {
    return this.#als.getStore() !== undefined;
  }
  get<T = unknown>(key: string | symbol): T | undefined {
    return this.#als.getStore()?.[key] as T | undefined;
  }
  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key)) throw new Error(`${String(key)} is Lambda's own context field`);
    const context = this.#als.getStore();
    if (context === undefined) throw new Error('no invocation context');
    context[key] = value;
  }
  run<T>(context: Context, fn: () => T): T {
    return this.#als.run(context, fn);
  }
}

/** Whether `store` holds a context only inside `run`, as a store for concurrent invocations must. */
const keepsContextsApart = (store: InvokeStoreBase): boolean =>
  store.run({}, () => store.hasContext()) && !store.hasContext();

/**
 * The process has one invoke store (`globalThis.awslambda.InvokeStore`, where Powertools reads
 * it at every access), made by whoever asks first. The AWS SDK asks at every request (its
 * recursion-detection middleware), without `AWS_LAMBDA_MAX_CONCURRENCY`: after an SDK call in
 * the same process, the store is a single-invocation one, which keeps the last invocation's
 * context for everybody (concurrent requests then shared their log keys, and a log level set
 * between requests went to the last one only). That one is replaced.
 */
export const invocationScopes = async (): Promise<Scoped> => {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  let store = await InvokeStore.getInstanceAsync(true);
  if (!keepsContextsApart(store)) {
    store = new ConcurrentInvokeStore();
    const lambda = globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } };
    lambda.awslambda ??= {};
    lambda.awslambda.InvokeStore = store;
  }
  return (fn) => store.run({ [REQUEST_ID]: randomUUID() }, fn);
};
