import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { ProbeConfig, VigilConfig } from '../core/config';
import { VigilError } from '../core/errors';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
import type { Clock, EventPublisher } from '../core/ports';
import { DEADLINE_GRACE_MS, type ProbeFn, runProbes, toProbeEvent } from '../core/probes/run';
import type { SecretResolver } from '../core/probes/secrets';
import { createHttpProber, type probeHttp } from '../shared/http-probe';
import { emitPipelineMetric, flushMetrics } from '../shared/pipeline-metrics';
import { logger, metrics as sharedMetrics } from '../shared/powertools';
import { annotate, traceHandler } from '../shared/tracing';

/**
 * The scheduled probe run. EventBridge Scheduler invokes the function once a minute with the
 * target's `Input` as the event, verbatim; Vigil's schedules send `{ "group": "all" }` (or a
 * tag), and may add Scheduler's context attributes
 * (`"scheduledTime": "<aws.scheduler.scheduled-time>"`, `"executionId": "<aws.scheduler.execution-id>"`)
 * which are logged. Anything else (an empty or unknown payload) runs every probe.
 *
 * Within the invocation each probe is sampled `samplesPerMinute` times, spaced
 * `60 s / samplesPerMinute` apart; each sample's results are published as soon as that
 * sample completes, so the first result never waits for the minute to end.
 */

export interface ProbeSchedulePayload {
  /** A probe tag, or `all` (the default). */
  group?: string;
  /** `<aws.scheduler.scheduled-time>`, for the logs. */
  scheduledTime?: string;
  /** `<aws.scheduler.execution-id>`, for the logs. */
  executionId?: string;
}

export interface ProbeHandlerDeps {
  config: VigilConfig;
  publisher: EventPublisher;
  secrets: SecretResolver;
  clock: Clock;
  /** Waits between samples. Default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** `local` or the AWS region. */
  location: string;
  /** The HTTP probe (tests inject one). Default `probeHttp`. */
  probeHttp?: typeof probeHttp;
  /** Probes in flight at once within a sample. */
  concurrency?: number;
  /** New correlation ids. Default `randomUUID`. */
  newId?: () => string;
  /** Where the pipeline metrics go. Default: the shared Powertools instance. */
  metrics?: Metrics;
  /**
   * Which probes this function runs: `browser` checks (the browser function, with `browser`),
   * or every other kind (the default: the HTTP probe function, which never loads a browser).
   */
  kind?: 'browser';
  /** Runs browser checks (`createBrowserProber`). */
  browser?: ProbeFn;
}

export interface ProbeRunSummary {
  /** Probe results produced (one per probe per sample). */
  runs: number;
  up: number;
  down: number;
  /** Samples taken. */
  samples: number;
  /** Samples not taken because the invocation would have run out of time. */
  skippedSamples: number;
}

/** Time kept back after a sample's slowest probe for publishing its events. */
export const PUBLISH_RESERVE_MS = 2000;
const MINUTE_MS = 60_000;

export interface PlannedSample {
  /** When the sample starts, from the start of the invocation. */
  offsetMs: number;
  probes: { probe: ProbeConfig; attempt: number }[];
}

/**
 * The samples of one invocation: probe P with `samplesPerMinute` n is due at
 * `i * 60 s / n` (attempt i + 1); probes due at the same moment share a sample.
 */
