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
import { ProbeSchedule, type ScheduleEvents } from './probe-schedule';
import type { ProbeWorkerEvent } from './probe-thread';
import { ProbeWorker } from './probe-thread';

/**
 * Local mode's probe scheduler. The timing (probe-schedule.ts: each probe at its own stable
 * offset in its interval, at most `concurrency` at once, a tick during a run runs after it, late
 * and skipped runs) runs where the checks run: with `worker` (as `vigil dev` does), in the probe
 * worker thread (probe-worker.ts), so a main thread busy with an ingest, the bus or the stores
 * neither starts a run late nor delays its measurement; without it (tests that inject the HTTP
 * probe), on this thread. Browser checks fork a process of their own per run from this thread:
 * they keep their schedule and bound here. Either way this class does what the rest of the code
 * sees: it counts (`stats`), logs, emits `ProbeRuns`, publishes each result to the bus as one
 * `Probe Completed` event and calls `onResult`.
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
  /** Probes in flight at once. Default `DEFAULT_CONCURRENCY` (16). */
  concurrency?: number;
  /**
   * Time and run the checks (all but browser checks) in a worker thread, with secrets from `env`
   * (`VIGIL_SECRET_*`) there. Default: on the calling thread (with `probeHttp` and `secrets`,
   * which tests inject).
   */
  worker?: {
    env: NodeJS.ProcessEnv;
    /** The worker's script (tests pass others). Default probe-worker.ts. */
    file?: URL;
  };
}

/**
 * A probe's late or skipped runs are logged at most once per kind this often; the next line
 * says how many were not (`repeated`). A busy machine late every second would fill the log.
 */
export const REPEATED_WARNING_MS = 60_000;

/** After the probe worker thread died, a new one starts after this long. */
export const WORKER_RESTART_MS = 500;

/** A schedule: a `ProbeSchedule` on this thread, or the worker's. */
interface Timing {
  start(): void;
  runAll(): Promise<void>;
  stop(): Promise<void>;
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

  readonly #opts: ProbeSchedulerOptions;
  readonly #clock: Clock;
  readonly #timings: Timing[] = [];
  /** Per probe and warning: when it was last logged, and how many came since. */
  readonly #warned = new Map<string, { at: number; repeated: number }>();
  readonly #events: ScheduleEvents = {
    result: (detail) => this.#accept(detail),
    skipped: (probe, dueAt, count, why) => {
      this.stats.skippedTicks += count;
      this.#warnAtMostEveryMinute(probe, `probe run skipped: ${why}`, {
        probe,
        dueAt: new Date(dueAt).toISOString(),
        ...(count > 1 ? { count } : {}),
      });
    },
    failed: (probe, error) => {
      this.stats.runFailures++;
      logger.error('probe run failed', { probe, error });
    },
  };

  constructor(opts: ProbeSchedulerOptions) {
    this.#opts = opts;
    const clock = opts.clock ?? systemClock;
    this.#clock = clock;
    const prober = createHttpProber({
      secrets: opts.secrets,
      now: () => clock.now(),
      ...opts.tls,
      ...(opts.probeHttp ? { probeHttp: opts.probeHttp } : {}),
      ...(opts.browser ? { browser: opts.browser } : {}),
    });
    const newId = opts.newId ?? randomUUID;
    // Browser checks fork their process from this thread: they stay on its schedule.
    const inWorker = (p: ProbeConfig) => opts.worker !== undefined && p.type !== 'browser';
    const threaded = opts.config.probes.filter(inWorker);
    const here = opts.config.probes.filter((p) => !inWorker(p));
    if (threaded.length > 0) this.#timings.push(new WorkerTiming(opts, threaded, this.#events));
    if (here.length > 0)
      this.#timings.push(
        new ProbeSchedule({
          probes: here,
          clock,
          concurrency: opts.concurrency,
          check: (probe) =>
            runProbe(
              probe,
              { probe: prober, clock },
              {
                correlationId: newId(),
                location: opts.location ?? 'local',
                defaultProject: opts.config.project,
              },
            ),
          events: this.#events,
        }),
      );
  }

  get probeCount(): number {
    return this.#opts.config.probes.length;
  }

  /** Run every probe now, then at its offset in every interval. Idempotent. */
  start(): void {
    for (const timing of this.#timings) timing.start();
    if (this.probeCount > 0) logger.info('probe scheduler started', { probes: this.probeCount });
  }

  /** Run every probe now, out of its schedule, and wait for the results to be published. */
  async runAll(): Promise<void> {
    await Promise.all(this.#timings.map((t) => t.runAll()));
  }

  /** Clear the timers and wait for the runs in flight to finish and publish. */
  async stop(): Promise<void> {
    await Promise.all(this.#timings.map((t) => t.stop()));
  }

  /** Log a probe's warning unless it was logged in the last minute (then only count it). */
  #warnAtMostEveryMinute(probe: string, message: string, fields: Record<string, unknown>): void {
    const key = `${probe}\n${message}`;
    const now = this.#clock.now().getTime();
    const last = this.#warned.get(key);
    if (last && now - last.at < REPEATED_WARNING_MS) {
      last.repeated++;
      return;
    }
    logger.warn(message, { ...fields, ...(last?.repeated ? { repeated: last.repeated } : {}) });
    this.#warned.set(key, { at: now, repeated: 0 });
  }

  /** Count, log and publish one result (`lateMs` set by the schedule when it started late). */
  async #accept(detail: ProbeCompletedDetail): Promise<void> {
    const { correlationId, probe, lateMs } = detail.metadata;
    this.stats.runs++;
    if (lateMs !== undefined) {
      this.stats.lateRuns++;
      this.stats.maxLateMs = Math.max(this.stats.maxLateMs, lateMs);
      this.#warnAtMostEveryMinute(probe, 'probe run started late', {
        correlation_id: correlationId,
        probe,
        lateMs,
      });
    }
    if (this.#opts.metrics) emitPipelineMetric(this.#opts.metrics, PIPELINE_METRICS.probeRuns, {});
    if (detail.status === 'down')
      logger.warn('probe down', {
        correlation_id: correlationId,
        probe,
        statusCode: detail.statusCode,
        assertion: detail.failure?.assertion,
        reason: detail.failure?.message,
      });
    try {
      await this.#opts.publisher.publish([toProbeEvent(detail)]);
    } catch (error) {
      this.stats.publishFailures++;
      logger.error('publishing a probe result failed', {
        correlation_id: correlationId,
        probe,
        error,
      });
    }
    this.#opts.onResult?.(detail);
  }
}

