import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoAlertStore } from '../../functions/adapters/aws/dynamodb-alert-store';
import { LocalStore } from '../../functions/adapters/local/store';
import { buildNotification } from '../../functions/core/alerts/messages';
import {
  type AlertStateStore,
  listAlerts,
  processObservation,
} from '../../functions/core/alerts/service';
import type { AlertState, Observation } from '../../functions/core/alerts/state';
import type { AlertNotification } from '../../functions/core/events';
import { childEnv } from '../helpers/child-env';
import { createAlertTable, type MotoServer, motoAvailable, startMoto } from '../helpers/moto';
import { bundleModule } from '../helpers/vigil-process';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const stateFor = (checkKey: string, version: number, failures = 0): AlertState => ({
  checkKey,
  status: failures > 0 ? 'PENDING' : 'OK',
  consecutiveFailures: failures,
  consecutiveSuccesses: 0,
  recentObservationIds: [],
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: 'Probe checkout-api',
  correlationId: 'corr',
  tags: [],
  outbox: [],
  version,
  updatedAt: '2026-11-25T10:00:00.000Z',
});

let seq = 0;
const failing = (checkKey: string, minute: number): Observation => ({
  id: `evt-${++seq}`,
  checkKey,
  ok: false,
  at: new Date(Date.parse('2026-11-25T10:00:00.000Z') + minute * 60_000).toISOString(),
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: 'Probe checkout-api',
  error: 'status: expected 200, got 503',
  correlationId: `corr-${seq}`,
  policy: { failureThreshold: 2, recoveryThreshold: 1 },
  tags: [],
  probe: 'checkout-api',
});

/**
 * Holds the first `n` reads until all `n` have been issued, so that `n` concurrent
 * read-apply-write rounds all start from the same version (a guaranteed race).
 */
const racing = (store: AlertStateStore, n: number): AlertStateStore => {
  let waiting = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  return {
    get: async (key) => {
      const state = await store.get(key);
      if (waiting < n) {
        waiting++;
        if (waiting === n) release();
        await gate;
      }
      return state;
    },
    putIfVersion: (s, v) => store.putIfVersion(s, v),
    appendHistory: (x) => store.appendHistory(x),
    list: (o) => store.list(o),
  };
};

const clock = { now: () => new Date('2026-11-25T10:05:00.000Z') };

/** The same contract, run against each store. */
const contract = (name: string, makeStore: () => Promise<AlertStateStore>) => {
  describe(`${name}: AlertStateStore contract`, () => {
    it('lets exactly one of two conflicting writes win', async () => {
      // Prepare
      const store = await makeStore();
      const key = `probe:shop/race-${++seq}`;

      // Act
      const results = await Promise.all([
        store.putIfVersion(stateFor(key, 1, 1), 0),
        store.putIfVersion(stateFor(key, 1, 2), 0),
      ]);
      const stale = await store.putIfVersion(stateFor(key, 2, 3), 0);
      const current = await store.get(key);
      const next = await store.putIfVersion(stateFor(key, 2, 9), 1);

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(stale).toBe(false);
      expect(current?.version).toBe(1);
      expect(next).toBe(true);
      expect((await store.get(key))?.consecutiveFailures).toBe(9);
    });

    it('makes the loser of a race re-read and re-apply: both failures count, one FIRING', async () => {
      // Prepare
      const store = await makeStore();
      const key = `probe:shop/burst-${++seq}`;
      const sent: AlertNotification[] = [];
      const deps = {
        store: racing(store, 2),
        dispatch: async (n: AlertNotification) => {
          sent.push(n);
        },
        clock,
        maintenance: [],
        repeatMinutes: 60,
      };

      // Act
      const results = await Promise.all([
        processObservation(failing(key, 0), deps),
        processObservation(failing(key, 0), deps),
      ]);
      const stored = await store.get(key);

      // Assess
      expect(results.map((r) => r.attempts).sort()).toEqual([1, 2]);
      expect(stored).toMatchObject({ status: 'FIRING', consecutiveFailures: 2, outbox: [] });
      expect(sent.map((n) => n.kind)).toEqual(['FIRING']);
    });

    it('lists checks that are not OK, and the history newest first', async () => {
      // Prepare
      const store = await makeStore();
      const firingKey = `probe:shop/listed-${++seq}`;
      const okKey = `probe:shop/fine-${seq}`;
      await store.putIfVersion(stateFor(okKey, 1), 0);
      const deps = {
        store,
        dispatch: async () => undefined,
        clock,
        maintenance: [],
        repeatMinutes: 60,
      };
      await processObservation(failing(firingKey, 0), deps);
      await processObservation(failing(firingKey, 1), deps);
      await processObservation(failing(firingKey, 70), deps);

      // Act
      const view = await listAlerts(store, { clock });

      // Assess
      const mine = view.active.filter((a) => a.checkKey === firingKey || a.checkKey === okKey);
      expect(mine).toEqual([
        expect.objectContaining({ checkKey: firingKey, status: 'FIRING', consecutiveFailures: 3 }),
      ]);
      const history = view.history.filter((n) => n.checkKey === firingKey);
      expect(history.map((n) => n.kind)).toEqual(['REMINDER', 'FIRING']);
    });
  });
};

