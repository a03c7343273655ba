import { checkKey, configuredChecks } from '../check-key';
import type { MaintenanceWindow, VigilConfig } from '../config';
import { loadCronParser } from '../cron';
import { withDashboardUrl } from '../dashboard-links';
import { VigilError } from '../errors';
import type { AlertNotification } from '../events';
import type { Clock } from '../ports';
import { onlyKnown, wholeNumber } from '../query-params';
import { type DeliveryView, deliveryViews } from './delivery';
import { activeWindow } from './maintenance';
import { buildNotification, removedNotification } from './messages';
import {
  type AlertState,
  type AlertStatus,
  advance,
  type Observation,
  retire,
  type Transition,
} from './state';

/**
 * The alert use case: read the check's state, apply the observation, write it back with a
 * version check, and hand the resulting notification to the dispatcher.
 *
 * Concurrency: the write is conditional on the version read; on a lost race the state is read
 * again and the observation re-applied (bounded). Only the winner's transition notifies, so a
 * burst of failures gives one FIRING.
 *
 * Delivery: a notification is written into the state's `outbox` together with the transition.
 * To send, an invocation first claims the outbox with a version-checked write that moves it to
 * `sending` under a lease; only the claimant dispatches, so two concurrent deliveries of one
 * event send one message. Sent notifications are then dropped; unsent ones (dispatch threw)
 * go back to the outbox and the error propagates, so the Lambda retry sends them. A sender
 * that dies leaves its lease to run out, and the next invocation for the check takes them
 * over. A transition is never lost between the state write and the dispatch.
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
  /**
   * Checks not OK (PENDING or FIRING) or with notifications still to send (`outbox`, `sending`)
   * or channel deliveries (pending or recent), and the latest notifications, newest first.
   */
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
  /**
   * Puts a withheld RESOLVED on the bus only (`Alert State Changed`, no channel notified), so
   * the incident it ends is closed where incidents are kept (the status subscriber): without
   * it, a check that recovered inside a maintenance window kept an "ongoing" incident. Best
   * effort, as the history.
   */
  announce?: (notification: AlertNotification) => Promise<void>;
  /** History is best effort: its failures are reported here, never thrown. */
  onHistoryError?: (error: unknown, notification: AlertNotification) => void;
  /** The dashboard's base address: notifications link to their page there (`dashboardUrl`). */
  dashboardUrl?: string;
}

export interface ProcessResult {
  state: AlertState;
  /** The status before this observation (OK for a check never seen). */
  from: AlertStatus;
  /** The transition's notification, sent or (with `suppressedBy`) only recorded. */
  notification?: AlertNotification;
  /** What was dispatched in this call (the outbox: usually the transition's notification). */
  sent: AlertNotification[];
  /** Read-apply-write rounds used (1 without contention). */
  attempts: number;
}

const DEFAULT_ATTEMPTS = 5;
/** How long a claimed outbox is reserved for its sender (local delivery retries take ~2 min). */
export const SEND_LEASE_MS = 5 * 60_000;

/** A newer REMINDER replaces a pending one of the same incident; the rest queue up. */
const enqueue = (outbox: AlertNotification[], n: AlertNotification): AlertNotification[] => [
  ...outbox.filter(
    (o) => !(n.kind === 'REMINDER' && o.kind === 'REMINDER' && o.incidentId === n.incidentId),
  ),
  n,
];

const UNANNOUNCED = 'not sent: the FIRING of this incident was held back by a maintenance window';

/** Why a transition's notification is only recorded (its `suppressedBy`), or undefined: send it. */
const withheldBecause = (t: Transition, suppressedBy: string | undefined): string | undefined =>
  t.withheld === 'maintenance'
    ? suppressedBy
    : t.withheld === 'unannounced'
      ? (suppressedBy ?? UNANNOUNCED)
      : undefined;

