import { VigilError } from '../errors';
import type { AlertNotification } from '../events';
import type { Clock } from '../ports';
import type { AlertStateStore } from './service';
import type { AlertState } from './state';

/**
 * Delivery of notifications to channels, one channel at a time: each notification handed over
 * becomes one delivery per channel, kept in the check's AlertState (so it survives restarts)
 * and sent on its own. A failing channel only delays its own deliveries: another channel's
 * messages go out at once. A check's messages keep their order on each channel (a RESOLVED
 * never overtakes its FIRING there); another check's do not wait for them. A failed attempt is retried with exponential backoff until the
 * retry budget is spent; then the delivery is dead (the caller dead-letters it). A caller that
 * files dead letters (`fileDeadLetter`) gets each dead delivery marked `unfiled` until its dead
 * letter is on disk: `fileDeadLetters` files them and clears the mark, and what fails to file
 * (a full disk) stays marked and is tried again, never trimmed away meanwhile.
 *
 * Writes are version-checked like every AlertState write: a delivery is claimed (a lease) before
 * it is sent, and its outcome is merged into whatever state is current afterwards.
 */

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface ChannelDelivery {
  /** The notification's key (`kind:incidentId:at`) and the channel: unique per state. */
  key: string;
  channel: string;
  notification: AlertNotification;
  status: DeliveryStatus;
  /** Attempts made so far. */
  attempts: number;
  enqueuedAt: string;
  /** Pending: not before this time. */
  nextAttemptAt?: string;
  /** Pending: an attempt is in flight until this time (after it, the attempt counts as lost). */
  leaseUntil?: string;
  lastError?: string;
  /** When it was delivered, or given up. */
  finishedAt?: string;
  /**
   * Dead, and its dead letter is not filed yet (`fileDeadLetters` retries it). Absent once it is
   * filed, and on dead deliveries written before this mark existed.
   */
  unfiled?: true;
}

export interface DeliveryPolicy {
  /** Attempts before a delivery is dead. Default 12. */
  maxAttempts: number;
  /** Wait after the first failure; doubled per failure. Default 1 000. */
  baseDelayMs: number;
  /** Longest wait between attempts. Default 300 000. */
  maxDelayMs: number;
  /** How long one attempt may hold its delivery. Default 60 000. */
  leaseMs: number;
  /** Finished deliveries kept per channel (shown by `GET /v1/alerts`). Default 5. */
  keepFinished: number;
}

/**
 * 12 attempts, 1 s doubling to 5 min apart: a channel down for about 18 minutes (a Slack
 * incident, a webhook's deploy) loses nothing; 8 attempts gave up after 2 minutes.
 */
export const DELIVERY_DEFAULTS: DeliveryPolicy = {
  maxAttempts: 12,
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  leaseMs: 60_000,
  keepFinished: 5,
};

/** A failed attempt: `retryable: false` ends the delivery at once (e.g. a 404 webhook). */
export interface AttemptFailure {
  message: string;
  retryable: boolean;
}

export const notificationKey = (n: AlertNotification): string =>
  `${n.kind}:${n.incidentId}:${n.at}`;

const deliveriesOf = (state: AlertState | undefined): ChannelDelivery[] => state?.deliveries ?? [];

/**
 * Keep every pending delivery, every dead one not filed yet and the latest `keep` finished ones
 * of each channel.
 */
const trim = (deliveries: ChannelDelivery[], keep: number): ChannelDelivery[] => {
  const finished = new Map<string, number>();
  const kept: ChannelDelivery[] = [];
  for (let i = deliveries.length - 1; i >= 0; i--) {
    const d = deliveries[i] as ChannelDelivery;
    if (d.status !== 'pending' && !d.unfiled) {
      const n = finished.get(d.channel) ?? 0;
      finished.set(d.channel, n + 1);
      if (n >= keep) continue;
    }
    kept.unshift(d);
  }
  return kept;
};