describe('processObservation against a contended or failing store', () => {
  const memory = (): AlertStateStore & { states: Map<string, AlertState> } => {
    const states = new Map<string, AlertState>();
    return {
      states,
      get: async (k) => states.get(k),
      putIfVersion: async (s, v) => {
        if ((states.get(s.checkKey)?.version ?? 0) !== v) return false;
        states.set(s.checkKey, s);
        return true;
      },
      appendHistory: async () => undefined,
      list: async () => ({
        active: [...states.values()].filter((s) => s.status !== 'OK'),
        history: [],
      }),
    };
  };

  it('gives up with a conflict error after the bounded number of attempts', async () => {
    // Prepare
    const store = { ...memory(), putIfVersion: async () => false };

    // Act
    const act = processObservation(failing('probe:shop/hot', 0), {
      store,
      dispatch: async () => undefined,
      clock,
      maintenance: [],
      repeatMinutes: 60,
      maxAttempts: 3,
    });

    // Assess
    await expect(act).rejects.toThrow(
      "alert state for 'probe:shop/hot' kept changing under us (3 attempts); try again",
    );
  });

  it('reports a failing history without failing the alert', async () => {
    // Prepare
    const store = {
      ...memory(),
      appendHistory: async () => {
        throw new Error('disk full');
      },
    };
    const historyErrors: string[] = [];
    const sent: string[] = [];
    const deps = {
      store,
      dispatch: async (n: AlertNotification) => {
        sent.push(n.kind);
      },
      clock,
      maintenance: [],
      repeatMinutes: 60,
      onHistoryError: (e: unknown) => historyErrors.push(String(e)),
    };

    // Act
    await processObservation(failing('probe:shop/h', 0), deps);
    const result = await processObservation(failing('probe:shop/h', 1), deps);

    // Assess
    expect(sent).toEqual(['FIRING']);
    expect(result.sent.map((n) => n.kind)).toEqual(['FIRING']);
    expect(historyErrors).toEqual(['Error: disk full']);
  });

  it('clears the outbox even when another writer moved the state on in between', async () => {
    // Prepare
    const store = memory();
    const key = 'probe:shop/moved';
    const deps = {
      store,
      dispatch: async () => {
        // Another invocation writes a newer version while we dispatch.
        const cur = store.states.get(key);
        if (cur) store.states.set(key, { ...cur, version: cur.version + 1, lastError: 'newer' });
      },
      clock,
      maintenance: [],
      repeatMinutes: 60,
    };
    await processObservation(failing(key, 0), deps);

    // Act
    const result = await processObservation(failing(key, 1), deps);

    // Assess
    expect(result.sent.map((n) => n.kind)).toEqual(['FIRING']);
    expect(store.states.get(key)).toMatchObject({ outbox: [], lastError: 'newer' });
    expect(result.state.outbox).toEqual([]);
  });

  it('lists firing alerts before pending ones, oldest incident first', async () => {
    // Prepare
    const store = memory();
    const put = (key: string, status: AlertState['status'], since: string) =>
      store.putIfVersion({ ...stateFor(key, 1, 1), status, since }, 0);
    await put('probe:shop/p', 'PENDING', '2026-11-25T09:00:00.000Z');
    await put('probe:shop/f2', 'FIRING', '2026-11-25T10:00:00.000Z');
    await put('probe:shop/f1', 'FIRING', '2026-11-25T09:30:00.000Z');
    await put('probe:shop/ok', 'OK', '2026-11-25T08:00:00.000Z');

    // Act
    const view = await listAlerts(store, { clock, maintenance: [] });

    // Assess
    expect(view.active.map((a) => a.checkKey)).toEqual([
      'probe:shop/f1',
      'probe:shop/f2',
      'probe:shop/p',
    ]);
    expect(view.generatedAt).toBe('2026-11-25T10:05:00.000Z');
    expect(view.active[0]?.suppressedBy).toBeUndefined();
  });
});

