import type { HeartbeatState } from '../../../core/checks/heartbeat';
import type { HeartbeatStore } from '../../../core/checks/heartbeat-service';
import { parseRecord, type StoreDb, storedVersion } from './database';

/**
 * Heartbeat state in the embedded store: one JSON document per heartbeat, written with a
 * version check in one transaction (a compare-and-swap), so a restart keeps the last pings.
 */
export class SqliteHeartbeatStore implements HeartbeatStore {
  readonly #db: StoreDb;

  constructor(db: StoreDb) {
    this.#db = db;
  }

  async get(key: string): Promise<HeartbeatState | undefined> {
    const row = this.#db.q('SELECT body FROM heartbeat_state WHERE key = ?').get(key) as
      | { body: string }
      | undefined;
    return row ? parseRecord<HeartbeatState>(row.body, `heartbeat state ${key}`) : undefined;
  }

  putIfVersion(state: HeartbeatState, expectedVersion: number): Promise<boolean> {
    return this.#db.batch(() => {
      const row = this.#db
        .q('SELECT version, body FROM heartbeat_state WHERE key = ?')
        .get(state.key) as { version: number; body: string } | undefined;
      // A corrupt state reads as none (`get`): the write replaces it.
      if (storedVersion(row, `heartbeat state ${state.key}`) !== expectedVersion) return false;
      this.#db
        .q(
          `INSERT INTO heartbeat_state (key, version, body) VALUES (?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET version = excluded.version, body = excluded.body`,
        )
        .run(state.key, state.version, JSON.stringify(state));
      return true;
    });
  }
}
