import type { MaintenanceWindow } from '../config';
import { VigilError } from '../errors';
import type { AlertNotification } from '../events';
import type { Clock } from '../ports';
import { activeWindow } from './maintenance';
import { buildNotification, notificationKey } from './messages';
import { type AlertState, type AlertStatus, advance, type Observation } from './state';

/**
 * The alert use case: read the check's state, apply the observation, write it back with a
 * version check, and hand the resulting notification to the dispatcher.
 *
 * Concurrency: the write is conditional on the version read; on a lost race the state is read
 * again and the observation re-applied (bounded). Only the winner's transition notifies, so a
 * burst of failures gives one FIRING.
 *
 * Delivery: a notification is written into the state's `outbox` together with the transition,
 * then dispatched and removed. If dispatching throws, it stays there and the error propagates
 * (the Lambda is retried; the retry finds the event already applied and sends the outbox).
 * So a transition is never lost between the state write and the dispatch; at worst a
 * notification is sent twice.
 */

/** Port: where alert state and history live (DynamoDB on AWS, files locally). */
export interface AlertStateStore {
  get(checkKey: string): Promise<AlertState | undefined>;
  /**
   * Write `state` only if the stored version is `expectedVersion` (0: no state yet).
   * Returns false when another writer got there first.
   */
  putIfVersion(state: AlertState, expectedVersion: number): Promise<boolean>;
  /** Record a notification (sent or suppressed) in the bounded history. */
  appendHistory(notification: AlertNotification): Promise<void>;
  /** Checks not OK (PENDING or FIRING), and the latest notifications, newest first. */
  list(opts?: { historyLimit?: number }): Promise<{
    active: AlertState[];
    history: AlertNotification[];
  }>;
}

export interface AlertServiceDeps {
  store: AlertStateStore;
  /** Sends a notification to the channels; throws when it could not be handed over. */
  dispatch: (notification: AlertNotification) => Promise<void>;
  clock: Clock;
  maintenance: readonly MaintenanceWindow[];
  repeatMinutes: number;
  /** Read-apply-write attempts before giving up on a contended check. Default 5. */
  maxAttempts?: number;
  /** History is best effort: its failures are reported here, never thrown. */
  onHistoryError?: (error: unknown, notification: AlertNotification) => void;
}

export interface ProcessResult {
  state: AlertState;
  /** The transition's notification, sent or (with `suppressedBy`) only recorded. */
  notification?: AlertNotification;
  /** What was dispatched in this call (the outbox: usually the transition's notification). */
  sent: AlertNotification[];
  /** Read-apply-write rounds used (1 without contention). */
  attempts: number;
}

const DEFAULT_ATTEMPTS = 5;

/** A newer REMINDER replaces a pending one of the same incident; the rest queue up. */
const enqueue = (outbox: AlertNotification[], n: AlertNotification): AlertNotification[] => [
  ...outbox.filter(
    (o) => !(n.kind === 'REMINDER' && o.kind === 'REMINDER' && o.incidentId === n.incidentId),
  ),
  n,
];

const UNANNOUNCED = 'not sent: the FIRING of this incident was held back by a maintenance window';

export const processObservation = async (
  obs: Observation,
  deps: AlertServiceDeps,
): Promise<ProcessResult> => {
  const { store } = deps;
  const maxAttempts = Math.max(1, deps.maxAttempts ?? DEFAULT_ATTEMPTS);
  const now = deps.clock.now();
  const suppressedBy = activeWindow(deps.maintenance, { probe: obs.probe, tags: obs.tags }, now);
  const policy = { ...obs.policy, repeatMinutes: deps.repeatMinutes };

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const prev = await store.get(obs.checkKey);
    const transition = advance(prev, obs, policy, now, { suppressed: suppressedBy !== undefined });
    let state = transition.next;
    let notification: AlertNotification | undefined;
    if (transition.notify) {
      const why =
        transition.withheld === 'maintenance'
          ? suppressedBy
          : transition.withheld === 'unannounced'
            ? (suppressedBy ?? UNANNOUNCED)
            : undefined;
      notification = buildNotification(transition.notify, state, why);
      if (why === undefined) state = { ...state, outbox: enqueue(state.outbox, notification) };
    }
    if (state.version !== (prev?.version ?? 0)) {
      if (!(await store.putIfVersion(state, prev?.version ?? 0))) continue;
      if (notification?.suppressedBy !== undefined) await record(deps, notification);
    }
    const flushed = await flush(state, deps);
    return {
      state: flushed.state,
      ...(notification ? { notification } : {}),
      sent: flushed.sent,
      attempts: attempt,
    };
  }
  throw new VigilError(
    'conflict',
    `alert state for '${obs.checkKey}' kept changing under us (${maxAttempts} attempts); try again`,
  );
};

