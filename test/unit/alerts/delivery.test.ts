import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  type ChannelDelivery,
  DELIVERY_DEFAULTS,
  deliveryViews,
  dueDeliveries,
  enqueueDeliveries,
  fileDeadLetters,
  nextAttemptAt,
  notificationKey,
  okStateFor,
  startDue,
  unfiledDeliveries,
} from '../../../functions/core/alerts/delivery';
import type { AlertStateStore } from '../../../functions/core/alerts/service';
import type { AlertState } from '../../../functions/core/alerts/state';
import type { AlertNotification } from '../../../functions/core/events';

/** The pure part of alert delivery: the queue of deliveries kept on an alert state. */

const notice = (at: string): AlertNotification => ({
  checkKey: 'flaky:shop/t',
  incidentId: `evt-${at}`,
  kind: 'NOTICE',
  source: 'flaky',
  project: 'shop',
  severity: 'warning',
  title: 'Flaky test t',
  summary: 'Passed and failed on one commit.',
  since: at,
  at,
  correlationId: 'c',
});
const NOW = new Date('2026-11-25T10:00:00.000Z');
const state = okStateFor(notice(NOW.toISOString()), NOW.toISOString());

describe('enqueueDeliveries', () => {
  it('adds one pending delivery per channel, and nothing when handed the same notification again', () => {
    // Prepare
    const n = notice(NOW.toISOString());

    // Act
    const once = enqueueDeliveries(state, n, ['slack', 'email'], NOW);
    const again = enqueueDeliveries(once, n, ['slack', 'email'], NOW);

    // Assess
    expect(once.deliveries?.map((d) => [d.channel, d.status, d.key])).toEqual([
      ['slack', 'pending', notificationKey(n)],
      ['email', 'pending', notificationKey(n)],
    ]);
    expect(again).toBe(once);
  });

  it('keeps every pending delivery and the latest finished ones of each channel', () => {
    // Prepare
    const finished = (at: string): ChannelDelivery => ({
      key: `k-${at}`,
      channel: 'slack',
      notification: notice(at),
      status: 'delivered',
      attempts: 1,
      enqueuedAt: at,
      finishedAt: at,
    });
    const old = {
      ...state,
      deliveries: [finished('2026-11-25T08:00:00.000Z'), finished('2026-11-25T09:00:00.000Z')],
    };

    // Act
    const next = enqueueDeliveries(old, notice(NOW.toISOString()), ['slack'], NOW, 1);

    // Assess
    expect(next.deliveries?.map((d) => [d.key, d.status])).toEqual([
      ['k-2026-11-25T09:00:00.000Z', 'delivered'],
      [notificationKey(notice(NOW.toISOString())), 'pending'],
    ]);
  });
});

describe('due deliveries', () => {
  it('waits for a lease in flight, then for the next attempt time', () => {
    // Prepare: slack is leased until 10:01 (no attempt time), email may go at 10:05.
    const pending = (channel: string, extra: Partial<ChannelDelivery>): ChannelDelivery => ({
      key: `k-${channel}`,
      channel,
      notification: notice(NOW.toISOString()),
      status: 'pending',
      attempts: 1,
      enqueuedAt: NOW.toISOString(),
      ...extra,
    });
    const s = {
      ...state,
      deliveries: [
        pending('slack', { leaseUntil: '2026-11-25T10:01:00.000Z' }),
        pending('email', { nextAttemptAt: '2026-11-25T10:05:00.000Z' }),
      ],
    };
    const at = (iso: string) => dueDeliveries(s, new Date(iso)).map((d) => d.channel);

    // Act + Assess
    expect(at('2026-11-25T10:00:30.000Z')).toEqual([]);
    expect(at('2026-11-25T10:01:00.000Z')).toEqual(['slack']);
    expect(at('2026-11-25T10:05:00.000Z')).toEqual(['slack', 'email']);
    expect(nextAttemptAt(s)).toBe(Date.parse('2026-11-25T10:01:00.000Z'));
    expect(nextAttemptAt(state)).toBeUndefined();
  });
});

/** One check's state in memory, version-checked. */
const memoryStore = (initial: AlertState): AlertStateStore & { state: AlertState } => {
  const store = {
    state: structuredClone(initial),
    get: async () => structuredClone(store.state),
    putIfVersion: async (next: AlertState, expected: number) => {
      if (store.state.version !== expected) return false;
      store.state = structuredClone(next);
      return true;
    },
    appendHistory: async () => undefined,
    list: async () => ({ active: [structuredClone(store.state)], history: [] }),
  };
  return store;
};

