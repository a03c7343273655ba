import type { AlertNotification } from '../events';
import type { ChannelDelivery } from './delivery';

/**
 * The alert state machine: pure, one state per check key.
 *
 *   OK --fail--> PENDING --(failureThreshold consecutive fails)--> FIRING
 *   PENDING --pass--> OK                    (flapping never fires, unless...)
 *   OK/PENDING --(failureWindow: M of the last N results failed)--> FIRING
 *   FIRING --(recoveryThreshold consecutive passes)--> OK, with a RESOLVED notification
 *
 * With a `failureWindow`, the state keeps the last N results (`window`) while one of them is a
 * failure; either rule fires. The window is emptied when the check fires: after a RESOLVED it
 * starts over, so one recovery is not followed by a FIRING from the failures before it.
 *
 * One FIRING per incident, a REMINDER at most every `repeatMinutes` while firing, and a
 * RESOLVED with the downtime. Times come from the observations (when the thing was checked),
 * so replaying the same events gives the same result.
 */

export type AlertStatus = 'OK' | 'PENDING' | 'FIRING';
export type AlertKind = AlertNotification['kind'];
export type AlertSource = AlertNotification['source'];
export type Severity = AlertNotification['severity'];

export interface AlertPolicy {
  /** Consecutive failures before FIRING. */
  failureThreshold: number;
  /** Consecutive successes before RESOLVED. */
  recoveryThreshold: number;
  /** Minutes between reminders while firing. */
  repeatMinutes: number;
  /** Also fire when `failures` of the last `of` results failed. */
  failureWindow?: { failures: number; of: number };
}

/** One result about one check, whatever its source (probe, test run, gate, alarm). */
export interface Observation {
  /** Id of the event it came from: a redelivered event is applied once. */
  id: string;
  checkKey: string;
  ok: boolean;
  /** When the thing was observed (probe check, ingestion, alarm evaluation), ISO 8601. */
  at: string;
  source: AlertSource;
  project: string;
  severity: Severity;
  /** A short noun phrase, e.g. `Probe checkout-api`, `Tests shop/unit on main`. */
  title: string;
  /** What was checked, e.g. `GET https://shop.example.com/health`; shown in messages. */
  target?: string;
  error?: string;
  runbookUrl?: string;
  /** The dashboard page of what was observed (`dashboardPath`): the run, the probe. */
  dashboardPath?: string;
  correlationId: string;
  /** The W3C trace id of the probe check (its requests' `traceparent`), for probes. */
  traceId?: string;
  policy: Pick<AlertPolicy, 'failureThreshold' | 'recoveryThreshold' | 'failureWindow'>;
  tags: string[];
  probe?: string;
}

export interface ResolvedIncident {
  incidentId: string;
  since: string;
  resolvedAt: string;
  downtimeSeconds: number;
  /** The incident's last error, for the RESOLVED message. */
  lastError?: string;
}

export interface AlertState {
  checkKey: string;
  status: AlertStatus;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** The open incident (FIRING only). */
  incidentId?: string;
  /** First failure of the current failure streak (PENDING) or incident (FIRING). */
  since?: string;
  lastError?: string;
  /** Last FIRING or REMINDER (sent, or suppressed by maintenance for reminders). */
  lastNotifiedAt?: string;
  /** Whether the FIRING of the open incident reached the channels (false: maintenance). */
  announced?: boolean;
  lastObservedAt?: string;
  /** The last results (oldest first) while one is a failure, for `failureWindow`. */
  window?: { ok: boolean; at: string }[];
  /** Ids of the last observations applied, to drop redelivered events. */
  recentObservationIds: string[];
  lastResolved?: ResolvedIncident;
  // What the check is, from the latest observation (for messages and `GET /v1/alerts`).
  source: AlertSource;
  project: string;
  severity: Severity;
  title: string;
  target?: string;
  runbookUrl?: string;
  dashboardPath?: string;
  correlationId: string;
  traceId?: string;
  probe?: string;
  tags: string[];
  /** Notifications written with this state but not yet handed to the dispatcher. */
  outbox: AlertNotification[];
  /**
   * Notifications one invocation has claimed and is dispatching, until `until` (a lease): no
   * other invocation sends them meanwhile; when the lease runs out (the sender died) they
   * go back to the outbox.
   */
  sending?: { notifications: AlertNotification[]; until: string };
  /** Per-channel deliveries of handed-over notifications (local mode; see delivery.ts). */
  deliveries?: ChannelDelivery[];
  /** Optimistic-concurrency version: 1 for the first write, +1 per write. */
  version: number;
  updatedAt: string;
}

