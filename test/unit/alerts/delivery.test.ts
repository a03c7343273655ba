import { describe, expect, it } from 'vitest';
import {
  type ChannelDelivery,
  dueDeliveries,
  enqueueDeliveries,
  nextAttemptAt,
  notificationKey,
  okStateFor,
} from '../../../functions/core/alerts/delivery';
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
