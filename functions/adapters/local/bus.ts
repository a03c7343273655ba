import type { BusEvent, EventPattern, VigilEvent } from '../../core/events';
import { matchesPattern } from '../../core/patterns';
import type { EventPublisher } from '../../core/ports';
import { logger } from '../../shared/powertools';
import type { Scoped } from './invocations';
import { type StoreDb, StoreUnavailable } from './store/database';
import type { EventLog } from './store/event-log';

export type Target = (event: BusEvent) => Promise<void>;

export interface SubscribeOptions {
  /**
   * Deliveries whose events share a group run one at a time, in publish order, a failing one
   * holding its group until it is delivered or dead-lettered (an SQS FIFO queue's message
   * groups); other groups, and events without one (undefined), run in parallel.
   */
  groupBy?: (event: BusEvent) => string | undefined;
}

interface Rule extends SubscribeOptions {
  name: string;
  pattern: EventPattern;
  target: Target;
  /** Per group: the end of its last delivery queued so far. */
  groups: Map<string, Promise<void>>;
  /** Everything up to here is done (persisted as the subscriber's cursor). */
  cursor: number;
  /** Read but not done yet. */
  open: Set<number>;
  /** Done above the cursor (finished out of order, or before a restart). */
  doneAbove: Set<number>;
  dirty: boolean;
}

export interface LocalBusOptions {
  db: StoreDb;
  log: EventLog;
  /** Delivery attempts per target before the event goes to the dead letters. */
  maxAttempts?: number;
  retryDelayMs?: number;
  /** Deliveries under way at most (the rest wait in the store). Default 64. */
  maxInFlight?: number;
  onDeliveryError?: (rule: string, event: BusEvent, error: unknown, attempt: number) => void;
  /** Told after an event went to the dead letters. */
  onDeadLetter?: (rule: string, event: BusEvent) => void;
  /** Runs each delivery in its own invocation scope (see invocations.ts). */
  scope?: Scoped;
  /**
   * Writes that must commit with the progress, run in each save's transaction before it: the
   * metric points whose own commit failed (`LocalMetricStore.writeFailed`). What it returns is
   * told whether that transaction committed.
   */
  withProgress?: () => ((committed: boolean) => void) | undefined;
}

const BATCH = 256;
/** The longest wait before a delivery neither finished nor dead-lettered is tried again. */
const MAX_STUCK_DELAY_MS = 10_000;

type Hooks = 'onDeliveryError' | 'onDeadLetter' | 'scope' | 'withProgress';

/**
 * The local event bus, with EventBridge's behaviour over the store's durable queue: rules
 * match the same event patterns the CDK rules use; publishing commits the events before it
 * returns; each rule's target gets every matching event at least once, in its own time, with
 * retries, and what it cannot take lands in the dead letters. A rule's progress is saved only
 * after its target returned, so a crash redelivers what was not finished (the handlers are
 * idempotent). A rule may group its deliveries (`groupBy`) to run those of one group in order.
 */
export class LocalBus implements EventPublisher {
  readonly #rules: Rule[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #opts: Required<Omit<LocalBusOptions, Hooks>> & Pick<LocalBusOptions, Hooks>;
  /** The last event read from the log. */
  #read = 0;
  #pumping: Promise<void> | undefined;
  #again = false;
  #saving: Promise<void> | undefined;
  #started = false;
  #stopped = false;
  #unlisten: (() => void) | undefined;
  /** Wakes the deliveries waiting to be tried again (on stop). */
  readonly #sleepers = new Set<() => void>();
  deadLetters = 0;
  /** Failed delivery attempts per subscriber (each retry counts). */
  readonly deliveryFailures = new Map<string, number>();

  constructor(opts: LocalBusOptions) {
    this.#opts = { maxAttempts: 3, retryDelayMs: 200, maxInFlight: 64, ...opts };
  }

