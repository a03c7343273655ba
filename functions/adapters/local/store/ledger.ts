import type { LedgerClaim, RunLedger } from '../../../core/ports';
import { parseRecord, type StoreDb } from './database';
import type { EventLog } from './event-log';

interface Row {
  fingerprint: string;
  response: string | null;
}

/**
 * The run ledger in the store. Completed runs are rows; claims in progress live in memory only:
 * one process owns the data directory, and a claim dies with the process that made it, so a
 * restart never answers 409 for a run nobody is ingesting, and a full disk cannot strand one.
 * `commit` writes the run's events into the event log and its completed entry in ONE
 * transaction (an outbox): a run is acknowledged with its events or not recorded at all.
 */
export class SqliteRunLedger implements RunLedger {
  readonly #db: StoreDb;
  /** Claims in progress: key -> fingerprint. */
  readonly #claims = new Map<string, string>();
  /**
   * The outbox, when the ledger is given the event log the runs' events go to (the local
   * runtime): the events and the completed entry in one transaction.
   */
  readonly commit?: RunLedger['commit'];

  constructor(db: StoreDb, log?: EventLog) {
    this.#db = db;
    if (log)
      this.commit = async (key, fingerprint, response, events) => {
        await this.#db.batch(() => {
          log.append(events);
          this.#done(key, fingerprint, response);
        });
        this.#claims.delete(key);
        log.notify();
      };
  }

  async claim(key: string, fingerprint: string): Promise<LedgerClaim> {
    const row = this.#db.q(`SELECT fingerprint, response FROM ledger WHERE key = ?`).get(key) as
      | Row
      | undefined;
    if (row) {
      if (row.fingerprint !== fingerprint)
        return { state: 'conflict', reason: 'different_content' };
      const response = parseRecord(row.response, `ledger ${key}`);
      // A corrupt entry is as good as none: the run is ingested again (it overwrites it).
      if (response !== undefined) return { state: 'duplicate', response };
    }
    const claimed = this.#claims.get(key);
    if (claimed !== undefined)
      return {
        state: 'conflict',
        reason: claimed === fingerprint ? 'in_progress' : 'different_content',
      };
    this.#claims.set(key, fingerprint);
    return { state: 'new' };
  }

  async complete(key: string, fingerprint: string, response: unknown): Promise<void> {
    await this.#db.batch(() => this.#done(key, fingerprint, response));
    this.#claims.delete(key);
  }

  async release(key: string): Promise<void> {
    this.#claims.delete(key);
  }

  #done(key: string, fingerprint: string, response: unknown): void {
    this.#db
      .q(
        `INSERT INTO ledger (key, fingerprint, done_at, response) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint,
         done_at = excluded.done_at, response = excluded.response`,
      )
      .run(key, fingerprint, Date.now(), JSON.stringify(response));
  }
}