describe('dead letters not filed yet', () => {
  const clock = { now: () => NOW };
  const queued = (): AlertState =>
    enqueueDeliveries({ ...state, version: 1 }, notice(NOW.toISOString()), ['slack'], NOW);
  const refuse = async () => {
    throw Object.assign(new Error('HTTP 404'), { retryable: false });
  };

  it('marks a dead delivery unfiled when the caller files dead letters, and only then', async () => {
    // Prepare
    const filing = memoryStore(queued());
    const plain = memoryStore(queued());

    // Act
    const fileDeadLetter = async () => undefined;
    await Promise.all(
      await startDue(state.checkKey, { store: filing, clock, send: refuse, fileDeadLetter }),
    );
    await Promise.all(await startDue(state.checkKey, { store: plain, clock, send: refuse }));

    // Assess
    expect(filing.state.deliveries?.[0]).toMatchObject({ status: 'dead', unfiled: true });
    expect(deliveryViews(filing.state)[0]).toMatchObject({ status: 'dead', unfiled: true });
    expect(plain.state.deliveries?.[0]?.status).toBe('dead');
    expect(plain.state.deliveries?.[0]?.unfiled).toBeUndefined();
  });

  it('keeps the mark while filing fails, clears it once filed, and files nothing twice', async () => {
    // Prepare: a dead delivery not filed yet.
    const store = memoryStore(queued());
    await Promise.all(
      await startDue(state.checkKey, {
        store,
        clock,
        send: refuse,
        fileDeadLetter: async () => undefined,
      }),
    );
    const filed: string[] = [];
    let full = true;
    const fileDeadLetter = async (d: ChannelDelivery) => {
      if (full) throw new Error('ENOSPC: no space left on device');
      filed.push(d.channel);
    };

    // Act + Assess: the disk is full; then there is space; then a second call.
    await expect(fileDeadLetters(state.checkKey, { store, clock, fileDeadLetter })).rejects.toThrow(
      'ENOSPC',
    );
    expect(unfiledDeliveries(store.state).map((d) => d.channel)).toEqual(['slack']);
    full = false;
    expect(await fileDeadLetters(state.checkKey, { store, clock, fileDeadLetter })).toBe(1);
    expect(await fileDeadLetters(state.checkKey, { store, clock, fileDeadLetter })).toBe(0);
    expect(filed).toEqual(['slack']);
    expect(unfiledDeliveries(store.state)).toEqual([]);
    expect(store.state.deliveries?.[0]?.status).toBe('dead');
  });

  it('never trims a dead delivery that is not filed yet', () => {
    // Prepare: slack keeps 1 finished delivery; its oldest is dead and not filed.
    const dead = (at: string, unfiled: boolean): ChannelDelivery => ({
      key: `k-${at}`,
      channel: 'slack',
      notification: notice(at),
      status: 'dead',
      attempts: 1,
      enqueuedAt: at,
      finishedAt: at,
      ...(unfiled ? { unfiled: true as const } : {}),
    });
    const old = {
      ...state,
      deliveries: [dead('2026-11-25T08:00:00.000Z', true), dead('2026-11-25T09:00:00.000Z', false)],
    };

    // Act
    const next = enqueueDeliveries(old, notice(NOW.toISOString()), ['slack'], NOW, 1);

    // Assess
    expect(next.deliveries?.map((d) => [d.key, d.status, d.unfiled])).toEqual([
      ['k-2026-11-25T08:00:00.000Z', 'dead', true],
      ['k-2026-11-25T09:00:00.000Z', 'dead', undefined],
      [notificationKey(notice(NOW.toISOString())), 'pending', undefined],
    ]);
  });
});

describe('the default retry budget', () => {
  it('rides out a channel down for about 18 minutes, 5 minutes apart at most', () => {
    const waits = Array.from({ length: DELIVERY_DEFAULTS.maxAttempts - 1 }, (_, i) =>
      backoffMs(i + 1, DELIVERY_DEFAULTS),
    );
    expect(waits.at(-1)).toBe(300_000);
    expect(waits.reduce((a, b) => a + b, 0) / 60_000).toBeCloseTo(18.5, 1);
  });
});
