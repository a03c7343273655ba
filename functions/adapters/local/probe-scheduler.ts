import { createHash, randomUUID } from 'node:crypto';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { ProbeConfig, VigilConfig } from '../../core/config';
import type { ProbeCompletedDetail } from '../../core/events';
import { PIPELINE_METRICS } from '../../core/metrics/catalog';
import { createLimiter } from '../../core/pool';
import { type Clock, type EventPublisher, systemClock } from '../../core/ports';
import {
  DEFAULT_CONCURRENCY,
  type ProbeFn,
  type RunContext,
  runProbe,
  toProbeEvent,
} from '../../core/probes/run';
import type { SecretResolver } from '../../core/probes/secrets';
import { createHttpProber, type ProbeHttpOptions, type probeHttp } from '../../shared/http-probe';
import { emitPipelineMetric } from '../../shared/pipeline-metrics';
import { logger } from '../../shared/powertools';
import { ProbeWorker } from './probe-thread';

/**
 * Local mode's scheduler: each probe runs at start, then every `intervalSeconds` at its own
 * stable offset within the interval (`probeOffsetMs`, from a hash of its name), so 200 probes
 * every 5 s are spread over the 5 s instead of starting together. Each result is published to
 * the local bus as one `Probe Completed` event with its own correlation id. At most
 * `concurrency` probes run at once (default 16, as documented); a probe never overlaps itself.
 * No run is lost silently: a tick that comes while the probe's previous run is still going (or
 * waiting for a slot) runs as soon as that run ends, late; a run that starts more than a tenth
 * of its interval after its time is late, with `lateMs` in its result, a warning and a count.
 * Only when the next tick comes too before the late run could start is the older one skipped,
 * counted (`stats.skippedTicks`) and logged. With `worker`, the
 * checks run in a worker thread (probe-thread.ts), so the bus, the stores and the HTTP edge on
 * the main event loop do not delay their timing; `runProbe` is the one dispatch either way.
 */

/** A scheduled run that starts later than this fraction of its interval after its time is late. */
export const LATE_FRACTION = 0.1;

/** Where in each interval a probe runs: a stable offset from a hash of its name. */
export const probeOffsetMs = (name: string, intervalMs: number): number =>
  createHash('sha256').update(name).digest().readUInt32BE(0) % Math.max(1, intervalMs);

export interface ProbeSchedulerOptions {
  config: VigilConfig;
  /** Where results go (the LocalBus). */
  publisher: EventPublisher;
  secrets: SecretResolver;
  clock?: Clock;
  /** Default `local`. */
  location?: string;
  /** The HTTP probe (tests inject one). Default `probeHttp`. */
  probeHttp?: typeof probeHttp;
  /** Runs browser checks (`createBrowserProber`); without it they report a configuration error. */
  browser?: ProbeFn;
  /** TLS options for the HTTP probe (e.g. a test CA). */
  tls?: Pick<ProbeHttpOptions, 'ca' | 'rejectUnauthorized'>;
  newId?: () => string;
  /** Called with every result after it was published (or failed to be). */
  onResult?: (detail: ProbeCompletedDetail) => void;
  /**
   * Where the pipeline metric `ProbeRuns` goes (the local runtime's metric store), one datapoint
   * of 1 per probe run: summed per minute, the same figure the Lambda probe handler emits per
   * scheduled invocation. Default: not emitted.
   */
  metrics?: Metrics;
  /** Probes in flight at once. Default `DEFAULT_CONCURRENCY` (16). */
  concurrency?: number;
  /**
   * Run the checks in a worker thread, with secrets from `env` (`VIGIL_SECRET_*`) there.
   * Default: on the calling thread (with `probeHttp` and `secrets`, which tests inject).
   */
  worker?: { env: NodeJS.ProcessEnv };
}

export class ProbeScheduler {
  /**
   * Completed runs; scheduled runs that started late (and the most late, in ms); ticks skipped
   * because the previous run was still going when the next tick came too.
   */
  readonly stats = {
    runs: 0,
    lateRuns: 0,
    maxLateMs: 0,
    skippedTicks: 0,
    publishFailures: 0,
    runFailures: 0,
  };

  private readonly opts: ProbeSchedulerOptions;
  private readonly probe: ProbeFn;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly limit: ReturnType<typeof createLimiter>;
  private readonly worker: ProbeWorker | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Per probe, the time (ms) of a tick that came while its previous run was still going. */
  private readonly pending = new Map<string, number>();
  private started = false;

  constructor(opts: ProbeSchedulerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.newId = opts.newId ?? randomUUID;
    this.limit = createLimiter(opts.concurrency ?? DEFAULT_CONCURRENCY);
    this.worker =
      opts.worker &&
      new ProbeWorker({ env: opts.worker.env, tls: opts.tls, concurrency: opts.concurrency });
    this.probe = createHttpProber({
      secrets: opts.secrets,
      now: () => this.clock.now(),
      ...opts.tls,
      ...(opts.probeHttp ? { probeHttp: opts.probeHttp } : {}),
      ...(opts.browser ? { browser: opts.browser } : {}),
    });
  }

  get probeCount(): number {
    return this.opts.config.probes.length;
  }