// The embedded store ------------------------------------------------------------------------

contract(
  'SqliteAlertStore',
  async () => LocalStore.open(await mkdtemp(join(tmpdir(), 'vigil-as-'))).alerts,
);

describe('SqliteAlertStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-as-'));
  });

  it('is a compare-and-swap for writers racing on one check', async () => {
    // Prepare
    const store = LocalStore.open(dir);
    const key = 'probe:shop/two-writers';

    // Act
    const results = await Promise.all([
      store.alerts.putIfVersion(stateFor(key, 1, 1), 0),
      store.alerts.putIfVersion(stateFor(key, 1, 2), 0),
    ]);

    // Assess
    expect(results).toEqual([true, false]);
    expect((await store.alerts.get(key))?.consecutiveFailures).toBe(1);
    store.close();
  });

  it('keeps fields it does not know, and skips a corrupt state in listings', async () => {
    // Prepare
    const store = LocalStore.open(dir);
    const extra = { ...stateFor('probe:shop/a', 1, 1), unknownField: { slack: 'pending' } };
    await store.alerts.putIfVersion(extra, 0);
    await store.alerts.putIfVersion(stateFor('probe:shop/b', 1, 1), 0);
    store.db.q(`UPDATE alert_state SET body = '{"torn' WHERE check_key = 'probe:shop/b'`).run();

    // Act
    const listed = await store.alerts.list();
    const corrupt = await store.alerts.get('probe:shop/b');
    store.close();

    // Assess
    expect(listed.active).toEqual([extra]);
    expect(corrupt).toBeUndefined();
  });

  it('hands what a dead process was sending back to the outbox when it opens', async () => {
    // Prepare: a FIRING claimed for sending (a lease of minutes), then the process dies
    const first = LocalStore.open(dir);
    const firing = buildNotification('FIRING', {
      ...stateFor('probe:shop/sending', 1, 2),
      status: 'FIRING',
      incidentId: 'inc-1',
      since: '2026-11-25T10:00:00.000Z',
    });
    const sending: AlertState = {
      ...stateFor('probe:shop/sending', 3, 2),
      status: 'FIRING',
      sending: { notifications: [firing], until: '2999-01-01T00:00:00.000Z' },
    };
    await first.alerts.putIfVersion(sending, 0);
    first.close();

    // Act
    const restarted = LocalStore.open(dir);
    const state = await restarted.alerts.get('probe:shop/sending');
    restarted.close();

    // Assess
    expect(state?.sending).toBeUndefined();
    expect(state?.outbox).toEqual([firing]);
    expect(state?.version).toBe(4);
  });

  it('loses no update when several connections increment the same check at once', async () => {
    // Prepare
    const workers = 2;
    const increments = 30;
    // One bundle (no tsx loader in the children): each starts in a fraction of the CPU.
    const script = await bundleModule(
      'alert-store-worker',
      `import { LocalStore } from './functions/adapters/local/store';
const [dataDir, key, count] = process.argv.slice(2) as [string, string, string];
// Connections of one owner (as the pipeline's worker thread is): no data dir lock.
const store = LocalStore.open(dataDir, { lock: false }).alerts;
let conflicts = 0;
for (let i = 0; i < Number(count); i++) {
  for (;;) {
    const cur = await store.get(key);
    const base = cur ?? ${JSON.stringify(stateFor('probe:shop/multi', 0))};
    const next = { ...base, consecutiveFailures: base.consecutiveFailures + 1, version: base.version + 1 };
    if (await store.putIfVersion(next, base.version)) break;
    conflicts++;
  }
}
process.stdout.write(String(conflicts));
`,
    );
    const run = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [script, dir, 'probe:shop/multi', String(increments)],
          { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString();
        });
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0 ? resolve(Number(out)) : reject(new Error(`worker exited ${code}: ${err}`)),
        );
      });

    // Act
    const conflicts = await Promise.all(Array.from({ length: workers }, run));
    const final = await LocalStore.open(dir).alerts.get('probe:shop/multi');

    // Assess
    expect(final?.consecutiveFailures).toBe(workers * increments);
    expect(final?.version).toBe(workers * increments);
    expect(conflicts.every((c) => Number.isInteger(c))).toBe(true);
  });

  it('keeps a bounded history', async () => {
    // Prepare
    const { alerts: store } = LocalStore.open(dir, { alertHistoryLimit: 5 });
    const base = buildNotification('FIRING', {
      ...stateFor('probe:shop/h', 1, 2),
      status: 'FIRING',
      incidentId: 'inc-1',
      since: '2026-11-25T10:00:00.000Z',
    });

    // Act
    for (let i = 0; i < 8; i++)
      await store.appendHistory({ ...base, at: `2026-11-25T10:0${i}:00.000Z` });
    const { history } = await store.list();

    // Assess
    expect(history.map((n) => n.at.slice(11, 16))).toEqual([
      '10:07',
      '10:06',
      '10:05',
      '10:04',
      '10:03',
    ]);
  });

  it('lists nothing for a fresh data dir', async () => {
    // Prepare
    const { alerts: store } = LocalStore.open(dir);

    // Act
    const listed = await store.list();

    // Assess
    expect(listed).toEqual({ active: [], history: [] });
  });
});

