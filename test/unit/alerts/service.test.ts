import { describe, expect, it } from 'vitest';
import {
  type AlertStateStore,
  processObservation,
  retireRemovedChecks,
  SEND_LEASE_MS,
} from '../../../functions/core/alerts/service';
import type { AlertState, Observation } from '../../../functions/core/alerts/state';
import { parseConfig } from '../../../functions/core/config';
import type { AlertNotification } from '../../../functions/core/events';

/** An in-memory store with the same version-checked writes as the real ones. */
class MemoryStore implements AlertStateStore {
  states = new Map<string, AlertState>();
  history: AlertNotification[] = [];
  async get(key: string) {
    const s = this.states.get(key);
    return s ? structuredClone(s) : undefined;
  }
  async putIfVersion(state: AlertState, expected: number) {
    await Promise.resolve(); // let concurrent invocations interleave
    if ((this.states.get(state.checkKey)?.version ?? 0) !== expected) return false;
    this.states.set(state.checkKey, structuredClone(state));
    return true;
  }
  async appendHistory(n: AlertNotification) {
    this.history.push(n);
  }
  async list() {
    return { active: [...this.states.values()], history: this.history };
  }
}

const obs = (id: string, ok: boolean, at: string): Observation => ({
  id,
  checkKey: 'tests:shop/unit/main',
  ok,
  at,
  source: 'tests',
  project: 'shop',
  severity: 'warning',
  title: 'Tests shop/unit on main',
  correlationId: `c-${id}`,
  policy: { failureThreshold: 1, recoveryThreshold: 1 },
  tags: [],
});

const setup = (
  dispatch: (n: AlertNotification) => Promise<void>,
  now = new Date('2026-11-25T10:00:00Z'),
) => {
  const store = new MemoryStore();
  const clock = { now: () => now };
  return { store, deps: { store, dispatch, clock, maintenance: [], repeatMinutes: 60 } };
};

describe('processObservation delivery', () => {
  it('sends one FIRING when the same event is delivered twice at once', async () => {
    // Prepare
    const sent: AlertNotification[] = [];
    const { deps } = setup(async (n) => {
      await new Promise((r) => setTimeout(r, 5));
      sent.push(n);
    });
    const event = obs('e1', false, '2026-11-25T09:59:00Z');
    // Act
    await Promise.all([
      processObservation(event, deps),
      processObservation(event, deps),
      processObservation(event, deps),
    ]);
    // Assess
    expect(sent.map((n) => n.kind)).toEqual(['FIRING']);
  });

  it('puts an unsent notification back when dispatch fails, and the retry sends it once', async () => {
    let fail = true;
    const sent: AlertNotification[] = [];
    const { deps, store } = setup(async (n) => {
      if (fail) throw new Error('SNS down');
      sent.push(n);
    });
    const event = obs('e1', false, '2026-11-25T09:59:00Z');
    await expect(
      processObservation(
        { ...event, dashboardPath: '#/run/shop/r1' },
        { ...deps, dashboardUrl: 'https://vigil.example.com' },
      ),
    ).rejects.toThrow('SNS down');
    // Kept with its link: whoever sends it later (a retry, local mode's timer) sends that.
    expect((await store.get(event.checkKey))?.outbox.map((n) => [n.kind, n.dashboardUrl])).toEqual([
      ['FIRING', 'https://vigil.example.com/#/run/shop/r1'],
    ]);
    fail = false;
    await processObservation(event, deps); // the Lambda retry of the same event
    await processObservation(event, deps);
    expect(sent.map((n) => n.kind)).toEqual(['FIRING']);
    expect((await store.get(event.checkKey))?.sending).toBeUndefined();
  });

  it('takes over a claim whose sender died once its lease has run out', async () => {
    // Prepare: a sender claimed the FIRING and never came back.
    const sent: AlertNotification[] = [];
    let now = new Date('2026-11-25T10:00:00Z');
    const store = new MemoryStore();
    const deps = {
      store,
      dispatch: async () => new Promise<void>(() => undefined),
      clock: { now: () => now },
      maintenance: [],
      repeatMinutes: 60,
    };
    const event = obs('e1', false, '2026-11-25T09:59:00Z');
    void processObservation(event, deps); // hangs in dispatch, holding the lease
    await new Promise((r) => setTimeout(r, 10));
    expect((await store.get(event.checkKey))?.sending?.notifications).toHaveLength(1);
    const live = { ...deps, dispatch: async (n: AlertNotification) => void sent.push(n) };
    // Act + Assess: within the lease, nobody else sends it; after it, the next invocation does.
    await processObservation(obs('e2', false, '2026-11-25T10:00:00Z'), live);
    expect(sent).toEqual([]);
    now = new Date(now.getTime() + SEND_LEASE_MS + 1);
    await processObservation(obs('e3', false, '2026-11-25T10:05:01Z'), live);
    expect(sent.map((n) => n.kind)).toEqual(['FIRING']);
  });
});

