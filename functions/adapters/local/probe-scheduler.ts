import { randomUUID } from 'node:crypto';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { ProbeConfig, VigilConfig } from '../../core/config';
import type { ProbeCompletedDetail } from '../../core/events';
import { PIPELINE_METRICS } from '../../core/metrics/catalog';
import { type Clock, type EventPublisher, systemClock } from '../../core/ports';
import { type ProbeFn, runProbe, toProbeEvent } from '../../core/probes/run';
import type { SecretResolver } from '../../core/probes/secrets';
import { createHttpProber, type ProbeHttpOptions, type probeHttp } from '../../shared/http-probe';
import { emitPipelineMetric } from '../../shared/pipeline-metrics';
import { logger } from '../../shared/powertools';

/**
 * Local mode's scheduler: each probe on its own timer, every `intervalSeconds` (the first
 * run at start), each result published to the local bus as one `Probe Completed` event
 * with its own correlation id. A probe never overlaps itself: a tick that comes while the
 * previous run is still going is skipped.
 */

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
}

export class ProbeScheduler {
  /** Completed runs and ticks skipped because the previous run was still going. */
  readonly stats = { runs: 0, skippedTicks: 0, publishFailures: 0 };

  private readonly opts: ProbeSchedulerOptions;
  private readonly probe: ProbeFn;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly inFlight = new Map<string, Promise<void>>();
  private started = false;

  constructor(opts: ProbeSchedulerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.newId = opts.newId ?? randomUUID;
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

  /** Start every probe's timer; the first run of each starts now. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const probe of this.opts.config.probes) {
      this.tick(probe);
      const timer = setInterval(() => this.tick(probe), probe.intervalSeconds * 1000);
      // The HTTP server keeps the process alive; the probe timers should not.
      timer.unref();
      this.timers.push(timer);
    }
    if (this.opts.config.probes.length > 0)
      logger.info('probe scheduler started', { probes: this.opts.config.probes.length });
  }

  /** Clear the timers and wait for the runs in flight to finish and publish. */
  async stop(): Promise<void> {
    this.started = false;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private tick(probe: ProbeConfig): void {
    if (!this.started) return;
    if (this.inFlight.has(probe.name)) {
      this.stats.skippedTicks++;
      logger.warn('probe still running; skipping this interval', { probe: probe.name });
      return;
    }
    const run = this.run(probe)
      .catch((error: unknown) => logger.error('probe run failed', { probe: probe.name, error }))
      .finally(() => this.inFlight.delete(probe.name));
    this.inFlight.set(probe.name, run);
  }

  private async run(probe: ProbeConfig): Promise<void> {
    const correlationId = this.newId();
    const detail = await runProbe(
      probe,
      { probe: this.probe, clock: this.clock },
      {
        correlationId,
        location: this.opts.location ?? 'local',
        defaultProject: this.opts.config.project,
      },
    );
    this.stats.runs++;
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
