import { evaluateHeartbeats, type HeartbeatDeps } from '../core/checks/heartbeat-service';
import { logger } from '../shared/powertools';
import { traceHandler } from '../shared/tracing';

/**
 * The heartbeat evaluator: invoked once a minute by EventBridge Scheduler (locally, a timer
 * calls the same use case), it publishes every missed or overrun heartbeat run onto the bus.
 * A heartbeat that cannot be evaluated is logged and the others still are; the invocation
 * fails (and lands in the dead-letter queue) only when none could be.
 */
export const createHeartbeatHandler = (deps: HeartbeatDeps) =>
  traceHandler('heartbeat', async (): Promise<{ results: number }> => {
    let failures = 0;
    let lastError: unknown;
    const results = await evaluateHeartbeats(deps, (heartbeat, error) => {
      failures++;
      lastError = error;
      logger.error('heartbeat evaluation failed', { heartbeat, error });
    });
    logger.info('heartbeats evaluated', {
      heartbeats: deps.config.heartbeats.length,
      results: results.length,
      failures,
    });
    if (failures > 0 && failures === deps.config.heartbeats.length) throw lastError;
    return { results: results.length };
  });
