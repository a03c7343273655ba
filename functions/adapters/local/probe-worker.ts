import { parentPort, workerData } from 'node:worker_threads';
import type { ProbeConfig } from '../../core/config';
import { createLimiter } from '../../core/pool';
import { systemClock } from '../../core/ports';
import { DEFAULT_CONCURRENCY, type RunContext, runProbe } from '../../core/probes/run';
import { createHttpProber, type ProbeHttpOptions } from '../../shared/http-probe';
import { EnvSecretResolver } from './env-secrets';

/**
 * The probe worker thread (see `ProbeWorker` in probe-runner.ts): runs `runProbe` for each
 * request it is sent, on an event loop of its own, so the timing of a check is not delayed by
 * the bus, the stores or the HTTP edge of the main thread. Secrets come from the environment
 * it was given (`VIGIL_SECRET_*`), as in the main thread. The concurrency bound applies here,
 * where the checks run: a slot is free as soon as a check ends, even when the main thread is
 * too busy to take its answer yet.
 */

export interface ProbeWorkerData {
  env: NodeJS.ProcessEnv;
  tls?: Pick<ProbeHttpOptions, 'ca' | 'rejectUnauthorized'>;
  /** Checks in flight at once. Default `DEFAULT_CONCURRENCY`. */
  concurrency?: number;
}

export interface ProbeRequestMessage {
  id: number;
  probe: ProbeConfig;
  ctx: RunContext;
}

export interface ProbeAnswerMessage {
  id: number;
  detail?: Awaited<ReturnType<typeof runProbe>>;
  error?: string;
}

/** The worker's message handler: runs one probe and posts its detail, or why it failed. */
export const probeRequestHandler = (
  data: ProbeWorkerData,
  post: (answer: ProbeAnswerMessage) => void,
): ((msg: ProbeRequestMessage) => Promise<void>) => {
  const probe = createHttpProber({
    secrets: new EnvSecretResolver(data.env),
    now: () => systemClock.now(),
    ...data.tls,
  });
  const limit = createLimiter(data.concurrency ?? DEFAULT_CONCURRENCY);
  return (msg) =>
    limit(() => runProbe(msg.probe, { probe, clock: systemClock }, msg.ctx)).then(
      (detail) => post({ id: msg.id, detail }),
      (error: unknown) =>
        post({ id: msg.id, error: error instanceof Error ? error.message : String(error) }),
    );
};

const port = parentPort;
if (port) {
  const handle = probeRequestHandler(workerData as ProbeWorkerData, (a) => port.postMessage(a));
  port.on('message', (msg: ProbeRequestMessage) => void handle(msg));
}
