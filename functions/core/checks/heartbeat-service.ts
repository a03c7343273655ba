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
 * `Heartbeat Checked` event.
 *
 * The result travels with the state (an outbox): the write that records it also stores it as
 * `pending`, with its correlation id; once published, a second version-checked write clears it.
 * A process that dies in between (kill -9, a Lambda timeout) leaves it pending, and whoever next
 * reads the state (an evaluation, a ping) publishes it first, as it was (same result time and
 * correlation id: the alert side takes a result once, by check and result time). When publishing
 * throws, the state is put back (best effort), so the result is found again (next evaluation) or
 * the job's retried ping is applied again; if even that write fails, the pending result stays
 * and is published later.
 */

/** A result saved with the state but maybe not yet published. */
export interface PendingResult {
  result: HeartbeatResult;
  correlationId: string;
}

/** The state as stored: a record without `pending` (older deployments) reads as nothing pending. */
export type StoredHeartbeatState = HeartbeatState & { pending?: PendingResult };

/** Port: heartbeat state (the embedded store locally, DynamoDB on AWS). */
export interface HeartbeatStore {
  get(key: string): Promise<StoredHeartbeatState | undefined>;
  /** Write only if the stored version is `expectedVersion` (0: none yet); false on a lost race. */
  putIfVersion(state: StoredHeartbeatState, expectedVersion: number): Promise<boolean>;
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

// Each result takes two writes (saved with it, then cleared): room for a few concurrent pings.
const MAX_ATTEMPTS = 10;

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

const withoutPending = (state: StoredHeartbeatState): HeartbeatState => {
  const { pending: _p, ...rest } = state;
  return rest;
};

/** Read (publishing a result left pending first), apply, write with the result, publish. */
const commit = async (
  deps: HeartbeatDeps,
  cfg: HeartbeatConfig,
  apply: (prev: HeartbeatState) => Step,
): Promise<Step & { correlationId?: string }> => {
  const project = heartbeatProject(cfg, deps.config);
  const key = heartbeatKey(project, cfg.name);
  const publish = (p: PendingResult) =>
    deps.publisher.publish([toEvent(cfg, project, p.result, p.correlationId, deps.location)]);
  // Results left pending this call published already (not again on a retry).
  const flushed = new Set<string>();
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const read = await deps.store.get(key);
    // A result saved by a run that did not get to publish or clear it (or is about to): publish
    // it as it was. A duplicate is the same result, taken once downstream. The write below
    // clears it; when that write loses a race, the next attempt finds it again.
    if (read?.pending && !flushed.has(read.pending.correlationId)) {
      await publish(read.pending);
      flushed.add(read.pending.correlationId);
    }
    const stored = read && withoutPending(read);
    const expected = read?.version ?? 0;
    const prev = stored ?? initialState(key, deps.clock.now());
    const step = apply(prev);
    if (!step.changed && stored) {
      if (read?.pending) {
        // Nothing new: only clear the result just published (best effort).
        const cleared = { ...stored, version: expected + 1 };
        if (await deps.store.putIfVersion(cleared, expected).catch(() => false))
          return { ...step, next: cleared };
      }
      return step;
    }
    // A heartbeat seen for the first time is written even unchanged: it counts from now.
    const next = step.changed ? withoutPending(step.next) : { ...prev, version: 1 };
    if (!step.result) {
      if (!(await deps.store.putIfVersion(next, expected))) continue;
      return { ...step, next };
    }
    const pending: PendingResult = {
      result: step.result,
      correlationId: (deps.newId ?? randomUUID)(),
    };
    // The outbox: the result is saved with the state, in the same version-checked write.
    if (!(await deps.store.putIfVersion({ ...next, pending }, expected))) continue;
    try {
      await publish(pending);
    } catch (error) {
      // Put the state back (best effort) so the result is produced again; should that write
      // fail, the result stays pending and the next reader publishes it.
      await deps.store
        .putIfVersion({ ...(stored ?? prev), version: next.version + 1 }, next.version)
        .catch(() => false);
      throw error;
    }
    // Published: clear the outbox (best effort: a result left pending is published again).
    const cleared = { ...next, version: next.version + 1 };
    const done = await deps.store.putIfVersion(cleared, next.version).catch(() => false);
    return { ...step, next: done ? cleared : next, correlationId: pending.correlationId };
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