export const processObservation = async (
  obs: Observation,
  deps: AlertServiceDeps,
): Promise<ProcessResult> => {
  const { store } = deps;
  const maxAttempts = Math.max(1, deps.maxAttempts ?? DEFAULT_ATTEMPTS);
  const now = deps.clock.now();
  await loadCronParser(deps.maintenance);
  const suppressedBy = activeWindow(deps.maintenance, { probe: obs.probe, tags: obs.tags }, now);
  const policy = { ...obs.policy, repeatMinutes: deps.repeatMinutes };

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const prev = await store.get(obs.checkKey);
    const transition = advance(prev, obs, policy, now, { suppressed: suppressedBy !== undefined });
    let state = transition.next;
    let notification: AlertNotification | undefined;
    if (transition.notify) {
      const why = withheldBecause(transition, suppressedBy);
      notification = withDashboardUrl(
        buildNotification(transition.notify, state, why),
        deps.dashboardUrl,
      );
      if (why === undefined) state = { ...state, outbox: enqueue(state.outbox, notification) };
    }
    if (state.version !== (prev?.version ?? 0)) {
      if (!(await store.putIfVersion(state, prev?.version ?? 0))) continue;
      if (notification?.suppressedBy !== undefined)
        await record(deps, notification, transition.withheld);
    }
    const flushed = await flush(state, deps);
    return {
      state: flushed.state,
      from: prev?.status ?? 'OK',
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

/**
 * A notification in the history (sent, or `withheld`); a withheld RESOLVED of an incident whose
 * FIRING went out (held back by a window, not `unannounced`) is also announced (`announce`).
 */
const record = async (
  deps: FlushDeps & Pick<AlertServiceDeps, 'announce'>,
  n: AlertNotification,
  withheld: Transition['withheld'],
): Promise<void> => {
  try {
    await deps.store.appendHistory(n);
  } catch (e) {
    deps.onHistoryError?.(e, n);
  }
  if (n.kind === 'RESOLVED' && withheld === 'maintenance' && deps.announce)
    try {
      await deps.announce(n);
    } catch (e) {
      deps.onHistoryError?.(e, n);
    }
};

const bump = (state: AlertState, deps: FlushDeps): AlertState => ({
  ...state,
  version: state.version + 1,
  updatedAt: deps.clock.now().toISOString(),
});

/** What is waiting to be sent: the outbox, plus a claim whose sender let its lease run out. */
const claimable = (state: AlertState, now: Date): AlertNotification[] | undefined => {
  if (state.sending && Date.parse(state.sending.until) > now.getTime()) return undefined;
  const pending = [...(state.sending?.notifications ?? []), ...state.outbox];
  return pending.length ? pending : undefined;
};

/** What sending an outbox needs (the timer of local mode's dispatcher calls it without an observation). */
export type FlushDeps = Pick<
  AlertServiceDeps,
  'store' | 'dispatch' | 'clock' | 'maxAttempts' | 'onHistoryError'
>;

/** Send what waits in the outbox of one check (e.g. left by a claim that lost a race). */
export const flushOutbox = async (
  checkKey: string,
  deps: FlushDeps,
): Promise<AlertNotification[]> => {
  const state = await deps.store.get(checkKey);
  return state ? (await flush(state, deps)).sent : [];
};

/**
 * Claim what is waiting (a version-checked write), dispatch it in order, then record the
 * outcome. When the claim loses a race, another invocation is sending: nothing is sent here.
 */
const flush = async (
  state: AlertState,
  deps: FlushDeps,
): Promise<{ state: AlertState; sent: AlertNotification[] }> => {
  const now = deps.clock.now();
  const pending = claimable(state, now);
  if (!pending) return { state, sent: [] };
  const { sending: _expired, ...rest } = state;
  const claimed: AlertState = bump(
    {
      ...rest,
      outbox: [],
      sending: {
        notifications: pending,
        until: new Date(now.getTime() + SEND_LEASE_MS).toISOString(),
      },
    },
    deps,
  );
  if (!(await deps.store.putIfVersion(claimed, state.version))) return { state, sent: [] };
  const sent: AlertNotification[] = [];
  let failure: unknown;
  for (const n of pending) {
    try {
      await deps.dispatch(n);
    } catch (e) {
      failure = e;
      break;
    }
    sent.push(n);
    await record(deps, n, undefined);
  }
  const released = await release(claimed, pending.slice(sent.length), deps);
  if (failure !== undefined) throw failure;
  return { state: released, sent };
};

/**
 * End a claim: drop `sending`, and put what was not sent back at the front of the outbox
 * (version-checked; re-read and retried when a transition was written meanwhile). If the
 * state keeps changing, the lease runs out and the unsent part is taken over later.
 */
const release = async (
  claimed: AlertState,
  unsent: AlertNotification[],
  deps: FlushDeps,
): Promise<AlertState> => {
  const maxAttempts = Math.max(1, deps.maxAttempts ?? DEFAULT_ATTEMPTS);
  let current: AlertState | undefined = claimed;
  for (let attempt = 1; attempt <= maxAttempts && current; attempt++) {
    if (current.sending?.until !== claimed.sending?.until) return current; // no longer ours
    const { sending: _ours, ...rest } = current;
    const next = bump({ ...rest, outbox: [...unsent, ...current.outbox] }, deps);
    if (await deps.store.putIfVersion(next, current.version)) return next;
    current = await deps.store.get(claimed.checkKey);
  }
  return current ?? claimed;
};

// Checks removed from the config ----------------------------------------------------------

/** The check keys of the probes and heartbeats the config names. */
export const configuredCheckKeys = (config: VigilConfig): Set<string> =>
  new Set(configuredChecks(config).map((c) => checkKey(c.kind, c.project, c.name)));

/** Only these come from the config; tests:, gate:, alarm: and the rest come from what is reported. */
const FROM_CONFIG = /^(probe|heartbeat):/;

/**
 * Close the incidents of probes and heartbeats the config no longer names: nothing will ever
 * observe them again, so they would stay FIRING forever. Each FIRING one gets a RESOLVED with
 * `reason` "check removed from the configuration", sent (or recorded, as any RESOLVED under a
 * maintenance window or of an unannounced incident) once: the closing write is version-checked
 * and leaves the state OK, so a second run, or a concurrent one, finds nothing to do. A PENDING
 * one goes back to OK without a message. Run where the config is loaded (local start, a Lambda
 * container's first event). Returns the check keys closed.
 */
export const retireRemovedChecks = async (
  config: VigilConfig,
  deps: FlushDeps & Pick<AlertServiceDeps, 'maintenance' | 'announce' | 'dashboardUrl'>,
): Promise<string[]> => {
  const configured = configuredCheckKeys(config);
  const maxAttempts = Math.max(1, deps.maxAttempts ?? DEFAULT_ATTEMPTS);
  const now = deps.clock.now();
  await loadCronParser(deps.maintenance);
  const { active } = await deps.store.list({ historyLimit: 0 });
  const retired: string[] = [];
  for (const listed of active) {
    const key = listed.checkKey;
    if (listed.status === 'OK' || !FROM_CONFIG.test(key) || configured.has(key)) continue;
    let prev: AlertState | undefined = listed;
    for (let attempt = 1; attempt <= maxAttempts && prev && prev.status !== 'OK'; attempt++) {
      const suppressedBy = activeWindow(
        deps.maintenance,
        { probe: prev.probe, tags: prev.tags },
        now,
      );
      const transition = retire(prev, now, { suppressed: suppressedBy !== undefined });
      let state = transition.next;
      let notification: AlertNotification | undefined;
      if (transition.notify) {
        const why = withheldBecause(transition, suppressedBy);
        notification = withDashboardUrl(removedNotification(state, why), deps.dashboardUrl);
        if (why === undefined) state = { ...state, outbox: enqueue(state.outbox, notification) };
      }
      if (!(await deps.store.putIfVersion(state, prev.version))) {
        prev = await deps.store.get(key);
        continue;
      }
      if (notification?.suppressedBy !== undefined)
        await record(deps, notification, transition.withheld);
      retired.push(key);
      await flush(state, deps);
      break;
    }
  }
  return retired;
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
  /** Each channel's delivery of recent notifications: pending (with its next attempt), delivered or dead. */
  deliveries: DeliveryView[];
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

/** The notifications `GET /v1/alerts` lists by default, and at most. */
export const ALERT_HISTORY_LIMIT = 200;

/**
 * `GET /v1/alerts`: `history`, how many of the latest notifications to list (0 to 200, default
 * 200; the dashboard asks for none, as it polls for the active alerts and deliveries).
 */
export const readAlertsQuery = (
  query: Readonly<Record<string, string | undefined>>,
): { historyLimit: number } => {
  onlyKnown(query, ['history']);
  return {
    historyLimit: wholeNumber(query, 'history', {
      min: 0,
      max: ALERT_HISTORY_LIMIT,
      fallback: ALERT_HISTORY_LIMIT,
    }),
  };
};

/** The data of `GET /v1/alerts`: firing first (oldest incident first), then pending. */
export const listAlerts = async (
  store: AlertStateStore,
  opts: { clock?: Clock; maintenance?: readonly MaintenanceWindow[]; historyLimit?: number } = {},
): Promise<AlertsView> => {
  const now = (opts.clock ?? { now: () => new Date() }).now();
  await loadCronParser(opts.maintenance ?? []);
  const { active, history } = await store.list({
    historyLimit: opts.historyLimit ?? ALERT_HISTORY_LIMIT,
  });
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
  return {
    generatedAt: now.toISOString(),
    active: alerts,
    history,
    deliveries: active.flatMap(deliveryViews),
  };
};
