import { randomUUID } from 'node:crypto';
import { assertEventFits, eventBytes } from '../../../core/event-size';
import type { BusEvent, VigilEvent } from '../../../core/events';
import { parseRecord, type StoreDb } from './database';

/**
 * The local bus's durable queue: every published event gets a sequence number in `events`;
 * each subscriber keeps a cursor (every event up to it is done: delivered, not for it, or
 * dead-lettered) and, above its cursor, the events it finished out of order (`acks`). A
 * subscriber's progress is written only after its handler returned, so after a crash every
 * event is delivered again unless it was finished: at least once.
 */

export interface StoredEvent {
  seq: number;
  /** Undefined when the stored record is corrupt (reported and skipped). */
  event: BusEvent | undefined;
}

export interface DeadLetterRecord {
  subscriber: string;
  seq: number | null;
  at: string;
  error: string;
  event: BusEvent | undefined;
}

/** A Vigil event as EventBridge delivers it. */
export const toBusEvent = (e: VigilEvent, now = new Date()): BusEvent => ({
  version: '0',
  id: randomUUID(),
  source: e.source,
  account: '000000000000',
  time: now.toISOString(),
  region: 'local',
  resources: [],
  'detail-type': e.detailType,
  detail: e.detail,
});

export class EventLog {
  readonly #db: StoreDb;
  readonly #listeners = new Set<() => void>();

  constructor(db: StoreDb) {
    this.#db = db;
  }

  /**
   * Inserts the events (call inside a transaction or batch); returns them as delivered. Refuses
   * them all, as EventBridge would, when one is over its size limit (`assertEventFits`).
   */
  append(events: VigilEvent[]): BusEvent[] {
    const now = new Date();
    const bus = events.map((e) => toBusEvent(e, now));
    const bodies = events.map((e, i) => {
      const detail = JSON.stringify(e.detail);
      assertEventFits(i, e.source, e.detailType, eventBytes(e.source, e.detailType, detail));
      // The detail is serialized once: spliced into the envelope, where `detail` comes last.
      return `${JSON.stringify({ ...bus[i], detail: null }).slice(0, -'null}'.length)}${detail}}`;
    });
    const insert = this.#db.q('INSERT INTO events (body) VALUES (?)');
    for (const body of bodies) insert.run(body);
    return bus;
  }

  /** Publishes in its own transaction, then wakes the subscribers. */
  async publish(events: VigilEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#db.batch(() => this.append(events));
    this.notify();
  }

  /** Tell the subscribers (in this thread) that events were committed. */
  notify(): void {
    for (const l of this.#listeners) l();
  }

  onAppend(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Events after `seq`, oldest first. */
  after(seq: number, limit: number): StoredEvent[] {
    const rows = this.#db
      .q('SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(seq, limit) as { seq: number; body: string }[];
    return rows.map((r) => ({
      seq: r.seq,
      event: parseRecord<BusEvent>(r.body, `event ${r.seq}`),
    }));
  }

  lastSeq(): number {
    return (this.#db.q('SELECT max(seq) AS s FROM events').get() as { s: number | null }).s ?? 0;
  }

  /** A subscriber's cursor and its acknowledgements above it. */
  progress(subscriber: string): { cursor: number; acked: Set<number> } {
    const row = this.#db.q('SELECT seq FROM cursors WHERE subscriber = ?').get(subscriber) as
      | { seq: number }
      | undefined;
    const acked = this.#db.q('SELECT seq FROM acks WHERE subscriber = ?').all(subscriber) as {
      seq: number;
    }[];
    return { cursor: row?.seq ?? 0, acked: new Set(acked.map((a) => a.seq)) };
  }

  /** Records progress (inside a batch): the new cursor and what was finished above it. */
  saveProgress(subscriber: string, cursor: number, doneAbove: Iterable<number>): void {
    this.#db
      .q(
        'INSERT INTO cursors (subscriber, seq) VALUES (?, ?) ON CONFLICT (subscriber) DO UPDATE SET seq = excluded.seq',
      )
      .run(subscriber, cursor);
    const ack = this.#db.q('INSERT OR IGNORE INTO acks (subscriber, seq) VALUES (?, ?)');
    for (const seq of doneAbove) ack.run(subscriber, seq);
    this.#db.q('DELETE FROM acks WHERE subscriber = ? AND seq <= ?').run(subscriber, cursor);
  }

  deadLetter(subscriber: string, seq: number | null, error: string, event: unknown): void {
    this.#db
      .q('INSERT INTO dead_letters (subscriber, seq, at, error, body) VALUES (?, ?, ?, ?, ?)')
      .run(subscriber, seq, new Date().toISOString(), error, JSON.stringify(event ?? null));
  }

  deadLetters(): DeadLetterRecord[] {
    const rows = this.#db
      .q('SELECT subscriber, seq, at, error, body FROM dead_letters ORDER BY id')
      .all() as {
      subscriber: string;
      seq: number | null;
      at: string;
      error: string;
      body: string;
    }[];
    return rows.map(({ body, ...r }) => ({
      ...r,
      event: parseRecord<BusEvent>(body, `dead letter of ${r.subscriber}`),
    }));
  }

  /** Every stored event, oldest first (tests, verification, export). */
  all(): BusEvent[] {
    return this.after(0, Number.MAX_SAFE_INTEGER)
      .map((r) => r.event)
      .filter((e): e is BusEvent => e !== undefined);
  }

  /** The time of the newest event (epoch ms); undefined when there is none or it is unreadable. */
  newestTime(): number | undefined {
    const row = this.#db
      .q(
        `SELECT CASE WHEN json_valid(body) THEN json_extract(body, '$.time') END AS t
         FROM events ORDER BY seq DESC LIMIT 1`,
      )
      .get() as { t: unknown } | undefined;
    const ms = typeof row?.t === 'string' ? Date.parse(row.t) : Number.NaN;
    return Number.isFinite(ms) ? ms : undefined;
  }

  /**
   * Drops events every subscriber is past and that are older than `olderThanMs` (epoch ms).
   * Returns how many went.
   */
  prune(olderThanMs: number): number {
    const min = this.#db.q('SELECT min(seq) AS s FROM cursors').get() as { s: number | null };
    if (min.s === null) return 0;
    const cutoff = new Date(olderThanMs).toISOString();
    return this.#db
      .q(
        `DELETE FROM events WHERE seq <= ?
         AND (CASE WHEN json_valid(body) THEN json_extract(body, '$.time') ELSE '' END) < ?`,
      )
      .run(min.s, cutoff).changes;
  }
}
