import { afterEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatEvaluator } from '../../../functions/adapters/local/heartbeat-evaluator';
import type { HeartbeatDeps } from '../../../functions/core/checks/heartbeat-service';
import { parseConfig } from '../../../functions/core/config';

const depsWith = (heartbeats: unknown[]) => {
  const reads: string[] = [];
  const deps: HeartbeatDeps = {
    config: parseConfig({ heartbeats }),
    store: {
      get: async (key) => {
        reads.push(key);
        return undefined;
      },
      putIfVersion: async () => true,
    },
    publisher: { publish: async () => {} },
    clock: { now: () => new Date('2026-05-01T10:00:00Z') },
    location: 'test',
  };
  return { deps, reads };
};

afterEach(() => {
  vi.useRealTimers();
});

describe('HeartbeatEvaluator (local timer)', () => {
  it('evaluates at start and then every interval, until stopped', async () => {
    // Prepare
    vi.useFakeTimers();
    const { deps, reads } = depsWith([{ name: 'backup', periodSeconds: 60 }]);
    const evaluator = new HeartbeatEvaluator(deps, { intervalMs: 1000 });

    // Act
    evaluator.start();
    evaluator.start();
    await vi.advanceTimersByTimeAsync(2500);
    await evaluator.stop();
    await vi.advanceTimersByTimeAsync(5000);

    // Assess: at start, at 1 s and at 2 s; nothing after stop.
    expect(reads).toEqual(['default/backup', 'default/backup', 'default/backup']);
  });

  it('runs one evaluation at a time, and no timer without heartbeats', async () => {
    const { deps, reads } = depsWith([{ name: 'backup', periodSeconds: 60 }]);
    const evaluator = new HeartbeatEvaluator(deps);
    const [a, b] = [evaluator.evaluate(), evaluator.evaluate()];
    expect(await a).toBe(0);
    expect(await b).toBe(0);
    expect(reads).toHaveLength(1);

    const none = depsWith([]);
    const idle = new HeartbeatEvaluator(none.deps);
    idle.start();
    await idle.stop();
    expect(none.reads).toEqual([]);
  });
});
