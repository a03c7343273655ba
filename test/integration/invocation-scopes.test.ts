import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvokeStoreBase } from '@aws/lambda-invoke-store';
import { describe, expect, it } from 'vitest';
import { ConcurrentInvokeStore } from '../../functions/adapters/local/invocations';
import { childEnv } from '../helpers/child-env';

const SCRIPT = fileURLToPath(new URL('../fixtures/invocations/scopes.ts', import.meta.url));

/** test/fixtures/invocations/scopes.ts in a process of its own: the invoke store is per process. */
const run = async (...args: string[]) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', SCRIPT, ...args],
    { env: childEnv({ POWERTOOLS_LOG_LEVEL: 'SILENT' }) },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
    sdkStore?: boolean;
    contextBetweenRequests: boolean;
    logged: { who?: number; request?: number }[];
  };
};

describe("local mode's invocation scopes", () => {
  it('keep concurrent requests apart, and nothing between them, even after an AWS SDK call made the store', async () => {
    // Act
    const [afterSdk, fresh] = await Promise.all([run('--sdk-first'), run()]);

    // Assess: the SDK's request made a store that keeps the last invocation's context (the
    // cause: a log level set between requests went to the last one, and none was logged)...
    expect(afterSdk.sdkStore).toBe(true);
    for (const seen of [afterSdk, fresh]) {
      // ...and local mode's scopes are apart either way.
      expect(seen.contextBetweenRequests).toBe(false);
      expect(seen.logged.map(({ who, request }) => ({ who, request }))).toEqual([
        { who: 2, request: 2 },
        { who: 1, request: 1 },
      ]);
    }
  });

  it('hold a context only inside a run, one per run, and refuse to change Lambda’s own fields', async () => {
    const store = new ConcurrentInvokeStore();
    expect(store.hasContext()).toBe(false);
    expect(() => store.set('n', 0)).toThrow('no invocation context');

    const seen = await Promise.all(
      [1, 2].map((n) =>
        store.run({}, async () => {
          store.set('n', n);
          await new Promise((r) => setTimeout(r, 15 - n * 5));
          return [store.get('n'), store.getContext()];
        }),
      ),
    );

    expect(seen).toEqual([
      [1, { n: 1 }],
      [2, { n: 2 }],
    ]);
    expect(store.hasContext()).toBe(false);
    expect(() =>
      store.run({}, () => store.set(InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID, 'other')),
    ).toThrow("is Lambda's own context field");
  });
});
