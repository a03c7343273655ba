import { hasPendingWork } from '../../../core/alerts/delivery';
import type { AlertStateStore } from '../../../core/alerts/service';
import type { AlertState } from '../../../core/alerts/state';
import type { AlertNotification } from '../../../core/events';
import { parseRecord, type StoreDb, storedVersion } from './database';

/**
 * Alert state and history in the embedded store. A check's state is one JSON document (so
 * fields added to `AlertState` are kept as they are) written with a version check in one
 * transaction: a compare-and-swap. The history keeps the newest `historyLimit` notifications.
 */
export class SqliteAlertStore implements AlertStateStore {
  readonly #db: StoreDb;
  readonly #historyLimit: number;

  constructor(db: StoreDb, opts: { historyLimit?: number } = {}) {
    this.#db = db;
    this.#historyLimit = opts.historyLimit ?? 200;
  }

  /**
   * A previous process may have died while sending: its claim on the outbox (`sending`) and its
   * leases on channel deliveries (`leaseUntil`) would hold for minutes. Under the data dir lock
   * that sender is known to be gone, so its notifications go back to the outbox and its
   * deliveries are due again at once. Call at open, under the lock.
   */
  static releaseSenders(db: StoreDb): number {
    const rows = db
      .q(
        `SELECT check_key, body FROM alert_state WHERE json_valid(body) AND (
           json_extract(body, '$.sending') IS NOT NULL OR body LIKE '%"leaseUntil"%')`,
      )
      .all() as { check_key: string; body: string }[];
    const update = db.q('UPDATE alert_state SET version = ?, body = ? WHERE check_key = ?');
    for (const row of rows) {
      const state = JSON.parse(row.body) as AlertState;
      const { sending, ...rest } = state;
      const next: AlertState = {
        ...rest,
        outbox: [...(sending?.notifications ?? []), ...state.outbox],
        ...(state.deliveries
          ? { deliveries: state.deliveries.map(({ leaseUntil: _gone, ...d }) => d) }
          : {}),
        version: state.version + 1,
      };
      update.run(next.version, JSON.stringify(next), row.check_key);
    }
    return rows.length;
  }

  async get(checkKey: string): Promise<AlertState | undefined> {
    const row = this.#db.q('SELECT body FROM alert_state WHERE check_key = ?').get(checkKey) as
      | { body: string }
      | undefined;
    return row ? parseRecord<AlertState>(row.body, `alert state ${checkKey}`) : undefined;
  }

  putIfVersion(state: AlertState, expectedVersion: number): Promise<boolean> {
    const body = JSON.stringify(state);
    return this.#db.batch(() => {
      const row = this.#db
        .q('SELECT version, body FROM alert_state WHERE check_key = ?')
        .get(state.checkKey) as { version: number; body: string } | undefined;
      // A corrupt state reads as none (`get`): the write replaces it.
      if (storedVersion(row, `alert state ${state.checkKey}`) !== expectedVersion) return false;
      this.#db
        .q(
          `INSERT INTO alert_state (check_key, version, status, body) VALUES (?, ?, ?, ?)
           ON CONFLICT (check_key) DO UPDATE SET version = excluded.version,
           status = excluded.status, body = excluded.body`,
        )
        .run(state.checkKey, state.version, state.status, body);
      return true;
    });
  }

  async appendHistory(notification: AlertNotification): Promise<void> {
    const body = JSON.stringify(notification);
    await this.#db.batch(() => {
      const { seq } = this.#db
        .q('INSERT INTO alert_history (body) VALUES (?) RETURNING seq')
        .get(body) as { seq: number };
      this.#db.q('DELETE FROM alert_history WHERE seq <= ?').run(seq - this.#historyLimit);
    });
  }

  async list(
    opts: { historyLimit?: number } = {},
  ): Promise<{ active: AlertState[]; history: AlertNotification[] }> {
    const states = this.#db
      .q('SELECT check_key, body FROM alert_state ORDER BY check_key')
      .all() as { check_key: string; body: string }[];
    const history = this.#db
      .q('SELECT seq, body FROM alert_history ORDER BY seq DESC LIMIT ?')
      .all(opts.historyLimit ?? this.#historyLimit) as { seq: number; body: string }[];
    return {
      active: states
        .map((r) => parseRecord<AlertState>(r.body, `alert state ${r.check_key}`))
        // An OK check is listed while a delivery of it is pending, so a restart resumes it.
        .filter(
          (s): s is AlertState =>
            s !== undefined &&
            (s.status !== 'OK' || hasPendingWork(s) || (s.deliveries?.length ?? 0) > 0),
        ),
      history: history
        .map((r) => parseRecord<AlertNotification>(r.body, `alert history ${r.seq}`))
        .filter((n): n is AlertNotification => n !== undefined),
    };
  }
}