export interface Transition {
  next: AlertState;
  notify?: AlertKind;
  /**
   * The notification is recorded but not sent: `maintenance` when a window suppressed it,
   * `unannounced` for the RESOLVED of an incident whose FIRING never went out.
   */
  withheld?: 'maintenance' | 'unannounced';
}

export interface AdvanceOptions {
  /** A maintenance window covers this check now. */
  suppressed?: boolean;
}

const RECENT_IDS = 20;

/** 32-bit FNV-1a, for short stable ids (not for security). */
const fnv1a = (s: string): string => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
};

/** One id per incident, derived from the check and its start: re-applying gives the same id. */
export const incidentIdFor = (checkKey: string, since: string): string =>
  `inc-${fnv1a(checkKey)}-${Date.parse(since).toString(36)}`;

const time = (iso: string | undefined, fallback: Date): number => {
  const t = Date.parse(String(iso)); // undefined reads as NaN, like any unreadable time
  return Number.isFinite(t) ? t : fallback.getTime();
};

const initial = (obs: Observation): AlertState => ({
  checkKey: obs.checkKey,
  status: 'OK',
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  recentObservationIds: [],
  source: obs.source,
  project: obs.project,
  severity: obs.severity,
  title: obs.title,
  correlationId: obs.correlationId,
  ...(obs.traceId === undefined ? {} : { traceId: obs.traceId }),
  tags: obs.tags,
  outbox: [],
  version: 0,
  updatedAt: obs.at,
});

/** The descriptive fields follow the latest observation; optional ones are replaced, not kept. */
const describe = (state: AlertState, obs: Observation): AlertState => {
  const { target: _t, runbookUrl: _r, dashboardPath: _d, probe: _p, traceId: _tr, ...rest } = state;
  return {
    ...rest,
    source: obs.source,
    project: obs.project,
    severity: obs.severity,
    title: obs.title,
    correlationId: obs.correlationId,
    tags: obs.tags,
    ...(obs.target === undefined ? {} : { target: obs.target }),
    ...(obs.runbookUrl === undefined ? {} : { runbookUrl: obs.runbookUrl }),
    ...(obs.dashboardPath === undefined ? {} : { dashboardPath: obs.dashboardPath }),
    ...(obs.probe === undefined ? {} : { probe: obs.probe }),
    ...(obs.traceId === undefined ? {} : { traceId: obs.traceId }),
  };
};

/** The window after one more result: the last `of`, or none when it holds no failure. */
const slide = (
  window: AlertState['window'],
  result: { ok: boolean; at: string },
  policy: AlertPolicy,
): AlertState['window'] => {
  if (!policy.failureWindow) return undefined;
  const next = [...(window ?? []), result].slice(-policy.failureWindow.of);
  return next.some((r) => !r.ok) ? next : undefined;
};

const withWindow = (state: AlertState, window: AlertState['window']): AlertState => {
  const { window: _w, ...rest } = state;
  return window ? { ...rest, window } : rest;
};

/** Drop the fields of an open incident (back to OK). */
const closed = (state: AlertState): AlertState => {
  const {
    incidentId: _i,
    since: _s,
    lastError: _e,
    lastNotifiedAt: _n,
    announced: _a,
    ...rest
  } = state;
  return rest;
};

/**
 * Apply one observation. `now` is the processing time (for `updatedAt`); the transition
 * itself uses the observation's time. A change bumps `version`; when nothing changes (a
 * redelivered or stale observation, a success on a healthy check) `next.version` is the
 * previous one (0 for a check never seen) and nothing needs writing.
 */
