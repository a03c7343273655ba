/**
 * A tiny promise pool: at most `limit` calls of `fn` in flight; results keep input order. After
 * a call throws no new call starts; the pool waits for the calls in flight, then throws that
 * first error (so nothing is still running when it settles).
 */
export const mapLimit = async <T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        // index < items.length was just checked.
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
  return results;
};

/**
 * A concurrency bound shared by calls that come one by one (a scheduler's ticks): at most
 * `limit` of the functions passed run at once; the others wait their turn, first come first.
 */
export const createLimiter = (limit: number) => {
  const max = Math.max(1, Math.floor(limit) || 1);
  let running = 0;
  const waiting: (() => void)[] = [];
  const run = async <R>(fn: () => Promise<R>): Promise<R> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await fn();
    } finally {
      // Hand the slot to the next in line, or free it.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  return Object.assign(run, {
    get running(): number {
      return running;
    },
    get waiting(): number {
      return waiting.length;
    },
  });
};
