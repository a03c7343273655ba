/**
 * Health checks: a small port the ingest handler's `GET /v1/health` runs. Each check resolves
 * when its dependency is usable and throws (or times out) when it is not. Pure: the checks
 * that touch AWS or the disk live in the adapters.
 */
export interface HealthCheck {
  /** Short, stable name shown in the response (`config`, `bus`, `store`). */
  name: string;
  check: () => Promise<void>;
}

export interface HealthReport {
  ok: boolean;
  /** `ok`, or `error: <short reason>` per check. */
  checks: Record<string, string>;
}

/** How long one check may take before it counts as failed. */
export const HEALTH_CHECK_TIMEOUT_MS = 1000;
const MAX_REASON_CHARS = 120;

/** The first line of an error message, capped: enough to act on, never a payload or a secret. */
export const shortReason = (error: unknown): string => {
  const message = error instanceof Error ? error.message || error.name : String(error);
  const end = message.indexOf('\n');
  const line = end < 0 ? message : message.slice(0, end);
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 1)}…` : line;
};

const withTimeout = async (check: () => Promise<void>, timeoutMs: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/** Runs every check concurrently, each bounded by `timeoutMs`. */
export const runHealthChecks = async (
  checks: readonly HealthCheck[],
  timeoutMs: number = HEALTH_CHECK_TIMEOUT_MS,
): Promise<HealthReport> => {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await withTimeout(check, timeoutMs);
        return { name, result: 'ok' };
      } catch (e) {
        return { name, result: `error: ${shortReason(e)}` };
      }
    }),
  );
  const report: HealthReport = { ok: true, checks: {} };
  for (const { name, result } of results) {
    report.checks[name] = result;
    if (result !== 'ok') report.ok = false;
  }
  return report;
};

/** The configuration was read and validated (the handler could not be built otherwise). */
export const configCheck = (config: unknown): HealthCheck => ({
  name: 'config',
  check: async () => {
    if (typeof config !== 'object' || config === null) throw new Error('no configuration loaded');
  },
});

/** Remembers a success for `ttlMs` so a probe every second does not call the dependency each time. */
export const cachedCheck = (
  check: HealthCheck,
  opts: { ttlMs?: number; now?: () => number } = {},
): HealthCheck => {
  const ttlMs = opts.ttlMs ?? 30_000;
  const now = opts.now ?? Date.now;
  let okUntil = 0;
  return {
    name: check.name,
    check: async () => {
      if (now() < okUntil) return;
      await check.check();
      okUntil = now() + ttlMs;
    },
  };
};
