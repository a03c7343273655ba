import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { ProbeConfig } from '../../core/config';
import type { ProbeCompletedDetail } from '../../core/events';
import { systemClock } from '../../core/ports';
import { runProbe } from '../../core/probes/run';
import { createHttpProber, type ProbeHttpOptions } from '../../shared/http-probe';
import { EnvSecretResolver } from './env-secrets';
import { ProbeSchedule } from './probe-schedule';

/**
 * The probe worker thread (started by `ProbeWorker` in probe-thread.ts): it holds the probes'
 * schedule (probe-schedule.ts: the timers, the concurrency bound, late and skipped runs) and runs
 * the checks, on an event loop of its own, so neither the start nor the timing of a check waits
 * for the bus, the stores or the HTTP edge of the main thread. It posts every result, skip and
 * failure to the main thread, which counts, logs and publishes them. Secrets come from the
 * environment it was given (`VIGIL_SECRET_*`), as in the main thread. Browser checks are not
 * sent here: they fork a process of their own from the main thread, on its schedule.
 */

export interface ProbeWorkerData {
  env: NodeJS.ProcessEnv;
  tls?: Pick<ProbeHttpOptions, 'ca' | 'rejectUnauthorized'>;
  /** Checks in flight at once. Default `DEFAULT_CONCURRENCY`. */
  concurrency?: number;
}

/** What the main thread sends the worker. */
export type ToProbeWorker =
  /** Run these probes on their schedule (sent once per thread). */
  | { type: 'start'; probes: ProbeConfig[]; location: string; defaultProject: string }
  /** Run every probe now (`runAll`), or stop the schedule; answered `done` with the same id. */
  | { type: 'runAll' | 'stop'; id: number };

/** What the worker sends the main thread. */
export type FromProbeWorker =
  | { type: 'done'; id: number }
  | { type: 'result'; detail: ProbeCompletedDetail }
  | { type: 'skipped'; probe: string; dueAt: number; count: number; why: string }
  | { type: 'failed'; probe: string; error: string };

/** The worker's message handler (a function of its own, so tests drive it in-process). */
export const probeWorkerHandler = (
  data: ProbeWorkerData,
  post: (message: FromProbeWorker) => void,
): ((message: ToProbeWorker) => Promise<void>) => {
  const probe = createHttpProber({
    secrets: new EnvSecretResolver(data.env),
    now: systemClock.now,
    ...data.tls,
  });
  let schedule: ProbeSchedule | undefined;
  return async (message) => {
    if (message.type !== 'start') {
      await schedule?.[message.type]();
      post({ type: 'done', id: message.id });
      return;
    }
    const { location, defaultProject } = message;
    schedule = new ProbeSchedule({
      probes: message.probes,
      clock: systemClock,
      concurrency: data.concurrency,
      check: (p) =>
        runProbe(
          p,
          { probe, clock: systemClock },
          { correlationId: randomUUID(), location, defaultProject },
        ),
      events: {
        result: (detail) => post({ type: 'result', detail }),
        skipped: (p, dueAt, count, why) => post({ type: 'skipped', probe: p, dueAt, count, why }),
        failed: (p, error) =>
          post({
            type: 'failed',
            probe: p,
            error: error instanceof Error ? error.message : String(error),
          }),
      },
    });
    schedule.start();
  };
};

const port = parentPort;
if (port) {
  const handle = probeWorkerHandler(workerData as ProbeWorkerData, (m) => port.postMessage(m));
  port.on('message', (message: ToProbeWorker) => void handle(message));
}