/** Add one pending delivery per channel (none twice: a notification handed over again is a no-op). */
export const enqueueDeliveries = (
  state: AlertState,
  n: AlertNotification,
  channels: readonly string[],
  now: Date,
  keepFinished = DELIVERY_DEFAULTS.keepFinished,
): AlertState => {
  const existing = deliveriesOf(state);
  const key = notificationKey(n);
  const added = channels
    .filter((channel) => !existing.some((d) => d.key === key && d.channel === channel))
    .map(
      (channel): ChannelDelivery => ({
        key,
        channel,
        notification: n,
        status: 'pending',
        attempts: 0,
        enqueuedAt: now.toISOString(),
        nextAttemptAt: now.toISOString(),
      }),
    );
  if (added.length === 0) return state;
  return { ...state, deliveries: trim([...existing, ...added], keepFinished) };
};

/** Per channel, the oldest pending delivery, if it may be attempted now. */
export const dueDeliveries = (state: AlertState | undefined, now: Date): ChannelDelivery[] => {
  const seen = new Set<string>();
  const due: ChannelDelivery[] = [];
  for (const d of deliveriesOf(state)) {
    if (d.status !== 'pending' || seen.has(d.channel)) continue;
    seen.add(d.channel);
    const lease = d.leaseUntil ? Date.parse(d.leaseUntil) : 0;
    const next = d.nextAttemptAt ? Date.parse(d.nextAttemptAt) : 0;
    if (lease <= now.getTime() && next <= now.getTime()) due.push(d);
  }
  return due;
};

/** When the next delivery of this state may be attempted (undefined: nothing pending). */
export const nextAttemptAt = (state: AlertState | undefined): number | undefined => {
  let soonest: number | undefined;
  for (const d of deliveriesOf(state)) {
    if (d.status !== 'pending') continue;
    const at = Math.max(
      d.leaseUntil ? Date.parse(d.leaseUntil) : 0,
      d.nextAttemptAt ? Date.parse(d.nextAttemptAt) : 0,
    );
    soonest = soonest === undefined ? at : Math.min(soonest, at);
  }
  return soonest;
};

/** The dead deliveries of this state whose dead letter is not filed yet. */
export const unfiledDeliveries = (state: AlertState | undefined): ChannelDelivery[] =>
  deliveriesOf(state).filter((d) => d.status === 'dead' && d.unfiled === true);

/** Something waits to be sent on this state: an outbox, a claim, or a pending delivery. */
export const hasPendingWork = (s: AlertState): boolean =>
  s.outbox.length > 0 || s.sending !== undefined || nextAttemptAt(s) !== undefined;

/** What `GET /v1/alerts` shows of one delivery (the notification itself is in the history). */
export interface DeliveryView {
  checkKey: string;
  channel: string;
  kind: AlertNotification['kind'];
  incidentId: string;
  at: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt?: string;
  lastError?: string;
  finishedAt?: string;
  /** Dead, and not yet in the dead-letter file (it is retried). */
  unfiled?: true;
}

export const deliveryViews = (s: AlertState): DeliveryView[] =>
  deliveriesOf(s).map((d) => ({
    checkKey: s.checkKey,
    channel: d.channel,
    kind: d.notification.kind,
    incidentId: d.notification.incidentId,
    at: d.notification.at,
    status: d.status,
    attempts: d.attempts,
    ...(d.status === 'pending' && d.nextAttemptAt ? { nextAttemptAt: d.nextAttemptAt } : {}),
    ...(d.lastError ? { lastError: d.lastError } : {}),
    ...(d.finishedAt ? { finishedAt: d.finishedAt } : {}),
    ...(d.unfiled ? { unfiled: true as const } : {}),
  }));

/** Wait before attempt `attempts + 1`, after `attempts` failures. */
export const backoffMs = (attempts: number, policy: DeliveryPolicy): number =>
  Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));

export interface DeliveryRunDeps {
  store: AlertStateStore;
  clock: Clock;
  policy?: Partial<DeliveryPolicy>;
  /** One attempt at one channel: resolves when delivered, throws an `AttemptFailure`-like error. */
  send: (channel: string, n: AlertNotification) => Promise<void>;
  /** A delivery was given up (after `recordOutcome` wrote it as dead): once per delivery. */
  onDead?: (delivery: ChannelDelivery) => Promise<void>;
  /**
   * Files a dead delivery's dead letter: resolves once it is durably stored, throws when it could
   * not be (it is tried again). When set, a delivery is written dead with `unfiled` and the
   * caller runs `fileDeadLetters` (after `onDead`, and on a timer) to file it and clear the mark.
   */
  fileDeadLetter?: (delivery: ChannelDelivery) => Promise<void>;
  /** A delivery was made. */
  onDelivered?: (delivery: ChannelDelivery) => void;
  /** Read-modify-write rounds on contention. Default 5. */
  maxWriteAttempts?: number;
}

