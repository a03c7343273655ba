import { afterEach, vi } from 'vitest';

/**
 * Vitest setup file: real timers again after every test. A test that fails between
 * `vi.useFakeTimers()` and its own `vi.useRealTimers()` otherwise leaves them faked for the
 * files that run after it in the same worker (the `shared` project): their `setTimeout` never
 * fires, and they hang until their timeout, far from the real failure (seen in CI).
 */
afterEach(() => {
  vi.useRealTimers();
});
