import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BusEvent, EventPattern, VigilEvent } from '../../core/events';
import { matchesPattern } from '../../core/patterns';
import type { EventPublisher } from '../../core/ports';
import type { Scoped } from './invocations';

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
}

export interface LocalBusOptions {
  dataDir: string;
  /** Delivery attempts per target before the event goes to the dead-letter file. */
  maxAttempts?: number;
  retryDelayMs?: number;
  onDeliveryError?: (rule: string, event: BusEvent, error: unknown, attempt: number) => void;
  /** Runs each delivery in its own invocation scope (see invocations.ts). */
  scope?: Scoped;
}

/**
 * An in-process event bus with EventBridge's behaviour: rules match the same event
 * patterns the CDK rules use, delivery is asynchronous with retries, every event is
 * archived (events.ndjson) and what cannot be delivered lands in dead-letter.ndjson. A rule
 * may group its deliveries (`groupBy`) to run those of one group one at a time.
 */
export class LocalBus implements EventPublisher {
  readonly #rules: Rule[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #opts: Required<Omit<LocalBusOptions, 'onDeliveryError' | 'scope'>> &
    Pick<LocalBusOptions, 'onDeliveryError' | 'scope'>;
  deadLetters = 0;

  constructor(opts: LocalBusOptions) {
    this.#opts = { maxAttempts: 3, retryDelayMs: 200, ...opts };
  }

  subscribe(
    name: string,
    pattern: EventPattern,
    target: Target,
    opts: SubscribeOptions = {},
  ): void {
    this.#rules.push({ name, pattern, target, ...opts, groups: new Map() });
  }

  async publish(events: VigilEvent[]): Promise<void> {
    const busEvents = events.map(
      (e): BusEvent => ({
        version: '0',
        id: randomUUID(),
        source: e.source,
        account: '000000000000',
        time: new Date().toISOString(),
        region: 'local',
        resources: [],
        'detail-type': e.detailType,
        detail: e.detail,
      }),
    );
    await mkdir(this.#opts.dataDir, { recursive: true });
    await appendFile(
      join(this.#opts.dataDir, 'events.ndjson'),
      busEvents.map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
    for (const event of busEvents) {
      for (const rule of this.#rules) {
        if (!matchesPattern(rule.pattern, event)) continue;
        const group = rule.groupBy?.(event);
        const delivery = (
          group === undefined ? this.#deliver(rule, event) : this.#inGroup(rule, group, event)
        ).finally(() => this.#inFlight.delete(delivery));
        this.#inFlight.add(delivery);
      }
    }
  }

  /** Resolves when every delivery started so far has finished (for tests and shutdown). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Delivers after the group's previous delivery has ended, however it ended. */
  #inGroup(rule: Rule, group: string, event: BusEvent): Promise<void> {
    const previous = rule.groups.get(group) ?? Promise.resolve();
    const mine = previous.then(
      () => this.#deliver(rule, event),
      () => this.#deliver(rule, event),
    );
    rule.groups.set(group, mine);
    const forget = () => {
      if (rule.groups.get(group) === mine) rule.groups.delete(group);
    };
    mine.then(forget, forget);
    return mine;
  }

  async #deliver(rule: Rule, event: BusEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const deliver = () => rule.target(event);
        await (this.#opts.scope ? this.#opts.scope(deliver) : deliver());
        return;
      } catch (error) {
        this.#opts.onDeliveryError?.(rule.name, event, error, attempt);
        if (attempt >= this.#opts.maxAttempts) {
          this.deadLetters++;
          const line = { rule: rule.name, error: String(error), event };
          await appendFile(
            join(this.#opts.dataDir, 'dead-letter.ndjson'),
            `${JSON.stringify(line)}\n`,
          );
          return;
        }
        await new Promise((r) => setTimeout(r, this.#opts.retryDelayMs * attempt));
      }
    }
  }
}
