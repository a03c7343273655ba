import type { AlertStateStore } from '../../../core/alerts/service';
import type { AlertState } from '../../../core/alerts/state';
import type { AlertNotification } from '../../../core/events';
import { parseRecord, type StoreDb } from './database';

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
   * A previous process may have died while sending (its claim on the outbox, `sending`, holds a
   * lease that would run for minutes): that sender is gone, so its notifications go back to the
   * outbox at once, to be sent by the next delivery. Call at open, under the data dir lock.
   */
  static releaseSenders(db: StoreDb): number {
    const rows = db
      .q(
        `SELECT check_key, body FROM alert_state WHERE json_valid(body) AND json_extract(body, '$.sending') IS NOT NULL`,
      )
      .all() as { check_key: string; body: string }[];
    const update = db.q('UPDATE alert_state SET version = ?, body = ? WHERE check_key = ?');
    for (const row of rows) {
      const state = JSON.parse(row.body) as AlertState;
      const { sending, ...rest } = state;
      const next: AlertState = {
        ...rest,
        outbox: [...(sending?.notifications ?? []), ...state.outbox],
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
        .q('SELECT version FROM alert_state WHERE check_key = ?')
        .get(state.checkKey) as { version: number } | undefined;
      if ((row?.version ?? 0) !== expectedVersion) return false;
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
      .q(`SELECT check_key, body FROM alert_state WHERE status != 'OK' ORDER BY check_key`)
      .all() as { check_key: string; body: string }[];
    const history = this.#db
      .q('SELECT seq, body FROM alert_history ORDER BY seq DESC LIMIT ?')
      .all(opts.historyLimit ?? this.#historyLimit) as { seq: number; body: string }[];
    return {
      active: states
        .map((r) => parseRecord<AlertState>(r.body, `alert state ${r.check_key}`))
        .filter((s): s is AlertState => s !== undefined),
      history: history
        .map((r) => parseRecord<AlertNotification>(r.body, `alert history ${r.seq}`))
        .filter((n): n is AlertNotification => n !== undefined),
    };
  }
}