export const planSamples = (probes: readonly ProbeConfig[]): PlannedSample[] => {
  const byOffset = new Map<number, PlannedSample>();
  for (const probe of probes) {
    const n = probe.samplesPerMinute;
    for (let i = 0; i < n; i++) {
      const offsetMs = Math.round((i * MINUTE_MS) / n);
      const sample = byOffset.get(offsetMs) ?? { offsetMs, probes: [] };
      sample.probes.push({ probe, attempt: i + 1 });
      byOffset.set(offsetMs, sample);
    }
  }
  return [...byOffset.values()].sort((a, b) => a.offsetMs - b.offsetMs);
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schedule's payload, tolerating anything: a non-object or a bad group means `all`. */
export const parsePayload = (
  event: unknown,
): Required<Pick<ProbeSchedulePayload, 'group'>> & ProbeSchedulePayload => {
  if (!isRecord(event)) return { group: 'all' };
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  const scheduledTime = str(event.scheduledTime);
  const executionId = str(event.executionId);
  return {
    group: str(event.group) ?? 'all',
    ...(scheduledTime ? { scheduledTime } : {}),
    ...(executionId ? { executionId } : {}),
  };
};

/** `all`, or the probes carrying the tag. */
export const selectProbes = (probes: readonly ProbeConfig[], group: string): ProbeConfig[] =>
  group === 'all' ? [...probes] : probes.filter((p) => p.tags.includes(group));

export const createProbeHandler = (deps: ProbeHandlerDeps) => {
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const newId = deps.newId ?? randomUUID;
  const metrics = deps.metrics ?? sharedMetrics;
  const probe = createHttpProber({
    secrets: deps.secrets,
    now: () => deps.clock.now(),
    ...(deps.probeHttp ? { probeHttp: deps.probeHttp } : {}),
    ...(deps.browser ? { browser: deps.browser } : {}),
  });
  const mine = (p: ProbeConfig) => (p.type === 'browser') === (deps.kind === 'browser');

  const handle = async (event: unknown, context?: Context): Promise<ProbeRunSummary> => {
    const correlationId = newId();
    if (context) logger.addContext(context);
    logger.appendKeys({ correlation_id: correlationId });
    annotate({ correlationId, project: deps.config.project });
    try {
      const payload = parsePayload(event);
      const probes = selectProbes(deps.config.probes.filter(mine), payload.group);
      const plan = planSamples(probes);
      const summary: ProbeRunSummary = { runs: 0, up: 0, down: 0, samples: 0, skippedSamples: 0 };
      if (probes.length === 0) {
        logger.warn('no probes to run', {
          group: payload.group,
          configured: deps.config.probes.length,
        });
        return summary;
      }
      logger.info('probe run started', {
        group: payload.group,
        probes: probes.length,
        samples: plan.length,
        ...(payload.scheduledTime ? { scheduledTime: payload.scheduledTime } : {}),
        ...(payload.executionId ? { schedulerExecutionId: payload.executionId } : {}),
      });

      const start = deps.clock.now().getTime();
      let publishFailures = 0;
      for (const [index, sample] of plan.entries()) {
        const waitMs = Math.max(0, sample.offsetMs - (deps.clock.now().getTime() - start));
        const slowest = Math.max(...sample.probes.map((p) => p.probe.timeoutMs));
        const neededMs = waitMs + slowest + DEADLINE_GRACE_MS + PUBLISH_RESERVE_MS;
        if (context && context.getRemainingTimeInMillis() < neededMs) {
          summary.skippedSamples = plan.length - index;
          logger.warn('stopping early: the next sample would not finish in time', {
            remainingMs: context.getRemainingTimeInMillis(),
            neededMs,
            skippedSamples: summary.skippedSamples,
          });
          break;
        }
        if (waitMs > 0) await sleep(waitMs);

        const attempts = new Map(sample.probes.map((p) => [p.probe.name, p.attempt]));
        const details = await runProbes(
          sample.probes.map((p) => p.probe),
          { probe, clock: deps.clock, concurrency: deps.concurrency },
          {
            correlationId,
            location: deps.location,
            defaultProject: deps.config.project,
            attempt: (p) => attempts.get(p.name) ?? 1,
          },
        );
        summary.samples++;
        summary.runs += details.length;
        let up = 0;
        for (const d of details) {
          if (d.status === 'up') up++;
          else
            logger.warn('probe down', {
              probe: d.metadata.probe,
              attempt: d.attempt,
              statusCode: d.statusCode,
              assertion: d.failure?.assertion,
              reason: d.failure?.message,
            });
        }
        summary.up += up;
        summary.down += details.length - up;
        try {
          await deps.publisher.publish(details.map(toProbeEvent));
        } catch (error) {
          publishFailures++;
          logger.error('publishing probe results failed', { sample: index + 1, error });
        }
        logger.info('probe sample completed', {
          sample: index + 1,
          offsetMs: sample.offsetMs,
          up,
          down: details.length - up,
        });
      }
      logger.info('probe run finished', { ...summary });
      emitPipelineMetric(metrics, PIPELINE_METRICS.probeRuns, {}, summary.runs);
      if (publishFailures > 0)
        throw new VigilError(
          'publish_failed',
          `${publishFailures} of ${summary.samples} probe samples could not be published`,
        );
      return summary;
    } finally {
      flushMetrics(metrics);
      logger.resetKeys();
    }
  };

  return traceHandler('probe', handle);
};