/**
 * The schedule in the probe worker thread: `start` sends it the probes, `runAll` and `stop` wait
 * for its answer and for the results it sent before to be published. Its messages become the
 * scheduler's events. If the thread dies, that is logged and a new thread takes the schedule over.
 */
class WorkerTiming implements Timing {
  readonly #opts: ProbeSchedulerOptions;
  readonly #probes: ProbeConfig[];
  readonly #events: ScheduleEvents;
  readonly #worker: ProbeWorker;
  /** Results being published. */
  readonly #publishing = new Set<Promise<void>>();
  #started = false;
  #restart: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: ProbeSchedulerOptions, probes: ProbeConfig[], events: ScheduleEvents) {
    this.#opts = opts;
    this.#probes = probes;
    this.#events = events;
    this.#worker = new ProbeWorker({
      env: opts.worker?.env ?? {},
      file: opts.worker?.file,
      tls: opts.tls,
      concurrency: opts.concurrency,
      onMessage: (message) => this.#received(message),
      onExit: (error) => {
        if (!this.#started) return;
        logger.error('the probe worker thread died: a new one takes the schedule over', {
          error,
          restartInMs: WORKER_RESTART_MS,
        });
        this.#restart = setTimeout(() => this.#send(), WORKER_RESTART_MS);
        this.#restart.unref();
      },
    });
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#send();
  }

  async runAll(): Promise<void> {
    if (!this.#started) return;
    // A thread that dies meanwhile fails the request; that is logged when it dies.
    await this.#worker.request('runAll').catch(() => {});
    await this.#published();
  }

  async stop(): Promise<void> {
    const started = this.#started;
    this.#started = false;
    clearTimeout(this.#restart);
    if (started) await this.#worker.request('stop').catch(() => {});
    await this.#published();
    await this.#worker.close();
  }

  /** The probes to the (new) thread. */
  #send(): void {
    if (!this.#started) return;
    this.#worker.post({
      type: 'start',
      probes: this.#probes,
      location: this.#opts.location ?? 'local',
      defaultProject: this.#opts.config.project,
    });
  }

  async #published(): Promise<void> {
    while (this.#publishing.size > 0) await Promise.allSettled([...this.#publishing]);
  }

  #received(message: ProbeWorkerEvent): void {
    if (message.type === 'skipped') {
      this.#events.skipped(message.probe, message.dueAt, message.count, message.why);
      return;
    }
    if (message.type === 'failed') {
      this.#events.failed(message.probe, message.error);
      return;
    }
    const publishing = Promise.resolve(this.#events.result(message.detail))
      .catch((error: unknown) => this.#events.failed(message.detail.metadata.probe, error))
      .finally(() => this.#publishing.delete(publishing));
    this.#publishing.add(publishing);
  }
}
