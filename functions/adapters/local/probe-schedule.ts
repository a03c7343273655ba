import { createHash } from 'node:crypto';
import type { ProbeConfig } from '../../core/config';
import type { ProbeCompletedDetail } from '../../core/events';
import { createLimiter } from '../../core/pool';
import type { Clock } from '../../core/ports';
import { DEFAULT_CONCURRENCY } from '../../core/probes/run';

/**
 * The timing of local mode's probes, on whichever thread runs the checks (the probe worker
 * thread in `vigil dev`, the calling thread when a test injects the HTTP probe). Each probe runs
 * at start, then every `intervalSeconds` at its own stable offset within the interval
 * (`probeOffsetMs`; the first one at least half an interval after the start run), at most
 * `concurrency` at once, never overlapping itself. A tick that comes while the probe's previous
 * run is still going (or waiting for a slot) runs as soon as that run ends; a run that starts
 * more than a tenth of its interval after its time carries `lateMs`. Only when the next tick
 * comes too before a waiting one could start is the older one skipped. This
 * module only measures and reports: what to do with a result, a skip or a failure (count, log,
 * publish) is the caller's (`ProbeScheduler`).
 */

/** A scheduled run that starts later than this fraction of its interval after its time is late. */
export const LATE_FRACTION = 0.1;

/** Where in each interval a probe runs: a stable offset from a hash of its name. */
export const probeOffsetMs = (name: string, intervalMs: number): number =>
  createHash('sha256').update(name).digest().readUInt32BE(0) % Math.max(1, intervalMs);

export interface ScheduleEvents {
  /** A run's result (`metadata.lateMs` set when it started late); awaited before the next run. */
  result(detail: ProbeCompletedDetail): void | Promise<void>;
  /** `count` scheduled runs skipped, the first due at `dueAt` (ms). */
  skipped(probe: string, dueAt: number, count: number, why: string): void;
  /** A run that could not be made at all. */
  failed(probe: string, error: unknown): void;
}

export interface ProbeScheduleOptions {
  probes: readonly ProbeConfig[];
  clock: Clock;
  /** One run of one probe: the detail of its result. */
  check: (probe: ProbeConfig) => Promise<ProbeCompletedDetail>;
  events: ScheduleEvents;
  /** Checks in flight at once. Default `DEFAULT_CONCURRENCY`. */
  concurrency?: number;
}

export class ProbeSchedule {
  readonly #opts: ProbeScheduleOptions;
  readonly #limit: ReturnType<typeof createLimiter>;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Per probe, the time (ms) of a tick that came while its previous run was still going. */
  readonly #pending = new Map<string, number>();
  #started = false;

  constructor(opts: ProbeScheduleOptions) {
    this.#opts = opts;
    this.#limit = createLimiter(opts.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /**
   * Run every probe now, then at its offset in every interval, the first of these at least half
   * an interval after the start run (an offset due a moment later would check twice in a row,
   * and `failureThreshold` would not hold at start). Idempotent.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const probe of this.#opts.probes) {
      this.#tick(probe);
      this.#schedule(probe, this.#now() + (probe.intervalSeconds * 1000) / 2);
    }
  }

  /** Run every probe now, out of its schedule, and wait for the results. */
  async runAll(): Promise<void> {
    for (const probe of this.#opts.probes) this.#tick(probe);
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Clear the timers and the waiting ticks, and wait for the runs in flight. */
  async stop(): Promise<void> {
    this.#started = false;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#pending.clear();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  #now(): number {
    return this.#opts.clock.now().getTime();
  }

  /**
   * The next run at the probe's offset in its interval after `after` (default now), counted on
   * the clock (not from the previous timer), so timers firing late do not make the schedule
   * drift. A timer that fires more than an interval late (the event loop was blocked that long)
   * runs the latest due time it passed, late, and reports the earlier ones as skipped.
   */
  #schedule(probe: ProbeConfig, after = this.#now()): void {
    const intervalMs = probe.intervalSeconds * 1000;
    const sinceOffset = (after - probeOffsetMs(probe.name, intervalMs)) % intervalMs;
    const due = after + intervalMs - ((sinceOffset + intervalMs) % intervalMs);
    const timer = setTimeout(
      () => {
        if (!this.#started) return;
        const missed = Math.floor((this.#now() - due) / intervalMs);
        if (missed > 0)
          this.#opts.events.skipped(
            probe.name,
            due,
            missed,
            'the timer fired more than an interval late',
          );
        const latest = due + Math.max(0, missed) * intervalMs;
        this.#tick(probe, latest);
        this.#schedule(probe, latest);
      },
      Math.max(0, due - this.#now()),
    );
    // Whatever keeps the process alive, the probe timers should not.
    timer.unref();
    this.#timers.set(probe.name, timer);
  }

  /**
   * Run the probe now; `due` is the time of a scheduled run (start and `runAll` runs have none).
   * While its previous run is going, a scheduled tick waits for it (replacing, and skipping, a
   * tick that was already waiting); an unscheduled one is served by the run in flight.
   */
  #tick(probe: ProbeConfig, due?: number): void {
    if (!this.#started) return;
    if (this.#inFlight.has(probe.name)) {
      if (due === undefined) return;
      const replaced = this.#pending.get(probe.name);
      if (replaced !== undefined)
        this.#opts.events.skipped(
          probe.name,
          replaced,
          1,
          'its previous run was still going at the next tick',
        );
      this.#pending.set(probe.name, due);
      return;
    }
    const run = this.#run(probe, due)
      .catch((error: unknown) => this.#opts.events.failed(probe.name, error))
      .finally(() => {
        this.#inFlight.delete(probe.name);
        const next = this.#pending.get(probe.name);
        this.#pending.delete(probe.name);
        if (next !== undefined) this.#tick(probe, next);
      });
    this.#inFlight.set(probe.name, run);
  }

  async #run(probe: ProbeConfig, due: number | undefined): Promise<void> {
    const detail = await this.#limit(() => this.#opts.check(probe));
    if (due !== undefined) {
      const lateMs = Date.parse(detail.metadata.checkedAt) - due;
      if (lateMs > probe.intervalSeconds * 1000 * LATE_FRACTION) detail.metadata.lateMs = lateMs;
    }
    await this.#opts.events.result(detail);
  }
}