const record = async (deps: AlertServiceDeps, n: AlertNotification): Promise<void> => {
  try {
    await deps.store.appendHistory(n);
  } catch (e) {
    deps.onHistoryError?.(e, n);
  }
};

/** Dispatch the outbox in order; drop what went out from the stored state. */
const flush = async (
  state: AlertState,
  deps: AlertServiceDeps,
): Promise<{ state: AlertState; sent: AlertNotification[] }> => {
  if (state.outbox.length === 0) return { state, sent: [] };
  const sent: AlertNotification[] = [];
  let failure: unknown;
  for (const n of state.outbox) {
    try {
      await deps.dispatch(n);
    } catch (e) {
      failure = e;
      break;
    }
    sent.push(n);
    await record(deps, n);
  }
  const cleared = sent.length ? await removeFromOutbox(state, sent, deps) : state;
  if (failure !== undefined) throw failure;
  return { state: cleared, sent };
};

/**
 * Remove sent notifications from the stored outbox (version-checked like every write). If the
 * state keeps changing, give up: the entries are then sent again later (at-least-once).
 */
const removeFromOutbox = async (
  written: AlertState,
  sent: AlertNotification[],
  deps: AlertServiceDeps,
): Promise<AlertState> => {
  const keys = new Set(sent.map(notificationKey));
  let current: AlertState | undefined = written;
  const maxAttempts = Math.max(1, deps.maxAttempts ?? DEFAULT_ATTEMPTS);
  for (let attempt = 1; attempt <= maxAttempts && current; attempt++) {
    const outbox = current.outbox.filter((n) => !keys.has(notificationKey(n)));
    if (outbox.length === current.outbox.length) return current;
    const next: AlertState = {
      ...current,
      outbox,
      version: current.version + 1,
      updatedAt: deps.clock.now().toISOString(),
    };
    if (await deps.store.putIfVersion(next, current.version)) return next;
    current = await deps.store.get(written.checkKey);
  }
  return current ?? written;
};

// GET /v1/alerts -------------------------------------------------------------------------

export interface ActiveAlert {
  checkKey: string;
  status: Exclude<AlertStatus, 'OK'>;
  source: AlertState['source'];
  project: string;
  severity: AlertState['severity'];
  title: string;
  target?: string;
  incidentId?: string;
  since?: string;
  lastError?: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastNotifiedAt?: string;
  runbookUrl?: string;
  correlationId: string;
  updatedAt: string;
  /** A maintenance window covering the check right now. */
  suppressedBy?: string;
}

export interface AlertsView {
  generatedAt: string;
  active: ActiveAlert[];
  /** The latest notifications, newest first, suppressed ones included (with `suppressedBy`). */
  history: AlertNotification[];
}

const toActive = (s: AlertState, suppressedBy: string | undefined): ActiveAlert | undefined => {
  if (s.status === 'OK') return undefined;
  return {
    checkKey: s.checkKey,
    status: s.status,
    source: s.source,
    project: s.project,
    severity: s.severity,
    title: s.title,
    ...(s.target === undefined ? {} : { target: s.target }),
    ...(s.incidentId === undefined ? {} : { incidentId: s.incidentId }),
    ...(s.since === undefined ? {} : { since: s.since }),
    ...(s.lastError === undefined ? {} : { lastError: s.lastError }),
    consecutiveFailures: s.consecutiveFailures,
    consecutiveSuccesses: s.consecutiveSuccesses,
    ...(s.lastNotifiedAt === undefined ? {} : { lastNotifiedAt: s.lastNotifiedAt }),
    ...(s.runbookUrl === undefined ? {} : { runbookUrl: s.runbookUrl }),
    correlationId: s.correlationId,
    updatedAt: s.updatedAt,
    ...(suppressedBy === undefined ? {} : { suppressedBy }),
  };
};

const RANK: Record<ActiveAlert['status'], number> = { FIRING: 0, PENDING: 1 };

/** The data of `GET /v1/alerts`: firing first (oldest incident first), then pending. */
export const listAlerts = async (
  store: AlertStateStore,
  opts: { clock?: Clock; maintenance?: readonly MaintenanceWindow[]; historyLimit?: number } = {},
): Promise<AlertsView> => {
  const now = (opts.clock ?? { now: () => new Date() }).now();
  const { active, history } = await store.list({ historyLimit: opts.historyLimit ?? 200 });
  const alerts = active
    .map((s) =>
      toActive(
        s,
        opts.maintenance
          ? activeWindow(opts.maintenance, { probe: s.probe, tags: s.tags }, now)
          : undefined,
      ),
    )
    .filter((a): a is ActiveAlert => a !== undefined)
    .sort(
      (a, b) =>
        RANK[a.status] - RANK[b.status] ||
        (a.since ?? a.updatedAt).localeCompare(b.since ?? b.updatedAt),
    );
  return { generatedAt: now.toISOString(), active: alerts, history };
};
