import { evaluateHeartbeats, type HeartbeatDeps } from '../../core/checks/heartbeat-service';
import { logger } from '../../shared/powertools';

/**
 * Local mode's heartbeat evaluator: every `intervalMs` (default 5 s) it evaluates every
 * configured heartbeat and publishes what is missed or overrun (see heartbeat-service.ts). The
 * state lives in the embedded store, so a restart resumes where the last process left off. One
 * evaluation at a time: a tick that comes while one is running is skipped.
 */
export class HeartbeatEvaluator {
  readonly #deps: HeartbeatDeps;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<number> | undefined;

  constructor(deps: HeartbeatDeps, opts: { intervalMs?: number } = {}) {
    this.#deps = deps;
    this.#intervalMs = opts.intervalMs ?? 5_000;
  }

  /** Evaluate now (the first evaluation starts at once). Idempotent. */
  start(): void {
    if (this.#timer || this.#deps.config.heartbeats.length === 0) return;
    void this.evaluate();
    this.#timer = setInterval(() => void this.evaluate(), this.#intervalMs);
    this.#timer.unref();
  }

  /** One evaluation (or the one in flight); resolves to the number of results published. */
  evaluate(): Promise<number> {
    this.#running ??= evaluateHeartbeats(this.#deps, (heartbeat, error) =>
      logger.error('heartbeat evaluation failed', { heartbeat, error }),
    )
      .then((results) => results.length)
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
