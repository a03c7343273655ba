import { describe, expect, it } from 'vitest';
import { observationFromEvent } from '../../../functions/core/alerts/sources';
import { type AlertState, advance } from '../../../functions/core/alerts/state';
import {
  evaluateHeartbeats,
  type HeartbeatDeps,
  type HeartbeatStore,
  recordPing,
  type StoredHeartbeatState,
} from '../../../functions/core/checks/heartbeat-service';
import { parseConfig } from '../../../functions/core/config';
import type { VigilEvent } from '../../../functions/core/events';

/**
 * The outbox of heartbeat results: a process that dies between saving a result and publishing
 * it (or between publishing it and clearing it) loses nothing, and publishes nothing twice
 * downstream. A "crash" is a store call that throws where the process would have died.
 */

const T0 = Date.parse('2026-05-01T10:00:00Z');
const config = parseConfig({
  project: 'shop',
  heartbeats: [{ name: 'backup', periodSeconds: 60, graceSeconds: 0 }],
});

const backup = config.heartbeats[0] as (typeof config.heartbeats)[number];

class Crash extends Error {}

/** One durable table shared by the "processes"; `crashOn` kills the next matching write. */
const table = () => {
  const rows = new Map<string, string>();
  let crashOn:
    | ((state: StoredHeartbeatState) => 'after-write' | 'before-write' | undefined)
    | undefined;
  const store: HeartbeatStore = {
    get: async (key) => {
      const row = rows.get(key);
      return row === undefined ? undefined : (JSON.parse(row) as StoredHeartbeatState);
    },
    putIfVersion: async (state, expected) => {
      const row = rows.get(state.key);
      const version = row === undefined ? 0 : (JSON.parse(row) as StoredHeartbeatState).version;
      if (version !== expected) return false;
      const crash = crashOn?.(state);
      if (crash) crashOn = undefined;
      if (crash === 'before-write') throw new Crash('killed before the write');
      rows.set(state.key, JSON.stringify(state));
      if (crash === 'after-write') throw new Crash('killed after the write');
      return true;
    },
  };
  return {
    store,
    rows,
    crash: (when: typeof crashOn) => {
      crashOn = when;
    },
  };
};

/** A process: its own publisher and clock over the shared table. */
const processOn = (store: HeartbeatStore, at: number) => {
  const published: VigilEvent[] = [];
  let n = 0;
  const deps: HeartbeatDeps = {
    config,
    store,
    publisher: {
      publish: async (events) => {
        published.push(...events);
      },
    },
    clock: { now: () => new Date(at) },
    location: 'test',
    newId: () => `corr-${at}-${++n}`,
  };
  const errors: unknown[] = [];
  return {
    deps,
    published,
    errors,
    evaluate: () => evaluateHeartbeats(deps, (_h, e) => errors.push(e)),
  };
};

const outcomes = (events: VigilEvent[]) =>
  events.map((e) => (e.detail as { outcome: string }).outcome);

describe('heartbeat results survive a crash (outbox)', () => {
  it('a result saved by a process killed before publishing is published once by the next', async () => {
    // Prepare: first seen at T0; the process evaluating at T0+2 min dies right after saving.
    const t = table();
    await processOn(t.store, T0).evaluate();
    t.crash((s) => (s.missedExpectedAt ? 'after-write' : undefined));
    const dying = processOn(t.store, T0 + 120_000);
    await dying.evaluate();

    // Act: a new process (a new Lambda, a restart) evaluates, twice.
    const next = processOn(t.store, T0 + 120_000);
    await next.evaluate();
    await next.evaluate();

    // Assess: the missed run reached the bus exactly once, and nothing is left pending.
    expect(dying.errors[0]).toBeInstanceOf(Crash);
    expect(dying.published).toEqual([]);
    expect(outcomes(next.published)).toEqual(['missed']);
    expect(next.errors).toEqual([]);
    expect(await t.store.get('shop/backup')).not.toHaveProperty('pending');
  });

  it('the next ping publishes a pending result first, then its own', async () => {
    // Prepare
    const t = table();
    await processOn(t.store, T0).evaluate();
    t.crash((s) => (s.missedExpectedAt ? 'after-write' : undefined));
    await processOn(t.store, T0 + 120_000).evaluate();

    // Act
    const job = processOn(t.store, T0 + 130_000);
    const answer = await recordPing(job.deps, backup, { kind: 'success' });

    // Assess
    expect(outcomes(job.published)).toEqual(['missed', 'ok']);
    expect(answer.outcome).toBe('ok');
    expect(await t.store.get('shop/backup')).not.toHaveProperty('pending');
  });

  it('a result published again (killed before clearing it) is applied once by the alerts', async () => {
    // Prepare: the process publishes the missed run, then dies before clearing it.
    const t = table();
    await processOn(t.store, T0).evaluate();
    t.crash((s) => (s.pending === undefined && s.missedExpectedAt ? 'before-write' : undefined));
    const dying = processOn(t.store, T0 + 120_000);
    await dying.evaluate();

    // Act
    const next = processOn(t.store, T0 + 120_000);
    await next.evaluate();

    // Assess: the same event twice (same time, same correlation id), one observation.
    const events = [...dying.published, ...next.published];
    expect(outcomes(events)).toEqual(['missed', 'missed']);
    expect(events[1]).toEqual(events[0]);
    const policy = { failureThreshold: 1, recoveryThreshold: 1, repeatMinutes: 0 };
    let state: AlertState | undefined;
    const notified: string[] = [];
    for (const [i, e] of events.entries()) {
      const obs = observationFromEvent(e as never, `bus-event-${i}`, config);
      if (!obs) throw new Error('no observation');
      const step = advance(state, obs, policy, new Date(T0 + 160_000));
      if (step.notify) notified.push(step.notify);
      state = step.next;
    }
    expect(notified).toEqual(['FIRING']);
    expect(state?.consecutiveFailures).toBe(1);
  });

  it('reads a state stored before the outbox (no pending field) as nothing pending', async () => {
    // Prepare: a record as an older deployment wrote it.
    const t = table();
    t.rows.set(
      'shop/backup',
      JSON.stringify({ key: 'shop/backup', since: new Date(T0).toISOString(), version: 3 }),
    );

    // Act
    const p = processOn(t.store, T0 + 120_000);
    await p.evaluate();

    // Assess
    expect(outcomes(p.published)).toEqual(['missed']);
    expect(await t.store.get('shop/backup')).toMatchObject({
      missedExpectedAt: new Date(T0 + 60_000).toISOString(),
    });
    expect(await t.store.get('shop/backup')).not.toHaveProperty('pending');
  });
});