// DynamoDB on moto --------------------------------------------------------------------------

const TABLE = 'vigil-alerts-test';
let moto: MotoServer;
let dynamo: DynamoDBClient;
const withMoto = motoAvailable('DynamoAlertStore (alert-store.test.ts)');

beforeAll(async () => {
  if (!withMoto) return;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  moto = await startMoto();
  dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: moto.endpoint });
  await createAlertTable(dynamo, TABLE);
});

afterAll(async () => {
  dynamo?.destroy();
  await moto?.stop();
});

describe.skipIf(!withMoto)('on moto', () =>
  contract(
    'DynamoAlertStore (moto)',
    async () => new DynamoAlertStore({ table: TABLE, client: dynamo }),
  ),
);

describe.skipIf(!withMoto)('DynamoAlertStore (moto)', () => {
  it('gives history items a TTL and returns undefined for an unknown check', async () => {
    // Prepare
    const now = Date.parse('2026-11-25T10:00:00.000Z');
    const store = new DynamoAlertStore({
      table: TABLE,
      client: dynamo,
      historyTtlDays: 1,
      now: () => now,
    });
    const n = buildNotification('FIRING', {
      ...stateFor('probe:shop/ttl', 1, 2),
      status: 'FIRING',
      incidentId: 'inc-ttl',
      since: '2026-11-25T09:00:00.000Z',
      lastObservedAt: '2099-01-01T00:00:00.000Z',
    });

    // Act
    await store.appendHistory(n);
    const { history } = await store.list({ historyLimit: 1 });
    const missing = await store.get('probe:shop/never-seen');

    // Assess
    expect(history).toEqual([n]);
    expect(missing).toBeUndefined();
  });
});
