/**
 * CPU milliseconds this process spent in `fn` (user + system), for tests that guard against
 * runaway work on hostile input. Unlike wall time it does not grow when other processes load
 * the machine, so a bound on it fails on a quadratic parser, not on a busy CI runner.
 */
export const cpuMs = <T>(fn: () => T): { value: T; ms: number } => {
  const started = process.cpuUsage();
  const value = fn();
  const { user, system } = process.cpuUsage(started);
  return { value, ms: (user + system) / 1000 };
};