/**
 * Apply `change` to the current state of `checkKey` (undefined: none yet) with a version-checked
 * write, re-reading on a lost race. Returns the state written, or undefined when `change` had
 * nothing to do.
 */
const update = async (
  checkKey: string,
  deps: Pick<DeliveryRunDeps, 'store' | 'clock' | 'maxWriteAttempts'>,
  change: (state: AlertState | undefined) => AlertState | undefined,
): Promise<AlertState | undefined> => {
  for (let attempt = 0; attempt < (deps.maxWriteAttempts ?? 5); attempt++) {
    const current = await deps.store.get(checkKey);
    const next = change(current);
    if (!next) return undefined;
    const version = current?.version ?? 0;
    const written = { ...next, version: version + 1, updatedAt: deps.clock.now().toISOString() };
    if (await deps.store.putIfVersion(written, version)) return written;
  }
  return undefined;
};

/** The state of a check that only ever sent one-off messages (NOTICE): OK, nothing observed. */
export const okStateFor = (n: AlertNotification, updatedAt: string): AlertState => ({
  checkKey: n.checkKey,
  status: 'OK',
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  recentObservationIds: [],
  source: n.source,
  project: n.project,
  severity: n.severity,
  title: n.title,
  correlationId: n.correlationId,
  tags: [],
  outbox: [],
  version: 0,
  updatedAt,
});

const replace = (
  state: AlertState,
  target: ChannelDelivery,
  change: (d: ChannelDelivery) => ChannelDelivery,
): ChannelDelivery[] =>
  deliveriesOf(state).map((d) =>
    d.key === target.key && d.channel === target.channel ? change(d) : d,
  );

/**
 * Claim every due delivery of one check and start its attempt: each channel on its own, each
 * outcome recorded as it comes. Resolves once the claims are written, with one promise per
 * attempt (settled when its outcome is recorded), so that a channel that hangs holds back
 * nothing but its own next messages: another run may claim the other channels' next ones
 * meanwhile (a claimed delivery is leased, and a channel's later ones wait for it).
 */
export const startDue = async (
  checkKey: string,
  deps: DeliveryRunDeps,
): Promise<Promise<void>[]> => {
  const policy = { ...DELIVERY_DEFAULTS, ...deps.policy };
  const now = deps.clock.now();
  let claimed: ChannelDelivery[] = [];
  const leaseUntil = new Date(now.getTime() + policy.leaseMs).toISOString();
  const written = await update(checkKey, deps, (state) => {
    claimed = dueDeliveries(state, now);
    if (!state || claimed.length === 0) return undefined;
    const keys = new Set(claimed.map((d) => `${d.key}|${d.channel}`));
    return {
      ...state,
      deliveries: deliveriesOf(state).map((d) =>
        keys.has(`${d.key}|${d.channel}`) ? { ...d, leaseUntil } : d,
      ),
    };
  });
  // No claim written (nothing due, or the state kept changing): send nothing.
  if (!written) return [];
  return claimed.map(async (d) => {
    let failure: AttemptFailure | undefined;
    try {
      await deps.send(d.channel, d.notification);
    } catch (e) {
      const err = e as Partial<AttemptFailure> & { message?: string };
      failure = { message: err?.message ?? String(e), retryable: err?.retryable !== false };
    }
    await recordOutcome(checkKey, d, leaseUntil, failure, policy, deps);
  });
};