  subscribe(
    name: string,
    pattern: EventPattern,
    target: Target,
    opts: SubscribeOptions = {},
  ): void {
    if (this.#started) throw new Error(`subscribe "${name}" before the bus starts`);
    const { cursor, acked } = this.#opts.log.progress(name);
    this.#rules.push({
      name,
      pattern,
      target,
      ...opts,
      groups: new Map(),
      cursor,
      open: new Set(),
      doneAbove: acked,
      dirty: false,
    });
  }

  /**
   * Per subscriber: events committed that it has not finished yet (the distance from its saved
   * cursor to the newest event, less those it finished out of order).
   */
  backlog(): Record<string, number> {
    const last = this.#opts.log.lastSeq();
    return Object.fromEntries(
      this.#rules.map((r) => [r.name, Math.max(0, last - r.cursor - r.doneAbove.size)]),
    );
  }

  /** Starts delivering: first what the previous process left unfinished, then what comes. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#read = Math.min(...this.#rules.map((r) => r.cursor), this.#opts.log.lastSeq());
    this.#unlisten = this.#opts.log.onAppend(() => this.wake());
    this.wake();
  }

  /** Commits the events (then delivers them; the first publish starts the bus if needed). */
  async publish(events: VigilEvent[]): Promise<void> {
    this.start();
    await this.#opts.log.publish(events);
  }

  /** Reads what was committed since (called on every publish in this thread). */
  wake(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = this.#pump()
      .catch((error: unknown) => logger.error('event delivery loop failed', { error }))
      .finally(() => {
        this.#pumping = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  /** Resolves when every committed event is done and the progress saved (tests, shutdown). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.#pumping) await this.#pumping;
      else if (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      else if (this.#saving) await this.#saving;
      else if (this.#started && !this.#stopped && this.#read < this.#opts.log.lastSeq())
        this.wake();
      else if (this.#rules.some((r) => r.dirty) && this.#opts.db.db.open) this.#scheduleSave();
      else return;
    }
  }

  /**
   * Stops taking new events, finishes those under way, saves the progress (a few tries when the
   * disk is full: what it could not save is delivered again by the next start).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unlisten?.();
    for (const wake of this.#sleepers) wake();
    for (let i = 0; i < 20 && (this.#pumping || this.#inFlight.size > 0 || this.#saving); i++)
      await Promise.race([this.drain(), new Promise((r) => setTimeout(r, 500))]);
  }

  async #pump(): Promise<void> {
    for (;;) {
      const rows = this.#opts.log.after(this.#read, BATCH);
      if (rows.length === 0) return;
      for (const { seq, event } of rows) {
        while (this.#inFlight.size >= this.#opts.maxInFlight && !this.#stopped)
          await Promise.race(this.#inFlight);
        if (this.#stopped) return;
        this.#read = seq;
        for (const rule of this.#rules) {
          if (seq <= rule.cursor || rule.doneAbove.has(seq)) continue;
          if (!event || !matchesPattern(rule.pattern, event)) {
            this.#done(rule, seq, true);
            continue;
          }
          rule.open.add(seq);
          const group = rule.groupBy?.(event);
          const delivery = (
            group === undefined
              ? this.#deliver(rule, seq, event)
              : this.#inGroup(rule, group, seq, event)
          ).finally(() => this.#inFlight.delete(delivery));
          this.#inFlight.add(delivery);
        }
      }
    }
  }

  /** Delivers after the group's previous delivery has ended, however it ended. */
  #inGroup(rule: Rule, group: string, seq: number, event: BusEvent): Promise<void> {
    const previous = rule.groups.get(group) ?? Promise.resolve();
    const mine = previous.then(() => this.#deliver(rule, seq, event));
    rule.groups.set(group, mine);
    const forget = () => {
      if (rule.groups.get(group) === mine) rule.groups.delete(group);
    };
    mine.then(forget, forget);
    return mine;
  }

  /**
   * Delivers until the target took the event or its dead letter is written. Until then the event
   * stays open, so the rule's cursor stays below it: when not even the dead letter can be
   * written (full disk), it is tried again later, less and less often, and after a restart.
   */
  async #deliver(rule: Rule, seq: number, event: BusEvent): Promise<void> {
    for (let round = 0; ; round++) {
      if (await this.#attempt(rule, seq, event)) break;
      if (this.#stopped) return; // left open: the next start delivers it
      await this.#sleep(Math.min(this.#opts.retryDelayMs * 2 ** round, MAX_STUCK_DELAY_MS));
      if (this.#stopped) return;
    }
    this.#done(rule, seq);
  }

  /**
   * Up to `maxAttempts` deliveries, then the dead letter; false if that could not be written, or
   * if the store could not take the target's writes for now.
   */
  async #attempt(rule: Rule, seq: number, event: BusEvent): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const deliver = () => rule.target(event);
        await (this.#opts.scope ? this.#opts.scope(deliver) : deliver());
        return true;
      } catch (error) {
        this.deliveryFailures.set(rule.name, (this.deliveryFailures.get(rule.name) ?? 0) + 1);
        this.#opts.onDeliveryError?.(rule.name, event, error, attempt);
        // The store could not take the target's writes for now (a full disk): not the target's
        // failure, so no attempt is spent and no dead letter written; tried again later.
        if (error instanceof StoreUnavailable) return false;
        if (attempt < this.#opts.maxAttempts) {
          await new Promise((r) => setTimeout(r, this.#opts.retryDelayMs * attempt));
          continue;
        }
        try {
          await this.#opts.db.batch(() =>
            this.#opts.log.deadLetter(rule.name, seq, String(error), event),
          );
          this.deadLetters++;
          this.#opts.onDeadLetter?.(rule.name, event);
          return true;
        } catch (e) {
          logger.error('could not dead-letter an event; it stays undelivered and is tried again', {
            rule: rule.name,
            eventId: event.id,
            error: e,
          });
          return false;
        }
      }
    }
  }

  /** Waits `ms`, or less if the bus stops meanwhile. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  /** `seq` is finished for `rule` (delivered or dead-lettered, or `skipped`: not for it). */
  #done(rule: Rule, seq: number, skipped = false): void {
    rule.open.delete(seq);
    // Every event read is done for this rule unless it is open: the cursor stops below those.
    const floor = rule.open.size ? Math.min(...rule.open) - 1 : this.#read;
    if (!skipped && seq > floor) rule.doneAbove.add(seq);
    if (floor <= rule.cursor) {
      if (!skipped) rule.dirty = true;
    } else {
      rule.cursor = floor;
      for (const s of rule.doneAbove) if (s <= floor) rule.doneAbove.delete(s);
      rule.dirty = true;
    }
    if (rule.dirty) this.#scheduleSave();
  }

  /**
   * Queues the save of every rule's progress in the store's next group commit, in its last
   * transaction with the other writes that must go with it (the metric points the finished
   * handlers printed, and those whose own commit failed: `withProgress`): a crash keeps both or
   * neither. A failed commit (full disk) keeps the progress in memory and tries again shortly;
   * what it covered is delivered again after a restart.
   */
  #scheduleSave(): void {
    // A closed store (stopped): the next start delivers again what this progress covers.
    if (this.#saving || !this.#opts.db.db.open) return;
    this.#saving = this.#save().then(() => {
      this.#saving = undefined;
      if (this.#rules.some((r) => r.dirty)) this.#scheduleSave();
    });
  }

  /**
   * Saves the progress, trying again every 100 ms while the commit fails; logged once per
   * outage (a full disk should not also fill the log), and once more when it is saved.
   */
  async #save(): Promise<void> {
    for (let failures = 0; ; failures++) {
      const ended: { settle?: (committed: boolean) => void } = {};
      try {
        await this.#opts.db.batch(
          () => {
            ended.settle = this.#opts.withProgress?.();
            for (const r of this.#rules) {
              if (!r.dirty) continue;
              r.dirty = false;
              this.#opts.log.saveProgress(r.name, r.cursor, r.doneAbove);
            }
          },
          { last: true },
        );
        ended.settle?.(true);
        if (failures > 0) logger.info('saved the bus progress after failed attempts', { failures });
        return;
      } catch (error) {
        ended.settle?.(false);
        for (const r of this.#rules) r.dirty = true;
        if (!this.#opts.db.db.open) return;
        if (failures === 0)
          logger.error('could not save the bus progress; retrying every 100 ms until it can', {
            error,
          });
        // A timer, not a resolved promise: drain() and stop() wait on this without spinning.
        await new Promise((r) => setTimeout(r, 100).unref());
      }
    }
  }
}