export const advance = (
  prev: AlertState | undefined,
  obs: Observation,
  policy: AlertPolicy,
  now: Date,
  opts: AdvanceOptions = {},
): Transition => {
  const base = prev ?? initial(obs);
  const at = time(obs.at, now);
  const atIso = new Date(at).toISOString();
  if (prev) {
    if (prev.recentObservationIds.includes(obs.id)) return { next: prev };
    if (prev.lastObservedAt !== undefined && at < time(prev.lastObservedAt, now)) {
      return { next: prev };
    }
  }
  // A success on a healthy check changes nothing worth a write (probes report every minute),
  // unless a failure in its window must slide out.
  if (obs.ok && base.status === 'OK' && !base.window) return { next: base };
  const suppressed = opts.suppressed === true;
  const failureThreshold = Math.max(1, policy.failureThreshold);
  const recoveryThreshold = Math.max(1, policy.recoveryThreshold);

  let next: AlertState = {
    ...describe(base, obs),
    lastObservedAt: atIso,
    recentObservationIds: [...base.recentObservationIds, obs.id].slice(-RECENT_IDS),
    version: base.version + 1,
    updatedAt: now.toISOString(),
  };
  let notify: AlertKind | undefined;
  let withheld: Transition['withheld'];

  if (!obs.ok) {
    next.consecutiveFailures = base.consecutiveFailures + 1;
    next.consecutiveSuccesses = 0;
    if (obs.error !== undefined) next.lastError = obs.error;
    if (base.status === 'OK') next.since = atIso;

    if (base.status !== 'FIRING') {
      const window = slide(base.window, { ok: false, at: atIso }, policy);
      const windowFailures = window?.filter((r) => !r.ok) ?? [];
      const windowFires =
        policy.failureWindow !== undefined &&
        windowFailures.length >= policy.failureWindow.failures;
      if (next.consecutiveFailures >= failureThreshold || windowFires) {
        // The incident starts at its first failure: the streak's, or the window's.
        const first = windowFires ? windowFailures[0]?.at : undefined;
        const streak = next.since ?? atIso;
        const since = first !== undefined && first < streak ? first : streak;
        next = {
          ...withWindow(next, undefined),
          status: 'FIRING',
          since,
          incidentId: incidentIdFor(obs.checkKey, since),
          announced: !suppressed,
          lastNotifiedAt: atIso,
        };
        notify = 'FIRING';
        if (suppressed) withheld = 'maintenance';
      } else {
        next = { ...withWindow(next, window), status: 'PENDING' };
      }
    } else if (base.announced === false) {
      // The FIRING was held back by maintenance: send it once the window is over.
      if (!suppressed) {
        next = { ...next, announced: true, lastNotifiedAt: atIso };
        notify = 'FIRING';
      }
    } else {
      const last = time(base.lastNotifiedAt ?? base.since, now);
      if (at - last >= policy.repeatMinutes * 60_000) {
        // A suppressed reminder still paces the next one: at most one record per period.
        next.lastNotifiedAt = atIso;
        notify = 'REMINDER';
        if (suppressed) withheld = 'maintenance';
      }
    }
    return { next, ...(notify ? { notify } : {}), ...(withheld ? { withheld } : {}) };
  }

  // A success.
  next.consecutiveSuccesses = base.consecutiveSuccesses + 1;
  next.consecutiveFailures = 0;
  if (base.status !== 'FIRING') {
    // One success ends a PENDING streak; the failure window (if any) remembers the failures.
    const window = slide(base.window, { ok: true, at: atIso }, policy);
    return { next: { ...withWindow(closed(next), window), status: 'OK' } };
  }
  if (next.consecutiveSuccesses >= recoveryThreshold)
    return resolvedBy(base, next, new Date(at), suppressed);
  return { next };
};

/**
 * The RESOLVED that closes `base`'s incident at `at`, `next` becoming OK: downtime from its
 * first failure; only recorded under a maintenance window or when its FIRING was never sent.
 */
const resolvedBy = (
  base: AlertState,
  next: AlertState,
  at: Date,
  suppressed: boolean | undefined,
): Transition => {
  const atIso = at.toISOString();
  const since = base.since ?? atIso;
  const resolved: ResolvedIncident = {
    incidentId: base.incidentId ?? incidentIdFor(base.checkKey, since),
    since,
    resolvedAt: atIso,
    downtimeSeconds: Math.max(0, Math.round((at.getTime() - time(since, at)) / 1000)),
    ...(base.lastError === undefined ? {} : { lastError: base.lastError }),
  };
  return {
    next: { ...closed(next), status: 'OK', lastResolved: resolved },
    notify: 'RESOLVED',
    ...(base.announced === false
      ? { withheld: 'unannounced' as const }
      : suppressed
        ? { withheld: 'maintenance' as const }
        : {}),
  };
};

/**
 * Close a check the config no longer names (a probe or heartbeat removed or renamed): no
 * observation will ever resolve it. FIRING ends with a RESOLVED at `now` (downtime up to now);
 * PENDING goes back to OK silently, as a PENDING that passes does (nothing was announced).
 * An OK check is left as it is.
 */
export const retire = (prev: AlertState, now: Date, opts: AdvanceOptions = {}): Transition => {
  if (prev.status === 'OK') return { next: prev };
  const atIso = now.toISOString();
  const next: AlertState = {
    ...withWindow(closed(prev), undefined),
    status: 'OK',
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    version: prev.version + 1,
    updatedAt: atIso,
  };
  return prev.status === 'PENDING' ? { next } : resolvedBy(prev, next, now, opts.suppressed);
};