describe('retireRemovedChecks', () => {
  /** A probe check of project shop FIRING since 09:58 (two failures in a row). */
  const firing = async (deps: ReturnType<typeof setup>['deps'], name: string) => {
    for (const [i, at] of ['2026-11-25T09:58:00Z', '2026-11-25T09:59:00Z'].entries())
      await processObservation(
        {
          ...obs(`${name}-${i}`, false, at),
          checkKey: `probe:shop/${name}`,
          source: 'probe',
          title: `Probe ${name}`,
          probe: name,
          policy: { failureThreshold: 2, recoveryThreshold: 1 },
        },
        deps,
      );
  };
  const config = (maintenance: unknown[] = []) =>
    parseConfig({
      project: 'shop',
      probes: [{ name: 'kept', url: 'https://shop.example.com/' }],
      alerts: { maintenance },
    });

  it('closes each removed check once, however many instances run it at once', async () => {
    // Prepare: a removed and a kept probe FIRING, and a tests: check (not from the config)
    const sent: AlertNotification[] = [];
    const { deps, store } = setup(async (n) => {
      sent.push(n);
    });
    await firing(deps, 'gone');
    await firing(deps, 'kept');
    await processObservation(obs('t1', false, '2026-11-25T09:59:00Z'), deps);
    sent.length = 0;

    // Act
    const runs = await Promise.all([1, 2, 3].map(() => retireRemovedChecks(config(), deps)));

    // Assess
    expect(runs.flat()).toEqual(['probe:shop/gone']);
    expect(sent.map((n) => [n.kind, n.checkKey, n.reason])).toEqual([
      ['RESOLVED', 'probe:shop/gone', 'check removed from the configuration'],
    ]);
    expect((await store.get('probe:shop/kept'))?.status).toBe('FIRING');
    expect((await store.get('tests:shop/unit/main'))?.status).toBe('FIRING');
  });

  it('only records the RESOLVED of a check under a maintenance window', async () => {
    // Prepare
    const sent: AlertNotification[] = [];
    const { deps, store } = setup(async (n) => {
      sent.push(n);
    });
    await firing(deps, 'gone');
    sent.length = 0;
    const window = { probes: ['gone'], start: '2026-11-25T09:00:00Z', end: '2026-11-25T11:00:00Z' };
    const { alerts } = config([{ ...window, reason: 'move' }]);

    const announced: AlertNotification[] = [];

    // Act
    await retireRemovedChecks(config(), {
      ...deps,
      maintenance: alerts.maintenance,
      announce: async (n) => {
        announced.push(n);
      },
    });

    // Assess: no channel, but the incident's end is announced (the incident store closes it).
    expect(sent).toEqual([]);
    expect(store.history.at(-1)).toMatchObject({
      kind: 'RESOLVED',
      suppressedBy: expect.any(String),
    });
    expect(announced).toEqual([store.history.at(-1)]);
    expect((await store.get('probe:shop/gone'))?.status).toBe('OK');
  });
});

describe('a check that recovers inside a maintenance window', () => {
  it('sends no RESOLVED to the channels, but announces it, so its incident closes; a failing announce is reported', async () => {
    // Prepare: FIRING at 09:30 (sent), then a window from 10:00 to 11:00.
    const sent: AlertNotification[] = [];
    const announced: AlertNotification[] = [];
    const errors: unknown[] = [];
    const base = setup(async (n) => {
      sent.push(n);
    }, new Date('2026-11-25T09:30:00Z'));
    await processObservation(obs('1', false, '2026-11-25T09:30:00Z'), base.deps);
    expect(sent.map((n) => n.kind)).toEqual(['FIRING']);
    const deps = {
      ...base.deps,
      clock: { now: () => new Date('2026-11-25T10:30:00Z') },
      maintenance: [
        { probes: [], tags: [], start: '2026-11-25T10:00:00Z', end: '2026-11-25T11:00:00Z' },
      ],
      announce: async (n: AlertNotification) => {
        announced.push(n);
      },
      onHistoryError: (e: unknown) => errors.push(e),
    };

    // Act
    await processObservation(obs('2', true, '2026-11-25T10:30:00Z'), deps);

    // Assess
    expect(sent.map((n) => n.kind)).toEqual(['FIRING']);
    expect(announced).toEqual([
      expect.objectContaining({ kind: 'RESOLVED', suppressedBy: expect.any(String) }),
    ]);
    expect(errors).toEqual([]);
    // An incident that opened and ended inside the window was never announced: nor is its end.
    await processObservation(obs('3', false, '2026-11-25T10:31:00Z'), deps);
    await processObservation(obs('4', true, '2026-11-25T10:32:00Z'), deps);
    expect(announced).toHaveLength(1);
    // A bus that refuses it: reported as the history's failures are, never thrown.
    // (its FIRING sent, as if no window: the service without one)
    base.deps.clock = { now: () => new Date('2026-11-25T10:35:00Z') };
    await processObservation(obs('5', false, '2026-11-25T10:35:00Z'), base.deps);
    const refused = new Error('bus down');
    await processObservation(obs('6', true, '2026-11-25T10:40:00Z'), {
      ...deps,
      clock: { now: () => new Date('2026-11-25T10:40:00Z') },
      announce: async () => {
        throw refused;
      },
    });
    expect(errors).toEqual([refused]);
    expect(sent.map((n) => n.kind)).toEqual(['FIRING', 'FIRING']);
  });
});
