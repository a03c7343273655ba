import { randomUUID } from 'node:crypto';
import { heartbeatProject } from '../alerts/sources';
import type { HeartbeatConfig, VigilConfig } from '../config';
import { loadCronParser } from '../cron';
import { VigilError } from '../errors';
import { DETAIL_TYPES, SOURCES } from '../event-names';
import type { VigilEvent } from '../events';
import type { Clock, EventPublisher } from '../ports';
import {
  applyPing,
  dueAt,
  evaluate,
  type HeartbeatResult,
  type HeartbeatState,
  initialState,
  type Ping,
  type Step,
} from './heartbeat';

/**
 * The heartbeat use cases: a ping received (HTTP), and the periodic evaluation (a timer
 * locally, a one-minute schedule on AWS). Each reads the heartbeat's state, applies the pure
 * rules (heartbeat.ts), writes it back with a version check (re-read and re-applied on a lost
 * race, so a ping and an evaluation never both win), then publishes the result as a
 * `Heartbeat Checked` event. When publishing fails the state is put back, so the result is
 * found again (next evaluation) or the job's retried ping is applied again.
 */

/** Port: heartbeat state (the embedded store locally, DynamoDB on AWS). */
export interface HeartbeatStore {
  get(key: string): Promise<HeartbeatState | undefined>;
  /** Write only if the stored version is `expectedVersion` (0: none yet); false on a lost race. */
  putIfVersion(state: HeartbeatState, expectedVersion: number): Promise<boolean>;
}

export interface HeartbeatDeps {
  config: VigilConfig;
  store: HeartbeatStore;
  publisher: EventPublisher;
  clock: Clock;
  /** `local` or the AWS region. */
  location: string;
  newId?: () => string;
}

const MAX_ATTEMPTS = 5;

export const heartbeatKey = (project: string, name: string): string => `${project}/${name}`;

/** The configured heartbeat `name` of `project`, if any. */
export const findHeartbeat = (
  config: VigilConfig,
  project: string,
  name: string,
): HeartbeatConfig | undefined =>
  config.heartbeats.find((h) => h.name === name && heartbeatProject(h, config) === project);

const toEvent = (
  cfg: HeartbeatConfig,
  project: string,
  result: HeartbeatResult,
  correlationId: string,
  location: string,
): VigilEvent => {
  const { outcome, at, ...rest } = result;
  return {
    source: SOURCES.heartbeat,
    detailType: DETAIL_TYPES.heartbeatChecked,
    detail: {
      metadata: { project, heartbeat: cfg.name, correlationId, checkedAt: at, location },
      status: outcome === 'ok' ? 'up' : 'down',
      outcome,
      ...rest,
      severity: cfg.severity,
      tags: cfg.tags,
    },
  };
};

/** Read, apply, write (version-checked), publish. */
const commit = async (
  deps: HeartbeatDeps,
  cfg: HeartbeatConfig,
  apply: (prev: HeartbeatState) => Step,
): Promise<Step & { correlationId?: string }> => {
  const project = heartbeatProject(cfg, deps.config);
  const key = heartbeatKey(project, cfg.name);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await deps.store.get(key);
    const prev = stored ?? initialState(key, deps.clock.now());
    const step = apply(prev);
    // A heartbeat seen for the first time is written even unchanged: it counts from now.
    if (!step.changed && stored) return step;
    const next = step.changed ? step.next : { ...prev, version: 1 };
    if (!(await deps.store.putIfVersion(next, stored?.version ?? 0))) continue;
    if (!step.result) return { ...step, next };
    const correlationId = (deps.newId ?? randomUUID)();
    try {
      await deps.publisher.publish([
        toEvent(cfg, project, step.result, correlationId, deps.location),
      ]);
    } catch (error) {
      // Put the state back (best effort) so the result is produced again.
      await deps.store
        .putIfVersion({ ...(stored ?? prev), version: next.version + 1 }, next.version)
        .catch(() => false);
      throw error;
    }
    return { ...step, next, correlationId };
  }
  throw new VigilError(
    'conflict',
    `heartbeat state for '${key}' kept changing under us (${MAX_ATTEMPTS} attempts); try again`,
  );
};

export interface PingAnswer {
  project: string;
  heartbeat: string;
  kind: Ping['kind'];
  receivedAt: string;
  /** The result published (absent for `/start`, and for a ping older than the latest one). */
  outcome?: HeartbeatResult['outcome'];
  /** When the next ping is due (expected time plus grace). */
  nextDueAt: string;
  correlationId?: string;
}

/** Record one ping of a configured heartbeat. */
export const recordPing = async (
  deps: HeartbeatDeps,
  cfg: HeartbeatConfig,
  ping: Omit<Ping, 'at'>,
): Promise<PingAnswer> => {
  await loadCronParser([cfg]);
  const at = deps.clock.now();
  const step = await commit(deps, cfg, (prev) => applyPing(cfg, prev, { ...ping, at }));
  return {
    project: heartbeatProject(cfg, deps.config),
    heartbeat: cfg.name,
    kind: ping.kind,
    receivedAt: at.toISOString(),
    ...(step.result ? { outcome: step.result.outcome } : {}),
    nextDueAt: new Date(dueAt(cfg, step.next)).toISOString(),
    ...(step.correlationId ? { correlationId: step.correlationId } : {}),
  };
};

/**
 * Evaluate every configured heartbeat at the clock's now: each missed or overrun run is
 * published once. A heartbeat that fails (a store error, an unusable schedule) is reported to
 * `onError` and the others are still evaluated. Returns the results published.
 */
export const evaluateHeartbeats = async (
  deps: HeartbeatDeps,
  onError: (heartbeat: string, error: unknown) => void,
): Promise<HeartbeatResult[]> => {
  await loadCronParser(deps.config.heartbeats);
  const results: HeartbeatResult[] = [];
  for (const cfg of deps.config.heartbeats) {
    try {
      const step = await commit(deps, cfg, (prev) => evaluate(cfg, prev, deps.clock.now()));
      if (step.result) results.push(step.result);
    } catch (error) {
      onError(cfg.name, error);
    }
  }
  return results;
};