const recordOutcome = async (
  checkKey: string,
  claimed: ChannelDelivery,
  leaseUntil: string,
  failure: AttemptFailure | undefined,
  policy: DeliveryPolicy,
  deps: DeliveryRunDeps,
): Promise<void> => {
  let outcome: ChannelDelivery | undefined;
  const written = await update(checkKey, deps, (state) => {
    if (!state) return undefined;
    const mine = deliveriesOf(state).find(
      (d) => d.key === claimed.key && d.channel === claimed.channel,
    );
    // Our lease ran out and someone else took the delivery over: their outcome counts.
    if (mine?.status !== 'pending' || mine.leaseUntil !== leaseUntil) return undefined;
    const at = deps.clock.now();
    const attempts = mine.attempts + 1;
    const { leaseUntil: _l, nextAttemptAt: _n, ...rest } = mine;
    if (!failure)
      outcome = { ...rest, attempts, status: 'delivered', finishedAt: at.toISOString() };
    else if (!failure.retryable || attempts >= policy.maxAttempts)
      outcome = {
        ...rest,
        attempts,
        status: 'dead',
        lastError: failure.message,
        finishedAt: at.toISOString(),
        ...(deps.fileDeadLetter ? { unfiled: true as const } : {}),
      };
    else
      outcome = {
        ...rest,
        attempts,
        lastError: failure.message,
        nextAttemptAt: new Date(at.getTime() + backoffMs(attempts, policy)).toISOString(),
      };
    const done = outcome;
    return {
      ...state,
      deliveries: trim(
        replace(state, mine, () => done),
        policy.keepFinished,
      ),
    };
  });
  // Not written (the state kept changing): the delivery stays pending, retried after its lease.
  if (!written) return;
  if (outcome?.status === 'delivered') deps.onDelivered?.(outcome);
  if (outcome?.status === 'dead') await deps.onDead?.(outcome);
};

/**
 * File the dead letters of one check that are not filed yet: each is handed to
 * `fileDeadLetter`, and only once that resolved is its `unfiled` mark cleared (version-checked).
 * Reads the current state first, so a call after another's marks files nothing twice; the caller
 * runs one call at a time. At least once: a crash (or a failed write) between the filing and the
 * mark files that dead letter again on the next call. Stops at the first failure, which it
 * throws (the rest stay marked and are tried on the next call). Resolves with how many it filed.
 */
export const fileDeadLetters = async (
  checkKey: string,
  deps: Pick<DeliveryRunDeps, 'store' | 'clock' | 'maxWriteAttempts'> &
    Required<Pick<DeliveryRunDeps, 'fileDeadLetter'>>,
): Promise<number> => {
  let filed = 0;
  for (const d of unfiledDeliveries(await deps.store.get(checkKey))) {
    await deps.fileDeadLetter(d);
    const marked = await update(checkKey, deps, (state) => {
      if (
        !state ||
        !unfiledDeliveries(state).some((u) => u.key === d.key && u.channel === d.channel)
      )
        return undefined;
      return { ...state, deliveries: replace(state, d, ({ unfiled: _u, ...rest }) => rest) };
    });
    if (
      !marked &&
      unfiledDeliveries(await deps.store.get(checkKey)).some(
        (u) => u.key === d.key && u.channel === d.channel,
      )
    )
      throw new VigilError(
        'conflict',
        `could not record the dead letter of ${d.channel} for '${checkKey}' as filed; retrying`,
      );
    filed++;
  }
  return filed;
};

/** Enqueue `n` for `channels` on the current state of its check (version-checked). */
export const enqueueOnStore = async (
  n: AlertNotification,
  channels: readonly string[],
  deps: Pick<DeliveryRunDeps, 'store' | 'clock' | 'maxWriteAttempts' | 'policy'>,
): Promise<void> => {
  if (channels.length === 0) return;
  const keep = deps.policy?.keepFinished ?? DELIVERY_DEFAULTS.keepFinished;
  const written = await update(n.checkKey, deps, (state) => {
    const now = deps.clock.now();
    const base = state ?? okStateFor(n, now.toISOString());
    const next = enqueueDeliveries(base, n, channels, now, keep);
    return next === base && state ? undefined : next;
  });
  if (
    !written &&
    !(await deps.store.get(n.checkKey))?.deliveries?.some((d) => d.key === notificationKey(n))
  )
    throw new VigilError(
      'conflict',
      `could not queue the deliveries of ${n.kind} for '${n.checkKey}'; retrying`,
    );
};