  /** Run every probe now, then at its offset in every interval. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.opts.config.probes.length > 0) this.worker?.start();
    for (const probe of this.opts.config.probes) {
      this.tick(probe);
      this.schedule(probe);
    }
    if (this.opts.config.probes.length > 0)
      logger.info('probe scheduler started', { probes: this.opts.config.probes.length });
  }

  /** Run every probe now, out of its schedule, and wait for the results to be published. */
  async runAll(): Promise<void> {
    for (const probe of this.opts.config.probes) this.tick(probe);
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Clear the timers and wait for the runs in flight to finish and publish. */
  async stop(): Promise<void> {
    this.started = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
    await Promise.allSettled([...this.inFlight.values()]);
    await this.worker?.close();
  }

  /**
   * The next run at the probe's offset in its interval after `after` (default now), counted on
   * the clock (not from the previous timer), so timers firing late do not make the schedule
   * drift. A timer that fires more than an interval late (the event loop was blocked that long)
   * runs the latest due time it passed, late, and counts and logs the earlier ones as skipped.
   */
  private schedule(probe: ProbeConfig, after = this.clock.now().getTime()): void {
    const intervalMs = probe.intervalSeconds * 1000;
    const sinceOffset = (after - probeOffsetMs(probe.name, intervalMs)) % intervalMs;
    const due = after + intervalMs - ((sinceOffset + intervalMs) % intervalMs);
    const timer = setTimeout(
      () => {
        if (!this.started) return;
        const missed = Math.floor((this.clock.now().getTime() - due) / intervalMs);
        if (missed > 0)
          this.skipped(probe, due, missed, 'the timer fired more than an interval late');
        const latest = due + Math.max(0, missed) * intervalMs;
        this.tick(probe, latest);
        this.schedule(probe, latest);
      },
      Math.max(0, due - this.clock.now().getTime()),
    );
    // The HTTP server keeps the process alive; the probe timers should not.
    timer.unref();
    this.timers.set(probe.name, timer);
  }

  /** Count and log `count` runs skipped, the first due at `dueAt`. */
  private skipped(probe: ProbeConfig, dueAt: number, count: number, why: string): void {
    this.stats.skippedTicks += count;
    logger.warn(`probe run skipped: ${why}`, {
      probe: probe.name,
      dueAt: new Date(dueAt).toISOString(),
      ...(count > 1 ? { count } : {}),
    });
  }

  /**
   * Run the probe now; `due` is the time of a scheduled run (start and `runAll` runs have none).
   * While its previous run is going, a scheduled tick waits for it (replacing, and skipping, a
   * tick that was already waiting); an unscheduled one is served by the run in flight.
   */
  private tick(probe: ProbeConfig, due?: number): void {
    if (!this.started) return;
    if (this.inFlight.has(probe.name)) {
      if (due === undefined) return;
      const replaced = this.pending.get(probe.name);
      if (replaced !== undefined)
        this.skipped(probe, replaced, 1, 'its previous run was still going at the next tick');
      this.pending.set(probe.name, due);
      return;
    }
    const run = this.run(probe, due)
      .catch((error: unknown) => {
        this.stats.runFailures++;
        logger.error('probe run failed', { probe: probe.name, error });
      })
      .finally(() => {
        this.inFlight.delete(probe.name);
        const next = this.pending.get(probe.name);
        this.pending.delete(probe.name);
        if (next !== undefined) this.tick(probe, next);
      });
    this.inFlight.set(probe.name, run);
  }

  /** How late a scheduled run started, when more than `LATE_FRACTION` of its interval. */
  private lateness(probe: ProbeConfig, due: number | undefined, checkedAt: string): number {
    if (due === undefined) return 0;
    const lateMs = Date.parse(checkedAt) - due;
    return lateMs > probe.intervalSeconds * 1000 * LATE_FRACTION ? lateMs : 0;
  }

  private async run(probe: ProbeConfig, due: number | undefined): Promise<void> {
    const correlationId = this.newId();
    const ctx: RunContext = {
      correlationId,
      location: this.opts.location ?? 'local',
      defaultProject: this.opts.config.project,
    };
    // Browser checks fork a process of their own per run: they stay on this thread, under this
    // thread's bound. The worker bounds the other checks itself, so a busy main thread does not
    // hold their slots.
    const detail =
      this.worker && probe.type !== 'browser'
        ? await this.worker.run(probe, ctx)
        : await this.limit(() => runProbe(probe, { probe: this.probe, clock: this.clock }, ctx));
    this.stats.runs++;
    const lateMs = this.lateness(probe, due, detail.metadata.checkedAt);
    if (lateMs > 0) {
      detail.metadata.lateMs = lateMs;
      this.stats.lateRuns++;
      this.stats.maxLateMs = Math.max(this.stats.maxLateMs, lateMs);
      logger.warn('probe run started late', {
        correlation_id: correlationId,
        probe: probe.name,
        lateMs,
      });
    }
    if (this.opts.metrics) emitPipelineMetric(this.opts.metrics, PIPELINE_METRICS.probeRuns, {});
    if (detail.status === 'down')
      logger.warn('probe down', {
        correlation_id: correlationId,
        probe: probe.name,
        statusCode: detail.statusCode,
        assertion: detail.failure?.assertion,
        reason: detail.failure?.message,
      });
    try {
      await this.opts.publisher.publish([toProbeEvent(detail)]);
    } catch (error) {
      this.stats.publishFailures++;
      logger.error('publishing a probe result failed', {
        correlation_id: correlationId,
        probe: probe.name,
        error,
      });
    }
    this.opts.onResult?.(detail);
  }
}
